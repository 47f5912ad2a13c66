#!/usr/bin/env python
"""Summarize the task scripts' evaluation records as a Markdown table (and a PNG chart)."""
import collections
import glob
import os

import click

from adda.cli import adda_command, command, option
from adda.errors import AddaError
from adda.records import DamagedRecord as Damaged, read_number, read_record
from adda.tasks import (CHOICE_RECORDS, CURVE_RECORD, MODEL_RECORDS, PROTOCOLS, base_tasks,
                        task_of_record)

# The faithful tasks (the tables' rows) and their recipe tasks: adda/tasks.py. The paper's
# protocol's rows are always shown; the other tasks' once they have runs.
TASKS = collections.OrderedDict((task.name, task.label) for task in base_tasks())
PROTOCOL_OF = {task.name: task.protocol.name for task in base_tasks()}
# method -> (label, the paper's accuracy per task as (mean, std)); Tzeng et al. 2017, on the
# target training split only. A method the paper does not report has an empty dict.
METHODS = collections.OrderedDict([
    ('source_only', ('source only', {t.name: t.paper['source_only'] for t in base_tasks()
                                     if 'source_only' in t.paper})),
    ('adda', ('ADDA', {t.name: t.paper['adda'] for t in base_tasks() if 'adda' in t.paper})),
    ('recipe_source', ("recipe's source model, no adaptation", {})),
    ('recipe', ('ADDA + recipe, final snapshot', {})),
    ('recipe_selected', ('ADDA + recipe, label-free choice', {})),
])
# Shown in the table, marked as a reference: the recipe run's best snapshot on the labelled
# target split of its protocol. It uses target labels, so it is not a method anyone could run.
ORACLE = ('oracle', 'best snapshot (uses target labels; reference only)')
SPLITS = (('train', 'target train'), ('test', 'target test'))
SPLIT_TITLES = dict(SPLITS)
FINAL = 'final snapshot (no choice)'  # the reference row of the criteria table
PAPER_SPLIT = 'train'
# record file -> (method, split) for each kind of run
FAITHFUL_RECORDS = {'{}_{}'.format(m, s): (m, s) for m in MODEL_RECORDS for s, _ in SPLITS}
RECIPE_METHODS = {'source_only': 'recipe_source', 'adda': 'recipe', 'selected': 'recipe_selected'}
RECIPE_RECORDS = {'{}_{}'.format(m, s): (RECIPE_METHODS[m], s)
                  for m in MODEL_RECORDS + CHOICE_RECORDS for s, _ in SPLITS}


# What defines how a run was made, beyond its seed and iteration counts: run.yaml's record of
# the task script's arguments. Runs of one task are averaged only when these are the same.
RECIPE_KEYS = ('source', 'target', 'source_args', 'adapt_args', 'select')


def other_settings(run_info):
    """Why a run cannot stand beside the paper (made with other settings than its task's), or
    None when it can."""
    if 'task_settings' not in run_info:
        return 'made before run.yaml recorded its settings'
    if run_info['task_settings'] is not True:
        parts = ['source {} + adaptation {} iterations'.format(
            run_info.get('source_iterations'), run_info.get('adapt_iterations'))]
        if run_info.get('train_args'):
            parts.append('TRAIN_ARGS {}'.format(run_info['train_args']))
        return 'other settings: ' + ', '.join(parts)
    return None


def script_settings(task):
    """RECIPE_KEYS of the run.yaml a run of ``task`` (adda.tasks.Task) makes today, with the
    task's own iteration counts."""
    from adda.run import Run, settings_of
    record = Run(task, settings_of({})).record()
    return {key: record.get(key) for key in RECIPE_KEYS}


def protocol_of(task, runs):
    """The protocol (a name of adda.tasks.PROTOCOLS) of a task's rows."""
    if task in PROTOCOL_OF:
        return PROTOCOL_OF[task]
    return runs[task][0]['protocol'] if runs.get(task) else 'paper'


