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
import signal
import subprocess
import sys
import textwrap
import time

from adda import records
from adda.errors import AddaError
from adda.locks import FileLock
from adda.tasks import TASKS, pair_task

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN_BUSY = 75  # exit status when another process runs the same run (EX_TEMPFAIL)
RECORD = 'run.yaml'
LOCKS = '.locks'

# The environment variables a run reads: name -> (default, meaning). Declared once: --help,
# the docs' table (tests/test_tasks.py) and the code below read it.
ENVIRONMENT = collections.OrderedDict([
    ('SEED', ('0', 'seed of both training runs')),
    ('PREFIX', ('<task>-seed<SEED>', "the run's name (or the argument): snapshots "
                '<SNAPSHOT_DIR>/<PREFIX>_source and _adda, records <RESULTS_DIR>/<PREFIX>/; '
                'with other iteration counts than the task\'s the default ends in '
                '-it<source>+<adaptation>')),
    ('SNAPSHOT_DIR', ('snapshot', 'where the snapshots go (relative: to the repository)')),
    ('RESULTS_DIR', ('results', 'where the records go (relative: to the repository)')),
    ('PYTHON', ('python', 'the interpreter for the tools')),
    ('DEVICE', ('auto', 'every tool\'s --device (auto, cpu, gpu, npu)')),
    ('PRECISION', ('', "every tool's --precision (mixed, fp32, ...) [default: the tools']")),
    ('SOURCE_ITERATIONS', ('', "source training's iterations [default: the task's]")),
    ('ADAPT_ITERATIONS', ('', "adaptation's iterations [default: the task's]")),
    ('TRAIN_ARGS', ('', 'extra options for both training tools, split as the shell splits '
                        'words (quotes keep a value with spaces whole)')),
    ('PIN_DEVICE', ('', 'keep the run on one device of its platform: an NPU id '
                        '(ASCEND_DEVICE_ID, DEVICE_ID), a GPU id (CUDA_VISIBLE_DEVICES) or CPU '
                        'cores (taskset syntax: 3, 0-3, 0,2)')),
    ('SKIP_FINISHED', ('', "1: do nothing when the run's evaluation records exist")),
    ('RUN_LOCK', ('fail', 'when another process holds the run\'s lock '
                          '(<SNAPSHOT_DIR>/.locks/<PREFIX>.lock): fail (exit status 75) or '
                          'wait')),
])


# scripts/adapt.sh's own: which settings a task for any pair runs with (adda.tasks.pair_task).
PAIR_ENVIRONMENT = collections.OrderedDict([
    ('RECIPE', ('', '1: the general recipe and the label-free choice, as task '
                    'SOURCE-TARGET-plus; else the faithful settings, task SOURCE-TARGET')),
])


class RunError(Exception):
    """One 'Error:' line (or several), then exit with ``status``."""

    def __init__(self, message, status=1):
        Exception.__init__(self, message)
        self.status = status


def say(text):
    print('\n==> {}'.format(text), flush=True)


def usage(task):
    """The --help text of scripts/<task>.sh: the task, then how to run it and the environment."""
    if task.entry.endswith('scripts/adapt.sh {} {}'.format(task.source, task.target)):
        usage_line = ('Usage: [SEED=0] [RECIPE=1] bash scripts/adapt.sh SOURCE TARGET [PREFIX]   '
                      '(or: python -m adda.run --pair SOURCE TARGET [PREFIX])')
        variables = collections.OrderedDict(PAIR_ENVIRONMENT)
        variables.update(ENVIRONMENT)
    else:
        usage_line = ('Usage: [SEED=0] bash {} [PREFIX]   (or: python -m adda.run {} '
                      '[PREFIX])'.format(task.entry, task.name))
        variables = ENVIRONMENT
    lines = [task.description, '', usage_line, '', 'Settings, through the environment:']
    lines += environment_help(variables)
    lines += [''] + textwrap.wrap(
        'Exit status: 0 done, 1 a tool failed or the run folder holds a run made otherwise, 2 '
        'a bad argument, 75 another process runs this run, 130/143 interrupted (the same '
        'command resumes).', 96)
    return '\n'.join(lines)


