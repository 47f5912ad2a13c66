"""The tools' declared options (adda/options.py; TOOL in each adda/tools/<tool>.py) and what is
derived from them: each tool's click command, the settings its code reads, config.yaml's
options, the settings --resume compares, docs/tools.md's tables and --help's order."""
import importlib
import itertools
import os
import pkgutil
import re

import pytest
import yaml

from conftest import ROOT, run_tool

import adda.tools
from adda.cli import ADVERSARY, DATA, DEVICE, NPU_DEBUGGING, OPTIMISATION, OUTPUT, REQUIRED
from adda.options import Option, Tool

# Every tool that declares its options (all but report.py), found by their TOOL.
DECLARED = sorted(m.name for m in pkgutil.iter_modules(adda.tools.__path__)
                  if hasattr(importlib.import_module('adda.tools.' + m.name), 'TOOL'))
CONFIGS_BEFORE = os.path.join(ROOT, 'tests', 'configs_before')


def module(name):
    return importlib.import_module('adda.tools.' + name)


def parsed(name, *args):
    """The settings the tool's main gets for the command line ``args``."""
    command = module(name).main
    ctx = command.make_context(name, [str(a) for a in args])
    return module(name).TOOL.Settings(click_order=tuple(ctx.params), **ctx.params)


@pytest.mark.parametrize('name', DECLARED)
def test_each_command_is_its_declaration(name):
    assert {'train', 'train_adda', 'eval_classification', 'select_snapshot',
            'snapshot_curve', 'embed', 'export_graph', 'benchmark'} <= set(DECLARED)
    tool = module(name).TOOL
    params = module(name).main.params
    assert [p.name for p in params] == [d.name for d in tool.declared]
    for param, declared in zip(params, tool.declared):
        if isinstance(declared, Option):
            assert (param.help, param.group) == (declared.help, declared.group), param.name
    fields = set(tool.Settings.__dataclass_fields__) - {'click_order'}
    assert fields == set(d.name for d in tool.declared if d.exposed)


def test_config_records_what_it_always_has():
    """config.yaml's options of today's tools for the commands of tests/configs_before: those
    of the newest old config, in its order (the shared options as the command line gave them),
    with the options that came after it (--augment_shear, --pseudo_teacher) in their place."""
    train = parsed('train', 'mnist', 'train', 'lenet', 'src', '--iterations', 10, '--snapshot',
                   10, '--batch_size', 16, '--seed', 0, '--snapshot_dir', 'snap')
    adapt = parsed('train_adda', 'mnist:train', 'usps:train', 'lenet', 'ad', '--weights',
                   'snap/src/src-10', '--iterations', 10, '--snapshot', 10, '--batch_size', 16,
                   '--adversary', 16, '--seed', 0, '--snapshot_dir', 'snap')
    for settings, name, later in ((train, 'train-f00734e.yaml', {'augment_shear': 0.0}),
                                  (adapt, 'train_adda-f00734e.yaml', {'pseudo_teacher': 0.0})):
        with open(os.path.join(CONFIGS_BEFORE, name)) as f:
            old = yaml.safe_load(f)['options']
        derived = dict((k, old[k]) for k in ('steps_per_run', 'loss_scale', 'shards'))
        expected = list(old.items())
        expected[-1:-1] = list(later.items())
        assert list(settings.record(**derived).items()) == expected


def test_the_settings_that_define_a_run():
    from adda.tools.train_adda import RUN_SETTINGS
    from adda.terms import option_names
    train, adapt = module('train').TOOL, module('train_adda').TOOL
    assert train.run_names() == (
        'dataset', 'split', 'model', 'batch_size', 'lr', 'stepsize', 'solver', 'seed', 'weights',
        'weights_end', 'ignore_label', 'augment', 'augment_stroke', 'augment_zoom',
        'augment_shear')
    assert adapt.run_names() == (
        'source', 'target', 'model', 'batch_size', 'lr', 'stepsize', 'solver', 'seed', 'weights',
        'adversary', 'adversary_leaky', 'adversary_layer') + option_names()
    assert RUN_SETTINGS == train.run_names() + tuple(
        n for n in adapt.run_names() if n not in train.run_names())


