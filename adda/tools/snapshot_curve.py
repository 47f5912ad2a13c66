#!/usr/bin/env python
"""Accuracy of every snapshot of a run on a labelled split (uses the labels)."""
import logging
import os

import click

from adda.cli import require_labels_to_measure
from adda.cli import (DEVICE, OUTPUT, POSITIVE, SELECTION, adda_command, check_dataset,
                      select_gpu)
from adda.options import DEVICE_OPTIONS, Argument, Option, Tool

TOOL = Tool(
    'snapshot_curve',
    Argument('dataset'), Argument('split'), Argument('model'), Argument('run_dir'),
    Option('without_source', group=SELECTION, is_flag=True,
           help='Leave out the source model the run started from (by default step 0).'),
    Option('output', click.Path(dir_okay=False), group=OUTPUT,
           help='Also write the per-snapshot accuracies as YAML to this file.'),
    Option('batch_size', POSITIVE, 1000, 'Images per session call.', DEVICE),
    DEVICE_OPTIONS,
)


@TOOL.command
@adda_command
def main(settings):
    """Accuracy of every snapshot in RUN_DIR on DATASET's SPLIT, for accuracy-over-iterations
    curves and for measuring snapshot-selection criteria.

    This tool READS THE LABELS of SPLIT. Run on the target domain, its best snapshot is an
    oracle that a user without target labels cannot have; to choose a snapshot without them,
    use select_snapshot.
    """
    dataset, split, model, output = (settings.dataset, settings.split, settings.model,
                                     settings.output)
    check_dataset(dataset, split)
    require_labels_to_measure(dataset, split)
    from adda.checks import check_output_file
    check_output_file(output, '--output')
    select_gpu(settings.gpu)
    from collections import OrderedDict

    from adda.data import get_split
    from adda.models import get_model_fn
    from adda.selection import accuracy, choose
    from adda.session import session_config
    from adda.snapshot_outputs import list_snapshots, outputs_per_snapshot
    from adda.records import write_record

    model_fn = get_model_fn(model)
    snapshots = list_snapshots(settings.run_dir, with_start=not settings.without_source)
    data = get_split(dataset, split)
    run_device = session_config(settings.device, settings.precision)
    curve = [(snapshot, accuracy(outputs['data'].logits, data.labels))
             for snapshot, outputs in outputs_per_snapshot(
                 OrderedDict(data=data), model_fn, snapshots, settings.batch_size, run_device,
                 model)]
    best_step = choose([(s.step, a) for s, a in curve], True)
    by_step = {s.step: (s, a) for s, a in curve}
    if output:
        def point(step):
            snapshot, value = by_step[step]
            return {'step': step, 'path': os.path.abspath(snapshot.path), 'accuracy': value}
        write_record(output, {
            'dataset': dataset, 'split': split, 'model': model, 'images': len(data),
            'run_dir': os.path.abspath(settings.run_dir),
            'snapshots': [point(s.step) for s, _ in curve],
            'final': point(curve[-1][0].step),
            'oracle_uses_labels': point(best_step),
            'device': run_device.device, 'precision': run_device.precision,
        })
        logging.info('Wrote results to %s', output)
    click.echo('Accuracy on {} {} (labelled; * the best, an oracle choice):'.format(
        dataset, split))
    click.echo('  {:>7}  {:>8}'.format('step', 'accuracy'))
    for snapshot, value in curve:
        click.echo('{} {:>7}  {:>8.4f}'.format('*' if snapshot.step == best_step else ' ',
                                                snapshot.step, value))
    return 0


if __name__ == '__main__':
    main()