def task_labels(runs, protocol=None):
    """task -> its label in the tables and chart: the faithful tasks of the paper's protocol
    (unless every run is of another protocol), then the other tasks (the table's, and pairs
    of scripts/adapt.sh) that have runs; only those of ``protocol`` when given."""
    with_runs = [task for task in runs if runs[task]]
    paper = not with_runs or any(protocol_of(task, runs) == 'paper' for task in with_runs)
    labels = collections.OrderedDict(
        (task, label) for task, label in TASKS.items()
        if (paper and PROTOCOL_OF[task] == 'paper') or runs.get(task))
    for task in sorted(runs):
        if task not in labels and runs[task]:
            labels[task] = runs[task][0]['label']
    if protocol is not None:
        labels = collections.OrderedDict((task, label) for task, label in labels.items()
                                         if protocol_of(task, runs) == protocol)
    return labels


def _script_differences(run_infos, left_out):
    """Drop from ``run_infos`` (folder -> run.yaml) the runs of a task made with other tools'
    arguments than the task table (adda/tasks.py) gives today, into ``left_out``."""
    reference = {}
    for folder in sorted(run_infos):
        info = run_infos[folder]
        task = info.get('task')
        if task not in reference:
            reference[task] = script_settings(task_of_record(info))
        differ = [k for k in RECIPE_KEYS if info.get(k) != reference[task][k]]
        if differ:
            left_out.append((os.path.basename(folder), 'other settings than scripts/{}.sh has '
                             'now: {} differ'.format(task, ', '.join(differ))))
            del run_infos[folder]


def load_runs(results_dir, left_out=None, damaged=None):
    """task -> list of runs for every finished run under results_dir that was made with its
    task's settings; a run is a dict {(method, split): accuracy}, its 'label' and 'protocol',
    and a recipe run also has ('oracle', split) and 'curve' ([(step, accuracy on the target
    split of its protocol)]) and 'chosen' (the label-free step). Runs made otherwise go to
    ``left_out`` as (name, reason); a run with a record that cannot be read is left out and
    the record goes to ``damaged`` (Damaged)."""
    runs = collections.defaultdict(list)
    run_files = sorted(glob.glob(os.path.join(results_dir, '*', 'run.yaml')))
    if not run_files and glob.glob(os.path.join(results_dir, '**', '*.yaml'), recursive=True):
        raise AddaError('{} has no <run>/run.yaml: the report reads the runs of the task scripts '
                        '(scripts/<task>.sh write <results>/<run>/run.yaml beside their '
                        'evaluation records); evaluate with them, or read single records with '
                        'any YAML reader'.format(results_dir))
    left_out = [] if left_out is None else left_out
    damaged = [] if damaged is None else damaged
    run_infos = {}
    for run_file in run_files:
        folder = os.path.dirname(run_file)
        try:
            run_info = read_record(run_file, 'task')
            reason = other_settings(run_info)
        except Damaged as e:
            damaged.append(e)
            continue
        try:
            task_of_record(run_info)
        except KeyError as e:
            reason = reason or e.args[0]
        if reason is not None:
            left_out.append((os.path.basename(folder), reason))
        else:
            run_infos[folder] = run_info
    _script_differences(run_infos, left_out)
    for folder in sorted(run_infos):
        run_info = run_infos[folder]
        task = task_of_record(run_info)
        records = RECIPE_RECORDS if task.recipe else FAITHFUL_RECORDS
        run = {'label': task.label, 'protocol': task.protocol.name}
        try:
            for name, key in records.items():
                path = os.path.join(folder, name + '.yaml')
                if os.path.isfile(path):
                    run[key] = read_number(path, 'accuracy')
            if task.recipe:
                run.update(_recipe_extras(folder, task.protocol.split))
        except Damaged as e:
            damaged.append(e)
            continue
        run['seed'] = run_info.get('seed')
        if all(key in run for key in records.values()) and (not task.recipe or 'curve' in run):
            runs[task.base].append(run)
    return runs


