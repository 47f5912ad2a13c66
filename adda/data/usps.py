"""USPS from the ESL ``zip.train.gz`` / ``zip.test.gz`` text files."""
import os

import numpy as np

from adda.data.dataset import DatasetGroup, ImageSplit, check_labels, read_file
from adda.data.download import fetch
from adda.data.registry import register_dataset
from adda.errors import DatasetError

SIDE = 16


def parse_usps(text, path):
    """Rows of ``label v1 .. v256`` with v in [-1, 1] -> (images in [0, 1], labels)."""
    rows = [line.split() for line in text.splitlines() if line.strip()]
    if not rows:
        raise DatasetError('{}: no images in the file'.format(path))
    for number, row in enumerate(rows, 1):
        if len(row) != 1 + SIDE * SIDE:
            raise DatasetError('{}: line {} has {} values (expected {})'.format(
                path, number, len(row), 1 + SIDE * SIDE))
    try:
        values = np.array(rows, dtype=np.float64)
    except ValueError as e:
        raise DatasetError('{}: not a number in the file ({})'.format(path, e))
    labels = values[:, 0]
    if not np.all(labels == np.round(labels)):
        raise DatasetError('{}: labels must be whole numbers'.format(path))
    pixels = values[:, 1:]
    if not np.all(np.abs(pixels) <= 1.0 + 1e-6):
        raise DatasetError('{}: pixel values outside [-1, 1] (found {:g}..{:g})'.format(
            path, pixels.min(), pixels.max()))
    images = np.clip((pixels + 1.0) / 2.0, 0.0, 1.0).reshape(-1, SIDE, SIDE, 1)
    return images.astype(np.float32), labels.astype(np.int64)


@register_dataset('usps')
class USPS(DatasetGroup):
    """USPS zip-code digits, 16x16 grey, 7291 train / 2007 test (the ESL distribution)."""

    folder = 'usps'
    url = 'https://hastie.su.domains/ElemStatLearn/datasets/'
    files = {'train': ('zip.train.gz',), 'test': ('zip.test.gz',)}
    sha256 = {'zip.train.gz': '66ebf231ab51f2cf6ac1a892d0f98ccffee1079d7a5db638c1f11f366046ca16',
              'zip.test.gz': '8dacc3c6e136af6c3488de9e5113a7daf140c8c2f1f0b61c54ee02f03f1a962f'}

    def load(self, split):
        (name,) = self.files[split]
        path = fetch(os.path.join(self.path, name), [self.url + name], sha256=self.sha256[name])
        try:
            text = read_file(path).decode('ascii')
        except UnicodeDecodeError:
            raise DatasetError('{}: not a text file'.format(path))
        images, labels = parse_usps(text, path)
        check_labels(labels, self.num_classes, path)
        return ImageSplit(images, labels, self.num_classes, 'usps ' + split)
