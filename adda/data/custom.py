"""Datasets of one's own, found by name under the data root.

- an image folder ``<root>/<name>/{train,test}/<class>/<image>`` (torchvision's ImageFolder
  layout), decoded with Pillow once and cached (see ``cache_dir``);
- an array file ``<root>/<name>.npz`` with ``x_train``, ``y_train``, ``x_test``, ``y_test``
  (Keras's mnist.npz keys) and optionally ``classes``.

Images keep their size and their grey or RGB channels, in [0, 1], as the built-in sets do: the
model's preprocessing then converts RGB to grey and resizes them as it does SVHN's.
"""
import hashlib
import logging
import os
import re
import tempfile
import time
import zipfile

import numpy as np

from adda.data.dataset import DIGITS, DatasetGroup, ImageSplit, SPLITS, check_labels
from adda.errors import DatasetError

ARRAY_KEYS = ('x_train', 'y_train', 'x_test', 'y_test')
CACHE_VERSION = 1  # bump when decoding changes: older cache files are then ignored
MIXED_SIZE = 28  # LeNet's input: a folder's images of different sizes are resized to it on load
_NUMBER = re.compile(r'^[0-9]+$')
MAX_NUMBER = 999
GREY_MODES = ('1', 'L', 'LA', 'La')
WIDE_GREY_MODES = ('I', 'I;16', 'I;16B', 'I;16L', 'I;16N')  # 16-bit grey (PNG, TIFF)


def layouts(name, root):
    return os.path.join(root, name) + os.sep, os.path.join(root, name + '.npz')


def _plain(name):
    return bool(name) and not name.startswith('.') and '/' not in name and os.sep not in name


def find_dataset(name, root):
    """The ImageFolder or ArrayFile named ``name`` under ``root``, else None."""
    if not _plain(name):
        return None
    folder, array_file = layouts(name, root)
    is_folder, is_file = os.path.isdir(folder), os.path.isfile(array_file)
    if is_folder and is_file:
        raise DatasetError('{} and {} both name a dataset {!r}: rename or remove one'.format(
            folder, array_file, name))
    if is_folder:
        return ImageFolder(name, root)
    if is_file:
        return ArrayFile(name, root)
    return None


def dataset_names(root=None):
    """The names of the datasets of one's own under ``root`` (the data root by default)."""
    from adda.data.dataset import _datasets, data_root
    root = root or data_root()
    try:
        entries = sorted(os.listdir(root))
    except OSError:
        return []
    names = []
    for entry in entries:
        name = entry[:-4] if entry.endswith('.npz') else entry
        if _plain(name) and name not in _datasets and name not in names and _exists(name, root):
            names.append(name)
    return names


def _exists(name, root):
    try:
        return find_dataset(name, root) is not None
    except DatasetError:  # both a folder and a file: a name the user has to settle
        return True


def check_not_shadowed(name, root):
    """A built-in set's name cannot also name a folder or array file of one's own."""
    folder, array_file = layouts(name, root)
    found = [path for path in (os.path.join(folder, split) for split in SPLITS)
             if os.path.isdir(path)] + ([array_file] if os.path.isfile(array_file) else [])
    if found:
        raise DatasetError('{}: {!r} is a built-in dataset; give your dataset another name'
                           .format(found[0], name))


def own_classes(names, root=None):
    """name -> class names by label, for the datasets of one's own among ``names`` (what a
    training run records in config.yaml under ``classes``)."""
    from adda.data.dataset import get_dataset
    recorded = {}
    for name in names:
        dataset = get_dataset(name, root)
        if dataset.own and name not in recorded:
            recorded[name] = list(dataset.classes)
    return recorded


def run_classes(opts):
    """own_classes of a training run's datasets (train.py's dataset, train_adda.py's source
    and target, given as name:split), from the tool's options."""
    names = [opts.get('dataset')] + [str(opts.get(key) or '').split(':')[0]
                                     for key in ('source', 'target')]
    return own_classes([name for name in names if name])


def cache_dir():
    """Where decoded image folders are kept: $ADDA_CACHE_DIR, else $XDG_CACHE_HOME/adda, else
    ~/.cache/adda (the data root may be read-only or shared)."""
    explicit = os.environ.get('ADDA_CACHE_DIR')
    if explicit:
        return explicit
    base = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
    return os.path.join(base, 'adda')