def test_a_new_run_defining_option_is_its_declaration_alone():
    """An option added to train.py's declaration is on the command line, in the settings, in
    config.yaml (after the others) and compared by --resume, with nothing else to change."""
    from adda.rundir import setting_differences
    train = module('train').TOOL
    blur = Option('augment_blur', float, 0.0, 'Blur each training image.', DATA, run=True)
    tool = Tool('train', train.declared, blur)
    command = tool.command(lambda settings: settings)
    assert command.params[-1].name == 'augment_blur'
    ctx = command.make_context('train', ['mnist', 'train', 'lenet', 'src', '--augment_blur', '1'])
    settings = tool.Settings(click_order=tuple(ctx.params), **ctx.params)
    assert settings.augment_blur == 1.0
    recorded = settings.record()
    assert list(recorded) == list(train.Settings().record()) + ['augment_blur']
    assert tool.run_names()[-1] == 'augment_blur'
    before = dict(recorded)
    del before['augment_blur']  # a run made before the option came: its default
    assert setting_differences(before, recorded, tool.defaults(), tool.run_names()) == [
        '--augment_blur: 0.0 -> 1.0']
    assert setting_differences(before, settings.replace(augment_blur=0.0).record(),
                               tool.defaults(), tool.run_names()) == []


def table_rows(text, start):
    """The rows of the first table after the line starting with ``start``: (the option names
    its first cell gives, its second cell)."""
    section = text[text.index('\n' + start) + 1:]
    lines = section.split('\n|---|', 1)[1].splitlines()[1:]
    rows = itertools.takewhile(lambda line: line.startswith('|'), lines)
    cells = [[cell.strip() for cell in re.split(r'(?<!\\)\|', row)[1:-1]] for row in rows]
    return [(re.findall(r'`--(\w+)', row[0]), row[1]) for row in cells]


def long_names(declared):
    return [flag[2:] for decl in (declared.flags or ('--' + declared.name,))
            for flag in decl.split('/') if flag.startswith('--')]


# docs/tools.md's option tables: (the tool's heading, the line the table follows, the --help
# sections it lists).
TABLES = [
    ('## train.py', '**Data and model**', [DATA]),
    ('## train.py', '**Optimisation**', [OPTIMISATION]),
    ('## train.py', '**Output**', [OUTPUT]),
    ('## train.py', '**Device**', [DEVICE]),
    ('## train_adda.py', '**Required**', [REQUIRED]),
    ('## train_adda.py', '**Adversary**', [ADVERSARY]),
    ('## select_snapshot.py', 'Options:', None),
]


@pytest.mark.parametrize('heading, start, groups', TABLES)
def test_the_docs_tables_are_the_declarations(heading, start, groups):
    """One row per option (or per several, then without a default), in --help order, with
    its default as the declaration shows it."""
    with open(os.path.join(ROOT, 'docs', 'tools.md')) as f:
        text = f.read()
    section = text[text.index(heading):]
    section = section[:section.index('\n## ', 1)]
    tool = module(heading.split()[1][:-3]).TOOL
    options = [o for o in tool.options() if o.group != NPU_DEBUGGING and (
        groups is None or (REQUIRED if o.click_attrs.get('required') else o.group) in groups)]
    rows = table_rows(section, start)
    assert [n for names, _ in rows for n in names] == [n for o in options for n in long_names(o)]
    by_name = dict((o.name, o) for o in options)
    for names, default in rows:
        if len(names) == 1 and REQUIRED not in (groups or ()):
            assert default == by_name[names[0]].shown, names[0]


@pytest.mark.parametrize('name', [n for n in DECLARED if n != 'export_graph'])
def test_help_lists_the_npu_switches_last(name):
    """Issue 41: the options a user needs (--output among them) come before the Ascend
    adapter's debugging switches, which have the last section."""
    text = run_tool(name, '--help', env={'COLUMNS': '80'}).stdout
    sections = re.findall(r'^(\w[\w ]*) options:$', text, re.M)
    assert sections[-1] == NPU_DEBUGGING
    assert text.index('--npu_dump ') > text.index('--help')
    if '--output' in text:
        assert text.index('--output') < text.index(NPU_DEBUGGING)
