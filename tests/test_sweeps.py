"""Sweeps of several runs at once: scripts/reproduce.sh and npu_train.sh with JOBS and DEVICES
(pinning, per-run logs, failures, the run lock), mostly with a stand-in interpreter that
records each tool call; one test runs the real tools."""
import fcntl
import filecmp
import glob
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time

import pytest
import yaml

from conftest import ROOT, describe_run, write_mnist, write_usps

# Runtime-independent: one pass of .ci/run runs it (conftest.belongs_here).
pytestmark = pytest.mark.once

REPRODUCE = os.path.join(ROOT, 'scripts', 'reproduce.sh')
NPU_TRAIN = os.path.join(ROOT, 'npu_train.sh')
RECORDS = ('source_only_train', 'source_only_test', 'adda_train', 'adda_test')

# Stands in for the tools' interpreter: the training and evaluation tools are faked (a call is
# recorded with its pinning, then writes what the tool would); everything else (the data check,
# the report, device and core queries) goes to the real interpreter.
FAKE_PYTHON = '''\
#!{python}
import json
import os
import sys
import time

argv = sys.argv[1:]
tool = os.path.basename(argv[0]) if argv else ''
if tool not in ('train.py', 'train_adda.py', 'eval_classification.py', 'predict.py',
                'estimate.py'):
    os.execv({python!r}, [{python!r}] + argv)


def option(name):
    return argv[argv.index(name) + 1] if name in argv else None


env = os.environ
record = {{'tool': tool, 'argv': argv, 'cores': sorted(os.sched_getaffinity(0)),
          'pin': {{k: env.get(k) for k in ('ASCEND_DEVICE_ID', 'DEVICE_ID',
                                            'CUDA_VISIBLE_DEVICES', 'OMP_NUM_THREADS')}}}}
with open(env['FAKE_LOG'], 'a') as f:
    f.write(json.dumps(record) + '\\n')
print('fake {{}} {{}}'.format(tool, ' '.join(argv[1:5])))
if env.get('FAKE_FAIL') and env['FAKE_FAIL'] in argv:
    print('Error: fake failure of {{}}'.format(env['FAKE_FAIL']), file=sys.stderr)
    sys.exit(1)
barrier = env.get('FAKE_BARRIER')
if barrier and tool == 'train.py':
    # Each source training waits here until FAKE_BARRIER_N of them have arrived: the test
    # passes only when that many runs were under way at once.
    open(os.path.join(barrier, str(os.getpid())), 'w').close()
    waited = 0
    while len(os.listdir(barrier)) < int(env['FAKE_BARRIER_N']):
        time.sleep(0.1)
        waited += 0.1
        if waited > 120:
            print('Error: fake barrier: no other run started alongside', file=sys.stderr)
            sys.exit(3)
try:
    time.sleep(float(env.get('FAKE_SLEEP', '0')))
except KeyboardInterrupt:  # as the tools do on Ctrl-C
    sys.exit(130)
if tool == 'eval_classification.py':
    with open(option('--output'), 'w') as f:
        f.write('dataset: {{}}\\nsplit: {{}}\\naccuracy: 0.5\\n'.format(argv[1], argv[2]))
elif tool == 'predict.py':
    with open(option('--output'), 'w') as f:
        f.write('index,class,probability\\n')
elif tool == 'estimate.py':
    pass
else:
    folder = os.path.join(option('--snapshot_dir'), argv[4])
    if not os.path.isdir(folder):
        os.makedirs(folder)
    open(os.path.join(folder, argv[4] + '-2.index'), 'w').close()
'''

SWEEP_VARIABLES = ('JOBS', 'DEVICES', 'DEVICE', 'PRECISION', 'SEEDS', 'SEED', 'PREFIX',
                   'RESULTS_DIR', 'SNAPSHOT_DIR', 'LOG_DIR', 'PIN_DEVICE', 'RUN_LOCK',
                   'SKIP_FINISHED', 'TRAIN_ARGS', 'SOURCE_ITERATIONS', 'ADAPT_ITERATIONS',
                   'ADDA_DEVICE', 'ADDA_PRECISION', 'ADDA_TASKS', 'ASCEND_DEVICE_ID',
                   'DEVICE_ID', 'CUDA_VISIBLE_DEVICES', 'OMP_NUM_THREADS', 'PYTHON')


