#!/usr/bin/env python
"""Evaluate a snapshot's classification accuracy on a dataset split (ADDA step 3)."""
import logging
import os

import click

from adda.cli import require_labels_to_measure
from adda.cli import DEVICE, OUTPUT, POSITIVE, adda_command, check_dataset, select_gpu
from adda.options import DEVICE_OPTIONS, Argument, Option, Tool

TOOL = Tool(
    'eval_classification',
    Argument('dataset'), Argument('split'), Argument('model'), Argument('weights'),
    Option('output', click.Path(dir_okay=False), group=OUTPUT,
           help='Also write the results as YAML to this file.'),
    Option('batch_size', POSITIVE, 1000, 'Images per session call.', DEVICE),
    DEVICE_OPTIONS,
)


def format_array(values):
    return '  '.join('{:.3f}'.format(x) for x in values)


@TOOL.command
@adda_command
def main(settings):
    """Accuracy of MODEL with WEIGHTS (a checkpoint prefix or a folder) on DATASET's SPLIT."""
    dataset, split, model, output = (settings.dataset, settings.split, settings.model,
                                     settings.output)
    check_dataset(dataset, split)
    require_labels_to_measure(dataset, split)
    select_gpu(settings.gpu)
    import numpy as np
    from tqdm import tqdm

    from adda.checkpoints import resolve_weights, restore
    from adda.checks import check_evaluation
    from adda.compat import tf
    from adda.data import get_split
    from adda.graphs import EvalGraph
    from adda.models import get_model_fn
    from adda.rundir import snapshot_provenance
    from adda.session import create_session, session_config
    from adda.records import write_record
    from adda.tools.train_adda import RUN_SETTINGS

    model_fn = get_model_fn(model)
    weights = resolve_weights(settings.weights)
    data = get_split(dataset, split)
    check_evaluation(model_fn, weights, [data], settings.batch_size, output)
    run_device = session_config(settings.device, settings.precision)
    with tf.Graph().as_default():
        graph = EvalGraph(data, model_fn, settings.batch_size, scope=model)
        with create_session(run_device) as sess:
            logging.info('Evaluating {}'.format(weights))
            restore(sess, graph.model_vars, weights)
            with tqdm(total=len(data), unit='img', leave=False, disable=None) as bar:
                confusion = graph.confusion_matrix(sess, bar)
    counts = confusion.sum(axis=1)
    correct = confusion.diagonal()
    with_images = counts > 0
    class_accuracy = np.where(with_images, correct / counts.clip(min=1), np.nan)
    overall = float(correct.sum()) / max(int(counts.sum()), 1)
    logging.info('Class accuracies:')
    logging.info('    ' + '  '.join('{:>5}'.format(c) for c in range(len(class_accuracy))))
    logging.info('    ' + format_array(class_accuracy))
    logging.info('Overall accuracy:')
    logging.info('    {:.4f}'.format(overall))
    if output:
        write_record(output, {
            'dataset': dataset, 'split': split, 'model': model,
            'weights': os.path.abspath(weights), 'images': int(counts.sum()),
            'accuracy': overall,
            'class_accuracy': [float(a) if has else None
                               for a, has in zip(class_accuracy, with_images)],
            'class_counts': counts.tolist(),
            'confusion_matrix': confusion.tolist(),
            'device': run_device.device, 'precision': run_device.precision,
            # the snapshot's iteration and its training run's settings (None when unknown)
            'snapshot': snapshot_provenance(weights, RUN_SETTINGS),
        })
        logging.info('Wrote results to %s', output)
    return 0


if __name__ == '__main__':
    main()
