"""ModelZoo's regression harness, test/train_full_1p.sh and test/train_performance_1p.sh: their
options and errors, and short real runs on the CPU (and on the stand-in NPU) whose result
lines, ${CaseName}.log and loss file are checked against the runs' own records and logs."""
import datetime
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from conftest import ROOT, snapshot_accuracy, write_mnist, write_usps
from helpers_ascend import npu_optimizer, recorded_configs, with_pythonpath, write_npu_bridge

# Runtime-independent: one pass of .ci/run runs it (conftest.belongs_here).
pytestmark = pytest.mark.once

FULL = os.path.join(ROOT, 'test', 'train_full_1p.sh')
PERF = os.path.join(ROOT, 'test', 'train_performance_1p.sh')
NETWORK = 'ADDA_ID1026_for_TensorFlow'
KEYS = ['Network', 'RankSize', 'BatchSize', 'DeviceType', 'CaseName', 'ActualFPS',
        'TrainingTime', 'TrainAccuracy', 'ActualLoss', 'E2ETrainingTime']
PERF_KEYS = [k for k in KEYS if k != 'TrainAccuracy']
MISSING_DATA_PATH = '[Error] para "data_path" must be config'
LOG_LINE = re.compile(r'^\[(\S+ \S+)\] +\w+ +Iteration (\d+): +(?:Mapping: +)?(\S+)')


def clean_env(**extra):
    """The environment without the settings the scripts read, plus ``extra``."""
    env = {k: v for k, v in os.environ.items()
           if k not in ('ADDA_DEVICE', 'ADDA_PRECISION', 'SOURCE_ITERATIONS', 'ADAPT_ITERATIONS',
                        'SEED', 'PYTHON', 'PREFIX', 'TRAIN_ARGS', 'DEVICE', 'PRECISION',
                        'SNAPSHOT_DIR', 'RESULTS_DIR', 'ASCEND_DEVICE_ID', 'DESCRIBE_RUN',
                        'FAKE_NPU_FORM', 'FAKE_NPU_RECORD')}
    env.update(PYTHONIOENCODING='utf-8', **extra)
    return env


def harness(script, *args, env, cwd=None, timeout=900):
    return subprocess.run(['bash', script] + list(args), env=env, cwd=cwd,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, encoding='utf-8',
                          timeout=timeout)


def key_values(path):
    """The 'key = value' lines of a ${CaseName}.log, in order."""
    pairs = []
    for line in path.read_text().splitlines():
        key, sep, value = line.partition(' = ')
        assert sep, 'not a key = value line: {!r}'.format(line)
        pairs.append((key, value))
    return pairs


def final_lines(stdout):
    """{'Final Performance images/sec': value, ...}: the ' : ' lines of the final block."""
    block = stdout.split('------------------ Final result ------------------\n', 1)[1]
    return dict(line.split(' : ', 1) for line in block.splitlines() if ' : ' in line)


def logged(run_dir):
    """[(iteration, time, loss text)] of a training run's train.log."""
    points = []
    for line in (run_dir / 'train.log').read_text().splitlines():
        match = LOG_LINE.match(line)
        if match:
            when = datetime.datetime.strptime(match.group(1), '%Y-%m-%d %H:%M:%S,%f')
            points.append((int(match.group(2)), when, match.group(3)))
    return points


def expected_fps(run_dirs, warmup, batch):
    """Images per second over the loss lines at iteration >= warmup of each run."""
    steps = seconds = 0
    for run_dir in run_dirs:
        timed = [p for p in logged(run_dir) if p[0] >= warmup]
        assert len(timed) >= 2
        steps += timed[-1][0] - timed[0][0]
        seconds += (timed[-1][1] - timed[0][1]).total_seconds()
    return steps * batch / seconds


