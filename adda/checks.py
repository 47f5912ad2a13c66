"""Checks of a tool's arguments and input files against the model and the data.

The tools call these before they create or write anything, so a wrong layer name, weights that
do not fit, a batch larger than the data or than the machine's memory, or an output folder that
cannot be written ends in one error line and leaves the disk as it was.
"""
import os
from collections import OrderedDict

import numpy as np

from adda.errors import AddaError, human_bytes

BYTES = 4  # float32
# Per image, training keeps each layer's output for the backward pass and needs about as much
# again for its gradient and temporaries; evaluation only holds the forward pass.
TRAINING_FACTOR, EVALUATION_FACTOR = 4, 2
# Batches in flight in the input pipeline (prefetch and parallel map) besides the one in use.
PIPELINE_BATCHES = 3


class ModelShapes(object):
    """The layer output shapes (without the batch) and variable shapes (by stripped key) of a
    model, from building it once in a throwaway graph."""

    def __init__(self, model_fn):
        from adda.compat import tf
        from adda.util import collect_vars
        size, channels = model_fn.default_image_size, model_fn.num_channels
        with tf.Graph().as_default():
            images = tf.placeholder(tf.float32, [None, size, size, channels])
            _, layers = model_fn(images, scope='model')
            self.layers = OrderedDict((name, out.shape.as_list()[1:])
                                      for name, out in layers.items())
            self.variables = OrderedDict((key, var.shape.as_list())
                                         for key, var in collect_vars('model').items())
        self.input_elements = size * size * channels
        self.outputs = list(self.layers.values())[-1][-1]  # the logits' width
        self.name = model_fn.__name__

    def activation_elements(self):
        return self.input_elements + sum(int(np.prod(shape)) for shape in self.layers.values())


def check_layer(shapes, layer, option):
    """``layer`` must be one of the model's named layers."""
    if layer is not None and layer not in shapes.layers:
        raise AddaError('{} {!r}: {} has no such layer (known: {})'.format(
            option, layer, shapes.name, ', '.join(shapes.layers)))


def check_weights(path, shapes, end=None, option='--weights'):
    """The checkpoint at ``path`` holds, intact and with the model's shapes, every variable
    before the layer ``end`` (all when None)."""
    from adda.checkpoints import check_fits
    from adda.util import slice_vars
    needed = shapes.variables
    if end is not None:
        if not any(key.startswith(end) for key in needed):
            raise AddaError('--weights_end {!r}: {} has no such layer (variables: {})'.format(
                end, shapes.name, ', '.join(needed)))
        needed = slice_vars(needed, end=end, scope=shapes.name)
    try:
        check_fits(path, needed)
    except AddaError as e:
        raise AddaError('{} {}'.format(option, e))


def check_classes(shapes, splits):
    """The model has an output for every label of the splits, which share their classes."""
    from adda.data.dataset import check_same_classes
    check_same_classes(splits)
    for split in splits:
        if split.num_classes is not None and split.num_classes > shapes.outputs:
            raise AddaError('{} has {} labels but {} has {} outputs (classes named by numbers '
                            'take their number as label)'.format(
                                split.name, split.num_classes, shapes.name, shapes.outputs))


def available_memory():
    """Bytes this process may still allocate: the machine's available memory, or less under a
    cgroup limit; None when unknown."""
    candidates = []
    try:
        with open('/proc/meminfo') as f:
            for line in f:
                if line.startswith('MemAvailable:'):
                    candidates.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    for limit_file, usage_file in (('/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory.current'),
                                   ('/sys/fs/cgroup/memory/memory.limit_in_bytes',
                                    '/sys/fs/cgroup/memory/memory.usage_in_bytes')):
        try:
            with open(limit_file) as f:
                limit = f.read().strip()
            with open(usage_file) as f:
                usage = int(f.read().strip())
        except (OSError, ValueError):
            continue
        if limit.isdigit() and int(limit) < 1 << 60:
            candidates.append(max(int(limit) - usage, 0))
    return min(candidates) if candidates else None


def batch_memory(batch_size, shapes, training=True):
    """Estimated bytes one batch takes: activations (and gradients) plus the pipeline's batches."""
    factor = TRAINING_FACTOR if training else EVALUATION_FACTOR
    per_image = BYTES * (shapes.activation_elements() * factor +
                         shapes.input_elements * PIPELINE_BATCHES)
    return batch_size * per_image, per_image


