"""Helpers and fixtures of the tests of datasets of one's own: part of the real MNIST and USPS
files (from $ADDA_DATA_DIR, else ../shared/data) written as image folders, .npz files and the
built-in sets' own formats."""
import os

import numpy as np
import pytest

from adda.data import get_dataset, get_split
from adda.errors import DatasetError
from conftest import SHARED_DATA, require, write_idx

REAL = os.environ.get('ADDA_DATA_DIR') or SHARED_DATA
_real = {}


def real_split(name, split):
    if (name, split) not in _real:
        require(os.path.isdir(os.path.join(REAL, name)),
                'needs the real {} files in {} (set ADDA_DATA_DIR)'.format(name, REAL))
        _real[(name, split)] = get_dataset(name, root=REAL).split(split)
    return _real[(name, split)]


def part_order(name, split, count):
    """The first ``count`` images of a real split in the order an image folder lists them:
    class by class, stable (within a class, the file's order)."""
    return np.argsort(real_split(name, split).labels[:count], kind='stable')


def real_part(name, split, count):
    """uint8 pixels (N x H x W, rounded for USPS) and labels of the first ``count`` images of
    a real split, class by class."""
    data, order = real_split(name, split), part_order(name, split, count)
    pixels = np.round(data.images[:count][order, ..., 0] * 255).astype(np.uint8)
    return pixels, data.labels[:count][order]


def real_images(name, split, count):
    return real_split(name, split).images[:count][part_order(name, split, count)]


@pytest.fixture
def root(tmp_path, monkeypatch):
    """An empty data root and cache folder of the test's own (ADDA_DATA_DIR, ADDA_CACHE_DIR)."""
    data = tmp_path / 'data'
    data.mkdir()
    monkeypatch.setenv('ADDA_DATA_DIR', str(data))
    monkeypatch.setenv('ADDA_CACHE_DIR', str(tmp_path / 'cache'))
    monkeypatch.chdir(str(tmp_path))
    return data


def write_folder(folder, splits, formats=('png',), names=str):
    """splits: split -> (uint8 N x H x W or N x H x W x 3 pixels, labels); the file format of
    the i-th image is formats[i % len(formats)]; names(label) is its class folder."""
    from PIL import Image
    for split, (pixels, labels) in splits.items():
        for i, (image, label) in enumerate(zip(pixels, labels)):
            path = os.path.join(str(folder), split, names(label),
                                '{:05d}.{}'.format(i, formats[i % len(formats)]))
            if not os.path.isdir(os.path.dirname(path)):
                os.makedirs(os.path.dirname(path))
            Image.fromarray(image).save(path)


def write_mnist_files(folder, splits):
    os.makedirs(str(folder))
    for split, (images, labels) in splits.items():
        stem = 'train' if split == 'train' else 't10k'
        write_idx(os.path.join(str(folder), stem + '-images-idx3-ubyte.gz'), images, 2051)
        write_idx(os.path.join(str(folder), stem + '-labels-idx1-ubyte.gz'), labels, 2049)


def write_usps_files(folder, splits):
    """The ESL text format with values that are exactly the 8-bit pixels (v = 2 k / 255 - 1)."""
    import gzip
    os.makedirs(str(folder))
    for split, (pixels, labels) in splits.items():
        with gzip.open(os.path.join(str(folder), 'zip.{}.gz'.format(split)), 'wt') as f:
            for image, label in zip(pixels, labels):
                values = [repr(2 * (int(k) / 255.0) - 1) for k in image.reshape(-1)]
                f.write(' '.join(['{}.0000'.format(label)] + values) + '\n')


def write_svhn_files(folder, splits):
    import scipy.io
    os.makedirs(str(folder))
    for split, (pixels, labels) in splits.items():
        y = np.where(labels == 0, 10, labels).reshape(-1, 1).astype(np.uint8)
        scipy.io.savemat(os.path.join(str(folder), '{}_32x32.mat'.format(split)),
                         {'X': pixels.transpose(1, 2, 3, 0), 'y': y})


def write_npz(path, splits, **extra):
    arrays = dict(extra)
    for split, (images, labels) in splits.items():
        arrays['x_' + split], arrays['y_' + split] = images, labels
    np.savez(str(path), **arrays)


def preprocessed(split):
    """The split's images as the model sees them (adda.models.preprocessing)."""
    from adda.compat import tf
    from adda.models import get_model_fn, preprocessing
    with tf.Graph().as_default():
        images = preprocessing(tf.constant(split.images), get_model_fn('lenet'))
        with tf.Session() as sess:
            return sess.run(images)


def assert_same_split(own, builtin):
    assert own.images.dtype == builtin.images.dtype == np.float32
    np.testing.assert_array_equal(own.images, builtin.images)
    np.testing.assert_array_equal(own.labels, builtin.labels)
    assert own.num_classes == builtin.num_classes and own.classes == builtin.classes


def mnist_part():
    return {'train': real_part('mnist', 'train', 300), 'test': real_part('mnist', 'test', 100)}


def usps_part():
    return {'train': real_part('usps', 'train', 300), 'test': real_part('usps', 'test', 100)}


def coloured(pixels, side=32):
    """Grey digits as RGB of another size: resized with Pillow, ink red, background blue."""
    from PIL import Image
    grey = np.stack([np.asarray(Image.fromarray(p).resize((side, side), Image.BILINEAR))
                     for p in pixels]).astype(np.float64)
    rgb = np.stack([grey, 0.4 * grey + 30, 200 - 0.7 * grey], axis=-1)
    return np.round(rgb).astype(np.uint8)


def rgb_part():
    return {split: (coloured(pixels), labels) for split, (pixels, labels) in mnist_part().items()}


def one_error(root, name, split='train'):
    """The message of the DatasetError a split of ``name`` raises: one line."""
    with pytest.raises(DatasetError) as info:
        get_split(name, split)
    message = str(info.value)
    assert '\n' not in message
    return message


@pytest.fixture
def small(root):
    """A good folder ``mine`` (60 USPS images per split)."""
    pixels, labels = real_part('usps', 'test', 60)
    write_folder(root / 'mine', {'train': (pixels, labels), 'test': (pixels, labels)})
    return root / 'mine'
