"""Fixtures: tiny datasets written in each real file format, and a way to run the tools."""
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


def run_tool(tool, *args, **kwargs):
    """Run tools/<tool>.py in a subprocess; returns the CompletedProcess (text output)."""
    env = dict(os.environ, PYTHONUNBUFFERED='1', PYTHONIOENCODING='utf-8', **kwargs.pop('env', {}))
    command = [sys.executable, os.path.join(ROOT, 'tools', tool + '.py')] + [str(a) for a in args]
    return subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          encoding='utf-8', env=env, cwd=kwargs.pop('cwd', ROOT),
                          timeout=kwargs.pop('timeout', 600))


def describe_run(task, seed, env=None, prefix=None):
    """The run.yaml that scripts/<task>.sh writes for this run under ``env``."""
    env = dict(os.environ if env is None else env, SEED=str(seed), DESCRIBE_RUN='1')
    command = ['bash', os.path.join(ROOT, 'scripts', task + '.sh')] + ([prefix] if prefix else [])
    return subprocess.run(command, env=env, stdout=subprocess.PIPE, check=True,
                          universal_newlines=True).stdout


@pytest.fixture
def tf_graph():
    """A fresh default graph for in-process graph tests."""
    from adda.compat import tf
    with tf.Graph().as_default() as graph:
        yield graph


@pytest.fixture(params=['v1', 'v2'])
def npu_form(request, monkeypatch):
    """Each form of the stand-in npu_bridge in turn (FAKE_NPU_FORM, which tools started from
    the test inherit): v1, the 2020-21 adapter of the CANN 5.0.x images; v2, the later one."""
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
