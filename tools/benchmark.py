#!/usr/bin/env python
"""Time source-training steps, adaptation steps and evaluation on synthetic data."""
import _path  # noqa: F401
from adda.tools.benchmark import main

if __name__ == '__main__':
    main()
