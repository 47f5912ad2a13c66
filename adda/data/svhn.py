"""SVHN cropped digits from the Stanford ``train_32x32.mat`` / ``test_32x32.mat`` files."""
import os

import numpy as np

from adda.data.dataset import DatasetGroup, ImageSplit, check_labels
from adda.data.download import fetch
from adda.data.registry import register_dataset
from adda.errors import DatasetError


def read_svhn_mat(path):
    """(images in [0, 1] NHWC RGB, labels 0-9) from a .mat with X (32, 32, 3, N) and y (N, 1)."""
    import scipy.io
    try:
        mat = scipy.io.loadmat(path)
    except Exception as e:  # scipy raises ValueError, TypeError, MatReadError... for bad files
        raise DatasetError('{}: not a readable MATLAB file ({})'.format(path, e))
    missing = [key for key in ('X', 'y') if key not in mat]
    if missing:
        raise DatasetError('{}: no variable {} in the file'.format(path, ' or '.join(missing)))
    x, y = mat['X'], np.asarray(mat['y']).reshape(-1)
    if x.ndim != 4 or x.shape[2] != 3 or x.shape[3] != len(y):
        raise DatasetError('{}: X has shape {} and y {} values; expected X (H, W, 3, N) and N '
                           'labels'.format(path, x.shape, len(y)))
    if len(y) and (y.min() < 1 or y.max() > 10):
        raise DatasetError('{}: labels out of range (found {}..{}, expected 1..10)'.format(
            path, y.min(), y.max()))
    images = np.transpose(x, (3, 0, 1, 2)).astype(np.float32) / 255.0
    return images, (y % 10).astype(np.int64)


@register_dataset('svhn')
class SVHN(DatasetGroup):
    """Street View House Numbers, 32x32 RGB, 73257 train / 26032 test; label 10 is digit 0."""

    folder = 'svhn'
    url = 'http://ufldl.stanford.edu/housenumbers/'
    files = {'train': ('train_32x32.mat',), 'test': ('test_32x32.mat',)}
    md5 = {'train_32x32.mat': 'e26dedcc434d2e4c54c9b2d4a06d8373',
           'test_32x32.mat': 'eb5a983be6a315427106f1b164d9cef3'}

    def load(self, split):
        (name,) = self.files[split]
        path = fetch(os.path.join(self.path, name), [self.url + name], md5=self.md5[name])
        images, labels = read_svhn_mat(path)
        check_labels(labels, self.num_classes, path)
        return ImageSplit(images, labels, self.num_classes, 'svhn ' + split)