@pytest.fixture(scope='module')
def subset_data(tmp_path_factory):
    """MNIST and USPS stand-ins large enough for mnist2000 and usps1800: the tools are faked,
    but each run checks its data before training (adda/pipeline.py check_data)."""
    folder = tmp_path_factory.mktemp('subset_data')
    write_mnist(str(folder / 'mnist'), counts=(2000, 100))
    write_usps(str(folder / 'usps'), counts=(1800, 100))
    return folder


@pytest.fixture
def sweep(tmp_path, data_root, subset_data):
    """(environment, folder) for a sweep with the stand-in interpreter: records in
    folder/results, snapshots in folder/snap, tool calls in folder/calls.jsonl; the data root
    holds MNIST and USPS for the subset tasks."""
    for name in ('mnist', 'usps'):
        shutil.rmtree(str(data_root / name))
        shutil.copytree(str(subset_data / name), str(data_root / name))
    python = tmp_path / 'bin' / 'python'
    python.parent.mkdir()
    python.write_text(FAKE_PYTHON.format(python=sys.executable))
    python.chmod(python.stat().st_mode | stat.S_IXUSR)
    env = {k: v for k, v in os.environ.items() if k not in SWEEP_VARIABLES}
    env.update(PYTHON=str(python), FAKE_LOG=str(tmp_path / 'calls.jsonl'),
               RESULTS_DIR=str(tmp_path / 'results'), SNAPSHOT_DIR=str(tmp_path / 'snap'),
               PYTHONIOENCODING='utf-8')
    return env, tmp_path


def run(command, env, timeout=300):
    return subprocess.run([str(c) for c in command], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, timeout=timeout)


def calls(folder):
    path = folder / 'calls.jsonl'
    if not path.exists():
        return []
    with open(str(path)) as f:
        return [json.loads(line) for line in f]


def run_of(call):
    """The run a tool call belongs to: mnist-usps-seed0 for ..._source, ..._adda, or records."""
    if call['tool'] in ('eval_classification.py', 'predict.py'):
        return os.path.basename(os.path.dirname(call['argv'][call['argv'].index('--output') + 1]))
    return call['argv'][4].rsplit('_', 1)[0]


def calls_by_run(folder):
    runs = {}
    for call in calls(folder):
        runs.setdefault(run_of(call), []).append(call)
    return runs


def one_run_of_tools():
    return ['train.py'] + ['eval_classification.py'] * 2 + ['train_adda.py'] + \
        ['eval_classification.py'] * 2 + ['predict.py'] * 2


def barrier(env, folder, count):
    (folder / 'barrier').mkdir()
    env.update(FAKE_BARRIER=str(folder / 'barrier'), FAKE_BARRIER_N=str(count))


def test_parallel_runs_each_on_its_own_cores(sweep):
    env, folder = sweep
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        pytest.skip('needs 2 cores to pin 2 runs apart; this process may use {}'.format(cores))
    # seed 2 finished earlier: skipped, not run
    done = folder / 'results' / 'mnist-usps-seed2'
    done.mkdir(parents=True)
    (done / 'run.yaml').write_text(describe_run('mnist-usps', 2, dict(env, DEVICE='cpu')))
    for name in RECORDS:
        (done / (name + '.yaml')).write_text('accuracy: 0.5\n')
    for split in ('train', 'test'):
        (done / 'predictions_{}.csv'.format(split)).write_text('index,class,probability\n')
    barrier(env, folder, 2)  # both runs must train at the same time
    env.update(JOBS='2', DEVICE='cpu', SEEDS='0 1 2')
    result = run(['bash', REPRODUCE, 'mnist-usps'], env)
    assert result.returncode == 0, result.stdout
    assert 'mnist-usps-seed2: finished earlier, skipping' in result.stdout
    runs = calls_by_run(folder)
    assert sorted(runs) == ['mnist-usps-seed0', 'mnist-usps-seed1']
    half = len(cores) // 2
    expected_sets = [cores[:half], cores[half:2 * half]]
    used = []
    for name, run_calls in sorted(runs.items()):
        assert [c['tool'] for c in run_calls] == one_run_of_tools()
        # every tool of a run on the same cores, with a matching thread count
        assert len({tuple(c['cores']) for c in run_calls}) == 1, run_calls
        assert all(c['pin']['OMP_NUM_THREADS'] == str(half) for c in run_calls)
        assert all('--device' in c['argv'] and
                   c['argv'][c['argv'].index('--device') + 1] == 'cpu' for c in run_calls)
        used.append(run_calls[0]['cores'])
        log = folder / 'results' / 'logs' / (name + '.log')
        text = log.read_text()
        assert 'fake train.py mnist2000 train lenet {}_source'.format(name) in text
        assert 'Pinned to cpu' in text
        line = '{}: running scripts/mnist-usps.sh on cpu {}, log {}'.format(
            name, ','.join(map(str, run_calls[0]['cores'])), log)
        assert line in result.stdout
        assert '{}: done after'.format(name) in result.stdout
    assert sorted(used) == sorted(expected_sets)
    # the table counts all three runs, printed once both have ended
    assert '| MNIST→USPS | ADDA | 0.894 ± 0.002 | 0.500 ± 0.000 | 0.500 | 0.500 ± 0.000 | 3 |' in \
        result.stdout
    for name in ('mnist-usps-seed0', 'mnist-usps-seed1'):
        for record in RECORDS:
            assert (folder / 'results' / name / (record + '.yaml')).is_file()


