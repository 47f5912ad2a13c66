#!/usr/bin/env python
"""Summarize the task scripts' evaluation records as a Markdown table (and a PNG chart)."""
import _path  # noqa: F401
from adda.tools.report import main

if __name__ == '__main__':
    main()
