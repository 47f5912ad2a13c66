#!/usr/bin/env python
"""A 2-D embedding (t-SNE) of a model's features of source and target images, per snapshot."""
import _path  # noqa: F401
from adda.tools.embed import main

if __name__ == '__main__':
    main()