def _recipe_extras(folder, split):
    """The oracle, the curve (on ``split``) and the chosen step of a recipe run (when
    recorded)."""
    extras = {}
    curve_path = os.path.join(folder, CURVE_RECORD.format(split) + '.yaml')
    if os.path.isfile(curve_path):
        curve = read_record(curve_path, 'snapshots', 'oracle_uses_labels')
        try:
            extras['curve'] = [(int(p['step']), float(p['accuracy']))
                               for p in curve['snapshots']]
            extras[ORACLE[0], split] = float(curve['oracle_uses_labels']['accuracy'])
        except (KeyError, TypeError, ValueError) as e:
            raise Damaged(curve_path, 'unreadable curve ({})'.format(e))
    selection_path = os.path.join(folder, 'selection.yaml')
    if os.path.isfile(selection_path):
        try:
            extras['chosen'] = int(read_record(selection_path, 'chosen')['chosen']['step'])
        except (KeyError, TypeError, ValueError) as e:
            raise Damaged(selection_path, 'unreadable choice ({})'.format(e))
    return extras


def summary(values, digits=3):
    """'mean ± std' over several runs; one run is one value, marked as such."""
    if len(values) == 1:
        return '{:.{d}f} (1 run)'.format(values[0], d=digits)
    return '{:.{d}f} ± {:.{d}f}'.format(*mean_std(values), d=digits)


def source_kept(runs):
    """How often the label-free choice kept the source model (step 0: no adaptation), per task
    with recipe runs that chose."""
    parts = []
    for task, label in task_labels(runs).items():
        chosen = [run['chosen'] for run in runs.get(task, []) if 'chosen' in run]
        if chosen:
            parts.append('{} {} of {}'.format(label, chosen.count(0), len(chosen)))
    if not parts:
        return ''
    return ('The label-free choice kept the source model (step 0, no adaptation) in: ' +
            ', '.join(parts) + ' runs')


def mean_std(values):
    """Mean and sample standard deviation (0 for a single run)."""
    n = len(values)
    mean = sum(values) / n
    std = (sum((v - mean) ** 2 for v in values) / (n - 1)) ** 0.5 if n > 1 else 0.0
    return mean, std


def runs_label(n):
    """'not run', '1 run', '2 runs', ..."""
    return 'not run' if not n else '{} run{}'.format(n, '' if n == 1 else 's')


def values_of(task_runs, method, split):
    return [run[method, split] for run in task_runs if (method, split) in run]


def has_recipe(runs, tasks=None):
    return any(('recipe', split) in run for task, task_runs in runs.items()
               if tasks is None or task in tasks for run in task_runs for split, _ in SPLITS)


def markdown_table(runs):
    """A table per protocol (adda.tasks.PROTOCOLS) with tasks to show, under a line naming
    it: a row per task and method, the paper's figure, mean ± std over seeds and the worst seed
    on the protocol's split, mean ± std on the other split, and the number of runs; the
    recipe's rows once it has runs; then the results others published on that protocol, each
    with how its model was chosen."""
    tables = []
    for protocol in PROTOCOLS.values():
        labels = task_labels(runs, protocol.name)
        if labels:
            tables.append('Protocol: {}\n\n{}'.format(
                protocol.title, protocol_table(runs, protocol, labels)))
    return '\n\n'.join(tables)


