"""The graphs the tools run: source training and evaluation, and what the adaptation graph
(adda/adaptation.py) shares with them.

A training graph is a step function handed to the DevicePlan's loop (adda/loops.py): on the
CPU and GPU up to ``--steps_per_run`` steps per session call in a tf.while_loop, each step's
losses returned; on the NPU a single static step that the device repeats. The plan also says
how the loss is scaled (mixed precision) and whether every shape must be static.
"""
from collections import OrderedDict

import numpy as np

from adda.compat import tf
from adda.data.augment import shear, stroke, zoom_shift
from adda.data.pipeline import each_batch, evaluation_batches, training_batches
from adda.errors import AddaError
from adda.layers import weight_decay
from adda.losses import masked_xent, softmax_xent
from adda.models import preprocessing
from adda.session import DevicePlan
from adda.util import collect_vars

SOURCE_STREAM, TARGET_STREAM = 0, 1


class TrainGraph(object):
    """What a training loop needs from a graph.

    loop: runs the steps (``loop.run(sess, n)``); outputs: OrderedDict name -> fetchable
    values (losses first, then the loss scaler's); loss_names: which outputs are losses;
    global_step: steps done; inputs: the Batches to initialise; snapshot_vars: what a snapshot
    saves, by stripped name; live_vars: the variables a snapshot's values go back into on
    resume (the snapshot's own unless a term saves something else); status_reset: the loss
    scaler's op that clears the device's float-status register before training (None where
    there is none).
    """

    def __init__(self, loop, loss_names, global_step, inputs, snapshot_vars, status_reset=None,
                 live_vars=None):
        self.loop = loop
        self.outputs = loop.outputs
        self.loss_names = loss_names
        self.global_step = global_step
        self.inputs = inputs
        self.snapshot_vars = snapshot_vars
        self.live_vars = live_vars or snapshot_vars
        self.status_reset = status_reset

    def start(self, sess):
        """Start the input pipelines and the loop; call once the variables hold their starting
        values."""
        for batches in self.inputs:
            batches.initialize(sess)
        self._begin(sess)

    def _begin(self, sess):
        """Clear what earlier device computations left in the float status, start the loop."""
        if self.status_reset is not None:
            sess.run(self.status_reset)
        self.loop.start(sess)

    def after_restore(self, sess):
        """Called once the starting weights, or a snapshot's, are loaded (not on resume from
        a training state)."""


def make_optimizer(solver, lr, adam_beta1=0.9):
    """'sgd' -> Momentum 0.99 (the original's default); anything else -> Adam."""
    if solver == 'sgd':
        return tf.train.MomentumOptimizer(lr, 0.99)
    return tf.train.AdamOptimizer(lr, beta1=adam_beta1)


