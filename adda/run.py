"""``python -m adda.run TASK [PREFIX]``: one run of a task (adda/tasks.py) for one seed.

Source training -> source-only evaluation -> adaptation -> evaluation (and for a task that
chooses, the label-free choice, its evaluation and the curve), each tool in a process of its
own, stopping at the first failure with its exit status. ``scripts/<task>.sh`` is this with
the task's name. The settings come from the environment (ENVIRONMENT); the run's record,
<RESULTS_DIR>/<PREFIX>/run.yaml, says how it is made, and a run whose record says otherwise is
refused before anything runs.
"""
import collections
import os
import shlex
import sys
import textwrap

from adda import records
from adda.environment import (ENVIRONMENT, NAME, PAIR, PAIR_ENVIRONMENT, ROOT,  # noqa: F401
                              RUN, SETTINGS, RunError, environment_help, settings_of)
from adda.errors import AddaError
from adda.locks import FileLock
from adda.pinning import pin, platform_of
from adda.pipeline import LOCKS, Pipeline, finished_files, finished_summary, print_summary, say
from adda.run_data import check_data
from adda.tasks import GENERAL_ITERATIONS, TASKS, pair_task

RUN_BUSY = 75  # exit status when another process runs the same run (EX_TEMPFAIL)
RECORD = 'run.yaml'


def usage(task):
    """The --help text of scripts/<task>.sh: the task, then how to run it and the environment
    (every default: the task's iteration counts among them)."""
    defaults = {'SOURCE_ITERATIONS': "{}, the task's".format(task.source_iterations),
                'ADAPT_ITERATIONS': "{}, the task's".format(task.adapt_iterations)}
    if task.entry.endswith('scripts/adapt.sh {} {}'.format(task.source, task.target)):
        usage_line = ('Usage: [SEED=0] [RECIPE=1] bash scripts/adapt.sh SOURCE TARGET [PREFIX]   '
                      '(or: python -m adda.run --pair SOURCE TARGET [PREFIX])')
        names, extra = PAIR, [''] + datasets_help()
        defaults['ADAPT_ITERATIONS'] = '{}; {} with RECIPE=1'.format(task.adapt_iterations,
                                                                     GENERAL_ITERATIONS)
    else:
        usage_line = ('Usage: [SEED=0] bash {} [PREFIX]   (or: python -m adda.run {} '
                      '[PREFIX])'.format(task.entry, task.name))
        names, extra = RUN, []
    lines = [task.description, '', usage_line] + extra + [
        '', 'Settings, through the environment (empty: the default):']
    lines += environment_help(names, defaults)
    lines += [''] + textwrap.wrap(
        'Exit status: 0 done, 1 a tool failed, the data cannot be used or the run folder holds '
        'a run made otherwise, 2 a bad argument or setting, 75 another process runs this run, '
        '130/143 interrupted (the same command resumes).', 96)
    return '\n'.join(lines)


def datasets_help():
    """SOURCE and TARGET's names, as python -m adda.data list finds them: the built-in sets
    and the datasets of one's own in the data root."""
    try:
        from adda.data import data_root, dataset_names, own_dataset_names
        built_in, own, root = dataset_names(), own_dataset_names(), data_root()
    except Exception as e:  # the data package cannot be read here: say where to look
        return ['SOURCE, TARGET: a dataset (python -m adda.data list names them; {} cannot '
                'read them: {})'.format(sys.executable, e)]
    return textwrap.wrap(
        'SOURCE, TARGET: a built-in dataset ({}) or one of your own in the data root {} ({}; '
        'an image folder or .npz file, docs/data.md)'.format(
            ', '.join(built_in), root, ', '.join(own) if own else 'none there yet'), 96,
        subsequent_indent='  ')


def _seed(text):
    return int(text) if text.isdigit() else text


