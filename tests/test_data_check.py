"""``python -m adda.data check`` and ``list`` (adda/data/__main__.py), and the same checks
in-process (adda.data.check.check_datasets): every file read and decoded, every bad file named,
what was found said per dataset and split."""
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from adda.data.check import MALFORMED, MISSING, OK, check_datasets
from conftest import ROOT, _cli_runner
from data_fixtures import real_part, root, write_folder, write_npz  # noqa: F401


def invoke(*args):
    from adda.data.__main__ import main
    return _cli_runner().invoke(main, [str(a) for a in args])


def cache_path(root):
    found = sorted((root.parent / 'cache' / 'folders').iterdir())
    return [str(path) for path in found]


def test_data_check_and_list_know_own_datasets(root):
    pixels, labels = real_part('usps', 'test', 60)
    write_folder(root / 'mine', {'train': (pixels, labels), 'test': (pixels, labels)})
    write_npz(root / 'arrays.npz', {'train': (pixels, labels), 'test': (pixels, labels)})
    result = invoke('check', 'mine', 'arrays')
    assert result.exit_code == 0 and result.stderr == ''
    lines = result.stdout.splitlines()
    train_cache, test_cache = cache_path(root)[::-1]  # names: mine-test-..., mine-train-...
    digits = 'classes 0 1 2 3 4 5 6 7 8 9'
    assert lines[0] == 'mine: image folder {}{}'.format(root / 'mine', os.sep)
    assert re.match(r'  train: 60 images, labelled, {}, 16x16 grey, decoded in [0-9.]+ s, '
                    r'cache written \({}\)$'.format(digits, re.escape(train_cache)), lines[1])
    assert lines[2].startswith('  test: 60 images, labelled, {}, 16x16 grey, decoded'.format(
        digits)) and lines[2].endswith('cache written ({})'.format(test_cache))
    assert lines[3:] == ['arrays: array file {}'.format(root / 'arrays.npz'),
                         '  train: 60 images, labelled, {}, 16x16 grey'.format(digits),
                         '  test: 60 images, labelled, {}, 16x16 grey'.format(digits)]
    again = invoke('check', 'mine').stdout.splitlines()
    assert again[1] == '  train: 60 images, labelled, {}, 16x16 grey, cache read ({})'.format(
        digits, train_cache)

    listed = invoke('list').output
    assert '{}{} (your own)'.format(root / 'mine', os.sep) in listed
    assert '{} (your own)'.format(root / 'arrays.npz') in listed
    for path in (root / 'mine' / 'test' / '3').iterdir():
        path.unlink()
    result = invoke('check', 'mine')
    assert result.exit_code == 2 and result.stdout == ''
    assert result.stderr == 'Error: {}: no images in the class folder\n'.format(
        root / 'mine' / 'test' / '3')


def test_every_bad_file_is_one_line_and_nothing_is_cached(root):
    """A file that is not an image in a class folder (which the folder's listing cannot tell):
    decoded, named; decoding goes on and names the next one too."""
    pixels, labels = real_part('usps', 'test', 60)
    write_folder(root / 'mine', {'train': (pixels, labels), 'test': (pixels, labels)})
    notes = [root / 'mine' / 'train' / '3' / 'notes.txt', root / 'mine' / 'test' / '7' / 'x.png']
    for note in notes:
        note.write_text('not an image')
    result = invoke('check', 'mine')
    assert result.exit_code == 2
    errors = result.stderr.splitlines()
    assert [line.split(': ')[1] for line in errors] == [str(note) for note in notes]
    assert all(': not an image Pillow can read (' in line for line in errors)
    assert not (root.parent / 'cache' / 'folders').exists()
    report = check_datasets(['mine'])
    assert report.status == MALFORMED and len(report.problems) == 2
    assert str(report.error()) == '{} (and 1 more: python -m adda.data check mine)'.format(
        report.problems[0])


