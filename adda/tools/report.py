#!/usr/bin/env python
"""Summarize the task scripts' evaluation records as a Markdown table (and a PNG chart)."""
import collections
import glob
import os

import click
import yaml

from adda.cli import adda_command
from adda.errors import AddaError

TASKS = collections.OrderedDict([
    ('mnist-usps', 'MNIST→USPS'), ('usps-mnist', 'USPS→MNIST'), ('svhn-mnist', 'SVHN→MNIST')])
# method -> (label, the paper's accuracy per task as (mean, std)); Tzeng et al. 2017, on the
# target training split only. A method the paper does not report has an empty dict.
METHODS = collections.OrderedDict([
    ('source_only', ('source only', {'mnist-usps': (0.752, 0.016), 'usps-mnist': (0.571, 0.017),
                                     'svhn-mnist': (0.601, 0.011)})),
    ('adda', ('ADDA', {'mnist-usps': (0.894, 0.002), 'usps-mnist': (0.901, 0.008),
                       'svhn-mnist': (0.760, 0.018)})),
])
SPLITS = (('train', 'target train'), ('test', 'target test'))
PAPER_SPLIT = 'train'


def load_runs(results_dir):
    """task -> list of {record name: accuracy} for every finished run under results_dir."""
    runs = collections.defaultdict(list)
    for run_file in sorted(glob.glob(os.path.join(results_dir, '*', 'run.yaml'))):
        folder = os.path.dirname(run_file)
        try:
            with open(run_file) as f:
                task = yaml.safe_load(f)['task']
            accuracies = {}
            for method in METHODS:
                for split, _ in SPLITS:
                    path = os.path.join(folder, '{}_{}.yaml'.format(method, split))
                    if os.path.isfile(path):
                        with open(path) as f:
                            accuracies[method, split] = float(yaml.safe_load(f)['accuracy'])
        except (OSError, KeyError, TypeError, ValueError, yaml.YAMLError) as e:
            raise AddaError('{}: unreadable results ({})'.format(folder, e))
        if len(accuracies) == len(METHODS) * len(SPLITS):
            runs[task].append(accuracies)
    return runs


def mean_std(values):
    """Mean and sample standard deviation (0 for a single run)."""
    n = len(values)
    mean = sum(values) / n
    std = (sum((v - mean) ** 2 for v in values) / (n - 1)) ** 0.5 if n > 1 else 0.0
    return mean, std


def runs_label(n):
    """'not run', '1 run', '2 runs', ..."""
    return 'not run' if not n else '{} run{}'.format(n, '' if n == 1 else 's')


def markdown_table(runs):
    lines = ['| task | method | paper | target train (paper protocol) | target test | runs |',
             '|---|---|---|---|---|---|']
    for task, label in TASKS.items():
        task_runs = runs.get(task, [])
        for method, (name, paper) in METHODS.items():
            cells = ['{:.3f} ± {:.3f}'.format(*paper[task]) if task in paper else '—']
            for split, _ in SPLITS:
                values = [run[method, split] for run in task_runs]
                cells.append('{:.3f} ± {:.3f}'.format(*mean_std(values)) if values else
                             'not run')
            lines.append('| {} | {} | {} | {} | {} | {} |'.format(
                label, name, cells[0], cells[1], cells[2], len(task_runs)))
    return '\n'.join(lines)


def chart(runs):
    """The chart as a matplotlib Figure: a panel per split, a bar group per task.

    Each group has, per method, the mean over seeds of our runs (with the standard deviation
    and a point per seed) and, on the paper's split only, the paper's figure beside it.
    Artists carry labels/gids for reading back: bars '<method label> (ours|paper)', seed
    points gid 'seeds/<method>'.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise AddaError('--png needs matplotlib (pip install matplotlib)')
    tasks = list(TASKS)
    figure = Figure(figsize=(11, 4))
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, len(SPLITS), sharey=True)
    panels = [[(i, method, kind) for i, (method, (_, paper)) in enumerate(METHODS.items())
               for kind in (('paper', 'ours') if split == PAPER_SPLIT and paper else ('ours',))]
              for split, _ in SPLITS]  # per panel: (method index, method, kind) per bar
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
        ax.set_xticks(range(len(tasks)))
        ax.set_xticklabels(['{}\n({})'.format(TASKS[t], runs_label(len(runs.get(t, []))))
                            for t in tasks])
        ax.set_title(title + (" (the paper's protocol)" if split == PAPER_SPLIT else
                              ' (not in the paper)'))
        ax.set_xlim(-0.5, len(tasks) - 0.5)
        ax.set_ylim(0, 1)
        ax.grid(axis='y', alpha=0.3)
    axes[0].set_ylabel('target accuracy')
    legend = collections.OrderedDict()
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(label, handle)
    if 'one seed' in legend:
        legend['one seed'] = legend.pop('one seed')  # last
    figure.legend(list(legend.values()), list(legend), loc='lower center',
                  ncol=min(len(legend), 5), fontsize=8, frameon=False)
    figure.tight_layout(rect=(0, 0.06, 1, 1))
    return figure


def draw_ours(ax, runs, method, split, offset, width, color, name):
    """Our mean ± std per task that has runs, and a black point per seed over each bar."""
    tasks = [t for t in TASKS if runs.get(t)]
    xs = [list(TASKS).index(t) + offset for t in tasks]
    values = [[run[method, split] for run in runs[t]] for t in tasks]
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
            figure.savefig(tmp, dpi=120, format=os.path.splitext(path)[1][1:].lower() or 'png')
    except ValueError as e:
        raise AddaError('cannot write the chart {}: {}'.format(path, e))


@click.command()
@click.argument('results_dir', default='results', type=click.Path(file_okay=False))
@click.option('--markdown', type=click.Path(dir_okay=False), help='Also write the table here.')
@click.option('--png', type=click.Path(dir_okay=False), help='Also draw the chart here.')
@adda_command
def main(results_dir, markdown, png):
    """Mean ± std over seeds of each task's source-only and ADDA accuracy, beside the paper's,
    on the target training data (the paper's protocol) and the target test split."""
    from adda.checks import check_output_file
    from adda.util import write_text
    if not os.path.isdir(results_dir):
        raise AddaError('no results folder {}'.format(results_dir))
    check_output_file(markdown, '--markdown')
    check_output_file(png, '--png')
    runs = load_runs(results_dir)
    table = markdown_table(runs)
    click.echo(table)
    if markdown:
        write_text(markdown, table + '\n', 'the table')
    if png:
        plot(runs, png)
        click.echo('Chart: {}'.format(png))
    return 0


if __name__ == '__main__':
    main()