class Run(object):
    """A run of ``task`` under ``settings`` (settings_of): its name, its record, its steps."""

    def __init__(self, task, settings, prefix=None):
        self.task, self.settings = task, settings
        self.seed = settings['SEED']
        counts = (settings['SOURCE_ITERATIONS'], settings['ADAPT_ITERATIONS'])
        self.iterations = task.iterations(*counts)
        self.prefix = prefix or settings['PREFIX'] or task.run_name(self.seed, *counts)
        self.snapshot_dir, self.results_dir = settings['SNAPSHOT_DIR'], settings['RESULTS_DIR']
        self.results = os.path.join(self.results_dir, self.prefix)
        self.source_out, self.adapt_out = self.prefix + '_source', self.prefix + '_adda'
        self.source_args, self.adapt_args = task.tool_args(*self.iterations)
        try:
            self.train_args = shlex.split(settings['TRAIN_ARGS'])
        except ValueError as e:
            raise RunError('TRAIN_ARGS={!r} cannot be split into words: {}'.format(
                settings['TRAIN_ARGS'], e))
        self.device_args = ['--device', settings['DEVICE']] + (
            ['--precision', settings['PRECISION']] if settings['PRECISION'] else [])

    def task_settings(self):
        """Whether the iteration counts and training options are the task's own."""
        return self.iterations == (self.task.source_iterations, self.task.adapt_iterations) \
            and not self.settings['TRAIN_ARGS']

    def record(self):
        """What run.yaml says of this run (the same settings always give the same record)."""
        return collections.OrderedDict([
            ('task', self.task.name), ('seed', _seed(self.seed)),
            ('source', self.task.source), ('target', self.task.target),
            ('snapshots', [os.path.join(self.snapshot_dir, self.source_out),
                           os.path.join(self.snapshot_dir, self.adapt_out)]),
            ('source_iterations', self.iterations[0]), ('adapt_iterations', self.iterations[1]),
            ('task_settings', self.task_settings()),
            ('source_args', ' '.join(self.source_args)),
            ('adapt_args', ' '.join(self.adapt_args)),
            ('train_args', self.settings['TRAIN_ARGS']),
            ('device', self.settings['DEVICE']), ('precision', self.settings['PRECISION']),
            ('select', self.task.select),
        ])

    def finished(self):
        """Every record a finished run has exists (adda.pipeline.finished_files)."""
        files = finished_files(self)
        return files is not None and all(os.path.isfile(path) for path in files)

    def has_record(self):
        """Whether results/<run>/run.yaml is this run's (same_run)."""
        return same_run(self.results, self)


def dump_record(record):
    """run.yaml's text for ``record``."""
    return records.dump(record, records.RUN_STYLE)


def read_record(folder):
    """The run.yaml in ``folder`` as a dict; None when there is none; RunError when unreadable."""
    try:
        return records.read_record(os.path.join(folder, RECORD), missing_ok=True)
    except records.DamagedRecord as e:
        raise RunError(e.args[0])


def record_differences(old, new):
    """['key: old -> new'] for the fields both records have and that differ: a field that
    came after ``old`` was written does not make it another run."""
    return records.differences(old, new)


def same_run(folder, run):
    """Whether the record in ``folder`` is ``run``'s (field by field; no record: False)."""
    try:
        old = read_record(folder)
    except RunError:
        return False
    return old is not None and not record_differences(old, run.record())


def lock(path, wait, name):
    """Hold ``path``'s flock for the rest of the process (the kernel drops it when the process
    ends, however it ends); returns the FileLock. When another process holds it: wait, or
    RunError with RUN_BUSY."""
    held = FileLock(path)
    if not held.acquire(wait=False):
        if not wait:
            raise RunError('{} is running in another process (it holds {})'.format(name, path),
                           RUN_BUSY)
        say('{} is running in another process (it holds {}): waiting for it'.format(name, path))
        held.acquire(wait=True)
    return held


def parse_arguments(task, args):
    """[-h|--help] [PREFIX]: the run's name or None; anything else is a RunError (status 2)."""
    script = task.entry
    if args and args[0] in ('-h', '--help'):
        print(usage(task))
        raise SystemExit(0)
    if args and args[0].startswith('-'):
        raise RunError('unknown option {} (usage: bash {} [PREFIX]; settings through the '
                       'environment, see bash {} --help)'.format(args[0], script, script), 2)
    if len(args) > 1:
        raise RunError('one run name at most, got {} arguments: {} (see bash {} --help)'.format(
            len(args), ' '.join(args), script), 2)
    if args and not NAME.check(args[0]):
        raise RunError('the run name {} is not {}'.format(args[0], NAME.allowed), 2)
    return args[0] if args else None


def refuse_other_settings(run):
    """RunError when the run's results folder holds a run made with other settings; returns
    whether it holds this run's record."""
    old = read_record(run.results)
    if old is None:
        return False
    differences = record_differences(old, run.record())
    if differences:
        raise RunError('\n'.join(
            ['{} holds a run made with other settings (old -> new):'.format(run.results)] +
            ['  ' + line for line in differences] +
            ['Remove {} and {}/{{{},{}}} to make it again, or give this run another name '
             '(PREFIX or the first argument)'.format(run.results, run.snapshot_dir,
                                                     run.source_out, run.adapt_out)]))
    return True