def check_results(result, out, mode, batch, run_dirs, warmup, images_trained):
    """Exit status, console lines, ${CaseName}.log and the loss file of a finished run;
    returns the key = value pairs."""
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    case_name = '{}_bs{}_1p_{}'.format(NETWORK, batch, mode)
    pairs = key_values(out / (case_name + '.log'))
    assert [k for k, _ in pairs] == (KEYS if mode == 'acc' else PERF_KEYS)
    values = dict(pairs)
    assert values['Network'] == NETWORK
    assert values['RankSize'] == '1'
    assert values['BatchSize'] == str(batch)
    assert values['DeviceType'] == platform.machine()
    assert values['CaseName'] == case_name
    fps, step_ms = float(values['ActualFPS']), float(values['TrainingTime'])
    assert re.match(r'^\d+\.\d\d$', values['ActualFPS'])
    # milliseconds per step, the convention's BatchSize * 1000 / FPS (both rounded)
    assert step_ms == pytest.approx(batch * 1000.0 / fps, rel=2e-3, abs=0.011)
    # the project's timing: the training logs' steps after the warm-up, not the wall time
    assert fps == pytest.approx(expected_fps(run_dirs, warmup, batch), rel=1e-3)
    e2e = int(values['E2ETrainingTime'])
    assert 0 < e2e < 900
    assert fps > 3 * images_trained / e2e  # start-up is not counted
    # every logged loss, source training's then the adaptation's mapping loss
    losses = (out / 'train_{}_loss.txt'.format(case_name)).read_text().splitlines()
    assert losses == [p[2] for d in run_dirs for p in logged(d)]
    assert all(math.isfinite(float(x)) and float(x) >= 0 for x in losses)  # cross-entropies
    assert values['ActualLoss'] == losses[-1]

    lines = final_lines(result.stdout)
    assert lines['Final Performance images/sec'] == values['ActualFPS']
    assert lines['E2E Training Duration sec'] == values['E2ETrainingTime']
    if mode == 'acc':
        assert lines['Final Train Accuracy'] == values['TrainAccuracy']
    else:
        assert 'Final Train Accuracy' not in lines
    assert list(lines) == ['Final Performance images/sec'] + (
        ['Final Train Accuracy'] if mode == 'acc' else []) + ['E2E Training Duration sec']
    assert result.stderr == ''
    return values


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    """MNIST and USPS stand-ins large enough for the mnist2000 and usps1800 subsets."""
    root = tmp_path_factory.mktemp('harness') / 'data'
    write_mnist(str(root / 'mnist'), counts=(2000, 100))
    write_usps(str(root / 'usps'), counts=(1800, 100))
    return root


@pytest.fixture(scope='module')
def runs(data, tmp_path_factory):
    """The full script, then the performance script, on the CPU, into one output folder
    (ASCEND_DEVICE_ID 3); each run's train_3.log as it was right after it."""
    output = tmp_path_factory.mktemp('output')
    elsewhere = tmp_path_factory.mktemp('cwd')
    stale = output / '3' / 'acc' / 'results' / 'old'
    stale.mkdir(parents=True)
    env = clean_env(ADDA_HARNESS_OUTPUT=str(output), PYTHON=sys.executable, ASCEND_DEVICE_ID='3')
    full = harness(FULL, '--data_path={}'.format(data), env=dict(
        env, ADDA_DEVICE='cpu', SOURCE_ITERATIONS='40', ADAPT_ITERATIONS='30'), cwd=str(elsewhere))
    full_log = (output / '3' / 'train_3.log').read_text() if full.returncode == 0 else ''
    perf = harness(PERF, '--data_path={}'.format(data), '--device=cpu', '--batch_size=32',
                   '--train_steps=30', '--warmup_steps=10', env=env, cwd=str(elsewhere))
    return {'output': output / '3', 'full': full, 'full_log': full_log, 'perf': perf,
            'stale': stale}


def test_full_run_reports_the_task_scripts_accuracy_and_speed(runs, data):
    out, result = runs['output'], runs['full']
    run = 'mnist-usps-seed0-it40+30'  # the task script's name for these iteration counts
    snapshots = out / 'acc' / 'snapshot'
    run_dirs = [snapshots / (run + '_source'), snapshots / (run + '_adda')]
    # warm-up: a fifth of the shorter training (30 // 5 = 6) in a run this short
    values = check_results(result, out, 'acc', 128, run_dirs, 6, (40 + 30) * 128)
    records = out / 'acc' / 'results' / run
    assert yaml.safe_load((records / 'run.yaml').read_text())['task'] == 'mnist-usps'
    accuracy = yaml.safe_load((records / 'adda_train.yaml').read_text())['accuracy']
    assert float(values['TrainAccuracy']) == accuracy
    # the adapted snapshot's accuracy on the target train split, by a graph of its own
    assert accuracy == snapshot_accuracy(run_dirs[1], 'usps1800', 'train', data)
    assert yaml.safe_load((records / 'adda_train.yaml').read_text())['images'] == 1800
    for run_dir, iterations in zip(run_dirs, (40, 30)):
        config = yaml.safe_load((run_dir / 'config.yaml').read_text())
        assert config['options']['iterations'] == iterations
        assert config['options']['batch_size'] == 128 and config['device'] == 'cpu'
    assert not runs['stale'].exists()  # the work folder is made afresh
    # the whole run's log: the task script's output
    log = runs['full_log']
    assert 'Running on CPU' in log and 'Iteration 30:' in log
    assert 'ADDA:' in log and 'Final Train Accuracy : ' in log
    assert 'Accuracy on mnist-usps\'s target, train / test split:' in result.stdout
    # the performance run that followed left this run's results alone
    assert (out / '{}_bs128_1p_acc.log'.format(NETWORK)).is_file()


