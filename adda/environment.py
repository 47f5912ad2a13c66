"""The settings of the task scripts (adda.run), scripts/adapt.sh and the sweep (adda.sweep),
read from the environment, each declared once: --help, the docs' tables (tests/test_tasks.py)
and the code read these tables. Standard library only (they are read before TensorFlow, and
by shell scripts before anything is installed).
"""
import collections
import os
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class RunError(Exception):
    """One 'Error:' line (or several), then exit with ``status``."""

    def __init__(self, message, status=1):
        Exception.__init__(self, message)
        self.status = status


# The environment variables a run reads: name -> (default, meaning).
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

# The sweep's own (scripts/reproduce.sh), besides the task scripts'.
SWEEP_ENVIRONMENT = collections.OrderedDict([
    ('SEEDS', ('0 1 2 3 4', 'the seeds of every task')),
    ('JOBS', ('', 'run up to this many runs at once, each pinned to one of DEVICES [default: '
                  'the number of DEVICES; without JOBS and DEVICES one after another]')),
    ('DEVICES', ('', 'one device per job: NPU or GPU ids ("0 1"), CPU cores in taskset syntax '
                     '("0-3 4-7") [default: ids 0..JOBS-1; on the CPU, the cores split into '
                     'JOBS sets]')),
    ('LOG_DIR', ('<RESULTS_DIR>/logs', 'with JOBS or DEVICES: each run\'s output, appended to '
                                       '<LOG_DIR>/<run>.log')),
])


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