def test_parallel_sweep_with_device_auto_finds_its_runs_finished(sweep):
    """With JOBS and DEVICE unset (auto), the runs record the device the sweep resolved
    (cpu here); the sweep's finished check expects the same, so the sweep ends without
    "Not finished" and a second one skips every run (the check once expected "auto")."""
    env, folder = sweep
    env.update(JOBS='2', SEEDS='0 1')
    first = run(['bash', REPRODUCE, 'usps-mnist'], env)
    assert first.returncode == 0, first.stdout
    assert 'Not finished' not in first.stdout
    run_yaml = yaml.safe_load((folder / 'results' / 'usps-mnist-seed0' / 'run.yaml').read_text())
    assert run_yaml['device'] == 'cpu'
    count = len(calls(folder))
    second = run(['bash', REPRODUCE, 'usps-mnist'], env)
    assert second.returncode == 0, second.stdout
    for seed in (0, 1):
        assert 'usps-mnist-seed{}: finished earlier, skipping'.format(seed) in second.stdout
    assert len(calls(folder)) == count


@pytest.mark.parametrize('platform, variables', [
    ('npu', ('ASCEND_DEVICE_ID', 'DEVICE_ID')),
    ('gpu', ('CUDA_VISIBLE_DEVICES',)),
])
def test_parallel_runs_pinned_to_npu_and_gpu_ids(sweep, platform, variables):
    env, folder = sweep
    barrier(env, folder, 2)
    env.update(DEVICE=platform, DEVICES='3 5', SEEDS='0 1')  # JOBS = number of DEVICES
    result = run(['bash', REPRODUCE, 'usps-mnist'], env)
    assert result.returncode == 0, result.stdout
    ids = []
    for name, run_calls in sorted(calls_by_run(folder).items()):
        assert len(run_calls) == len(one_run_of_tools())
        pins = {tuple(c['pin'][v] for v in variables) for c in run_calls}
        assert len(pins) == 1, pins  # one device for the whole run
        pin = pins.pop()
        assert len(set(pin)) == 1  # ASCEND_DEVICE_ID and DEVICE_ID agree
        ids.append(pin[0])
        assert all(c['argv'][c['argv'].index('--device') + 1] == platform for c in run_calls)
    assert sorted(ids) == ['3', '5']


def test_failed_run_does_not_stop_the_others(sweep):
    env, folder = sweep
    env.update(JOBS='2', DEVICE='cpu', SEEDS='0 1', FAKE_FAIL='usps-mnist-seed1_adda')
    result = run(['bash', REPRODUCE, 'usps-mnist'], env)
    assert result.returncode == 1, result.stdout
    assert 'usps-mnist-seed1: FAILED with exit status 1 after' in result.stdout
    assert '    Error: fake failure of usps-mnist-seed1_adda' in result.stdout  # its log's end
    assert 'usps-mnist-seed0: done after' in result.stdout
    assert '| USPS→MNIST | ADDA | 0.901 ± 0.008 | 0.500 (1 run) | 0.500 | 0.500 (1 run) | 1 |' in \
        result.stdout
    assert result.stdout.rstrip().endswith('Not finished: usps-mnist-seed1')
    runs = calls_by_run(folder)
    assert [c['tool'] for c in runs['usps-mnist-seed0']] == one_run_of_tools()
    assert [c['tool'] for c in runs['usps-mnist-seed1']] == one_run_of_tools()[:4]


