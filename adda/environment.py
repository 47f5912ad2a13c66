"""The settings read from the environment, each declared once with what it allows: those of
the task scripts (adda.run), of scripts/adapt.sh, of the sweep (adda.sweep,
scripts/reproduce.sh), of Slurm (scripts/slurm/) and of npu_train.sh. --help, the docs' tables
(tests/test_tasks.py), the checks and the shell scripts (``python -m adda.environment``) read
this table.

Every entry point reads its settings (``read``) before anything is written or trained: a value
that is not allowed is one 'Error:' line naming the setting, its value and what is allowed,
exit status 2. An empty value is the default. A setting that had another name keeps it as an
old name, still accepted; both given with different values is an error.

Standard library only: the run scripts read it before TensorFlow, npu_train.sh and
modelarts_entry.py before anything is installed.
"""
import collections
import os
import re
import shlex
import shutil
import sys
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
USAGE_STATUS = 2  # a setting (or an argument) that is not allowed
MAX_SEED = 2 ** 32 - 3  # the tools' --seed range
DEVICES = ('auto', 'cpu', 'gpu', 'npu')  # the tools' --device (adda.session.DEVICES)
NPU_PRECISION_MODES = ('allow_mix_precision', 'allow_fp32_to_fp16', 'force_fp32',
                       'must_keep_origin_dtype')
PRECISIONS = ('mixed', 'fp32') + NPU_PRECISION_MODES  # the tools' --precision (adda.session)


class RunError(Exception):
    """One 'Error:' line (or several), then exit with ``status``."""

    def __init__(self, message, status=1):
        Exception.__init__(self, message)
        self.status = status


# --- what a setting allows: a check of its (non-empty) text and the words that say it ------

class Kind(object):
    """What a setting's value may be: ``check(text)`` is true for an allowed one; ``allowed``
    says what is allowed ('a whole number of at least 1'); ``refusal`` is the error line
    ('{name}' as given, '{value}' as shown, '{allowed}' with what an empty value means)."""

    def __init__(self, allowed, check, refusal='{name}={value} is not {allowed}'):
        self.allowed, self.check, self.refusal = allowed, check, refusal


def whole(low, high=None):
    if high is None:
        allowed = 'a whole number of at least {}'.format(low)
    else:
        allowed = 'a whole number from {} to {}'.format(low, high)
    return Kind(allowed, lambda text: text.isdigit() and int(text) >= low and (
        high is None or int(text) <= high))


def one_of(*values):
    return Kind('one of {}'.format(', '.join(values)), lambda text: text in values)


def words_of(kind, what):
    """Several values of ``kind``, separated by spaces."""
    return Kind('{} separated by spaces, each {}'.format(what, kind.allowed),
                lambda text: bool(text.split()) and all(kind.check(w) for w in text.split()))


def _shell_words(text):
    try:
        shlex.split(text)
    except ValueError:
        return False
    return True


def _plain_name(text):
    return text not in ('.', '..') and '/' not in text and os.sep not in text and \
        not text.startswith('-')


def _executable(text):
    if os.sep in text:
        return os.path.isfile(text) and os.access(text, os.X_OK)
    return shutil.which(text) is not None


_DEVICE_ID = re.compile(r'^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$')
ANY = Kind('any text', lambda text: True)
SEED = whole(0, MAX_SEED)
ITERATIONS = whole(1)
FLAG = one_of('0', '1')
DEVICE_ID = Kind('a device id (0, 1, ...) or CPU cores in taskset syntax (3, 0-3, 0,2)',
                 lambda text: bool(_DEVICE_ID.match(text)))
SHELL_WORDS = Kind('options as the shell splits words (every quote closed)', _shell_words,
                   '{name}={value} cannot be split into words (allowed: {allowed})')
NAME = Kind('a plain name (not . or .., without /, not starting with -)', _plain_name)
EXECUTABLE = Kind('a program: a path to an executable file, or a command on the PATH',
                  _executable)


def _task_names(text):
    from adda.tasks import TASKS
    return bool(text.split()) and all(name in TASKS for name in text.split())


