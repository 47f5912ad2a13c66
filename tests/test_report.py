"""The results report, the data check, and reproduce.sh's skipping of finished runs."""
import os
import subprocess
import sys

import pytest
import yaml

from conftest import ROOT, run_tool


def fake_run(results, task, seed, accuracies):
    folder = results / '{}-seed{}'.format(task, seed)
    folder.mkdir(parents=True)
    (folder / 'run.yaml').write_text(yaml.safe_dump({'task': task, 'seed': seed}))
    for name, value in accuracies.items():
        (folder / (name + '.yaml')).write_text(yaml.safe_dump({'accuracy': value}))


def four(source_train, source_test, adda_train, adda_test):
    return {'source_only_train': source_train, 'source_only_test': source_test,
            'adda_train': adda_train, 'adda_test': adda_test}


def test_report_table_means_and_stds(tmp_path):
    results = tmp_path / 'results'
    fake_run(results, 'mnist-usps', 0, four(0.70, 0.71, 0.90, 0.91))
    fake_run(results, 'mnist-usps', 1, four(0.80, 0.73, 0.92, 0.93))
    partial = four(0.1, 0.1, 0.1, 0.1)
    del partial['adda_test']
    fake_run(results, 'mnist-usps', 2, partial)  # unfinished: left out
    result = run_tool('report', results, '--markdown', tmp_path / 't.md')
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    row = [l for l in lines if l.startswith('| MNIST→USPS | source only')][0]
    assert row == '| MNIST→USPS | source only | 0.752 ± 0.016 | 0.750 ± 0.071 | 0.720 ± 0.014 | 2 |'
    adda = [l for l in lines if l.startswith('| MNIST→USPS | ADDA')][0]
    assert '0.910 ± 0.014' in adda and '0.920 ± 0.014' in adda
    assert '| SVHN→MNIST | ADDA | 0.760 ± 0.018 | not run | not run | 0 |' in lines
    assert (tmp_path / 't.md').read_text().strip() == '\n'.join(lines[:8]).strip()


def test_report_draws_a_png(tmp_path):
    pytest.importorskip('matplotlib')
    results = tmp_path / 'results'
    fake_run(results, 'usps-mnist', 0, four(0.6, 0.6, 0.9, 0.9))
    result = run_tool('report', results, '--png', tmp_path / 'chart.png')
    assert result.returncode == 0, result.stderr
    assert (tmp_path / 'chart.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def test_data_check_lists_missing_files(data_root):
    check = [sys.executable, '-m', 'adda.data', 'check']
    assert subprocess.call(check + ['mnist', 'usps1800'], cwd=ROOT) == 0
    os.remove(str(data_root / 'svhn' / 'test_32x32.mat'))
    out = subprocess.run(check + ['svhn'], cwd=ROOT, stdout=subprocess.PIPE,
                         universal_newlines=True)
    assert out.returncode == 1
    assert out.stdout.strip() == 'missing: {}'.format(data_root / 'svhn' / 'test_32x32.mat')


def test_reproduce_skips_finished_runs_and_absent_data(data_root, tmp_path):
    os.remove(str(data_root / 'svhn' / 'train_32x32.mat'))
    results = tmp_path / 'results'
    for seed in (0, 1):
        fake_run(results, 'mnist-usps', seed, four(0.7, 0.7, 0.9, 0.9))
    env = dict(os.environ, PYTHON=sys.executable, RESULTS_DIR=str(results), SEEDS='0 1',
               SNAPSHOT_DIR=str(tmp_path / 'snap'), PYTHONIOENCODING='utf-8')
    out = subprocess.run(['bash', os.path.join(ROOT, 'scripts', 'reproduce.sh'), 'mnist-usps',
                          'svhn-mnist'], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, encoding='utf-8')
    assert out.returncode == 0, out.stderr
    assert 'mnist-usps-seed0: finished earlier, skipping' in out.stdout
    assert 'mnist-usps-seed1: finished earlier, skipping' in out.stdout
    assert 'Skipping svhn-mnist: its data is not on disk' in out.stdout
    assert not (tmp_path / 'snap').exists()  # nothing was trained
    assert '| MNIST→USPS | ADDA | 0.894 ± 0.002 | 0.900 ± 0.000 | 0.900 ± 0.000 | 2 |' in out.stdout
    assert (results / 'results.md').exists()
