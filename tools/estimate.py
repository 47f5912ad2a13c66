#!/usr/bin/env python
"""Estimate a run's target accuracy without target labels, from an independent run (its twin)."""
import _path  # noqa: F401
from adda.tools.estimate import main

if __name__ == '__main__':
    main()
