"""The field's protocol (tasks *-full): the full training sets, accuracy on the target's test
split first, the general recipe, and the report's table of that protocol beside the results
others published on it."""
import contextlib
import io
import os
import subprocess
import sys

import pytest
import yaml

from adda import tasks
from conftest import ROOT, run_task_script, run_tool, task_script_env, write_mnist, write_usps
from report_fixtures import fake_recipe_run, fake_run, four

# Runtime-independent: one pass of .ci/run runs it (conftest.belongs_here).
pytestmark = pytest.mark.once

FULL = ('mnist-usps-full', 'usps-mnist-full')


def test_full_tasks_use_the_full_sets_and_report_the_test_split():
    for name, paper in zip(FULL, ('mnist-usps', 'usps-mnist')):
        task, recipe = tasks.TASKS[name], tasks.TASKS[name + '-plus']
        full = {'mnist-usps-full': ('mnist', 'usps'), 'usps-mnist-full': ('usps', 'mnist')}
        assert (task.source, task.target) == (recipe.source, recipe.target) == full[name]
        assert task.protocol.name == recipe.protocol.name == 'full'
        assert task.protocol.splits == ('test', 'train')
        # the faithful settings are those of the paper's protocol's task
        assert task.tool_args() == tasks.TASKS[paper].tool_args()
        assert task.records()[:2] == ['source_only_test', 'source_only_train']
        assert not task.select and recipe.select and recipe.base == name
        assert recipe.records()[-1] == 'curve_test' and 'curve_train' not in recipe.records()
        # the recipe has one definition: every -plus task and any pair use it
        pair = tasks.pair_task('a', 'b', recipe=True)
        assert recipe.tool_args() == pair.tool_args() == tasks.TASKS[paper + '-plus'].tool_args()
        assert recipe.adapt_iterations == pair.adapt_iterations == tasks.GENERAL_ITERATIONS
        assert os.path.isfile(os.path.join(ROOT, recipe.entry))
    for task in tasks.TASKS.values():
        if task.protocol.name == 'paper':
            assert task.protocol.splits == ('train', 'test')
            assert 'curve_test' not in task.records()
        # what the shell entry points (the harness) read
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            assert tasks.main(['--splits', task.name]) == 0
        assert printed.getvalue() == ' '.join(task.protocol.splits) + '\n'


def test_sweep_and_slurm_know_the_full_tasks():
    listed = subprocess.run([sys.executable, '-m', 'adda.sweep', '--list'] + list(FULL),
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True, env=dict(os.environ, SEEDS='0 1'))
    assert listed.returncode == 0, listed.stderr
    names = [line.split()[-1] for line in listed.stdout.splitlines()]
    assert names == ['mnist-usps-full-seed0', 'mnist-usps-full-seed1', 'usps-mnist-full-seed0',
                     'usps-mnist-full-seed1']


def test_full_tasks_end_to_end(tmp_path):
    """Both tasks' scripts, a few iterations each: records of both splits, the test split
    first in the log, and the recipe's curve and oracle on the test split."""
    data = tmp_path / 'data'
    write_mnist(str(data / 'mnist'), counts=(600, 200))
    write_usps(str(data / 'usps'), counts=(400, 150))
    results, snap = tmp_path / 'results', tmp_path / 'snap'
    env = task_script_env(tmp_path, data, 2)
    log = run_task_script('mnist-usps-full', env)
    run = results / 'mnist-usps-full-seed2-it20+20'
    record = yaml.safe_load((run / 'run.yaml').read_text())
    assert (record['task'], record['source'], record['target']) == ('mnist-usps-full', 'mnist',
                                                                   'usps')
    assert 'accuracy on usps test / train' in log
    for name in tasks.TASKS['mnist-usps-full'].records():
        evaluation = yaml.safe_load((run / (name + '.yaml')).read_text())
        assert evaluation['images'] == (150 if name.endswith('test') else 400)
    assert log.index('Evaluating source_only on usps test') < log.index(
        'Evaluating source_only on usps train')

    log = run_task_script('usps-mnist-full-plus', env)
    run = results / 'usps-mnist-full-plus-seed2-it20+20'
    options = yaml.safe_load((snap / 'usps-mnist-full-plus-seed2-it20+20_source' /
                              'config.yaml').read_text())['options']
    assert (options['augment_zoom'], options['augment_shear']) == ([0.5, 1.2], 0.5)
    curve = yaml.safe_load((run / 'curve_test.yaml').read_text())
    assert [p['step'] for p in curve['snapshots']] == [0, 10, 20]
    assert curve['snapshots'][0]['accuracy'] == yaml.safe_load(
        (run / 'source_only_test.yaml').read_text())['accuracy']
    assert curve['oracle_uses_labels']['accuracy'] == max(
        p['accuracy'] for p in curve['snapshots'])
    assert not (run / 'curve_train.yaml').exists()
    selection = yaml.safe_load((run / 'selection.yaml').read_text())
    chosen = yaml.safe_load((run / 'selected_test.yaml').read_text())
    assert chosen['weights'] == selection['chosen']['path'] and chosen['images'] == 200
    assert 'accuracy on mnist test / train' in log and 'Chosen:' in log


