"""The three tools end to end on tiny datasets, and their answers to bad input."""
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import yaml

from conftest import LENET_KEYS, ROOT, run_tool, snapshot_accuracy

TRAIN = ['--batch_size', 32, '--lr', 1e-3, '--solver', 'adam', '--seed', 0]


def checkpoint_values(prefix):
    from adda.compat import tf
    return {name: tf.train.load_variable(prefix, name) for name, _ in
            tf.train.list_variables(prefix)}


def ok(result):
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def overall_accuracy(stdout):
    lines = stdout.splitlines()
    index = [i for i, line in enumerate(lines) if line.endswith('Overall accuracy:')][-1]
    return float(lines[index + 1].split()[-1])


def test_train_adapt_evaluate_and_resume(data_root, tmp_path):
    snap = tmp_path / 'snap'
    result = ok(run_tool('train', 'mnist', 'train', 'lenet', 'src', '--iterations', 40,
                         '--snapshot', 20, '--snapshot_dir', snap, *TRAIN))
    assert 'Iteration 30:' in result.stdout and 'Iteration 40:' not in result.stdout
    assert os.path.isfile(str(snap / 'src' / 'src-20.index'))
    assert sorted(checkpoint_values(str(snap / 'src' / 'src-40'))) == LENET_KEYS
    config = yaml.safe_load((snap / 'src' / 'config.yaml').read_text())
    assert config['seed'] == 0 and config['options']['iterations'] == 40
    assert any(name.startswith('events.out.tfevents') for name in os.listdir(str(snap / 'src')))

    record = tmp_path / 'eval.yaml'
    result = ok(run_tool('eval_classification', 'mnist', 'test', 'lenet', snap / 'src',
                         '--output', record, '--batch_size', 30))
    assert 'Class accuracies:' in result.stdout
    saved = yaml.safe_load(record.read_text())
    assert saved['images'] == 100 and sum(saved['class_counts']) == 100
    assert np.trace(np.array(saved['confusion_matrix'])) == round(saved['accuracy'] * 100)
    assert overall_accuracy(result.stdout) == pytest.approx(saved['accuracy'])
    # 4 decimals, as the task scripts' summary (issue 41); the record keeps it whole
    assert re.search(r'Overall accuracy:\n.* \d\.\d{4}\n', result.stdout)
    assert saved['accuracy'] > 0.5  # the tiny digits are easy; chance is 0.1

    ok(run_tool('train_adda', 'mnist:train', 'usps:train', 'lenet', 'ad', '--weights', snap / 'src',
                '--iterations', 20, '--snapshot', 10, '--snapshot_dir', snap,
                '--adversary', 16, '--adversary', 16, *TRAIN))
    assert sorted(checkpoint_values(str(snap / 'ad' / 'ad-20'))) == LENET_KEYS
    result = ok(run_tool('eval_classification', 'usps', 'test', 'lenet', snap / 'ad'))
    assert overall_accuracy(result.stdout) == snapshot_accuracy(snap / 'ad' / 'ad-20', 'usps',
                                                                'test')

    result = ok(run_tool('train_adda', 'mnist:train', 'usps:train', 'lenet', 'ad',
                         '--weights', snap / 'src', '--iterations', 30, '--snapshot', 10,
                         '--snapshot_dir', snap, '--adversary', 16, '--adversary', 16,
                         '--resume', *TRAIN))
    assert 'at iteration 20' in result.stdout and 'Iteration 20:' in result.stdout
    assert 'Iteration 10:' not in result.stdout
    assert os.path.isfile(str(snap / 'ad' / 'ad-30.index'))
    result = ok(run_tool('train_adda', 'mnist:train', 'usps:train', 'lenet', 'ad',
                         '--weights', snap / 'src', '--iterations', 30, '--snapshot_dir', snap,
                         '--adversary', 16, '--adversary', 16, '--resume', *TRAIN))
    assert 'nothing to do' in result.stdout


