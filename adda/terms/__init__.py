"""The registry of adaptation terms: opt-in additions to the ADDA step, one module each.

With no term on, the adaptation step (adda.adaptation.build_adda_training) is the original's.
A term module defines ``TERM``, a subclass of Term that declares its options (the first one
switches it on when non-zero), what it reads of the step's forward pass, the devices it cannot
run on, and builds its state, losses and updates. Modules are found by name (pkgutil), so a
new term is one module here; train_adda.py's options, the recorded config,
the settings ``--resume`` compares, the Ascend contract test's graphs and the docs' table
are derived from the registry.

Nothing here imports TensorFlow, so ``--help`` answers at once; a term imports it (and
adda.losses) inside the methods that build ops.

An option's ``added`` is the change of train_adda.py's options that brought it, and orders
config.yaml (and ``--resume``'s list) as the tool has always recorded it: 1 the first
stabilisers (0075b88), 2 --infomax_ramp (bcaa742), 3 the pseudo-labels (1c0fe67), 4 VAT
(8442bd2), 5 the centroids (6358671), 6 the neighbour vote (3079e17), 7 the teacher; a new
option takes the next number.
"""
import collections
import importlib
import pkgutil

from adda.cli import NON_NEGATIVE, POSITIVE, RECIPE, FiniteFloat
from adda.options import AS_GIVEN
from adda.options import Option as ToolOption

# The target network's layer whose features the terms compare images by (the class centroids,
# the neighbour bank): lenet's layer under the logits.
SIMILARITY_LAYER = 'fc3'
LOGITS = 'logits'


class Option(ToolOption):
    """An option of train_adda.py that defines the run (adda.options.Option), in the
    Stabilisers and recipe section unless told otherwise: ``--name``, its click ``type``,
    ``default`` and ``help``, the value config.yaml records when its term is off (``off``;
    AS_GIVEN: the given value), the change that ``added`` it, the text the docs show as its
    default (``shown``, else derived from ``default``) and a value that switches on what it
    sets, for tests (``example``)."""

    def __init__(self, name, type, default, help, group=RECIPE, **kwargs):
        super(Option, self).__init__(name, type, default, help, group, run=True, **kwargs)


class Term(object):
    """One opt-in addition to the adaptation step; a module's ``TERM`` subclasses it.

    Declarations: ``name``; ``options`` (Option, the first one the switch); ``position`` (the
    order of --help and of the terms' additions to the objective); ``requires`` (the name of
    the term this one refines: on only with it); ``layers`` (LOGITS, SIMILARITY_LAYER: what
    of the target network's pass it reads); ``view`` (the option giving the zoom/shift
    strength of an augmented view of the target batch that it needs, else None); ``refused``
    (device -> why the term cannot run there). Its module's docstring says whether a recipe
    script uses it or it was tried and not adopted.

    A graph's instance (``Term(settings, setup)``, once the networks and the discriminator
    exist) builds the variables the term keeps in the training state; the step calls its
    hooks in ``position`` order.
    """

    name = None
    options = ()
    position = 100
    requires = None
    layers = ()
    view = None
    refused = {}

    def __init__(self, settings, setup):
        self.settings = settings

    @classmethod
    def switch(cls):
        return cls.options[0].name

    @classmethod
    def is_on(cls, values):
        """Whether the term is on with ``values`` (option name -> value)."""
        if not values.get(cls.switch()):
            return False
        return cls.requires is None or by_name(cls.requires).is_on(values)

    def prepare(self, step):
        """What the term computes for other terms before the losses (see AdaptationStep)."""

    def adversary_penalty(self, passes, discriminator):
        """An addition to the discriminator's objective (None: none)."""

    def mapping_loss(self, step):
        """An addition to the target network's objective (None: none)."""

    def updates(self, step):
        """Ops run with each step's update (state the term keeps)."""
        return []

    def after_update(self, update):
        """The step's update op, extended (ops that must follow the update)."""
        return update

    def snapshot_vars(self):
        """What a snapshot saves instead of the target network's variables (None: those)."""

    def after_restore(self, sess):
        """Called once the target network holds its starting or resumed weights."""


