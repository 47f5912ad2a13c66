#!/usr/bin/env python
"""Adapt a source-trained model to a target domain adversarially (ADDA step 2)."""
import logging

import click

from adda.cli import (LAYERS, adda_command, check_dataset, command, device_options, option,
                      parse_dataset_split, select_gpu, training_options)
from adda.terms import Settings, option_names
from adda.terms import click_options as adaptation_options

ADVERSARY = 'Adversary'


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
@adaptation_options
@device_options
@adda_command
def main(source, target, model, output, gpu, device, precision, weights, adversary_layers,
         adversary_leaky, adversary_layer, **opts):
    """Adapt MODEL from SOURCE to TARGET (each dataset:split, e.g. svhn:train mnist:train).

    Only the target network is saved, under the same keys as a source snapshot, to
    snapshot/OUTPUT/OUTPUT-<iteration>.
    """
    source_name, source_split = parse_dataset_split(source, 'source')
    target_name, target_split = parse_dataset_split(target, 'target')
    check_dataset(source_name, source_split)
    check_dataset(target_name, target_split)
    # the adaptation options, as config.yaml records them, apart from the rest of the run's
    settings = Settings(**{name: opts.pop(name) for name in option_names()})
    select_gpu(gpu)
    from adda.adaptation import build_adda_training
    from adda.checkpoints import log_restore, resolve_weights, restore
    from adda.checks import check_training
    from adda.data import get_split
    from adda.models import get_model_fn
    from adda.training import run_training

    model_fn = get_model_fn(model)
    weights = resolve_weights(weights)
    logging.info('Adapting {} -> {}'.format(source, target))
    source_data = get_split(source_name, source_split)
    target_data = get_split(target_name, target_split)
    check_training(output, opts, model_fn, [source_data, target_data], weights=weights,
                   feature_layer=adversary_layer, adversary_layers=adversary_layers)

    def build(seed, start_step, plan):
        return build_adda_training(
            source_data, target_data, model_fn, opts['batch_size'], opts['lr'], opts['solver'],
            seed, adversary_layers=adversary_layers, adversary_leaky=adversary_leaky,
            stepsize=opts['stepsize'], start_step=start_step, plan=plan,
            feature_layer=adversary_layer, settings=settings)

    def restore_initial(sess, graph):
        logging.info('Restoring weights from {}:'.format(weights))
        for name, var_dict in (('source', graph.source_vars), ('target', graph.target_vars)):
            logging.info('    Restoring {} model:'.format(name))
            log_restore(var_dict, indent='        ')
            restore(sess, var_dict, weights)

    opts.update(source=source, target=target, model=model, output=output, device=device,
                precision=precision, weights=weights, adversary=list(adversary_layers),
                adversary_leaky=adversary_leaky, adversary_layer=adversary_layer,
                **settings.values)
    return run_training(opts, build, restore_initial, labels=['Mapping', 'Adversary'])


if __name__ == '__main__':
    main()
