"""The Ascend route without Ascend: --device npu, npu_train.sh and modelarts_entry.py, with
stand-in npu_bridge and moxing modules (tests/helpers_ascend.py)."""
import os
import shutil
import subprocess
import sys

import pytest
import yaml

from conftest import ROOT, run_tool_process, write_mnist, write_svhn, write_usps
from fault_fixtures import needs_small_disk, on_small_disk  # noqa: F401  (a fixture)
from helpers_ascend import (npu_env, npu_optimizer, read_json_lines,  # noqa: F401 (a fixture)
                            recorded_configs, with_pythonpath, write_fake_python, write_file,
                            write_moxing)

ENTRY = os.path.join(ROOT, 'modelarts_entry.py')
NPU_TRAIN = os.path.join(ROOT, 'npu_train.sh')
RUNNING_ON_NPU = 'Running on Ascend NPU (precision_mode {})'


def without_ascend(env):
    """``env`` without the variables the Ascend tests set, so the host's settings stay out."""
    env = dict(env)
    for name in ('ADDA_DEVICE', 'ADDA_PRECISION', 'ADDA_TASKS', 'SOURCE_ITERATIONS',
                 'ADAPT_ITERATIONS', 'SEED', 'PYTHON', 'PREFIX', 'TRAIN_ARGS', 'DEVICE',
                 'PRECISION', 'SNAPSHOT_DIR', 'RESULTS_DIR'):
        env.pop(name, None)
    return env


def run(command, env=None, cwd=None, timeout=600):
    """Run ``command`` with the host environment (less its Ascend settings) plus ``env``;
    stdout and stderr together in the result's stdout."""
    return subprocess.run([str(c) for c in command], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True,
                          env=dict(without_ascend(os.environ), **(env or {})),
                          cwd=str(cwd or ROOT), timeout=timeout)


def read_yaml(path):
    with open(str(path)) as f:
        return yaml.safe_load(f)


def check_npu_config(config, precision_mode):
    """What the Ascend conventions ask of the NPU session config."""
    from tensorflow.core.protobuf.rewriter_config_pb2 import RewriterConfig
    optimizer = npu_optimizer(config)
    assert optimizer.parameter_map['use_off_line'].b is True
    assert optimizer.parameter_map['precision_mode'].s == precision_mode.encode()
    rewrite = config.graph_options.rewrite_options
    assert rewrite.remapping == RewriterConfig.OFF
    assert rewrite.memory_optimization == RewriterConfig.OFF


# --- the tools with --device npu -------------------------------------------------------------

def test_npu_without_npu_bridge_is_one_error_line(data_root, tmp_path):
    result = run_tool_process('train', 'mnist', 'train', 'lenet', 'out', '--iterations', '2',
                              '--device', 'npu', '--snapshot_dir', tmp_path / 'snap')
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith('Error: --device npu needs npu_bridge')
    assert 'Traceback' not in result.stdout + result.stderr


@pytest.mark.ascend
def test_npu_with_stand_in_bridge(data_root, tmp_path, npu_env):
    env, record = npu_env
    snap = tmp_path / 'snap'
    # Training: --device npu, default precision = mixed = allow_mix_precision.
    result = run_tool_process('train', 'mnist', 'train', 'lenet', 'out', '--iterations', '10',
                              '--batch_size', '16', '--seed', '0', '--device', 'npu',
                              '--snapshot_dir', snap, env=env)
    assert result.returncode == 0, result.stderr
    assert RUNNING_ON_NPU.format('allow_mix_precision') in result.stdout + result.stderr
    config = read_yaml(snap / 'out' / 'config.yaml')
    assert (config['device'], config['precision']) == ('npu', 'allow_mix_precision')
    configs = recorded_configs(record)
    assert configs, 'the tool created no session through tf.Session'
    for config in configs:
        check_npu_config(config, 'allow_mix_precision')

    # Evaluation: --device auto picks the NPU when npu_bridge imports; fp32 -> force_fp32.
    for path in record.iterdir():
        path.unlink()
    out = tmp_path / 'eval.yaml'
    result = run_tool_process('eval_classification', 'mnist', 'test', 'lenet', snap / 'out',
                              '--device', 'auto', '--precision', 'fp32', '--output', out, env=env)
    assert result.returncode == 0, result.stderr
    assert RUNNING_ON_NPU.format('force_fp32') in result.stdout + result.stderr
    record_yaml = read_yaml(out)
    assert (record_yaml['device'], record_yaml['precision']) == ('npu', 'force_fp32')
    configs = recorded_configs(record)
    assert len(configs) == 1
    check_npu_config(configs[0], 'force_fp32')