def protocol_table(runs, protocol, labels):
    """markdown_table's table of one protocol's tasks (``labels``: task -> label)."""
    first, second = protocol.splits
    lines = ['| task | method | paper | {}{} | worst seed | {} | runs |'.format(
        SPLIT_TITLES[first], ' (paper protocol)' if protocol.name == 'paper' else
        " (the field's protocol)", SPLIT_TITLES[second]), '|---|---|---|---|---|---|---|']
    recipe = has_recipe(runs, labels)
    rows = [(method, name, paper) for method, (name, paper) in METHODS.items()
            if recipe or not method.startswith('recipe')]
    if recipe:
        rows.append((ORACLE[0], ORACLE[1], {}))
    for task, label in labels.items():
        task_runs = runs.get(task, [])
        for method, name, paper in rows:
            shown, other = (values_of(task_runs, method, split) for split in (first, second))
            cells = ['{:.3f} ± {:.3f}'.format(*paper[task]) if task in paper else '—',
                     summary(shown) if shown else 'not run',
                     '{:.3f}'.format(min(shown)) if shown else '—',
                     summary(other) if other else (
                         '—' if method == ORACLE[0] and shown else 'not run')]
            lines.append('| {} | {} | {} | {} | {} | {} | {} |'.format(
                label, name, cells[0], cells[1], cells[2], cells[3], len(shown)))
        for method, chosen, accuracy in protocol.published:
            if task in accuracy:
                lines.append('| {} | {} (published; {}) | — | {:.3f} | — | — | — |'.format(
                    label, method, chosen, accuracy[task]))
    return '\n'.join(lines)


def chart(runs):
    """The chart as a matplotlib Figure: a panel per split, a bar group per task; below them,
    when the recipe has runs, a panel per task with its accuracy-over-iterations curves.

    Each group has, per method with runs, the mean over seeds (with the standard deviation and
    a point per seed) and, on the paper's split only, the paper's figure beside it. Artists
    carry labels/gids for reading back: bars '<method label> (ours|paper)', seed points gid
    'seeds/<method>', curves gid 'curve/<task>/<seed index>', the label-free choice on a curve
    gid 'chosen/<task>/<seed index>', others' published results gid 'published/<task>' (bars)
    and 'published-curve/<task>' (curves).
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise AddaError('--png needs matplotlib (pip install matplotlib)')
    tasks = list(task_labels(runs))
    curve_tasks = [t for t in tasks if any('curve' in run for run in runs.get(t, []))]
    figure = Figure(figsize=(11, 7.5 if curve_tasks else 4))
    FigureCanvasAgg(figure)
    grid = figure.add_gridspec(2 if curve_tasks else 1, max(len(SPLITS), len(curve_tasks)))
    axes = [figure.add_subplot(grid[0, i * grid.ncols // len(SPLITS):
                                    (i + 1) * grid.ncols // len(SPLITS)])
            for i in range(len(SPLITS))]
    methods = [m for m in METHODS if not m.startswith('recipe') or has_recipe(runs)]
    panels = [[(i, method, kind) for i, method in enumerate(methods)
               for kind in (('paper', 'ours') if split == PAPER_SPLIT and
                            any(t in METHODS[method][1] for t in tasks) else ('ours',))]
              for split, _ in SPLITS]  # per panel: (method index, method, kind) per bar
    protocols = set(protocol_of(t, runs) for t in tasks)
    width = 0.8 / max(len(bars) for bars in panels)
    for ax, (split, title), bars in zip(axes, SPLITS, panels):
        for slot, (i, method, kind) in enumerate(bars):
            offset = (slot - (len(bars) - 1) / 2.0) * width
            name, paper = METHODS[method]
            color = 'C{}'.format(i)
            if kind == 'paper':
                shown = [t for t in tasks if t in paper]
                ax.bar([tasks.index(t) + offset for t in shown], [paper[t][0] for t in shown],
                       width, yerr=[paper[t][1] for t in shown], capsize=3, alpha=0.45,
                       color=color, label='{} (paper)'.format(name))
            else:
                draw_ours(ax, runs, method, split, offset, width, color, name)
        draw_published(ax, runs, tasks, split)
        ax.set_xticks(range(len(tasks)))
        ax.set_xticklabels([tick_label(t, runs) for t in tasks])
        if split == PAPER_SPLIT:
            note = (" (the paper's protocol)" if 'paper' in protocols else
                    ' (seen by the adaptation)')
        else:
            note = (" (the field's protocol: the -full tasks)" if 'full' in protocols else
                    ' (not in the paper)')
        ax.set_title(title + note)
        ax.set_xlim(-0.5, len(tasks) - 0.35)
        ax.set_ylim(0, 1)
        ax.grid(axis='y', alpha=0.3)
    axes[0].set_ylabel('target accuracy')
    legend = collections.OrderedDict()
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(label, handle)
    if 'one seed' in legend:
        legend['one seed'] = legend.pop('one seed')  # last
    for i, task in enumerate(curve_tasks):
        draw_curves(figure.add_subplot(grid[1, i]), task, runs[task])
    columns = min(len(legend), 2)
    rows = -(-len(legend) // max(columns, 1))
    bottom = (0.2 + 0.17 * rows) / figure.get_figheight()  # inches of the legend's rows
    figure.legend(list(legend.values()), list(legend), loc='lower center',
                  ncol=columns, fontsize=8, frameon=False)
    figure.tight_layout(rect=(0, bottom, 1, 1))
    return figure


# Published results (adda.tasks PROTOCOLS), one marker per method, on their protocol's split.
PUBLISHED_MARKERS = ('D', 's', '^', 'v', 'P')


def published_results(protocol, task):
    """(line style, accuracy, label) of each result others published for ``task`` on
    ``protocol``: a dotted black line ending in the method's own marker."""
    for k, (method, chosen, accuracy) in enumerate(PROTOCOLS[protocol].published):
        if task in accuracy:
            style = dict(color='black', linestyle=':', linewidth=0.8, markevery=[1],
                         marker=PUBLISHED_MARKERS[k % len(PUBLISHED_MARKERS)], markersize=6,
                         markerfacecolor='white')
            yield style, accuracy[task], '{} (published; {})'.format(method, chosen)


