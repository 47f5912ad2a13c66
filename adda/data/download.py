"""Fetch a missing dataset file: stream to a temporary file, verify its checksum, rename."""
import errno
import hashlib
import logging
import os
import tempfile

from urllib.request import urlopen

from tqdm import tqdm

from adda.errors import DatasetError, write_error

CHUNK = 1 << 16
# Set to 1 (the Ascend routes set it): a missing file is an error, never a download.
OFFLINE = 'ADDA_OFFLINE'


def _hashes(sha256, md5):
    wanted = {}
    if sha256:
        wanted['sha256'] = sha256
    if md5:
        wanted['md5'] = md5
    return wanted


def _download(url, dest, wanted, timeout):
    """Stream ``url`` into the open file ``dest``; returns the hex digests of what was read."""
    digests = {name: hashlib.new(name) for name in wanted}
    response = urlopen(url, timeout=timeout)
    try:
        size = response.headers.get('Content-Length') if hasattr(response, 'headers') else None
        total = int(size) if size and size.isdigit() else None
        with tqdm(total=total, unit='B', unit_scale=True, unit_divisor=1024, leave=False,
                  desc=os.path.basename(url)) as bar:
            while True:
                chunk = response.read(CHUNK)
                if not chunk:
                    break
                dest.write(chunk)
                for digest in digests.values():
                    digest.update(chunk)
                bar.update(len(chunk))
    finally:
        response.close()
    return {name: digest.hexdigest() for name, digest in digests.items()}


def fetch(path, urls, sha256=None, md5=None, timeout=60):
    """Return ``path``, downloading it from the first working URL in ``urls`` when missing
    (unless $ADDA_OFFLINE is set: then the missing file is a DatasetError).

    The file appears only once complete and verified; a failed or interrupted download
    leaves nothing behind.
    """
    if os.path.isfile(path):
        return path
    folder, name = os.path.split(path)
    if os.environ.get(OFFLINE, '') not in ('', '0'):
        raise DatasetError('{} is missing from {} ({}=1: no download); put the file there, '
                           'as {}/{} under the data folder (docs/data.md has the layout), or '
                           'set ADDA_DATA_DIR to a folder that holds it'.format(
                               name, folder or '.', OFFLINE, os.path.basename(folder), name))
    wanted = _hashes(sha256, md5)
    reasons = []
    for url in urls:
        try:
            os.makedirs(folder or '.', exist_ok=True)
        except OSError as e:
            raise DatasetError('{} is missing and its folder {} cannot be created: {}'.format(
                name, folder, e.strerror or e))
        logging.info('Downloading %s from %s', path, url)
        try:
            fd, tmp = tempfile.mkstemp(prefix='.' + name + '.', suffix='.part', dir=folder or '.')
        except OSError as e:
            raise DatasetError(str(write_error(path, e, 'the download of')))
        try:
            with os.fdopen(fd, 'wb') as dest:
                got = _download(url, dest, wanted, timeout)
            bad = [k for k in wanted if got[k] != wanted[k]]
            if bad:
                reasons.append('{}: {} checksum mismatch (got {}, expected {})'.format(
                    url, bad[0], got[bad[0]], wanted[bad[0]]))
                continue
            os.replace(tmp, path)
            return path
        except OSError as e:
            if e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):  # the disk, not the URL
                raise DatasetError(str(write_error(path, e, 'the download of')))
            reasons.append('{}: {}'.format(url, getattr(e, 'reason', None) or e))
        except Exception as e:  # network errors come in many types: collect and try the next URL
            reasons.append('{}: {}'.format(url, getattr(e, 'reason', None) or e))
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    raise DatasetError('{} is missing from {} and could not be downloaded ({}); put the file '
                       'there or set ADDA_DATA_DIR to a folder that holds {}/{}'.format(
                           name, folder or '.', '; '.join(reasons), os.path.basename(folder),
                           name))
