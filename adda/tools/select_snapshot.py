#!/usr/bin/env python
"""Choose which snapshot of an adaptation run to keep, without target labels."""
import logging
import os

import click

from adda.cli import require_source_labels
from adda.cli import (DEVICE, OUTPUT, POSITIVE, SELECTION, adda_command, check_dataset,
                      parse_dataset_split, select_gpu)
from adda.options import DEVICE_OPTIONS, Argument, Option, Tool
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
        n = len(split)
        parts.append('{}: {}'.format(split.name, 'all {} images'.format(n) if not max_images or
                                     n <= max_images else '{} of {} images'.format(max_images, n)))
    sampled = any(max_images and len(split) > max_images for split in splits)
    return '; '.join(parts) + (' (fixed-seed samples, seed 0)' if sampled else '')


def candidates_note(snapshots):
    adapted = len([s for s in snapshots if s.step])
    if len(snapshots) > adapted:
        return 'the source model as step 0 and {} snapshots'.format(adapted)
    return '{} snapshots'.format(adapted)


TOOL = Tool(
    'select_snapshot',
    Argument('source'), Argument('target'), Argument('model'), Argument('run_dir'),
    Option('criterion', click.Choice(list(CRITERIA)), DEFAULT_CRITERION,
           'What ranks the snapshots (all are printed).', SELECTION),
    Option('source_val', None, 'test', "SOURCE's labelled split held out from training (source "
           "accuracy, DEV).", SELECTION),
    Option('feature_layer', None, 'fc3', 'The layer whose output DEV\'s domain classifier sees.',
           SELECTION),
    Option('without_source', group=SELECTION, is_flag=True,
           help='Leave out the source model the run started from (by default a candidate, as '
                'step 0, so that the choice can be "do not adapt").'),
    Option('max_images', click.IntRange(min=0), 5000, 'Score each split on at most this many '
           'images (a fixed-seed sample, seed 0); bounds the cost of every criterion (SND '
           'compares every pair). 0: all.', SELECTION),
    Option('output', click.Path(dir_okay=False), group=OUTPUT,
           help='Also write the scores and the choice as YAML to this file.'),
    Option('batch_size', POSITIVE, 1000, 'Images per session call.', DEVICE),
    DEVICE_OPTIONS,
)


@TOOL.command
@adda_command
def main(settings):
    """Rank every snapshot in RUN_DIR (an adaptation run's folder) by a label-free criterion
    and name the one to keep.

    SOURCE and TARGET are dataset:split, as given to train_adda. Target labels are never
    read: the criteria see MODEL's outputs on the target images, on the SOURCE images and on
    SOURCE's --source_val split (with its labels).
    """
    source, target, model, output = (settings.source, settings.target, settings.model,
                                      settings.output)
    criterion, source_val, feature_layer = (settings.criterion, settings.source_val,
                                            settings.feature_layer)
    source_name, source_split = parse_dataset_split(source, 'source')
    target_name, target_split = parse_dataset_split(target, 'target')
    check_dataset(source_name, source_split)
    check_dataset(source_name, source_val)
    check_dataset(target_name, target_split)
    require_source_labels(source_name, source_val)
    from adda.checks import check_output_file
    check_output_file(output, '--output')
    select_gpu(settings.gpu)
    from adda.data import get_split
    from adda.data.dataset import check_same_classes
    from adda.models import get_model_fn
    from adda.selection import choose, get_criterion, score_snapshots
    from adda.session import session_config
    from adda.snapshot_outputs import list_snapshots
    from adda.records import write_record
    from tqdm import tqdm

    chosen_criterion = get_criterion(criterion)
    model_fn = get_model_fn(model)
    snapshots = list_snapshots(settings.run_dir, with_start=not settings.without_source)
    if source_val == source_split:
        logging.warning('--source_val is the source training split: source accuracy and DEV '
                        'then measure images the network was trained on')
    run_device = session_config(settings.device, settings.precision)
    splits = [get_split(source_name, source_split), get_split(source_name, source_val),
              get_split(target_name, target_split)]
    check_same_classes(splits[1:])
    sampled = sample_note(splits, settings.max_images)
    logging.info('Scoring %d candidates (%s) on %s', len(snapshots), candidates_note(snapshots),
                 sampled)
    with tqdm(total=len(snapshots), unit='snapshot', leave=False, disable=None) as bar:
        results = score_snapshots(*splits, model_fn=model_fn, snapshots=snapshots,
                                  batch_size=settings.batch_size, run_device=run_device,
                                  scope=model, feature_layer=feature_layer,
                                  max_images=settings.max_images,
                                  progress=lambda: bar.update(1))
    chosen_step = choose([(s.step, scores[criterion]) for s, scores in results],
                         chosen_criterion.higher_is_better)
    chosen = [s for s, _ in results if s.step == chosen_step][0]
    if output:
        write_record(output, selection_record(settings, chosen_criterion, chosen, results,
                                            sampled, run_device))
        logging.info('Wrote results to %s', output)
    click.echo(format_table(results, chosen_criterion, chosen_step))
    click.echo('Keep: {}{}'.format(chosen.path, ' (the source model: adaptation did not help '
                                                'by this criterion)' if chosen.step == 0 else ''))
    return 0


def selection_record(settings, criterion, chosen, results, sampled, run_device):
    """What --output writes: the criterion, the chosen snapshot and every candidate's scores."""
    source_name = settings.source.split(':')[0]
    return {
        'criterion': settings.criterion,
        'higher_is_better': criterion.higher_is_better,
        'chosen': {'step': chosen.step, 'path': os.path.abspath(chosen.path)},
        'source': settings.source, 'source_val': '{}:{}'.format(source_name, settings.source_val),
        'target': settings.target, 'model': settings.model,
        'feature_layer': settings.feature_layer,
        'run_dir': os.path.abspath(settings.run_dir),
        'source_model_candidate': not settings.without_source,
        'images': sampled,
        'snapshots': [{'step': s.step, 'path': os.path.abspath(s.path),
                       'scores': dict(scores)} for s, scores in results],
        'device': run_device.device, 'precision': run_device.precision,
    }


if __name__ == '__main__':
    main()
