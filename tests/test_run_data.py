"""A task run checks its data before any training (adda/pipeline.py check_data): every split
it needs found, read, decoded and labelled, source and target with the same classes, a batch's
worth of training images, the target's test split there. Each problem is one line, status 1,
before the source model trains: no snapshot folder, no run.yaml."""
import os

import numpy as np
import pytest

from adda import run as pipeline
from adda.tasks import TASKS
from conftest import ROOT, digit_images

# Runtime-independent: one pass of .ci/run runs it (conftest.belongs_here).
pytestmark = pytest.mark.once


def png_folder(root, name, classes=tuple('0123456789'), per_class=(3, 2)):
    """<root>/<name>/{train,test}/<class>/<n>.png, 16x16 grey."""
    from PIL import Image
    for split, count in zip(('train', 'test'), per_class):
        for k, label in enumerate(classes):
            folder = root / name / split / label
            folder.mkdir(parents=True, exist_ok=True)
            for i, image in enumerate(digit_images([k % 10] * count, 16, seed=k)):
                Image.fromarray(np.uint8(np.round(image[..., 0] * 255))).save(
                    str(folder / '{}.png'.format(i)))


@pytest.fixture
def run_env(data_root, tmp_path, monkeypatch, capsys):
    """run(argv, **settings): adda.run's entry point here, its tools an interpreter that fails
    at once (a run past its checks stops at its first tool); (status, stdout, stderr lines)."""
    def run(argv, **settings):
        env = dict(os.environ, RESULTS_DIR=str(tmp_path / 'results'),
                   SNAPSHOT_DIR=str(tmp_path / 'snap'), PYTHON='/bin/false',
                   TRAIN_ARGS='--batch_size 16')
        env.update(settings)
        monkeypatch.setattr(os, 'environ', env)
        monkeypatch.chdir(ROOT)
        status = pipeline.main(argv)
        out, err = capsys.readouterr()
        return status, out, err.strip().splitlines()
    return run


def nothing_written(tmp_path):
    snapshots = [n for n in os.listdir(str(tmp_path / 'snap')) if n != '.locks'] \
        if (tmp_path / 'snap').exists() else []
    return snapshots == [] and not (tmp_path / 'results').exists()


def test_a_bad_file_in_the_target_folder_is_refused_before_the_source_trains(
        run_env, data_root, tmp_path):
    png_folder(data_root, 'mine')
    bad = data_root / 'mine' / 'train' / '3' / 'notes.png'
    bad.write_text('not an image')
    status, out, err = run_env(['--pair', 'mnist', 'mine'])
    assert status == 1 and len(err) == 1, err
    assert err[0].startswith('Error: ') and str(bad) in err[0]
    assert 'Training the source model' not in out
    assert nothing_written(tmp_path)
    bad.unlink()  # mended: the run gets past its checks (to its first tool, which fails here)
    status, out, err = run_env(['--pair', 'mnist', 'mine'])
    assert 'Checked the data: mnist (train 300 images, test 100 images), mine (train 30 ' \
        'images, test 20 images); classes 0 1 2 3 4 5 6 7 8 9' in out
    assert status == 1 and 'Training the source model on mnist train' in out


def test_source_and_target_of_other_classes_are_refused(run_env, data_root, tmp_path):
    png_folder(data_root, 'letters', classes=('a', 'b', 'c'))
    status, _, err = run_env(['--pair', 'mnist', 'letters'])
    assert (status, err) == (1, [
        'Error: source and target must have the same classes: mnist has 0 1 2 3 4 5 6 7 8 9 '
        'and letters has 0=a 1=b 2=c'])
    assert nothing_written(tmp_path)


def test_a_target_smaller_than_a_batch_is_refused(run_env, data_root, tmp_path):
    png_folder(data_root, 'few', per_class=(1, 1))
    status, _, err = run_env(['--pair', 'usps', 'few'], TRAIN_ARGS='--snapshot 10')
    assert (status, err) == (1, [
        'Error: few train has 10 images, fewer than a batch of 128 (the --batch_size of the '
        'adaptation): give TRAIN_ARGS a smaller --batch_size'])
    assert nothing_written(tmp_path)
    status, out, _ = run_env(['--pair', 'usps', 'few'], TRAIN_ARGS='--batch_size 10')
    assert status == 1 and 'Training the source model' in out  # 10 images: a batch


def test_a_full_protocol_task_without_the_target_test_file_is_refused(run_env, data_root,
                                                                      tmp_path):
    """mnist-usps-full reports the USPS test split: its file missing (offline: no download)
    stops the run before 60,000-image source training, not after it."""
    assert TASKS['mnist-usps-full'].protocol.split == 'test'
    (data_root / 'usps' / 'zip.test.gz').unlink()
    status, out, err = run_env(['mnist-usps-full'], ADDA_OFFLINE='1')
    assert status == 1 and len(err) == 1, err
    assert err[0].startswith('Error: zip.test.gz is missing from {} (ADDA_OFFLINE=1: no '
                             'download)'.format(data_root / 'usps'))
    assert 'Training the source model' not in out and nothing_written(tmp_path)


def test_the_batch_sizes_come_from_the_task_and_train_args():
    run = pipeline.Run(TASKS['usps-mnist'], pipeline.settings_of({}))
    assert pipeline.check_data.__module__ == 'adda.run_data'
    from adda.run_data import batch_sizes, needed_splits, target_splits
    assert batch_sizes(run) == (128, 128)
    run = pipeline.Run(TASKS['usps-mnist-plus'], pipeline.settings_of(
        {'TRAIN_ARGS': '--batch_size=32 --x 1'}))
    assert batch_sizes(run) == (32, 32)
    # the source's splits must be there and labelled; the target's are used as they are
    assert needed_splits(run) == [('usps1800', 'train'), ('usps1800', 'test')]
    assert target_splits(run) == ('train', 'test')
