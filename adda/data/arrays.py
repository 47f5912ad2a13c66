"""Array files of one's own: ``<root>/<name>.npz`` with ``x_train``, ``y_train``, ``x_test``,
``y_test`` (Keras's mnist.npz keys) and optionally ``classes``, read directly (no cache); an
``x_<split>`` without its ``y_<split>`` is unlabelled."""
import os
import zipfile

import numpy as np

from adda.data.dataset import DIGITS, ImageSplit, SPLITS, check_labels
from adda.data.own import LABELLED, UNLABELLED, OwnDataset
from adda.data.registry import register_finder
from adda.errors import DatasetError

ARRAY_KEYS = tuple('{}_{}'.format(kind, split) for split in SPLITS for kind in ('x', 'y'))


class ArrayFile(OwnDataset):
    """``<root>/<name>.npz``: x_train, y_train, x_test, y_test; images N x H x W (x 1 or x 3),
    uint8 0-255 or float 0-1; labels 0..K-1 of the K names in an optional ``classes`` array,
    else of the ten digits. ``x_<split>`` without ``y_<split>`` is an unlabelled split; beside
    it, the other split may be labelled or absent."""

    kind = 'array file'

    def __init__(self, name, root):
        super(ArrayFile, self).__init__(name, root)
        self._classes = self._members = None

    @property
    def path(self):
        return os.path.join(self.root, self.name + '.npz')

    def _open(self):
        try:
            data = np.load(self.path, allow_pickle=False)
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
            raise DatasetError('{}: not a NumPy .npz file ({})'.format(self.path, e))
        if isinstance(data, np.ndarray):
            raise DatasetError('{}: holds one array, not the named arrays {} (write it with '
                               'numpy.savez)'.format(self.path, ', '.join(ARRAY_KEYS)))
        return data

    def _array(self, data, key):
        try:
            return data[key]
        except Exception as e:  # object arrays (pickles), truncated members
            raise DatasetError('{}: cannot read {} ({})'.format(self.path, key, e))

    @property
    def members(self):
        """The names of the file's arrays (read from the archive's index, no array read)."""
        if self._members is None:
            with self._open() as data:
                self._members = list(data.files)
        return self._members

    def survey(self):
        kinds = {}
        for split in SPLITS:
            x, y = ('{}_{}'.format(kind, split) in self.members for kind in ('x', 'y'))
            if y and not x:
                raise DatasetError('{}: y_{} but no x_{} in the file (it holds {})'.format(
                    self.path, split, split, ', '.join(self.members)))
            kinds[split] = LABELLED if y else UNLABELLED if x else None
        return kinds

    def absent_error(self, splits):
        missing = [key for key in ARRAY_KEYS if key not in self.members]
        return DatasetError('{}: no {} in the file (it holds {}; expected {})'.format(
            self.path, ', '.join(missing), ', '.join(self.members) or 'nothing',
            ', '.join(ARRAY_KEYS)))

    def absent_note(self, split):
        return '{} has no x_{}'.format(self.path, split)

    def unlabelled_reason(self, split):
        return 'no y_{} in {}'.format(split, os.path.basename(self.path)) if (
            self.has_split(split) and not self.is_labelled(split)) else None

    def missing_files(self):
        """Nothing (the file is there); a file without the expected arrays raises."""
        self.classes
        return []

    @property
    def classes(self):
        """The ``classes`` array's names, else the ten digits; None when the file has neither
        a ``classes`` array nor labels."""
        if self._classes is None:
            self.split_kinds()
            if 'classes' not in self.members:
                return DIGITS if self.labelled_splits else None
            with self._open() as data:
                names = self._array(data, 'classes')
            if names.ndim != 1 or not len(names) or len(set(names.tolist())) != len(names):
                raise DatasetError('{}: classes should be distinct names, one per label (found '
                                   '{} of shape {})'.format(self.path, names.dtype, names.shape))
            self._classes = tuple(str(name) for name in names.tolist())
        return self._classes

    def load(self, split):
        labelled = self.is_labelled(split)
        with self._open() as data:
            x = self._array(data, 'x_' + split)
            y = self._array(data, 'y_' + split) if labelled else None
        where = '{} x_{}'.format(self.path, split)
        images = array_images(x, where)
        if not labelled:
            return ImageSplit(images, None, self.num_classes, '{} {}'.format(self.name, split),
                              self.classes, self.unlabelled_reason(split))
        labels = array_labels(y, '{} y_{}'.format(self.path, split))
        if len(labels) != len(images):
            raise DatasetError('{}: {} images but y_{} has {} labels'.format(
                where, len(images), split, len(labels)))
        check_labels(labels, self.num_classes, '{} y_{}'.format(self.path, split))
        return ImageSplit(images, labels, self.num_classes, '{} {}'.format(self.name, split),
                          self.classes)


def array_images(x, where):
    """float32 N x H x W x C images in [0, 1] from uint8 (or other integer) 0-255 or float 0-1
    N x H x W, N x H x W x 1 or N x H x W x 3 values."""
    if x.ndim == 3:
        x = x[..., np.newaxis]
    if x.ndim != 4 or x.shape[3] not in (1, 3):
        raise DatasetError('{}: shape {}; expected N x H x W, N x H x W x 1 or N x H x W x 3'
                           .format(where, x.shape))
    if not len(x):
        raise DatasetError('{}: no images'.format(where))
    if x.dtype != np.uint8 and np.issubdtype(x.dtype, np.integer):
        if x.min() < 0 or x.max() > 255:
            raise DatasetError('{}: integer values outside 0-255 (found {}..{})'.format(
                where, x.min(), x.max()))
        x = x.astype(np.uint8)
    if x.dtype == np.uint8:
        return x.astype(np.float32) / 255.0
    if not np.issubdtype(x.dtype, np.floating):
        raise DatasetError('{}: values of type {}; expected uint8 (0-255) or float (0-1)'
                           .format(where, x.dtype))
    if not np.all(np.isfinite(x)) or x.min() < 0 or x.max() > 1:
        raise DatasetError('{}: float values outside [0, 1] (found {:g}..{:g}); store 0-255 '
                           'values as uint8'.format(where, np.nanmin(x), np.nanmax(x)))
    return x.astype(np.float32)


def array_labels(y, where):
    """int64 labels from N or N x 1 integers (or floats that are whole numbers)."""
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise DatasetError('{}: shape {}; expected one label per image'.format(where, y.shape))
    if np.issubdtype(y.dtype, np.floating):
        if not np.all(y == np.round(y)):
            raise DatasetError('{}: labels must be whole numbers'.format(where))
    elif not np.issubdtype(y.dtype, np.integer):
        raise DatasetError('{}: labels of type {}; expected integers'.format(where, y.dtype))
    return y.astype(np.int64)


class ArrayFinder(object):
    """Finds ``<root>/<name>.npz`` (adda.data.registry)."""

    kind = ArrayFile.kind

    def path(self, name, root):
        return os.path.join(root, name + '.npz')

    def exists(self, name, root):
        return os.path.isfile(self.path(name, root))

    def open(self, name, root):
        return ArrayFile(name, root)

    def shadowing(self, name, root):
        return [self.path(name, root)] if self.exists(name, root) else []

    def describe(self, name, root):
        return 'a file {}'.format(self.path(name, root))

    def names(self, root):
        try:
            entries = os.listdir(root)
        except OSError:
            return []
        return [entry[:-4] for entry in entries
                if entry.endswith('.npz') and self.exists(entry[:-4], root)]


register_finder(ArrayFinder())
