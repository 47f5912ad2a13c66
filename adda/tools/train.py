#!/usr/bin/env python
"""Train a classifier on labelled source data (ADDA step 1)."""
import logging

import click

from adda.cli import require_source_labels
from adda.cli import DATA, adda_command, check_dataset, select_gpu
from adda.options import DEVICE_OPTIONS, TRAINING_OPTIONS, Argument, Option, Tool


def _low_not_above_high(ctx, param, value):
    if value and value[0] > value[1]:
        raise click.BadParameter('LOW {} is above HIGH {}'.format(*value))
    return value


# Everything train.py takes; --help, the settings main gets, config.yaml and what --resume
# compares come from this (adda/options.py).
TOOL = Tool(
    'train',
    Argument('dataset', run=True), Argument('split', run=True), Argument('model', run=True),
    Argument('output'),
    TRAINING_OPTIONS, DEVICE_OPTIONS,
    Option('weights', group=DATA, run=True, shown='random initial weights',
           help='Checkpoint (prefix or folder) to start from [default: random initial '
                'weights].'),
    Option('weights_end', group=DATA, run=True,
           help='With --weights: restore only the layers before this one (e.g. fc4).'),
    Option('ignore_label', int, group=DATA, run=True,
           help='Leave examples with this label out of the loss.'),
    Option('augment', click.FloatRange(0.0, 0.5), 0.0, group=DATA, run=True,
           shown='0 (off, as the original)',
           help='Zoom each training image by a random factor in [1-A, 1+A] and shift it by up '
                'to A of its size (0: off, the original).'),
    Option('augment_stroke', click.FloatRange(0.0, 1.0), 0.0, group=DATA, run=True,
           shown='0 (off)',
           help='Thicken or thin each training image\'s strokes by a random amount up to S (the '
                'fraction of the way to a 3x3 dilation or erosion; 0: off, the original).'),
    Option('augment_zoom', (click.FloatRange(0.25, 2.0), click.FloatRange(0.25, 2.0)), None,
           group=DATA, run=True, metavar='LOW HIGH', callback=_low_not_above_high,
           shown='from `--augment`',
           help='Zoom each training image by a random factor in [LOW, HIGH] instead of [1-A, '
                '1+A] (--augment still sets the shift; below 1 the digit shrinks: e.g. 0.6 1.0 '
                "makes USPS digits, which fill their frame, look like MNIST's, which sit in a "
                '20x20 box of 28x28) [default: from --augment].'),
    Option('augment_shear', click.FloatRange(0.0, 1.0), 0.0, group=DATA, run=True,
           shown='0 (off)',
           help='Shear each training image horizontally by a factor s drawn from [-S, S] (a row '
                'y pixels below the centre moves s*y pixels right; USPS\'s digits are '
                'deslanted, MNIST\'s lean; 0: off, the original).'),
)
Settings = TOOL.Settings


@TOOL.command
@adda_command
def main(settings):
    """Train MODEL on DATASET's SPLIT; snapshots go to snapshot/OUTPUT/OUTPUT-<iteration>.

    Example: python tools/train.py mnist2000 train lenet lenet_mnist2000 --solver adam
    """
    check_dataset(settings.dataset, settings.split)
    require_source_labels(settings.dataset, settings.split)
    select_gpu(settings.gpu)
    from adda.checkpoints import log_restore, resolve_weights, restore
    from adda.checks import check_training
    from adda.data import get_split
    from adda.graphs import build_source_training
    from adda.models import get_model_fn
    from adda.training import run_training
    from adda.util import slice_vars

    model_fn = get_model_fn(settings.model)
    if settings.weights:
        settings = settings.replace(weights=resolve_weights(settings.weights))
    data = get_split(settings.dataset, settings.split)
    logging.info('Training %s on %s (%d images)', settings.model, data.name, len(data))
    check_training(settings, model_fn, [data], weights=settings.weights,
                   weights_end=settings.weights_end, ignore_label=settings.ignore_label)

    def build(seed, start_step, plan):
        return build_source_training(data, model_fn, settings, seed, start_step=start_step,
                                     plan=plan)

    def restore_initial(sess, graph):
        if settings.weights:
            var_dict = slice_vars(graph.snapshot_vars, end=settings.weights_end,
                                  scope=settings.model)
            logging.info('Restoring weights from {}:'.format(settings.weights))
            log_restore(var_dict)
            restore(sess, var_dict, settings.weights)

    return run_training(settings, build, restore_initial, labels=[''])


if __name__ == '__main__':
    main()
