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
        self.child([self.python, os.path.join('tools', name + '.py')] + [str(a) for a in args],
                   self.env)

    def evaluate(self, name, weights):
        """NAME_{train,test}.yaml: ``weights`` on the target's labelled splits (the protocol's
        reported split first); an unlabelled one is skipped with a line saying so."""
        run = self.run
        for split in target_splits(run):
            if split not in measured_splits(run):
                say('Not evaluating {} on {} {}: it has no labels (its accuracy is estimated '
                    'at the end)'.format(name, run.task.target, split))
                continue
            say('Evaluating {} on {} {}'.format(name, run.task.target, split))
            self.tool('eval_classification', run.task.target, split, 'lenet', weights,
                      '--output', record_path(run, name, split), *run.device_args)

    def predict(self, weights):
        """predictions_<split>.csv: the class ``weights`` (the reported model) predicts for
        every image of each of the target's splits."""
        run = self.run
        for split in target_splits(run):
            say('Predicting the class of every image of {} {}'.format(run.task.target, split))
            self.tool('predict', 'lenet', weights, '{}:{}'.format(run.task.target, split),
                      '--output', predictions_path(run, split), *run.device_args)

    def estimate(self):
        """estimate_<split>.yaml: the accuracy without target labels, from the run's twin (an
        independent run of the task, adda.twins); the twin is made first when it is not there
        and ESTIMATE asks for it (auto: when a target split has no labels)."""
        from adda import twins
        run = self.run
        twin = twins.twin_of(run)
        if not twins.wanted(run, measured_splits(run), target_splits(run)):
            return
        if not twins.finished(twin):
            if not twins.make_twin(run, measured_splits(run), target_splits(run)):
                say('No estimate without labels: it compares this run with an independent run '
                    'of the task ({}, seed {}), which is not there (ESTIMATE=1 makes it)'.format(
                        twin.prefix, twin.seed))
                return
            say('Making the twin of {} for the estimate: {} (the same task, seed {})'.format(
                run.prefix, twin.prefix, twin.seed))
            self.child(twins.command(twin), twins.environment(twin, self.env))
        say('Estimating the accuracy of {} without target labels (twin: {})'.format(
            run.prefix, twin.prefix))
        self.tool('estimate', run.results, twin.results, *run.device_args)
        if not twins.has_estimate(twin):  # the twin's, with this run as its twin: free
            self.tool('estimate', twin.results, run.results, *run.device_args)

    def child(self, command, env):
        """Run ``command`` (a process that saves and stops on SIGTERM) as a step."""
        if self.signals.caught is None:
            process = subprocess.Popen(command, env=env, cwd=ROOT)
            self.signals.child = process
            status = process.wait()
            self.signals.child = None
            if status:
                raise RunError(None, 128 - status if status < 0 else status)
        if self.signals.caught is not None:
            raise RunError(None, 128 + self.signals.caught)

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
        if split not in measured_splits(run):
            say('No curve of every kept snapshot on {} {}: it has no labels'.format(
                task.target, split))
            return chosen
        say('Accuracy of every kept snapshot on {} {} (for the curves; labels used here '
            'only)'.format(task.target, split))
        self.tool('snapshot_curve', task.target, split, 'lenet', adapted, '--output',
                  os.path.join(run.results, task.curve_record + '.yaml'), *run.device_args)
        return chosen

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
        reported = os.path.join(run.snapshot_dir, run.adapt_out)
        self.evaluate('adda', reported)
        if run.task.select:
            reported = self.select()
        self.predict(reported)
        self.estimate()

    def __call__(self):
        started = time.time()
        with Signals() as self.signals:
            self.steps()
        print_summary(self.run, 'after {} s'.format(int(time.time() - started)))


def record_path(run, name, split):
    """<RESULTS_DIR>/<run>/<name>_<split>.yaml: an evaluation record of the run."""
    return os.path.join(run.results, '{}_{}.yaml'.format(name, split))


def finished_files(run):
    """The files a finished run has: its evaluation records on the target's labelled splits,
    the predictions on each of its splits, and the estimates when the run must have them (a
    target split without labels, unless ESTIMATE=0); None when the target cannot be read."""
    from adda import twins
    from adda.errors import AddaError
    try:
        measured, present = measured_splits(run), target_splits(run)
    except AddaError:
        return None
    files = [os.path.join(run.results, name + '.yaml') for name in run.task.records(measured)]
    files += [predictions_path(run, split) for split in present]
    if twins.wanted(run, measured, present) and set(present) - set(measured):
        files += [estimate_path(run, split) for split in present]
    return files


def predictions_path(run, split):
    """<RESULTS_DIR>/<run>/predictions_<split>.csv: the reported model's predictions."""
    return os.path.join(run.results, 'predictions_{}.csv'.format(split))


def estimate_path(run, split):
    """<RESULTS_DIR>/<run>/estimate_<split>.yaml: the accuracies estimated without labels."""
    return os.path.join(run.results, 'estimate_{}.yaml'.format(split))


SUMMARY_ROWS = (('Source only:', 'source_only'), ('ADDA:       ', 'adda'),
                ('Chosen:     ', 'selected'))
NO_LABELS = 'no labels'


def summary_rows(run):
    """[(label, [accuracy on each of the target's splits, the reported first])] from the
    run's evaluation records (DamagedRecord when one cannot be read); 'no labels' for a split
    that has none."""
    measured = measured_splits(run)
    rows = [(label, name) for label, name in SUMMARY_ROWS
            if name != 'selected' or run.task.select]
    return [(label, [accuracy_of(record_path(run, name, split)) if split in measured else
                     NO_LABELS for split in target_splits(run)]) for label, name in rows]


def estimate_rows(run):
    """[(label, ['accuracy [low, high]' on each target split])] from the run's estimate
    records, and the twin's name; ([], None) when there are none."""
    found = collections.OrderedDict()
    twin = None
    for split in target_splits(run):
        path = estimate_path(run, split)
        if os.path.isfile(path):
            record = records.read_record(path, 'estimates', 'twin')
            found[split] = record['estimates']
            twin = os.path.basename(record['twin'])
    if not found:
        return [], None
    rows = []
    for label, name in SUMMARY_ROWS:
        if any(name in estimates for estimates in found.values()):
            rows.append((label, [describe_estimate(found[split].get(name)) if split in found
                                 else '-' for split in target_splits(run)]))
    return rows, twin


def describe_estimate(estimate):
    if not estimate:
        return '-'
    return '{:.4f} [{:.4f}, {:.4f}]'.format(estimate['accuracy'], estimate['low'],
                                            estimate['high'])


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
    splits = target_splits(run)
    say('{} ({}): accuracy on {} {}, {}'.format(
        run.task.name, run.prefix, run.task.target, ' / '.join(splits), when))
    for label, values in (summary_rows(run) if rows is None else rows):
        print('{} {}'.format(label, ' / '.join(values)), flush=True)
    estimated, twin = estimate_rows(run)
    if estimated:
        print('Estimated without target labels, [90% interval] (twin: {}):'.format(twin),
              flush=True)
        for label, values in estimated:
            print('{} {}'.format(label, ' / '.join(values)), flush=True)


def accuracy_of(path):
    """The accuracy of an evaluation record, as the summary shows it (4 decimals)."""
    return '{:.4f}'.format(records.read_number(path, 'accuracy'))


# --- the data, checked before any training ------------------------------------------------

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

