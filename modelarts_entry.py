#!/usr/bin/env python
"""ModelArts entry point: copy the data in, run npu_train.sh, copy the outputs out.

On ModelArts (the PyCharm plugin or a training job) set this file as the boot file; the job
passes ``--data_url`` and ``--train_url``. The data (a folder holding ``mnist/``, ``usps/`` and,
for SVHN->MNIST, ``svhn/``) is copied into ``<work_dir>/data/``; npu_train.sh then writes
logs, snapshots and results to ``<work_dir>/output/``, which is copied to ``--train_url`` even
when training failed. Copies use ``moxing`` (``mox.file.copy_parallel``, which also reads and
writes OBS) when it imports, and the standard library otherwise, so the same command runs off
ModelArts with local folders:

    python modelarts_entry.py --data_url ../shared/data --train_url ./train_url --device cpu

The exit status is npu_train.sh's (non-zero when any task failed), or 1 when a copy failed.
Python 3.7 and the standard library only.
"""
from __future__ import print_function

import argparse
import os
import shutil
import subprocess
import sys

CODE_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, CODE_DIR)
from adda.tasks import DEFAULT_TASKS, TASKS  # noqa: E402  (the task table; standard library)
from adda import environment  # noqa: E402  (npu_train.sh's settings; standard library)
TRAIN_SCRIPT = 'npu_train.sh'
# Where ModelArts training jobs mount their input and output by default.
DEFAULT_DATA_URL = '/home/ma-user/modelarts/inputs/data_url_0/'
DEFAULT_TRAIN_URL = '/home/ma-user/modelarts/outputs/train_url_0/'
REMOTE_PREFIXES = ('obs://', 's3://', 's3a://')
MAX_SEED = 2 ** 32 - 3  # the tools' --seed range


class EntryError(Exception):
    """Reported as one [CANN-Modelzoo] line, then exit status ``status`` (1; 2 for a setting
    that is not allowed)."""

    status = 1


def say(message):
    print('[CANN-Modelzoo] {}'.format(message))
    sys.stdout.flush()


def import_moxing():
    """The moxing module (ModelArts' file library), or None off ModelArts."""
    try:
        import moxing
    except ImportError:
        return None
    return moxing


def is_remote(url):
    return url.lower().startswith(REMOTE_PREFIXES)


def same_place(a, b):
    return os.path.realpath(a) == os.path.realpath(b)


def copy_tree(src, dst):
    """Copy the contents of folder ``src`` into ``dst`` (created if needed; files replaced).

    Each file is copied to a temporary name and renamed, so a failed copy (a full disk) never
    leaves a partial file under the real name.
    """
    if not os.path.isdir(dst):
        os.makedirs(dst)
    for name in sorted(os.listdir(src)):
        source, target = os.path.join(src, name), os.path.join(dst, name)
        if os.path.isdir(source):
            copy_tree(source, target)
            continue
        partial = os.path.join(dst, '.{}.{}.partial'.format(name, os.getpid()))
        try:
            shutil.copy2(source, partial)
            os.replace(partial, target)
        finally:
            if os.path.exists(partial):
                os.remove(partial)


def copy_folder(src, dst, mox, what):
    """Copy ``src`` into ``dst`` with moxing when available, else shutil (local paths only)."""
    if mox is not None:
        say('Copying {} with moxing: {} -> {}'.format(what, src, dst))
        try:
            mox.file.copy_parallel(src, dst)
        except Exception as e:  # moxing raises its own and OBS client errors
            raise EntryError('moxing could not copy {} from {} to {}: {}'.format(what, src, dst, e))
        return
    remote = [url for url in (src, dst) if is_remote(url)]
    if remote:
        raise EntryError('{} is an OBS URL, which needs the moxing library (present on '
                         'ModelArts); off ModelArts use local folders'.format(remote[0]))
    if not os.path.isdir(src):
        raise EntryError('cannot copy {}: {} is not a folder'.format(what, src))
    if same_place(src, dst):
        say('{} is already in {}'.format(what[0].upper() + what[1:], dst))
        return
    if os.path.realpath(dst).startswith(os.path.realpath(src) + os.sep):
        raise EntryError('cannot copy {} from {} into {}, a folder inside it'.format(
            what, src, dst))
    say('Copying {}: {} -> {}'.format(what, src, dst))
    try:
        copy_tree(src, dst)
    except (OSError, shutil.Error) as e:
        raise EntryError('could not copy {} from {} to {}: {}'.format(what, src, dst, e))


def positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError('{!r} is not a whole number'.format(text))
    if value < 1:
        raise argparse.ArgumentTypeError('{} is not positive'.format(value))
    return value


