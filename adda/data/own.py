"""What the datasets of one's own share (an image folder, adda.data.folders; an array file,
adda.data.arrays): their base class (which splits there are, which are labelled), class labels
from class names, and the classes a training run records in its config.yaml."""
import re

from adda.data.dataset import SPLITS, DatasetGroup
from adda.data.registry import get_dataset
from adda.errors import DatasetError

_NUMBER = re.compile(r'^[0-9]+$')
MAX_NUMBER = 999


LABELLED, UNLABELLED = 'labelled', 'unlabelled'


class OwnDataset(DatasetGroup):
    """A dataset of one's own ``name`` under the data root ``root``.

    Which splits it has and which are labelled comes from its listing (a folder's entries, an
    .npz file's member names), without decoding: ``survey() -> {split: LABELLED, UNLABELLED or
    None (absent)}``, which subclasses implement. A labelled dataset has both splits; one with
    an unlabelled split may lack the other (``absent_error(splits)``: the DatasetError of
    absent splits that must be there). ``classes`` comes from the labelled splits (None when
    none is).
    """

    own = True

    def __init__(self, name, root):
        super(OwnDataset, self).__init__(root)
        self.name = name
        self._kinds = None

    def survey(self):
        raise NotImplementedError

    def absent_error(self, splits):
        """The DatasetError for the absent ``splits`` of a dataset that must have them."""
        raise NotImplementedError

    def split_kinds(self):
        """{split: LABELLED, UNLABELLED or None}, checked: at least one split, and a split may
        be absent only beside an unlabelled one."""
        if self._kinds is None:
            kinds = self.survey()
            absent = [split for split in SPLITS if kinds[split] is None]
            if absent and UNLABELLED not in kinds.values():
                raise self.absent_error(absent)
            self._kinds = kinds
        return self._kinds

    def has_split(self, split):
        self.check_known(split)
        return self.split_kinds()[split] is not None

    def is_labelled(self, split):
        self.check_known(split)
        return self.split_kinds()[split] == LABELLED

    @property
    def labelled_splits(self):
        return [split for split in SPLITS if self.is_labelled(split)]

    @property
    def num_classes(self):
        return None if self.classes is None else len(self.classes)


def class_labels(names, where):
    """(classes by label, {folder name: label}): names that are all numbers take their value as
    label (a label no folder has is None in ``classes``), other names their sorted position."""
    if all(_NUMBER.match(name) for name in names):
        labels, by_label = {}, {}
        for name in sorted(names, key=int):
            label = int(name)
            if label in by_label:
                raise DatasetError('{}: class folders {} and {} both mean label {}'.format(
                    where, by_label[label], name, label))
            if label > MAX_NUMBER:
                raise DatasetError('{}: class folder {} means label {}: classes named by '
                                   'numbers take their number as label (at most {})'.format(
                                       where, name, label, MAX_NUMBER))
            labels[name], by_label[label] = label, name
        return [by_label.get(label) for label in range(max(by_label) + 1)], labels
    classes = sorted(names)
    return classes, {name: label for label, name in enumerate(classes)}


def own_classes(names, root=None):
    """name -> class names by label, for the datasets of one's own among ``names`` (what a
    training run records in config.yaml under ``classes``); an unlabelled dataset without
    classes (None) has no entry."""
    recorded = {}
    for name in names:
        dataset = get_dataset(name, root)
        if dataset.own and name not in recorded and dataset.classes is not None:
            recorded[name] = list(dataset.classes)
    return recorded


def run_classes(opts):
    """own_classes of a training run's datasets (train.py's dataset, train_adda.py's source
    and target, given as name:split), from the tool's options; a target of one's own whose
    split is unlabelled takes the source's classes (those the adapted model predicts)."""
    source, target = (str(opts.get(key) or '').split(':') for key in ('source', 'target'))
    names = [opts.get('dataset'), source[0], target[0]]
    recorded = own_classes([name for name in names if name])
    if source[0] and len(target) == 2 and get_dataset(target[0]).own and (
            target[0] not in recorded or not get_dataset(target[0]).is_labelled(target[1])):
        recorded[target[0]] = list(get_dataset(source[0]).classes)  # it learns the source's
    return recorded
