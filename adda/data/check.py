"""The full check of datasets by name, decoding included: what ``python -m adda.data check``
prints, and what a pipeline calls in-process before training.

    report = check_datasets(['mnist', 'mine'])
    if report.status:
        raise report.error()  # one AddaError line: the first problem, or the missing files

First every dataset's files are looked for, without reading them (a missing built-in file
would be downloaded; a malformed folder or .npz file is a problem already). When nothing is
missing, every split is read: the built-in sets parsed, an image folder's every file decoded
(reading or filling its cache), an array file's arrays checked; each bad file is one problem,
and decoding goes on to find the others.
"""
import collections
import os

import numpy as np

from adda.data.dataset import describe_classes
from adda.data.images import MODEL_INPUT, REDUCE_ABOVE, reduced_size
from adda.data.registry import get_dataset
from adda.errors import AddaError, DatasetError

# Exit statuses of ``python -m adda.data check`` (and CheckReport.status).
OK, MISSING, MALFORMED = 0, 1, 2

# One split as read: images, labelled or not, classes (None: none known), the files' sizes
# ((height, width) smallest and largest, by area), how many were reduced when decoded, the
# decoded image shape (H, W, C) and, for an image folder, the cache ('read', 'written' or 'not
# written') and its path and the seconds decoding took (None when the cache was read).
SplitReport = collections.namedtuple(
    'SplitReport', 'split images labelled classes smallest largest reduced shape cached '
                   'cache seconds')


class DatasetReport(object):
    """What was found of one dataset: ``kind`` ('built-in set', 'image folder', 'array file';
    None for an unknown name), ``path``, ``missing`` files, ``problems`` (one line each) and
    ``splits`` (SplitReport, those that were read)."""

    def __init__(self, name):
        self.name = name
        self.kind = self.path = None
        self.missing, self.problems, self.splits = [], [], []

    def lines(self):
        """What was found; nothing for a dataset with problems (their lines say it)."""
        if self.kind is None or self.problems:
            return []
        lines = ['{}: {} {}'.format(self.name, self.kind, self.path)]
        lines += ['  ' + describe_split(split) for split in self.splits]
        return lines


class CheckReport(object):
    """DatasetReports by name, in the order asked; ``status``: OK (0), MISSING (1) when files
    are missing, MALFORMED (2) when a dataset is unknown or malformed (it wins over MISSING)."""

    def __init__(self, datasets):
        self.datasets = datasets

    @property
    def missing(self):
        return [path for dataset in self.datasets for path in dataset.missing]

    @property
    def problems(self):
        return [line for dataset in self.datasets for line in dataset.problems]

    @property
    def status(self):
        return MALFORMED if self.problems else MISSING if self.missing else OK

    def error(self):
        """None when all is well, else one AddaError line: the first problem (of how many), or
        the missing files."""
        problems, missing = self.problems, self.missing
        if problems:
            more = len(problems) - 1
            return DatasetError(problems[0] + (' (and {} more: python -m adda.data check {})'
                                               .format(more, ' '.join(d.name for d in
                                                                      self.datasets))
                                               if more else ''))
        if missing:
            return DatasetError('missing: {}'.format(', '.join(missing)))
        return None

    def lines(self):
        """What was found, a few lines per dataset."""
        return [line for dataset in self.datasets for line in dataset.lines()]


def check_datasets(names, decode=True, root=None):
    """CheckReport of the datasets ``names`` under ``root`` (the data root by default); with
    ``decode`` (the default), every split is read when no file is missing; else only the
    files are looked for. Never raises for a dataset's faults: they are in the report."""
    reports = [_find(name, root) for name in names]
    if decode and not any(report.missing for report, _ in reports):
        for report, dataset in reports:
            if dataset is not None and not report.problems:
                for split in dataset.splits:
                    found = dataset.check_load(split, report.problems)
                    if found is not None:
                        report.splits.append(split_report(dataset, split, found))
    return CheckReport([report for report, _ in reports])


def _find(name, root):
    """(DatasetReport, dataset or None): the dataset, its missing files, or the problem."""
    report = DatasetReport(name)
    try:
        dataset = get_dataset(name, root)
        report.kind = dataset.kind
        report.path = dataset.path + (os.sep if os.path.isdir(dataset.path) else '')
        report.missing = dataset.missing_files()
        if not report.missing:
            dataset.splits  # an own dataset's layout (which splits, labelled or not)
    except AddaError as e:
        report.problems.append(str(e))
        return report, None
    return report, dataset


def split_report(dataset, split, found):
    info = getattr(dataset, 'load_info', {}).get(split) or {}
    sizes = info.get('sizes')
    if sizes is None:  # the built-in sets and array files: the arrays are the files' images
        sizes = np.array([found.image_shape[:2]])
    areas = sizes[:, 0] * sizes[:, 1]
    reduced = sum(1 for height, width in sizes if reduced_size(width, height) is not None)
    return SplitReport(split, len(found), found.labelled, found.classes,
                       tuple(sizes[np.argmin(areas)]), tuple(sizes[np.argmax(areas)]), reduced,
                       tuple(found.image_shape), info.get('cached'), info.get('cache'),
                       info.get('seconds'))


def _size(size):
    return '{}x{}'.format(size[1], size[0])  # width x height, as image viewers say it


def describe_split(report):
    """'train: 60 images, labelled, classes 0 1 ... 9, 16x16 grey, cache read (<path>)'."""
    parts = ['{}: {} images'.format(report.split, report.images)]
    parts.append('labelled' if report.labelled else 'unlabelled')
    parts.append('classes {}'.format(describe_classes(report.classes)) if report.classes
                 else 'no classes (it takes its source\'s)')
    sizes = _size(report.smallest) + ('' if report.smallest == report.largest else
                                      ' to ' + _size(report.largest))
    colour = 'grey' if report.shape[2] == 1 else 'RGB'
    if report.reduced:
        sizes += ' ({} reduced to at most {}x{} when decoded: longer side above {})'.format(
            report.reduced, MODEL_INPUT, MODEL_INPUT, REDUCE_ABOVE)
    elif tuple(report.shape[:2]) != tuple(report.largest):
        sizes += ' (resized to {} on load)'.format(_size(report.shape))
    parts.append('{} {}'.format(sizes, colour))
    if report.cached == 'read':
        parts.append('cache read ({})'.format(report.cache))
    elif report.cached:
        parts.append('decoded in {:.1f} s, cache {} ({})'.format(report.seconds, report.cached,
                                                                report.cache))
    return ', '.join(parts)