def test_resumed_run_equals_uninterrupted_run(data_root, tmp_path):
    snap = tmp_path / 'snap'
    common = ['--snapshot_dir', snap, '--snapshot', 10, '--steps_per_run', 5] + TRAIN[:-2]
    ok(run_tool('train', 'usps', 'train', 'lenet', 'whole', '--iterations', 20, '--seed', 3,
                *common))
    ok(run_tool('train', 'usps', 'train', 'lenet', 'parts', '--iterations', 10, '--seed', 3,
                *common))
    # the resumed half takes its seed from the first half's config.yaml
    ok(run_tool('train', 'usps', 'train', 'lenet', 'parts', '--iterations', 20, '--resume',
                *common))
    whole = checkpoint_values(str(snap / 'whole' / 'whole-20'))
    parts = checkpoint_values(str(snap / 'parts' / 'parts-20'))
    for key in LENET_KEYS:
        np.testing.assert_allclose(whole[key], parts[key], rtol=1e-5, atol=1e-6)


def test_resumed_adaptation_with_every_term_equals_uninterrupted(data_root, tmp_path):
    """Every registered adaptation term on (adda/terms/) and the core's options: VAT's random
    directions are keyed by the step, and the state the terms keep (class centroids,
    neighbour bank, moving average) is part of the training state, so an adaptation stopped
    at 10 and resumed ends where the uninterrupted one does (a stateful generator, or state
    started from 0 again, would not)."""
    from adda.terms import arguments, every_example
    snap = tmp_path / 'snap'
    ok(run_tool('train', 'mnist', 'train', 'lenet', 'src', '--iterations', 10,
                '--snapshot_dir', snap, *TRAIN))
    common = ['--weights', snap / 'src', '--snapshot_dir', snap, '--snapshot', 10,
              '--steps_per_run', 5, '--adversary', 16] + arguments(every_example()) + \
        TRAIN[:-2]

    def adapt(name, *extra):
        return ok(run_tool('train_adda', 'mnist:train', 'usps:train', 'lenet', name, *common,
                           *extra))
    adapt('whole', '--iterations', 20, '--seed', 3)
    adapt('parts', '--iterations', 10, '--seed', 3)
    adapt('parts', '--iterations', 20, '--resume')
    whole = checkpoint_values(str(snap / 'whole' / 'whole-20'))
    parts = checkpoint_values(str(snap / 'parts' / 'parts-20'))
    for key in LENET_KEYS:
        np.testing.assert_allclose(whole[key], parts[key], rtol=1e-5, atol=1e-6)


def test_sigterm_saves_a_snapshot_then_resume_finishes(data_root, tmp_path):
    snap = tmp_path / 'snap'
    command = [sys.executable, os.path.join(ROOT, 'tools', 'train.py'), 'mnist', 'train', 'lenet',
               'long', '--iterations', 1000000, '--display', 5, '--snapshot_dir', snap] + TRAIN
    process = subprocess.Popen([str(c) for c in command], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, universal_newlines=True)
    log = snap / 'long' / 'train.log'
    deadline = time.time() + 120
    while time.time() < deadline and not (log.exists() and 'Iteration 5:' in log.read_text()):
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM, stderr
    assert 'continue with --resume' in stdout and 'Traceback' not in stderr
    steps = [int(name[len('long-'):-len('.index')]) for name in os.listdir(str(snap / 'long'))
             if name.endswith('.index')]
    assert len(steps) == 1 and steps[0] >= 6
    result = ok(run_tool('train', 'mnist', 'train', 'lenet', 'long', '--iterations', steps[0] + 3,
                         '--snapshot_dir', snap, '--resume', *TRAIN))
    assert 'Resuming from' in result.stdout
    assert os.path.isfile(str(snap / 'long' / 'long-{}.index'.format(steps[0] + 3)))


def test_nan_loss_stops_and_keeps_the_last_good_snapshot(data_root, tmp_path):
    snap = tmp_path / 'snap'
    result = run_tool('train', 'mnist', 'train', 'lenet', 'nan', '--iterations', 50,
                      '--snapshot', 1, '--lr', 1e30, '--solver', 'sgd', '--snapshot_dir', snap)
    assert result.returncode == 1
    (line,) = [l for l in result.stderr.splitlines() if l.strip()]
    assert line.startswith('Error: training diverged: loss is ')
    last = line.rsplit('last good snapshot: ', 1)[1].rstrip(')')
    assert os.path.isfile(last + '.index')
    saved = sorted(int(n[4:-6]) for n in os.listdir(str(snap / 'nan')) if n.endswith('.index'))
    assert last.endswith('nan-{}'.format(saved[-1]))


