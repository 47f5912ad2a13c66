#!/usr/bin/env python
"""Adapt a source-trained model to a target domain adversarially (ADDA step 2)."""
import logging

import click

from adda.cli import (LAYERS, NON_NEGATIVE, POSITIVE, FiniteFloat, adda_command, check_dataset,
                      command, device_options, option, parse_dataset_split, select_gpu,
                      training_options)

ADVERSARY, RECIPE = 'Adversary', 'Stabilisers and recipe'


@command()
@click.argument('source')
@click.argument('target')
@click.argument('model')
@click.argument('output')
@training_options
@option('--weights', required=True,
        help='Source snapshot (prefix or folder) for both the source and target nets.')
@option('--adversary', 'adversary_layers', default=[500, 500], multiple=True, type=int,
        group=ADVERSARY, help='Hidden layer width of the discriminator (repeat for each).')
@option('--adversary_leaky/--adversary_relu', default=True, group=ADVERSARY,
        help='Leaky ReLU (slope 0.1) or ReLU in the discriminator.')
@option('--adversary_layer', default='fc4', type=click.Choice(LAYERS), group=ADVERSARY,
        help="The layer whose output the discriminator sees: fc4 (the logits, as the original) "
             "or fc3 (the encoder's output, as the paper; fc4 then keeps the source weights).")
@option('--adversary_lr', type=NON_NEGATIVE, default=None, group=RECIPE,
        help="The discriminator's learning rate [default: --lr].")
@option('--adversary_steps', type=POSITIVE, default=1, group=RECIPE,
        help='Discriminator updates per target update (the extra ones on fresh batches).')
@option('--label_smoothing', type=FiniteFloat(min=0.0, below=1.0), default=0.0, group=RECIPE,
        help='One-sided label smoothing: the discriminator learns source features as source '
             'with probability 1 - S.')
@option('--gradient_penalty', type=NON_NEGATIVE, default=0.0, group=RECIPE,
        help="Weight of the R1 penalty on the discriminator's gradient at source features.")
@option('--source_pull', type=NON_NEGATIVE, default=0.0, group=RECIPE,
        help='Weight of an L2 penalty keeping the target weights near the source weights.')
@option('--target_infomax', type=NON_NEGATIVE, default=0.0, group=RECIPE,
        help="Weight of the target batch's information maximisation (confident predictions, "
             'balanced classes; no labels).')
@option('--infomax_ramp', type=click.IntRange(min=0), default=0, group=RECIPE,
        help='With --target_infomax: grow its weight linearly from 0 over this many '
             'iterations, so that the adversarial alignment comes first.')
@option('--target_pseudo', type=NON_NEGATIVE, default=0.0, group=RECIPE,
        help='Self-training: weight of the cross-entropy of the target network on an augmented '
             'view of each target image against its own confident prediction on the image '
             'itself (no labels).')
@option('--pseudo_threshold', type=click.FloatRange(0.0, 1.0), default=0.95, group=RECIPE,
        help='With --target_pseudo: the confidence a prediction needs to be a label.')
@option('--target_augment', type=click.FloatRange(0.0, 0.5), default=0.2, group=RECIPE,
        help='With --target_pseudo: zoom/shift strength of the augmented view (as train.py '
             '--augment).')
@option('--pseudo_ramp', type=click.IntRange(min=0), default=0, group=RECIPE,
        help='With --target_pseudo: grow its weight linearly from 0 over this many iterations.')
@option('--pseudo_neighbours', type=click.IntRange(0, 256), default=0, group=RECIPE,
        help="With --target_pseudo: each image's label is the mean prediction of its K most "
             "similar target images (cosine of the fc3 features, among the last epoch's "
             "batches) instead of its own prediction; 0: its own.")
@option('--target_vat', type=NON_NEGATIVE, default=0.0, group=RECIPE,
        help='Weight of virtual adversarial training on the target images: the divergence of '
             "the target network's prediction at each image from its prediction at the worst "
             'nearby image (no labels; CPU and GPU only).')
