#!/usr/bin/env python
"""Summarize the task scripts' evaluation records as a Markdown table (and a PNG chart)."""
import collections
import glob
import os

import click
import yaml

from adda.cli import adda_command
from adda.errors import AddaError

# task -> (label, paper source only (mean, std), paper ADDA (mean, std)); Tzeng et al. 2017
PAPER = collections.OrderedDict([
    ('mnist-usps', ('MNIST→USPS', (0.752, 0.016), (0.894, 0.002))),
    ('usps-mnist', ('USPS→MNIST', (0.571, 0.017), (0.901, 0.008))),
    ('svhn-mnist', ('SVHN→MNIST', (0.601, 0.011), (0.760, 0.018))),
])
METHODS = (('source_only', 'source only'), ('adda', 'ADDA'))
SPLITS = (('train', 'target train'), ('test', 'target test'))


def load_runs(results_dir):
    """task -> list of {record name: accuracy} for every finished run under results_dir."""
    runs = collections.defaultdict(list)
    for run_file in sorted(glob.glob(os.path.join(results_dir, '*', 'run.yaml'))):
        folder = os.path.dirname(run_file)
        try:
            with open(run_file) as f:
                task = yaml.safe_load(f)['task']
            accuracies = {}
            for method, _ in METHODS:
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


def markdown_table(runs):
    lines = ['| task | method | paper | target train (paper protocol) | target test | runs |',
             '|---|---|---|---|---|---|']
    for task, (label, *paper) in PAPER.items():
        for (method, name), (paper_mean, paper_std) in zip(METHODS, paper):
            cells = []
            for split, _ in SPLITS:
                values = [run[method, split] for run in runs.get(task, [])]
                cells.append('{:.3f} ± {:.3f}'.format(*mean_std(values)) if values else
                             'not run')
            lines.append('| {} | {} | {:.3f} ± {:.3f} | {} | {} | {} |'.format(
                label, name, paper_mean, paper_std, cells[0], cells[1], len(runs.get(task, []))))
    return '\n'.join(lines)


def plot(runs, path):
    try:
        import matplotlib
    except ImportError:
        raise AddaError('--png needs matplotlib (pip install matplotlib)')
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    tasks = list(PAPER)
    figure, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    width = 0.2
    for ax, (split, title) in zip(axes, SPLITS):
        for i, (method, name) in enumerate(METHODS):
            paper = [PAPER[t][1 + i] for t in tasks]
            xs = [x + (2 * i - 1.5) * width for x in range(len(tasks))]
            ax.bar(xs, [p[0] for p in paper], width, yerr=[p[1] for p in paper], capsize=3,
                   label='{} (paper)'.format(name), alpha=0.45, color='C{}'.format(i))
            run_xs = [x + width for x, t in zip(xs, tasks) if runs.get(t)]
            ours = [mean_std([r[method, split] for r in runs[t]]) for t in tasks if runs.get(t)]
            ax.bar(run_xs, [o[0] for o in ours], width, yerr=[o[1] for o in ours], capsize=3,
                   label='{} (ours)'.format(name), color='C{}'.format(i))
        ax.set_xticks(range(len(tasks)))
        ax.set_xticklabels(['{}\n({})'.format(PAPER[t][0], '{} runs'.format(len(runs[t]))
                                               if runs.get(t) else 'not run') for t in tasks])
        ax.set_title(title)
        ax.set_ylim(0, 1)
        ax.grid(axis='y', alpha=0.3)
    axes[0].set_ylabel('target accuracy')
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc='lower center', ncol=4, fontsize=8, frameon=False)
    figure.tight_layout(rect=(0, 0.06, 1, 1))
    figure.savefig(path, dpi=120)
    plt.close(figure)


@click.command()
@click.argument('results_dir', default='results', type=click.Path(file_okay=False))
@click.option('--markdown', type=click.Path(dir_okay=False), help='Also write the table here.')
@click.option('--png', type=click.Path(dir_okay=False), help='Also draw the chart here.')
@adda_command
def main(results_dir, markdown, png):
    """Mean ± std over seeds of each task's source-only and ADDA accuracy, beside the paper's,
    on the target training data (the paper's protocol) and the target test split."""
    if not os.path.isdir(results_dir):
        raise AddaError('no results folder {}'.format(results_dir))
    runs = load_runs(results_dir)
    table = markdown_table(runs)
    click.echo(table)
    if markdown:
        with open(markdown, 'w') as f:
            f.write(table + '\n')
    if png:
        plot(runs, png)
        click.echo('Chart: {}'.format(png))
    return 0


if __name__ == '__main__':
    main()