# --- modelarts_entry.py with a fake npu_train.sh ---------------------------------------------

FAKE_NPU_TRAIN = '''\
#!/usr/bin/env bash
# Fake npu_train.sh: records its arguments, the data it sees and its environment.
out=$4
mkdir -p "$out/logs"
printf '%s\\n' "$@" > "$out/args.txt"
(cd "$3" && find . -type f | sort) > "$out/data_files.txt"
for v in DEVICE PRECISION TASKS ADDA_DEVICE ADDA_PRECISION ADDA_TASKS SOURCE_ITERATIONS \
         ADAPT_ITERATIONS SEED PYTHON; do
  echo "$v=${!v-<unset>}"
done > "$out/env.txt"
echo "[CANN-Modelzoo] fake training" | tee "$out/logs/fake.log"
exit "${FAKE_TRAIN_STATUS:-0}"
'''


@pytest.fixture
def entry_dir(tmp_path):
    """A code folder with modelarts_entry.py, the task table it reads and a fake npu_train.sh
    beside it."""
    code = tmp_path / 'code dir'
    (code / 'adda').mkdir(parents=True)
    shutil.copy(ENTRY, str(code / 'modelarts_entry.py'))
    for name in ('__init__.py', 'tasks.py', 'environment.py'):
        shutil.copy(os.path.join(ROOT, 'adda', name), str(code / 'adda' / name))
    write_file(str(code / 'npu_train.sh'), FAKE_NPU_TRAIN, executable=True)
    return code


@pytest.fixture
def small_data(tmp_path):
    """A --data_url folder: a few files in the real layout (content does not matter here)."""
    data = tmp_path / 'data url'
    write_file(str(data / 'mnist' / 't10k-labels-idx1-ubyte.gz'), 'labels')
    write_file(str(data / 'usps' / 'zip.test.gz'), 'usps')
    return data


def read_lines(path):
    with open(str(path)) as f:
        return f.read().splitlines()