def _tasks_kind():
    from adda.tasks import TASKS
    return Kind('task names separated by spaces (known: {})'.format(' '.join(TASKS)),
                _task_names)


# --- the settings --------------------------------------------------------------------------

class Setting(object):
    """A setting: its ``name``, ``old`` names still accepted, its ``default`` (the value an
    empty or absent one takes; '' when it is worked out later, ``shown`` saying how), what
    it ``means`` and what it allows (``kind``; ``empty`` says what an empty value means in
    the error line)."""

    def __init__(self, name, default, means, kind=None, old=(), shown=None, empty=None):
        kind = ANY if kind is None else kind
        self.name, self.default, self.means, self.kind = name, default, means, kind
        self.old = tuple(old)
        self.shown = default if shown is None else shown
        self.empty = empty if empty is not None else (
            'empty: {}'.format(self.shown) if self.shown else None)

    @property
    def allowed(self):
        kind = self.kind() if callable(self.kind) else self.kind
        return kind.allowed + (' ({})'.format(self.empty) if self.empty else '')

    def given(self, env):
        """(the name it was given under, its text) from ``env``; ('', '') when not given.
        RunError when it and an old name are both given with different values."""
        found = [(name, env[name]) for name in (self.name,) + self.old if env.get(name)]
        for name, text in found[1:]:
            if text != found[0][1]:
                raise RunError('{}={} and {}={} differ: {} is the old name of {}; set one of '
                               'them'.format(found[0][0], show(found[0][1]), name, show(text),
                                             name, self.name), USAGE_STATUS)
        return found[0] if found else ('', '')

    def read(self, env):
        """Its value in ``env`` (the default when empty or absent); RunError when not allowed."""
        given, text = self.given(env)
        if not text:
            return self.default
        kind = self.kind() if callable(self.kind) else self.kind
        if not kind.check(text):
            raise RunError(kind.refusal.format(name=given, value=show(text),
                                               allowed=self.allowed), USAGE_STATUS)
        return text


def show(text):
    """A value as the error line shows it: as it is when it is one plain word, else quoted."""
    return text if re.match(r'^[\w.,:+/@%=-]+$', text) else repr(text)


