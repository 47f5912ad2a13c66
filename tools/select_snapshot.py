#!/usr/bin/env python
"""Choose which snapshot of an adaptation run to keep, without target labels."""
import _path  # noqa: F401
from adda.tools.select_snapshot import main

if __name__ == '__main__':
    main()
