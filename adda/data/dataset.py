"""Dataset groups, their splits and the registry that names them."""
import os

import numpy as np

from adda.errors import AddaError, DatasetError

SPLITS = ('train', 'test')

_datasets = {}


def register_dataset(name):
    """Class decorator: make a DatasetGroup subclass available as ``get_dataset(name)``."""
    def decorator(cls):
        _datasets[name] = cls
        cls.name = name
        return cls
    return decorator


def dataset_names():
    return sorted(_datasets)


def get_dataset(name, root=None):
    """The dataset group registered as ``name``; its splits load on first use."""
    if name not in _datasets:
        raise AddaError('unknown dataset {!r} (known: {})'.format(name, ', '.join(dataset_names())))
    return _datasets[name](root)


def get_split(name, split, root=None):
    return get_dataset(name, root).split(split)


def data_root():
    """Where dataset folders live: $ADDA_DATA_DIR when set, else ./data."""
    return os.environ.get('ADDA_DATA_DIR') or 'data'


class ImageSplit(object):
    """One split in memory: float32 NHWC images in [0, 1] and int64 labels."""

    def __init__(self, images, labels, num_classes, name):
        if images.ndim != 4 or len(images) != len(labels):
            raise DatasetError('{}: expected NHWC images and one label each, got images {} and '
                               'labels {}'.format(name, images.shape, labels.shape))
        self.images = np.ascontiguousarray(images, dtype=np.float32)
        self.labels = np.asarray(labels, dtype=np.int64)
        self.num_classes = num_classes
        self.name = name

    def __len__(self):
        return len(self.labels)

    @property
    def image_shape(self):
        return self.images.shape[1:]

    def class_counts(self):
        return np.bincount(self.labels, minlength=self.num_classes)

    def subset(self, indices, name):
        return ImageSplit(self.images[indices], self.labels[indices], self.num_classes, name)


class DatasetGroup(object):
    """A named dataset with ``train`` and ``test`` splits read from ``<root>/<folder>/``.

    Subclasses set ``folder``, ``files`` (split -> file names) and implement
    ``load(split) -> ImageSplit``.
    """

    name = None
    folder = None
    files = {}
    num_classes = 10

    def __init__(self, root=None):
        self.root = root or data_root()
        self._splits = {}

    @property
    def path(self):
        return os.path.join(self.root, self.folder or self.name)

    def check_split(self, split):
        if split not in SPLITS:
            raise AddaError('unknown split {!r} of dataset {} (known: {})'.format(
                split, self.name, ', '.join(SPLITS)))

    def split(self, split):
        self.check_split(split)
        if split not in self._splits:
            self._splits[split] = self.load(split)
        return self._splits[split]

    @property
    def train(self):
        return self.split('train')

    @property
    def test(self):
        return self.split('test')

    def load(self, split):
        raise NotImplementedError

    def missing_files(self):
        """Paths of this dataset's files that are not on disk (they would be downloaded)."""
        return [os.path.join(self.path, name) for split in SPLITS for name in self.files[split]
                if not os.path.isfile(os.path.join(self.path, name))]


def check_labels(labels, num_classes, path):
    """Labels must be integers in [0, num_classes)."""
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise DatasetError('{}: labels out of range (found {}..{}, expected 0..{})'.format(
            path, labels.min(), labels.max(), num_classes - 1))


def read_file(path):
    """The bytes of ``path``, gunzipped when it ends in .gz; corrupt files raise DatasetError."""
    import gzip
    import zlib
    try:
        if path.endswith('.gz'):
            with gzip.open(path, 'rb') as f:
                return f.read()
        with open(path, 'rb') as f:
            return f.read()
    except (OSError, EOFError, zlib.error) as e:
        raise DatasetError('{}: cannot read the file, it is truncated or corrupt ({})'.format(
            path, getattr(e, 'strerror', None) or e))
