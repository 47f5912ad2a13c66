#!/usr/bin/env python
"""Freeze a snapshot's evaluation graph into a .pb for inference (e.g. Ascend's atc)."""
import logging
import os

import click

from adda.cli import DATA, OUTPUT, POSITIVE, adda_command
from adda.options import Argument, Option, Tool

INPUT_NAME = 'input_image'
OUTPUT_NAME = 'output'


def build_inference_graph(model_fn, batch_size, scope):
    """Placeholder ``input_image`` [N, size, size, channels] -> ``output`` (argmax of logits).

    The input is taken as already preprocessed (float32 in [0, 1], the model's size and
    channels), so the graph is the model and an argmax, nothing else.
    """
    from adda.compat import tf
    from adda.util import collect_vars
    size, channels = model_fn.default_image_size, model_fn.num_channels
    images = tf.placeholder(tf.float32, [batch_size, size, size, channels], name=INPUT_NAME)
    logits, _ = model_fn(images, scope=scope, is_training=False)
    predictions = tf.argmax(logits, -1, name=OUTPUT_NAME)
    return images, predictions, collect_vars(scope)


def freeze(model, weights, batch_size):
    """(frozen GraphDef, input shape) of ``model`` with ``weights``: variables become constants."""
    from adda.checkpoints import resolve_weights, restore
    from adda.compat import tf
    from adda.models import get_model_fn
    from adda.session import create_session, session_config

    model_fn = get_model_fn(model)
    weights = resolve_weights(weights)
    with tf.Graph().as_default() as graph:
        images, predictions, model_vars = build_inference_graph(model_fn, batch_size, model)
        with create_session(session_config('cpu', 'fp32')) as sess:
            logging.info('Restoring %s', weights)
            restore(sess, model_vars, weights)
            frozen = tf.graph_util.convert_variables_to_constants(
                sess, graph.as_graph_def(), [predictions.op.name])
    frozen = tf.graph_util.remove_training_nodes(frozen, protected_nodes=[INPUT_NAME, OUTPUT_NAME])
    return strip_default_attrs(frozen), images.shape.as_list()


def strip_default_attrs(graph_def):
    """``graph_def`` without attributes that hold their op's default value.

    TF 2.x writes attributes that TF 1.15 (and tools built on it, like atc) do not know, such as
    MaxPool's empty ``explicit_paddings``; left out, the graph loads under both.
    """
    from adda.compat import tf
    with tf.Graph().as_default():
        meta = tf.train.export_meta_graph(graph_def=graph_def, strip_default_attrs=True,
                                          clear_devices=True)
    return meta.graph_def


TOOL = Tool(
    'export_graph',
    Argument('model'), Argument('weights'), Argument('output', type=click.Path(dir_okay=False)),
    Option('batch_size', POSITIVE, 1, 'Images per call: the first dimension of input_image.',
           DATA, flags=('--batch_size', '-N')),
    Option('as_text', group=OUTPUT, is_flag=True,
           help='Write a text GraphDef (.pbtxt) instead.'),
)


@TOOL.command
@adda_command
def main(settings):
    """Freeze MODEL with WEIGHTS (a checkpoint prefix or a folder) into the GraphDef OUTPUT.

    Input: input_image, float32 [N, 28, 28, 1] for lenet, preprocessed (values in [0, 1]).
    Output: output, the predicted class (int64 [N]).

    Example: python tools/export_graph.py lenet snapshot/adda_mnist_usps adda_mnist_usps.pb
    """
    from adda.checks import check_output_file
    from adda.compat import tf
    from adda.errors import write_error
    from adda.util import atomic_output

    output = settings.output
    check_output_file(output, 'OUTPUT')
    graph_def, shape = freeze(settings.model, settings.weights, settings.batch_size)
    with atomic_output(output, 'the graph') as tmp:  # whole or not at all
        try:
            tf.io.write_graph(graph_def, os.path.dirname(tmp) or '.', os.path.basename(tmp),
                              as_text=settings.as_text)
        except tf.errors.OpError as e:
            raise write_error(output, e, 'the graph')
    ops = sorted(set(node.op for node in graph_def.node))
    logging.info('Wrote %s: %d nodes (%s)', output, len(graph_def.node), ', '.join(ops))
    logging.info('Input %s float32 %s, output %s', INPUT_NAME, shape, OUTPUT_NAME)
    logging.info('For Ascend 310: atc --framework=3 --model=%s --output=%s --soc_version=Ascend310 '
                 '--input_shape="%s:%s"', output, os.path.splitext(output)[0], INPUT_NAME,
                 ','.join(str(d) for d in shape))
    return 0


if __name__ == '__main__':
    main()
