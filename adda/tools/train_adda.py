#!/usr/bin/env python
"""Adapt a source-trained model to a target domain adversarially (ADDA step 2)."""
import logging

import click

from adda.cli import require_source_labels
from adda.cli import (ADVERSARY, LAYERS, adda_command, check_dataset, parse_dataset_split,
                      select_gpu)
from adda.options import DEVICE_OPTIONS, TRAINING_OPTIONS, Argument, Option, Tool
from adda.terms import help_options as adaptation_options
from adda.terms import without_effect
from adda.tools import train

# Everything train_adda.py takes; --help, the settings main gets, config.yaml and what
# --resume compares come from this (adda/options.py), the adaptation terms' options from
# their registry (adda/terms/).
TOOL = Tool(
    'train_adda',
    Argument('source', run=True), Argument('target', run=True), Argument('model', run=True),
    Argument('output'),
    TRAINING_OPTIONS, DEVICE_OPTIONS,
    Option('weights', required=True, run=True,
           help='Source snapshot (prefix or folder) for both the source and target nets.'),
    Option('adversary', int, [500, 500], group=ADVERSARY, run=True, multiple=True,
           shown='500, 500', help='Hidden layer width of the discriminator (repeat for each).'),
    Option('adversary_leaky', default=True, group=ADVERSARY, run=True,
           flags=('--adversary_leaky/--adversary_relu',), shown='leaky',
           help='Leaky ReLU (slope 0.1) or ReLU in the discriminator.'),
    Option('adversary_layer', click.Choice(LAYERS), 'fc4', group=ADVERSARY, run=True,
           help="The layer whose output the discriminator sees: fc4 (the logits, as the "
                "original) or fc3 (the encoder's output, as the paper; fc4 then keeps the "
                "source weights)."),
    adaptation_options(),
)
Settings = TOOL.Settings

# The options that define a run of either training tool: --resume continues a run only with
# the same values (--iterations may grow); an evaluation records them for its snapshot.
RUN_SETTINGS = train.TOOL.run_names() + tuple(
    name for name in TOOL.run_names() if name not in train.TOOL.run_names())


@TOOL.command
@adda_command
def main(settings):
    """Adapt MODEL from SOURCE to TARGET (each dataset:split, e.g. svhn:train mnist:train).

    Only the target network is saved, under the same keys as a source snapshot, to
    snapshot/OUTPUT/OUTPUT-<iteration>.
    """
    source_name, source_split = parse_dataset_split(settings.source, 'source')
    target_name, target_split = parse_dataset_split(settings.target, 'target')
    check_dataset(source_name, source_split)
    check_dataset(target_name, target_split)
    require_source_labels(source_name, source_split)
    select_gpu(settings.gpu)
    from adda.adaptation import build_adda_training
    from adda.checkpoints import log_restore, resolve_weights, restore
    from adda.checks import check_training
    from adda.data import get_split
    from adda.models import get_model_fn
    from adda.training import run_training

    model_fn = get_model_fn(settings.model)
    settings = settings.replace(weights=resolve_weights(settings.weights))
    logging.info('Adapting {} -> {}'.format(settings.source, settings.target))
    for line in without_effect(settings):
        logging.warning(line)
    source_data = get_split(source_name, source_split)
    target_data = get_split(target_name, target_split)
    check_training(settings, model_fn, [source_data, target_data], weights=settings.weights,
                   feature_layer=settings.adversary_layer, adversary_layers=settings.adversary)

    def build(seed, start_step, plan):
        return build_adda_training(source_data, target_data, model_fn, settings, seed,
                                   start_step=start_step, plan=plan)

    def restore_initial(sess, graph):
        logging.info('Restoring weights from {}:'.format(settings.weights))
        for name, var_dict in (('source', graph.source_vars), ('target', graph.target_vars)):
            logging.info('    Restoring {} model:'.format(name))
            log_restore(var_dict, indent='        ')
            restore(sess, var_dict, settings.weights)

    return run_training(settings, build, restore_initial, labels=['Mapping', 'Adversary'])


if __name__ == '__main__':
    main()