def draw_published(ax, runs, tasks, split):
    """Each result others published for a task, on the split its protocol reports, labelled
    '<method> (published; <how the model was chosen>)'."""
    for x, task in enumerate(tasks):
        protocol = protocol_of(task, runs)
        if PROTOCOLS[protocol].split != split:
            continue
        for k, (style, accuracy, label) in enumerate(published_results(protocol, task)):
            # across the group's bars, the marker in the gap after them (staggered: published
            # results of a task are often within 0.01)
            ax.plot([x - 0.4, x + 0.43 + 0.05 * k], [accuracy] * 2, label=label,
                    gid='published/{}'.format(task), **style)


def tick_label(task, runs):
    """'MNIST→USPS\\n(5 runs)', plus the recipe's runs when it has any."""
    task_runs = runs.get(task, [])
    faithful = len(values_of(task_runs, 'adda', 'train'))
    recipe = len(values_of(task_runs, 'recipe', 'train'))
    label = '{}\n({})'.format(task_labels(runs)[task], runs_label(faithful))
    return label + ('\n(recipe: {})'.format(runs_label(recipe)) if recipe else '')


# Seeds' curves differ by line style and marker (the colours belong to the bars' methods).
SEED_STYLES = [('-', 'o'), ('--', 's'), (':', '^'), ('-.', 'D'), ((0, (5, 1, 1, 1)), 'v'),
               ((0, (1, 1)), 'P'), ((0, (8, 2)), 'X'), ((0, (3, 1, 1, 1, 1, 1)), '*')]


