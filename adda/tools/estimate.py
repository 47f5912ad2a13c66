#!/usr/bin/env python
"""Estimate a run's target accuracy without target labels, from an independent run (its twin)."""
import collections
import logging
import os

import click

from adda.cli import DEVICE, OUTPUT, POSITIVE, adda_command, select_gpu
from adda.options import DEVICE_OPTIONS, Argument, Option, Tool

TOOL = Tool(
    'estimate',
    Argument('run'), Argument('twin'),
    Option('splits', click.Choice(('train', 'test')), group=OUTPUT, multiple=True,
           help='The target splits to estimate on (repeat) [default: every split the target '
                'has].'),
    Option('output_dir', click.Path(file_okay=False), group=OUTPUT,
           help='Write estimate_<split>.yaml here [default: RUN].'),
    Option('batch_size', POSITIVE, 1000, 'Images per session call.', DEVICE),
    DEVICE_OPTIONS,
)
RECORD = 'estimate_{}'  # <results>/<run>/estimate_<split>.yaml
# The models of a run: its source model, its final snapshot and (a run that chose) the chosen
# one, by the names of their evaluation records.
SOURCE, FINAL, CHOSEN = 'source_only', 'adda', 'selected'


def run_models(folder):
    """OrderedDict name -> weights of the run whose records are in ``folder`` (run.yaml, and
    selection.yaml when it chose), and the run.yaml."""
    from adda import records
    from adda.checkpoints import resolve_weights
    from adda.errors import AddaError
    record = records.read_record(os.path.join(folder, 'run.yaml'), 'task', 'source', 'target',
                                 'snapshots')
    source, adapted = record['snapshots']
    models = collections.OrderedDict([(SOURCE, resolve_weights(source)),
                                      (FINAL, resolve_weights(adapted))])
    if record.get('select'):
        selection = os.path.join(folder, 'selection.yaml')
        if not os.path.isfile(selection):
            raise AddaError('{}: the run chooses a snapshot but has no selection.yaml yet'
                            .format(folder))
        try:
            models[CHOSEN] = records.read_record(selection, 'chosen')['chosen']['path']
        except (KeyError, TypeError):
            raise records.DamagedRecord(selection, 'names no chosen snapshot path')
    return models, record


def check_twins(run, twin, run_record, twin_record):
    """Two runs of the same task and settings (but the seed), in different folders."""
    from adda.errors import AddaError
    if os.path.abspath(run) == os.path.abspath(twin):
        raise AddaError('RUN and TWIN are the same folder {}: the twin must be an independent '
                        'run (another seed)'.format(run))
    same = ('task', 'source', 'target', 'source_args', 'adapt_args', 'select',
            'source_iterations', 'adapt_iterations', 'train_args')
    differ = [key for key in same if run_record.get(key) != twin_record.get(key)]
    if differ:
        raise AddaError('{} and {} are not runs of the same task with the same settings ({} '
                        'differ)'.format(run, twin, ', '.join(differ)))
    if run_record.get('seed') == twin_record.get('seed'):
        raise AddaError('{} and {} have the same seed {}: the twin must be independent'.format(
            run, twin, run_record.get('seed')))


def estimates(predicted, shares, reported):
    """OrderedDict name -> Estimate for a run's models: ``predicted`` name -> (the run's
    predictions, the twin's); ``reported``: the name of the model the run reports."""
    from adda.estimate import reference_estimate, twin_estimate
    found = collections.OrderedDict()
    found[reported] = twin_estimate(predicted[reported][0], predicted[reported][1], shares)
    for name, (mine, theirs) in predicted.items():
        if name == SOURCE:
            found[name] = reference_estimate(mine, predicted[reported][0], found[reported],
                                             shares)
        elif name not in found:
            found[name] = twin_estimate(mine, theirs, shares)
    return collections.OrderedDict((name, found[name]) for name in predicted)


def describe(estimate):
    return '{:.4f} [{:.4f}, {:.4f}]'.format(estimate.accuracy, estimate.low, estimate.high)


@TOOL.command
@adda_command
def main(settings):
    """Estimate the accuracy of RUN's models on its target without the target's labels.

    RUN and TWIN are the records folders (results/<run>) of two runs of the same task with
    different seeds, made by the task scripts (scripts/adapt.sh and the others). The model RUN
    reports (the chosen snapshot, else the final one) is estimated by how often it agrees with
    TWIN's; the source model by how often it agrees with the reported model. Labels are never
    read. Writes estimate_<split>.yaml into RUN (or --output_dir).
    """
    select_gpu(settings.gpu)
    from adda import records
    from adda.data import get_dataset, get_split
    from adda.estimate import verdict
    from adda.models import get_model_fn
    from adda.session import session_config
    from adda.snapshot_outputs import Snapshot, outputs_per_snapshot

    mine, run_record = run_models(settings.run)
    theirs, twin_record = run_models(settings.twin)
    check_twins(settings.run, settings.twin, run_record, twin_record)
    target = get_dataset(run_record['target'])
    splits = settings.splits or tuple(s for s in ('train', 'test') if target.has_split(s))
    source_train = get_split(run_record['source'], 'train')
    shares = source_train.class_counts()
    reported = CHOSEN if CHOSEN in mine else FINAL
    names = list(mine)
    snapshots = [Snapshot(i, path) for i, path in enumerate(
        [mine[n] for n in names] + [theirs[n] for n in names])]
    run_device = session_config(settings.device, settings.precision)
    model_fn = get_model_fn('lenet')
    out_dir = settings.output_dir or settings.run
    for split in splits:
        images = get_split(run_record['target'], split)
        predicted = {}
        for snapshot, outputs in outputs_per_snapshot(
                collections.OrderedDict([('target', images)]), model_fn, snapshots,
                settings.batch_size, run_device, 'lenet'):
            predicted[snapshot.step] = outputs['target'].logits[:, :len(shares)].argmax(axis=1)
        pairs = collections.OrderedDict((n, (predicted[i], predicted[i + len(names)]))
                                        for i, n in enumerate(names))
        found = estimates(pairs, shares, reported)
        said = verdict(found[SOURCE], found[reported])
        path = os.path.join(out_dir, RECORD.format(split) + '.yaml')
        records.write_record(path, {
            'target': '{}:{}'.format(run_record['target'], split),
            'images': len(images), 'twin': os.path.abspath(settings.twin),
            'reported': reported,
            'estimates': {name: {'accuracy': e.accuracy, 'low': e.low, 'high': e.high,
                                 'method': e.method, 'agreement': e.agreement, 'cap': e.cap,
                                 'reliable': e.reliable, 'weights': os.path.abspath(mine[name])}
                          for name, e in found.items()},
            'adaptation': said,
        })
        for name, e in found.items():
            logging.info('Estimated accuracy of %s on %s %s: %s (%s%s)', name,
                         run_record['target'], split, describe(e), e.method,
                         '; capped by the class frequencies' if e.cap is not None else '')
        if not found[reported].reliable:
            logging.warning('%s and its twin disagree on %.1f%% of %s %s: at least one of them '
                            'adapted badly and agreement cannot tell which, so these estimates '
                            'are unreliable (compare with a run of a third seed)', settings.run,
                            100 * (1 - found[reported].agreement), run_record['target'], split)
        logging.info('Adaptation, as estimated on %s %s: %s', run_record['target'], split, said)
        logging.info('Wrote %s', path)
    return 0


if __name__ == '__main__':
    main()