def class_labels(names, where):
    """(classes by label, {folder name: label}): names that are all numbers take their value as
    label (a label no folder has is None in ``classes``), other names their sorted position."""
    if all(_NUMBER.match(name) for name in names):
        labels, by_label = {}, {}
        for name in sorted(names, key=int):
            label = int(name)
            if label in by_label:
                raise DatasetError('{}: class folders {} and {} both mean label {}'.format(
                    where, by_label[label], name, label))
            if label > MAX_NUMBER:
                raise DatasetError('{}: class folder {} means label {}: classes named by '
                                   'numbers take their number as label (at most {})'.format(
                                       where, name, label, MAX_NUMBER))
            labels[name], by_label[label] = label, name
        return [by_label.get(label) for label in range(max(by_label) + 1)], labels
    classes = sorted(names)
    return classes, {name: label for label, name in enumerate(classes)}


class OwnDataset(DatasetGroup):
    own = True

    def __init__(self, name, root):
        super(OwnDataset, self).__init__(root)
        self.name = name

    @property
    def num_classes(self):
        return len(self.classes)


class ImageFolder(OwnDataset):
    """``<root>/<name>/{train,test}/<class>/<image>``: one folder per class (images at any
    depth below it, hidden files left out), images in any size and mode Pillow reads."""

    def __init__(self, name, root):
        super(ImageFolder, self).__init__(name, root)
        self._labels = self._classes = None

    def missing_files(self):
        """The split folders that are absent; a malformed folder raises DatasetError."""
        missing = [os.path.join(self.path, split) for split in SPLITS
                   if not os.path.isdir(os.path.join(self.path, split))]
        if not missing:
            for split in SPLITS:
                self.listing(split)
        return missing

    def split_folder(self, split):
        folder = os.path.join(self.path, split)
        if not os.path.isdir(folder):
            raise DatasetError('{}: no such folder (a dataset folder holds train/ and test/, '
                               'each with one folder per class)'.format(folder))
        return folder

    def class_folders(self, split):
        folder = self.split_folder(split)
        names = []
        for name in sorted(os.listdir(folder)):
            if name.startswith('.'):
                continue
            if not os.path.isdir(os.path.join(folder, name)):
                raise DatasetError('{}: not in a class folder (images go in {})'.format(
                    os.path.join(folder, name), os.path.join(folder, '<class>', '')))
            names.append(name)
        if not names:
            raise DatasetError('{}: no class folders'.format(folder))
        return names

    @property
    def labels(self):
        """{class folder name: label}, the same for train and test."""
        if self._labels is None:
            found = {split: self.class_folders(split) for split in SPLITS}
            train, test = set(found['train']), set(found['test'])
            if train != test:
                raise DatasetError('{} and {} have different classes (only in train: {}; only '
                                   'in test: {})'.format(
                                       self.split_folder('train'), self.split_folder('test'),
                                       ' '.join(sorted(train - test)) or '-',
                                       ' '.join(sorted(test - train)) or '-'))
            self._classes, self._labels = class_labels(found['train'], self.path)
        return self._labels

    @property
    def classes(self):
        if self._labels is None:
            self.labels
        return tuple(self._classes)

    def listing(self, split):
        """[(path, label, size, mtime_ns)] of the split's images, class by class in label
        order, each class's files in sorted order."""
        folder = self.split_folder(split)
        files = []
        for name, label in sorted(self.labels.items(), key=lambda item: item[1]):
            class_folder = os.path.join(folder, name)
            count = len(files)
            _list_files(class_folder, label, files)
            if len(files) == count:
                raise DatasetError('{}: no images in the class folder'.format(class_folder))
        return files

    def load(self, split):
        files = self.listing(split)
        cache = FolderCache(self.name, self.split_folder(split), files)
        found = cache.read()
        if found is None:
            start = time.time()
            found = decode_images([path for path, _, _, _ in files]), np.array(
                [label for _, label, _, _ in files], np.int64)
            logging.info('Decoded %d images of %s in %.1f s', len(files),
                         self.split_folder(split), time.time() - start)
            cache.write(*found)
        images, labels = found
        if images.dtype == np.uint8:
            images = images.astype(np.float32)
            images /= 255.0  # in place: the same values as the built-in sets' x / 255.0
        return ImageSplit(images, labels, self.num_classes, '{} {}'.format(self.name, split),
                          self.classes)