@pytest.mark.once
def test_modelarts_entry_copies_runs_and_copies_back(entry_dir, small_data, tmp_path):
    train_url = tmp_path / 'train url'
    work = tmp_path / 'work; echo injected'
    result = run([sys.executable, entry_dir / 'modelarts_entry.py', '--data_url', small_data,
                  '--train_url', train_url, '--work_dir', work, '--device', 'cpu',
                  '--tasks', 'mnist-usps,usps-mnist', '--source_iterations', '5',
                  '--adapt_iterations', '7', '--seed', '3', '--num_gpus=1'], cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    assert 'injected' not in result.stdout.replace(str(work), '')
    assert '[CANN-Modelzoo] Ignoring arguments: --num_gpus=1' in result.stdout
    # Data in, in the working folder's data/.
    assert (work / 'data' / 'mnist' / 't10k-labels-idx1-ubyte.gz').read_text() == 'labels'
    # npu_train.sh code_dir work_dir data_path output_path, as separate arguments.
    assert read_lines(train_url / 'args.txt') == [
        str(entry_dir), str(work), str(work / 'data'), str(work / 'output')]
    assert read_lines(train_url / 'data_files.txt') == [
        './mnist/t10k-labels-idx1-ubyte.gz', './usps/zip.test.gz']
    env = dict(line.split('=', 1) for line in read_lines(train_url / 'env.txt'))
    assert env == {'DEVICE': 'cpu', 'PRECISION': '<unset>', 'TASKS': 'mnist-usps usps-mnist',
                   'ADDA_DEVICE': '<unset>', 'ADDA_PRECISION': '<unset>',
                   'ADDA_TASKS': '<unset>', 'SOURCE_ITERATIONS': '5',
                   'ADAPT_ITERATIONS': '7', 'SEED': '3', 'PYTHON': sys.executable}
    # Outputs out.
    assert (train_url / 'logs' / 'fake.log').is_file()
    assert '[CANN-Modelzoo] fake training' in result.stdout
    assert 'npu_train.sh exited with status 0' in result.stdout


@pytest.mark.once
def test_modelarts_entry_default_work_dir_is_the_code_folder(entry_dir, small_data, tmp_path):
    train_url = tmp_path / 'out'
    result = run([sys.executable, entry_dir / 'modelarts_entry.py', '--data_url', small_data,
                  '--train_url', train_url], cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    assert read_lines(train_url / 'args.txt') == [
        str(entry_dir), str(entry_dir), str(entry_dir / 'data'), str(entry_dir / 'output')]
    env = dict(line.split('=', 1) for line in read_lines(train_url / 'env.txt'))
    assert env['DEVICE'] == '<unset>'  # npu_train.sh's default (npu) applies


@pytest.mark.once
@pytest.mark.parametrize('status', [1, 3])
def test_modelarts_entry_fails_when_npu_train_fails(entry_dir, small_data, tmp_path, status):
    train_url = tmp_path / 'out'
    result = run([sys.executable, entry_dir / 'modelarts_entry.py', '--data_url', small_data,
                  '--train_url', train_url], env={'FAKE_TRAIN_STATUS': str(status)},
                 cwd=tmp_path)
    assert result.returncode == status, result.stdout
    assert 'npu_train.sh exited with status {}'.format(status) in result.stdout
    # The logs of the failed run still reach train_url.
    assert (train_url / 'logs' / 'fake.log').is_file()


@pytest.mark.once
def test_modelarts_entry_uses_moxing_for_obs(entry_dir, small_data, tmp_path):
    obs = tmp_path / 'obs'
    shutil.copytree(str(small_data), str(obs / 'bucket' / 'data'))
    mox_log = tmp_path / 'mox.log'
    env = with_pythonpath({'PYTHONPATH': os.environ.get('PYTHONPATH', '')},
                          write_moxing(str(tmp_path / 'standins')))
    env.update(FAKE_OBS_ROOT=str(obs), FAKE_MOX_LOG=str(mox_log))
    work = tmp_path / 'work'
    result = run([sys.executable, entry_dir / 'modelarts_entry.py',
                  '--data_url', 'obs://bucket/data/', '--train_url', 'obs://bucket/train/',
                  '--work_dir', work], env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    assert 'moxing: available' in result.stdout
    assert read_json_lines(mox_log) == [['obs://bucket/data/', str(work / 'data')],
                                        [str(work / 'output'), 'obs://bucket/train/']]
    assert read_lines(obs / 'bucket' / 'train' / 'args.txt')[2] == str(work / 'data')


@pytest.mark.once
def test_modelarts_entry_obs_without_moxing_is_one_error(entry_dir, tmp_path):
    result = run([sys.executable, entry_dir / 'modelarts_entry.py',
                  '--data_url', 'obs://bucket/data/', '--train_url', tmp_path / 'out'],
                 cwd=tmp_path)
    assert result.returncode == 1
    errors = [line for line in result.stdout.splitlines() if 'ERROR' in line]
    assert errors == ['[CANN-Modelzoo] ERROR: obs://bucket/data/ is an OBS URL, which needs '
                      'the moxing library (present on ModelArts); off ModelArts use local '
                      'folders']
    assert 'Running' not in result.stdout  # npu_train.sh did not run


@pytest.mark.once
def test_modelarts_entry_missing_data_is_one_error(entry_dir, tmp_path):
    result = run([sys.executable, entry_dir / 'modelarts_entry.py',
                  '--data_url', tmp_path / 'nothing', '--train_url', tmp_path / 'out'],
                 cwd=tmp_path)
    assert result.returncode == 1
    assert 'ERROR: cannot copy the data: {} is not a folder'.format(
        tmp_path / 'nothing') in result.stdout
    assert not (tmp_path / 'out').exists()


# --- npu_train.sh with a fake interpreter ----------------------------------------------------

@pytest.fixture(scope='module')
def digits(tmp_path_factory):
    """MNIST and USPS stand-ins large enough for mnist2000 and usps1800, and SVHN's: the tools
    are faked, but each run checks its data before training (adda/pipeline.py check_data)."""
    folder = tmp_path_factory.mktemp('digits')
    write_mnist(str(folder / 'mnist'), counts=(2000, 100))
    write_usps(str(folder / 'usps'), counts=(1800, 100))
    write_svhn(str(folder / 'svhn'), counts=(200, 60))
    return folder


@pytest.fixture
def fake_python(tmp_path, digits):
    """(the stand-in interpreter, its log); tmp_path/data holds MNIST and USPS (not SVHN)."""
    for name in ('mnist', 'usps'):
        shutil.copytree(str(digits / name), str(tmp_path / 'data' / name))
    log = tmp_path / 'python.log'
    python = write_fake_python(str(tmp_path / 'bin' / 'python'))
    return python, log


def run_npu_train(tmp_path, python, log, extra_env=None, data=None):
    data = data or tmp_path / 'data'
    (data / 'mnist').mkdir(parents=True, exist_ok=True)
    env = dict(PYTHON=str(python), FAKE_PYTHON_LOG=str(log), **(extra_env or {}))
    return run(['bash', NPU_TRAIN, ROOT, tmp_path / 'work', data, tmp_path / 'out'], env=env,
               cwd=tmp_path)


def tool_calls(log):
    return read_json_lines(log) if log.exists() else []


@pytest.mark.once
def test_npu_train_runs_the_tasks_on_the_npu(tmp_path, fake_python):
    python, log = fake_python
    result = run_npu_train(tmp_path, python, log, {'SOURCE_ITERATIONS': '3'})
    assert result.returncode == 0, result.stdout
    out = tmp_path / 'out'
    calls = tool_calls(log)
    tools = [os.path.basename(c[0]) for c in calls]
    one_task = ['train.py'] + ['eval_classification.py'] * 2 + ['train_adda.py'] + \
        ['eval_classification.py'] * 2 + ['predict.py'] * 2
    assert tools == one_task * 2  # mnist-usps, usps-mnist; svhn-mnist skipped
    for call in calls:
        i = call.index('--device')
        assert call[i:i + 4] == ['--device', 'npu', '--precision', 'mixed'], call
    assert [c[1] for c in calls if c[0].endswith('/train.py')] == ['mnist2000', 'usps1800']
    assert all(c[c.index('--iterations') + 1] == '3' for c in calls if c[0].endswith('/train.py'))
    assert all(c[c.index('--iterations') + 1] == '10000' for c in calls
               if c[0].endswith('/train_adda.py'))
    assert ('[CANN-Modelzoo] Skipping svhn-mnist: SVHN is not in {}/svhn/ (needs '
            'train_32x32.mat and test_32x32.mat)'.format(tmp_path / 'data')) in result.stdout
    # Snapshots, results, logs and a summary land in output_path.
    for task in ('mnist-usps', 'usps-mnist'):
        prefix = task + '-seed0-it3+10000'  # a short run has its own name (adda/tasks.py)
        assert (out / 'snapshot' / (prefix + '_source') / (prefix + '_source-2.index')).is_file()
        assert (out / 'snapshot' / (prefix + '_adda') / (prefix + '_adda-2.index')).is_file()
        for name in ('source_only_train', 'source_only_test', 'adda_train', 'adda_test'):
            assert read_yaml(out / 'results' / prefix / (name + '.yaml'))['accuracy'] == 0.5
        assert (out / 'logs' / (task + '.log')).is_file()
    summary = read_lines(out / 'summary.txt')
    assert summary[1].split() == ['mnist-usps'] + ['0.5000'] * 4
    assert summary[2].split() == ['usps-mnist'] + ['0.5000'] * 4
    with open(str(out / 'npu_train.log')) as f:
        assert f.read() == result.stdout
    assert result.stdout.rstrip().endswith('[CANN-Modelzoo] npu_train.sh finished')


@pytest.mark.once
def test_npu_train_device_from_the_environment(tmp_path, fake_python):
    python, log = fake_python
    result = run_npu_train(tmp_path, python, log,
                           {'ADDA_DEVICE': 'cpu', 'ADDA_TASKS': 'usps-mnist', 'SEED': '4'})
    assert result.returncode == 0, result.stdout
    calls = tool_calls(log)
    assert len(calls) == 8  # 2 trainings, 4 evaluations, 2 predictions
    for call in calls:
        i = call.index('--device')
        assert call[i + 1] == 'cpu' and '--precision' not in call, call
    assert (tmp_path / 'out' / 'results' / 'usps-mnist-seed4' / 'adda_test.yaml').is_file()


@pytest.mark.once
def test_npu_train_runs_svhn_when_present(tmp_path, fake_python, digits):
    python, log = fake_python
    shutil.copytree(str(digits / 'svhn'), str(tmp_path / 'data' / 'svhn'))
    result = run_npu_train(tmp_path, python, log, {'ADDA_TASKS': 'svhn-mnist'})
    assert result.returncode == 0, result.stdout
    assert [c[1] for c in tool_calls(log)][:1] == ['svhn']
    assert 'Skipping' not in result.stdout


@pytest.mark.once
def test_npu_train_fails_when_a_step_fails(tmp_path, fake_python):
    python, log = fake_python
    result = run_npu_train(tmp_path, python, log, {'FAKE_PYTHON_FAIL': 'train_adda.py'})
    assert result.returncode == 1, result.stdout
    calls = [os.path.basename(c[0]) for c in tool_calls(log)]
    # Each task stops at its failed step; the next task still runs.
    assert calls == ['train.py', 'eval_classification.py', 'eval_classification.py',
                     'train_adda.py'] * 2
    assert 'ERROR: mnist-usps failed (exit status 1)' in result.stdout
    assert 'failed: mnist-usps usps-mnist' in result.stdout
    assert result.stdout.rstrip().endswith('[CANN-Modelzoo] ERROR: npu_train.sh failed')
    # What was done is in output_path all the same.
    out = tmp_path / 'out'
    assert (out / 'snapshot' / 'mnist-usps-seed0_source').is_dir()
    assert (out / 'results' / 'mnist-usps-seed0' / 'source_only_test.yaml').is_file()


@pytest.mark.once
@pytest.mark.usefixtures('needs_small_disk')
def test_npu_train_keeps_the_earlier_copy_when_the_disk_is_full(tmp_path, fake_python):
    """output_path on a full disk (a 1 MB tmpfs): the second run's snapshot (2 MB) cannot be
    copied there; the copy of the first run stays whole (npu_train.sh used to remove it first,
    leaving neither)."""
    python, log = fake_python
    disk = tmp_path / 'disk'
    train = 'PYTHON={} FAKE_PYTHON_LOG={} ADDA_TASKS=usps-mnist bash {} {} {} {} {}/out'.format(
        python, log, NPU_TRAIN, ROOT, tmp_path / 'work', tmp_path / 'data', disk)
    # the second run evaluates again (a finished run is skipped otherwise), its fake training
    # writing a larger snapshot
    result, _, copy = on_small_disk(tmp_path, '1m', ['sh', '-c', '{} > /dev/null && '
                                    'SKIP_FINISHED=0 FAKE_SNAPSHOT_BYTES=2000000 {}'.format(
                                        train, train)])
    assert result.returncode == 1, result.stdout
    assert '[CANN-Modelzoo] ERROR: cannot copy {}'.format(
        tmp_path / 'work' / 'snapshot' / 'usps-mnist-seed0_source') in result.stdout
    kept = copy / 'out' / 'snapshot' / 'usps-mnist-seed0_source'
    assert (kept / 'usps-mnist-seed0_source-2.index').read_text() == ''  # the first run's
    assert sorted(os.listdir(str(copy / 'out' / 'snapshot'))) == [
        'usps-mnist-seed0_adda', 'usps-mnist-seed0_source']  # no temporaries left
    assert (copy / 'out' / 'results' / 'usps-mnist-seed0' / 'adda_train.yaml').is_file()


@pytest.mark.once
def test_npu_train_unknown_task_fails(tmp_path, fake_python):
    python, log = fake_python
    result = run_npu_train(tmp_path, python, log, {'ADDA_TASKS': 'mnist-svhn'})
    assert result.returncode == 2
    assert result.stdout.startswith('Error: ADDA_TASKS=mnist-svhn is not task names separated by '
                                    'spaces (known: mnist-usps usps-mnist ')
    assert tool_calls(log) == [] and not (tmp_path / 'out').exists()


@pytest.mark.once
def test_npu_train_without_tensorflow_fails(tmp_path):
    result = run_npu_train(tmp_path, '/bin/false', tmp_path / 'python.log')
    assert result.returncode == 1
    assert 'ERROR: /bin/false cannot import tensorflow' in result.stdout


@pytest.mark.once
def test_npu_train_missing_data_path_fails(tmp_path, fake_python):
    python, log = fake_python
    env = {'PYTHON': str(python), 'FAKE_PYTHON_LOG': str(log)}
    result = run(['bash', NPU_TRAIN, ROOT, tmp_path / 'work', tmp_path / 'none',
                  tmp_path / 'out'], env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert 'ERROR: data_path {} is not a folder'.format(tmp_path / 'none') in result.stdout


# --- the whole route: modelarts_entry.py -> npu_train.sh -> the tools, on the stand-ins ------

@pytest.mark.ascend
def test_modelarts_entry_end_to_end_on_stand_ins(tmp_path, npu_env):
    env, record = npu_env
    obs = tmp_path / 'obs'
    data = obs / 'bucket' / 'digits'
    write_mnist(str(data / 'mnist'), counts=(2000, 100))
    write_usps(str(data / 'usps'), counts=(1800, 100))
    env = with_pythonpath(env, write_moxing(str(tmp_path / 'standins')))
    env.update(FAKE_OBS_ROOT=str(obs), FAKE_MOX_LOG=str(tmp_path / 'mox.log'))
    work = tmp_path / 'job'
    result = run([sys.executable, ENTRY, '--data_url', 'obs://bucket/digits',
                  '--train_url', 'obs://bucket/out', '--work_dir', work,
                  '--tasks', 'mnist-usps,svhn-mnist', '--source_iterations', '10',
                  '--adapt_iterations', '10'], env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    assert 'Skipping svhn-mnist' in result.stdout
    out = obs / 'bucket' / 'out'
    log = (out / 'npu_train.log').read_text()
    assert RUNNING_ON_NPU.format('allow_mix_precision') in log
    prefix = 'mnist-usps-seed0-it10+10'  # a short run has its own name (adda/tasks.py)
    for name in ('source_only_train', 'source_only_test', 'adda_train', 'adda_test'):
        evaluation = read_yaml(out / 'results' / prefix / (name + '.yaml'))
        assert (evaluation['device'], evaluation['precision']) == ('npu', 'allow_mix_precision')
        assert evaluation['dataset'] == 'usps1800'
        assert evaluation['images'] == (1800 if name.endswith('train') else 100)
    assert (out / 'snapshot' / (prefix + '_adda') / (prefix + '_adda-10.index')).is_file()
    assert (out / 'snapshot' / (prefix + '_source') / 'config.yaml').is_file()
    assert read_lines(out / 'summary.txt')[1].split()[0] == 'mnist-usps'
    configs = recorded_configs(record)
    assert len(configs) == 8  # 2 trainings, 4 evaluations, 2 predictions
    for config in configs:
        check_npu_config(config, 'allow_mix_precision')
