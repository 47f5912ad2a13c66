"""The fixed training subsets of the MNIST<->USPS protocol: ``mnist2000`` and ``usps1800``.

The subset is drawn once from the full training split with ``numpy.random.RandomState(SEED)``
(a generator NumPy keeps stable across versions), so every process, tool and run sees the
same images. The original implementation seeded with Python's per-process ``hash(name)``,
which gave source training, adaptation and evaluation different subsets. Test is the full
test split.
"""
import numpy as np

from adda.data.mnist import MNIST
from adda.data.registry import register_dataset
from adda.data.usps import USPS
from adda.errors import DatasetError

SEED = 0


def subset_indices(total, size, seed=SEED):
    """Sorted indices of ``size`` distinct items out of ``total``, the same in every process."""
    return np.sort(np.random.RandomState(seed).permutation(total)[:size])


def subset_of(base, size):
    class Subset(base):
        __doc__ = '{} images drawn from {} train (seed {}); the full {} test split.'.format(
            size, base.folder, SEED, base.folder)

        def load(self, split):
            full = base.load(self, split)
            if split != 'train':
                return full
            if len(full) < size:
                raise DatasetError('{}: {} train has only {} images, fewer than {}'.format(
                    self.name, base.folder, len(full), size))
            return full.subset(subset_indices(len(full), size), '{} {}'.format(self.name, split))
    Subset.__name__ = '{}{}'.format(base.__name__, size)
    return Subset


MNIST2000 = register_dataset('mnist2000')(subset_of(MNIST, 2000))
USPS1800 = register_dataset('usps1800')(subset_of(USPS, 1800))
