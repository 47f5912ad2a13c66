"""The one lookup of datasets by name.

The built-in sets register their class with ``@register_dataset(name)``; datasets of one's own
are found under the data root by the finders registered with ``register_finder`` (an image
folder, adda.data.folders; an array file, adda.data.arrays). ``get_dataset(name)`` asks the
built-in sets first, then each finder. This module imports none of the modules that register
with it: adda/data/__init__.py imports them, in the order the finders are asked.

A finder is an object with:

- ``kind``: what it finds, e.g. ``'image folder'``;
- ``path(name, root)``: where the dataset ``name`` would be;
- ``exists(name, root)``: whether it is there (nothing read but the directory entry);
- ``open(name, root)``: the DatasetGroup (its splits load on first use);
- ``shadowing(name, root)``: the paths that would make a built-in set's ``name`` also name a
  dataset of one's own;
- ``describe(name, root)``: how one would make it, for the unknown-name message;
- ``names(root)``: the names it finds under ``root``.
"""
import os

from adda.errors import AddaError, DatasetError

_datasets = {}
_finders = []


def data_root():
    """Where dataset folders live: $ADDA_DATA_DIR when set, else ./data."""
    return os.environ.get('ADDA_DATA_DIR') or 'data'


def register_dataset(name):
    """Class decorator: make a DatasetGroup subclass available as ``get_dataset(name)``."""
    def decorator(cls):
        _datasets[name] = cls
        cls.name = name
        return cls
    return decorator


def register_finder(finder):
    """Ask ``finder`` for the datasets of one's own (after the finders registered before)."""
    if finder not in _finders:
        _finders.append(finder)
    return finder


def dataset_names():
    """The built-in sets' names."""
    return sorted(_datasets)


def is_builtin(name):
    return name in _datasets


def plain_name(name):
    """A name that can be a dataset of one's own: no path separator, not hidden."""
    return bool(name) and not name.startswith('.') and '/' not in name and os.sep not in name


def own_dataset_names(root=None):
    """The names of the datasets of one's own under ``root`` (the data root by default)."""
    root = root or data_root()
    found = set()
    for finder in _finders:
        found.update(name for name in finder.names(root)
                     if plain_name(name) and name not in _datasets)
    return sorted(found)


def find_own(name, root):
    """The dataset of one's own named ``name`` under ``root``, else None; a name that two
    finders find (a folder and an .npz file) is a DatasetError."""
    if not plain_name(name):
        return None
    found = [finder for finder in _finders if finder.exists(name, root)]
    if len(found) > 1:
        raise DatasetError('{} both name a dataset {!r}: rename or remove one'.format(
            ' and '.join(finder.path(name, root) for finder in found), name))
    return found[0].open(name, root) if found else None


def get_dataset(name, root=None):
    """The dataset group registered as ``name``, else the dataset of one's own of that name
    under the data root; its splits load on first use."""
    root = root or data_root()
    if name in _datasets:
        shadowing = [path for finder in _finders for path in finder.shadowing(name, root)]
        if shadowing:
            raise DatasetError('{}: {!r} is a built-in dataset; give your dataset another name'
                               .format(shadowing[0], name))
        return _datasets[name](root)
    found = find_own(name, root)
    if found is None:
        raise AddaError('unknown dataset {!r} (known: {}); a dataset of your own is {}'.format(
            name, ', '.join(dataset_names() + own_dataset_names(root)),
            ' or '.join(finder.describe(name, root) for finder in _finders)))
    return found


def get_split(name, split, root=None):
    return get_dataset(name, root).split(split)
