"""The decoded images of image folders, kept between starts in ``cache_dir()/folders``."""
import hashlib
import logging
import os
import tempfile
import zipfile

import numpy as np

# Bump when decoding or the file's arrays change: older cache files are then ignored. 2: large
# images reduced when decoded; the files' sizes kept; unlabelled splits (labels -1).
CACHE_VERSION = 2


def cache_dir():
    """Where decoded image folders are kept: $ADDA_CACHE_DIR, else $XDG_CACHE_HOME/adda, else
    ~/.cache/adda (the data root may be read-only or shared)."""
    explicit = os.environ.get('ADDA_CACHE_DIR')
    if explicit:
        return explicit
    base = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
    return os.path.join(base, 'adda')


class FolderCache(object):
    """The decoded images of one split folder in ``cache_dir()/folders``, named by a digest of
    the folder's path and of every file's path, size and modification time: a changed, added
    or removed file gives another name, so a stale cache is never read."""

    def __init__(self, name, folder, files):
        folder = os.path.abspath(folder)
        self.prefix, digest = self._prefix(name, folder, CACHE_VERSION)
        # the same folder's files of earlier versions, removed with the older files
        self.earlier = [self._prefix(name, folder, version)[0]
                        for version in range(1, CACHE_VERSION)]
        for path, label, size, mtime in files:
            digest.update('{}\t{}\t{}\t{}\n'.format(path, label, size, mtime).encode('utf-8'))
        self.folder = os.path.join(cache_dir(), 'folders')
        self.path = os.path.join(self.folder, self.prefix + digest.hexdigest()[:24] + '.npz')
        self.count = len(files)

    @staticmethod
    def _prefix(name, folder, version):
        digest = hashlib.sha256('{}\n{}\n'.format(version, folder).encode('utf-8'))
        return '{}-{}-{}-'.format(name, os.path.basename(folder), digest.hexdigest()[:8]), digest

    def read(self):
        """(images, labels, sizes) from the cache file (sizes: the files' (height, width)), None
        when there is none (or it is damaged)."""
        if not os.path.isfile(self.path):
            return None
        try:
            with np.load(self.path, allow_pickle=False) as data:
                images, labels, sizes = data['images'], data['labels'], data['sizes']
            if len(images) == len(labels) == len(sizes) == self.count:
                logging.info('Read %d decoded images from the cache %s', self.count, self.path)
                return images, labels, sizes
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            pass
        logging.warning('The cache %s is damaged: decoding the images again', self.path)
        return None

    def write(self, images, labels, sizes):
        """Write the cache whole or not at all, and remove the folder's older cache files; a
        cache that cannot be written is a warning (the next start decodes again). Whether it
        was written."""
        tmp = None
        try:
            os.makedirs(self.folder, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix='.' + self.prefix, suffix='.part', dir=self.folder)
            with os.fdopen(fd, 'wb') as f:
                np.savez(f, images=images, labels=labels, sizes=sizes)
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)  # as an ordinary file (mkstemp's is private)
            os.replace(tmp, self.path)
            tmp = None
            for name in os.listdir(self.folder):
                if name.startswith(tuple([self.prefix] + self.earlier)) and \
                        name != os.path.basename(self.path):
                    os.remove(os.path.join(self.folder, name))
            return True
        except OSError as e:
            logging.warning('Could not write the cache %s (%s): the next start decodes the '
                            'images again', self.path, e.strerror or e)
            return False
        finally:
            if tmp is not None and os.path.exists(tmp):
                os.remove(tmp)
