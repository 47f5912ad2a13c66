"""The results report, the data check, and reproduce.sh's skipping of finished runs."""
import os
import subprocess
import sys

import pytest
import yaml

from conftest import ROOT, describe_run, run_tool
from report_fixtures import fake_recipe_run, fake_run, four, script_settings

# Runtime-independent: one pass of .ci/run runs it (conftest.belongs_here).
pytestmark = pytest.mark.once


def test_report_keeps_runs_of_other_settings_apart(tmp_path):
    """A short run (or one whose records predate the settings in run.yaml) is not averaged
    beside the paper; the report names it on one line. One run is one value, without ±."""
    results = tmp_path / 'results'
    fake_run(results, 'usps-mnist', 0, four(0.61, 0.62, 0.93, 0.94))
    fake_run(results, 'usps-mnist', 0, four(0.43, 0.45, 0.36, 0.35), iterations=30,
             name='usps-mnist-seed0-it30+30')
    old = results / 'usps-mnist-seed1'
    old.mkdir()
    (old / 'run.yaml').write_text('task: usps-mnist\nseed: 1\n')
    for name, value in four(0.5, 0.5, 0.5, 0.5).items():
        (old / (name + '.yaml')).write_text('accuracy: {}\n'.format(value))
    result = run_tool('report', results)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert ('| USPS→MNIST | ADDA | 0.901 ± 0.008 | 0.930 (1 run) | 0.930 | 0.940 (1 run) | 1 |'
            in lines)
    (note,) = [l for l in lines if l.startswith('Not in the table')]
    assert 'usps-mnist-seed0-it30+30 (other settings: source 30 + adaptation 30 iterations)' \
        in note
    assert 'usps-mnist-seed1 (made before run.yaml recorded its settings)' in note


def test_report_never_averages_runs_of_another_recipe(tmp_path):
    """Records of a recipe run made when the script had other arguments (an older recipe) are
    not averaged with today's: the table keeps the runs made as scripts/<task>.sh makes them
    now and names the others, with what differs."""
    results = tmp_path / 'results'
    curve = [(0, 0.8), (500, 0.9)]
    fake_recipe_run(results, 'usps-mnist', 0, (0.97, 0.96), (500, (0.97, 0.96)), curve)
    old_args = script_settings('usps-mnist-plus')['adapt_args'].split(' --target_pseudo')[0]
    fake_recipe_run(results, 'usps-mnist', 1, (0.90, 0.90), (500, (0.90, 0.90)), curve,
                    adapt_args=old_args)
    result = run_tool('report', results)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert ('| USPS→MNIST | ADDA + recipe, final snapshot | — | 0.970 (1 run) | 0.970 | '
            '0.960 (1 run) | 1 |') in lines
    (note,) = [l for l in lines if l.startswith('Not in the table')]
    assert ('usps-mnist-plus-seed1 (other settings than scripts/usps-mnist-plus.sh has now: '
            'adapt_args differ)') in note
    assert 'usps-mnist-plus-seed0' not in note


def test_report_on_records_without_run_yaml_says_what_it_needs(tmp_path):
    folder = tmp_path / 'mine'
    folder.mkdir()
    (folder / 'eval.yaml').write_text('accuracy: 0.9\n')
    result = run_tool('report', tmp_path)
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith('Error: {} has no <run>/run.yaml: the report reads the runs of the '
                           'task scripts'.format(tmp_path))


