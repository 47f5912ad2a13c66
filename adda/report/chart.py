"""The report's chart (matplotlib): a panel per split with a bar group per task (ours beside
the paper's, a point per seed, others' published results as dotted lines) and, with recipe
runs, a panel per task with each run's accuracy per snapshot and its label-free choice.

Artists carry labels/gids for reading back: bars '<method label> (ours|paper)', seed points
gid 'seeds/<method>', curves gid 'curve/<task>/<seed index>', the label-free choice on a curve
gid 'chosen/<task>/<seed index>', others' published results gid 'published/<task>' (bars) and
'published-curve/<task>' (curves).
"""
import collections
import os

from adda.errors import AddaError
from adda.report.runs import (METHODS, PAPER_SPLIT, ROW_LABELS, SPLIT_TITLES, has_recipe,
                              mean_std, protocol_of, task_labels, values_of)
from adda.report.tables import runs_label
from adda.tasks import PROTOCOLS, SPLITS


def chart(runs):
    """The chart as a matplotlib Figure: a panel per split, a bar group per task; below them,
    when the recipe has runs, a panel per task with its accuracy-over-iterations curves."""
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
    panels = bar_slots(runs, tasks)
    width = 0.8 / max(len(bars) for bars in panels)
    protocols = set(protocol_of(t, runs) for t in tasks)
    for ax, split, bars in zip(axes, SPLITS, panels):
        draw_bars(ax, runs, tasks, split, bars, width)
        ax.set_title(SPLIT_TITLES[split] + panel_note(split, protocols))
    axes[0].set_ylabel('target accuracy')
    legend = figure_legend(axes)
    for i, task in enumerate(curve_tasks):
        draw_curves(figure.add_subplot(grid[1, i]), task, runs[task])
    columns = min(len(legend), 2)
    rows = -(-len(legend) // max(columns, 1))
    bottom = (0.2 + 0.17 * rows) / figure.get_figheight()  # inches of the legend's rows
    figure.legend(list(legend.values()), list(legend), loc='lower center',
                  ncol=columns, fontsize=8, frameon=False)
    figure.tight_layout(rect=(0, bottom, 1, 1))
    return figure


def bar_slots(runs, tasks):
    """Per split (a panel): the bars of each task's group, as (method index, method, kind),
    kind 'paper' (the paper's figure, on the paper's split only) or 'ours'."""
    methods = [m for m in METHODS if not m.startswith('recipe') or has_recipe(runs)]
    return [[(i, method, kind) for i, method in enumerate(methods)
             for kind in (('paper', 'ours') if split == PAPER_SPLIT and
                          any(t in METHODS[method][1] for t in tasks) else ('ours',))]
            for split in SPLITS]


def draw_bars(ax, runs, tasks, split, bars, width):
    """One panel: a group of ``bars`` per task, others' published results, the ticks."""
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
    ax.set_xticklabels([tick_label(t, runs) for t in tasks], fontsize=10 if len(tasks) < 5 else 8)
    ax.set_xlim(-0.5, len(tasks) - 0.35)
    ax.set_ylim(0, 1)
    ax.grid(axis='y', alpha=0.3)


def panel_note(split, protocols):
    """What a split's panel shows, after its title: which protocol reports it."""
    if split == PAPER_SPLIT:
        return " (the paper's protocol)" if 'paper' in protocols else ' (seen by the adaptation)'
    return (" (the field's protocol: the -full tasks)" if 'full' in protocols else
            ' (not in the paper)')


def figure_legend(axes):
    """label -> handle over the panels, each label once, 'one seed' last."""
    legend = collections.OrderedDict()
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(label, handle)
    if 'one seed' in legend:
        legend['one seed'] = legend.pop('one seed')  # last
    return legend


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
    """'MNIST→USPS\\n(5 runs)', plus the recipe's runs when it has any; a row of short runs
    (load_runs with ``other``) says so on a line of its own."""
    task_runs = runs.get(task, [])
    faithful = len(values_of(task_runs, 'adda', 'train'))
    recipe = len(values_of(task_runs, 'recipe', 'train'))
    if task_runs and 'variant' in task_runs[0]:
        label = '{}\n{}'.format(ROW_LABELS.get(task_runs[0]['row_of']) or task_runs[0]['label']
                                .split(' (')[0], task_runs[0]['brief'])
    else:
        label = task_labels(runs)[task]
    label = '{}\n({})'.format(label, runs_label(faithful))
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