def test_a_full_protocol_task_reports_the_target_test_split(data, tmp_path):
    """--task=usps-mnist-full: the field's protocol reports the target's test split first, and
    the harness's accuracy is the adapted model's on it."""
    out = tmp_path / 'output'
    env = clean_env(ADDA_HARNESS_OUTPUT=str(out), PYTHON=sys.executable, ADDA_DEVICE='cpu',
                    SOURCE_ITERATIONS='30', ADAPT_ITERATIONS='30')
    result = harness(FULL, '--data_path={}'.format(data), '--task=usps-mnist-full',
                     '--batch_size=32', env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Accuracy on usps-mnist-full's target, test / train split:" in result.stdout
    records = out / '0' / 'acc' / 'results' / 'usps-mnist-full-seed0-it30+30'
    tested = yaml.safe_load((records / 'adda_test.yaml').read_text())
    assert (tested['dataset'], tested['split'], tested['images']) == ('mnist', 'test', 100)
    assert final_lines(result.stdout)['Final Train Accuracy'] == \
        '{}'.format(tested['accuracy'])


def test_performance_run_times_short_trainings_of_the_task(runs):
    out, result = runs['output'], runs['perf']
    run = 'mnist-usps-seed0-it40+40'  # 10 warm-up + 30 timed iterations
    snapshots = out / 'perf' / 'snapshot'
    run_dirs = [snapshots / (run + '_source'), snapshots / (run + '_adda')]
    check_results(result, out, 'perf', 32, run_dirs, 10, 2 * 40 * 32)
    source, adapt = (yaml.safe_load((d / 'config.yaml').read_text()) for d in run_dirs)
    # the task's own settings (scripts/mnist-usps.sh), with the harness's steps and batch
    assert source['options']['iterations'] == adapt['options']['iterations'] == 40
    assert source['options']['batch_size'] == adapt['options']['batch_size'] == 32
    assert (source['options']['lr'], adapt['options']['lr']) == (1e-3, 2e-4)
    assert adapt['options']['adversary_layer'] == 'fc3'
    assert source['device'] == adapt['device'] == 'cpu'
    assert not (out / 'perf' / 'results').exists()  # nothing is evaluated
    log = (out / 'train_3.log').read_text()
    assert 'mnist2000 -> usps1800' in log and 'Mapping:' in log
    assert 'Final Performance images/sec : ' in log
    # images/s of each training, for people
    assert re.search(r'_source: [\d.]+ images/s', result.stdout)
    assert re.search(r'_adda: [\d.]+ images/s', result.stdout)


def test_modelzoo_debugging_flags_reach_the_adapter(data, tmp_path):
    """--profiling=True and --data_dump_flag=True on the stand-in NPU: both trainings' sessions
    carry the adapter's profiling and dump settings, and the compile cache under the output."""
    record = tmp_path / 'record'
    record.mkdir()
    env = with_pythonpath(clean_env(ADDA_HARNESS_OUTPUT=str(tmp_path / 'output'),
                                    PYTHON=sys.executable, FAKE_NPU_RECORD=str(record)),
                          write_npu_bridge(str(tmp_path / 'standins')))
    result = harness(PERF, '--data_path={}'.format(data), '--batch_size=16', '--train_steps=20',
                     '--warmup_steps=10', '--device=npu', '--profiling=True',
                     '--data_dump_flag=True', '--data_dump_step=0|5', env=env)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    out = tmp_path / 'output' / '0'
    configs = recorded_configs(record)
    assert len(configs) == 2  # source training, adaptation
    for config in configs:
        found = npu_optimizer(config).parameter_map
        assert found['profiling_mode'].b and found['enable_dump'].b
        assert found['dump_step'].s == b'0|5'
        assert found['dump_path'].s.decode() == str(out / 'data_dump')
        assert json.loads(found['profiling_options'].s)['output'] == str(out / 'profiling')
        assert found['op_compiler_cache_dir'].s.decode() == str(out / 'op_cache')
    assert 'Operator compile cache: on' in (out / 'train_0.log').read_text()


def test_performance_run_on_the_device_auto_picks(data, tmp_path):
    """With npu_bridge importable (the stand-in), --device auto trains on the NPU: a loss line
    per device loop (Iteration 9, 19, ...) with the loss scale, timed the same way."""
    env = with_pythonpath(clean_env(ADDA_HARNESS_OUTPUT=str(tmp_path / 'output'),
                                    PYTHON=sys.executable, FAKE_NPU_FORM='r1.10'),
                          write_npu_bridge(str(tmp_path / 'standins')))
    result = harness(PERF, '--data_path={}'.format(data), '--batch_size=16', '--train_steps=20',
                     '--warmup_steps=10', '--task=usps-mnist', env=env)
    out = tmp_path / 'output' / '0'
    snapshots = out / 'perf' / 'snapshot'
    run_dirs = [snapshots / 'usps-mnist-seed0-it30+30_source',
                snapshots / 'usps-mnist-seed0-it30+30_adda']
    check_results(result, out, 'perf', 16, run_dirs, 10, 2 * 30 * 16)
    assert 'Running on Ascend NPU (precision_mode allow_mix_precision)' in result.stdout
    assert [p[0] for p in logged(run_dirs[1])] == [9, 19, 29]
    assert 'loss scale:' in (run_dirs[1] / 'train.log').read_text()
    assert yaml.safe_load((run_dirs[0] / 'config.yaml').read_text())['device'] == 'npu'


@pytest.mark.parametrize('script', [FULL, PERF])
def test_missing_data_path(script, tmp_path):
    env = clean_env(ADDA_HARNESS_OUTPUT=str(tmp_path / 'output'))
    for args in ([], ['--data_path='], ['--batch_size=64']):
        result = harness(script, *args, env=env)
        assert result.returncode == 1
        assert result.stderr == MISSING_DATA_PATH + '\n'
        assert result.stdout == ''
    assert not (tmp_path / 'output').exists()


@pytest.mark.parametrize('script', [FULL, PERF])
def test_help(script, tmp_path):
    env = clean_env(ADDA_HARNESS_OUTPUT=str(tmp_path / 'output'))
    for flag in ('-h', '--help'):
        result = harness(script, flag, env=env)
        assert result.returncode == 0 and result.stderr == ''
        text = result.stdout
        assert text.startswith('Usage: bash test/{} --data_path=<folder>'.format(
            os.path.basename(script)))
        for option in ('--data_path=', '--batch_size=', '--train_steps=', '--task=', '-h, --help',
                       'test/output/<ASCEND_DEVICE_ID>/', 'train_<ASCEND_DEVICE_ID>.log',
                       'train_<CaseName>_loss.txt', 'mnist-usps usps-mnist svhn-mnist'):
            assert option in text, option
        mode = 'acc' if script == FULL else 'perf'
        assert '{}_bs<BatchSize>_1p_{}'.format(NETWORK, mode) in text
        assert ('TrainAccuracy' in text) == (mode == 'acc')
    assert not (tmp_path / 'output').exists()


@pytest.mark.parametrize('script', [FULL, PERF])
@pytest.mark.parametrize('args, env_extra, message', [
    (['--batch_size=0'], {}, '--batch_size=0 is not a whole number of at least 1'),
    (['--train_steps=ten'], {}, '--train_steps=ten is not a whole number of at least 1'),
    (['--task=mnist-usps;touch x'], {}, "unknown task 'mnist-usps;touch x'"),
    (['--task=common'], {}, "unknown task 'common'"),
    (['--device=tpu'], {}, "unknown device 'tpu'"),
    (['--frobnicate=1'], {}, 'unknown option --frobnicate'),
    (['mnist-usps'], {}, 'unknown argument mnist-usps'),
    (['--task'], {}, '--task needs a value'),
    ([], {'ASCEND_DEVICE_ID': '../x'}, 'ASCEND_DEVICE_ID=../x is not a device number'),
    ([], {'SEED': '-1'}, 'SEED=-1 is not a whole number'),
])
def test_bad_input_is_one_error_line(script, args, env_extra, message, data, tmp_path):
    env = clean_env(ADDA_HARNESS_OUTPUT=str(tmp_path / 'output'), **env_extra)
    result = harness(script, '--data_path={}'.format(data), *args, env=env, cwd=str(tmp_path))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith('[Error] ') and message in lines[0], lines
    assert not (tmp_path / 'output').exists() and not (tmp_path / 'x').exists()


@pytest.mark.parametrize('script', [FULL, PERF])
def test_bad_data_path_and_options_of_the_other_script(script, tmp_path):
    env = clean_env(ADDA_HARNESS_OUTPUT=str(tmp_path / 'output'))
    result = harness(script, '--data_path={}'.format(tmp_path / 'nowhere'), env=env)
    assert result.returncode == 1
    assert result.stderr == '[Error] data_path {} is not a folder\n'.format(tmp_path / 'nowhere')
    if script == FULL:
        result = harness(script, '--data_path={}'.format(tmp_path), '--warmup_steps=5', env=env)
        assert result.returncode == 1
        assert result.stderr == ('[Error] --warmup_steps is an option of '
                                 'train_performance_1p.sh only\n')
    # ModelZoo's debugging options are taken (tests/test_npu_switches.py); --autotune is
    # ignored with a note, a value other than True or False is refused (and the bad batch
    # size stops the script before anything runs)
    result = harness(script, '--data_path={}'.format(tmp_path), '--profiling=True',
                     '--over_dump=False', '--autotune=True', '--batch_size=0', env=env)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        'Note: --autotune is not supported by this network (its operators are tuned already); '
        'ignored', '[Error] --batch_size=0 is not a whole number of at least 1']
    result = harness(script, '--data_path={}'.format(tmp_path), '--profiling=yes', env=env)
    assert result.returncode == 1
    assert result.stderr == '[Error] --profiling=yes: use True or False\n'
    assert not (tmp_path / 'output').exists()


