#!/usr/bin/env python
"""Time source-training steps, adaptation steps and evaluation on synthetic data."""
import json
import logging
import statistics
import time

import click

from adda.cli import (DATA, DEVICE, OPTIMISATION, OUTPUT, POSITIVE, LossScaleType, adda_command,
                      select_gpu)
from adda.options import DEVICE_OPTIONS, Option, Tool

WHAT = ('source', 'adapt', 'eval')


def summarize(samples):
    return {'min': min(samples), 'median': statistics.median(samples), 'max': max(samples)}


TOOL = Tool(
    'benchmark',
    Option('what', click.Choice(WHAT), help='What to time (repeat) [default: source, adapt and '
           'eval].', group=DATA, multiple=True),
    Option('batch_size', POSITIVE, 128, 'Images per training step (synthetic data; adaptation: '
           'per domain).', DATA),
    Option('eval_images', POSITIVE, 20000, 'Images the evaluation timing goes through, per '
           'repeat.', DATA),
    Option('eval_batch_size', POSITIVE, 1000, 'Images per evaluation session call.', DATA),
    Option('steps', POSITIVE, 200, 'Training steps per timed repeat.', OPTIMISATION),
    Option('repeats', POSITIVE, 5, 'Timed repeats; min / median / max are over these.',
           OPTIMISATION),
    Option('warmup', click.IntRange(min=0), 20, 'Untimed steps first (graph start-up, caches).',
           OPTIMISATION),
    Option('steps_per_run', POSITIVE, None, 'Training steps per session call [default: as the '
           'training tools, 10].', DEVICE),
    Option('loss_scale', LossScaleType(), None, 'dynamic, none or a number [default: as the '
           'training tools].', DEVICE),
    Option('shards', POSITIVE, None, 'Slices of each batch computed as separate ops [default: '
           'as the training tools, 2 on a multi-core CPU].', DEVICE),
    Option('json_path', click.Path(dir_okay=False), flags=('--json',), group=OUTPUT,
           help='Also write the results to this JSON file.'),
    DEVICE_OPTIONS,
)


@TOOL.command
@adda_command
def main(settings):
    """Seconds per 200 steps (the seed README's unit), steps/s and images/s, as
    min / median / max over the repeats, on the device the session config picks."""
    from adda.checks import check_output_file
    check_output_file(settings.json_path, '--json')
    select_gpu(settings.gpu)
    import numpy as np

    from adda.adaptation import build_adda_training
    from adda.compat import tf
    from adda.graphs import build_source_training
    from adda.models import get_model_fn
    from adda.session import DEFAULT_STEPS_PER_RUN, DevicePlan, session_config
    from adda.tools import train, train_adda

    steps_per_run = settings.steps_per_run or DEFAULT_STEPS_PER_RUN
    train_device = session_config(settings.device, settings.precision,
                                  iterations_per_loop=steps_per_run)
    run_device = session_config(settings.device, settings.precision)
    plan = DevicePlan(train_device, steps_per_run, settings.loss_scale, settings.shards)
    plan.check_schedule(settings.steps, settings.steps, settings.warmup)
    lenet = get_model_fn('lenet')
    rng = np.random.RandomState(0)
    source, target = synthetic(5000, rng), synthetic(5000, rng)
    source_settings = train.Settings(batch_size=settings.batch_size, lr=1e-3, solver='adam')
    adapt_settings = train_adda.Settings(batch_size=settings.batch_size, lr=2e-4, solver='adam')
    builders = {
        'source': lambda: time_training(settings, plan, steps_per_run, lambda: (
            build_source_training(source, lenet, source_settings, seed=0, plan=plan))),
        'adapt': lambda: time_training(settings, plan, steps_per_run, lambda: (
            build_adda_training(source, target, lenet, adapt_settings, seed=0, plan=plan))),
        'eval': lambda: time_evaluation(settings, run_device, lenet,
                                        synthetic(settings.eval_images, rng)),
    }
    results = {'device': run_device.device, 'precision': run_device.precision,
               'tensorflow': tf.__version__, 'batch_size': settings.batch_size,
               'steps': settings.steps, 'repeats': settings.repeats,
               'steps_per_run': steps_per_run, 'shards': plan.shards,
               'loss_scale': plan.loss_scale.mode, 'eval_batch_size': settings.eval_batch_size}
    for name in settings.what or WHAT:
        logging.info('Timing %s ...', name)
        results[name] = builders[name]()
    print_results(results, run_device, plan)
    if settings.json_path:
        from adda.util import write_text
        write_text(settings.json_path, json.dumps(results, indent=2) + '\n',
                   'the benchmark results')
    return 0