def seed_value(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError('{!r} is not a whole number'.format(text))
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError('{} is not in 0..{}'.format(value, MAX_SEED))
    return value


def task_names(tasks):
    """The task names of ``--tasks`` (comma- or space-separated), each a known task."""
    names = tasks.replace(',', ' ').split()
    unknown = [name for name in names if name not in TASKS]
    if unknown or not names:
        raise EntryError('--tasks {!r}: {} (known: {})'.format(
            tasks, 'unknown task ' + unknown[0] if unknown else 'no task named',
            ', '.join(TASKS)))
    return names


def check_args(args):
    """Everything about the arguments that can be wrong, checked before anything is copied."""
    if args.tasks is not None:
        task_names(args.tasks)
    if os.path.sep in args.python and not os.access(args.python, os.X_OK):
        raise EntryError('--python {} is not an executable file'.format(args.python))
    if os.path.sep not in args.python and shutil.which(args.python) is None:
        raise EntryError('--python {} is not on the PATH'.format(args.python))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Copy the data in, run npu_train.sh (the three ADDA digit tasks), copy the '
                    'outputs out.')
    parser.add_argument('--data_url', default=DEFAULT_DATA_URL,
                        help='Dataset folder (OBS URL on ModelArts) holding mnist/, usps/, svhn/ '
                             '(default: %(default)s)')
    parser.add_argument('--train_url', default=DEFAULT_TRAIN_URL,
                        help='Where logs, snapshots and results go (default: %(default)s)')
    parser.add_argument('--work_dir', default=CODE_DIR,
                        help='Local working folder: data/ and output/ go there (default: the '
                             'folder of this file)')
    parser.add_argument('--device', default=None, choices=['npu', 'cpu', 'gpu', 'auto'],
                        help='Device for all tools (default: $DEVICE (old name ADDA_DEVICE), '
                             'else npu)')
    parser.add_argument('--precision', default=None,
                        help='mixed, fp32 or an NPU precision_mode (default: $PRECISION (old '
                             'name ADDA_PRECISION), else mixed on the NPU)')
    parser.add_argument('--tasks', default=None,
                        help='Tasks to run, comma- or space-separated, of {} (default: '
                             '{})'.format(', '.join(TASKS), ','.join(DEFAULT_TASKS)))
    parser.add_argument('--source_iterations', type=positive_int, default=None,
                        help='Source training iterations (default: the task scripts\')')
    parser.add_argument('--adapt_iterations', type=positive_int, default=None,
                        help='Adaptation iterations (default: the task scripts\')')
    parser.add_argument('--seed', type=seed_value, default=None,
                        help='Seed of both training runs (0)')
    parser.add_argument('--python', default=sys.executable,
                        help='Interpreter for the tools (default: this one, %(default)s)')
    # ModelArts adds options of its own (e.g. --num_gpus); they do not concern the tools.
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        say('Ignoring arguments: {}'.format(' '.join(unknown)))
    return args


def train_environment(args):
    """os.environ plus the settings npu_train.sh reads (adda/environment.py), each under its
    name: an option given replaces the setting and its old name."""
    env = dict(os.environ)
    settings = [('DEVICE', args.device), ('PRECISION', args.precision),
                ('TASKS', args.tasks and ' '.join(args.tasks.replace(',', ' ').split())),
                ('SOURCE_ITERATIONS', args.source_iterations),
                ('ADAPT_ITERATIONS', args.adapt_iterations), ('SEED', args.seed),
                ('PYTHON', args.python)]
    for name, value in settings:
        if value is not None:
            for old in environment.SETTINGS[name].old:
                env.pop(old, None)
            env[name] = str(value)
    return env


def check_environment(env):
    """npu_train.sh's settings in ``env``, checked before anything is copied (one line)."""
    try:
        environment.read(environment.NPU_TRAIN, env)
    except environment.RunError as e:
        error = EntryError(e.args[0])
        error.status = e.status
        raise error


def main(argv=None):
    args = parse_args(argv)
    work_dir = os.path.abspath(args.work_dir)
    data_dir = os.path.join(work_dir, 'data')
    output_dir = os.path.join(work_dir, 'output')
    script = os.path.join(CODE_DIR, TRAIN_SCRIPT)
    say('code_dir: {}'.format(CODE_DIR))
    say('work_dir: {}'.format(work_dir))
    say('data_url: {}, train_url: {}'.format(args.data_url, args.train_url))
    mox = import_moxing()
    say('moxing: {}'.format('available' if mox is not None else
                            'not installed, copying with the standard library'))
    try:
        if not os.path.isfile(script):
            raise EntryError('{} is missing'.format(script))
        check_args(args)
        check_environment(train_environment(args))
        copy_folder(args.data_url, data_dir, mox, 'the data')
    except EntryError as e:
        say('ERROR: {}'.format(e))
        return e.status

    command = ['bash', script, CODE_DIR, work_dir, data_dir, output_dir]
    say('Running {}'.format(' '.join(command)))
    status = subprocess.call(command, env=train_environment(args), cwd=CODE_DIR)
    if status < 0:  # killed by a signal: report it the way a shell does
        status = 128 - status
    say('{} exited with status {}'.format(TRAIN_SCRIPT, status))

    try:
        if not os.path.isdir(output_dir):
            raise EntryError('{} wrote no {}'.format(TRAIN_SCRIPT, output_dir))
        copy_folder(output_dir, args.train_url, mox, 'the outputs')
    except EntryError as e:
        say('ERROR: {}'.format(e))
        return status or 1
    say('Outputs are in {}'.format(args.train_url))
    return status


if __name__ == '__main__':
    sys.exit(main())
