"""Dataset groups and their splits (adda.data.registry names them)."""
import os

import numpy as np

from adda.data.registry import data_root
from adda.errors import AddaError, DatasetError

from adda.tasks import SPLITS  # noqa: F401  (the one declaration; the data package's splits)
DIGITS = tuple(str(k) for k in range(10))  # the built-in sets' classes, label k = digit k
# The label of an image of an unlabelled split where an array needs one (the decoded-folder
# cache, the input pipeline's batches); never a class.
NO_LABEL = -1


class ImageSplit(object):
    """One split in memory: float32 NHWC images in [0, 1] and int64 labels, or ``labels`` None:
    an unlabelled split (``unlabelled`` says why, e.g. 'an image folder without class
    folders'), whose labels nothing can read. ``classes``: the class names by label (None for a
    label no class has), by default the labels as digits; None when nobody knows them (an
    unlabelled dataset without a labelled split), and then ``num_classes`` is None too."""

    def __init__(self, images, labels, num_classes, name, classes=None, unlabelled=None):
        if images.ndim != 4 or (labels is not None and len(images) != len(labels)):
            raise DatasetError('{}: expected NHWC images and one label each, got images {} and '
                               'labels {}'.format(name, images.shape, getattr(labels, 'shape',
                                                                              None)))
        self.images = np.ascontiguousarray(images, dtype=np.float32)
        self.labels = None if labels is None else np.asarray(labels, dtype=np.int64)
        self.num_classes = num_classes
        self.name = name
        if classes is None and num_classes is not None:
            classes = [str(k) for k in range(num_classes)]
        self.classes = None if classes is None else tuple(classes)
        self.unlabelled = (unlabelled or 'no labels given') if labels is None else None

    @property
    def labelled(self):
        return self.labels is not None

    def __len__(self):
        return len(self.images)

    @property
    def image_shape(self):
        return self.images.shape[1:]

    def class_counts(self):
        require_labels(self, 'there are no classes to count')
        return np.bincount(self.labels, minlength=self.num_classes)

    def subset(self, indices, name):
        return ImageSplit(self.images[indices], None if self.labels is None else
                          self.labels[indices], self.num_classes, name, self.classes,
                          self.unlabelled)


def no_labels_error(name, why, purpose):
    """'<name> has no labels (<why>): <purpose>' as an AddaError."""
    return AddaError('{} has no labels ({}): {}'.format(name, why, purpose))


def require_labels(split, purpose):
    """``split`` (an ImageSplit) when it is labelled, else one AddaError line saying so and
    ``purpose`` (the caller's: e.g. 'a source must be labelled; mine can be an adaptation
    target')."""
    if not split.labelled:
        raise no_labels_error(split.name, split.unlabelled, purpose)
    return split


class DatasetGroup(object):
    """A named dataset with ``train`` and ``test`` splits read from ``<root>/<folder>/``.

    Subclasses set ``folder``, ``files`` (split -> file names) and implement
    ``load(split) -> ImageSplit``. The built-in sets have both splits, labelled; datasets of
    one's own (adda.data.own) may have one split only, or unlabelled ones.
    """

    name = None
    folder = None
    files = {}
    num_classes = 10
    classes = DIGITS
    own = False  # a dataset of one's own (adda.data.own), not a built-in set
    kind = 'built-in set'

    def __init__(self, root=None):
        self.root = root or data_root()
        self._splits = {}

    @property
    def path(self):
        return os.path.join(self.root, self.folder or self.name)

    def has_split(self, split):
        """Whether the dataset has ``split`` (known without decoding anything)."""
        self.check_known(split)
        return True

    def is_labelled(self, split):
        """Whether ``split`` is there and labelled (known without decoding anything)."""
        return self.has_split(split)

    def unlabelled_reason(self, split):
        """Why ``split`` has no labels ('an image folder without class folders'), else None."""
        return None

    @property
    def splits(self):
        """The splits the dataset has, in SPLITS order."""
        return tuple(split for split in SPLITS if self.has_split(split))

    def require_labels(self, split, purpose):
        """Without decoding: one AddaError line when ``split`` has no labels (as the function
        require_labels says it of a loaded split)."""
        self.check_split(split)
        if not self.is_labelled(split):
            raise no_labels_error('{} {}'.format(self.name, split),
                                  self.unlabelled_reason(split), purpose)

    def check_known(self, split):
        if split not in SPLITS:
            raise AddaError('unknown split {!r} of dataset {} (known: {})'.format(
                split, self.name, ', '.join(SPLITS)))

    def check_split(self, split):
        """One AddaError line unless the dataset has ``split``."""
        if not self.has_split(split):
            raise AddaError('{} has no {} split ({})'.format(self.name, split,
                                                             self.absent_note(split)))

    def absent_note(self, split):
        """What the dataset holds instead of ``split``, for the no-such-split message."""
        return 'it has {}'.format(' and '.join(self.splits) or 'none')

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

    def check_load(self, split, problems):
        """``split(split)``, or None with its DatasetError's line appended to ``problems``
        (image folders append every bad file's: adda.data.folders)."""
        try:
            return self.split(split)
        except AddaError as e:
            problems.append(str(e))
            return None

    def missing_files(self):
        """Paths of this dataset's files that are not on disk (they would be downloaded)."""
        return [os.path.join(self.path, name) for split in SPLITS for name in self.files[split]
                if not os.path.isfile(os.path.join(self.path, name))]


def same_classes(first, other):
    """Whether two class lists (names by label) agree: as many labels, the same name at each,
    where a label one of them has no class for (None: a missing class folder named by a
    number, as in a small labelled check set) agrees with anything."""
    first, other = tuple(first), tuple(other)
    return len(first) == len(other) and all(a is None or b is None or a == b
                                            for a, b in zip(first, other))


def check_same_classes(splits, what='source and target'):
    """Splits used together (an adaptation's source and target) must have the same classes;
    a split whose classes nobody knows (an unlabelled dataset's, classes None) takes the
    others', and one that lacks a class named by a number (a label without a class) may."""
    known = [split for split in splits if split.classes is not None]
    for other in known[1:]:
        if not same_classes(known[0].classes, other.classes):
            raise AddaError('{} must have the same classes: {} has {} and {} has {}'.format(
                what, known[0].name, describe_classes(known[0].classes), other.name,
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