def error_line(result):
    assert 'Traceback' not in result.stderr, result.stderr
    lines = [l for l in result.stderr.splitlines() if l.startswith('Error')]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize('tool, args, status, message', [
    ('train', ['mnsit', 'train', 'lenet', 'x'], 1, "unknown dataset 'mnsit'"),
    ('train', ['mnist', 'val', 'lenet', 'x'], 1, "unknown split 'val' of dataset mnist"),
    ('train', ['mnist', 'train', 'resnet', 'x'], 1, "unknown model 'resnet'"),
    ('train', ['mnist', 'train', 'lenet', 'x', '--iterations', 0], 2,
     "Invalid value for '--iterations'"),
    ('train', ['mnist', 'train', 'lenet', 'x', '--batch_size', -4], 2,
     "Invalid value for '--batch_size'"),
    ('train', ['mnist', 'train', 'lenet', 'x', '--weights', 'nowhere/x-5'], 1,
     'weights nowhere/x-5 not found'),
    ('train_adda', ['svhn', 'mnist:train', 'lenet', 'x', '--weights', 'w'], 1,
     "unexpected source dataset 'svhn' (should be in format dataset:split"),
    ('train_adda', ['svhn:train', 'mnist', 'lenet', 'x', '--weights', 'w'], 1,
     "unexpected target dataset 'mnist'"),
    ('train_adda', ['svhn:train', 'mnist:train', 'lenet', 'x'], 2, "Missing option '--weights'"),
    ('train_adda', ['svhn:train', 'mnist:train', 'lenet', 'x', '--weights', 'nowhere'], 1,
     'weights nowhere not found'),
    ('eval_classification', ['usps', 'test', 'lenet', 'nowhere'], 1, 'weights nowhere not found'),
    ('eval_classification', ['usps', 'test', 'lenet', '.', '--batch_size', 0], 2,
     "Invalid value for '--batch_size'"),
])
def test_bad_arguments_give_one_error_line(data_root, tool, args, status, message):
    result = run_tool(tool, *args)
    assert result.returncode == status
    assert message in error_line(result)


def test_corrupt_and_missing_data_files(data_root, tmp_path):
    path = str(data_root / 'mnist' / 't10k-labels-idx1-ubyte.gz')
    with open(path, 'wb') as f:
        f.write(b'\x1f\x8b\x08\x00garbage')
    snap = tmp_path / 'snap'
    ok(run_tool('train', 'usps', 'train', 'lenet', 'u', '--iterations', 1, '--snapshot_dir', snap))
    result = run_tool('eval_classification', 'mnist', 'test', 'lenet', snap / 'u')
    assert result.returncode == 1
    assert error_line(result).startswith(
        'Error: {}: cannot read the file, it is truncated or corrupt'.format(path))
    os.remove(str(data_root / 'usps' / 'zip.test.gz'))
    offline = {'http_proxy': 'http://127.0.0.1:9', 'https_proxy': 'http://127.0.0.1:9'}
    result = run_tool('eval_classification', 'usps', 'test', 'lenet', snap / 'u', env=offline)
    assert result.returncode == 1
    line = error_line(result)
    assert 'zip.test.gz is missing from {}'.format(data_root / 'usps') in line
    assert 'https://hastie.su.domains/ElemStatLearn/datasets/zip.test.gz' in line


def logged_losses(stdout):
    """[[iteration, loss, average, ...], ...] from the 'Iteration N: ...' log lines."""
    return [[float(x) for x in re.findall(r'-?\d+\.?\d*', line.split('Iteration', 1)[1])]
            for line in stdout.splitlines() if 'Iteration' in line]


