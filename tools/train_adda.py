#!/usr/bin/env python
"""Adapt a source-trained model to a target domain adversarially (ADDA step 2)."""
import _path  # noqa: F401
from adda.tools.train_adda import main

if __name__ == '__main__':
    main()
