"""Faults and hostile input: damaged resume state, two runs on one folder, a full disk,
argument checks before anything is written, values that cannot be right, and crashes
(SIGKILL) at any moment, a snapshot being written included."""
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import LENET_KEYS, ROOT, run_tool, snapshot_accuracy
from fault_fixtures import listing, needs_small_disk, on_small_disk  # noqa: F401  (a fixture)

TRAIN = ['--batch_size', 32, '--lr', 1e-3, '--solver', 'adam', '--seed', 0]
PAUSE_ENV = 'ADDA_TEST_PAUSE_BEFORE_RENAME'


def ok(result):
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def error_line(result, status=1):
    """The one 'Error' line of a failed run (and no traceback)."""
    assert result.returncode == status, result.stdout[-3000:] + result.stderr[-3000:]
    assert 'Traceback' not in result.stderr, result.stderr
    lines = [l for l in result.stderr.splitlines() if l.startswith('Error')]
    assert len(lines) == 1, result.stderr
    return lines[0]


def index_names(folder):
    """The checkpoint prefixes the ``checkpoint`` index of ``folder`` names."""
    from adda.compat import tf
    state = tf.train.get_checkpoint_state(str(folder))
    return list(state.all_model_checkpoint_paths) if state is not None else []


def read_whole(prefix):
    """Every tensor of the checkpoint at ``prefix`` (raises when any is damaged)."""
    from adda.compat import tf
    reader = tf.train.NewCheckpointReader(prefix)
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}


def check_consistent(folder, data_root):
    """Every snapshot and state the indexes name is complete (each tensor reads back whole),
    and the newest snapshot evaluates to the same accuracy by the tool and by a graph of its
    own."""
    named = index_names(folder)
    for prefix in named:
        assert sorted(read_whole(prefix)) == LENET_KEYS
    for prefix in index_names(os.path.join(str(folder), 'state')):
        assert 'global_step' in read_whole(prefix)
    if named:
        assert tool_accuracy(named[-1]) == snapshot_accuracy(named[-1], 'mnist', 'test',
                                                            data_root)
    return named


def tool_accuracy(prefix):
    """The accuracy eval_classification prints for the snapshot on the tiny MNIST test split."""
    result = ok(run_tool('eval_classification', 'mnist', 'test', 'lenet', prefix))
    lines = result.stdout.splitlines()
    return float(lines[[i for i, l in enumerate(lines) if l.endswith('Overall accuracy:')][-1] +
                       1].split()[-1])


def train(snap, name, iterations, *extra, **kwargs):
    return run_tool('train', 'mnist', 'train', 'lenet', name, '--iterations', iterations,
                    '--snapshot_dir', snap, *(list(extra) + TRAIN), **kwargs)


def popen_train(snap, name, iterations, *extra, **kwargs):
    command = [sys.executable, os.path.join(ROOT, 'tools', 'train.py'), 'mnist', 'train',
               'lenet', name, '--iterations', iterations, '--snapshot_dir', snap]
    env = dict(os.environ, PYTHONUNBUFFERED='1', **kwargs.pop('env', {}))
    return subprocess.Popen([str(c) for c in command + list(extra) + TRAIN], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)


