"""The data a task run needs (adda.run.Run), checked before any training: which splits it
reads, which of the target's it measures, and ``check_data``, the one place that asks the data
package whether they can be used (adda.data.check)."""
import collections

from adda.environment import RunError

TOOL_BATCH_SIZE = 50  # the training tools' --batch_size when their arguments give none


def needed_splits(run):
    """(dataset, split) of every split the run must have, labelled: the source's training split
    and its test split (the label-free choice's held-out source split)."""
    task = run.task
    needed = [(task.source, 'train')]
    if task.select:
        needed.append((task.source, 'test'))
    return needed


def target_splits(run):
    """The target's splits the run uses, the protocol's reported one first: its training split
    (adapted to), which it must have, and its test split when it has one. Labelled or not:
    an unlabelled split is not measured but predicted and estimated."""
    return tuple(split for split in run.task.protocol.splits
                 if split == 'train' or (run.task.target, split) in _dataset_splits(run))


def _dataset_splits(run):
    from adda.data import get_dataset
    dataset = get_dataset(run.task.target)
    return {(run.task.target, split) for split in dataset.splits}


def measured_splits(run):
    """The target's splits with labels: where the run measures its accuracy."""
    from adda.data import get_dataset
    dataset = get_dataset(run.task.target)
    return tuple(split for split in target_splits(run) if dataset.is_labelled(split))


def option_value(args, name, default=None):
    """The value of the last ``name`` option in tool arguments ``args``, else ``default``."""
    value = default
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith(name + '='):
            value = arg[len(name) + 1:]
    return value


def batch_sizes(run):
    """(source training's, adaptation's) --batch_size, TRAIN_ARGS last (they win); None for
    one that is not a whole number (the tool says so)."""
    sizes = []
    for args in (run.source_args, run.adapt_args):
        text = str(option_value(args + run.train_args, '--batch_size', TOOL_BATCH_SIZE))
        sizes.append(int(text) if text.isdigit() else None)
    return tuple(sizes)


def read_splits(run, root=None):
    """{(dataset, split): adda.data.check.SplitReport} of the run's datasets, every file read
    and decoded (an image folder's cache filled); a built-in set's missing file downloaded as
    the tools would (or, offline, named). RunError (one line) for what cannot be used.

    The one place that asks the data package (adda.data.check.check_datasets)."""
    from adda.data import get_split
    from adda.data.check import check_datasets
    from adda.errors import AddaError
    names = list(collections.OrderedDict.fromkeys(
        [name for name, _ in needed_splits(run)] + [run.task.target]))
    try:
        report = check_datasets(names, root=root)
        if report.missing:
            for name, split in needed_splits(run) + [(run.task.target, split) for split in
                                                     target_splits(run)]:
                get_split(name, split, root)  # downloads, or names the file that is missing
            report = check_datasets(names, root=root)
    except AddaError as e:
        raise RunError(str(e))
    if report.status:
        raise RunError(str(report.error()))
    return {(dataset.name, found.split): found for dataset in report.datasets
            for found in dataset.splits}


def check_data(run, root=None):
    """Before any training: every split the run needs (needed_splits) is there, readable,
    decoded and labelled; source and target have the same classes; each training split holds
    at least a batch. RunError (status 1), one line, otherwise. Returns a line saying what
    was found. ``root``: the data root (default $ADDA_DATA_DIR, else ./data)."""
    from adda.data.dataset import describe_classes, same_classes
    task = run.task
    found = read_splits(run, root)
    for name, split in needed_splits(run):
        if (name, split) not in found:
            raise RunError('{} has no {} split: a task run trains on the source\'s train split'
                           '{}'.format(name, split, ' and holds out its test split' if
                                       task.select else ''))
        if not found[name, split].labelled:
            raise RunError('{} {} has no labels: a source must be labelled (a model learns its '
                           'classes from it); {} can be the target'.format(name, split, name))
    if (task.target, 'train') not in found:
        raise RunError('{} has no train split: the adaptation learns from the target\'s '
                       'training images (labelled or not)'.format(task.target))
    source = found[task.source, 'train']
    labelled = [found[task.target, s] for s in ('train', 'test') if (task.target, s) in found
                and found[task.target, s].classes is not None]
    for split in labelled:
        if not same_classes(source.classes, split.classes):
            raise RunError('source and target must have the same classes: {} has {} and {} '
                           'has {}'.format(task.source, describe_classes(source.classes),
                                           task.target, describe_classes(split.classes)))
    source_batch, adapt_batch = batch_sizes(run)
    for name, batch, what in ((task.source, source_batch, 'source training'),
                              (task.source, adapt_batch, 'the adaptation'),
                              (task.target, adapt_batch, 'the adaptation')):
        if batch is not None and found[name, 'train'].images < batch:
            raise RunError('{} train has {} images, fewer than a batch of {} (the --batch_size '
                           'of {}): give TRAIN_ARGS a smaller --batch_size'.format(
                               name, found[name, 'train'].images, batch, what))
    return 'Checked the data: {} ({}), {} ({}); classes {}'.format(
        task.source, _counts(found, task.source), task.target, _counts(found, task.target),
        describe_classes(source.classes))


def _counts(found, name):
    return ', '.join('{} {} images'.format(split, found[name, split].images)
                     for split in ('train', 'test') if (name, split) in found)

