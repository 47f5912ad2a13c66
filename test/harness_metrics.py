#!/usr/bin/env python
"""Speed and losses of training runs, read from their own logs, for the ModelZoo harness.

Usage: python test/harness_metrics.py --warmup STEPS [--loss_file FILE] RUN_DIR...

Each RUN_DIR is a training tool's snapshot folder (tools/train.py or tools/train_adda.py):
its config.yaml gives the batch size, its train.log the loss lines
("[2024-01-31 12:00:00,123] INFO     Iteration 10:   Mapping:  0.1234 (avg: ...)"), which
the tools write at the end of each session call. Per folder, the timed span runs from the
first loss line at iteration >= STEPS to the last one, so the start-up (graph building,
data loading, the first session calls) and anything after the last step are left out.

Prints key=value lines for the shell:
    batch_size=128            the batch size (the same in every folder, else an error)
    fps=9197.12               images per second over all timed spans together
    step_ms=13.92             milliseconds per training step over the same spans
    loss=0.9572               the last loss of the last folder
    phase=<folder>: ...       one line per folder, for people
and with --loss_file writes every logged loss, one per line, folder after folder (the
source model's cross-entropy, then the adaptation's mapping loss: the first of each line).
Exit status 1 with one "Error:" line when a log cannot be read or timed.
"""
import argparse
import datetime
import os
import re
import sys

import yaml

LINE = re.compile(r'^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})\] +\w+ +Iteration (\d+): +'
                  r'(?:\w+: +)?(\S+)')


class Failure(Exception):
    pass


def read_run(folder):
    """(batch_size, [(iteration, seconds since the epoch, loss), ...]) of one run."""
    config_path = os.path.join(folder, 'config.yaml')
    log_path = os.path.join(folder, 'train.log')
    try:
        with open(config_path) as f:
            config = yaml.safe_load(f) or {}
        batch_size = int(config['options']['batch_size'])
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as e:
        raise Failure('cannot read the batch size from {} ({})'.format(config_path, e))
    points = []
    try:
        with open(log_path, encoding='utf8') as f:
            for line in f:
                match = LINE.match(line)
                if match:
                    when = datetime.datetime.strptime(match.group(1), '%Y-%m-%d %H:%M:%S,%f')
                    points.append((int(match.group(2)), when, match.group(3)))
    except OSError as e:
        raise Failure('cannot read {} ({})'.format(log_path, e))
    if not points:
        raise Failure('{} has no "Iteration N:" loss lines'.format(log_path))
    return batch_size, points


def timed_span(folder, points, warmup):
    """(steps, seconds) from the first loss line at iteration >= warmup to the last."""
    timed = [p for p in points if p[0] >= warmup]
    if len(timed) < 2:
        raise Failure('{}: fewer than two loss lines at iteration {} or later, so nothing to '
                      'time (train longer, or log more often, or warm up for fewer steps)'
                      .format(folder, warmup))
    steps = timed[-1][0] - timed[0][0]
    seconds = (timed[-1][1] - timed[0][1]).total_seconds()
    if steps <= 0 or seconds <= 0:
        raise Failure('{}: the loss lines after the warm-up span {} steps in {} s: cannot '
                      'time them'.format(folder, steps, seconds))
    return steps, seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--warmup', type=int, required=True,
                        help='iterations left out at the start of each run')
    parser.add_argument('--loss_file', help='write every logged loss here, one per line')
    parser.add_argument('runs', nargs='+', metavar='RUN_DIR')
    args = parser.parse_args(argv)
    try:
        batch_sizes, losses, lines = set(), [], []
        total_steps, total_seconds = 0, 0.0
        for folder in args.runs:
            batch_size, points = read_run(folder)
            steps, seconds = timed_span(folder, points, args.warmup)
            batch_sizes.add(batch_size)
            total_steps += steps
            total_seconds += seconds
            losses.extend(p[2] for p in points)
            lines.append('{}: {:.2f} images/s, {:.2f} ms per step ({} steps timed from '
                         'iteration {}, batch {})'.format(
                             os.path.basename(os.path.normpath(folder)),
                             steps * batch_size / seconds, 1000.0 * seconds / steps, steps,
                             min(p[0] for p in points if p[0] >= args.warmup), batch_size))
        if len(batch_sizes) != 1:
            raise Failure('the runs used different batch sizes: {}'.format(sorted(batch_sizes)))
        (batch_size,) = batch_sizes
        if args.loss_file:
            try:
                with open(args.loss_file, 'w') as f:
                    f.write(''.join(loss + '\n' for loss in losses))
            except OSError as e:
                raise Failure('cannot write {} ({})'.format(args.loss_file, e))
    except Failure as e:
        sys.stderr.write('Error: {}\n'.format(e))
        return 1
    print('batch_size={}'.format(batch_size))
    print('fps={:.2f}'.format(total_steps * batch_size / total_seconds))
    print('step_ms={:.2f}'.format(1000.0 * total_seconds / total_steps))
    print('loss={}'.format(losses[-1]))
    for line in lines:
        print('phase={}'.format(line))
    return 0


if __name__ == '__main__':
    sys.exit(main())