@pytest.mark.parametrize('script', [FULL, PERF])
def test_failed_training_fails_and_leaves_no_result(script, data, tmp_path):
    """A training that fails ends the script with status 1 and one [Error] line after the
    log's last lines; results of an earlier run of the script are gone, not left to mislead."""
    out = tmp_path / 'output' / '0'
    mode = 'acc' if script == FULL else 'perf'
    out.mkdir(parents=True)
    stale = out / '{}_bs128_1p_{}.log'.format(NETWORK, mode)
    stale.write_text('ActualFPS = 1\n')
    other = out / '{}_bs128_1p_{}.log'.format(NETWORK, 'perf' if mode == 'acc' else 'acc')
    other.write_text('ActualFPS = 2\n')
    env = clean_env(ADDA_HARNESS_OUTPUT=str(tmp_path / 'output'), PYTHON='/bin/false',
                    ADDA_DEVICE='cpu', SOURCE_ITERATIONS='20', ADAPT_ITERATIONS='20')
    result = harness(script, '--data_path={}'.format(data), env=env)
    assert result.returncode == 1
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith('[Error] ') and 'failed with status 1' in error
    assert str(out / 'train_0.log') in error
    assert '------------------ Final result' not in result.stdout
    assert not stale.exists()
    assert other.read_text() == 'ActualFPS = 2\n'  # the other script's result stays


