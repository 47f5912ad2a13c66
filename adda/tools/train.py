#!/usr/bin/env python
"""Train a classifier on labelled source data (ADDA step 1)."""
import logging

import click

from adda.cli import (adda_command, check_dataset, command, device_options, option, select_gpu,
                      training_options)

DATA = 'Data and model'


@command()
@click.argument('dataset')
@click.argument('split')
@click.argument('model')
@click.argument('output')
@training_options
@option('--weights', group=DATA,
        help='Checkpoint (prefix or folder) to start from [default: random initial weights].')
@option('--weights_end', group=DATA,
        help='With --weights: restore only the layers before this one (e.g. fc4).')
@option('--ignore_label', type=int, group=DATA,
        help='Leave examples with this label out of the loss.')
@option('--augment', type=click.FloatRange(0.0, 0.5), default=0.0, group=DATA,
        help='Zoom each training image by a random factor in [1-A, 1+A] and shift it by up to '
             'A of its size (0: off, the original).')
@option('--augment_stroke', type=click.FloatRange(0.0, 1.0), default=0.0, group=DATA,
        help='Thicken or thin each training image\'s strokes by a random amount up to S (the '
             'fraction of the way to a 3x3 dilation or erosion; 0: off, the original).')
@option('--augment_zoom', type=(click.FloatRange(0.25, 2.0), click.FloatRange(0.25, 2.0)),
        default=None, group=DATA, metavar='LOW HIGH',
        help='Zoom each training image by a random factor in [LOW, HIGH] instead of [1-A, '
             '1+A] (--augment still sets the shift; below 1 the digit shrinks: e.g. 0.6 1.0 '
             "makes USPS digits, which fill their frame, look like MNIST's, which sit in a "
             '20x20 box of 28x28) [default: from --augment].')
@option('--augment_shear', type=click.FloatRange(0.0, 1.0), default=0.0, group=DATA,
        help='Shear each training image horizontally by a factor s drawn from [-S, S] (a row '
             'y pixels below the centre moves s*y pixels right; USPS\'s digits are deslanted, '
             'MNIST\'s lean; 0: off, the original).')
@device_options
@adda_command
def main(dataset, split, model, output, gpu, device, precision, weights, weights_end,
         ignore_label, augment, augment_stroke, augment_zoom, augment_shear, **opts):
    """Train MODEL on DATASET's SPLIT; snapshots go to snapshot/OUTPUT/OUTPUT-<iteration>.

    Example: python tools/train.py mnist2000 train lenet lenet_mnist2000 --solver adam
    """
    check_dataset(dataset, split)
    if augment_zoom and augment_zoom[0] > augment_zoom[1]:
        raise click.BadParameter('LOW {} is above HIGH {}'.format(*augment_zoom),
                                 param_hint="'--augment_zoom'")
    select_gpu(gpu)
    from adda.checkpoints import log_restore, resolve_weights, restore
    from adda.checks import check_training
    from adda.data import get_split
    from adda.graphs import build_source_training
    from adda.models import get_model_fn
    from adda.training import run_training
    from adda.util import slice_vars

    model_fn = get_model_fn(model)
    if weights:
        weights = resolve_weights(weights)
    data = get_split(dataset, split)
    logging.info('Training %s on %s (%d images)', model, data.name, len(data))
    check_training(output, opts, model_fn, [data], weights=weights, weights_end=weights_end,
                   ignore_label=ignore_label)

    def build(seed, start_step, plan):
        return build_source_training(
            data, model_fn, opts['batch_size'], opts['lr'], opts['solver'], seed,
            stepsize=opts['stepsize'], ignore_label=ignore_label, start_step=start_step,
            plan=plan, scope=model, augment=augment, augment_stroke=augment_stroke,
            augment_zoom=augment_zoom, augment_shear=augment_shear)

    def restore_initial(sess, graph):
        if weights:
            var_dict = slice_vars(graph.snapshot_vars, end=weights_end, scope=model)
            logging.info('Restoring weights from {}:'.format(weights))
            log_restore(var_dict)
            restore(sess, var_dict, weights)

    opts.update(dataset=dataset, split=split, model=model, output=output, device=device,
                precision=precision, weights=weights, weights_end=weights_end,
                ignore_label=ignore_label, augment=augment, augment_stroke=augment_stroke,
                augment_zoom=list(augment_zoom) if augment_zoom else None,
                augment_shear=augment_shear)
    return run_training(opts, build, restore_initial, labels=[''])


if __name__ == '__main__':
    main()
