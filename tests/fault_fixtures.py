"""Helpers of the fault tests that other tests share: a folder's listing and a small disk (a
tmpfs in a user namespace) to fill."""
import os
import shutil
import subprocess

import pytest

from conftest import ROOT, require


def listing(folder):
    """Every path under ``folder``: files with their size and modification time, folders
    with None."""
    found = {}
    for root, dirs, files in os.walk(str(folder)):
        for name in dirs:
            found[os.path.relpath(os.path.join(root, name), str(folder))] = None
        for name in files:
            path = os.path.join(root, name)
            stat = os.stat(path)
            found[os.path.relpath(path, str(folder))] = (stat.st_size, stat.st_mtime_ns)
    return found


def small_disk_available():
    if not shutil.which('unshare'):
        return False
    probe = subprocess.run(['unshare', '-rm', 'sh', '-c',
                            'mount -t tmpfs -o size=1m tmpfs /tmp && df /tmp'],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return probe.returncode == 0


@pytest.fixture
def needs_small_disk():
    require(small_disk_available(), 'cannot mount a tmpfs in a user namespace here (unshare -rm)')


def on_small_disk(tmp_path, size, command):
    """Run ``command`` (a list) with a ``size`` tmpfs mounted at tmp_path/disk; returns
    (exit status, stdout, stderr, copy of the disk's content after the command)."""
    disk, copy = tmp_path / 'disk', tmp_path / 'disk_after'
    disk.mkdir()
    script = ('mount -t tmpfs -o size={} tmpfs "$1" || exit 99; shift; copy=$1; shift; '
              '"$@"; status=$?; cp -a "{}/." "$copy/" && exit $status').format(size, disk)
    copy.mkdir()
    result = subprocess.run(['unshare', '-rm', 'sh', '-c', script, 'sh', str(disk), str(copy)] +
                            [str(c) for c in command], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, universal_newlines=True,
                            env=dict(os.environ, PYTHONUNBUFFERED='1'), cwd=ROOT, timeout=600)
    assert result.returncode != 99, result.stderr
    return result, disk, copy
