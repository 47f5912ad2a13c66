"""The command-line tools (console scripts and tools/*.py shims)."""
