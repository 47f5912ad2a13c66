"""The two runtimes (Python 3.7 + TF 1.15 and Python 3.8+ + TF 2.x) share snapshots and graphs.

The other runtime's interpreter comes from ADDA_OTHER_PYTHON, which .ci/run sets; without it
these tests are skipped (under CI=true they fail). Each test covers both directions, so one pass
of .ci/run runs them.
"""
import os
import subprocess
import sys

import numpy as np
import pytest
import yaml

from conftest import ROOT, require
from helpers_ascend import frozen_predictions, load_frozen, snapshot_predictions

OTHER_PYTHON = os.environ.get('ADDA_OTHER_PYTHON')
pytestmark = pytest.mark.once
PYTHONS = {'this': sys.executable, 'other': OTHER_PYTHON}


@pytest.fixture(autouse=True)
def other_runtime():
    require(OTHER_PYTHON, 'ADDA_OTHER_PYTHON (the other runtime\'s interpreter) is not set')


def run_with(which, tool, *args):
    command = [PYTHONS[which], os.path.join(ROOT, 'tools', tool + '.py')] + [str(a) for a in args]
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True, cwd=ROOT, timeout=600)
    assert result.returncode == 0, '{}\n{}'.format(' '.join(command), result.stderr)
    return result


def tensorflow_version(python):
    return subprocess.check_output(
        [python, '-c', 'import tensorflow as tf; print(tf.__version__)'],
        universal_newlines=True, stderr=subprocess.DEVNULL).strip()


@pytest.fixture(scope='module')
def versions():
    found = {which: tensorflow_version(python) for which, python in PYTHONS.items()}
    assert found['this'].split('.')[0] != found['other'].split('.')[0], (
        'ADDA_OTHER_PYTHON should be the other runtime (TF 1.x vs 2.x), found {}'.format(found))
    return found


def evaluation(path):
    with open(str(path)) as f:
        record = yaml.safe_load(f)
    return record['accuracy'], record['confusion_matrix']


@pytest.mark.parametrize('trainer', ['this', 'other'])
def test_snapshots_evaluate_the_same_under_both_runtimes(data_root, tmp_path, versions, trainer):
    snap = tmp_path / 'snap'
    common = ['--batch_size', '32', '--solver', 'adam', '--seed', '0', '--snapshot', '1000',
              '--device', 'cpu', '--snapshot_dir', snap]
    # Few iterations: a half-trained model, whose confusion matrix shows any difference.
    run_with(trainer, 'train', 'mnist', 'train', 'lenet', 'source', '--iterations', '6',
             '--lr', '1e-3', *common)
    run_with(trainer, 'train_adda', 'mnist:train', 'usps:train', 'lenet', 'adda',
             '--iterations', '3', '--lr', '2e-4', '--weights', snap / 'source', *common)
    for snapshot in ('source', 'adda'):
        results = {}
        for evaluator in ('this', 'other'):
            out = tmp_path / '{}_{}.yaml'.format(snapshot, evaluator)
            run_with(evaluator, 'eval_classification', 'usps', 'test', 'lenet', snap / snapshot,
                     '--device', 'cpu', '--output', out)
            results[evaluator] = evaluation(out)
        assert results['this'] == results['other'], (snapshot, versions)


def test_graph_exported_by_the_other_runtime(data_root, tmp_path, versions):
    snap = tmp_path / 'snap'
    run_with('this', 'train', 'mnist', 'train', 'lenet', 'source', '--iterations', '40',
             '--batch_size', '32', '--lr', '1e-3', '--solver', 'adam', '--seed', '0',
             '--device', 'cpu', '--snapshot_dir', snap)
    pb = tmp_path / 'lenet.pb'
    run_with('other', 'export_graph', 'lenet', snap / 'source', pb, '--batch_size', '20')
    expected, images = snapshot_predictions('mnist', snap / 'source')
    np.testing.assert_array_equal(frozen_predictions(load_frozen(pb), images, 20), expected)