def draw_curves(ax, task, task_runs):
    """Target accuracy (on the split of the task's protocol) of every kept snapshot of each
    recipe run (labels used only to draw this; step 0 is the source model), with the
    label-free choice circled; seeds told apart by line style and marker, with their own
    legend; others' published results of the task as dotted lines."""
    curves = [run for run in task_runs if 'curve' in run]
    split = SPLIT_TITLES[PROTOCOLS[curves[0]['protocol'] if curves else 'paper'].split]
    for k, run in enumerate(curves):
        steps, accuracies = zip(*run['curve'])
        style, marker = SEED_STYLES[k % len(SEED_STYLES)]
        seed = run.get('seed')
        ax.plot(steps, accuracies, linewidth=1, color='0.3', linestyle=style, marker=marker,
                markersize=3, gid='curve/{}/{}'.format(task, k),
                label='seed {}'.format(seed) if seed is not None else 'run {}'.format(k + 1))
        if run.get('chosen') in steps:
            ax.plot([run['chosen']], [accuracies[steps.index(run['chosen'])]], marker='o',
                    markersize=9, markerfacecolor='none', color='C3', linestyle='none',
                    gid='chosen/{}/{}'.format(task, k))
    if curves:
        ax.legend(fontsize=7, ncol=2, loc='lower right', frameon=False)
        lowest = min(accuracy for run in curves for _, accuracy in run['curve'])
        for style, accuracy, _ in published_results(curves[0]['protocol'], task):
            # the figure's legend names the markers; one far below the curves is left to the
            # bars (it would flatten the curves)
            if accuracy >= lowest - 0.02:
                ax.axhline(accuracy, gid='published-curve/{}'.format(task), **style)
    ax.set_title('{}: the recipe\'s snapshots (step 0: source model)\n'
                 '{} labels used only to draw this; red circle: label-free choice'.format(
                     curves[0]['label'] if curves else task, split), fontsize=9)
    ax.set_xlabel('iteration')
    ax.set_ylabel('{} accuracy'.format(split))
    ax.grid(alpha=0.3)


def draw_ours(ax, runs, method, split, offset, width, color, name):
    """Our mean ± std per task that has runs, and a black point per seed over each bar."""
    tasks = [t for t in task_labels(runs) if values_of(runs.get(t, []), method, split)]
    if not tasks:
        return
    xs = [list(task_labels(runs)).index(t) + offset for t in tasks]
    values = [values_of(runs[t], method, split) for t in tasks]
    stats = [mean_std(v) for v in values]
    ax.bar(xs, [m for m, _ in stats], width, yerr=[s for _, s in stats], capsize=3,
           color=color, label='{} (ours)'.format(name))
    for x, seeds in zip(xs, values):
        spread = [0.0] if len(seeds) == 1 else [
            (k / (len(seeds) - 1.0) - 0.5) * 0.6 * width for k in range(len(seeds))]
        ax.plot([x + d for d in spread], seeds, linestyle='none', marker='o', markersize=3,
                color='black', alpha=0.7, label='one seed', gid='seeds/{}'.format(method))


def plot(runs, path):
    """Draw chart(runs) into path, in the format its extension names (PNG without one),
    whole or not at all (a temporary file of this process renamed into place)."""
    from adda.util import atomic_output
    figure = chart(runs)
    try:
        with atomic_output(path, 'the chart') as tmp:
            figure.savefig(tmp, dpi=120, bbox_inches='tight',
                           format=os.path.splitext(path)[1][1:].lower() or 'png')
    except ValueError as e:
        raise AddaError('cannot write the chart {}: {}'.format(path, e))


def criteria_agreement(results_dir, left_out=(), damaged=None):
    """criterion -> [(gap to the best snapshot, Kendall tau)] per run, over
    every run folder with both a label-free selection (selection.yaml) and a labelled curve
    (curve_train.yaml, or curve_test.yaml for a task of the field's protocol) of the same
    snapshots, but the runs named in ``left_out``; FINAL: the final snapshot's gap (no
    choice)."""
    from adda.selection import agreement, get_criterion
    found = collections.OrderedDict()
    skip = {name for name, _ in left_out} | {
        os.path.basename(os.path.dirname(e.path)) for e in damaged or ()}
    for path in sorted(glob.glob(os.path.join(results_dir, '*', 'selection.yaml'))):
        curve_paths = [os.path.join(os.path.dirname(path), CURVE_RECORD.format(split) + '.yaml')
                       for split, _ in SPLITS]
        curve_path = next((p for p in curve_paths if os.path.isfile(p)), None)
        if curve_path is None or os.path.basename(os.path.dirname(path)) in skip:
            continue
        try:
            selection, curve = read_record(path), read_record(curve_path)
            accuracies = {int(p['step']): float(p['accuracy']) for p in curve['snapshots']}
            found.setdefault(FINAL, []).append(
                (max(accuracies.values()) - accuracies[max(accuracies)], None))
            snapshots = selection['snapshots']
            for name in snapshots[0]['scores']:
                scores = {int(s['step']): float(s['scores'][name]) for s in snapshots}
                higher = get_criterion(name).higher_is_better
                found.setdefault(name, []).append(agreement(scores, accuracies, higher))
        except Damaged as e:
            if damaged is not None:
                damaged.append(e)
        except (KeyError, IndexError, TypeError, ValueError) as e:
            if damaged is not None:
                damaged.append(Damaged(path, 'unreadable choice or curve ({})'.format(e)))
    return found


