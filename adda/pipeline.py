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
from adda.run_data import measured_splits, target_splits

LOCKS = '.locks'  # <SNAPSHOT_DIR>/.locks/: the runs' and the shared source models' locks


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
        measured = measured_splits(run)
        for split in target_splits(run):
            if split not in measured:
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
        if not twins.wanted(run):
            return
        measured, present = measured_splits(run), target_splits(run)
        twin = twins.twin_of(run)
        if not twins.finished(twin):
            if not twins.make_twin(run, measured, present):
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
    if twins.wanted(run) and set(present) - set(measured):
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
    records, then what they say adaptation did, and the twin's name; ([], None) when there
    are none."""
    found, verdicts = collections.OrderedDict(), {}
    twin = None
    for split in target_splits(run):
        path = estimate_path(run, split)
        if os.path.isfile(path):
            record = records.read_record(path, 'estimates', 'twin')
            found[split] = record['estimates']
            verdicts[split] = record.get('adaptation') or '-'
            twin = os.path.basename(record['twin'])
    if not found:
        return [], None
    rows = []
    for label, name in SUMMARY_ROWS:
        if any(name in estimates for estimates in found.values()):
            rows.append((label, [describe_estimate(found[split].get(name)) if split in found
                                 else '-' for split in target_splits(run)]))
    rows.append(('Adaptation, as estimated:', [verdicts.get(split, '-')
                                               for split in target_splits(run)]))
    return rows, twin


def describe_estimate(estimate):
    if not estimate:
        return '-'
    return '{:.4f} [{:.4f}, {:.4f}]{}'.format(
        estimate['accuracy'], estimate['low'], estimate['high'],
        '' if estimate.get('reliable', True) else ' unreliable (the twin disagrees too much)')


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
