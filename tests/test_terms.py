"""The registry of adaptation terms (adda/terms/) and what is derived from it: train_adda.py's
options, the recorded config, the settings --resume compares, the docs' table; and the one
table of stateless random-key ranges (adda/random_keys.py)."""
import importlib
import itertools
import os
import pkgutil
import re

import numpy as np
import pytest

from conftest import ROOT

import adda.terms
from adda.terms import (CORE_OPTIONS, TERMS, examples, help_options, option_names, record,
                        switched_on)
from adda.tools.train_adda import Settings


def test_every_module_of_the_package_is_a_registered_term():
    modules = sorted(m.name for m in pkgutil.iter_modules(adda.terms.__path__))
    assert sorted(term.__module__.rsplit('.', 1)[1] for term in TERMS) == modules
    assert [term.name for term in TERMS] == ['gradient_penalty', 'source_pull', 'infomax',
                                             'pseudo', 'teacher', 'neighbours', 'vat', 'centroids',
                                             'ema']
    for term in TERMS:
        assert term.options, term.name
        # each module says whether a recipe script uses its term
        doc = ' '.join(importlib.import_module(term.__module__).__doc__.split())
        assert re.search(r'not adopted by any script|\buses? it\b', doc), term.name


def test_no_term_is_on_by_default():
    assert switched_on(Settings()) == ()
    recorded = Settings().record()
    assert list(recorded)[-len(option_names()):] == list(option_names())
    assert dict((name, recorded[name]) for name in option_names()) == record({})
    for term in TERMS:
        assert switched_on(Settings(**examples(term)))[-1] is term
        values = examples(term)
        assert dict((k, v) for k, v in Settings(**values).record().items()
                    if k in option_names()) == record(values)


def test_train_adda_options_come_from_the_registry_in_order():
    import click
    from adda.tools.train_adda import main
    params = [p for p in main.params if isinstance(p, click.Option)]
    names = [p.name for p in params]
    declared = help_options()
    start = names.index('adversary_layer') + 1
    assert names[start:start + len(declared)] == [o.name for o in declared]
    for param, opt in zip(params[start:], declared):
        assert (param.default, param.help, param.group, param.type) == (
            opt.default, opt.help, opt.group, opt.type)


def test_config_records_an_off_term_s_options_at_their_off_values():
    assert list(record({})) == list(option_names())
    off = record({'target_augment': 0.4, 'pseudo_neighbours': 5, 'vat_radius': 1.0,
                  'pseudo_threshold': 0.5, 'centroid_momentum': 0.5})
    assert (off['target_augment'], off['pseudo_neighbours'], off['vat_radius']) == (0.0, 0, 0.0)
    assert (off['pseudo_threshold'], off['centroid_momentum']) == (0.5, 0.5)  # as given
    on = record({'target_pseudo': 1.0, 'pseudo_neighbours': 5, 'target_vat': 1.0})
    assert (on['target_augment'], on['pseudo_neighbours'], on['vat_radius']) == (0.2, 5, 2.0)
    assert record({'target_pseudo': 1.0})['pseudo_neighbours'] == 0
    with pytest.raises(TypeError, match='unknown adaptation options: target_foo'):
        record({'target_foo': 1})


def test_config_order_is_the_order_the_options_came_in():
    """config.yaml (and --resume's list) keep the order train_adda.py has always recorded:
    the options by the change that added them."""
    assert option_names() == (
        'adversary_lr', 'adversary_steps', 'label_smoothing', 'gradient_penalty',
        'source_pull', 'target_infomax', 'ema', 'infomax_ramp', 'target_pseudo',
        'pseudo_threshold', 'target_augment', 'pseudo_ramp', 'target_vat', 'vat_radius',
        'target_centroid', 'centroid_momentum', 'pseudo_neighbours', 'pseudo_teacher')
    from adda.tools.train_adda import RUN_SETTINGS
    assert RUN_SETTINGS[-len(option_names()):] == option_names()
    assert all(o.added for o in help_options())


def test_the_docs_table_is_the_registry():
    """docs/tools.md's table of the adaptation options: one row per option, in --help order,
    with its default as the registry shows it."""
    with open(os.path.join(ROOT, 'docs', 'tools.md')) as f:
        text = f.read()
    section = text[text.index('**Stabilisers and recipe.**'):]
    rows = list(itertools.takewhile(lambda line: line.startswith('|'),
                                    section.split('\n|---|---|---|\n', 1)[1].splitlines()))
    found = [(re.match(r'\| `--(\w+)', row).group(1), row.split(' | ')[1]) for row in rows]
    assert found == [(o.name, o.shown) for o in help_options()]
    assert [o.name for o in CORE_OPTIONS] == ['adversary_lr', 'adversary_steps',
                                              'label_smoothing']


def test_random_key_ranges_never_overlap():
    from adda.random_keys import KEY_RANGES, range_length
    ranges = sorted((start, start + range_length(use), use, stream)
                    for use, starts in KEY_RANGES.items()
                    for stream, start in enumerate(starts) if start is not None)
    for (_, end, use, stream), (start, _, other, other_stream) in zip(ranges, ranges[1:]):
        assert end <= start, (use, stream, other, other_stream)


def test_keys_are_the_ones_runs_have_always_drawn(tf_graph):
    """The table gives the counters the three files used to compute each on its own."""
    from adda.compat import tf
    from adda.random_keys import stateless_key
    span = 1 << 41
    expected = {('epoch_order', 1, 3): 3 + (1 << 40), ('zoom_shift', 0, 5): 5 + span,
                ('zoom_shift', 1, 5): 5 + 3 * span, ('stroke', 0, 5): 5 + 2 * span,
                ('stroke', 1, 5): 5 + 4 * span, ('shear', 0, 5): 5 - span,
                ('shear', 1, 5): 5 - 2 * span, ('vat', 1, 5): 5 + (7 << 41)}
    with tf.Session() as sess:
        for (use, stream, counter), value in expected.items():
            key = sess.run(stateless_key(np.int64(9), use, stream, counter))
            assert key.tolist() == [9, value], use


def test_a_refining_term_without_the_term_it_refines_is_named():
    from adda.terms import without_effect
    assert without_effect(Settings()) == []
    assert without_effect(Settings(target_pseudo=1.0, pseudo_teacher=0.99)) == []
    assert without_effect(Settings(pseudo_teacher=0.99, pseudo_neighbours=5)) == [
        '--pseudo_teacher 0.99 does nothing without --target_pseudo (the term it refines is '
        'off)',
        '--pseudo_neighbours 5 does nothing without --target_pseudo (the term it refines is '
        'off)']