def test_sequential_sweep_goes_on_after_a_failure(sweep):
    env, folder = sweep
    env.update(SEEDS='0 1', FAKE_FAIL='mnist-usps-seed0_source')
    result = run(['bash', REPRODUCE, 'mnist-usps'], env)
    assert result.returncode == 1, result.stdout
    assert 'mnist-usps-seed0: FAILED with exit status 1' in result.stdout
    assert [c['tool'] for c in calls_by_run(folder)['mnist-usps-seed1']] == one_run_of_tools()
    assert not (folder / 'results' / 'logs').exists()  # sequential output stays on the console
    assert all(c['pin']['OMP_NUM_THREADS'] is None for c in calls(folder))  # nothing pinned


def test_two_sweeps_on_the_same_folders_run_each_run_once(sweep):
    env, folder = sweep
    env.update(JOBS='2', DEVICE='cpu', SEEDS='0 1 2', FAKE_SLEEP='0.5')
    sweeps = [subprocess.Popen(['bash', REPRODUCE, 'mnist-usps', 'usps-mnist'], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               universal_newlines=True) for _ in range(2)]
    outputs = [s.communicate(timeout=600)[0] for s in sweeps]
    for s, output in zip(sweeps, outputs):
        assert s.returncode == 0, output
        # each waited for the other's runs: both tables count all six
        assert '| MNIST→USPS | ADDA | 0.894 ± 0.002 | 0.500 ± 0.000 | 0.500 | 0.500 ± 0.000 | 3 |' in \
            output
        assert '| USPS→MNIST | ADDA | 0.901 ± 0.008 | 0.500 ± 0.000 | 0.500 | 0.500 ± 0.000 | 3 |' in \
            output
    runs = calls_by_run(folder)
    assert sorted(runs) == sorted('{}-seed{}'.format(t, s) for t in ('mnist-usps', 'usps-mnist')
                                  for s in (0, 1, 2))
    for name, run_calls in runs.items():
        assert [c['tool'] for c in run_calls] == one_run_of_tools(), name


def hold_lock(path):
    """A process that holds ``path``'s flock until killed (the test reads 'locked' first)."""
    holder = subprocess.Popen([sys.executable, '-c', (
        'import fcntl, sys, time\n'
        'f = open(sys.argv[1], "a")\n'
        'fcntl.flock(f, fcntl.LOCK_EX)\n'
        'print("locked", flush=True)\n'
        'time.sleep(600)\n'), str(path)], stdout=subprocess.PIPE, universal_newlines=True)
    assert holder.stdout.readline().strip() == 'locked'
    return holder


def test_run_lock_held_elsewhere_and_released_by_a_killed_process(sweep):
    env, folder = sweep
    (folder / 'snap' / '.locks').mkdir(parents=True)
    lock = folder / 'snap' / '.locks' / 'mnist-usps-seed4.lock'
    holder = hold_lock(lock)
    try:
        # a task script started by hand while another process holds the run: one error line
        result = run(['bash', os.path.join(ROOT, 'scripts', 'mnist-usps.sh'), 'mnist-usps-seed4'],
                     dict(env, SEED='4'))
        assert result.returncode == 75, result.stdout
        assert result.stdout.strip() == ('Error: mnist-usps-seed4 is running in another process '
                                         '(it holds {})'.format(lock))
        assert calls(folder) == []
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # the kernel dropped the dead holder's lock: the run goes ahead
    result = run(['bash', os.path.join(ROOT, 'scripts', 'mnist-usps.sh'), 'mnist-usps-seed4'],
                 dict(env, SEED='4'))
    assert result.returncode == 0, result.stdout
    assert [c['tool'] for c in calls(folder)] == one_run_of_tools()


def test_sweep_waits_for_a_run_another_process_holds(sweep):
    env, folder = sweep
    (folder / 'snap' / '.locks').mkdir(parents=True)
    lock = open(str(folder / 'snap' / '.locks' / 'mnist-usps-seed0.lock'), 'a')
    fcntl.flock(lock, fcntl.LOCK_EX)
    env.update(JOBS='1', DEVICE='cpu', SEEDS='0 1')
    sweep_process = subprocess.Popen(['bash', REPRODUCE, 'mnist-usps'], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     universal_newlines=True)
    lines = []
    try:
        for line in sweep_process.stdout:
            lines.append(line)
            if line.startswith('mnist-usps-seed1: done'):
                break
        # seed 0 was put off, seed 1 done meanwhile, and the sweep now waits for seed 0
        assert ('mnist-usps-seed0: another process is running it; waiting for it at the end\n'
                in lines), lines
        assert sorted(calls_by_run(folder)) == ['mnist-usps-seed1']
    finally:
        lock.close()  # releases the lock
    output = ''.join(lines) + sweep_process.communicate(timeout=300)[0]
    assert sweep_process.returncode == 0, output
    assert [c['tool'] for c in calls_by_run(folder)['mnist-usps-seed0']] == one_run_of_tools()
    log = (folder / 'results' / 'logs' / 'mnist-usps-seed0.log').read_text()
    assert 'Error: mnist-usps-seed0 is running in another process' in log


