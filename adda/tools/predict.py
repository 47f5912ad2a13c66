#!/usr/bin/env python
"""Predict the class of every image of a dataset split, or of image files, with a snapshot."""
import logging
import sys

import click

from adda.cli import DEVICE, OUTPUT, POSITIVE, adda_command, select_gpu
from adda.options import DEVICE_OPTIONS, Argument, Option, Tool

TOOL = Tool(
    'predict',
    Argument('model'), Argument('weights'), Argument('inputs', nargs=-1, metavar='INPUT...'),
    Option('output', click.Path(dir_okay=False), group=OUTPUT,
           help='Write the CSV to this file instead of the standard output.'),
    Option('probabilities', group=OUTPUT, is_flag=True,
           help='Add every class\'s probability (columns p_<class>).'),
    Option('batch_size', POSITIVE, 1000, 'Images per session call.', DEVICE),
    DEVICE_OPTIONS,
)


@TOOL.command
@adda_command
def main(settings):
    """The class MODEL with WEIGHTS (a checkpoint prefix or a folder) predicts for every image
    of INPUT, as CSV: the image (``file``, or ``index`` in its split), the predicted class's
    name and its probability (with --probabilities every class's).

    INPUT is a dataset by name as DATASET:SPLIT (mnist:test, or one of your own, labelled or
    not), or image files and folders anywhere on disk (folders are searched recursively).
    Labels are never read.

    Example: python tools/predict.py lenet snapshot/mine-plus-seed0_adda data/mine/train
    """
    from adda.checks import check_output_file
    from adda.util import log_to_stderr
    check_output_file(settings.output, '--output')
    if not settings.output:
        log_to_stderr()  # the CSV goes to the standard output
    select_gpu(settings.gpu)
    from tqdm import tqdm

    from adda.checkpoints import resolve_weights
    from adda.checks import ModelShapes, check_batch_size, check_weights
    from adda.data.dataset import DIGITS
    from adda.models import get_model_fn
    from adda.predict import (class_probabilities, inputs_of, predicted_counts,
                              snapshot_classes, write_csv)
    from adda.session import session_config
    from adda.util import atomic_output

    model_fn = get_model_fn(settings.model)
    weights = resolve_weights(settings.weights)
    inputs = inputs_of(settings.inputs)
    classes = _classes(snapshot_classes(weights), inputs, DIGITS)
    shapes = ModelShapes(model_fn)
    check_weights(weights, shapes, option='WEIGHTS')
    check_batch_size(settings.batch_size, [inputs.images], shapes, training=False)
    run_device = session_config(settings.device, settings.precision)
    logging.info('Predicting %d images of %s with %s', len(inputs.images), inputs.description,
                 weights)
    with tqdm(total=len(inputs.images), unit='img', leave=False, disable=None) as bar:
        probabilities = class_probabilities(inputs.images, model_fn, weights, classes,
                                            settings.batch_size, run_device, settings.model, bar)
    counts = predicted_counts(probabilities, classes)
    logging.info('Predicted classes: %s', ', '.join('{} {}'.format(name, n)
                                                    for name, n in counts.items()))
    if settings.output:
        with atomic_output(settings.output, 'the predictions') as tmp:
            with open(tmp, 'w', encoding='utf8', newline='') as f:
                write_csv(f, inputs, probabilities, classes, settings.probabilities)
        logging.info('Wrote %d predictions to %s', len(probabilities), settings.output)
    else:
        write_csv(sys.stdout, inputs, probabilities, classes, settings.probabilities)
    return 0


def _classes(trained, inputs, digits):
    """The class names: the snapshot's (its run's source classes); those of the input dataset
    must be the same when it has them."""
    from adda.data.dataset import describe_classes, same_classes
    from adda.errors import AddaError
    if trained is not None and inputs.classes is not None and \
            not same_classes(inputs.classes, trained):
        raise AddaError('{} has the classes {} but the snapshot was trained on {}'.format(
            inputs.description, describe_classes(inputs.classes), describe_classes(trained)))
    found = trained or (inputs.classes if inputs.classes is not None and
                        None not in inputs.classes else None)
    if found is None:
        logging.warning('The snapshot is not in a run folder of ours, so its class names are '
                        'unknown: the ten digits are used')
        found = digits
    return tuple(str(c) for c in found)


if __name__ == '__main__':
    main()