def test_report_table_means_and_stds(tmp_path):
    results = tmp_path / 'results'
    fake_run(results, 'mnist-usps', 0, four(0.70, 0.71, 0.90, 0.91))
    fake_run(results, 'mnist-usps', 1, four(0.80, 0.73, 0.92, 0.93))
    partial = four(0.1, 0.1, 0.1, 0.1)
    del partial['adda_test']
    fake_run(results, 'mnist-usps', 2, partial)  # unfinished: left out
    result = run_tool('report', results, '--markdown', tmp_path / 't.md')
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    row = [l for l in lines if l.startswith('| MNIST→USPS | source only')][0]
    assert row == ('| MNIST→USPS | source only | 0.752 ± 0.016 | 0.750 ± 0.071 | 0.700 | '
                   '0.720 ± 0.014 | 2 |')
    adda = [l for l in lines if l.startswith('| MNIST→USPS | ADDA')][0]
    assert '0.910 ± 0.014' in adda and '0.920 ± 0.014' in adda
    assert '| SVHN→MNIST | ADDA | 0.760 ± 0.018 | not run | — | not run | 0 |' in lines
    assert not any('recipe' in line for line in lines)  # no recipe runs, no recipe rows
    assert lines[0].startswith("Protocol: the ADDA paper's protocol")
    assert ('| MNIST→USPS | ADDA, the Ascend ModelZoo port (published; best snapshot by the '
            'labelled target training images) | — | 0.894 | — | — | — |') in lines
    assert not any('full' in line for line in lines)  # no runs of the field's protocol
    assert (tmp_path / 't.md').read_text().strip() == result.stdout.strip()


def test_report_survives_one_damaged_record(tmp_path):
    """Five good runs and one truncated record: the table of the five, the damaged record
    named under it in one line, exit status 1 (the report used to stop at the bad file and
    print no table)."""
    results = tmp_path / 'results'
    for seed in range(5):
        fake_run(results, 'usps-mnist', seed, four(0.6, 0.6, 0.9 + seed / 100, 0.9))
    fake_run(results, 'usps-mnist', 5, four(0.6, 0.6, 0.2, 0.2))
    truncated = results / 'usps-mnist-seed5' / 'adda_train.yaml'
    truncated.write_text('accur')  # cut short while it was written
    result = run_tool('report', results, '--markdown', tmp_path / 't.md')
    assert result.returncode == 1
    assert '| USPS→MNIST | ADDA | 0.901 ± 0.008 | 0.920 ± 0.016 | 0.900 | 0.900 ± 0.000 | 5 |' in \
        result.stdout
    assert result.stderr.splitlines() == [
        'Damaged records, their runs left out of the table:',
        '  {}: not a YAML mapping (truncated or overwritten?)'.format(truncated)]
    assert '| 5 |' in (tmp_path / 't.md').read_text()


