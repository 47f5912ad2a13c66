#!/usr/bin/env python
"""Time source-training steps, adaptation steps and evaluation on synthetic data."""
import json
import logging
import statistics
import time

import click

from adda.cli import (POSITIVE, LossScaleType, adda_command, command, device_options, option,
                      select_gpu)

WHAT = ('source', 'adapt', 'eval')


def summarize(samples):
    return {'min': min(samples), 'median': statistics.median(samples), 'max': max(samples)}


@command()
@option('--what', type=click.Choice(WHAT), multiple=True, group='Data and model',
        help='What to time (repeat) [default: source, adapt and eval].')
@option('--batch_size', default=128, type=POSITIVE, group='Data and model',
        help='Images per training step (synthetic data; adaptation: per domain).')
@option('--eval_images', default=20000, type=POSITIVE, group='Data and model',
        help='Images the evaluation timing goes through, per repeat.')
@option('--eval_batch_size', default=1000, type=POSITIVE, group='Data and model',
        help='Images per evaluation session call.')
@option('--steps', default=200, type=POSITIVE, group='Optimisation',
        help='Training steps per timed repeat.')
@option('--repeats', default=5, type=POSITIVE, group='Optimisation',
        help='Timed repeats; min / median / max are over these.')
@option('--warmup', default=20, type=click.IntRange(min=0), group='Optimisation',
        help='Untimed steps first (graph start-up, caches).')
@option('--steps_per_run', default=None, type=POSITIVE, group='Device',
        help='Training steps per session call [default: as the training tools, 10].')
@option('--loss_scale', default=None, type=LossScaleType(), group='Device',
        help='dynamic, none or a number [default: as the training tools].')
@option('--shards', default=None, type=POSITIVE, group='Device',
        help='Slices of each batch computed as separate ops [default: as the training tools, '
             '2 on a multi-core CPU].')
@option('--json', 'json_path', type=click.Path(dir_okay=False), group='Output',
        help='Also write the results to this JSON file.')
@device_options
@adda_command
def main(what, batch_size, steps, repeats, warmup, steps_per_run, loss_scale, shards,
         eval_images, eval_batch_size, json_path, gpu, device, precision):
    """Seconds per 200 steps (the seed README's unit), steps/s and images/s, as
    min / median / max over the repeats, on the device the session config picks."""
    from adda.checks import check_output_file
    check_output_file(json_path, '--json')
    select_gpu(gpu)
    import numpy as np

    from adda.adaptation import build_adda_training
    from adda.compat import tf
    from adda.data.dataset import ImageSplit
    from adda.graphs import EvalGraph, build_source_training
    from adda.models import get_model_fn
    from adda.session import DEFAULT_STEPS_PER_RUN, DevicePlan, create_session, session_config

    steps_per_run = steps_per_run or DEFAULT_STEPS_PER_RUN
    train_device = session_config(device, precision, iterations_per_loop=steps_per_run)
    run_device = session_config(device, precision)
    plan = DevicePlan(train_device, steps_per_run, loss_scale, shards)
    plan.check_schedule(steps, steps, warmup)
    shards = plan.shards
    lenet = get_model_fn('lenet')
    rng = np.random.RandomState(0)

    def synthetic(n):
        return ImageSplit(rng.uniform(size=(n, 28, 28, 1)).astype(np.float32),
                          rng.randint(0, 10, n), 10, 'synthetic')

    def time_training(build):
        with tf.Graph().as_default():
            graph = build()
            with create_session(train_device) as sess:
                sess.run(tf.global_variables_initializer())
                graph.start(sess)

                def run(total):
                    done = 0
                    while done < total:
                        n = min(steps_per_run, total - done)
                        graph.loop.run(sess, n)
                        done += n
                run(warmup)
                samples = []
                for _ in range(repeats):
                    start = time.perf_counter()
                    run(steps)
                    samples.append(time.perf_counter() - start)
        per_200 = summarize([s * 200.0 / steps for s in samples])
        return {'seconds_per_200_steps': per_200,
                'steps_per_second': summarize([steps / s for s in samples]),
                'images_per_second': summarize([steps * batch_size / s for s in samples])}

    def time_evaluation():
        data = synthetic(eval_images)
        with tf.Graph().as_default():
            graph = EvalGraph(data, lenet, eval_batch_size)
            with create_session(run_device) as sess:
                sess.run(tf.global_variables_initializer())
                graph.confusion_matrix(sess)
                samples = []
                for _ in range(repeats):
                    start = time.perf_counter()
                    graph.confusion_matrix(sess)
                    samples.append(time.perf_counter() - start)
        return {'images_per_second': summarize([eval_images / s for s in samples]),
                'seconds_per_pass': summarize(samples)}

    source, target = synthetic(5000), synthetic(5000)
    builders = {
        'source': lambda: time_training(lambda: build_source_training(
            source, lenet, batch_size, 1e-3, 'adam', seed=0, plan=plan)),
        'adapt': lambda: time_training(lambda: build_adda_training(
            source, target, lenet, batch_size, 2e-4, 'adam', seed=0,
            plan=plan)),
        'eval': time_evaluation,
    }
    results = {'device': run_device.device, 'precision': run_device.precision,
               'tensorflow': tf.__version__, 'batch_size': batch_size, 'steps': steps,
               'repeats': repeats, 'steps_per_run': steps_per_run, 'shards': shards,
               'loss_scale': plan.loss_scale.mode, 'eval_batch_size': eval_batch_size}
    for name in what or WHAT:
        logging.info('Timing %s ...', name)
        results[name] = builders[name]()

    def triple(stats, fmt):
        return ' / '.join(fmt.format(stats[k]) for k in ('min', 'median', 'max'))
    click.echo('\n{}, TensorFlow {}, batch {}, {} steps x {} repeats, {}, shards {}'.format(
        run_device.description, tf.__version__, batch_size, steps, repeats, plan.describe(),
        shards))
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
    if json_path:
        from adda.util import write_text
        write_text(json_path, json.dumps(results, indent=2) + '\n', 'the benchmark results')
    return 0


if __name__ == '__main__':
    main()