def wait_for(path, text, process, timeout=180):
    """Wait until the file ``path`` contains ``text`` (False when the process ended first)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if os.path.exists(str(path)) and text in open(str(path)).read():
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.05)
    raise AssertionError('no {!r} in {} after {} s'.format(text, path, timeout))


def truncate(path):
    with open(str(path), 'rb+') as f:
        f.truncate(os.path.getsize(str(path)) // 2)


# 1. Damaged resume state

def test_damaged_newest_state_resumes_from_the_older_intact_one(data_root, tmp_path):
    snap = tmp_path / 'snap'
    ok(train(snap, 'd', 20, '--snapshot', 10))
    damaged = snap / 'd' / 'state' / 'state-20.data-00000-of-00001'
    truncate(damaged)
    result = ok(train(snap, 'd', 30, '--snapshot', 10, '--resume'))
    assert 'Traceback' not in result.stderr
    expected = ('Training state file {} is damaged'.format(damaged),
                'resuming from the older intact state {} at iteration 10 instead'.format(
                    snap / 'd' / 'state' / 'state-10'))
    log = (snap / 'd' / 'train.log').read_text()
    for text in expected:
        assert text in result.stdout and text in log
    assert 'Iteration 10:' in result.stdout and 'Iteration 0:' not in result.stdout
    assert [os.path.basename(p) for p in index_names(snap / 'd')][-1] == 'd-30'
    check_consistent(snap / 'd', data_root)


def test_no_intact_state_says_which_file_and_the_way_out(data_root, tmp_path):
    snap = tmp_path / 'snap'
    ok(train(snap, 'd', 20, '--snapshot', 10))
    for name in os.listdir(str(snap / 'd' / 'state')):  # every state kept
        if '.data-' in name:
            truncate(snap / 'd' / 'state' / name)
    before = listing(snap)
    result = train(snap, 'd', 30, '--snapshot', 10, '--resume')
    line = error_line(result)
    assert line.startswith('Error: cannot resume in {}: the training state file {} is '
                           'damaged'.format(snap / 'd', snap / 'd' / 'state' /
                                            'state-20.data-00000-of-00001'))
    assert 'continue from the newest intact snapshot {} (iteration 20)'.format(
        snap / 'd' / 'd-20') in line
    assert line.endswith('run again with --resume --resume_from_snapshot')
    assert listing(snap) == before  # nothing written, no lock left behind

    # the way out works, and says what it does
    result = ok(train(snap, 'd', 30, '--snapshot', 10, '--resume', '--resume_from_snapshot'))
    assert ('Continuing from the snapshot {} at iteration 20 with a fresh optimizer '
            'state'.format(snap / 'd' / 'd-20')) in (snap / 'd' / 'train.log').read_text()
    assert 'Iteration 20:' in result.stdout and 'Iteration 10:' not in result.stdout
    assert os.path.basename(index_names(snap / 'd')[-1]) == 'd-30'
    check_consistent(snap / 'd', data_root)
    # and the next --resume is exact again, from the new state
    result = ok(train(snap, 'd', 40, '--snapshot', 10, '--resume'))
    assert 'damaged' not in result.stdout and 'Iteration 30:' in result.stdout


def test_damaged_weights_give_one_line_naming_the_file(data_root, tmp_path):
    snap = tmp_path / 'snap'
    ok(train(snap, 'src', 10))
    data = snap / 'src' / 'src-10.data-00000-of-00001'
    truncate(data)
    result = run_tool('eval_classification', 'mnist', 'test', 'lenet', snap / 'src')
    assert '{}: damaged checkpoint file'.format(data) in error_line(result)
    result = run_tool('train_adda', 'mnist:train', 'usps:train', 'lenet', 'ad', '--weights',
                      snap / 'src', '--snapshot_dir', snap, *TRAIN)
    assert '{}: damaged checkpoint file'.format(data) in error_line(result)
    assert not (snap / 'ad').exists()


# 2. Two runs on one output folder

def test_second_run_on_a_busy_folder_is_refused_and_a_stale_lock_taken_over(data_root,
                                                                             tmp_path):
    snap = tmp_path / 'snap'
    first = popen_train(snap, 'busy', 1000000, '--display', 5, '--snapshot', 1000000)
    try:
        assert wait_for(snap / 'busy' / 'train.log', 'Iteration 5:', first)
        before = listing(snap / 'busy')
        second = train(snap, 'busy', 20, '--snapshot', 10)
        line = error_line(second)
        assert line.startswith('Error: output folder {} is in use by another training run, '
                               'process {} on '.format(snap / 'busy', first.pid))
        assert set(listing(snap / 'busy')) == set(before)  # nothing of the second run
        assert (snap / 'busy' / 'config.yaml').stat().st_mtime_ns == \
            before['config.yaml'][1]
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert (snap / 'busy' / '.lock').exists()  # a killed run leaves its lock file behind
    result = ok(train(snap, 'busy', 20, '--snapshot', 10, '--resume'))
    assert 'Took over the lock of {} from process {} on'.format(snap / 'busy', first.pid) in \
        result.stdout
    assert 'which is no longer running' in (snap / 'busy' / 'train.log').read_text()
    assert not (snap / 'busy' / '.lock').exists()  # released at the end
    check_consistent(snap / 'busy', data_root)


# 3. A full disk (a real one: a small tmpfs in a private mount namespace)

@pytest.mark.usefixtures('needs_small_disk')
def test_full_disk_names_the_disk_and_keeps_the_previous_snapshot(data_root, tmp_path):
    # 12 MB: the first snapshot (1.7 MB) and state (5.2 MB with Adam's slots) fit, the second
    # snapshot too, but not the second state beside the first.
    command = [sys.executable, os.path.join(ROOT, 'tools', 'train.py'), 'mnist', 'train',
               'lenet', 'full', '--iterations', 40, '--snapshot', 10,
               '--snapshot_dir', tmp_path / 'disk'] + TRAIN
    result, disk, copy = on_small_disk(tmp_path, '12m', command)
    line = error_line(result)
    assert line.startswith('Error: no space left on the disk mounted at {} ('.format(disk))
    assert 'could not write checkpoint {}'.format(disk / 'full' / 'state' / 'state-20') in line
    assert 'out of memory' not in result.stderr
    assert 'the previous snapshot ({}) and training state are intact'.format(
        disk / 'full' / 'full-10') in line
    # what is on the disk: complete checkpoints only, no temporaries, usable to resume
    assert not [n for n in listing(copy) if '.saving-' in n or '.tmp' in n or 'tempstate' in n]
    named = check_consistent(copy / 'full', data_root)
    assert [os.path.basename(p) for p in named] == ['full-10', 'full-20']
    assert [os.path.basename(p) for p in index_names(copy / 'full' / 'state')] == ['state-10']
    result = ok(train(copy, 'full', 40, '--snapshot', 10, '--resume'))
    assert 'Resuming from {} at iteration 10'.format(copy / 'full' / 'state' / 'state-10') in \
        result.stdout
    assert os.path.basename(check_consistent(copy / 'full', data_root)[-1]) == 'full-40'


@pytest.mark.usefixtures('needs_small_disk')
def test_full_disk_while_writing_records_exports_and_downloads(data_root, tmp_path):
    snap = tmp_path / 'snap'
    ok(train(snap, 'src', 10))
    big = tmp_path / 'big.bin'
    big.write_bytes(os.urandom(3 << 20))
    script = ('import sys; sys.path.insert(0, {!r}); from adda.data.download import fetch\n'
              'fetch(sys.argv[1], ["file://" + sys.argv[2]])').format(ROOT)
    cases = [
        (['eval_classification', 'mnist', 'test', 'lenet', snap / 'src', '--output',
          tmp_path / 'disk' / 'eval.yaml'], '8k', 'eval.yaml'),
        (['export_graph', 'lenet', snap / 'src', tmp_path / 'disk' / 'lenet.pb'], '1m',
         'lenet.pb'),
    ]
    for args, size, name in cases:
        command = [sys.executable, os.path.join(ROOT, 'tools', args[0] + '.py')] + args[1:]
        # fill the disk first so that even the small record does not fit
        filler = ['sh', '-c', 'head -c 100000000 /dev/zero > "$0/filler" 2>/dev/null; "$@"',
                  tmp_path / 'disk'] + command
        result, disk, copy = on_small_disk(tmp_path, size, filler)
        line = error_line(result)
        assert line.startswith('Error: no space left on the disk mounted at {}'.format(disk))
        assert str(disk / name) in line
        assert sorted(listing(copy)) == ['filler']  # nothing half-written
        shutil.rmtree(str(disk))
        shutil.rmtree(str(copy))
    command = [sys.executable, '-c', script, tmp_path / 'disk' / 'mnist' / 'x.gz', big]
    result, disk, copy = on_small_disk(tmp_path, '1m', command)
    assert result.returncode == 1 and 'Traceback' in result.stderr  # fetch raises, in-process
    assert 'DatasetError: no space left on the disk mounted at {}'.format(disk) in result.stderr
    assert 'could not write the download of {}'.format(disk / 'mnist' / 'x.gz') in result.stderr
    assert sorted(listing(copy)) == ['mnist']


# 4. Every argument and file check before anything is created or written

@pytest.mark.parametrize('tool, status, args, message', [
    ('train_adda', 2, ['--adversary_layer', 'fc9'],  # a click choice: a usage error
     "Invalid value for '--adversary_layer': 'fc9' is not one of 'conv1', 'pool1', 'conv2', "
     "'pool2', 'fc3', 'fc4'."),
    ('train_adda', 1, ['--adversary', 0], '--adversary widths must be positive, got 0'),
    ('train_adda', 1, ['--batch_size', 301], '--batch_size 301 is larger than mnist train '
                                             '(300 images)'),
    ('train', 1, ['--weights', 'WEIGHTS', '--weights_end', 'fc9'],
     "--weights_end 'fc9': lenet has no such layer"),
    ('train', 1, ['--weights_end', 'fc3'], '--weights_end fc3 needs --weights'),
    ('train', 1, ['--ignore_label', 10], '--ignore_label 10 is not a label of mnist train'),
    ('train', 1, ['--batch_size', 100000], '--batch_size 100000 is larger than mnist train'),
    ('train', 1, ['--weights', 'other_model'],
     'conv1/weights has shape [5, 5, 1, 5] in the checkpoint but the model needs [5, 5, 1, 20]'),
])
def test_argument_checks_come_before_any_write(data_root, tmp_path, tool, status, args, message):
    snap = tmp_path / 'snap'
    weights = tmp_path / 'weights'
    if tool == 'train_adda' or 'WEIGHTS' in args:
        args = [weights / 'src' if a == 'WEIGHTS' else a for a in args]
        ok(run_tool('train', 'usps', 'train', 'lenet', 'src', '--iterations', 1,
                    '--snapshot_dir', weights, *TRAIN))
    if 'other_model' in args:  # a checkpoint of another model: conv1 has 5 filters
        from adda.compat import tf
        with tf.Graph().as_default():
            with tf.variable_scope('conv1'):
                variables = [tf.get_variable('weights', [5, 5, 1, 5])]
            with tf.Session() as sess:
                sess.run(tf.global_variables_initializer())
                tf.train.Saver(variables).save(sess, str(tmp_path / 'other' / 'x'))
        args = ['--weights', tmp_path / 'other' / 'x']
    if tool == 'train':
        command = ['mnist', 'train', 'lenet', 'out']
    else:
        command = ['mnist:train', 'usps:train', 'lenet', 'out', '--weights', weights / 'src']
    result = run_tool(tool, *(command + ['--iterations', 2, '--snapshot_dir', snap] + list(args)))
    assert result.returncode == status and not snap.exists()
    assert message in error_line(result, status)


@pytest.mark.parametrize('output', ['a/b', '..', ''])
def test_output_must_be_a_name(data_root, tmp_path, output):
    result = run_tool('train', 'mnist', 'train', 'lenet', output, '--iterations', 2,
                      '--snapshot_dir', tmp_path / 'snap', *TRAIN)
    assert result.returncode == 1 and not (tmp_path / 'snap').exists()
    assert 'should be a plain name' in error_line(result)


def test_unwritable_outputs_are_refused_before_the_work(data_root, tmp_path):
    snap = tmp_path / 'snap'
    ok(train(snap, 'src', 1))
    a_file = tmp_path / 'file'
    a_file.write_text('x')
    checks = [
        (run_tool('train', 'mnist', 'train', 'lenet', 'x', '--snapshot_dir', a_file / 'sub',
                  *TRAIN), 1,
         'output folder {} cannot be created: {} is a file'.format(a_file / 'sub' / 'x', a_file)),
        (run_tool('eval_classification', 'mnist', 'test', 'lenet', snap / 'src', '--output',
                  a_file / 'eval.yaml'), 1,
         '--output {}: its folder {} is a file'.format(a_file / 'eval.yaml', a_file)),
        (run_tool('eval_classification', 'mnist', 'test', 'lenet', snap / 'src', '--output',
                  tmp_path), 2, "Invalid value for '--output'"),
        (run_tool('export_graph', 'lenet', snap / 'src', a_file / 'x.pb'), 1,
         'OUTPUT {}: its folder {} is a file'.format(a_file / 'x.pb', a_file)),
        (run_tool('report', tmp_path, '--png', a_file / 'chart.png'), 1,
         '--png {}: its folder {} is a file'.format(a_file / 'chart.png', a_file)),
    ]
    for result, status, message in checks:
        line = error_line(result, status)
        assert message in line
        assert 'Evaluating' not in result.stdout and 'Restoring' not in result.stdout
    assert a_file.read_text() == 'x'


# 5. Values that cannot be right

@pytest.mark.parametrize('value, message', [
    ('-1e-3', 'is below 0.0'), ('nan', 'is not a finite number'),
    ('inf', 'is not a finite number'), ('-inf', 'is not a finite number'),
])
def test_learning_rate_must_be_finite_and_not_negative(data_root, tmp_path, value, message):
    result = run_tool('train', 'mnist', 'train', 'lenet', 'x', '--lr', value, '--iterations', 2,
                      '--snapshot_dir', tmp_path / 'snap')
    line = error_line(result, status=2)
    assert "Invalid value for '--lr'" in line and message in line
    assert not (tmp_path / 'snap').exists()


def test_zero_learning_rate_freezes_the_weights(data_root, tmp_path):
    snap = tmp_path / 'snap'
    ok(train(snap, 'src', 5))
    ok(run_tool('train', 'mnist', 'train', 'lenet', 'frozen', '--iterations', 5,
                '--snapshot_dir', snap, '--weights', snap / 'src', '--lr', 0,
                '--solver', 'adam', '--batch_size', 32))
    from adda.compat import tf
    for name, _ in tf.train.list_variables(str(snap / 'src' / 'src-5')):
        np.testing.assert_array_equal(tf.train.load_variable(str(snap / 'src' / 'src-5'), name),
                                      tf.train.load_variable(str(snap / 'frozen' / 'frozen-5'),
                                                             name))


def test_a_batch_larger_than_memory_is_refused(data_root):
    from adda.checks import ModelShapes, batch_memory, check_batch_size
    from adda.data import get_split
    from adda.errors import AddaError
    from adda.models import get_model_fn
    shapes = ModelShapes(get_model_fn('lenet'))
    data = get_split('mnist', 'train')
    need, per_image = batch_memory(64, shapes)
    check_batch_size(64, [data], shapes, available=need)
    with pytest.raises(AddaError) as error:
        check_batch_size(64, [data], shapes, available=need - 1)
    assert str(error.value).startswith('--batch_size 64 needs about ')
    assert 'use a smaller --batch_size (at most about 63)' in str(error.value)
    # evaluation batches stop at the data's size
    check_batch_size(10 ** 9, [data], shapes, training=False,
                     available=batch_memory(len(data), shapes, training=False)[0])


def test_modelarts_entry_and_npu_train_check_their_arguments_first(tmp_path):
    entry = os.path.join(ROOT, 'modelarts_entry.py')
    work, data = tmp_path / 'work', tmp_path / 'data'
    (data / 'mnist').mkdir(parents=True)
    for args, status, message in [
            (['--tasks', 'mnist-usps,mnsit-usps'], 1, 'unknown task mnsit-usps'),
            (['--seed', '-1'], 2, "argument --seed: -1 is not in 0..4294967293"),
            (['--source_iterations', '0'], 2, 'argument --source_iterations: 0 is not positive'),
            (['--python', str(tmp_path / 'nopython')], 1, 'is not an executable file')]:
        result = subprocess.run([sys.executable, entry, '--data_url', str(data),
                                 '--train_url', str(tmp_path / 'out'), '--work_dir', str(work)]
                                + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                universal_newlines=True)
        assert result.returncode == status and message in result.stdout, result.stdout
        assert not work.exists() and not (tmp_path / 'out').exists()
    for env, message in [({'SEED': 'abc'}, 'SEED=abc is not a whole number'),
                         ({'ADAPT_ITERATIONS': '0'},
                          'ADAPT_ITERATIONS=0 is not a whole number of at least 1'),
                         ({'ADDA_TASKS': '*'}, "ADDA_TASKS='*' is not task names"),
                         ({'TASKS': 'mnist-usps nope'}, "TASKS='mnist-usps nope' is not task "
                                                        'names'),
                         ({'ADDA_DEVICE': 'tpu'}, 'ADDA_DEVICE=tpu is not one of')]:
        result = subprocess.run(['bash', os.path.join(ROOT, 'npu_train.sh'), ROOT, str(work)],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                universal_newlines=True, env=dict(os.environ, **env), cwd=ROOT)
        assert result.returncode == 2 and result.stdout.startswith('Error: ' + message), \
            result.stdout
        assert len(result.stdout.splitlines()) == 1
        assert not work.exists()


# Crash consistency

def test_sigkill_at_any_moment_resumes_to_the_asked_step(data_root, tmp_path):
    snap = tmp_path / 'snap'
    common = ['--snapshot', 5, '--display', 1, '--steps_per_run', 1, '--keep', 3]
    ok(train(snap, 'whole', 40, *common))
    log = snap / 'crash' / 'train.log'
    pause = {PAUSE_ENV: '30'}
    # (resume?, environment, what to wait for in the log before the SIGKILL)
    kills = [(False, pause, 'pausing'),                      # inside the first snapshot
             (True, {}, 'Iteration 12:'),                    # between snapshots
             (True, pause, 'pausing'),                       # inside a later snapshot
             (True, {PAUSE_ENV: '4'},                        # inside a state's save
              'renaming {}'.format(snap / 'crash' / 'state' / 'state-')),
             (True, {}, 'Saved snapshot to {}'.format(snap / 'crash' / 'crash-25')),
             (True, {}, 'Resuming from')]                    # while restoring
    for resume, env, text in kills:
        before = log.read_text().count(text) if log.exists() else 0
        process = popen_train(snap, 'crash', 40, *(common + (['--resume'] if resume else [])),
                              env=env)
        deadline = time.time() + 180
        while log.read_text().count(text) <= before if log.exists() else True:
            assert process.poll() is None, 'the run ended before {!r}'.format(text)
            assert time.time() < deadline
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait()
        check_consistent(snap / 'crash', data_root)
    result = ok(train(snap, 'crash', 40, *(common + ['--resume'])))
    assert 'Resuming from' in result.stdout
    named = check_consistent(snap / 'crash', data_root)
    assert os.path.basename(named[-1]) == 'crash-40' and len(named) <= 3
    assert not [n for n in listing(snap / 'crash') if '.saving-' in n]  # temporaries cleaned
    from adda.compat import tf
    for name, _ in tf.train.list_variables(named[-1]):
        np.testing.assert_allclose(tf.train.load_variable(named[-1], name),
                                   tf.train.load_variable(str(snap / 'whole' / 'whole-40'), name),
                                   rtol=1e-5, atol=1e-6)