def synthetic(n, rng):
    """``n`` random images and labels (no dataset needed)."""
    import numpy as np

    from adda.data.dataset import ImageSplit
    return ImageSplit(rng.uniform(size=(n, 28, 28, 1)).astype(np.float32),
                      rng.randint(0, 10, n), 10, 'synthetic')


def time_training(settings, plan, steps_per_run, build):
    """Seconds per 200 steps, steps/s and images/s of the graph ``build()`` makes, after
    ``warmup`` untimed steps, over ``repeats`` of ``steps`` steps."""
    from adda.compat import tf
    from adda.session import create_session
    with tf.Graph().as_default():
        graph = build()
        with create_session(plan.run_device) as sess:
            sess.run(tf.global_variables_initializer())
            graph.start(sess)

            def run(total):
                done = 0
                while done < total:
                    n = min(steps_per_run, total - done)
                    graph.loop.run(sess, n)
                    done += n
            run(settings.warmup)
            samples = []
            for _ in range(settings.repeats):
                start = time.perf_counter()
                run(settings.steps)
                samples.append(time.perf_counter() - start)
    steps = settings.steps
    return {'seconds_per_200_steps': summarize([s * 200.0 / steps for s in samples]),
            'steps_per_second': summarize([steps / s for s in samples]),
            'images_per_second': summarize([steps * settings.batch_size / s for s in samples])}


def time_evaluation(settings, run_device, model_fn, data):
    """Images/s and seconds per pass of evaluating the images of ``data``."""
    from adda.compat import tf
    from adda.graphs import EvalGraph
    from adda.session import create_session
    with tf.Graph().as_default():
        graph = EvalGraph(data, model_fn, settings.eval_batch_size)
        with create_session(run_device) as sess:
            sess.run(tf.global_variables_initializer())
            graph.confusion_matrix(sess)
            samples = []
            for _ in range(settings.repeats):
                start = time.perf_counter()
                graph.confusion_matrix(sess)
                samples.append(time.perf_counter() - start)
    return {'images_per_second': summarize([settings.eval_images / s for s in samples]),
            'seconds_per_pass': summarize(samples)}


def print_results(results, run_device, plan):
    def triple(stats, fmt):
        return ' / '.join(fmt.format(stats[k]) for k in ('min', 'median', 'max'))
    click.echo('\n{}, TensorFlow {}, batch {}, {} steps x {} repeats, {}, shards {}'.format(
        run_device.description, results['tensorflow'], results['batch_size'], results['steps'],
        results['repeats'], plan.describe(), results['shards']))
    click.echo('{:<10} {:>26} {:>26} {:>30}'.format('', 's / 200 steps (min/med/max)',
                                                     'steps/s', 'images/s'))
    for name in ('source', 'adapt'):
        if name in results:
            r = results[name]
            click.echo('{:<10} {:>26} {:>26} {:>30}'.format(
                name, triple(r['seconds_per_200_steps'], '{:.2f}'),
                triple(r['steps_per_second'], '{:.1f}'), triple(r['images_per_second'], '{:.0f}')))
    if 'eval' in results:
        click.echo('{:<10} {:>26} {:>26} {:>30}'.format(
            'eval', '-', '-', triple(results['eval']['images_per_second'], '{:.0f}')))


if __name__ == '__main__':
    main()
