"""Errors that reach the user as one line (the CLIs print them without a traceback)."""
import errno
import os
import re

# errno values that say "the disk", not "the program": full, over quota, read-only, no access.
DISK_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG)
_NO_SPACE = re.compile(r'(\S+?)[:;]? (?:No space left on device|Disk quota exceeded)')


class AddaError(Exception):
    """A user-facing error: bad arguments, missing or corrupt files, diverged training."""


class DatasetError(AddaError):
    """A dataset file is missing, corrupt or cannot be downloaded."""


def mount_point(path):
    """The mount point of the file system that holds ``path`` (or its nearest existing parent)."""
    path = os.path.abspath(path)
    while not os.path.exists(path):
        path = os.path.dirname(path)
    while not os.path.ismount(path):
        path = os.path.dirname(path)
    return path


def disk_summary(path):
    """'the disk mounted at /data (12.0 MB free of 1.0 GB)' for the disk that holds ``path``."""
    mount = mount_point(path)
    try:
        stat = os.statvfs(mount)
    except (OSError, AttributeError):
        return 'the disk mounted at {}'.format(mount)
    free, size = stat.f_bavail * stat.f_frsize, stat.f_blocks * stat.f_frsize
    return 'the disk mounted at {} ({} free of {})'.format(mount, human_bytes(free),
                                                          human_bytes(size))


def human_bytes(n):
    for unit in ('bytes', 'kB', 'MB', 'GB', 'TB'):
        if n < 1000 or unit == 'TB':
            return '{:.0f} {}'.format(n, unit) if unit == 'bytes' else '{:.1f} {}'.format(n, unit)
        n /= 1000.0


def no_space_path(message):
    """The path in a TensorFlow or OS message that reports a full disk, else None."""
    match = _NO_SPACE.search(message or '')
    return match.group(1) if match else None


def reason(text):
    """The informative line of an error message (TensorFlow's start with a headline such as
    'Graph execution error:' and end with stack traces)."""
    lines = [line.strip() for line in (text or '').splitlines() if line.strip()]
    for line in lines:
        if no_space_path(line) or 'Permission denied' in line or 'Read-only' in line:
            return line
    for line in lines:
        if not line.endswith(':') and not line.startswith(('Detected at node', 'Node:')):
            return line
    return lines[0] if lines else ''


def write_error(path, error, what=None):
    """An AddaError for a failed write of ``path``: names the file and, for a full, read-only or
    inaccessible disk, that disk and its free space."""
    text = getattr(error, 'message', None) or getattr(error, 'strerror', None) or str(error)
    message = reason(text) or type(error).__name__
    code = getattr(error, 'errno', None)
    full = code in (errno.ENOSPC, errno.EDQUOT) or no_space_path(text) is not None
    where = what + ' ' + path if what else path
    if full:
        return AddaError('no space left on {}: could not write {}'.format(disk_summary(path),
                                                                          where))
    if code in DISK_ERRNOS:
        return AddaError('could not write {}: {} (on {})'.format(where, message,
                                                                 disk_summary(path)))
    return AddaError('could not write {}: {}'.format(where, message))
