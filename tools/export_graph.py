#!/usr/bin/env python
"""Freeze a snapshot's evaluation graph into a .pb for inference (e.g. Ascend's atc)."""
import _path  # noqa: F401
from adda.tools.export_graph import main

if __name__ == '__main__':
    main()
