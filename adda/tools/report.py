#!/usr/bin/env python
"""Summarize the task scripts' evaluation records as a Markdown table (and a PNG chart).

The runs are read by adda.report.runs, the tables made by adda.report.tables and the chart
drawn by adda.report.chart; this is the command.
"""
import os

import click

from adda.cli import adda_command, command, option
from adda.errors import AddaError
from adda.report.chart import chart, plot  # noqa: F401  (the tests read the chart)
from adda.report.runs import (METHODS, criteria_agreement, load_runs,  # noqa: F401
                              task_labels)
from adda.report.tables import criteria_table, markdown_table, source_kept


def report_text(results_dir, runs, left_out, damaged):
    """The table(s) and the notes under them. The criteria table measures the runs made with
    their task's settings only (not the short runs of --all)."""
    table = markdown_table(runs)
    kept = source_kept(runs)
    if kept:
        table += '\n\n' + kept
    if left_out:
        table += ('\n\nNot in the table (made with other settings than the task\'s): ' +
                  '; '.join('{} ({})'.format(name, reason) for name, reason in left_out))
    short = [(run['run'], run['variant']) for task_runs in runs.values() for run in task_runs
             if 'variant' in run]
    found = criteria_agreement(results_dir, list(left_out) + short, damaged)
    if found:
        table += ('\n\nLabel-free snapshot choice: how far each criterion\'s choice falls '
                  'from the best snapshot on the labelled target split of its protocol '
                  '(train for the paper\'s, test for the field\'s; labels used '
                  'only to measure this)\n\n' + criteria_table(found))
    return table


@command()
@click.argument('results_dir', default='results', type=click.Path(file_okay=False))
@option('--markdown', type=click.Path(dir_okay=False), help='Also write the table here.')
@option('--png', type=click.Path(dir_okay=False), help='Also draw the chart here.')
@option('--all', 'show_all', is_flag=True,
        help='Also show the runs made with other iteration counts or TRAIN_ARGS than their '
             "task's (short runs), each task and settings in rows and bars of their own, "
             "marked (e.g. 'short run: 300+300 iterations'), never averaged with the task's "
             'runs.')
@option('--estimates', is_flag=True,
        help='Instead of the results table: the accuracies estimated without target labels '
             'against the measured ones, for every run that has both (error, interval, '
             'ranking of the source model and the reported one).')
@adda_command
def main(results_dir, markdown, png, show_all, estimates):
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
    runs = load_runs(results_dir, left_out, damaged, other=show_all)
    if estimates:
        from adda.report.estimates import estimate_table
        table = estimate_table(runs)
    else:
        table = report_text(results_dir, runs, left_out, damaged)
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