def scheduled_lr(base_lr, stepsize, step):
    """``base_lr`` times 0.1 for every ``stepsize`` steps done (constant without stepsize)."""
    if not stepsize:
        return tf.constant(base_lr, tf.float32)
    drops = tf.cast(step // stepsize, tf.float32)
    return tf.constant(base_lr, tf.float32) * tf.pow(0.1, drops)


def lr_at(base_lr, stepsize, step):
    """The same schedule in Python, for logs and summaries."""
    return base_lr * 0.1 ** (step // stepsize) if stepsize else base_lr


def create_model_variables(model_fn, scope):
    """Build ``model_fn`` once outside any loop so its variables exist before the loop runs."""
    size, channels = model_fn.default_image_size, model_fn.num_channels
    model_fn(tf.placeholder(tf.float32, [None, size, size, channels]), scope=scope)
    return collect_vars(scope)


def model_output(model_fn, images, scope, layer=None, shards=1):
    """The output of ``layer`` (default: the logits) of ``model_fn`` for ``images``, flattened
    to (batch, features).

    With ``shards`` > 1 the batch is computed as that many equal slices, independent ops that
    the CPU's cores take one each instead of sharing many small ops; the values are unchanged.
    """
    return model_outputs(model_fn, images, scope, [layer], shards)[0]


def model_outputs(model_fn, images, scope, layers, shards=1):
    """``model_output`` for several layers (None: the logits) of one forward pass."""
    batch = images.shape.as_list()[0]  # None for a pipeline's possibly short last batch
    if shards > 1 and batch and batch % shards == 0:
        parts = [model_outputs(model_fn, part, scope, layers) for part in tf.split(images, shards)]
        return [tf.concat(list(outs), 0) for outs in zip(*parts)]
    logits, named = model_fn(images, scope=scope)
    outputs = []
    for layer in layers:
        if layer and layer not in named:
            raise AddaError('unknown layer {!r} of {} (known: {})'.format(
                layer, model_fn.__name__, ', '.join(named)))
        out = named[layer] if layer else logits
        outputs.append(tf.reshape(out, [-1, int(np.prod(out.shape.as_list()[1:]))]))
    return outputs


def halves(tensor):
    """The first and the second half of a batch, by slicing (StridedSlice, which the 910
    documents, where tf.split would make a Split op) when the batch size is known."""
    size = tensor.shape.as_list()[0]
    if size is None:
        return tf.split(tensor, 2)
    return tensor[:size // 2], tensor[size // 2:]


def build_source_training(split, model_fn, settings, seed, start_step=0, plan=None):
    """Supervised training of ``model_fn`` on ``split`` with train.py's ``settings``:
    cross-entropy (without the examples of ``ignore_label``) plus L2 weight decay, by
    ``solver`` at ``lr`` (times 0.1 every ``stepsize`` steps) on batches of ``batch_size``,
    the images augmented as the ``augment*`` settings say (_source_augmentation)."""
    plan = plan or DevicePlan.for_tests()
    scope = settings.model or model_fn.__name__
    batches = training_batches(split, settings.batch_size, seed,
                               lambda x: preprocessing(x, model_fn), start_step=start_step,
                               stream=SOURCE_STREAM,
                               augment=_source_augmentation(settings, seed))
    global_step = tf.train.get_or_create_global_step()
    model_vars = create_model_variables(model_fn, scope)
    scaler = plan.loss_scaler()
    var_list = list(model_vars.values())

    def step(step_index):
        images, labels = batches.get_next()
        logits = model_output(model_fn, images, scope, shards=plan.shards)
        if settings.ignore_label is not None:
            xent = masked_xent(labels, logits, settings.ignore_label)
        else:
            xent = softmax_xent(labels, logits)
        loss = xent + weight_decay(var_list, model_fn.weight_decay)
        optimizer = make_optimizer(settings.solver, scheduled_lr(settings.lr, settings.stepsize,
                                                                 step_index))
        update = scaler.apply([(optimizer, scaler.gradients(loss, var_list))])
        return step_outputs({'loss': loss}, update, scaler)

    loop = plan.loop()
    loop.build(step, ['loss'] + scaler.output_names, global_step)
    return TrainGraph(loop, ['loss'], global_step, [batches], model_vars, scaler.reset_status())


def _source_augmentation(settings, seed):
    """The training images' augmentation (adda/data/augment.py), a function of (images, step):
    with ``augment`` > 0 zoomed and shifted (the zoom factor drawn from ``augment_zoom`` (low,
    high) when given), with ``augment_shear`` > 0 sheared, with ``augment_stroke`` > 0 their
    strokes thickened or thinned; None when all are off."""
    if not (settings.augment or settings.augment_stroke or settings.augment_zoom or
            settings.augment_shear):
        return None
    return lambda x, step: stroke(shear(zoom_shift(
        x, settings.augment, seed, step, zoom=settings.augment_zoom), settings.augment_shear,
        seed, step), settings.augment_stroke, seed, step)


def step_outputs(losses, update, scaler):
    """(outputs, update) of a step: the losses, then the scaler's state after the update."""
    outputs = OrderedDict(losses)
    with tf.control_dependencies([update]):
        outputs.update(scaler.outputs())
    return outputs, update


class EvalGraph(object):
    """Predictions and labels of ``split``'s images, batch by batch, in order.

    Every batch has ``batch_size`` images (static shapes; the last one is padded), and the
    padding is left out of the counts.
    """

    def __init__(self, split, model_fn, batch_size, scope=None):
        scope = scope or model_fn.__name__
        self.split = split
        self.batches = evaluation_batches(split, batch_size, lambda x: preprocessing(x, model_fn))
        images, self.labels, self.valid = self.batches.get_next()
        logits, _ = model_fn(images, scope=scope, is_training=False)
        self.predictions = tf.argmax(logits, -1)
        self.model_vars = collect_vars(scope)

    def confusion_matrix(self, sess, progress=None):
        """num_classes x num_classes counts: row = true class, column = predicted class."""
        n = self.split.num_classes
        matrix = np.zeros((n, n), np.int64)
        for predictions, labels, valid in each_batch(sess, self.batches, [
                self.predictions, self.labels, self.valid]):
            predictions, labels = predictions[valid], labels[valid]
            matrix += np.bincount(labels * n + np.clip(predictions, 0, n - 1),
                                  minlength=n * n).reshape(n, n)
            if progress is not None:
                progress.update(len(labels))
        return matrix
