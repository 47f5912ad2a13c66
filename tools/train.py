#!/usr/bin/env python
"""Train a classifier on labelled source data (ADDA step 1)."""
import _path  # noqa: F401
from adda.tools.train import main

if __name__ == '__main__':
    main()
