"""The training loop shared by tools/train.py and tools/train_adda.py.

Logs every ``display`` steps in the original's format, writes TensorBoard summaries, snapshots
every ``snapshot`` steps and at the end, saves and stops cleanly on Ctrl-C or SIGTERM, stops on
a NaN or infinite loss without saving, and resumes from the latest saved state.
"""
import logging
import math
import os
import platform
import random
import signal
import sys
import time
from collections import deque

import numpy as np
from tqdm import tqdm

import adda
from adda.checkpoints import Snapshots, latest_state
from adda.compat import tf
from adda.errors import AddaError
from adda.graphs import lr_at
from adda.session import (create_session, default_shards, default_steps_per_run,
                          session_config)
from adda.util import add_logfile, write_yaml

CONFIG_FILE = 'config.yaml'


def seed_everything(seed):
    """The original's scheme: Python ``seed``, NumPy ``seed + 1``, TensorFlow ``seed + 2``."""
    if seed is None:
        seed = random.randrange(2 ** 32 - 2)
    logging.info('Using random seed %d', seed)
    random.seed(seed)
    np.random.seed(seed + 1)
    tf.set_random_seed(seed + 2)
    return seed


def format_losses(step, labels, values, averages):
    """'Iteration 10:         0.1234     (avg:     0.2345)', one block per loss."""
    blocks = ['{}{:10.4f}     (avg: {:10.4f})'.format(label + ': ' if label else '', v, a)
              for label, v, a in zip(labels, values, averages)]
    return '{:20} '.format('Iteration {}:'.format(step)) + '    '.join(blocks)


class _Signals(object):
    """Catch SIGINT and SIGTERM while training; a second signal stops at once."""

    def __init__(self):
        self.caught = None
        self._previous = {}

    def _handle(self, signum, frame):
        if self.caught is not None:
            raise KeyboardInterrupt
        self.caught = signum
        logging.warning('Caught %s: stopping after the current step and saving a snapshot '
                        '(again to stop at once)', signal.Signals(signum).name)

    def __enter__(self):
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


class Trainer(object):
    """Runs a TrainGraph from ``start_step`` to ``iterations``."""

    def __init__(self, graph, snapshots, output, output_dir, iterations, display, snapshot,
                 lr, stepsize, steps_per_run, start_step, labels):
        self.graph, self.snapshots = graph, snapshots
        self.output, self.output_dir = output, output_dir
        self.iterations, self.display, self.snapshot = iterations, display, snapshot
        self.lr, self.stepsize = lr, stepsize
        self.steps_per_run, self.step = steps_per_run, start_step
        self.names = list(graph.outputs)
        self.labels = labels
        self.history = {name: deque(maxlen=10) for name in self.names}

    def _chunk(self):
        """Steps in the next session call: at most steps_per_run, ending on snapshot steps."""
        to_snapshot = self.snapshot - self.step % self.snapshot
        return min(self.steps_per_run, self.iterations - self.step, to_snapshot)

    def _summary(self, writer, step, values):
        summary = tf.Summary(value=[tf.Summary.Value(tag='loss/' + name, simple_value=float(v))
                                    for name, v in zip(self.names, values)])
        summary.value.add(tag='learning_rate', simple_value=lr_at(self.lr, self.stepsize, step))
        writer.add_summary(summary, step)

    def _after_step(self, i, values, writer, bar):
        for name, value in zip(self.names, values):
            if not math.isfinite(value):
                last = self.snapshots.last or 'none was saved'
                raise AddaError('training diverged: {} is {} at iteration {}; stopped without '
                                'saving (last good snapshot: {})'.format(name, value, i, last))
            self.history[name].append(value)
        if i % self.display == 0:
            averages = [np.mean(self.history[name]) for name in self.names]
            logging.info(format_losses(i, self.labels, values, averages))
            self._summary(writer, i, values)
        if self.stepsize and (i + 1) % self.stepsize == 0:
            lr = lr_at(self.lr, self.stepsize, i + 1)
            logging.info('Changed learning rate to {:.0e}'.format(lr))
            bar.set_description('{} (lr: {:.0e})'.format(self.output, lr))

    def run(self, sess):
        """Train; returns the exit status (0, or 128 + signal number when interrupted)."""
        writer = tf.summary.FileWriter(self.output_dir, sess.graph)
        bar = tqdm(total=self.iterations, initial=self.step, dynamic_ncols=True, disable=None,
                   desc='{} (lr: {:.0e})'.format(self.output, lr_at(self.lr, self.stepsize,
                                                                      self.step)))
        try:
            with _Signals() as signals:
                while self.step < self.iterations:
                    n = self._chunk()
                    values = sess.run(self.graph.outputs, {self.graph.num_steps: n})
                    for j in range(n):
                        self._after_step(self.step + j, [values[k][j] for k in self.names],
                                         writer, bar)
                    self.step += n
                    bar.update(n)
                    if self.step % self.snapshot == 0 or self.step == self.iterations:
                        self.snapshots.save(sess, self.step)
                    if signals.caught:
                        if self.snapshots.last_step != self.step:
                            self.snapshots.save(sess, self.step)
                        logging.info('Stopped at iteration %d of %d; continue with --resume',
                                     self.step, self.iterations)
                        return 128 + signals.caught
        finally:
            bar.close()
            writer.close()
        return 0