def test_steps_per_run_gives_the_same_losses_and_snapshot(data_root, tmp_path):
    snap = tmp_path / 'snap'
    ok(run_tool('train', 'mnist', 'train', 'lenet', 'src', '--iterations', 10,
                '--snapshot_dir', snap, *TRAIN))
    runs = {}
    for k in (1, 7):
        result = ok(run_tool('train_adda', 'mnist:train', 'usps:train', 'lenet', 'k{}'.format(k),
                             '--weights', snap / 'src', '--iterations', 20,
                             '--display', 3, '--steps_per_run', k, '--snapshot_dir', snap,
                             '--adversary', 16, *TRAIN))
        runs[k] = (logged_losses(result.stdout),
                   checkpoint_values(str(snap / 'k{}'.format(k) / 'k{}-20'.format(k))))
    (losses1, values1), (losses7, values7) = runs[1], runs[7]
    assert len(losses1) == len(losses7) == 7  # iterations 0, 3, ..., 18
    assert [row[0] for row in losses7] == [0, 3, 6, 9, 12, 15, 18]
    np.testing.assert_allclose(np.array(losses1), np.array(losses7), atol=2e-4)
    for key in LENET_KEYS:
        np.testing.assert_allclose(values1[key], values7[key], rtol=1e-4, atol=1e-5)



TOOLS = ('train', 'train_adda', 'eval_classification', 'select_snapshot', 'snapshot_curve',
         'export_graph', 'report', 'benchmark', 'embed')


@pytest.mark.parametrize('tool', TOOLS)
def test_every_option_is_described_in_a_section(tool):
    """--help: every option has a description; defaults are shown one way ([default: ...])."""
    import importlib
    import click
    command = importlib.import_module('adda.tools.' + tool).main
    ctx = click.Context(command)
    for param in command.get_params(ctx):
        if isinstance(param, click.Option) and param.name != 'help':
            assert param.help and len(param.help) > 10, (tool, param.name)
            default = param.get_default(ctx)
            unset = default is None or type(default).__name__ == 'Sentinel'  # click >= 8.2
            if not unset and default not in (False, ()) and not param.is_flag:
                record = param.get_help_record(ctx)[1]
                assert '[default: ' in record, (tool, param.name, record)
    text = run_tool(tool, '--help').stdout
    assert ' options:\n' in text or 'Options:\n' in text


def test_choices_are_checked_with_one_message(data_root, tmp_path):
    refused = run_tool('train', 'usps', 'train', 'lenet', 'x', '--solver', 'rmsprop',
                       '--snapshot_dir', tmp_path)
    assert refused.returncode == 2
    assert "Invalid value for '--solver': 'rmsprop' is not one of 'sgd', 'adam'" in \
        refused.stderr.replace('\n', ' ')
    assert not (tmp_path / 'x').exists()
    refused = run_tool('train_adda', 'usps:train', 'mnist:train', 'lenet', 'x', '--weights', 'w',
                       '--adversary_layer', 'fc5')
    assert refused.returncode == 2 and "'--adversary_layer'" in refused.stderr
    upper = run_tool('train', 'usps', 'train', 'lenet', 'x', '--solver', 'ADAM', '--iterations',
                     2, '--snapshot_dir', tmp_path, '--batch_size', 8)
    assert upper.returncode == 0, upper.stderr[-2000:]
    import yaml
    assert yaml.safe_load((tmp_path / 'x' / 'config.yaml').read_text())['options'][
        'solver'] == 'adam'


@pytest.mark.parametrize('code, status, stderr', [(None, 0, ''), (3, 3, ''),
                                                  ('Error: bad', 1, 'Error: bad\n')])
def test_a_tool_process_ends_with_its_status_output_and_exit_handlers(tmp_path, code, status,
                                                                      stderr):
    """exit_now (how a tool's process ends, skipping TensorFlow's teardown): the status
    sys.exit would give, the output not yet flushed written, the exit handlers run (they
    remove run locks); with a thread of ours still running, it is waited for."""
    marker = tmp_path / 'handler-ran'
    script = '\n'.join([
        'import atexit, sys, threading, time',
        'from adda.cli import exit_now',
        'atexit.register(lambda: open({!r}, "w").close())'.format(str(marker)),
        'worker = threading.Thread(target=lambda: (time.sleep(0.5), print("thread done")))',
        'worker.start()' if code == 3 else '',
        'sys.stdout.write("unflushed")',
        'exit_now({!r})'.format(code)])
    result = subprocess.run([sys.executable, '-c', script], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, universal_newlines=True)
    assert result.returncode == status
    assert result.stdout.startswith('unflushed')
    assert ('thread done' in result.stdout) == (code == 3)
    assert result.stderr == stderr
    assert marker.exists()
