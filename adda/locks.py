"""Exclusive locks between processes, in one place: ``flock`` on a file (``lock_file``, the
one call of fcntl.flock).

- ``FileLock(path)``: a task run's lock (<SNAPSHOT_DIR>/.locks/<run>.lock), the lock of a
  shared source model, and the report's (one report of a results folder at a time). Taken
  without waiting (``acquire(wait=False)`` says whether it was free) or waiting; ``with
  FileLock(path):`` holds it for a block.
- ``FolderLock(folder)``: a training run's output folder (<folder>/.lock), which also names
  its holder in the file and takes over the file a crashed holder left behind.

The kernel drops a flock when the process that holds it ends, however it ends, so a killed
run never leaves a lock that matters. Standard library only.
"""
import atexit
import errno
import json
import os
import socket
import sys
import time

from adda.errors import AddaError, write_error

try:
    import fcntl
except ImportError:  # not on POSIX: FolderLock falls back to the process check alone
    fcntl = None

FOLDER_LOCK = '.lock'
_HELD = (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK)


def lock_file(fd, wait=True):
    """Take the exclusive flock of ``fd`` (an open file or a descriptor): True once taken;
    False when another process holds it and ``wait`` is false. Other failures (a file system
    without flock: ENOLCK, EOPNOTSUPP...) raise the OSError."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except OSError as e:
        if wait or e.errno not in _HELD:
            raise
        return False
    return True


class FileLock(object):
    """The flock of ``path`` (created, with its folder, as needed), held until ``release``
    or the end of the process."""

    def __init__(self, path):
        self.path = path
        self.held = None

    def acquire(self, wait=True):
        """Take the lock; False when another process holds it (only when not ``wait``)."""
        folder = os.path.dirname(self.path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        held = open(self.path, 'a')
        try:
            taken = lock_file(held, wait)
        except BaseException:
            held.close()
            raise
        if not taken:
            held.close()
            return False
        self.held = held
        return True

    def release(self):
        if self.held is not None:
            self.held.close()
            self.held = None

    def __enter__(self):
        self.acquire(wait=True)
        return self

    def __exit__(self, *exc):
        self.release()


def _alive(pid):
    try:
        os.kill(pid, 0)
    except OSError as e:
        return e.errno == errno.EPERM
    return True


def describe_holder(owner):
    """'process 123 on host (started ...: command)' from a FolderLock's record."""
    if not owner:
        return 'an unknown process'
    return 'process {} on {} (started {}: {})'.format(
        owner.get('pid', '?'), owner.get('host', '?'), owner.get('started', '?'),
        owner.get('command', '?'))


class FolderLock(object):
    """An exclusive lock on a folder: ``<folder>/.lock``, flock-ed while held and naming its
    holder. The kernel drops a flock when its process dies, however it dies, so the file a
    crashed run leaves behind is recognised as stale and taken over. On a file system without
    flock, the holder's record alone decides (a live process on this host, or any on another,
    keeps it)."""

    def __init__(self, folder):
        self.folder = folder
        self.path = os.path.join(folder, FOLDER_LOCK)
        self.fd = None

    def _read(self, fd):
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            text = os.read(fd, 65536).decode('utf8', 'replace')
            return json.loads(text) if text.strip() else None
        except (OSError, ValueError):
            return {'pid': '?', 'host': '?', 'started': '?', 'command': 'unreadable lock file'}

    def _refuse(self, owner):
        raise AddaError('output folder {} is in use by another training run, {}; wait for it '
                        'to finish or stop it, or choose another OUTPUT or --snapshot_dir'.format(
                            self.folder, describe_holder(owner)))

    def _take(self, fd):
        """True when locked, False when flock is not supported here; refuses when held."""
        if fcntl is None:
            return False
        try:
            taken = lock_file(fd, wait=False)
        except OSError:
            return False  # ENOLCK, EOPNOTSUPP...: a file system without flock
        if not taken:
            owner = self._read(fd)
            os.close(fd)
            self._refuse(owner)
        return True

    def acquire(self):
        """Take the lock; returns the previous holder's record when it was stale, else None."""
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as e:
                raise write_error(self.path, e, 'the lock file')
            if self._take(fd):
                try:
                    same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
                except OSError:
                    same = False
                if not same:  # its holder removed it meanwhile: lock the new one
                    os.close(fd)
                    continue
                previous = self._read(fd)
            else:
                previous = self._read(fd)
                if previous and previous.get('pid') != os.getpid() and (
                        previous.get('host') != socket.gethostname() or
                        not isinstance(previous.get('pid'), int) or _alive(previous['pid'])):
                    os.close(fd)
                    raise AddaError('output folder {} is locked by {} ({}); remove {} if that '
                                    'run has ended'.format(self.folder, describe_holder(previous),
                                                           'this file system has no flock',
                                                           self.path))
            break
        self.fd = fd
        record = {'pid': os.getpid(), 'host': socket.gethostname(),
                  'started': time.strftime('%Y-%m-%d %H:%M:%S %z'),
                  'command': ' '.join(sys.argv)}
        try:
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, json.dumps(record).encode('utf8'))
        except OSError as e:
            self.release()
            raise write_error(self.path, e, 'the lock file')
        atexit.register(self.release)
        return previous

    def release(self):
        if self.fd is None:
            return
        try:
            if os.fstat(self.fd).st_ino == os.stat(self.path).st_ino:
                os.remove(self.path)
        except OSError:
            pass
        os.close(self.fd)
        self.fd = None
