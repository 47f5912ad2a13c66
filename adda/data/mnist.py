"""MNIST from the four original IDX files (gzipped, big-endian)."""
import os
import struct

import numpy as np

from adda.data.dataset import DatasetGroup, ImageSplit, check_labels, read_file
from adda.data.download import fetch
from adda.data.registry import register_dataset
from adda.errors import DatasetError

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049


def parse_idx(data, magic, ndim, path):
    """Array stored in an IDX byte string: magic number, ``ndim`` sizes, then uint8 values."""
    header = 4 * (1 + ndim)
    if len(data) < header:
        raise DatasetError('{}: too short for an IDX header ({} bytes)'.format(path, len(data)))
    found, *shape = struct.unpack('>{}I'.format(1 + ndim), data[:header])
    if found != magic:
        raise DatasetError('{}: bad IDX magic number {} (expected {})'.format(path, found, magic))
    expected = int(np.prod(shape))
    if len(data) - header != expected:
        raise DatasetError('{}: header says {} values of shape {} but the file holds {}'.format(
            path, expected, tuple(shape), len(data) - header))
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


@register_dataset('mnist')
class MNIST(DatasetGroup):
    """LeCun et al.'s handwritten digits, 28x28 grey, 60000 train / 10000 test."""

    folder = 'mnist'
    mirrors = ['https://ossci-datasets.s3.amazonaws.com/mnist/',
               'https://storage.googleapis.com/cvdf-datasets/mnist/',
               'http://yann.lecun.com/exdb/mnist/']
    files = {'train': ('train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'),
             'test': ('t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz')}
    md5 = {'train-images-idx3-ubyte.gz': 'f68b3c2dcbeaaa9fbdd348bbdeb94873',
           'train-labels-idx1-ubyte.gz': 'd53e105ee54ea40749a09fcbcd1e9432',
           't10k-images-idx3-ubyte.gz': '9fb629c4189551a2d022fa330f9573f3',
           't10k-labels-idx1-ubyte.gz': 'ec29112dd5afa0611ce80d1b7f02629c'}

    def _fetch(self, name):
        return fetch(os.path.join(self.path, name), [m + name for m in self.mirrors],
                     md5=self.md5[name])

    def load(self, split):
        image_path, label_path = (self._fetch(name) for name in self.files[split])
        images = parse_idx(read_file(image_path), IMAGES_MAGIC, 3, image_path)
        labels = parse_idx(read_file(label_path), LABELS_MAGIC, 1, label_path).astype(np.int64)
        if len(images) != len(labels):
            raise DatasetError('{}: {} labels for {} images in {}'.format(
                label_path, len(labels), len(images), image_path))
        check_labels(labels, self.num_classes, label_path)
        images = images[..., np.newaxis].astype(np.float32) / 255.0
        return ImageSplit(images, labels, self.num_classes, 'mnist ' + split)