SETTINGS = collections.OrderedDict((s.name, s) for s in [
    # a run (scripts/<task>.sh, python -m adda.run)
    Setting('SEED', '0', 'seed of both training runs', SEED),
    Setting('PREFIX', '', "the run's name (or the argument): snapshots "
            '<SNAPSHOT_DIR>/<PREFIX>_source and _adda, records <RESULTS_DIR>/<PREFIX>/; '
            'with other iteration counts than the task\'s the default ends in '
            '-it<source>+<adaptation>', NAME, shown='<task>-seed<SEED>'),
    Setting('SNAPSHOT_DIR', 'snapshot', 'where the snapshots go (relative: to the repository)'),
    Setting('RESULTS_DIR', 'results', 'where the records go (relative: to the repository)'),
    Setting('PYTHON', 'python', 'the interpreter for the tools', EXECUTABLE),
    Setting('DEVICE', 'auto', "every tool's --device", one_of(*DEVICES), old=('ADDA_DEVICE',)),
    Setting('PRECISION', '', "every tool's --precision: mixed (not on the CPU) or fp32; on the "
            "NPU also its precision_mode names", one_of(*PRECISIONS),
            old=('ADDA_PRECISION',), shown="the tools': mixed on the NPU, fp32 elsewhere"),
    Setting('SOURCE_ITERATIONS', '', "source training's iterations", ITERATIONS,
            shown="the task's"),
    Setting('ADAPT_ITERATIONS', '', "adaptation's iterations", ITERATIONS, shown="the task's"),
    Setting('TRAIN_ARGS', '', 'extra options for both training tools, split as the shell splits '
            'words (quotes keep a value with spaces whole)', SHELL_WORDS, shown='none'),
    Setting('PIN_DEVICE', '', 'keep the run on one device of its platform: an NPU id '
            '(ASCEND_DEVICE_ID, DEVICE_ID), a GPU id (CUDA_VISIBLE_DEVICES) or CPU cores '
            '(taskset syntax: 3, 0-3, 0,2)', DEVICE_ID, shown='not pinned'),
    Setting('SKIP_FINISHED', '1', '1: a run finished earlier with these settings (the same '
            'run.yaml, every evaluation record there) is neither trained nor evaluated again '
            '(one line says so, the summary comes from its records); 0: evaluate it again',
            FLAG),
    Setting('RUN_LOCK', 'fail', "when another process holds the run's lock "
            '(<SNAPSHOT_DIR>/.locks/<PREFIX>.lock): fail (exit status 75) or wait',
            one_of('fail', 'wait')),
    Setting('ESTIMATE', 'auto', 'estimate the accuracy without target labels from an '
            'independent run of the task (its twin, seed TWIN_SEED): auto: when a target split '
            'has no labels (the twin is made when it is not there, which doubles the time) or '
            'when the twin is there already; 1: always (making the twin when needed); 0: never',
            one_of('auto', '0', '1')),
    Setting('TWIN_SEED', '', "the twin's seed (its run: the default name of that seed, or "
            '<PREFIX>-twin)', SEED, shown='SEED + 1'),
    # scripts/adapt.sh: which settings a task for any pair runs with (adda.tasks.pair_task)
    Setting('RECIPE', '0', '1: the general recipe and the label-free choice, as task '
            'SOURCE-TARGET-plus; 0: the faithful settings, task SOURCE-TARGET', FLAG),
    # the sweep (scripts/reproduce.sh), Slurm and npu_train.sh
    Setting('SEEDS', '0 1 2 3 4', 'the seeds of every task', words_of(SEED, 'seeds')),
    Setting('JOBS', '', 'run up to this many runs at once, each pinned to one of DEVICES',
            whole(1), shown='the number of DEVICES; without JOBS and DEVICES one after '
                            'another'),
    Setting('DEVICES', '', 'one device per job: NPU or GPU ids ("0 1"), CPU cores in taskset '
            'syntax ("0-3 4-7")', words_of(DEVICE_ID, 'devices'),
            shown='ids 0..JOBS-1; on the CPU, the cores split into JOBS sets'),
    Setting('LOG_DIR', '', "with JOBS or DEVICES: each run's output, appended to "
            '<LOG_DIR>/<run>.log', shown='<RESULTS_DIR>/logs'),
    Setting('TASKS', '', 'the tasks, in order (python -m adda.tasks lists them)', _tasks_kind,
            old=('ADDA_TASKS',), shown='mnist-usps usps-mnist svhn-mnist'),
    Setting('ADDA_ROOT', '', "a Slurm job's repository", shown="the folder sbatch was run in"),
])

# Which settings each entry point reads, in the order --help lists them.
RUN = ('SEED', 'PREFIX', 'SNAPSHOT_DIR', 'RESULTS_DIR', 'PYTHON', 'DEVICE', 'PRECISION',
       'SOURCE_ITERATIONS', 'ADAPT_ITERATIONS', 'TRAIN_ARGS', 'PIN_DEVICE', 'SKIP_FINISHED',
       'RUN_LOCK', 'ESTIMATE', 'TWIN_SEED')
PAIR = ('RECIPE',) + RUN
# the sweep sets SEED, PREFIX, PIN_DEVICE, RUN_LOCK, SKIP_FINISHED and TWIN_SEED of its runs
# itself
SWEEP = ('SEEDS', 'JOBS', 'DEVICES', 'LOG_DIR') + tuple(
    name for name in RUN if name not in ('SEED', 'PREFIX', 'SKIP_FINISHED', 'RUN_LOCK',
                                         'PIN_DEVICE', 'TWIN_SEED'))
SLURM = ('ADDA_ROOT', 'TASKS') + SWEEP
NPU_TRAIN = ('TASKS', 'DEVICE', 'PRECISION', 'SOURCE_ITERATIONS', 'ADAPT_ITERATIONS', 'SEED',
             'PYTHON', 'TRAIN_ARGS', 'JOBS', 'DEVICES')