def _list_files(folder, label, files):
    """Append (path, label, size, mtime_ns) of the files below ``folder`` (sorted, hidden ones
    left out, subfolders after the files) to ``files``."""
    try:
        entries = sorted((e for e in os.scandir(folder) if not e.name.startswith('.')),
                         key=lambda e: e.name)
    except OSError as e:
        raise DatasetError('{}: cannot list the folder ({})'.format(folder, e.strerror or e))
    subfolders = []
    for entry in entries:
        try:
            if entry.is_dir():
                subfolders.append(entry.path)
                continue
            stat = entry.stat()
        except OSError as e:
            raise DatasetError('{}: cannot read the file ({})'.format(entry.path, e.strerror or e))
        files.append((entry.path, label, stat.st_size, stat.st_mtime_ns))
    for subfolder in subfolders:
        _list_files(subfolder, label, files)


class FolderCache(object):
    """The decoded images of one split folder in ``cache_dir()/folders``, named by a digest of
    the folder's path and of every file's path, size and modification time: a changed, added
    or removed file gives another name, so a stale cache is never read."""

    def __init__(self, name, folder, files):
        folder = os.path.abspath(folder)
        digest = hashlib.sha256('{}\n{}\n'.format(CACHE_VERSION, folder).encode('utf-8'))
        self.prefix = '{}-{}-{}-'.format(name, os.path.basename(folder), digest.hexdigest()[:8])
        for path, label, size, mtime in files:
            digest.update('{}\t{}\t{}\t{}\n'.format(path, label, size, mtime).encode('utf-8'))
        self.folder = os.path.join(cache_dir(), 'folders')
        self.path = os.path.join(self.folder, self.prefix + digest.hexdigest()[:24] + '.npz')
        self.count = len(files)

    def read(self):
        """(images, labels) from the cache file, None when there is none (or it is damaged)."""
        if not os.path.isfile(self.path):
            return None
        try:
            with np.load(self.path, allow_pickle=False) as data:
                images, labels = data['images'], data['labels']
            if len(images) == len(labels) == self.count:
                logging.info('Read %d decoded images from the cache %s', self.count, self.path)
                return images, labels
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            pass
        logging.warning('The cache %s is damaged: decoding the images again', self.path)
        return None

    def write(self, images, labels):
        """Write the cache whole or not at all, and remove the folder's older cache files; a
        cache that cannot be written is a warning (the next start decodes again)."""
        tmp = None
        try:
            os.makedirs(self.folder, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix='.' + self.prefix, suffix='.part', dir=self.folder)
            with os.fdopen(fd, 'wb') as f:
                np.savez(f, images=images, labels=labels)
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)  # as an ordinary file (mkstemp's is private)
            os.replace(tmp, self.path)
            tmp = None
            for name in os.listdir(self.folder):
                if name.startswith(self.prefix) and name != os.path.basename(self.path):
                    os.remove(os.path.join(self.folder, name))
        except OSError as e:
            logging.warning('Could not write the cache %s (%s): the next start decodes the '
                            'images again', self.path, e.strerror or e)
        finally:
            if tmp is not None and os.path.exists(tmp):
                os.remove(tmp)


def decode_image(path):
    """H x W x 1 (grey) or H x W x 3 (RGB) uint8 pixels of an image file, as the file is: grey
    modes (and palettes of greys) stay grey, 16-bit grey is rounded to 8 bits, other modes
    become RGB (alpha dropped)."""
    from PIL import Image
    try:
        with Image.open(path) as image:
            mode = image.mode
            if mode in GREY_MODES:
                return np.asarray(image.convert('L'))[..., np.newaxis]
            if mode in WIDE_GREY_MODES:
                wide = np.asarray(image).astype(np.float64)
                return np.clip(np.round(wide / 257.0), 0, 255).astype(np.uint8)[..., np.newaxis]
            rgb = np.asarray(image.convert('RGB'))
    except OSError as e:
        if e.errno is not None:  # the file system's, not the decoder's (which has no errno)
            raise DatasetError('{}: cannot read the file ({})'.format(path, e.strerror or e))
        raise DatasetError('{}: not an image Pillow can read ({})'.format(path, e))
    except Exception as e:  # Pillow raises ValueError, SyntaxError... for bad files too
        raise DatasetError('{}: not an image Pillow can read ({})'.format(path, e))
    if mode in ('P', 'PA') and np.all(rgb == rgb[..., :1]):
        return rgb[..., :1]
    return rgb


