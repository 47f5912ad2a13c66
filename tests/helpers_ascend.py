"""Stand-ins for what only exists on Ascend / ModelArts, for the tests of the Ascend route.

- ``npu_bridge``: the stand-in package in tests/standins (see its npu_init): the adapter's
  API this project uses, iteration offload that really runs K steps per call on the CPU, loss
  scaling, and (with ``FAKE_NPU_RECORD``) records of each session's config, graph and loops.
- ``moxing``: ``mox.file.copy_parallel(src, dst)`` appends ``[src, dst]`` as a JSON line to
  ``FAKE_MOX_LOG`` and copies, reading ``obs://bucket/path`` as ``$FAKE_OBS_ROOT/bucket/path``.
- a fake Python for npu_train.sh: answers its TensorFlow check, records each tool call and
  writes what the tool would (an empty snapshot, an evaluation record).
"""
import glob
import json
import os
import stat
import sys

import numpy as np
import pytest

STANDINS = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'standins')

MOXING_FILE = '''\
"""Stand-in for moxing.file (tests only)."""
import json
import os
import shutil


def _local(url):
    if url.startswith('obs://'):
        return os.path.join(os.environ['FAKE_OBS_ROOT'], url[len('obs://'):])
    return url


def _copy_tree(src, dst):
    if not os.path.isdir(dst):
        os.makedirs(dst)
    for name in os.listdir(src):
        s, d = os.path.join(src, name), os.path.join(dst, name)
        if os.path.isdir(s):
            _copy_tree(s, d)
        else:
            shutil.copy2(s, d)


def copy_parallel(src_url, dst_url):
    with open(os.environ['FAKE_MOX_LOG'], 'a') as f:
        f.write(json.dumps([src_url, dst_url]) + '\\n')
    _copy_tree(_local(src_url), _local(dst_url))
'''

FAKE_PYTHON = '''\
#!{python}
"""Stands in for the tools' interpreter in npu_train.sh tests: records and fakes the tools."""
import json
import os
import sys

argv = sys.argv[1:]
if argv[:1] == ['-c']:
    print('Python 3.7.5, TensorFlow 1.15.0 (fake)')
    sys.exit(0)
if argv[:1] == ['-m']:  # the project's own modules (adda.run, adda.sweep): the real interpreter
    os.execv({python!r}, [{python!r}] + argv)
with open(os.environ['FAKE_PYTHON_LOG'], 'a') as f:
    f.write(json.dumps(argv) + '\\n')
tool = os.path.basename(argv[0])
if os.environ.get('FAKE_PYTHON_FAIL') == tool:
    print('Error: {{}} failed (fake)'.format(tool), file=sys.stderr)
    sys.exit(1)


def option(name):
    return argv[argv.index(name) + 1] if name in argv else None


if tool in ('train.py', 'train_adda.py'):
    folder = os.path.join(option('--snapshot_dir'), argv[4])
    if not os.path.isdir(folder):
        os.makedirs(folder)
    with open(os.path.join(folder, argv[4] + '-2.index'), 'w') as f:
        f.write('x' * int(os.environ.get('FAKE_SNAPSHOT_BYTES') or 0))
elif tool == 'estimate.py':
    pass
else:
    folder = os.path.dirname(option('--output'))
    if not os.path.isdir(folder):
        os.makedirs(folder)
    with open(option('--output'), 'w') as f:
        f.write('dataset: {{}}\\naccuracy: 0.5\\n'.format(argv[1]))
'''


def write_file(path, text, executable=False):
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        os.makedirs(folder)
    with open(path, 'w') as f:
        f.write(text)
    if executable:
        os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def write_npu_bridge(folder):
    """A copy of the stand-in npu_bridge package in ``folder`` (put ``folder`` on PYTHONPATH)."""
    import shutil
    shutil.copytree(os.path.join(STANDINS, 'npu_bridge'), os.path.join(folder, 'npu_bridge'),
                    ignore=shutil.ignore_patterns('__pycache__'))
    return folder


def recorded_graphs(folder):
    """The GraphDefs the stand-in npu_bridge recorded in ``folder``, oldest first."""
    from adda.compat import tf
    graphs = []
    for path in sorted(glob.glob(os.path.join(str(folder), 'graph-*.pb')),
                       key=os.path.getmtime):
        graph_def = tf.GraphDef()
        with open(path, 'rb') as f:
            graph_def.ParseFromString(f.read())
        graphs.append(graph_def)
    return graphs


