"""Dataset parsers, the registry, subsets, downloads and every corrupt-input case."""
import gzip
import hashlib
import os
import struct
import subprocess
import sys

import numpy as np
import pytest

from adda.data import get_dataset, get_split
from adda.data.download import fetch
from adda.data.subsets import subset_indices
from adda.errors import AddaError, DatasetError
from conftest import (ROOT, SHARED_DATA, digit_images, require, usps_text, write_idx,
                      write_mnist)


def test_mnist_parses_idx_files(data_root):
    train = get_dataset('mnist').train
    assert train.images.shape == (300, 28, 28, 1) and train.images.dtype == np.float32
    assert train.labels.dtype == np.int64 and len(train) == 300
    assert train.images.min() >= 0 and train.images.max() == 1.0
    # the lit square of each class survives the uint8 round trip
    expected = np.round(digit_images(train.labels, 28)[..., 0] * 255) / 255
    np.testing.assert_allclose(train.images[..., 0], expected, atol=1e-6)
    assert train.num_classes == 10 and len(get_dataset('mnist').test) == 100


def test_usps_maps_minus_one_one_to_zero_one(data_root):
    train = get_dataset('usps').train
    assert train.images.shape == (300, 16, 16, 1)
    expected = digit_images(train.labels, 16, seed=1)
    np.testing.assert_allclose(train.images, expected, atol=1e-4)


def test_svhn_transposes_and_maps_label_ten_to_zero(data_root):
    train = get_dataset('svhn').train
    assert train.images.shape == (200, 32, 32, 3) and train.num_classes == 10
    assert 0 in train.labels and train.labels.max() <= 9
    expected = np.round(digit_images(train.labels, 32, 3, seed=2) * 255) / 255
    np.testing.assert_allclose(train.images, expected, atol=1e-6)


def test_subsets_are_fixed_and_test_split_is_full(data_root):
    with pytest.raises(DatasetError):  # 300 tiny images cannot give 2000
        get_dataset('mnist2000').train
    indices = subset_indices(60000, 2000)
    assert len(set(indices)) == 2000 and np.all(np.diff(indices) > 0)
    assert len(get_dataset('usps1800').test) == 100


def test_subset_is_the_same_in_another_process():
    code = ('import sys; sys.path.insert(0, {!r}); from adda.data.subsets import subset_indices;'
            'print(subset_indices(7291, 1800).sum())').format(ROOT)
    sums = {subprocess.check_output([sys.executable, '-c', code],
                                    env=dict(os.environ, PYTHONHASHSEED=str(seed))).strip()
            for seed in (1, 2)}
    assert sums == {str(subset_indices(7291, 1800).sum()).encode()}


def test_unknown_names_are_errors(data_root):
    with pytest.raises(AddaError, match="unknown dataset 'mnsit'"):
        get_dataset('mnsit')
    with pytest.raises(AddaError, match="unknown split 'val'"):
        get_split('mnist', 'val')


def test_data_root_defaults_to_data(monkeypatch):
    from adda.data import data_root
    monkeypatch.delenv('ADDA_DATA_DIR', raising=False)
    assert data_root() == 'data'
    monkeypatch.setenv('ADDA_DATA_DIR', '/x')
    assert get_dataset('usps').path == os.path.join('/x', 'usps')


# --- downloads ------------------------------------------------------------------------------

def test_fetch_downloads_verifies_and_renames(tmp_path):
    source = tmp_path / 'remote.bin'
    source.write_bytes(b'digits' * 1000)
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    dest = tmp_path / 'data' / 'usps' / 'zip.train.gz'
    assert fetch(str(dest), ['file://' + str(source)], sha256=digest) == str(dest)
    assert dest.read_bytes() == source.read_bytes()
    assert os.listdir(str(dest.parent)) == ['zip.train.gz']