def check_batch_size(batch_size, splits, shapes, training=True, option='--batch_size',
                     available=None):
    """Refuse a training batch larger than a split it draws from, and any batch whose estimated
    memory exceeds what the machine has available."""
    if training:
        for split in splits:
            if batch_size > len(split):
                raise AddaError('{} {} is larger than {} ({} images): every batch would repeat '
                                'images; use at most {}'.format(option, batch_size, split.name,
                                                                len(split), len(split)))
    images = batch_size if training else min(batch_size, max(len(s) for s in splits))
    need, per_image = batch_memory(images, shapes, training)
    available = available_memory() if available is None else available
    if available is not None and need > available:
        raise AddaError('{} {} needs about {} of memory for {}, more than the {} available on '
                        'this machine; use a smaller {} (at most about {})'.format(
                            option, batch_size, human_bytes(need), shapes.name,
                            human_bytes(available), option, max(available // per_image, 1)))


def check_output_folder(path, what='output folder'):
    """``path`` is, or can be made, a writable folder (nothing is created here)."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise AddaError('{} {} is a file'.format(what, path))
    existing = os.path.abspath(path)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise AddaError('{} {} cannot be created: {} is a file'.format(what, path, existing))
    if not os.access(existing, os.W_OK | os.X_OK):
        raise AddaError('{} {} cannot be written: no write access to {}'.format(
            what, path, existing))


def check_output_file(path, option):
    """``path`` can be written as a file: not a folder, its folder writable or creatable."""
    if path is None:
        return
    if os.path.isdir(path):
        raise AddaError('{} {} is a folder, not a file'.format(option, path))
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise AddaError('{} {} cannot be written: no write access'.format(option, path))
    check_output_folder(os.path.dirname(path) or '.', '{} {}: its folder'.format(option, path))


def check_output_name(output):
    """OUTPUT names the run (its folder and its snapshots' prefix): a name, not a path."""
    if not output or output in ('.', '..') or '/' in output or os.sep in output:
        raise AddaError('OUTPUT {!r} should be a plain name (it names the folder and the '
                        'snapshots); choose the parent folder with --snapshot_dir'.format(output))


def check_training(settings, model_fn, splits, weights=None, weights_end=None,
                   feature_layer=None, adversary_layers=None, ignore_label=None):
    """Everything a training run's arguments and input files must satisfy, checked before the
    run creates its output folder. ``settings``: the tool's (adda/options.py; its ``output``,
    ``snapshot_dir`` and ``batch_size`` are checked here); ``splits``: the training splits
    batches are drawn from."""
    check_output_name(settings.output)
    check_output_folder(os.path.join(settings.snapshot_dir, settings.output))
    shapes = ModelShapes(model_fn)
    check_classes(shapes, splits)
    check_layer(shapes, feature_layer, '--adversary_layer')
    if adversary_layers is not None and any(width < 1 for width in adversary_layers):
        raise AddaError('--adversary widths must be positive, got {}'.format(
            ' '.join(str(w) for w in adversary_layers)))
    if ignore_label is not None:
        classes = max(split.num_classes for split in splits if split.num_classes is not None)
        if not 0 <= ignore_label < classes:
            raise AddaError('--ignore_label {} is not a label of {} (labels 0..{})'.format(
                ignore_label, splits[0].name, classes - 1))
    if weights is not None:
        check_weights(weights, shapes, end=weights_end)
    elif weights_end is not None:
        raise AddaError('--weights_end {} needs --weights'.format(weights_end))
    check_batch_size(settings.batch_size, splits, shapes, training=True)
    return shapes


def check_evaluation(model_fn, weights, splits, batch_size, output=None):
    """An evaluation's weights fit the model, its batches fit in memory and its record can be
    written: checked before the (possibly long) evaluation runs."""
    check_output_file(output, '--output')
    shapes = ModelShapes(model_fn)
    check_classes(shapes, splits)
    check_weights(weights, shapes, option='WEIGHTS')
    check_batch_size(batch_size, splits, shapes, training=False)
    return shapes
