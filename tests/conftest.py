"""Fixtures: tiny datasets written in each real file format, and a way to run the tools."""
import collections
import gzip
import os
import struct
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_DATA = os.path.join(os.path.dirname(ROOT), 'shared', 'data')
sys.path.insert(0, ROOT)
# The checkpoint keys of a LeNet snapshot (the original implementation's).
LENET_KEYS = sorted(['conv1/weights', 'conv1/biases', 'conv2/weights', 'conv2/biases',
                     'fc3/weights', 'fc3/biases', 'fc4/weights', 'fc4/biases'])
IN_CI = os.environ.get('CI', '').lower() in ('1', 'true', 'yes')
# Which pass runs what (docs/runtimes.md). The Ascend tests run under TensorFlow 1.15 only.
# The runtime-independent ones (marked `once`) run everywhere, except that with SPLIT set (by
# .ci/run, which runs both passes side by side) each runs in one pass only: those of the files
# below in the TF 2.x pass, the others in the TF 1.15 pass, so that the two take about as long.
SPLIT = 'ADDA_TESTS_SPLIT'
ONCE_IN_TF2 = ('test_full_protocol.py', 'test_readme.py', 'test_recipe_scripts.py',
               'test_report.py', 'test_sweeps.py', 'test_task_scripts.py', 'test_tasks.py')
LEFT_OUT = {
    'ascend': 'Ascend tests (stand-in npu_bridge, NPU graphs and loss scaling, --device npu '
              'runs): they run under Python 3.7 + TensorFlow 1.15, the Ascend image\'s runtime '
              '(.venv37)',
    'once': 'runtime-independent tests: with {}=1 (.ci/run) the other pass runs them'.format(
        SPLIT),
}


def pytest_configure(config):
    config.addinivalue_line('markers', 'ascend: runs under TensorFlow 1.15 only (the Ascend '
                                       'image\'s runtime)')
    config.addinivalue_line('markers', 'once: does not depend on the runtime; .ci/run runs it '
                                       'in one pass only (conftest.ONCE_IN_TF2)')


def belongs_here(item, tf2, split):
    """None when ``item`` runs in this pass, else the LEFT_OUT reason it does not."""
    if tf2 and item.get_closest_marker('ascend'):
        return 'ascend'
    if split and item.get_closest_marker('once') and (
            os.path.basename(str(item.fspath)) in ONCE_IN_TF2) != tf2:
        return 'once'
    return None


def pytest_collection_modifyitems(config, items):
    """Leave out what belongs to the other pass, and say so at the end."""
    from adda.compat import TF2
    split = bool(os.environ.get(SPLIT))
    kept, deselected, counts = [], [], {}
    for item in items:
        reason = belongs_here(item, TF2, split)
        if reason:
            deselected.append(item)
            counts[reason] = counts.get(reason, 0) + 1
        else:
            kept.append(item)
    config._adda_left_out = counts
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


def pytest_terminal_summary(terminalreporter, config):
    for reason, count in sorted(getattr(config, '_adda_left_out', {}).items()):
        terminalreporter.write_line('Not run in this pass: {} {}'.format(count, LEFT_OUT[reason]))


def require(condition, reason):
    """Skip the test with ``reason`` unless ``condition``; under CI (CI=true), where .ci/run
    is meant to provide what is missing, fail with the reason instead."""
    if condition:
        return
    if IN_CI:
        pytest.fail('{} (CI=true: .ci/run should have provided it)'.format(reason),
                    pytrace=False)
    pytest.skip(reason)


def digit_images(labels, side, channels=1, seed=0):
    """Learnable stand-ins for digits: class k lights a square at a class-specific spot."""
    rng = np.random.RandomState(seed)
    images = rng.uniform(0, 0.2, size=(len(labels), side, side, channels))
    cell = side // 4
    for i, k in enumerate(labels):
        r, c = divmod(int(k), 4)
        images[i, r * cell:(r + 1) * cell, c * cell:(c + 1) * cell, :] = 1.0
    return images


def write_idx(path, array, magic):
    header = struct.pack('>{}I'.format(1 + array.ndim), magic, *array.shape)
    with gzip.open(path, 'wb') as f:
        f.write(header + array.astype(np.uint8).tobytes())


def write_mnist(folder, counts=(300, 100), seed=0):
    os.makedirs(folder, exist_ok=True)
    rng = np.random.RandomState(seed)
    for (images_name, labels_name), n in zip(
            [('train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'),
             ('t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz')], counts):
        labels = rng.randint(0, 10, n)
        images = np.round(digit_images(labels, 28, seed=seed)[..., 0] * 255)
        write_idx(os.path.join(folder, images_name), images, 2051)
        write_idx(os.path.join(folder, labels_name), labels, 2049)


