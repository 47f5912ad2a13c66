"""Image folders of one's own: ``<root>/<name>/{train,test}/<class>/<image>`` (torchvision's
ImageFolder layout), decoded with Pillow once (adda.data.images) and cached (adda.data.cache).

Images keep their size and their grey or RGB channels, in [0, 1], as the built-in sets do: the
model's preprocessing then converts RGB to grey and resizes them as it does SVHN's.
"""
import logging
import os
import time

import numpy as np

from adda.data.images import decode_images
from adda.data.cache import FolderCache
from adda.data.dataset import ImageSplit, SPLITS
from adda.data.own import OwnDataset, class_labels
from adda.data.registry import register_finder
from adda.errors import DatasetError


class ImageFolder(OwnDataset):
    """``<root>/<name>/{train,test}/<class>/<image>``: one folder per class (images at any
    depth below it, hidden files left out), images in any size and mode Pillow reads."""

    kind = 'image folder'

    def __init__(self, name, root):
        super(ImageFolder, self).__init__(name, root)
        self._label_of = self._classes = None

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
    def label_of(self):
        """{class folder name: label}, the same for train and test."""
        if self._label_of is None:
            found = {split: self.class_folders(split) for split in SPLITS}
            train, test = set(found['train']), set(found['test'])
            if train != test:
                raise DatasetError('{} and {} have different classes (only in train: {}; only '
                                   'in test: {})'.format(
                                       self.split_folder('train'), self.split_folder('test'),
                                       ' '.join(sorted(train - test)) or '-',
                                       ' '.join(sorted(test - train)) or '-'))
            self._classes, self._label_of = class_labels(found['train'], self.path)
        return self._label_of

    @property
    def classes(self):
        if self._label_of is None:
            self.label_of
        return tuple(self._classes)

    def listing(self, split):
        """[(path, label, size, mtime_ns)] of the split's images, class by class in label
        order, each class's files in sorted order."""
        folder = self.split_folder(split)
        files = []
        for name, label in sorted(self.label_of.items(), key=lambda item: item[1]):
            class_folder = os.path.join(folder, name)
            count = len(files)
            list_files(class_folder, label, files)
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


def list_files(folder, label, files):
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
        list_files(subfolder, label, files)


class FolderFinder(object):
    """Finds ``<root>/<name>/`` (adda.data.registry)."""

    kind = ImageFolder.kind

    def path(self, name, root):
        return os.path.join(root, name) + os.sep

    def exists(self, name, root):
        return os.path.isdir(os.path.join(root, name))

    def open(self, name, root):
        return ImageFolder(name, root)

    def shadowing(self, name, root):
        """A built-in set's folder holds its files: only split folders in it would shadow."""
        return [path for path in (os.path.join(root, name, split) for split in SPLITS)
                if os.path.isdir(path)]

    def describe(self, name, root):
        return 'a folder {} with train/ and test/'.format(self.path(name, root))

    def names(self, root):
        try:
            return [entry for entry in os.listdir(root) if self.exists(entry, root)]
        except OSError:
            return []


register_finder(FolderFinder())