def run_training(opts, build_graph, restore_initial, labels):
    """Everything a training tool does once its arguments are parsed.

    ``build_graph(seed, start_step)`` returns a TrainGraph in the default graph, built with
    ``opts['steps_per_run']`` and ``opts['shards']`` (filled in here for the device);
    ``restore_initial(sess, graph)`` loads starting weights when not resuming.
    Returns the exit status.
    """
    output_dir = os.path.join(opts['snapshot_dir'], opts['output'])
    os.makedirs(output_dir, exist_ok=True)
    add_logfile(os.path.join(output_dir, 'train.log'))
    run_device = session_config(opts['device'], opts['precision'])
    opts['steps_per_run'] = opts['steps_per_run'] or default_steps_per_run(run_device.device)
    opts['shards'] = default_shards(run_device.device)
    resume = latest_state(output_dir) if opts['resume'] else None
    seed = opts['seed']
    if opts['resume']:
        if resume is None:
            logging.warning('Nothing to resume in %s: starting from iteration 0', output_dir)
        elif seed is None:
            seed = _previous_seed(output_dir)
    start_step = resume[1] if resume else 0
    if start_step >= opts['iterations']:
        logging.info('%s already ran %d of %d iterations: nothing to do', output_dir,
                     start_step, opts['iterations'])
        return 0
    with tf.Graph().as_default():
        seed = seed_everything(seed)
        graph = build_graph(seed, start_step)
        snapshots = Snapshots(output_dir, opts['output'], graph.snapshot_vars,
                              max_to_keep=opts['keep'] or None)
        _write_config(output_dir, opts, seed, run_device, start_step)
        with create_session(run_device) as sess:
            sess.run(tf.global_variables_initializer())
            if resume:
                logging.info('Resuming from %s at iteration %d', resume[0], start_step)
                snapshots.restore_state(sess, resume[0])
            else:
                restore_initial(sess, graph)
                graph.after_restore(sess)
            graph.start(sess)
            trainer = Trainer(graph, snapshots, opts['output'], output_dir, opts['iterations'],
                              opts['display'], opts['snapshot'], opts['lr'], opts['stepsize'],
                              opts['steps_per_run'], start_step, labels)
            return trainer.run(sess)


def _previous_seed(output_dir):
    import yaml
    try:
        with open(os.path.join(output_dir, CONFIG_FILE)) as f:
            seed = (yaml.safe_load(f) or {}).get('seed')
    except (OSError, yaml.YAMLError):
        seed = None
    if seed is None:
        raise AddaError('--resume without --seed needs the seed of the run in {}, but its {} '
                        'is missing or has none; pass --seed'.format(output_dir, CONFIG_FILE))
    logging.info('Resuming with the seed of the interrupted run: %d', seed)
    return int(seed)


def _write_config(output_dir, opts, seed, run_device, start_step):
    config = {
        'command': ' '.join(sys.argv),
        'options': {k: list(v) if isinstance(v, tuple) else v for k, v in opts.items()},
        'seed': seed,
        'start_step': start_step,
        'device': run_device.device,
        'precision': run_device.precision,
        'adda': adda.__version__,
        'tensorflow': tf.__version__,
        'python': platform.python_version(),
        'host': platform.node(),
        'time': time.strftime('%Y-%m-%d %H:%M:%S %z'),
    }
    write_yaml(os.path.join(output_dir, CONFIG_FILE), config)
