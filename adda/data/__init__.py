"""Datasets by name: ``get_dataset('mnist2000').train`` is an ImageSplit."""
from adda.data.dataset import (SPLITS, DatasetGroup, ImageSplit, data_root, dataset_names,
                               get_dataset, get_split, register_dataset)
from adda.data import mnist, usps, svhn, subsets  # noqa: F401  (register the datasets)

__all__ = ['SPLITS', 'DatasetGroup', 'ImageSplit', 'data_root', 'dataset_names', 'get_dataset',
           'get_split', 'register_dataset']
