#!/usr/bin/env python
"""Time tools/predict.py on a dataset as a user runs it: a fresh process each repeat, the CSV
written to a file. Prints the tool's whole time (interpreter and TensorFlow start-up included)
and its phases from its own log lines: start-up and loading the images (to "Predicting ..."),
the network (to "Predicted classes"), writing the CSV (to "Wrote ..."), and the machine's load
average, since other work on the machine slows every phase. Not a test.

    python tools/benchmark_predict.py                            # 60,000 MNIST train images
    python tools/benchmark_predict.py --weights snapshot/mnist-usps-seed0_source --repeats 5

Without --weights a LeNet snapshot is made first (train.py, 1 iteration on mnist2000): the
time of a prediction does not depend on what the weights learnt.
"""
import argparse
import datetime
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STAMP = re.compile(r'^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})\] INFO +(.*)$')
PHASES = (('start-up and loading', 'Predicting '), ('network', 'Predicted classes'),
          ('writing the CSV', 'Wrote '))


def tool(name, *args):
    return [sys.executable, os.path.join(ROOT, 'tools', name + '.py')] + [str(a) for a in args]


def make_snapshot(folder):
    command = tool('train', 'mnist2000', 'train', 'lenet', 'bench', '--iterations', 1,
                   '--snapshot_dir', folder, '--device', 'cpu')
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return os.path.join(folder, 'bench')


def phase_times(log, started):
    """{phase: seconds} from the tool's log lines (their wall-clock stamps)."""
    seen = {}
    for line in log.splitlines():
        match = STAMP.match(line)
        if match:
            when = datetime.datetime.strptime(match.group(1), '%Y-%m-%d %H:%M:%S,%f').timestamp()
            for phase, start in PHASES:
                if match.group(2).startswith(start) and phase not in seen:
                    seen[phase] = when
    times, previous = {}, started
    for phase, _ in PHASES:
        if phase in seen:
            times[phase] = seen[phase] - previous
            previous = seen[phase]
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--weights', help='snapshot to predict with [default: made first]')
    parser.add_argument('--input', default='mnist:train',
                        help='DATASET:SPLIT or files [default: mnist:train]')
    parser.add_argument('--repeats', type=int, default=3, help='fresh processes [default: 3]')
    parser.add_argument('--device', default='cpu', help='--device of the tool [default: cpu]')
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix='adda-bench-') as temp:
        weights = args.weights or make_snapshot(temp)
        output = os.path.join(temp, 'predictions.csv')
        subprocess.run(tool('predict', 'lenet', weights, args.input, '--output', output,
                            '--device', args.device), check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)  # fills the decoded-image cache
        print('machine: {} cores, {}, Python {}; load average before: {:.2f}'.format(
            os.cpu_count(), platform.platform(), platform.python_version(), os.getloadavg()[0]))
        totals, phases = [], {phase: [] for phase, _ in PHASES}
        for repeat in range(args.repeats):
            started = time.time()
            result = subprocess.run(
                tool('predict', 'lenet', weights, args.input, '--output', output,
                     '--device', args.device), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                universal_newlines=True)
            totals.append(time.time() - started)
            if result.returncode:
                sys.exit('the tool failed:\n' + result.stdout[-2000:])
            for phase, seconds in phase_times(result.stdout, started).items():
                phases[phase].append(seconds)
            with open(output) as f:
                rows = sum(1 for _ in f) - 1
        print('{} predictions of {}, {} fresh processes (min / median / max, s):'.format(
            rows, args.input, args.repeats))
        for name, values in [('whole tool', totals)] + list(phases.items()):
            if values:
                print('  {:22} {:6.2f} {:6.2f} {:6.2f}'.format(
                    name, min(values), statistics.median(values), max(values)))
        print('load average after: {:.2f}'.format(os.getloadavg()[0]))


if __name__ == '__main__':
    main()