def pin_run(settings, env):
    """PIN_DEVICE: this process and the tools (``env``) on one device of DEVICE's platform."""
    platform = platform_of(settings['DEVICE'], settings['PYTHON'])
    pin(settings['PIN_DEVICE'], platform, env)
    say('Pinned to {} {}'.format(platform, settings['PIN_DEVICE']))


def run_task(task, args, env=None):
    """Everything scripts/<task>.sh does; returns the exit status. Arguments and settings are
    checked first (status 2), then the run's record against the results folder's; a finished
    run stops there; then the data (run_data.check_data); only then is anything written."""
    env = dict(os.environ if env is None else env)
    prefix = parse_arguments(task, args)
    settings = settings_of(env)
    run = Run(task, settings, prefix)
    if env.get('DESCRIBE_RUN') == '1':  # the run.yaml this run would have (for the tests)
        sys.stdout.write(dump_record(run.record()))
        return 0
    refuse_other_settings(run)
    if settings['PIN_DEVICE']:
        pin_run(settings, env)
    held = lock(os.path.join(run.snapshot_dir, LOCKS, run.prefix + '.lock'),
                settings['RUN_LOCK'] == 'wait', run.prefix)
    try:
        # read again under the lock: the process that held it may have made (or finished) it
        recorded = refuse_other_settings(run)
        summary = finished_summary(run) if recorded and settings['SKIP_FINISHED'] == '1' \
            else None
        if summary is not None:
            say('{}: finished earlier with these settings, skipping (nothing to train or '
                'evaluate; SKIP_FINISHED=0 evaluates it again)'.format(run.prefix))
            print_summary(run, 'from its records', summary)
            return 0
        say(check_data(run, env.get('ADDA_DATA_DIR') or None))  # before anything is written
        write_record(run)
        Pipeline(run, env)()
        return 0
    finally:
        held.release()


def write_record(run):
    """run.yaml, whole or not at all."""
    records.write_record(os.path.join(run.results, RECORD), run.record(), 'the run record',
                         records.RUN_STYLE)


def main(argv=None):
    """``TASK [PREFIX]`` or ``--pair SOURCE TARGET [PREFIX]``; returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    os.chdir(ROOT)  # relative SNAPSHOT_DIR and RESULTS_DIR are the repository's
    try:
        if argv[:1] == ['--pair']:
            task, args = pair_of(argv[1:])
        elif argv and argv[0] in TASKS:
            task, args = TASKS[argv[0]], argv[1:]
        else:
            raise RunError('{} (known tasks: {}); usage: python -m adda.run TASK [PREFIX]'.format(
                'unknown task ' + argv[0] if argv else 'no task named', ' '.join(TASKS)), 2)
        return run_task(task, args)
    except RunError as e:
        if e.args[0]:
            print('Error: {}'.format(e.args[0]), file=sys.stderr, flush=True)
        return e.status
    except AddaError as e:  # a record that cannot be read or written
        print('Error: {}'.format(e), file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        return 130


def pair_of(args):
    """(the task, the rest of ``args``) for ``SOURCE TARGET [PREFIX]`` (scripts/adapt.sh)."""
    if args[:1] in (['-h'], ['--help']):
        print(usage(pair_task('SOURCE', 'TARGET')))
        raise SystemExit(0)
    if len(args) < 2 or args[0].startswith('-') or args[1].startswith('-'):
        raise RunError('a task for a pair needs two dataset names (usage: bash scripts/adapt.sh '
                       'SOURCE TARGET [PREFIX]; see --help)', 2)
    try:
        from adda.data import get_dataset
    except ImportError as e:
        raise RunError('{} cannot read the datasets ({}): set PYTHON to the interpreter that has '
                       "the project's requirements".format(sys.executable, e))
    recipe = SETTINGS['RECIPE'].read(os.environ) == '1'
    try:
        for name in args[:2]:
            get_dataset(name)
        return pair_task(args[0], args[1], recipe=recipe), args[2:]
    except (AddaError, KeyError) as e:
        raise RunError(e.args[0])


if __name__ == '__main__':
    sys.exit(main())