def decode_images(paths):
    """N x H x W x C uint8 images of ``paths`` (RGB when any is RGB; grey then repeated as
    Pillow's convert('RGB') does); float32 resized to MIXED_SIZE when their sizes differ."""
    from tqdm import tqdm
    images = [decode_image(path) for path in tqdm(paths, unit='img', leave=False, disable=None,
                                                   desc='decoding')]
    channels = max(image.shape[2] for image in images)
    if channels == 3:
        images = [np.repeat(image, 3, axis=2) if image.shape[2] == 1 else image
                  for image in images]
    sizes = set(image.shape[:2] for image in images)
    if len(sizes) == 1:
        return np.stack(images)
    logging.info('%d image sizes from %s to %s: resizing every image to %dx%d', len(sizes),
                 'x'.join(map(str, min(sizes))), 'x'.join(map(str, max(sizes))), MIXED_SIZE,
                 MIXED_SIZE)
    return np.stack([resize_bilinear(image.astype(np.float32) / 255.0, MIXED_SIZE)
                     for image in images])


def _axis(size_in, size_out):
    scale = np.float32(size_in) / np.float32(size_out)
    position = np.arange(size_out, dtype=np.float32) * scale
    low = np.floor(position).astype(np.int64)
    return low, np.minimum(low + 1, size_in - 1), (position - low).astype(np.float32)


def resize_bilinear(image, size):
    """An H x W x C float32 image resized to size x size as the graph's preprocessing does
    (TensorFlow 1.x resize_bilinear: no half-pixel centres, corners not aligned)."""
    top, bottom, dy = _axis(image.shape[0], size)
    left, right, dx = _axis(image.shape[1], size)
    dy, dx = dy[:, np.newaxis, np.newaxis], dx[np.newaxis, :, np.newaxis]
    upper = image[top][:, left] + (image[top][:, right] - image[top][:, left]) * dx
    lower = image[bottom][:, left] + (image[bottom][:, right] - image[bottom][:, left]) * dx
    return (upper + (lower - upper) * dy).astype(np.float32)


class ArrayFile(OwnDataset):
    """``<root>/<name>.npz``: x_train, y_train, x_test, y_test; images N x H x W (x 1 or x 3),
    uint8 0-255 or float 0-1; labels 0..K-1 of the K names in an optional ``classes`` array,
    else of the ten digits."""

    def __init__(self, name, root):
        super(ArrayFile, self).__init__(name, root)
        self._classes = None

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
        missing = [key for key in ARRAY_KEYS if key not in data.files]
        if missing:
            data.close()
            raise DatasetError('{}: no {} in the file (it holds {}; expected {})'.format(
                self.path, ', '.join(missing), ', '.join(data.files) or 'nothing',
                ', '.join(ARRAY_KEYS)))
        return data

    def _array(self, data, key):
        try:
            return data[key]
        except Exception as e:  # object arrays (pickles), truncated members
            raise DatasetError('{}: cannot read {} ({})'.format(self.path, key, e))

    def missing_files(self):
        """Nothing (the file is there); a file without the expected arrays raises."""
        if self._classes is None:
            self.classes
        return []

    @property
    def classes(self):
        if self._classes is None:
            with self._open() as data:
                names = self._array(data, 'classes') if 'classes' in data.files else None
            if names is None:
                self._classes = DIGITS
            elif names.ndim != 1 or not len(names) or len(set(names.tolist())) != len(names):
                raise DatasetError('{}: classes should be distinct names, one per label (found '
                                   '{} of shape {})'.format(self.path, names.dtype, names.shape))
            else:
                self._classes = tuple(str(name) for name in names.tolist())
        return self._classes

    def load(self, split):
        with self._open() as data:
            x, y = (self._array(data, key + '_' + split) for key in ('x', 'y'))
        where = '{} x_{}'.format(self.path, split)
        images = array_images(x, where)
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