def test_fetch_tries_the_next_mirror(tmp_path):
    source = tmp_path / 'remote.bin'
    source.write_bytes(b'ok')
    dest = tmp_path / 'f'
    fetch(str(dest), ['file://' + str(tmp_path / 'absent'), 'file://' + str(source)],
          md5=hashlib.md5(b'ok').hexdigest())
    assert dest.read_bytes() == b'ok'


def test_fetch_checksum_mismatch_leaves_nothing(tmp_path):
    source = tmp_path / 'remote.bin'
    source.write_bytes(b'tampered')
    folder = tmp_path / 'mnist'
    with pytest.raises(DatasetError, match='md5 checksum mismatch'):
        fetch(str(folder / 'f.gz'), ['file://' + str(source)], md5='0' * 32)
    assert os.listdir(str(folder)) == []


def test_missing_file_without_network_names_file_folder_and_url(empty_root):
    from adda.data.usps import USPS
    USPS.url = 'http://127.0.0.1:9/'  # nothing listens on port 9
    try:
        with pytest.raises(DatasetError) as info:
            get_dataset('usps').train
    finally:
        USPS.url = 'https://hastie.su.domains/ElemStatLearn/datasets/'
    message = str(info.value)
    assert 'zip.train.gz' in message and str(empty_root / 'usps') in message
    assert 'http://127.0.0.1:9/zip.train.gz' in message and '\n' not in message
    assert os.listdir(str(empty_root / 'usps')) == []


# --- corrupt input --------------------------------------------------------------------------

def mnist_file(root, name):
    return str(root / 'mnist' / name)


def test_bad_idx_magic(data_root):
    write_idx(mnist_file(data_root, 'train-images-idx3-ubyte.gz'), np.zeros((3, 28, 28)), 2049)
    with pytest.raises(DatasetError, match='bad IDX magic number 2049 .expected 2051.'):
        get_dataset('mnist').train


def test_truncated_gzip(data_root):
    path = mnist_file(data_root, 'train-labels-idx1-ubyte.gz')
    with open(path, 'rb') as f:
        data = f.read()
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])
    with pytest.raises(DatasetError, match='truncated or corrupt') as info:
        get_dataset('mnist').train
    assert path in str(info.value)


def test_idx_header_disagrees_with_payload(data_root):
    path = mnist_file(data_root, 't10k-images-idx3-ubyte.gz')
    with gzip.open(path, 'wb') as f:
        f.write(struct.pack('>4I', 2051, 10, 28, 28) + b'\0' * (28 * 28 * 9))
    with pytest.raises(DatasetError, match='header says 7840 values .* holds 7056'):
        get_dataset('mnist').test


def test_image_and_label_counts_differ(data_root):
    write_idx(mnist_file(data_root, 't10k-labels-idx1-ubyte.gz'), np.zeros(99), 2049)
    with pytest.raises(DatasetError, match='99 labels for 100 images'):
        get_dataset('mnist').test


def test_mnist_labels_out_of_range(data_root):
    write_idx(mnist_file(data_root, 't10k-labels-idx1-ubyte.gz'), np.full(100, 12), 2049)
    with pytest.raises(DatasetError, match='labels out of range'):
        get_dataset('mnist').test


def write_usps_train(root, text):
    with gzip.open(str(root / 'usps' / 'zip.train.gz'), 'wt') as f:
        f.write(text)


def test_usps_wrong_number_of_values(data_root):
    write_usps_train(data_root, usps_text([1], digit_images([1], 16)) + '3.0 0.5 0.5\n')
    with pytest.raises(DatasetError, match='line 2 has 3 values .expected 257.'):
        get_dataset('usps').train


def test_usps_labels_and_values_out_of_range(data_root):
    write_usps_train(data_root, usps_text([11], digit_images([1], 16)))
    with pytest.raises(DatasetError, match='labels out of range'):
        get_dataset('usps').train
    write_usps_train(data_root, usps_text([1], digit_images([1], 16) * 3))
    with pytest.raises(DatasetError, match=r'outside \[-1, 1\]'):
        get_dataset('usps').train


