"""Datasets by name: ``get_dataset('mnist2000').train`` is an ImageSplit.

adda.data.registry is the lookup; importing this package registers the built-in sets and the
finders of the datasets of one's own (image folders first, then array files: the order in which
they are asked).
"""
from adda.data.dataset import SPLITS, DatasetGroup, ImageSplit
from adda.data.registry import (data_root, dataset_names, get_dataset, get_split,
                                own_dataset_names, register_dataset)
from adda.data import mnist, usps, svhn, subsets  # noqa: F401  (register the built-in sets)
from adda.data import folders, arrays  # noqa: F401  (register the finders, in this order)

__all__ = ['SPLITS', 'DatasetGroup', 'ImageSplit', 'data_root', 'dataset_names', 'get_dataset',
           'get_split', 'own_dataset_names', 'register_dataset']
