"""The tools' arguments and options, declared once.

A tool declares what it takes as one ``Tool``: its Arguments and Options in ``--help`` order.
From that come its click command (``--help``'s sections are the options' ``group``s), the one
settings object its code gets (a frozen dataclass, ``Tool.Settings``, with a field per
argument and option), and for the training tools what config.yaml records (``Tool.record``)
and which settings ``--resume`` compares (``Tool.run_names``: the options declared
``run=True``). docs/tools.md's option tables are checked against the declarations
(tests/test_options.py), as the adaptation terms' table is against adda/terms/.

A new option of a tool is one Option in its declaration; its code reads
``settings.<name>``. The options every training tool takes (TRAINING_OPTIONS) and those of
the tools that make a session (DEVICE_OPTIONS) are declared here. A new tool is::

    TOOL = Tool('predict', Argument('model'), Argument('weights'),
                Option('output', click.Path(dir_okay=False), group=OUTPUT, help='...'),
                DEVICE_OPTIONS)

    @TOOL.command
    @adda_command
    def main(settings):
        ...

Nothing here imports TensorFlow, so ``--help`` and argument errors answer at once.
"""
import collections
import dataclasses
import functools
import typing

import click

from adda.cli import (DEVICE, DEVICE_CHOICES, NON_NEGATIVE, NPU_DEBUGGING, OPTIMISATION, OUTPUT,
                      POSITIVE, PRECISION_CHOICES, SOLVERS, FiniteFloat, LossScaleType,
                      command, option)

# An adaptation term's option recorded as given, whether its term is on or not (adda/terms/).
AS_GIVEN = object()
# config.yaml lists the options every training tool takes in the order the command line gave
# them (as click hands them over: the given ones first), as it always has, then the others.
COMMAND_LINE_ORDER = 'command line order'
_UNSET = object()


class Argument(object):
    """A positional argument ``NAME``; ``run``: it defines the run, so that ``--resume``
    compares it; ``recorded``: config.yaml records it. Other keywords go to click.argument."""

    exposed = True
    added = None
    group = None

    def __init__(self, name, run=False, recorded=True, **click_attrs):
        self.name, self.run, self.recorded = name, run, recorded
        self.click_attrs = click_attrs
        self.field_default = () if click_attrs.get('nargs') == -1 else None

    def decorator(self):
        return click.argument(self.name, **self.click_attrs)

    def annotation(self):
        return tuple if self.field_default == () else typing.Optional[str]

    def recorded_value(self, values):
        return values[self.name]


class Option(object):
    """An option ``--name``: its click ``type``, ``default`` and ``help``, and its --help
    section ``group``.

    ``run``: it defines the run, so that ``--resume`` refuses another value. ``recorded``:
    config.yaml records it (False: not at all; COMMAND_LINE_ORDER: see there). ``added``:
    the change that brought an option recorded after the others (adda/terms/); ``off``: the
    value recorded while its ``term`` is off (AS_GIVEN: the given one). ``shown``: its
    default as docs/tools.md's table shows it (else derived from ``default``); ``example``: a
    value that switches on what it sets, for tests. ``flags``: click's declarations when not
    ``--name`` alone (a short name, an on/off pair); other keywords go to click.option.
    """

    def __init__(self, name, type=None, default=_UNSET, help=None, group=None, run=False,
                 recorded=True, flags=None, added=None, off=AS_GIVEN, shown=None, example=None,
                 **click_attrs):
        self.name, self.type, self.help, self.group = name, type, help, group
        self.run, self.recorded, self.flags = run, recorded, flags
        self.added, self.off, self.example = added, off, example
        self.click_attrs = click_attrs
        self.exposed = click_attrs.get('expose_value', True)
        self.term = None  # the adaptation term it belongs to (set by adda.terms)
        if default is _UNSET:
            default = False if click_attrs.get('is_flag') else (
                () if click_attrs.get('multiple') else None)
            self.click_default = _UNSET
        else:
            self.click_default = default
        self.default = tuple(default) if isinstance(default, list) else default
        self.field_default = self.default
        self.shown = shown if shown is not None else _shown(default)

    def decorator(self):
        attrs = dict(self.click_attrs, group=self.group, help=self.help)
        if self.type is not None:
            attrs['type'] = self.type
        if self.click_default is not _UNSET:
            attrs['default'] = self.click_default
        return option(*(self.flags or ('--' + self.name,)) + (self.name,), **attrs)

    def annotation(self):
        if self.click_attrs.get('is_flag') or isinstance(self.default, bool):
            return bool
        if self.click_attrs.get('multiple') or isinstance(self.type, tuple):
            return tuple
        kind = type(self.default) if self.default is not None else self.type if isinstance(
            self.type, type) else next((python for types, python in _PYTHON_TYPES
                                        if isinstance(self.type, types)), str)
        return kind if self.default is not None else typing.Optional[kind]

    def recorded_value(self, values):
        """What config.yaml records for it, given every field's value (name -> value)."""
        if self.off is not AS_GIVEN and self.term is not None and not self.term.is_on(values):
            return self.off
        return values[self.name]