def test_full_run_checks_its_iteration_counts(data, tmp_path):
    env = clean_env(ADDA_HARNESS_OUTPUT=str(tmp_path / 'output'), SOURCE_ITERATIONS='1e4')
    result = harness(FULL, '--data_path={}'.format(data), env=env)
    assert result.returncode == 1
    assert result.stderr == '[Error] SOURCE_ITERATIONS=1e4 is not a whole number of at least 1\n'
    assert not (tmp_path / 'output').exists()


# --- test/harness_metrics.py on logs written here ---------------------------------------------

def write_run(folder, batch_size, lines):
    folder.mkdir(parents=True)
    (folder / 'config.yaml').write_text(yaml.safe_dump({'options': {'batch_size': batch_size}}))
    (folder / 'train.log').write_text(''.join(line + '\n' for line in lines))
    return folder


def metrics(*args):
    return subprocess.run([sys.executable, os.path.join(ROOT, 'test', 'harness_metrics.py')] +
                          [str(a) for a in args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          encoding='utf-8')


def test_metrics_time_the_steps_after_the_warm_up(tmp_path):
    source = write_run(tmp_path / 'run_source', 64, [
        '[2024-01-31 23:59:58,000] INFO     Training with 10 steps per session call',
        '[2024-01-31 23:59:59,000] INFO     Iteration 0:             2.3000     (avg:     2.3000)',
        '[2024-01-31 23:59:59,500] INFO     Iteration 10:            1.5000     (avg:     1.9000)',
        '[2024-02-01 00:00:00,500] INFO     Iteration 20:            0.5000     (avg:     1.4000)',
        '[2024-02-01 00:00:01,500] INFO     Iteration 30:            0.2500     (avg:     1.0000)',
        '[2024-02-01 00:00:09,000] INFO     Saved snapshot to x-40'])
    # the NPU's lines: one per device loop, with the loss scale
    adapt = write_run(tmp_path / 'run_adda', 64, [
        '[2024-02-01 00:01:00,000] INFO     Iteration 9:         Mapping:     0.7000     (avg:'
        '     0.7000)    Adversary:     0.6500     (avg:     0.6500)    loss scale: 32768    '
        'skipped steps: 0',
        '[2024-02-01 00:01:02,000] INFO     Iteration 19:        Mapping:     0.9000     (avg:'
        '     0.8000)    Adversary:     0.6000     (avg:     0.6250)    loss scale: 32768    '
        'skipped steps: 0',
        '[2024-02-01 00:01:04,000] INFO     Iteration 29:        Mapping:     nan     (avg:'
        '     0.8000)    Adversary:     nan     (avg:     0.6250)    loss scale: 16384    '
        'skipped steps: 1'])
    losses = tmp_path / 'losses.txt'
    result = metrics('--warmup', 10, '--loss_file', losses, source, adapt)
    assert result.returncode == 0, result.stderr
    values = dict(line.split('=', 1) for line in result.stdout.splitlines()
                  if not line.startswith('phase='))
    # source: iterations 10 -> 30 in 2.0 s (across midnight); adaptation: 19 -> 29 in 2.0 s
    assert values == {'batch_size': '64', 'fps': '{:.2f}'.format(30 * 64 / 4.0),
                      'step_ms': '{:.2f}'.format(4000.0 / 30), 'loss': 'nan'}
    phases = [line for line in result.stdout.splitlines() if line.startswith('phase=')]
    assert phases == ['phase=run_source: 640.00 images/s, 100.00 ms per step (20 steps timed '
                      'from iteration 10, batch 64)',
                      'phase=run_adda: 320.00 images/s, 200.00 ms per step (10 steps timed '
                      'from iteration 19, batch 64)']
    assert losses.read_text().split() == ['2.3000', '1.5000', '0.5000', '0.2500', '0.7000',
                                          '0.9000', 'nan']

    # too short to time after the warm-up; runs of different batch sizes; no log
    result = metrics('--warmup', 20, source, adapt)
    assert result.returncode == 1 and result.stdout == ''
    assert result.stderr.startswith('Error: {}: fewer than two loss lines at iteration 20 '
                                    'or later'.format(adapt))
    other = write_run(tmp_path / 'other', 32, ['[2024-02-01 00:00:00,000] INFO     Iteration 0:'
                                               '   1.0', '[2024-02-01 00:00:01,000] INFO     '
                                               'Iteration 10:   0.5'])
    result = metrics('--warmup', 0, source, other)
    assert result.returncode == 1
    assert result.stderr == 'Error: the runs used different batch sizes: [32, 64]\n'
    result = metrics('--warmup', 0, tmp_path / 'missing')
    assert result.returncode == 1
    assert result.stderr.startswith('Error: cannot read the batch size from ')


TESTCASE = os.path.join(ROOT, 'test', 'train_testcase.sh')


def test_the_self_test_passes_on_a_good_run_and_fails_on_a_broken_one(data, tmp_path):
    env = clean_env(ADDA_HARNESS_OUTPUT=str(tmp_path / 'output'), PYTHON=sys.executable)
    result = harness(TESTCASE, '--data_path={}'.format(data), '--device=cpu', env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[-1] == 'Run testcase success!'
    assert lines[-2].startswith('Testcase checks: the run ends well, speed ')
    assert 'the loss falls (first five ' in lines[-2]
    # a broken run: the target's files are missing (and no download on this route)
    broken = tmp_path / 'broken'
    shutil.copytree(str(data / 'mnist'), str(broken / 'mnist'))
    (broken / 'usps').mkdir()
    result = harness(TESTCASE, '--data_path={}'.format(broken), '--device=cpu', env=env)
    assert result.returncode == 1
    assert result.stdout.splitlines()[-2:] == [
        'Testcase check failed: train_performance_1p.sh exited with status 1',
        'Run testcase failed!']