def usps_text(labels, images):
    """ESL format: label then 256 values in [-1, 1] per line."""
    lines = []
    for label, image in zip(labels, images):
        values = image.reshape(-1) * 2 - 1
        lines.append(' '.join(['{:.4f}'.format(label)] + ['{:.4f}'.format(v) for v in values]))
    return '\n'.join(lines) + '\n'


def write_usps(folder, counts=(300, 100), seed=1):
    os.makedirs(folder, exist_ok=True)
    rng = np.random.RandomState(seed)
    for name, n in zip(['zip.train.gz', 'zip.test.gz'], counts):
        labels = rng.randint(0, 10, n)
        with gzip.open(os.path.join(folder, name), 'wt') as f:
            f.write(usps_text(labels, digit_images(labels, 16, seed=seed)))


def write_svhn(folder, counts=(200, 60), seed=2):
    import scipy.io
    os.makedirs(folder, exist_ok=True)
    rng = np.random.RandomState(seed)
    for name, n in zip(['train_32x32.mat', 'test_32x32.mat'], counts):
        labels = rng.randint(0, 10, n)
        images = np.round(digit_images(labels, 32, 3, seed) * 255).astype(np.uint8)
        y = np.where(labels == 0, 10, labels).reshape(-1, 1).astype(np.uint8)
        scipy.io.savemat(os.path.join(folder, name), {'X': images.transpose(1, 2, 3, 0), 'y': y})


@pytest.fixture
def data_root(tmp_path, monkeypatch):
    """A data root with tiny mnist, usps and svhn files; ADDA_DATA_DIR points at it."""
    root = tmp_path / 'data'
    write_mnist(str(root / 'mnist'))
    write_usps(str(root / 'usps'))
    write_svhn(str(root / 'svhn'))
    monkeypatch.setenv('ADDA_DATA_DIR', str(root))
    return root


@pytest.fixture
def empty_root(tmp_path, monkeypatch):
    root = tmp_path / 'nodata'
    root.mkdir()
    monkeypatch.setenv('ADDA_DATA_DIR', str(root))
    return root


def task_script_env(tmp_path, data, seed, **settings):
    """The environment of a short task-script run (scripts/<task>.sh): ``data`` as
    ADDA_DATA_DIR, records and snapshots under ``tmp_path``, 20 + 20 iterations at batch 32
    with a snapshot every 10; ``settings`` add to it."""
    return dict(os.environ, ADDA_DATA_DIR=str(data), PYTHON=sys.executable, SEED=str(seed),
                RESULTS_DIR=str(tmp_path / 'results'), SNAPSHOT_DIR=str(tmp_path / 'snap'),
                SOURCE_ITERATIONS='20', ADAPT_ITERATIONS='20',
                TRAIN_ARGS='--snapshot 10 --batch_size 32', PYTHONIOENCODING='utf-8', **settings)


def run_task_script(name, env):
    """Runs scripts/<name>.sh in its own process; its output (stdout and stderr) when it
    succeeds, else the test fails with the output's end."""
    out = subprocess.run(['bash', os.path.join(ROOT, 'scripts', name + '.sh')], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, encoding='utf-8',
                         timeout=1200)
    assert out.returncode == 0, out.stdout[-4000:]
    return out.stdout


def run_tool_process(tool, *args, **kwargs):
    """Run tools/<tool>.py in a subprocess; returns the CompletedProcess (text output).

    For what only a real process shows: the entry point itself, signals, exit statuses as the
    shell sees them, what TensorFlow's C++ side prints."""
    env = dict(os.environ, PYTHONUNBUFFERED='1', PYTHONIOENCODING='utf-8', **kwargs.pop('env', {}))
    command = [sys.executable, os.path.join(ROOT, 'tools', tool + '.py')] + [str(a) for a in args]
    return subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          encoding='utf-8', env=env, cwd=kwargs.pop('cwd', ROOT),
                          timeout=kwargs.pop('timeout', 600))


def _cli_runner():
    from click.testing import CliRunner
    try:
        return CliRunner(mix_stderr=False)  # click < 8.2 mixes stderr into stdout by default
    except TypeError:
        return CliRunner()  # click >= 8.2 keeps them apart


def _flush_only(handler_refs=()):
    """logging.shutdown without the closing (its argument: weak references to handlers)."""
    for ref in handler_refs:
        handler = ref()
        if handler is not None:
            handler.flush()


