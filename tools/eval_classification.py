#!/usr/bin/env python
"""Evaluate a snapshot's classification accuracy on a dataset split (ADDA step 3)."""
import _path  # noqa: F401
from adda.tools.eval_classification import main

if __name__ == '__main__':
    main()
