"""The steps of a task run (adda.run.Run): source training -> source-only evaluation ->
adaptation -> evaluation, and for a task that chooses, the label-free choice, its evaluation
and the curve. Each tool runs in a process of its own; the first that fails stops the
pipeline with its exit status. Ctrl-C and SIGTERM let the running tool save and start no
other. At the end, the summary lines read from the evaluation records.

A new step is a method of Pipeline called from ``steps``; an evaluation is ``evaluate(name,
weights)`` (records <name>_<split>.yaml). Before the first step, ``check_data`` makes sure the
data the run needs can be used (adda.run calls it before it writes anything).
"""
import collections
import os
import signal
import subprocess
import time

from adda import records
from adda.environment import ROOT, RunError
from adda.locks import FileLock

LOCKS = '.locks'  # <SNAPSHOT_DIR>/.locks/: the runs' and the shared source models' locks
TOOL_BATCH_SIZE = 50  # the training tools' --batch_size when their arguments give none


def say(text):
    print('\n==> {}'.format(text), flush=True)


class Signals(object):
    """SIGINT and SIGTERM stop the pipeline after the tool that runs (no further tool starts):
    SIGTERM goes on to that tool (it saves and stops); SIGINT, which a terminal gives the whole
    process group, reaches it by itself."""

    def __init__(self):
        self.child = None
        self.caught = None

    def _handle(self, signum, frame):
        self.caught = self.caught or signum
        if signum == signal.SIGTERM and self.child is not None and self.child.poll() is None:
            self.child.send_signal(signum)

    def __enter__(self):
        self._previous = {s: signal.signal(s, self._handle)
                          for s in (signal.SIGINT, signal.SIGTERM)}
        return self

    def __exit__(self, *exc):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


class Pipeline(object):
    """The steps of a Run, each tool a process; a failed tool stops it with its status."""

    def __init__(self, run, env):
        self.run, self.env = run, env
        self.python = run.settings['PYTHON']
        self.signals = None

    def tool(self, name, *args):
        command = [self.python, os.path.join('tools', name + '.py')] + [str(a) for a in args]
        if self.signals.caught is None:
            process = subprocess.Popen(command, env=self.env, cwd=ROOT)
            self.signals.child = process
            status = process.wait()
            self.signals.child = None
            if status:
                raise RunError(None, 128 - status if status < 0 else status)
        if self.signals.caught is not None:
            raise RunError(None, 128 + self.signals.caught)

    def evaluate(self, name, weights):
        """NAME_{train,test}.yaml: ``weights`` on the target's two splits (the protocol's
        reported split first)."""
        run = self.run
        for split in run.task.protocol.splits:
            say('Evaluating {} on {} {}'.format(name, run.task.target, split))
            self.tool('eval_classification', run.task.target, split, 'lenet', weights,
                      '--output', record_path(run, name, split), *run.device_args)

    def select(self):
        """The label-free choice, its evaluation, and every kept snapshot's accuracy."""
        run, task = self.run, self.run.task
        adapted = os.path.join(run.snapshot_dir, run.adapt_out)
        say('Choosing a snapshot of {} without target labels'.format(run.adapt_out))
        record = os.path.join(run.results, 'selection.yaml')
        self.tool('select_snapshot', task.source + ':train', task.target + ':train', 'lenet',
                  adapted, '--output', record, *run.device_args)
        try:
            chosen = records.read_record(record, 'chosen')['chosen']['path']
        except (KeyError, TypeError) as e:
            raise RunError('{}: has no chosen snapshot path ({})'.format(record, e))
        self.evaluate('selected', chosen)
        split = task.protocol.split
        say('Accuracy of every kept snapshot on {} {} (for the curves; labels used here '
            'only)'.format(task.target, split))
        self.tool('snapshot_curve', task.target, split, 'lenet', adapted, '--output',
                  os.path.join(run.results, task.curve_record + '.yaml'), *run.device_args)

    def train_source(self):
        run, task, snapshots = self.run, self.run.task, self.run.snapshot_dir
        say('Training the source model on {} train ({}, seed {})'.format(
            task.source, run.source_out, run.seed))
        # runs that share a source model (same name) train it once
        with FileLock(os.path.join(snapshots, LOCKS, run.source_out + '.lock')):
            self.tool('train', task.source, 'train', 'lenet', run.source_out,
                      *(run.source_args + ['--seed', run.seed, '--resume', '--snapshot_dir',
                                           snapshots] + run.device_args + run.train_args))

    def adapt(self):
        run, task, snapshots = self.run, self.run.task, self.run.snapshot_dir
        say('Adapting {} -> {} ({}, seed {})'.format(task.source, task.target, run.adapt_out,
                                                    run.seed))
        self.tool('train_adda', task.source + ':train', task.target + ':train', 'lenet',
                  run.adapt_out, '--weights', os.path.join(snapshots, run.source_out),
                  *(run.adapt_args + ['--seed', run.seed, '--resume', '--snapshot_dir',
                                      snapshots] + run.device_args + run.train_args))

    def steps(self):
        run = self.run
        self.train_source()
        self.evaluate('source_only', os.path.join(run.snapshot_dir, run.source_out))
        self.adapt()
        self.evaluate('adda', os.path.join(run.snapshot_dir, run.adapt_out))
        if run.task.select:
            self.select()

    def __call__(self):
        started = time.time()
        with Signals() as self.signals:
            self.steps()
        print_summary(self.run, 'after {} s'.format(int(time.time() - started)))