def environment_help(variables):
    """'  NAME  meaning [default: ...]' lines, wrapped, for --help."""
    lines = []
    for name, (default, meaning) in variables.items():
        text = meaning + (' [default: {}]'.format(default) if default else '')
        lines += textwrap.wrap(text, 96, initial_indent='  {:18} '.format(name),
                               subsequent_indent=' ' * 21)
    return lines


def settings_of(env):
    """The environment's settings (ENVIRONMENT's names, defaults filled in but for PREFIX)."""
    found = {name: env.get(name) or default for name, (default, _) in ENVIRONMENT.items()}
    found['PREFIX'] = env.get('PREFIX') or ''
    return found


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
        """Every evaluation record of the run exists."""
        return all(os.path.isfile(os.path.join(self.results, name + '.yaml'))
                   for name in self.task.records())


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


# --- pinning and locks ----------------------------------------------------------------------

def parse_cores(text):
    """Cores of a taskset list ('3', '0-3', '0,2,5-6'); ValueError when it is not one."""
    cores = set()
    for part in text.split(','):
        low, _, high = part.partition('-')
        if not low.isdigit() or (high and not high.isdigit()) or (high and int(high) < int(low)):
            raise ValueError(text)
        cores.update(range(int(low), int(high or low) + 1))
    return sorted(cores)


def usable_cores(text):
    """The cores of ``text`` when this process may use every one, else None."""
    try:
        cores = parse_cores(text)
    except ValueError:
        return None
    return cores if set(cores) <= os.sched_getaffinity(0) else None


def platform_of(device, python):
    """cpu, gpu or npu; auto resolved as the tools resolve it (asked of ``python``)."""
    if device in ('cpu', 'gpu', 'npu'):
        return device
    if device != 'auto':
        raise RunError('unknown DEVICE {} (choose from auto, cpu, gpu, npu)'.format(device))
    try:
        out = subprocess.run([python, '-c', 'from adda.session import resolve_device; '
                                            'print(resolve_device("auto"))'], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             universal_newlines=True).stdout.strip().splitlines()
    except OSError:
        out = []
    if not out or out[-1] not in ('cpu', 'gpu', 'npu'):
        raise RunError('cannot tell which device DEVICE=auto means ({} could not run '
                       'adda.session.resolve_device); set DEVICE to cpu, gpu or npu'.format(
                           python))
    return out[-1]


def pin(device_id, platform, env):
    """Keep this process and the tools it starts on ``device_id`` of ``platform``."""
    if platform == 'npu':
        env.update(ASCEND_DEVICE_ID=device_id, DEVICE_ID=device_id)
    elif platform == 'gpu':
        env['CUDA_VISIBLE_DEVICES'] = device_id
    else:
        cores = usable_cores(device_id)
        if cores is None:
            raise RunError('PIN_DEVICE={} is not a list of cores this process may use '
                           '(taskset -c syntax: 3, 0-3, 0,2)'.format(device_id))
        os.sched_setaffinity(0, cores)  # the tools inherit it and size their pools from it
        env['OMP_NUM_THREADS'] = str(len(cores))
    say('Pinned to {} {}'.format(platform, device_id))


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