def test_usps_not_numbers(data_root):
    write_usps_train(data_root, ' '.join(['x'] * 257) + '\n')
    with pytest.raises(DatasetError, match='not a number'):
        get_dataset('usps').train


def test_mat_without_x_or_y(data_root):
    import scipy.io
    scipy.io.savemat(str(data_root / 'svhn' / 'test_32x32.mat'), {'X': np.zeros((32, 32, 3, 2))})
    with pytest.raises(DatasetError, match='no variable y'):
        get_dataset('svhn').test


def test_mat_with_wrong_shape_or_labels(data_root):
    import scipy.io
    path = str(data_root / 'svhn' / 'test_32x32.mat')
    scipy.io.savemat(path, {'X': np.zeros((32, 32, 2)), 'y': np.ones((2, 1))})
    with pytest.raises(DatasetError, match='expected X .H, W, 3, N.'):
        get_dataset('svhn').test
    scipy.io.savemat(path, {'X': np.zeros((32, 32, 3, 2)), 'y': np.array([[0], [3]])})
    with pytest.raises(DatasetError, match='expected 1..10'):
        get_dataset('svhn').test


def test_not_a_mat_file(data_root):
    with open(str(data_root / 'svhn' / 'train_32x32.mat'), 'wb') as f:
        f.write(b'this is not matlab')
    with pytest.raises(DatasetError, match='not a readable MATLAB file'):
        get_dataset('svhn').train


# --- the real data --------------------------------------------------------------------------

def test_real_mnist_and_usps_counts(monkeypatch):
    require(os.path.isdir(os.path.join(SHARED_DATA, 'mnist')), '../shared/data is not here')
    monkeypatch.setenv('ADDA_DATA_DIR', SHARED_DATA)
    mnist, usps = get_dataset('mnist'), get_dataset('usps')
    assert (len(mnist.train), len(mnist.test)) == (60000, 10000)
    assert mnist.train.class_counts().tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918,
                                                   6265, 5851, 5949]
    assert mnist.test.class_counts().tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028,
                                                  974, 1009]
    assert mnist.train.labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert (len(usps.train), len(usps.test)) == (7291, 2007)
    assert usps.train.class_counts().tolist() == [1194, 1005, 731, 658, 652, 556, 664, 645, 542,
                                                  644]
    assert usps.test.class_counts().tolist() == [359, 264, 198, 166, 200, 160, 170, 147, 166, 177]
    assert usps.train.labels[:10].tolist() == [6, 5, 4, 7, 3, 6, 3, 1, 0, 1]
    assert 0 <= usps.train.images.min() and usps.train.images.max() <= 1
    assert len(get_dataset('mnist2000').train) == 2000
    assert len(get_dataset('usps1800').train) == 1800


# --- the package's structure ------------------------------------------------------------------

def data_imports():
    """module -> the adda.data modules it imports (any import statement, at any depth)."""
    import ast
    folder = os.path.join(ROOT, 'adda', 'data')
    graph = {}
    for name in sorted(os.listdir(folder)):
        if not name.endswith('.py') or name == '__init__.py':
            continue
        module = 'adda.data.' + name[:-3]
        with open(os.path.join(folder, name)) as f:
            tree = ast.parse(f.read())
        found = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == 'adda.data':
                found.update('adda.data.' + alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and (node.module or '').startswith('adda.data.'):
                found.add(node.module)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names
                             if alias.name.startswith('adda.data.'))
        graph[module] = found
    return graph


def test_no_module_of_the_data_package_imports_one_that_imports_it():
    graph = data_imports()
    assert 'adda.data.registry' in graph and not graph['adda.data.registry']

    def reachable(start):
        seen, todo = set(), [start]
        while todo:
            for nxt in graph.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen
    cycles = [module for module in graph if module in reachable(module)]
    assert cycles == []
    # the finders register with the registry; the registry reaches none of them
    assert {'adda.data.folders', 'adda.data.arrays'} <= {
        m for m in graph if 'adda.data.registry' in graph[m]}
    assert not [m for m in graph if 'adda.data.custom' in graph[m]]