def record_path(run, name, split):
    """<RESULTS_DIR>/<run>/<name>_<split>.yaml: an evaluation record of the run."""
    return os.path.join(run.results, '{}_{}.yaml'.format(name, split))


def summary_rows(run):
    """[(label, [accuracy on each of the target's splits, the reported first])] from the
    run's evaluation records (DamagedRecord when one cannot be read)."""
    rows = [('Source only:', 'source_only'), ('ADDA:       ', 'adda')]
    if run.task.select:
        rows.append(('Chosen:     ', 'selected'))
    return [(label, [accuracy_of(record_path(run, name, split))
                     for split in run.task.protocol.splits]) for label, name in rows]


def finished_summary(run):
    """summary_rows of a run whose every evaluation record is there and readable, else None:
    such a run has nothing left to do."""
    if not run.finished():
        return None
    try:
        return summary_rows(run)
    except records.DamagedRecord:
        return None


def print_summary(run, when, rows=None):
    """The run's accuracies on the target's two splits (from its evaluation records unless
    ``rows`` has them): a line per model, 4 decimals. ``when``: the end of the header
    ('after 52 s')."""
    splits = run.task.protocol.splits
    say('{} ({}): accuracy on {} {} / {}, {}'.format(
        run.task.name, run.prefix, run.task.target, splits[0], splits[1], when))
    for label, values in (summary_rows(run) if rows is None else rows):
        print('{} {}'.format(label, ' / '.join(values)), flush=True)


def accuracy_of(path):
    """The accuracy of an evaluation record, as the summary shows it (4 decimals)."""
    return '{:.4f}'.format(records.read_number(path, 'accuracy'))


# --- the data, checked before any training ------------------------------------------------

def needed_splits(run):
    """(dataset, split) of every split the run reads, all labelled: the source's training split
    (and its test split, the label-free choice's held-out source split), the target's two
    (adapted to, and evaluated on, both)."""
    task = run.task
    needed = [(task.source, 'train')] + [(task.target, split) for split in task.protocol.splits]
    if task.select:
        needed.append((task.source, 'test'))
    return needed


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
    names = list(collections.OrderedDict.fromkeys(name for name, _ in needed_splits(run)))
    try:
        report = check_datasets(names, root=root)
        if report.missing:
            for name, split in needed_splits(run):
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
    from adda.data.dataset import describe_classes
    task = run.task
    found = read_splits(run, root)
    for name, split in needed_splits(run):
        if (name, split) not in found:
            raise RunError('{} has no {} split: a task run evaluates on the target\'s train and '
                           'test splits{}'.format(name, split, ' and holds out the source\'s '
                                                  'test split' if task.select else ''))
        if not found[name, split].labelled:
            raise RunError('{} {} has no labels: a task run trains on the source\'s and '
                           'evaluates on the target\'s (adapt to unlabelled images with '
                           'tools/train_adda.py)'.format(name, split))
    source, target = found[task.source, 'train'], found[task.target, 'train']
    if tuple(source.classes or ()) != tuple(target.classes or ()):
        raise RunError('source and target must have the same classes: {} has {} and {} has '
                       '{}'.format(task.source, describe_classes(source.classes or ()),
                                   task.target, describe_classes(target.classes or ())))
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