def criteria_table(found):
    """Markdown: per criterion, the mean and worst gap between the snapshot it chooses and the
    best one (by target labels), and the mean rank correlation with the true accuracies."""
    from adda.selection import CRITERIA, DEFAULT_CRITERION
    lines = ['| criterion | mean gap to the best snapshot | worst gap | mean Kendall τ | runs |',
             '|---|---|---|---|---|']
    names = sorted((n for n in found if n != FINAL), key=list(CRITERIA).index)
    for name in names + [FINAL]:
        gaps, taus = [g for g, _ in found[name]], [t for _, t in found[name]]
        lines.append('| {}{} | {:.4f} | {:.4f} | {} | {} |'.format(
            name, ' (default)' if name == DEFAULT_CRITERION else '', sum(gaps) / len(gaps),
            max(gaps), '—' if name == FINAL else '{:+.2f}'.format(sum(taus) / len(taus)),
            len(gaps)))
    return '\n'.join(lines)


@command()
@click.argument('results_dir', default='results', type=click.Path(file_okay=False))
@option('--markdown', type=click.Path(dir_okay=False), help='Also write the table here.')
@option('--png', type=click.Path(dir_okay=False), help='Also draw the chart here.')
@adda_command
def main(results_dir, markdown, png):
    """Mean ± std over seeds of each task's source-only and ADDA accuracy, beside the paper's,
    on the target training data (the paper's protocol) and the target test split; with the
    recipe's runs (scripts/<task>-plus.sh) also the recipe's final snapshot, its label-free
    choice and, as a reference that uses target labels, its best snapshot."""
    from adda.checks import check_output_file
    from adda.util import write_text
    if not os.path.isdir(results_dir):
        raise AddaError('no results folder {}'.format(results_dir))
    check_output_file(markdown, '--markdown')
    check_output_file(png, '--png')
    left_out, damaged = [], []
    runs = load_runs(results_dir, left_out, damaged)
    table = markdown_table(runs)
    kept = source_kept(runs)
    if kept:
        table += '\n\n' + kept
    if left_out:
        table += ('\n\nNot in the table (made with other settings than the task\'s): ' +
                  '; '.join('{} ({})'.format(name, reason) for name, reason in left_out))
    found = criteria_agreement(results_dir, left_out, damaged)
    if found:
        table += ('\n\nLabel-free snapshot choice: how far each criterion\'s choice falls '
                  'from the best snapshot on the labelled target split of its protocol '
                  '(train for the paper\'s, test for the field\'s; labels used '
                  'only to measure this)\n\n' + criteria_table(found))
    click.echo(table)
    if markdown:
        write_text(markdown, table + '\n', 'the table')
    if png:
        plot(runs, png)
        click.echo('Chart: {}'.format(png))
    if damaged:  # the table holds every readable run; these runs are not in it
        click.echo('Damaged records, their runs left out of the table:', err=True)
        for problem in damaged:
            click.echo('  {}'.format(problem), err=True)
        return 1
    return 0


if __name__ == '__main__':
    main()
