"""Image folders of one's own: ``<root>/<name>/{train,test}/<class>/<image>`` (torchvision's
ImageFolder layout), or ``<root>/<name>/train/<image>`` for unlabelled images; decoded with
Pillow once (adda.data.images) and cached (adda.data.cache).

Images keep their size and their grey or RGB channels, in [0, 1], as the built-in sets do: the
model's preprocessing then converts RGB to grey and resizes them as it does SVHN's.
"""
import logging
import os
import time

import numpy as np

from adda.data.images import decode_images
from adda.data.cache import FolderCache
from adda.data.dataset import NO_LABEL, ImageSplit, SPLITS
from adda.data.own import LABELLED, UNLABELLED, OwnDataset, class_labels
from adda.data.registry import register_finder
from adda.errors import DatasetError


UNLABELLED_REASON = 'an image folder without class folders'


class ImageFolder(OwnDataset):
    """``<root>/<name>/{train,test}/<class>/<image>``: one folder per class (images at any
    depth below it, hidden files left out), images in any size and mode Pillow reads. A split
    folder that holds its images directly (no class folders) is unlabelled; beside it, the
    other split may be labelled or absent."""

    kind = 'image folder'

    def __init__(self, name, root):
        super(ImageFolder, self).__init__(name, root)
        self._label_of = self._classes = None
        self._entries = {}
        # split -> {'cache': path, 'cached': 'read', 'written' or 'not written', 'seconds': of
        # decoding (None when read), 'sizes': the files' (height, width)}, once loaded
        self.load_info = {}

    def split_path(self, split):
        return os.path.join(self.path, split)

    def entries(self, split):
        """(class folder names, image file names) directly in the split folder, sorted, hidden
        ones left out; None when there is no split folder. A split with both is an error."""
        folder = self.split_path(split)
        if split not in self._entries:
            if not os.path.isdir(folder):
                return None
            try:
                found = sorted((e for e in os.scandir(folder) if not e.name.startswith('.')),
                               key=lambda e: e.name)
                folders = [e.name for e in found if e.is_dir()]
            except OSError as e:
                raise DatasetError('{}: cannot list the folder ({})'.format(
                    folder, e.strerror or e))
            files = [e.name for e in found if e.name not in folders]
            if folders and files:
                raise DatasetError(
                    '{}: not in a class folder, but {} has class folders ({}): put every image '
                    'of the split in a class folder (images go in {}), or none (an unlabelled '
                    'split holds its images directly, no folders)'.format(
                        os.path.join(folder, files[0]), folder, ' '.join(folders[:3]) + (
                            ' ...' if len(folders) > 3 else ''),
                        os.path.join(folder, '<class>', '')))
            if not folders and not files:
                raise DatasetError('{}: no class folders and no images (a labelled split holds '
                                   'one folder per class, an unlabelled one its images '
                                   'directly)'.format(folder))
            self._entries[split] = folders, files
        return self._entries[split]

    def survey(self):
        kinds = {}
        for split in SPLITS:
            entries = self.entries(split)
            kinds[split] = None if entries is None else LABELLED if entries[0] else UNLABELLED
        return kinds

    def absent_error(self, splits):
        return DatasetError('{}: no such folder (a dataset folder holds train/ and test/, each '
                            'with one folder per class; only one with an unlabelled split, '
                            'images directly in train/ or test/, may lack one)'.format(
                                self.split_path(splits[0])))

    def absent_note(self, split):
        return '{} holds {} only'.format(
            os.path.join(self.path, ''), ' and '.join(s + '/' for s in self.splits))

    def unlabelled_reason(self, split):
        return UNLABELLED_REASON if self.has_split(split) and not self.is_labelled(split) \
            else None

    def missing_files(self):
        """The split folders that must be there and are absent; a malformed folder raises
        DatasetError."""
        kinds = self.survey()
        absent = [self.split_path(split) for split in SPLITS if kinds[split] is None]
        if absent and UNLABELLED not in kinds.values():
            return absent
        for split in self.splits:
            self.listing(split)
        return []

    @property
    def label_of(self):
        """{class folder name: label}, the same for every labelled split ({} when none is)."""
        if self._label_of is None:
            labelled = self.labelled_splits
            found = {split: self.entries(split)[0] for split in labelled}
            if len(labelled) == 2:
                train, test = (set(found[split]) for split in labelled)
                if train != test:
                    raise DatasetError(
                        '{} and {} have different classes (only in {}: {}; only in {}: {})'
                        .format(self.split_path(labelled[0]), self.split_path(labelled[1]),
                                labelled[0], ' '.join(sorted(train - test)) or '-',
                                labelled[1], ' '.join(sorted(test - train)) or '-'))
            if labelled:
                self._classes, self._label_of = class_labels(found[labelled[0]], self.path)
            else:
                self._label_of = {}
        return self._label_of

    @property
    def classes(self):
        """The class names by label; None when no split is labelled."""
        if self._label_of is None:
            self.label_of
        return None if self._classes is None else tuple(self._classes)

    def listing(self, split):
        """[(path, label, size, mtime_ns)] of the split's images, class by class in label
        order, each class's files in sorted order; an unlabelled split's in sorted order, with
        label NO_LABEL."""
        self.check_split(split)
        folder = self.split_path(split)
        files = []
        if not self.is_labelled(split):
            list_files(folder, NO_LABEL, files)
            return files
        for name, label in sorted(self.label_of.items(), key=lambda item: item[1]):
            class_folder = os.path.join(folder, name)
            count = len(files)
            list_files(class_folder, label, files)
            if len(files) == count:
                raise DatasetError('{}: no images in the class folder'.format(class_folder))
        return files

    def load(self, split):
        return self._load(split)

    def check_load(self, split, problems):
        """As ``split(split)``, but a bad file's line is appended to ``problems`` and decoding
        goes on, to name every bad file; then None."""
        if split in self._splits:
            return self._splits[split]
        try:
            found = self._load(split, problems)
        except DatasetError as e:
            problems.append(str(e))
            return None
        if found is not None:
            self._splits[split] = found
        return found

    def _load(self, split, errors=None):
        files = self.listing(split)
        folder = self.split_path(split)
        cache = FolderCache(self.name, folder, files)
        found = cache.read()
        info = {'cache': cache.path, 'cached': 'read', 'seconds': None}
        if found is None:
            start = time.time()
            images, sizes = decode_images([path for path, _, _, _ in files], errors,
                                          desc='{} {}'.format(self.name, split))
            if images is None:
                return None
            info['seconds'] = time.time() - start
            logging.info('Decoded %d images of %s in %.1f s', len(files), folder,
                         info['seconds'])
            found = images, np.array([label for _, label, _, _ in files], np.int64), sizes
            info['cached'] = 'written' if cache.write(*found) else 'not written'
        images, labels, info['sizes'] = found
        self.load_info[split] = info
        if images.dtype == np.uint8:
            images = images.astype(np.float32)
            images /= 255.0  # in place: the same values as the built-in sets' x / 255.0
        if not self.is_labelled(split):
            labels = None
        return ImageSplit(images, labels, self.num_classes, '{} {}'.format(self.name, split),
                          self.classes, self.unlabelled_reason(split))


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