def run_tool(tool, *args, **kwargs):
    """Run ``python tools/<tool>.py args`` in this process (adda.tools.<tool>.main through
    click's CliRunner): a CompletedProcess with its exit status and output, as run_tool_process
    gives, without starting Python and TensorFlow again.

    ``env`` adds environment variables and ``cwd`` sets the folder for the call; both, the
    environment the tool changes (CUDA_VISIBLE_DEVICES), sys.argv and the logging handlers are
    restored afterwards. An exception the tool lets through becomes its traceback on stderr
    and exit status 1, as in a process."""
    import importlib
    import logging
    import traceback
    kwargs.pop('timeout', None)
    assert 'PYTHONPATH' not in kwargs.get('env', {}), 'a PYTHONPATH needs run_tool_process'
    argv = [str(a) for a in args]
    main = importlib.import_module('adda.tools.' + tool).main
    saved_env, saved_cwd, saved_argv = dict(os.environ), os.getcwd(), sys.argv
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    saved_shutdown = logging.shutdown
    # The tool's logging.config.dictConfig closes every handler of the process; absl's (TF 1.15)
    # writes to the stream pytest captured at import, which closing would break for the rest of
    # the session (a process of its own has a real stderr, which handlers never close).
    logging.shutdown = _flush_only
    try:
        os.environ.update({k: str(v) for k, v in kwargs.pop('env', {}).items()})
        os.chdir(str(kwargs.pop('cwd', ROOT)))
        sys.argv = [os.path.join(ROOT, 'tools', tool + '.py')] + argv
        result = _cli_runner().invoke(main, argv, catch_exceptions=True)
        stdout, stderr, status = result.stdout, result.stderr, result.exit_code
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            stderr += 'Traceback (most recent call last):\n' + ''.join(
                traceback.format_exception(*result.exc_info))
            status = 1
    finally:
        logging.shutdown = saved_shutdown
        for handler in root.handlers:
            if handler not in saved_handlers:
                handler.close()
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        sys.argv = saved_argv
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
    assert not kwargs, 'unknown arguments: {}'.format(sorted(kwargs))
    return subprocess.CompletedProcess(['tools/{}.py'.format(tool)] + argv, status, stdout,
                                       stderr)


def describe_run(task, seed, env=None, prefix=None):
    """The run.yaml that scripts/<task>.sh writes for this run under ``env``."""
    env = dict(os.environ if env is None else env, SEED=str(seed), DESCRIBE_RUN='1')
    command = ['bash', os.path.join(ROOT, 'scripts', task + '.sh')] + ([prefix] if prefix else [])
    return subprocess.run(command, env=env, stdout=subprocess.PIPE, check=True,
                          universal_newlines=True).stdout


def snapshot_accuracy(prefix, dataset, split, root=None):
    """Accuracy of the LeNet snapshot at ``prefix`` (or the newest in a folder) on a split,
    computed here with a graph of its own (not the tools' evaluation graph): an independent
    check of what a tool reports."""
    import numpy as np
    from adda.checkpoints import resolve_weights, restore
    from adda.compat import tf
    from adda.data import get_split
    from adda.models import get_model_fn, preprocessing
    from adda.util import collect_vars
    model_fn = get_model_fn('lenet')
    data = get_split(dataset, split, **({'root': str(root)} if root else {}))
    with tf.Graph().as_default():
        images = tf.constant(data.images)
        logits, _ = model_fn(preprocessing(images, model_fn), scope='lenet', is_training=False)
        with tf.Session() as sess:
            restore(sess, collect_vars('lenet'), resolve_weights(str(prefix)))
            predicted = sess.run(tf.argmax(logits, -1))
    return float(np.mean(predicted == data.labels))


@pytest.fixture
def tf_graph():
    """A fresh default graph for in-process graph tests."""
    from adda.compat import tf
    with tf.Graph().as_default() as graph:
        yield graph


# The stand-in's forms (FAKE_NPU_FORM: the adapter releases they model, tests/standins) and how
# the project's NpuBridge.form names the loss scaling of each.
NPU_FORMS = collections.OrderedDict([('r1.2', 'v1'), ('r1.7', 'mid'), ('r1.9', 'mid'),
                                     ('r1.10', 'v2')])


@pytest.fixture(params=list(NPU_FORMS))
def npu_form(request, monkeypatch):
    """Each form of the stand-in npu_bridge in turn (FAKE_NPU_FORM, which tools started from
    the test inherit): r1.2, the 2020-21 adapter of the CANN 5.0.x images (the optimizer keeps
    its compute_gradients' status buffer); r1.7, stateless with the v1 status ops; r1.9, the same
    with the *_v2 ops registered and every Session made an NPU one; r1.10, the v2 status ops."""
    monkeypatch.setenv('FAKE_NPU_FORM', request.param)
    return request.param


@pytest.fixture
def npu(npu_form, monkeypatch):
    """The stand-in npu_bridge (tests/standins) of each form, importable in this process, as on
    an Ascend host, as the project sees it (adda.session.NpuBridge); tf.Session, which it
    replaces, is restored afterwards."""
    from adda.compat import tf
    session_class = tf.Session
    monkeypatch.syspath_prepend(os.path.join(ROOT, 'tests', 'standins'))
    from adda.session import NpuBridge
    yield NpuBridge()
    tf.Session = session_class
    for name in [n for n in sys.modules if n.split('.')[0] == 'npu_bridge']:
        del sys.modules[name]
