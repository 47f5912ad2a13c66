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
from adda.checkpoints import Snapshots
from adda.compat import tf
from adda.errors import AddaError
from adda.graphs import lr_at
from adda.loss_scale import COLLAPSE_STREAK
from adda.session import DEFAULT_STEPS_PER_RUN, DevicePlan, create_session, session_config
from adda.records import DamagedRecord, write_record
from adda.rundir import CONFIG_FILE, prepare_run_dir, read_run_config

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
    """Runs a TrainGraph from ``start_step`` to ``iterations``.

    The graph's loop says which steps the host sees: every step (CPU, GPU) or the last of each
    device-side loop (NPU). Logs, summaries and the NaN guard act on what it sees; a record
    that stands for several steps is logged when they include a multiple of ``display``.
    Under loss scaling a skipped step (non-finite gradients) is not a failure, but a run whose
    steps keep overflowing is.
    """

    def __init__(self, graph, snapshots, output, output_dir, iterations, display, snapshot,
                 lr, stepsize, start_step, labels):
        self.graph, self.snapshots = graph, snapshots
        self.output, self.output_dir = output, output_dir
        self.iterations, self.display, self.snapshot = iterations, display, snapshot
        self.lr, self.stepsize = lr, stepsize
        self.step = start_step
        self.names = list(graph.loss_names)
        self.scaled = 'loss_scale' in graph.outputs
        self.labels = labels
        self.history = {name: deque(maxlen=10) for name in self.names}

    def _chunk(self):
        """Steps in the next session call: K on the NPU, else at most K, ending on snapshot
        steps and the last iteration."""
        loop = self.graph.loop
        if loop.whole_calls:
            return loop.steps_per_run
        to_snapshot = self.snapshot - self.step % self.snapshot
        return min(loop.steps_per_run, self.iterations - self.step, to_snapshot)

    def _summary(self, writer, step, values):
        summary = tf.Summary(value=[tf.Summary.Value(tag='loss/' + name,
                                                     simple_value=float(values[name]))
                                    for name in self.names])
        summary.value.add(tag='learning_rate', simple_value=lr_at(self.lr, self.stepsize, step))
        if self.scaled:
            for name in ('loss_scale', 'skipped_steps'):
                summary.value.add(tag=name, simple_value=float(values[name]))
        writer.add_summary(summary, step)

    def _check(self, i, values):
        last = self.snapshots.last or 'none was saved'
        if self.scaled:
            if values['skipped_streak'] >= COLLAPSE_STREAK:
                raise AddaError(
                    'loss scaling collapsed: the last {:d} steps overflowed (loss scale {:g}) '
                    'at iteration {}; stopped without saving (last good snapshot: {})'.format(
                        int(values['skipped_streak']), values['loss_scale'], i, last))
            return  # a non-finite loss here belongs to a skipped step
        for name in self.names:
            if not math.isfinite(values[name]):
                raise AddaError('training diverged: {} is {} at iteration {}; stopped without '
                                'saving (last good snapshot: {})'.format(name, values[name], i,
                                                                          last))

    def _record(self, i, span, values, writer):
        """Values of step ``i``, standing for steps i - span + 1 .. i."""
        self._check(i, values)
        for name in self.names:
            if math.isfinite(values[name]):
                self.history[name].append(values[name])
        if i // self.display != (i - span) // self.display:
            losses = [values[name] for name in self.names]
            averages = [np.mean(self.history[name]) if self.history[name] else float('nan')
                        for name in self.names]
            line = format_losses(i, self.labels, losses, averages)
            if self.scaled:
                line += '    loss scale: {:g}    skipped steps: {:d}'.format(
                    values['loss_scale'], int(values['skipped_steps']))
            logging.info(line)
            self._summary(writer, i, values)

    def _lr_changes(self, first, n, bar):
        for done in range(first + 1, first + n + 1):
            if self.stepsize and done % self.stepsize == 0:
                lr = lr_at(self.lr, self.stepsize, done)
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
                    for offset, span, values in self.graph.loop.run(sess, n):
                        self._record(self.step + offset, span, values, writer)
                    self._lr_changes(self.step, n, bar)
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