def test_an_unlabelled_folder_of_photos_is_described(root):
    from PIL import Image
    pixels, _ = real_part('mnist', 'test', 3)
    folder = root / 'photos' / 'train'
    folder.mkdir(parents=True)
    for i, (p, size) in enumerate(zip(pixels, [(400, 300), (300, 400), (40, 40)])):
        Image.fromarray(p).resize(size).save(str(folder / '{}.jpg'.format(i)))
    result = invoke('check', 'photos')
    assert result.exit_code == 0, result.output
    line = result.stdout.splitlines()[1]
    assert line.startswith('  train: 3 images, unlabelled, no classes (it takes its source\'s), '
                           '40x40 to 400x300 (2 reduced to at most 28x28 when decoded: longer '
                           'side above 56) grey, decoded in ')
    report = check_datasets(['photos'])
    (split,) = report.datasets[0].splits
    assert report.status == OK and report.error() is None
    assert (split.images, split.labelled, split.classes, split.reduced) == (3, False, None, 2)
    assert split.smallest == (40, 40) and split.largest == (300, 400) and split.cached == 'read'
    assert split.shape == (28, 28, 1)


def test_missing_files_are_listed_and_nothing_is_read(data_root, monkeypatch):
    from adda.data import images
    monkeypatch.setattr(images, 'decode_image', lambda path: pytest.fail('decoded ' + path))
    os.remove(str(data_root / 'svhn' / 'test_32x32.mat'))
    result = invoke('check', 'mnist', 'svhn')
    assert result.exit_code == 1
    assert result.stdout == 'missing: {}\n'.format(data_root / 'svhn' / 'test_32x32.mat')
    report = check_datasets(['mnist', 'svhn'])
    assert report.status == MISSING and not report.datasets[0].splits
    assert str(report.error()) == 'missing: {}'.format(data_root / 'svhn' / 'test_32x32.mat')
    unknown = check_datasets(['mnist', 'nosuch'])
    assert unknown.status == MALFORMED and unknown.problems[0].startswith(
        "unknown dataset 'nosuch'")


def test_the_builtin_sets_are_parsed_and_files_only_reads_nothing(data_root):
    from adda.data import get_split
    result = invoke('check', 'usps', '--files-only')
    assert result.exit_code == 0 and result.stdout == 'usps: built-in set {}{}\n'.format(
        data_root / 'usps', os.sep)
    with open(str(data_root / 'usps' / 'zip.test.gz'), 'wb') as f:
        f.write(b'not gzip')
    assert invoke('check', 'usps', '--files-only').exit_code == 0
    result = invoke('check', 'mnist', 'usps')
    assert result.exit_code == 2
    assert result.stderr.startswith('Error: {}: cannot read the file'.format(
        data_root / 'usps' / 'zip.test.gz')) and result.stderr.count('\n') == 1
    assert result.stdout.startswith('mnist: built-in set') and 'usps' not in result.stdout
    assert len(get_split('mnist', 'train')) == 300
    report = check_datasets(['mnist'])
    assert [(s.split, s.images, s.labelled, s.shape) for s in report.datasets[0].splits] == [
        ('train', 300, True, (28, 28, 1)), ('test', 100, True, (28, 28, 1))]
    np.testing.assert_array_equal(report.datasets[0].splits[0].largest, (28, 28))


def test_data_check_lists_missing_files(data_root):
    """As the shell sees it (scripts/slurm/submit.sh skips a task on exit status 1); a subset
    that cannot be drawn from the files (300 stand-in USPS images, not 1800) is malformed."""
    check = [sys.executable, '-m', 'adda.data', 'check']
    assert subprocess.call(check + ['mnist', 'usps'], cwd=ROOT, stdout=subprocess.DEVNULL) == 0
    out = subprocess.run(check + ['usps1800'], cwd=ROOT, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, universal_newlines=True)
    assert out.returncode == 2 and out.stdout == ''
    assert out.stderr == 'Error: usps1800: usps train has only 300 images, fewer than 1800\n'
    os.remove(str(data_root / 'svhn' / 'test_32x32.mat'))
    out = subprocess.run(check + ['svhn'], cwd=ROOT, stdout=subprocess.PIPE,
                         universal_newlines=True)
    assert out.returncode == 1
    assert out.stdout.strip() == 'missing: {}'.format(data_root / 'svhn' / 'test_32x32.mat')