def wait_for_files(folder, count, process, timeout=120):
    for _ in range(timeout * 10):
        if len(os.listdir(str(folder))) >= count or process.poll() is not None:
            return
        time.sleep(0.1)


@pytest.mark.parametrize('jobs', [None, '2'])
def test_ctrl_c_stops_the_sweep(sweep, jobs):
    env, folder = sweep
    barrier(env, folder, 1)
    env.update(SEEDS='0 1 2 3', DEVICE='cpu', FAKE_SLEEP='300')
    if jobs:
        env['JOBS'] = jobs
    # SIGINT as a terminal gives it: a shell started in the background with SIGINT ignored
    # (e.g. CI launched with '&') could not trap it otherwise.
    process = subprocess.Popen(['bash', REPRODUCE, 'mnist-usps'], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               universal_newlines=True, start_new_session=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        started = int(jobs or 1)
        wait_for_files(folder / 'barrier', started, process)
        assert process.poll() is None
        os.killpg(process.pid, signal.SIGINT)  # as Ctrl-C: to the whole process group
        output = process.communicate(timeout=120)[0]
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130, output
    assert output.rstrip().endswith('Stopped: the runs under way saved their snapshots; run the '
                                    'same command again to resume')
    assert 'stopped by a signal' in output
    assert '| task |' not in output  # no table
    assert [c['tool'] for c in calls(folder)] == ['train.py'] * started  # no run after them
    with pytest.raises(OSError):
        os.killpg(process.pid, 0)  # nothing of the sweep is left running


@pytest.mark.parametrize('variables, message', [
    ({'JOBS': '0'}, 'Error: JOBS=0 is not a whole number of at least 1 (empty: the number of '
                    'DEVICES; without JOBS and DEVICES one after another)'),
    ({'JOBS': 'two'}, 'Error: JOBS=two is not a whole number of at least 1 (empty: the number '
                      'of DEVICES; without JOBS and DEVICES one after another)'),
    ({'DEVICE': 'cpu', 'DEVICES': '0 9999'},
     'Error: DEVICES: 9999 is not a list of cores this process may use (taskset -c syntax: '
     '3, 0-3, 0,2)'),
    ({'DEVICE': 'npu', 'DEVICES': '1 card0'},
     "Error: DEVICES='1 card0' is not devices separated by spaces, each a device id (0, 1, ...) "
     'or CPU cores in taskset syntax (3, 0-3, 0,2) (empty: ids 0..JOBS-1; on the CPU, the '
     'cores split into JOBS sets)'),
    ({'DEVICE': 'npu', 'DEVICES': '0-3'}, 'Error: DEVICES: 0-3 is not an NPU id (0, 1, ...)'),
    ({'DEVICE': 'tpu', 'JOBS': '2'},
     'Error: DEVICE=tpu is not one of auto, cpu, gpu, npu (empty: auto)'),
    ({'SEEDS': '0 x'}, "Error: SEEDS='0 x' is not seeds separated by spaces, each a whole number "
                       'from 0 to 4294967293 (empty: 0 1 2 3 4)'),
])
def test_bad_jobs_or_devices_are_one_error_line(sweep, variables, message):
    env, folder = sweep
    env.update(SEEDS='0')
    env.update(variables)
    result = run(['bash', REPRODUCE, 'mnist-usps'], env)
    assert result.returncode == 2
    assert result.stdout.strip().splitlines()[-1] == message
    assert calls(folder) == []


def test_npu_train_runs_the_tasks_at_once_on_their_cards(sweep, tmp_path):
    env, folder = sweep
    barrier(env, folder, 2)
    env.update(ADDA_DEVICE='npu', DEVICES='4 6', ADDA_TASKS='mnist-usps usps-mnist svhn-mnist')
    os.remove(str(tmp_path / 'data' / 'svhn' / 'test_32x32.mat'))
    out = tmp_path / 'out'
    result = run(['bash', NPU_TRAIN, ROOT, tmp_path / 'work', tmp_path / 'data', out], env)
    assert result.returncode == 0, result.stdout
    assert '[CANN-Modelzoo] Running up to 2 tasks at once, on npu 4 6' in result.stdout
    assert '[CANN-Modelzoo] Skipping svhn-mnist' in result.stdout
    cards = []
    for task in ('mnist-usps', 'usps-mnist'):
        run_calls = calls_by_run(folder)[task + '-seed0']
        assert [c['tool'] for c in run_calls] == one_run_of_tools()
        pins = {(c['pin']['ASCEND_DEVICE_ID'], c['pin']['DEVICE_ID']) for c in run_calls}
        assert len(pins) == 1
        card = pins.pop()
        assert card[0] == card[1]
        cards.append(card[0])
        log = (out / 'logs' / (task + '.log')).read_text()
        assert 'fake train.py' in log and 'Pinned to npu {}'.format(card[0]) in log
        assert '[CANN-Modelzoo] Start {} ({}-seed0) on npu {}, log {}'.format(
            task, task, card[0], out / 'logs' / (task + '.log')) in result.stdout
        assert '[CANN-Modelzoo] Finished {} in'.format(task) in result.stdout
        for name in RECORDS:
            assert (out / 'results' / (task + '-seed0') / (name + '.yaml')).is_file()
    assert sorted(cards) == ['4', '6']
    summary = (out / 'summary.txt').read_text().splitlines()
    assert [line.split()[0] for line in summary[1:]] == ['mnist-usps', 'usps-mnist']
    assert result.stdout.rstrip().endswith('[CANN-Modelzoo] npu_train.sh finished')


# --- the real tools ------------------------------------------------------------------------

def checkpoint_data(snapshots, name):
    files = sorted(glob.glob(str(snapshots / name / (name + '-*.data-00000-of-00001'))))
    assert files, 'no snapshot in {}'.format(snapshots / name)
    return files[-1]


def test_parallel_sweep_repeats_the_pinned_sequential_runs(tmp_path, monkeypatch):
    """JOBS=2 runs exactly what a sequential sweep on one core runs: the same snapshots, byte
    for byte, and the same records. (A sweep on more cores per run computes with more threads
    and batch shards, which moves the weights in the last bits.)"""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        pytest.skip('needs 2 cores to run 2 runs apart; this process may use {}'.format(cores))
    data = tmp_path / 'data'
    write_mnist(str(data / 'mnist'), counts=(2000, 100))
    write_usps(str(data / 'usps'), counts=(1800, 100))
    env = {k: v for k, v in os.environ.items() if k not in SWEEP_VARIABLES}
    env.update(PYTHON=sys.executable, ADDA_DATA_DIR=str(data), DEVICE='cpu',
               SOURCE_ITERATIONS='20', ADAPT_ITERATIONS='20', PYTHONIOENCODING='utf-8')
    one, two = str(cores[0]), str(cores[1])
    parallel = run(['bash', REPRODUCE, 'mnist-usps'], dict(
        env, SEEDS='0 1', JOBS='2', DEVICES='{} {}'.format(one, two),
        RESULTS_DIR=str(tmp_path / 'r2'), SNAPSHOT_DIR=str(tmp_path / 's2')), timeout=1200)
    assert parallel.returncode == 0, parallel.stdout
    # seed 1 ran on the second core in the sweep; here alone on the first
    sequential = run(['bash', REPRODUCE, 'mnist-usps'], dict(
        env, SEEDS='1', JOBS='1', DEVICES=one,
        RESULTS_DIR=str(tmp_path / 'r1'), SNAPSHOT_DIR=str(tmp_path / 's1')), timeout=1200)
    assert sequential.returncode == 0, sequential.stdout
    for part in ('source', 'adda'):
        name = 'mnist-usps-seed1-it20+20_' + part
        assert filecmp.cmp(checkpoint_data(tmp_path / 's2', name),
                           checkpoint_data(tmp_path / 's1', name), shallow=False), name
    for record in RECORDS:
        with open(str(tmp_path / 'r2' / 'mnist-usps-seed1-it20+20' / (record + '.yaml'))) as f:
            a = yaml.safe_load(f)
        with open(str(tmp_path / 'r1' / 'mnist-usps-seed1-it20+20' / (record + '.yaml'))) as f:
            b = yaml.safe_load(f)
        assert (a['accuracy'], a['confusion_matrix']) == (b['accuracy'], b['confusion_matrix'])
    for name in ('mnist-usps-seed0-it20+20', 'mnist-usps-seed1-it20+20'):
        assert 'Running on CPU (fp32, 1 threads)' in \
            (tmp_path / 'r2' / 'logs' / (name + '.log')).read_text()