# --- the steps ------------------------------------------------------------------------------

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
                      '--output', os.path.join(run.results, '{}_{}.yaml'.format(name, split)),
                      *run.device_args)

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

    def steps(self):
        run, task = self.run, self.run.task
        seed, snapshots = run.seed, run.snapshot_dir
        say('Training the source model on {} train ({}, seed {})'.format(
            task.source, run.source_out, seed))
        # runs that share a source model (same name) train it once
        with FileLock(os.path.join(snapshots, LOCKS, run.source_out + '.lock')):
            self.tool('train', task.source, 'train', 'lenet', run.source_out,
                      *(run.source_args + ['--seed', seed, '--resume', '--snapshot_dir',
                                           snapshots] + run.device_args + run.train_args))
        self.evaluate('source_only', os.path.join(snapshots, run.source_out))
        say('Adapting {} -> {} ({}, seed {})'.format(task.source, task.target, run.adapt_out,
                                                    seed))
        self.tool('train_adda', task.source + ':train', task.target + ':train', 'lenet',
                  run.adapt_out, '--weights', os.path.join(snapshots, run.source_out),
                  *(run.adapt_args + ['--seed', seed, '--resume', '--snapshot_dir', snapshots] +
                    run.device_args + run.train_args))
        self.evaluate('adda', os.path.join(snapshots, run.adapt_out))
        if task.select:
            self.select()

    def __call__(self):
        started = time.time()
        with Signals() as self.signals:
            self.steps()
        run = self.run
        splits = run.task.protocol.splits
        say('{} ({}): accuracy on {} {} / {}, after {} s'.format(
            run.task.name, run.prefix, run.task.target, splits[0], splits[1],
            int(time.time() - started)))
        rows = [('Source only:', 'source_only'), ('ADDA:       ', 'adda')]
        if run.task.select:
            rows.append(('Chosen:     ', 'selected'))
        for label, name in rows:
            print('{} {} / {}'.format(label, *(accuracy_of(os.path.join(
                run.results, '{}_{}.yaml'.format(name, split))) for split in splits)),
                flush=True)


def accuracy_of(path):
    return '{:.4f}'.format(records.read_number(path, 'accuracy'))


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
    return args[0] if args else None


def run_task(task, args, env=None):
    """Everything scripts/<task>.sh does; returns the exit status."""
    env = dict(os.environ if env is None else env)
    prefix = parse_arguments(task, args)
    settings = settings_of(env)
    describe = env.get('DESCRIBE_RUN')
    run = Run(task, settings, prefix)
    if describe == 'name':  # the default name of this run (for other scripts)
        print(task.run_name(run.seed, settings['SOURCE_ITERATIONS'],
                            settings['ADAPT_ITERATIONS']))
        return 0
    if describe == '1':  # the run.yaml this run would have
        sys.stdout.write(dump_record(run.record()))
        return 0
    old = read_record(run.results)
    if old is not None:
        differences = record_differences(old, run.record())
        if differences:
            raise RunError('\n'.join(
                ['{} holds a run made with other settings (old -> new):'.format(run.results)] +
                ['  ' + line for line in differences] +
                ['Remove {} and {}/{{{},{}}} to make it again, or give this run another name '
                 '(PREFIX or the first argument)'.format(run.results, run.snapshot_dir,
                                                         run.source_out, run.adapt_out)]))
    if settings['PIN_DEVICE']:
        pin(settings['PIN_DEVICE'], platform_of(settings['DEVICE'], settings['PYTHON']), env)
    if settings['RUN_LOCK'] not in ('fail', 'wait'):
        raise RunError('unknown RUN_LOCK {} (choose from fail, wait)'.format(
            settings['RUN_LOCK']))
    held = lock(os.path.join(run.snapshot_dir, LOCKS, run.prefix + '.lock'),
                settings['RUN_LOCK'] == 'wait', run.prefix)
    try:
        if settings['SKIP_FINISHED'] == '1' and run.finished():
            say('{}: finished earlier, skipping'.format(run.prefix))
            return 0
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
    try:
        for name in args[:2]:
            get_dataset(name)
        return pair_task(args[0], args[1], recipe=os.environ.get('RECIPE') == '1'), args[2:]
    except (AddaError, KeyError) as e:
        raise RunError(e.args[0])


if __name__ == '__main__':
    sys.exit(main())