def run_training(settings, build_graph, restore_initial, labels):
    """Everything a training tool does once its arguments are parsed into ``settings`` (the
    tool's, adda/options.py).

    ``build_graph(seed, start_step, plan)`` returns a TrainGraph in the default graph, built
    for the DevicePlan ``plan`` (steps per call, loss scaling, shards; decided here);
    ``restore_initial(sess, graph)`` loads starting weights when not resuming.
    Returns the exit status.
    """
    output_dir = os.path.join(settings.snapshot_dir, settings.output)
    if settings.resume and settings.overwrite:
        raise AddaError('--resume continues the run in {} and --overwrite replaces it: choose '
                        'one'.format(output_dir))
    steps_per_run = settings.steps_per_run or DEFAULT_STEPS_PER_RUN
    run_device = session_config(settings.device, settings.precision,
                                iterations_per_loop=steps_per_run)
    plan = DevicePlan(run_device, steps_per_run, settings.loss_scale)
    plan.check_schedule(settings.iterations, settings.snapshot)
    resume, lock = prepare_run_dir(output_dir, settings)  # lock, state to resume, train.log
    try:
        return _train(settings, build_graph, restore_initial, labels, output_dir, run_device,
                      plan, resume)
    finally:
        lock.release()


def _train(settings, build_graph, restore_initial, labels, output_dir, run_device, plan,
           resume):
    """run_training once the run folder is locked and the state to resume chosen."""
    seed = settings.seed
    if settings.resume:
        if resume is None:
            logging.info('Starting a new run in %s (nothing to resume there yet)', output_dir)
        elif seed is None:
            seed = _previous_seed(output_dir)
    start_step = resume[1] if resume else 0
    plan.check_schedule(settings.iterations, settings.snapshot, start_step)
    if start_step >= settings.iterations:
        logging.info('%s already ran %d of %d iterations: nothing to do', output_dir,
                     start_step, settings.iterations)
        return 0
    with tf.Graph().as_default():
        seed = seed_everything(seed)
        graph = build_graph(seed, start_step, plan)
        snapshots = Snapshots(output_dir, settings.output, graph.snapshot_vars,
                              max_to_keep=settings.keep or None)
        _write_config(output_dir, settings, seed, run_device, start_step, plan)
        logging.info('Training with %s', plan.describe())
        if plan.npu is not None:
            logging.info('npu_bridge: %s', plan.npu.describe())
        with create_session(run_device) as sess:
            sess.run(tf.global_variables_initializer())
            if resume:
                logging.info('Resuming from %s at iteration %d', resume[0], start_step)
                snapshots.restore_state(sess, resume, lambda: restore_initial(sess, graph), graph)
            else:
                restore_initial(sess, graph)
                graph.after_restore(sess)
            graph.start(sess)
            trainer = Trainer(graph, snapshots, settings.output, output_dir, settings.iterations,
                              settings.display, settings.snapshot, settings.lr,
                              settings.stepsize, start_step, labels)
            return trainer.run(sess)


def _previous_seed(output_dir):
    try:
        seed = (read_run_config(output_dir) or {}).get('seed')
    except DamagedRecord:
        seed = None
    if seed is None:
        raise AddaError('--resume without --seed needs the seed of the run in {}, but its {} '
                        'is missing or has none; pass --seed'.format(output_dir, CONFIG_FILE))
    logging.info('Resuming with the seed of the interrupted run: %d', seed)
    return int(seed)


def recorded_options(settings, plan):
    """config.yaml's ``options``: the settings as the tool records them (adda/options.py), with
    what the device plan decided (steps per call, shards, loss scaling)."""
    loss_scale = plan.loss_scale
    return settings.record(steps_per_run=plan.steps_per_run, shards=plan.shards,
                           loss_scale=loss_scale.mode if loss_scale.mode != 'fixed' else
                           loss_scale.value)


def _write_config(output_dir, settings, seed, run_device, start_step, plan):
    options = recorded_options(settings, plan)
    config = {
        'command': ' '.join(sys.argv),
        'options': dict(options),
        'seed': seed,
        'start_step': start_step,
        'device': run_device.device,
        'precision': run_device.precision,
        'npu_bridge': plan.npu_form,  # the adapter's form on the NPU (v1, mid, v2), else None
        'adda': adda.__version__,
        'tensorflow': tf.__version__,
        'python': platform.python_version(),
        'host': platform.node(),
        'time': time.strftime('%Y-%m-%d %H:%M:%S %z'),
    }
    from adda.data.own import run_classes
    classes = run_classes(options)
    if classes:  # datasets of one's own only: built-in sets' runs record what they did
        config['classes'] = classes
    write_record(os.path.join(output_dir, CONFIG_FILE), config)
