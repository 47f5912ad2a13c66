"""What the three tools share: options, argument checks and one-line errors.

Nothing here imports TensorFlow, so ``--help`` and argument errors answer at once.
"""
import errno
import functools
import logging
import math
import os
import sys

import click

from adda.errors import AddaError

FULL_OR_READ_ONLY = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)

DEVICE_CHOICES = ('auto', 'cpu', 'gpu', 'npu')
PRECISION_CHOICES = ('mixed', 'fp32', 'allow_mix_precision', 'allow_fp32_to_fp16', 'force_fp32',
                     'must_keep_origin_dtype')
POSITIVE = click.IntRange(min=1)


class FiniteFloat(click.ParamType):
    """A finite float, at least ``min`` and below ``below`` when given (NaN and infinities
    are refused)."""

    name = 'float'

    def __init__(self, min=None, below=None):
        self.min = min
        self.below = below

    def convert(self, value, param, ctx):
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail('{!r} is not a number'.format(value), param, ctx)
        if not math.isfinite(number):
            self.fail('{} is not a finite number'.format(value), param, ctx)
        if self.min is not None and number < self.min:
            self.fail('{} is below {} (the smallest allowed)'.format(value, self.min),
                      param, ctx)
        if self.below is not None and number >= self.below:
            self.fail('{} must be below {}'.format(value, self.below), param, ctx)
        return number


NON_NEGATIVE = FiniteFloat(min=0.0)


class LossScaleType(click.ParamType):
    """dynamic, none or a number >= 1, as adda.loss_scale.LossScale."""

    name = 'dynamic|none|N'

    def convert(self, value, param, ctx):
        if not isinstance(value, str):
            return value
        from adda.loss_scale import parse_loss_scale  # only when the option is given
        try:
            return parse_loss_scale(value)
        except ValueError as e:
            self.fail(str(e), param, ctx)


def adda_command(fn):
    """Run a tool: its return value is the exit status; user errors print one line."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from adda.util import config_logging
        config_logging()
        try:
            status = fn(*args, **kwargs)
        except AddaError as e:
            fail(e)
        except KeyboardInterrupt:
            click.echo('Interrupted', err=True)
            sys.exit(130)
        except OSError as e:  # what the file system refused, wherever it happened
            from adda.errors import write_error
            if e.errno in FULL_OR_READ_ONLY:
                fail(write_error(e.filename or os.getcwd(), e))
            if e.filename is None:
                raise
            fail('{}: {}'.format(e.filename, e.strerror or e))
        except MemoryError:
            fail('out of memory: try a smaller --batch_size')
        except Exception as e:
            if type(e).__name__ == 'ResourceExhaustedError':
                from adda.errors import no_space_path, write_error
                path = no_space_path(getattr(e, 'message', '') or str(e))
                fail(write_error(path, e) if path else
                     'out of memory on the device: try a smaller --batch_size')
            raise
        sys.exit(status or 0)
    return wrapper


def fail(error):
    """Print ``error`` as one 'Error:' line on stderr and exit with status 1."""
    click.echo('Error: {}'.format(error), err=True)
    sys.exit(1)


def device_options(fn):
    """--gpu (the original's), --device and --precision."""
    fn = click.option('--precision', type=click.Choice(PRECISION_CHOICES), default=None,
                      help='mixed or fp32 (default: mixed on the NPU, fp32 elsewhere); the '
                           'NPU also takes its precision_mode names.')(fn)
    fn = click.option('--device', type=click.Choice(DEVICE_CHOICES), default='auto',
                      show_default=True,
                      help='auto: the NPU when npu_bridge imports, else a GPU when one is '
                           'visible, else the CPU.')(fn)
    fn = click.option('--gpu', default='0', show_default=True,
                      help='GPU to use (sets CUDA_VISIBLE_DEVICES unless already set).')(fn)
    return fn


def select_gpu(gpu):
    """The original's --gpu handling: CUDA_VISIBLE_DEVICES wins over the flag.

    Call before TensorFlow first looks for GPUs.
    """
    if 'CUDA_VISIBLE_DEVICES' in os.environ:
        logging.info('CUDA_VISIBLE_DEVICES specified, ignoring --gpu flag')
    else:
        os.environ['CUDA_VISIBLE_DEVICES'] = gpu


def training_options(fn):
    """Options both training tools take, with the original's defaults."""
    options = [
        click.option('--iterations', default=20000, type=POSITIVE, show_default=True),
        click.option('--batch_size', default=50, type=POSITIVE, show_default=True),
        click.option('--display', default=10, type=POSITIVE, show_default=True,
                     help='Log the losses every this many iterations.'),
        click.option('--lr', default=1e-4, type=NON_NEGATIVE, show_default=True,
                     help='Learning rate (0 freezes the weights).'),
        click.option('--stepsize', type=POSITIVE, default=None,
                     help='Multiply the learning rate by 0.1 every this many iterations.'),
        click.option('--snapshot', default=5000, type=POSITIVE, show_default=True,
                     help='Save a snapshot every this many iterations (and at the end).'),
        click.option('--keep', default=5, type=click.IntRange(min=0), show_default=True,
                     help='Snapshots to keep (older ones are deleted); 0 keeps all.'),
        click.option('--solver', default='sgd', show_default=True,
                     help='sgd (momentum 0.99), otherwise Adam.'),
        click.option('--seed', type=click.IntRange(0, 2 ** 32 - 3), default=None,
                     help='Python gets seed, NumPy seed+1, TensorFlow seed+2 (default: random, '
                          'logged).'),
        click.option('--resume', is_flag=True,
                     help='Continue from the latest intact training state in the output '
                          'folder.'),
        click.option('--resume_from_snapshot', is_flag=True,
                     help='With --resume, when no intact training state is left: continue '
                          'from the newest intact snapshot with a fresh optimizer state.'),
        click.option('--steps_per_run', default=None, type=POSITIVE,
                     help='Training steps per session call (default 10). CPU/GPU: a loop '
                          'inside the graph; logs, snapshots and NaN checks still see each '
                          'step. NPU: the device-side loop (iterations_per_loop); logs, '
                          'snapshots and checks act every K steps, and --iterations and '
                          '--snapshot must be multiples of K.'),
        click.option('--loss_scale', default=None, type=LossScaleType(),
                     help='dynamic, none or a fixed number >= 1 (default: dynamic under mixed '
                          'precision, none in fp32). Steps whose gradients overflow are '
                          'skipped and counted.'),
        click.option('--snapshot_dir', default='snapshot', show_default=True,
                     type=click.Path(file_okay=False),
                     help='Snapshots go to SNAPSHOT_DIR/OUTPUT/OUTPUT-<iteration>.'),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def parse_dataset_split(text, what):
    """'svhn:train' -> ('svhn', 'train')."""
    parts = text.split(':')
    if len(parts) != 2 or not all(parts):
        raise AddaError('unexpected {} dataset {!r} (should be in format dataset:split, e.g. '
                        'svhn:train)'.format(what, text))
    return parts[0], parts[1]


def check_dataset(name, split):
    """Fail fast on an unknown dataset or split name, before any data is loaded."""
    from adda.data import get_dataset
    get_dataset(name).check_split(split)
