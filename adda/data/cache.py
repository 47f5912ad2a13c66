"""The decoded images of image folders, kept between starts in ``cache_dir()/folders``."""
import hashlib
import logging
import os
import tempfile
import zipfile

import numpy as np

CACHE_VERSION = 1  # bump when decoding changes: older cache files are then ignored


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
