#!/usr/bin/env python
"""Predict the class of every image of a dataset split, or of image files, with a snapshot."""
import _path  # noqa: F401
from adda.tools.predict import main

if __name__ == '__main__':
    main()