def test_report_has_a_table_per_protocol(tmp_path):
    results = tmp_path / 'results'
    fake_run(results, 'usps-mnist', 0, four(0.6, 0.6, 0.9, 0.9))
    for seed in (0, 1):
        fake_run(results, 'usps-mnist-full', seed, {
            'source_only_test': 0.70, 'source_only_train': 0.68,
            'adda_test': 0.95 + seed / 100, 'adda_train': 0.94})
        fake_recipe_run(results, 'usps-mnist-full', seed, final=(0.98, 0.985),
                        chosen=(500, (0.981, 0.986 - seed / 100)),
                        curve=[(0, 0.97), (500, 0.986), (1000, 0.99)], source=(0.96, 0.97),
                        curve_split='test')
    result = run_tool('report', results)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    paper, field = text.split("Protocol: the field's protocol")
    assert paper.startswith("Protocol: the ADDA paper's protocol") and 'full' not in paper
    lines = field.splitlines()
    assert lines[2] == ("| task | method | paper | target test (the field's protocol) | "
                        'worst seed | target train | runs |')
    rows = [l for l in lines if l.startswith('| USPS→MNIST (full)')]
    assert rows == [
        '| USPS→MNIST (full) | source only | — | 0.700 ± 0.000 | 0.700 | 0.680 ± 0.000 | 2 |',
        '| USPS→MNIST (full) | ADDA | — | 0.955 ± 0.007 | 0.950 | 0.940 ± 0.000 | 2 |',
        "| USPS→MNIST (full) | recipe's source model, no adaptation | — | 0.970 ± 0.000 | "
        '0.970 | 0.960 ± 0.000 | 2 |',
        '| USPS→MNIST (full) | ADDA + recipe, final snapshot | — | 0.985 ± 0.000 | 0.985 | '
        '0.980 ± 0.000 | 2 |',
        '| USPS→MNIST (full) | ADDA + recipe, label-free choice | — | 0.981 ± 0.007 | 0.976 | '
        '0.981 ± 0.000 | 2 |',
        '| USPS→MNIST (full) | best snapshot (uses target labels; reference only) | — | '
        '0.990 ± 0.000 | 0.990 | — | 2 |',
        '| USPS→MNIST (full) | SHOT (LeNet-class network) (published; last epoch, no target '
        'labels, 3 seeds) | — | 0.984 | — | — | — |',
        '| USPS→MNIST (full) | ADDA, TLlib (published; best epoch by the labelled target test '
        'split) | — | 0.983 | — | — | — |',
        '| USPS→MNIST (full) | CDAN+E (published; not stated) | — | 0.980 | — | — | — |']
    # a task of the field's protocol without runs has no rows
    assert not any(l.startswith('| MNIST→USPS (full)') for l in lines)
    # and without runs of the paper's protocol, no table of it (nor its tasks in the chart)
    (results / 'usps-mnist-seed0').rename(tmp_path / 'elsewhere')
    alone = run_tool('report', results, '--png', tmp_path / 'field.png').stdout
    assert alone.startswith("Protocol: the field's protocol")
    assert "the ADDA paper's protocol" not in alone
    assert (tmp_path / 'field.png').is_file()
    pytest.importorskip('matplotlib')
    from adda.tools import report
    train, test, curves = report.chart(report.load_runs(str(results))).axes
    assert 'paper' not in train.get_title() and "the field's protocol" in test.get_title()
    assert [t.get_text() for t in test.get_xticklabels()] == [
        'USPS→MNIST (full)\n(2 runs)\n(recipe: 2 runs)']
    # the published results of the protocol, a marker each, on its split only
    published = [line for line in test.get_lines()
                 if line.get_gid() == 'published/usps-mnist-full']
    assert sorted(line.get_ydata()[0] for line in published) == [0.980, 0.983, 0.984]
    assert 'SHOT (LeNet-class network) (published; last epoch, no target labels, 3 seeds)' in [
        line.get_label() for line in published]
    assert not any(line.get_gid() == 'published/usps-mnist-full' for line in train.get_lines())
    # and as lines across the recipe's curves (those near them: the curves go down to 0.97)
    assert sorted(line.get_ydata()[0] for line in curves.get_lines()
                  if line.get_gid() == 'published-curve/usps-mnist-full') == [0.980, 0.983, 0.984]
    # the criteria are measured against the test curve of these runs
    assert '| snd | 0.0040 |' in text