ENTRIES = collections.OrderedDict([('run', RUN), ('pair', PAIR), ('sweep', SWEEP),
                                   ('slurm', SLURM), ('npu_train', NPU_TRAIN)])
# An entry point's own defaults, where they are not the table's.
ENTRY_DEFAULTS = {'npu_train': {'DEVICE': 'npu', 'PYTHON': 'python3'}}

ENVIRONMENT = collections.OrderedDict((name, SETTINGS[name]) for name in RUN)
PAIR_ENVIRONMENT = collections.OrderedDict([('RECIPE', SETTINGS['RECIPE'])])
SWEEP_ENVIRONMENT = collections.OrderedDict((name, SETTINGS[name])
                                            for name in SWEEP if name not in RUN)


def read(names, env, defaults=None):
    """name -> value of each of ``names`` in ``env`` (defaults filled in: the table's, or
    ``defaults``'), checked, with the settings read together (PRECISION against DEVICE);
    RunError (status 2) for the first that is not allowed."""
    values = collections.OrderedDict()
    for name in names:
        setting = SETTINGS[name]
        value = setting.read(env)
        if defaults and name in defaults and not setting.given(env)[1]:
            value = defaults[name]
        values[name] = value
    check_together(values)
    return values


def check_together(values):
    """What one setting allows given another: PRECISION given DEVICE."""
    device, precision = values.get('DEVICE'), values.get('PRECISION')
    if not precision or device in (None, 'auto', 'npu'):
        return
    if precision in NPU_PRECISION_MODES or (device == 'cpu' and precision == 'mixed'):
        allowed = 'fp32' if device == 'cpu' else 'mixed or fp32'
        raise RunError('PRECISION={} is not possible with DEVICE={} (allowed there: {}, or '
                       'empty)'.format(precision, device, allowed), USAGE_STATUS)


def normalized(env, names):
    """``env`` with the settings ``names`` under their names only: an old name's value moves
    to the new name (so that a process that sets the new one does not contradict it)."""
    env = dict(env)
    for name in names:
        setting = SETTINGS[name]
        given, text = setting.given(env)
        for old in setting.old:
            env.pop(old, None)
        if text:
            env[name] = text
    return env


def settings_of(env):
    """A run's settings (RUN) from ``env``, checked: ``read(RUN, env)``."""
    return read(RUN, env)


def environment_help(names, defaults=None):
    """'  NAME  meaning [default: ...]' lines, wrapped, for --help; ``defaults`` (name ->
    text) where an entry point's defaults say more than the table's."""
    lines = []
    for name in names:
        setting = SETTINGS[name]
        default = (defaults or {}).get(name) or setting.shown or 'none'
        text = '{} [default: {}]'.format(setting.means, default)
        if setting.old:
            text += ' (old name{} {}, still accepted)'.format(
                's' if len(setting.old) > 1 else '', ', '.join(setting.old))
        lines += textwrap.wrap(text, 96, initial_indent='  {:18} '.format(name),
                               subsequent_indent=' ' * 21)
    return lines


def main(argv=None):
    """``python -m adda.environment ENTRY [--shell]``: check the settings an entry point
    (run, pair, sweep, slurm, npu_train) reads from this environment; with --shell, print
    them as shell assignments (old names unset), for shell scripts to eval. One 'Error:'
    line and exit status 2 when one is not allowed."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in ENTRIES or argv[1:] not in ([], ['--shell']):
        print('Usage: python -m adda.environment {{{}}} [--shell]'.format('|'.join(ENTRIES)),
              file=sys.stderr)
        return USAGE_STATUS
    entry = argv[0]
    try:
        values = read(ENTRIES[entry], os.environ, ENTRY_DEFAULTS.get(entry))
    except RunError as e:
        print('Error: {}'.format(e.args[0]), file=sys.stderr)
        return e.status
    if argv[1:]:
        for name, value in values.items():
            print('{}={}'.format(name, shlex.quote(value)))
        for name in ENTRIES[entry]:
            for old in SETTINGS[name].old:
                print('unset {}'.format(old))
    return 0


if __name__ == '__main__':
    sys.exit(main())
