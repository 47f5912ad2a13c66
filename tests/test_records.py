"""Records (adda/records.py) and locks (adda/locks.py): one writer, one reader whose every
problem names the file, one field-by-field comparison, one flock."""
import collections
import os
import subprocess
import sys

import pytest

from adda import records
from adda.errors import AddaError
from adda.locks import FileLock, FolderLock

# Runtime-independent: one pass of .ci/run runs it (conftest.belongs_here).
pytestmark = pytest.mark.once

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_a_record_is_written_whole_and_read_back(tmp_path):
    path = str(tmp_path / 'sub' / 'r.yaml')
    data = collections.OrderedDict([('b', 1), ('a', [1, 2]), ('c', 'é')])
    records.write_record(path, data)
    assert records.read_record(path) == dict(data)
    assert list(records.read_record(path)) == ['b', 'a', 'c']  # the order given
    assert os.listdir(str(tmp_path / 'sub')) == ['r.yaml']  # no temporary left
    records.write_record(path, data, style=records.RUN_STYLE)
    assert 'c: é' in (tmp_path / 'sub' / 'r.yaml').read_text(encoding='utf-8')


def test_a_failed_write_keeps_the_old_record_and_names_the_file(tmp_path):
    path = str(tmp_path / 'r.yaml')
    records.write_record(path, {'accuracy': 0.5})
    with pytest.raises(Exception):
        records.write_record(path, {'accuracy': object()})  # not representable
    assert records.read_record(path) == {'accuracy': 0.5}
    assert os.listdir(str(tmp_path)) == ['r.yaml']
    blocked = tmp_path / 'file'
    blocked.write_text('')
    with pytest.raises(AddaError, match='could not write the record {}'.format(
            blocked / 'r.yaml')):
        records.write_record(str(blocked / 'r.yaml'), {'a': 1}, 'the record')


@pytest.mark.parametrize('content, problem', [
    (None, 'cannot be read (No such file or directory)'),
    (b'accur', 'not a YAML mapping (truncated or overwritten?)'),
    (b'a: [1, 2', 'not readable YAML (while parsing a flow sequence)'),
    (b'\xff\xfe\x00a', 'not text'),
    (b'other: 1\n', 'has no accuracy'),
    (b'accuracy: high\n', "accuracy 'high' is not a number"),
])
def test_every_problem_of_a_record_is_one_error_naming_it(tmp_path, content, problem):
    path = tmp_path / 'r.yaml'
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(records.DamagedRecord) as error:
        records.read_number(str(path), 'accuracy')
    assert str(error.value) == '{}: {}'.format(path, problem)
    assert error.value.path == str(path) and isinstance(error.value, AddaError)


def test_a_missing_record_can_be_none(tmp_path):
    assert records.read_record(str(tmp_path / 'none.yaml'), missing_ok=True) is None
    (tmp_path / 'bad.yaml').write_text('[1')
    with pytest.raises(records.DamagedRecord):
        records.read_record(str(tmp_path / 'bad.yaml'), missing_ok=True)


def test_records_differ_field_by_field_over_the_fields_both_have():
    old = {'a': 1, 'b': [1, 2], 'gone': True}
    new = collections.OrderedDict([('b', [1, 3]), ('a', 1), ('later', 'x'), ('c', None)])
    assert records.differences(old, new) == ['b: [1, 2] -> [1, 3]']
    assert records.differences(dict(old, c=1e-5), new) == [
        'b: [1, 2] -> [1, 3]', 'c: 1.0e-05 -> null']
    assert records.differences(old, new, keys=['a']) == []
    assert records.differences({'x': 1}, {'x': 1.0}, same=lambda k, a, b: False,
                               describe=lambda k, a, b: '--{}'.format(k)) == ['--x']


def hold(path):
    """A process holding ``path``'s flock until killed."""
    holder = subprocess.Popen([sys.executable, '-c', (
        'import sys; sys.path.insert(0, sys.argv[2])\n'
        'from adda.locks import FileLock\n'
        'held = FileLock(sys.argv[1]); held.acquire()\n'
        'print("locked", flush=True)\n'
        'import time; time.sleep(600)\n'), str(path), ROOT], stdout=subprocess.PIPE,
        universal_newlines=True)
    assert holder.stdout.readline().strip() == 'locked'
    return holder


def test_a_file_lock_is_taken_once_and_dropped_with_its_process(tmp_path):
    path = tmp_path / 'locks' / 'run.lock'
    holder = hold(path)
    try:
        assert FileLock(str(path)).acquire(wait=False) is False
    finally:
        holder.kill()
        holder.wait()
    with FileLock(str(path)) as held:  # the kernel dropped the dead holder's lock
        assert held.held is not None
        assert FileLock(str(path)).acquire(wait=False) is False  # our own, another open file
    assert FileLock(str(path)).acquire(wait=False) is True


def test_a_folder_lock_names_its_holder_and_takes_over_a_stale_file(tmp_path):
    folder = tmp_path / 'run'
    folder.mkdir()
    script = ('import sys; sys.path.insert(0, sys.argv[2])\n'
              'from adda.locks import FolderLock\n'
              'held = FolderLock(sys.argv[1]); held.acquire()\n'
              'print("locked", flush=True)\n'
              'import time; time.sleep(600)\n')
    holder = subprocess.Popen([sys.executable, '-c', script, str(folder), ROOT],
                              stdout=subprocess.PIPE, universal_newlines=True)
    assert holder.stdout.readline().strip() == 'locked'
    try:
        with pytest.raises(AddaError, match=r'output folder {} is in use by another training '
                                            r'run, process {} on '.format(folder, holder.pid)):
            FolderLock(str(folder)).acquire()
    finally:
        holder.kill()
        holder.wait()
    assert (folder / '.lock').exists()  # a killed holder leaves the file
    lock = FolderLock(str(folder))
    stale = lock.acquire()
    assert stale['pid'] == holder.pid
    lock.release()
    assert not (folder / '.lock').exists()


def test_one_flock_call_in_the_package():
    found = subprocess.run(['grep', '-rn', 'flock(', os.path.join(ROOT, 'adda')],
                           stdout=subprocess.PIPE, universal_newlines=True).stdout
    assert len(found.splitlines()) == 1 and 'adda/locks.py' in found, found