# Options of the core step itself (adda.adaptation.build_adda_training reads them): they change
# the adversarial step rather than add a term to it. Declared here, not there, so that --help
# needs no TensorFlow.
CORE_OPTIONS = (
    Option('adversary_lr', NON_NEGATIVE, None, "The discriminator's learning rate [default: "
           "--lr].", added=1, shown='`--lr`', example=1e-3),
    Option('adversary_steps', POSITIVE, 1, 'Discriminator updates per target update (the '
           'extra ones on fresh batches).', added=1, example=2),
    Option('label_smoothing', FiniteFloat(min=0.0, below=1.0), 0.0, 'One-sided label '
           'smoothing: the discriminator learns source features as source with probability '
           '1 - S.', added=1, example=0.1),
)


def _discover():
    found = []
    for module in pkgutil.iter_modules(__path__):
        term = getattr(importlib.import_module(__name__ + '.' + module.name), 'TERM', None)
        if term is not None:
            found.append(term)
    found.sort(key=lambda term: (term.position, term.name))
    names = [o.name for o in CORE_OPTIONS] + [o.name for t in found for o in t.options]
    duplicates = sorted(set(n for n in names if names.count(n) > 1))
    if duplicates:
        raise ValueError('adaptation options declared twice: {}'.format(', '.join(duplicates)))
    for term in found:
        for opt in term.options:
            opt.term = term
    return tuple(found)


TERMS = _discover()


def by_name(name):
    for term in TERMS:
        if term.name == name:
            return term
    raise KeyError(name)


def _owners():
    """(option, its term or None for the core), in --help order."""
    return [(o, None) for o in CORE_OPTIONS] + [(o, t) for t in TERMS for o in t.options]


def help_options():
    """Every adaptation option in --help order (the core's, then each term's)."""
    return [o for o, _ in _owners()]


def recorded_options():
    """(option, its term or None) in config.yaml's order: by ``added``, then --help order."""
    owners = _owners()
    latest = max(o.added or 0 for o, _ in owners) + 1
    return [pair for _, pair in sorted(enumerate(owners), key=lambda item: (
        item[1][0].added or latest, item[0]))]


def option_names():
    """The adaptation options' names in config.yaml's order (what --resume compares)."""
    return tuple(o.name for o, _ in recorded_options())


def record(values):
    """What config.yaml records for ``values`` (option name -> value; missing ones take
    their defaults): every option in order, an off term's options at their ``off`` values."""
    given = dict((o.name, o.default) for o in help_options())
    unknown = sorted(set(values) - set(given))
    if unknown:
        raise TypeError('unknown adaptation options: {}'.format(', '.join(unknown)))
    given.update(values)
    return collections.OrderedDict((o.name, o.recorded_value(given))
                                   for o, _ in recorded_options())


def switched_on(settings):
    """The terms that ``settings`` (an object with a field per option) switches on, in
    ``position`` order."""
    values = dict((o.name, getattr(settings, o.name)) for o in help_options())
    return tuple(term for term in TERMS if term.is_on(values))


def without_effect(settings):
    """One line for each term whose switch ``settings`` set while the term it refines is off
    (so it does nothing), e.g. --pseudo_teacher without --target_pseudo."""
    values = dict((o.name, getattr(settings, o.name)) for o in help_options())
    return ['--{} {} does nothing without --{} (the term it refines is off)'.format(
                term.switch(), values[term.switch()], by_name(term.requires).switch())
            for term in TERMS if term.requires and values.get(term.switch())
            and not term.is_on(values)]


def examples(term):
    """Option values that switch ``term`` on (and the term it refines), for tests."""
    values = examples(by_name(term.requires)) if term.requires else {}
    values.update((o.name, o.example) for o in term.options if o.example is not None)
    return values


def every_example(terms=None):
    """Values that switch on the core's options and every term of ``terms`` (default: all)."""
    values = dict((o.name, o.example) for o in CORE_OPTIONS)
    for term in TERMS if terms is None else terms:
        values.update(examples(term))
    return values


def arguments(values):
    """The train_adda.py arguments that set ``values``."""
    return [text for name, value in sorted(values.items())
            for text in ('--' + name, str(value))]


def runs_on(term, device):
    return device not in term.refused


__all__ = ['AS_GIVEN', 'CORE_OPTIONS', 'LOGITS', 'Option', 'RECIPE', 'SIMILARITY_LAYER', 'TERMS',
           'Term', 'record', 'switched_on']
