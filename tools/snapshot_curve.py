#!/usr/bin/env python
"""Accuracy of every snapshot of a run on a labelled split (uses the labels)."""
import _path  # noqa: F401
from adda.tools.snapshot_curve import main

if __name__ == '__main__':
    main()