@option('--vat_radius', type=FiniteFloat(min=0.0), default=2.0, group=RECIPE,
        help='With --target_vat: the L2 norm of the perturbation of an image (pixels in 0-1, '
             'so a 28x28 digit has a norm of about 9).')
@option('--target_centroid', type=NON_NEGATIVE, default=0.0, group=RECIPE,
        help='Self-training on pseudo-labels from running class centroids of the target '
             "network's fc3 features (SHOT's labels, kept online): weight of the cross-entropy "
             "of each target image's prediction against its nearest centroid's class (no "
             'labels).')
@option('--centroid_momentum', type=FiniteFloat(min=0.0, below=1.0), default=0.9, group=RECIPE,
        help='With --target_centroid: the share of the running centroids each step keeps.')
@option('--ema', type=FiniteFloat(min=0.0, below=1.0), default=0.0, group=RECIPE,
        help='Save a moving average of the target weights with this decay (e.g. 0.999) as the '
             'snapshot; 0 saves the weights themselves.')
@device_options
@adda_command
def main(source, target, model, output, gpu, device, precision, weights, adversary_layers,
         adversary_leaky, adversary_layer, adversary_lr, adversary_steps, label_smoothing,
         gradient_penalty, source_pull, target_infomax, infomax_ramp, target_pseudo,
         pseudo_threshold, target_augment, pseudo_ramp, target_vat, vat_radius, target_centroid,
         centroid_momentum, pseudo_neighbours, ema, **opts):
    """Adapt MODEL from SOURCE to TARGET (each dataset:split, e.g. svhn:train mnist:train).

    Only the target network is saved, under the same keys as a source snapshot, to
    snapshot/OUTPUT/OUTPUT-<iteration>.
    """
    source_name, source_split = parse_dataset_split(source, 'source')
    target_name, target_split = parse_dataset_split(target, 'target')
    check_dataset(source_name, source_split)
    check_dataset(target_name, target_split)
    select_gpu(gpu)
    from adda.checkpoints import log_restore, resolve_weights, restore
    from adda.checks import check_training
    from adda.data import get_split
    from adda.graphs import build_adda_training
    from adda.models import get_model_fn
    from adda.recipe import AdaptationOptions
    from adda.training import run_training

    model_fn = get_model_fn(model)
    weights = resolve_weights(weights)
    logging.info('Adapting {} -> {}'.format(source, target))
    source_data = get_split(source_name, source_split)
    target_data = get_split(target_name, target_split)
    check_training(output, opts, model_fn, [source_data, target_data], weights=weights,
                   feature_layer=adversary_layer, adversary_layers=adversary_layers)

    options = AdaptationOptions(adversary_lr, adversary_steps, label_smoothing,
                                gradient_penalty, source_pull, target_infomax, ema,
                                infomax_ramp, target_pseudo, pseudo_threshold,
                                target_augment if target_pseudo else 0.0, pseudo_ramp,
                                target_vat, vat_radius if target_vat else 0.0,
                                target_centroid, centroid_momentum,
                                pseudo_neighbours if target_pseudo else 0)

    def build(seed, start_step, plan):
        return build_adda_training(
            source_data, target_data, model_fn, opts['batch_size'], opts['lr'], opts['solver'],
            seed, adversary_layers=adversary_layers, adversary_leaky=adversary_leaky,
            stepsize=opts['stepsize'], start_step=start_step, plan=plan,
            feature_layer=adversary_layer, options=options)

    def restore_initial(sess, graph):
        logging.info('Restoring weights from {}:'.format(weights))
        for name, var_dict in (('source', graph.source_vars), ('target', graph.target_vars)):
            logging.info('    Restoring {} model:'.format(name))
            log_restore(var_dict, indent='        ')
            restore(sess, var_dict, weights)

    opts.update(source=source, target=target, model=model, output=output, device=device,
                precision=precision, weights=weights, adversary=list(adversary_layers),
                adversary_leaky=adversary_leaky, adversary_layer=adversary_layer,
                **options._asdict())
    return run_training(opts, build, restore_initial, labels=['Mapping', 'Adversary'])


if __name__ == '__main__':
    main()