def _shown(default):
    """A default as docs/tools.md's tables show it: nothing for none, a name in backticks."""
    if default is None or default is False or default == ():
        return ''
    if isinstance(default, str):
        return '`{}`'.format(default)
    return '0' if default == 0 else str(default)


_PYTHON_TYPES = ((click.types.IntParamType, int), (click.types.FloatParamType, float),
                 (FiniteFloat, float), (LossScaleType, object))


class Settings(object):
    """The base of every tool's settings (Tool.Settings): one field per declared argument and
    option, and ``click_order``, the order the command line gave them in (config.yaml's)."""

    tool = None

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)

    def record(self, **derived):
        """What config.yaml records as the run's ``options`` (Tool.record)."""
        return self.tool.record(self, **derived)

    def values(self):
        return collections.OrderedDict((d.name, getattr(self, d.name)) for d in self.tool.fields)

    def __repr__(self):
        changed = ['{}={!r}'.format(d.name, getattr(self, d.name)) for d in self.tool.fields
                   if getattr(self, d.name) != d.field_default]
        return '{}({})'.format(type(self).__name__, ', '.join(changed))


class Tool(object):
    """A tool's declaration: its Arguments and Options in --help order (a tuple of them, such
    as TRAINING_OPTIONS, stands for its members), and what is derived from it."""

    def __init__(self, name, *declared):
        self.name = name
        self.declared = tuple(_flatten(declared))
        names = [d.name for d in self.declared]
        duplicates = sorted(set(n for n in names if names.count(n) > 1))
        if duplicates:
            raise ValueError('{}: declared twice: {}'.format(name, ', '.join(duplicates)))
        taken = sorted(set(names) & set(dir(Settings)) | set(names) & {'click_order'})
        if taken:
            raise ValueError('{}: names the settings object uses: {}'.format(name,
                                                                          ', '.join(taken)))
        self.fields = tuple(d for d in self.declared if d.exposed)
        self.Settings = _settings_class(self)

    def __getitem__(self, name):
        for declared in self.declared:
            if declared.name == name:
                return declared
        raise KeyError(name)

    def command(self, main):
        """The click command that calls ``main(settings)`` with the parsed command line."""
        @functools.wraps(main)
        def callback(**values):
            return main(self.Settings(click_order=tuple(values), **values))
        for declared in reversed(self.declared):
            callback = declared.decorator()(callback)
        return command()(callback)

    def options(self, group=None):
        """The exposed options (of --help section ``group`` when given), in --help order."""
        return [d for d in self.fields if isinstance(d, Option) and (
            group is None or d.group == group)]

    def _recorded_order(self):
        """The declared, config.yaml's way: as declared, those ``added`` later last by when
        they came."""
        return [d for _, d in sorted(enumerate(self.declared),
                                     key=lambda pair: (pair[1].added or 0, pair[0]))]

    def run_names(self):
        """The settings that define a run, in the order ``--resume`` lists differences."""
        return tuple(d.name for d in self._recorded_order() if d.run)

    def defaults(self):
        return dict((d.name, d.field_default) for d in self.fields)

    def record(self, settings, **derived):
        """config.yaml's ``options`` for ``settings``: the options in COMMAND_LINE_ORDER as
        the command line gave them, then the other recorded ones (_recorded_order) at their
        recorded values (a term that is off: its ``off`` ones), tuples as lists; ``derived``
        (values the run decided, e.g. the device plan's) replace or follow them."""
        values = settings.values()
        shared = [d.name for d in self.fields if d.recorded == COMMAND_LINE_ORDER]
        first = [n for n in settings.click_order if n in shared]
        names = first + [n for n in shared if n not in first] + [
            d.name for d in self._recorded_order() if d.exposed and d.recorded is True]
        recorded = collections.OrderedDict()
        for name in names:
            value = self[name].recorded_value(values)
            recorded[name] = list(value) if isinstance(value, tuple) else value
        recorded.update(derived)
        return recorded


def _flatten(declared):
    for item in declared:
        if isinstance(item, (tuple, list)):
            for inner in _flatten(item):
                yield inner
        else:
            yield item


def _settings_class(tool):
    fields = [(d.name, d.annotation(), dataclasses.field(default=d.field_default))
              for d in tool.fields]
    fields.append(('click_order', tuple, dataclasses.field(default=(), repr=False,
                                                           compare=False)))
    name = ''.join(part.title() for part in tool.name.split('_')) + 'Settings'
    return dataclasses.make_dataclass(name, fields, bases=(Settings,), frozen=True, repr=False,
                                      namespace={'tool': tool, '__doc__': 'The settings of '
                                                 '{} (adda.options.Tool).'.format(tool.name)})


