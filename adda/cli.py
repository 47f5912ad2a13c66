"""What the tools share: --help's sections, option types, argument checks and one-line errors
(the options themselves are declared in adda/options.py).

Nothing here imports TensorFlow, so ``--help`` and argument errors answer at once.
"""
import collections
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
SOLVERS = ('sgd', 'adam')
# LeNet's named layers (adda/models/lenet.py), checked against the model when the tool runs.
LAYERS = ('conv1', 'pool1', 'conv2', 'pool2', 'fc3', 'fc4')
POSITIVE = click.IntRange(min=1)

# Sections of --help, in this order: what a user needs first, the Ascend adapter's debugging
# switches last. Options without a section go under "Other" (OTHER), before those.
REQUIRED, DATA, OPTIMISATION, ADVERSARY, RECIPE, SELECTION, OUTPUT, DEVICE = (
    'Required', 'Data and model', 'Optimisation', 'Adversary', 'Stabilisers and recipe',
    'Selection', 'Output', 'Device')
OTHER = None
NPU_DEBUGGING = 'Ascend NPU debugging'
GROUPS = (REQUIRED, DATA, OPTIMISATION, ADVERSARY, RECIPE, SELECTION, OUTPUT, DEVICE, OTHER,
          NPU_DEBUGGING)


class GroupedOption(click.Option):
    """A click option that says which section of --help it belongs to (``group``)."""

    def __init__(self, *args, **kwargs):
        self.group = kwargs.pop('group', None)
        super(GroupedOption, self).__init__(*args, **kwargs)


class GroupedCommand(click.Command):
    """A command whose --help lists its options in sections (GROUPS), required ones first, and
    that ends its process without Python's slow teardown of TensorFlow (exit_now)."""

    def main(self, args=None, *rest, **extra):
        if args is not None or rest or extra.get('standalone_mode') is False:
            return super(GroupedCommand, self).main(args, *rest, **extra)  # called in a process
        try:
            super(GroupedCommand, self).main(args, **extra)
            code = 0
        except SystemExit as e:
            code = e.code
        exit_now(code)

    def format_options(self, ctx, formatter):
        sections = collections.OrderedDict((group, []) for group in GROUPS)
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None or isinstance(param, click.Argument):
                continue
            group = REQUIRED if getattr(param, 'required', False) else getattr(param, 'group',
                                                                               OTHER)
            sections.setdefault(group, []).append(record)
        grouped = any(records for group, records in sections.items() if group)
        for group, records in sections.items():
            if records:
                title = group + ' options' if group else ('Other options' if grouped else
                                                          'Options')
                with formatter.section(title):
                    formatter.write_dl(records)


def exit_now(code):
    """End the process as sys.exit(code) would, without the 1-3 s that Python spends tearing
    down TensorFlow's modules after the work is done: the exit handlers run (the logs close,
    locks are released, temporary files go) and the output is flushed first. With threads of
    ours still running, the ordinary exit (which waits for them)."""
    import atexit
    import threading
    if code is None:
        code = 0
    elif not isinstance(code, int):
        click.echo(code, err=True)
        code = 1
    if any(thread.is_alive() and not thread.daemon and thread is not threading.main_thread()
           for thread in threading.enumerate()):
        sys.exit(code)
    getattr(atexit, '_run_exitfuncs', lambda: None)()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def option(*decls, **attrs):
    """click.option in a --help section (``group``), its default shown when it has one."""
    attrs.setdefault('cls', GroupedOption)
    if attrs.get('default') is not None and not attrs.get('is_flag') and \
            'show_default' not in attrs:
        attrs['show_default'] = True
    return click.option(*decls, **attrs)


def command(**attrs):
    """click.command with grouped --help."""
    attrs.setdefault('cls', GroupedCommand)
    return click.command(**attrs)


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


def select_gpu(gpu):
    """The original's --gpu handling: CUDA_VISIBLE_DEVICES wins over the flag.

    Call before TensorFlow first looks for GPUs.
    """
    if 'CUDA_VISIBLE_DEVICES' in os.environ:
        logging.info('CUDA_VISIBLE_DEVICES specified, ignoring --gpu flag')
    else:
        os.environ['CUDA_VISIBLE_DEVICES'] = gpu


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


def require_source_labels(name, split):
    """A source (what a model learns classes from) must be labelled: one line when it is not,
    before anything is decoded."""
    from adda.data import get_dataset
    get_dataset(name).require_labels(split, 'a source must be labelled (a model learns its '
                                            'classes from it); {} can be the target of an '
                                            'adaptation'.format(name))


def require_labels_to_measure(name, split):
    """An accuracy needs labels: one line when ``split`` has none, naming what works without."""
    from adda.data import get_dataset
    get_dataset(name).require_labels(split, 'an accuracy needs them; tools/predict.py predicts '
                                            'without them, and the pipeline estimates the '
                                            'accuracy (tools/estimate.py)')
