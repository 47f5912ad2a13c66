#!/usr/bin/env python
"""Choose which snapshot of an adaptation run to keep, without target labels."""
import logging
import os

import click

from adda.cli import (POSITIVE, adda_command, check_dataset, command, device_options, option,
                      parse_dataset_split, select_gpu)
from adda.selection import CRITERIA, DEFAULT_CRITERION


def format_table(results, criterion, chosen_step):
    """One row per snapshot: its step and every criterion's score; '*' marks the chosen one."""
    names = list(results[0][1])
    widths = [max(10, len(name)) for name in names]
    header = '  {:>7}  '.format('step') + '  '.join(
        '{:>{}}'.format(name, w) for name, w in zip(names, widths))
    lines = ['Criterion: {} ({})'.format(criterion.name, criterion.summary), header]
    for snapshot, scores in results:
        mark = '*' if snapshot.step == chosen_step else ' '
        lines.append('{} {:>7}  '.format(mark, snapshot.step) + '  '.join(
            '{:>{}.4f}'.format(scores[name], w) for name, w in zip(names, widths)))
    return '\n'.join(lines)


def sample_note(splits, max_images):
    """Which images each split is scored on, in words."""
    parts = []
    for split in splits:
        n = len(split.labels)
        parts.append('{}: {}'.format(split.name, 'all {} images'.format(n) if not max_images or
                                     n <= max_images else '{} of {} images'.format(max_images, n)))
    sampled = any(max_images and len(split.labels) > max_images for split in splits)
    return '; '.join(parts) + (' (fixed-seed samples, seed 0)' if sampled else '')


def candidates_note(snapshots):
    adapted = len([s for s in snapshots if s.step])
    if len(snapshots) > adapted:
        return 'the source model as step 0 and {} snapshots'.format(adapted)
    return '{} snapshots'.format(adapted)


@command()
@click.argument('source')
@click.argument('target')
@click.argument('model')
@click.argument('run_dir')
@option('--criterion', type=click.Choice(list(CRITERIA)), default=DEFAULT_CRITERION,
              show_default=True, help='What ranks the snapshots (all are printed).')
@option('--source_val', default='test', show_default=True,
              help="SOURCE's labelled split held out from training (source accuracy, DEV).")
@option('--feature_layer', default='fc3', show_default=True,
              help='The layer whose output DEV\'s domain classifier sees.')
@option('--output', type=click.Path(dir_okay=False),
              help='Also write the scores and the choice as YAML to this file.')
@option('--without_source', is_flag=True,
              help='Leave out the source model the run started from (by default a candidate, '
                   'as step 0, so that the choice can be "do not adapt").')
@option('--max_images', default=5000, type=click.IntRange(min=0), show_default=True,
              help='Score each split on at most this many images (a fixed-seed sample, seed 0); '
                   'bounds the cost of every criterion (SND compares every pair). 0: all.')
@option('--batch_size', default=1000, type=POSITIVE, show_default=True,
              help='Images per session call.')
@device_options
@adda_command
def main(source, target, model, run_dir, criterion, source_val, feature_layer, output,
         without_source, max_images, batch_size, gpu, device, precision):
    """Rank every snapshot in RUN_DIR (an adaptation run's folder) by a label-free criterion
    and name the one to keep.

    SOURCE and TARGET are dataset:split, as given to train_adda. Target labels are never
    read: the criteria see MODEL's outputs on the target images, on the SOURCE images and on
    SOURCE's --source_val split (with its labels).
    """
    source_name, source_split = parse_dataset_split(source, 'source')
    target_name, target_split = parse_dataset_split(target, 'target')
    check_dataset(source_name, source_split)
    check_dataset(source_name, source_val)
    check_dataset(target_name, target_split)
    from adda.checks import check_output_file
    check_output_file(output, '--output')
    select_gpu(gpu)
    from adda.data import get_split
    from adda.data.dataset import check_same_classes
    from adda.models import get_model_fn
    from adda.selection import choose, get_criterion, score_snapshots
    from adda.session import session_config
    from adda.snapshot_outputs import list_snapshots
    from adda.util import write_yaml
    from tqdm import tqdm

    chosen_criterion = get_criterion(criterion)
    model_fn = get_model_fn(model)
    snapshots = list_snapshots(run_dir, with_start=not without_source)
    if source_val == source_split:
        logging.warning('--source_val is the source training split: source accuracy and DEV '
                        'then measure images the network was trained on')
    run_device = session_config(device, precision)
    splits = [get_split(source_name, source_split), get_split(source_name, source_val),
              get_split(target_name, target_split)]
    check_same_classes(splits[1:])
    sampled = sample_note(splits, max_images)
    logging.info('Scoring %d candidates (%s) on %s', len(snapshots), candidates_note(snapshots),
                 sampled)
    with tqdm(total=len(snapshots), unit='snapshot', leave=False, disable=None) as bar:
        results = score_snapshots(*splits, model_fn=model_fn, snapshots=snapshots,
                                  batch_size=batch_size, run_device=run_device, scope=model,
                                  feature_layer=feature_layer, max_images=max_images,
                                  progress=lambda: bar.update(1))
    chosen_step = choose([(s.step, scores[criterion]) for s, scores in results],
                         chosen_criterion.higher_is_better)
    chosen = [s for s, _ in results if s.step == chosen_step][0]
    if output:
        write_yaml(output, {
            'criterion': criterion,
            'higher_is_better': chosen_criterion.higher_is_better,
            'chosen': {'step': chosen.step, 'path': os.path.abspath(chosen.path)},
            'source': source, 'source_val': '{}:{}'.format(source_name, source_val),
            'target': target, 'model': model, 'feature_layer': feature_layer,
            'run_dir': os.path.abspath(run_dir),
            'source_model_candidate': not without_source,
            'images': sampled,
            'snapshots': [{'step': s.step, 'path': os.path.abspath(s.path),
                           'scores': dict(scores)} for s, scores in results],
            'device': run_device.device, 'precision': run_device.precision,
        })
        logging.info('Wrote results to %s', output)
    click.echo(format_table(results, chosen_criterion, chosen_step))
    click.echo('Keep: {}{}'.format(chosen.path, ' (the source model: adaptation did not help '
                                                'by this criterion)' if chosen.step == 0 else ''))
    return 0


if __name__ == '__main__':
    main()
