"""Dataset groups and their splits (adda.data.registry names them)."""
import os

import numpy as np

from adda.data.registry import data_root
from adda.errors import AddaError, DatasetError

SPLITS = ('train', 'test')
DIGITS = tuple(str(k) for k in range(10))  # the built-in sets' classes, label k = digit k


class ImageSplit(object):
    """One split in memory: float32 NHWC images in [0, 1] and int64 labels; ``classes``: the
    class names by label (None for a label no class has), by default the labels as digits."""

    def __init__(self, images, labels, num_classes, name, classes=None):
        if images.ndim != 4 or len(images) != len(labels):
            raise DatasetError('{}: expected NHWC images and one label each, got images {} and '
                               'labels {}'.format(name, images.shape, labels.shape))
        self.images = np.ascontiguousarray(images, dtype=np.float32)
        self.labels = np.asarray(labels, dtype=np.int64)
        self.num_classes = num_classes
        self.name = name
        self.classes = tuple(classes) if classes is not None else tuple(
            str(k) for k in range(num_classes))

    def __len__(self):
        return len(self.labels)

    @property
    def image_shape(self):
        return self.images.shape[1:]

    def class_counts(self):
        return np.bincount(self.labels, minlength=self.num_classes)

    def subset(self, indices, name):
        return ImageSplit(self.images[indices], self.labels[indices], self.num_classes, name,
                          self.classes)


class DatasetGroup(object):
    """A named dataset with ``train`` and ``test`` splits read from ``<root>/<folder>/``.

    Subclasses set ``folder``, ``files`` (split -> file names) and implement
    ``load(split) -> ImageSplit``.
    """

    name = None
    folder = None
    files = {}
    num_classes = 10
    classes = DIGITS
    own = False  # a dataset of one's own (adda.data.own), not a built-in set

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


def check_same_classes(splits, what='source and target'):
    """Splits used together (an adaptation's source and target) must have the same classes."""
    first = splits[0]
    for other in splits[1:]:
        if tuple(other.classes) != tuple(first.classes):
            raise AddaError('{} must have the same classes: {} has {} and {} has {}'.format(
                what, first.name, describe_classes(first.classes), other.name,
                describe_classes(other.classes)))


def describe_classes(classes):
    """'0 1 2' or '0=cat 1=dog': the names by label, labels no class has left out."""
    if tuple(classes) == tuple(str(k) for k in range(len(classes))):
        return ' '.join(classes)
    return ' '.join('{}={}'.format(k, c) for k, c in enumerate(classes) if c is not None)


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