def recorded_loops(folder):
    """Iterations per loop of every loop call the stand-in ran, per process: {pid: [K, ...]}."""
    loops = {}
    for path in glob.glob(os.path.join(str(folder), 'loops-*.txt')):
        pid = os.path.basename(path)[len('loops-'):-len('.txt')]
        with open(path) as f:
            loops[pid] = [int(line) for line in f if line.strip()]
    return loops


def write_moxing(folder):
    """A stand-in moxing package in ``folder`` (put ``folder`` on PYTHONPATH)."""
    write_file(os.path.join(folder, 'moxing', '__init__.py'), 'from moxing import file\n')
    write_file(os.path.join(folder, 'moxing', 'file.py'), MOXING_FILE)
    return folder


def write_fake_python(path):
    return write_file(path, FAKE_PYTHON.format(python=sys.executable), executable=True)


def with_pythonpath(env, *folders):
    """``env`` with ``folders`` in front of its PYTHONPATH."""
    env = dict(env)
    parts = list(folders) + ([env['PYTHONPATH']] if env.get('PYTHONPATH') else [])
    env['PYTHONPATH'] = os.pathsep.join(str(p) for p in parts)
    return env


def recorded_configs(folder):
    """The ConfigProtos the stand-in npu_bridge recorded in ``folder``, oldest first."""
    from adda.compat import tf
    configs = []
    for path in sorted(glob.glob(os.path.join(str(folder), 'session-*.pb')),
                       key=os.path.getmtime):
        with open(path, 'rb') as f:
            configs.append(tf.ConfigProto.FromString(f.read()))
    return configs


def npu_optimizer(config):
    """The NpuOptimizer entry of ``config``'s custom optimizers (AssertionError if none)."""
    found = [c for c in config.graph_options.rewrite_options.custom_optimizers
             if c.name == 'NpuOptimizer']
    assert len(found) == 1, config
    return found[0]


def read_json_lines(path):
    with open(str(path)) as f:
        return [json.loads(line) for line in f if line.strip()]


# --- frozen graphs (tools/export_graph.py) ---

def load_frozen(path):
    from adda.compat import tf
    graph_def = tf.GraphDef()
    with open(str(path), 'rb') as f:
        graph_def.ParseFromString(f.read())
    return graph_def


def snapshot_predictions(dataset, weights):
    """(predictions of the snapshot through the evaluation graph, preprocessed images)."""
    from adda.checkpoints import resolve_weights, restore
    from adda.compat import tf
    from adda.data import get_split
    from adda.graphs import EvalGraph
    from adda.models import get_model_fn, preprocessing
    data = get_split(dataset, 'test')
    model_fn = get_model_fn('lenet')
    with tf.Graph().as_default():
        graph = EvalGraph(data, model_fn, 1000, scope='lenet')
        images = preprocessing(tf.constant(data.images), model_fn)
        with tf.Session() as sess:
            restore(sess, graph.model_vars, resolve_weights(str(weights)))
            graph.batches.initialize(sess)
            predictions = np.concatenate([sess.run(graph.predictions)
                                          for _ in range(graph.batches.num_batches)])
            predictions = predictions[:len(data)]  # the last batch is padded
            return predictions, sess.run(images)


def frozen_predictions(graph_def, images, batch_size):
    from adda.compat import tf
    with tf.Graph().as_default() as graph:
        tf.import_graph_def(graph_def, name='')
        inputs = graph.get_tensor_by_name('input_image:0')
        output = graph.get_tensor_by_name('output:0')
        assert inputs.dtype == tf.float32
        assert inputs.shape.as_list() == [batch_size, 28, 28, 1]
        assert output.shape.as_list() == [batch_size]
        with tf.Session() as sess:
            return np.concatenate([sess.run(output, {inputs: images[i:i + batch_size]})
                                   for i in range(0, len(images), batch_size)])


@pytest.fixture
def npu_env(tmp_path, npu_form):
    """(variables to add to the environment, record folder): the stand-in npu_bridge (of each
    form, FAKE_NPU_FORM) is importable and records the session configs in the folder."""
    record = tmp_path / 'npu_record'
    record.mkdir()
    env = with_pythonpath({'PYTHONPATH': os.environ.get('PYTHONPATH', '')},
                          write_npu_bridge(str(tmp_path / 'standins')))
    env['FAKE_NPU_RECORD'] = str(record)
    return env, record