def test_report_draws_a_png(tmp_path):
    pytest.importorskip('matplotlib')
    results = tmp_path / 'results'
    fake_run(results, 'usps-mnist', 0, four(0.6, 0.6, 0.9, 0.9))
    result = run_tool('report', results, '--png', tmp_path / 'chart.png')
    assert result.returncode == 0, result.stderr
    assert (tmp_path / 'chart.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def bars(ax):
    """label -> [(bar centre, height, width)] for each bar series on a panel."""
    from matplotlib.container import BarContainer
    return {c.get_label(): [(p.get_x() + p.get_width() / 2, p.get_height(), p.get_width())
                            for p in c.patches]
            for c in ax.containers if isinstance(c, BarContainer)}


def seed_points(ax, method):
    """[(x, y)] per plotted series of the per-seed points of method."""
    return [list(zip(line.get_xdata(), line.get_ydata())) for line in ax.get_lines()
            if line.get_gid() == 'seeds/' + method]


def test_chart_panels_ticks_bars_and_points(tmp_path):
    pytest.importorskip('matplotlib')
    from adda.tools import report
    results = tmp_path / 'results'
    mnist_usps = [four(0.70, 0.71, 0.90, 0.86), four(0.72, 0.69, 0.93, 0.88),
                  four(0.68, 0.70, 0.88, 0.84)]
    for seed, accuracies in enumerate(mnist_usps):
        fake_run(results, 'mnist-usps', seed, accuracies)
    usps_mnist = four(0.6, 0.62, 0.95, 0.96)
    fake_run(results, 'usps-mnist', 0, usps_mnist)
    figure = report.chart(report.load_runs(str(results)))
    train, test = figure.axes
    assert train.get_title().startswith('target train') and 'paper' in train.get_title()
    assert test.get_title().startswith('target test')
    ticks = ['MNIST→USPS\n(3 runs)', 'USPS→MNIST\n(1 run)', 'SVHN→MNIST\n(not run)']
    for ax in (train, test):
        assert [t.get_text() for t in ax.get_xticklabels()] == ticks
    # The paper's figures only beside the target-train split, for every task.
    assert sorted(bars(train)) == ['ADDA (ours)', 'ADDA (paper)', 'source only (ours)',
                                   'source only (paper)']
    assert sorted(bars(test)) == ['ADDA (ours)', 'source only (ours)']
    for method, name in (('source_only', 'source only'), ('adda', 'ADDA')):
        paper = report.METHODS[method][1]
        assert [h for _, h, _ in bars(train)[name + ' (paper)']] == pytest.approx(
            [paper[task][0] for task in report.task_labels({})])
        for ax, split in ((train, 'train'), (test, 'test')):
            seeds = [accuracies[method + '_' + split] for accuracies in mnist_usps]
            ours = bars(ax)[name + ' (ours)']  # tasks with runs only, at their ticks
            assert [round(x) for x, _, _ in ours] == [0, 1]
            single = usps_mnist[method + '_' + split]
            assert [h for _, h, _ in ours] == pytest.approx([sum(seeds) / 3, single])
            points = seed_points(ax, method)
            assert [[float(y) for _, y in series] for series in points] == [seeds, [single]]
            for series, (x, _, width) in zip(points, ours):  # each point over its bar
                assert all(abs(px - x) < width / 2 for px, _ in series)


def test_report_rows_of_the_recipe(tmp_path):
    results = tmp_path / 'results'
    for seed in (0, 1):
        fake_run(results, 'usps-mnist', seed, four(0.6, 0.6, 0.90 + seed / 100, 0.9))
    fake_recipe_run(results, 'usps-mnist', 0, (0.96, 0.95), (500, (0.97, 0.96)),
                    [(500, 0.97), (1000, 0.98), (1500, 0.96)], source=(0.81, 0.82))
    fake_recipe_run(results, 'usps-mnist', 1, (0.94, 0.93), (1000, (0.95, 0.94)),
                    [(500, 0.93), (1000, 0.95), (1500, 0.94)], source=(0.79, 0.80))
    lines = run_tool('report', results).stdout.splitlines()
    rows = [l for l in lines if l.startswith('| USPS→MNIST')]
    assert rows == [
        '| USPS→MNIST | source only | 0.571 ± 0.017 | 0.600 ± 0.000 | 0.600 | 0.600 ± 0.000 | 2 |',
        '| USPS→MNIST | ADDA | 0.901 ± 0.008 | 0.905 ± 0.007 | 0.900 | 0.900 ± 0.000 | 2 |',
        "| USPS→MNIST | recipe's source model, no adaptation | — | 0.800 ± 0.014 | 0.790 | "
        '0.810 ± 0.014 | 2 |',
        '| USPS→MNIST | ADDA + recipe, final snapshot | — | 0.950 ± 0.014 | 0.940 | '
        '0.940 ± 0.014 | 2 |',
        '| USPS→MNIST | ADDA + recipe, label-free choice | — | 0.960 ± 0.014 | 0.950 | '
        '0.950 ± 0.014 | 2 |',
        '| USPS→MNIST | best snapshot (uses target labels; reference only) | — | '
        '0.965 ± 0.021 | 0.950 | — | 2 |',
        '| USPS→MNIST | ADDA, the Ascend ModelZoo port (published; best snapshot by the '
        'labelled target training images) | — | 0.912 | — | — | — |']
    assert '| MNIST→USPS | ADDA + recipe, final snapshot | — | not run | — | not run | 0 |' in lines


def test_report_measures_the_criteria_against_the_curves(tmp_path):
    results = tmp_path / 'results'
    curves = [[(500, 0.90), (1000, 0.95), (1500, 0.93)], [(500, 0.80), (1000, 0.85)]]
    # snd (higher is better) picks 1500 then 1000; entropy (lower is better) picks 1000 twice
    scores = [{500: {'snd': 1.0, 'entropy': 0.9}, 1000: {'snd': 2.0, 'entropy': 0.1},
               1500: {'snd': 3.0, 'entropy': 0.5}},
              {500: {'snd': 0.0, 'entropy': 0.9}, 1000: {'snd': 1.0, 'entropy': 0.1}}]
    for seed, (curve, by_step) in enumerate(zip(curves, scores)):
        fake_recipe_run(results, 'usps-mnist', seed, (0.9, 0.9), (1000, (0.9, 0.9)), curve)
        folder = results / 'usps-mnist-plus-seed{}'.format(seed)
        (folder / 'selection.yaml').write_text(yaml.safe_dump({
            'criterion': 'snd', 'chosen': {'step': 1000},
            'snapshots': [{'step': step, 'scores': s} for step, s in by_step.items()]}))
    lines = run_tool('report', results).stdout.splitlines()
    rows = [l for l in lines if l.startswith(('| snd', '| entropy', '| final'))]
    assert rows == ['| snd | 0.0100 | 0.0200 | +0.67 | 2 |',
                    '| entropy | 0.0000 | 0.0000 | +1.00 | 2 |',
                    '| final snapshot (no choice) | 0.0100 | 0.0200 | — | 2 |']
    (results / 'usps-mnist-plus-seed1' / 'curve_train.yaml').write_text('snapshots: [')
    broken = run_tool('report', results)
    assert broken.returncode == 1 and 'usps-mnist-plus-seed1' in broken.stderr


def test_chart_draws_the_recipe_and_its_curves(tmp_path):
    pytest.importorskip('matplotlib')
    from adda.tools import report
    results = tmp_path / 'results'
    fake_run(results, 'usps-mnist', 0, four(0.6, 0.6, 0.9, 0.9))
    curves = [[(500, 0.97), (1000, 0.98)], [(500, 0.93), (1000, 0.95)]]
    for seed, curve in enumerate(curves):
        fake_recipe_run(results, 'usps-mnist', seed, (0.96 - seed / 50, 0.95), (500, (0.9, 0.9)),
                        curve)
    figure = report.chart(report.load_runs(str(results)))
    train, test, curve_panel = figure.axes
    assert 'ADDA + recipe, final snapshot (paper)' not in bars(train)
    assert bars(train)['ADDA + recipe, final snapshot (ours)'][0][1] == pytest.approx(0.95)
    assert [y for _, y in seed_points(train, 'recipe')[0]] == pytest.approx([0.96, 0.94])
    assert [t.get_text() for t in train.get_xticklabels()][1] == (
        'USPS→MNIST\n(1 run)\n(recipe: 2 runs)')
    drawn = {line.get_gid(): list(zip(line.get_xdata(), line.get_ydata()))
             for line in curve_panel.get_lines()}
    assert drawn['curve/usps-mnist/0'] == curves[0] and drawn['curve/usps-mnist/1'] == curves[1]
    assert drawn['chosen/usps-mnist/0'] == [(500, 0.97)]
    # the ModelZoo port's published 0.912 is within 0.02 of the lowest curve point: drawn
    assert [line.get_ydata()[0] for line in curve_panel.get_lines()
            if line.get_gid() == 'published-curve/usps-mnist'] == [0.912]
    assert 'USPS→MNIST' in curve_panel.get_title() and 'labels' in curve_panel.get_title()
    # seeds differ by line style and marker, in one colour, with their own legend
    lines = {line.get_gid(): line for line in curve_panel.get_lines()}
    first, second = lines['curve/usps-mnist/0'], lines['curve/usps-mnist/1']
    assert first.get_color() == second.get_color()
    assert (first.get_linestyle(), first.get_marker()) != (second.get_linestyle(),
                                                           second.get_marker())
    labels = [t.get_text() for t in curve_panel.get_legend().get_texts()]
    assert labels == ['seed 0', 'seed 1']


def test_chart_leaves_published_results_far_below_the_curves_to_the_bars(tmp_path):
    pytest.importorskip('matplotlib')
    from adda.tools import report
    results = tmp_path / 'results'
    fake_run(results, 'usps-mnist', 0, four(0.6, 0.6, 0.9, 0.9))
    fake_recipe_run(results, 'usps-mnist', 0, (0.96, 0.95), (500, (0.97, 0.97)),
                    [(500, 0.97), (1000, 0.98)])
    train, _, curve_panel = report.chart(report.load_runs(str(results))).axes
    # 0.912 is 0.058 below the curves' lowest point: on the bars only
    assert not [line for line in curve_panel.get_lines()
                if line.get_gid() == 'published-curve/usps-mnist']
    assert [line.get_ydata()[0] for line in train.get_lines()
            if line.get_gid() == 'published/usps-mnist'] == [0.912]


def test_reproduce_skips_finished_runs_and_absent_data(data_root, tmp_path):
    os.remove(str(data_root / 'svhn' / 'train_32x32.mat'))
    results = tmp_path / 'results'
    env = dict(os.environ, PYTHON=sys.executable, RESULTS_DIR=str(results), SEEDS='0 1',
               SNAPSHOT_DIR=str(tmp_path / 'snap'), PYTHONIOENCODING='utf-8')
    for seed in (0, 1):
        fake_run(results, 'mnist-usps', seed, four(0.7, 0.7, 0.9, 0.9))
        (results / 'mnist-usps-seed{}'.format(seed) / 'run.yaml').write_text(
            describe_run('mnist-usps', seed, env))
    out = subprocess.run(['bash', os.path.join(ROOT, 'scripts', 'reproduce.sh'), 'mnist-usps',
                          'svhn-mnist'], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, encoding='utf-8')
    assert out.returncode == 0, out.stderr
    assert 'mnist-usps-seed0: finished earlier, skipping' in out.stdout
    assert 'mnist-usps-seed1: finished earlier, skipping' in out.stdout
    assert 'Skipping svhn-mnist: its data is not on disk' in out.stdout
    assert not (tmp_path / 'snap').exists()  # nothing was trained
    assert ('| MNIST→USPS | ADDA | 0.894 ± 0.002 | 0.900 ± 0.000 | 0.900 | 0.900 ± 0.000 | 2 |'
            in out.stdout)
    assert (results / 'results.md').exists()


def test_a_short_run_under_the_full_name_is_not_taken_for_finished(data_root, tmp_path):
    """A run made with 30 + 30 iterations under the full run's name (the name given by hand)
    is not "finished earlier" for the full sweep: the task script refuses it, naming what
    differs, before anything trains; the report leaves it out."""
    results = tmp_path / 'results'
    env = dict(os.environ, PYTHON=sys.executable, RESULTS_DIR=str(results), SEEDS='0',
               SNAPSHOT_DIR=str(tmp_path / 'snap'), PYTHONIOENCODING='utf-8')
    fake_run(results, 'usps-mnist', 0, four(0.43, 0.45, 0.36, 0.35))
    short = dict(env, SOURCE_ITERATIONS='30', ADAPT_ITERATIONS='30')
    run_yaml = describe_run('usps-mnist', 0, short, prefix='usps-mnist-seed0')
    (results / 'usps-mnist-seed0' / 'run.yaml').write_text(run_yaml)
    out = subprocess.run(['bash', os.path.join(ROOT, 'scripts', 'reproduce.sh'), 'usps-mnist'],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         encoding='utf-8')
    assert out.returncode == 1
    assert 'finished earlier' not in out.stdout
    assert 'holds a run made with other settings (old -> new):' in out.stdout
    assert '  source_iterations: 30 -> 10000' in out.stdout
    assert '  task_settings: false -> true' in out.stdout
    assert 'Not finished: usps-mnist-seed0' in out.stdout
    assert '| USPS→MNIST | ADDA | 0.901 ± 0.008 | not run | — | not run | 0 |' in out.stdout
    assert not (tmp_path / 'snap').exists()  # nothing was trained
    assert (results / 'usps-mnist-seed0' / 'run.yaml').read_text() == run_yaml


def test_short_runs_get_their_own_names(tmp_path):
    env = dict(os.environ, SOURCE_ITERATIONS='200', ADAPT_ITERATIONS='200',
               RESULTS_DIR=str(tmp_path))
    run_yaml = yaml.safe_load(describe_run('usps-mnist', 3, env))
    assert run_yaml['snapshots'][0].endswith('usps-mnist-seed3-it200+200_source')
    assert (run_yaml['source_iterations'], run_yaml['task_settings']) == (200, False)
    full = yaml.safe_load(describe_run('usps-mnist', 3, dict(os.environ)))
    assert full['snapshots'][0].endswith('snapshot/usps-mnist-seed3_source')
    assert (full['source_iterations'], full['task_settings']) == (10000, True)
    assert '--iterations 10000' in full['source_args']
