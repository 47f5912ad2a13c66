"""The results report (tools/report.py): ``runs`` reads a results folder, ``tables`` writes the
Markdown, ``chart`` draws the chart."""