# The options both training tools take, with the original's defaults.
_shared = functools.partial(Option, recorded=COMMAND_LINE_ORDER)
TRAINING_OPTIONS = (
    _shared('iterations', POSITIVE, 20000, 'Training iterations (steps) in all; with --resume, '
            'where to stop.', OPTIMISATION),
    _shared('batch_size', POSITIVE, 50, 'Images per step (in adaptation: per domain).',
            OPTIMISATION, run=True),
    _shared('lr', NON_NEGATIVE, 1e-4, 'Learning rate (0 freezes the weights).', OPTIMISATION,
            run=True, shown='1e-4'),
    _shared('stepsize', POSITIVE, None, 'Multiply the learning rate by 0.1 every this many '
            'iterations [default: never].', OPTIMISATION, run=True, shown='never'),
    _shared('solver', click.Choice(SOLVERS, case_sensitive=False), 'sgd', 'sgd: momentum 0.99, '
            'as the original; adam: Adam.', OPTIMISATION, run=True),
    _shared('seed', click.IntRange(0, 2 ** 32 - 3), None, 'Python gets seed, NumPy seed+1, '
            'TensorFlow seed+2; also fixes the data order [default: random, logged].',
            OPTIMISATION, run=True, shown='random, logged'),
    _shared('display', POSITIVE, 10, 'Log the losses every this many iterations.', OUTPUT),
    _shared('snapshot', POSITIVE, 5000, 'Save a snapshot every this many iterations (and at the '
            'end).', OUTPUT),
    _shared('keep', click.IntRange(min=0), 5, 'Snapshots to keep (older ones are deleted); 0 '
            'keeps all.', OUTPUT, shown='5 (as the original)'),
    _shared('snapshot_dir', click.Path(file_okay=False), 'snapshot', 'Snapshots go to '
            'SNAPSHOT_DIR/OUTPUT/OUTPUT-<iteration>.', OUTPUT),
    _shared('resume', help='Continue the run in the output folder from its latest intact '
            'training state (with the settings it started with).', group=OUTPUT, is_flag=True),
    _shared('overwrite', help='Replace the run that the output folder holds (removed once this '
            'run\'s arguments and files have passed their checks).', group=OUTPUT,
            is_flag=True),
    _shared('resume_from_snapshot', help='With --resume, when no intact training state is left: '
            'continue from the newest intact snapshot with a fresh optimizer state.',
            group=OUTPUT, is_flag=True),
    _shared('steps_per_run', POSITIVE, 10, 'Training steps per session call. CPU/GPU: a loop '
            'inside the graph; logs, snapshots and NaN checks still see each step. NPU: the '
            'device-side loop (iterations_per_loop); they act every K steps, and --iterations '
            'and --snapshot must be multiples of K.', DEVICE),
    _shared('loss_scale', LossScaleType(), None, 'dynamic, none or a fixed number >= 1 '
            '[default: dynamic under mixed precision, none in fp32]. Steps whose gradients '
            'overflow are skipped and counted.', DEVICE,
            shown='dynamic under mixed precision, none in fp32'),
)


def _keep_switch(ctx, param, value):
    from adda.npu_switches import set_switch
    set_switch(param.name, value)
    return value


def _npu_switches():
    """The Ascend adapter's debugging switches (adda/npu_switches.py), read by the session
    when it is made rather than by the tool."""
    from adda.npu_switches import SWITCHES
    return tuple(Option(name, default=None, help=help_text, group=NPU_DEBUGGING, metavar=metavar,
                        recorded=False, expose_value=False, callback=_keep_switch)
                 for name, (metavar, help_text) in SWITCHES.items())


# --gpu (the original's), --device and --precision, then the NPU's debugging switches: the
# options of every tool that makes a session.
DEVICE_OPTIONS = (
    Option('gpu', None, '0', 'GPU to use (sets CUDA_VISIBLE_DEVICES unless already set).',
           DEVICE, recorded=False),
    Option('device', click.Choice(DEVICE_CHOICES), 'auto', 'auto: the NPU when npu_bridge '
           'imports, else a GPU when one is visible, else the CPU.', DEVICE),
    Option('precision', click.Choice(PRECISION_CHOICES), None, 'mixed or fp32 [default: mixed '
           'on the NPU, fp32 elsewhere]; on the NPU also its precision_mode names: '
           'allow_mix_precision, allow_fp32_to_fp16, force_fp32, must_keep_origin_dtype.',
           DEVICE, metavar='MODE'),
) + _npu_switches()
