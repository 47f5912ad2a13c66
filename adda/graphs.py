"""The graphs the tools run: source training, adversarial adaptation and evaluation.

A training graph runs ``num_steps`` optimisation steps per session call inside a tf.while_loop
(``--steps_per_run``) and returns every step's losses, so logging, NaN checks and snapshots see
each step as if it had been run alone.
"""
from collections import OrderedDict

import numpy as np

from adda.adversary import adversarial_discriminator
from adda.compat import tf
from adda.data.pipeline import each_batch, evaluation_batches, training_batches
from adda.errors import AddaError
from adda.layers import weight_decay
from adda.models import preprocessing
from adda.recipe import (FAITHFUL, MovingAverage, adversary_loss, domain_labels, infomax,
                         r1_penalty, source_pull)
from adda.util import collect_vars

SOURCE_STREAM, TARGET_STREAM = 0, 1


class TrainGraph(object):
    """What a training loop needs from a graph.

    outputs: OrderedDict name -> [num_steps] per-step values of the last session call;
    num_steps: scalar placeholder (defaults to steps_per_run); global_step: steps done;
    inputs: the Batches to initialise; snapshot_vars: what a snapshot saves, by stripped name.
    """

    def __init__(self, outputs, num_steps, global_step, inputs, snapshot_vars):
        self.outputs = outputs
        self.num_steps = num_steps
        self.global_step = global_step
        self.inputs = inputs
        self.snapshot_vars = snapshot_vars

    def start(self, sess):
        """Start the input pipelines; call once the variables hold their starting values."""
        for batches in self.inputs:
            batches.initialize(sess)

    def after_restore(self, sess):
        """Called once the starting weights are loaded (not on resume)."""


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


def softmax_xent(labels, logits):
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=labels, logits=logits))


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


def step_loop(step_fn, names, steps_per_run, global_step):
    """Run ``step_fn(step) -> (outputs, update_op)`` ``num_steps`` times in the graph.

    Returns (OrderedDict name -> stacked per-step outputs, num_steps placeholder). Fetching
    the outputs runs the steps and advances ``global_step``.
    """
    num_steps = tf.placeholder_with_default(tf.constant(steps_per_run, tf.int32), [],
                                            name='num_steps')
    start = global_step.read_value()

    def body(i, arrays):
        outputs, update = step_fn(start + tf.cast(i, tf.int64))
        with tf.control_dependencies([update]):
            return i + 1, [a.write(i, outputs[name]) for a, name in zip(arrays, names)]

    arrays = [tf.TensorArray(tf.float32, size=num_steps) for _ in names]
    _, arrays = tf.while_loop(lambda i, _: i < num_steps, body, [tf.constant(0), arrays],
                              parallel_iterations=1, name='steps')
    stacked = [a.stack() for a in arrays]
    with tf.control_dependencies(stacked):
        advance = global_step.assign_add(tf.cast(num_steps, tf.int64))
    with tf.control_dependencies([advance]):
        outputs = OrderedDict((name, tf.identity(s, name=name)) for name, s in zip(names, stacked))
    return outputs, num_steps


def build_source_training(split, model_fn, batch_size, lr, solver, seed, stepsize=None,
                          ignore_label=None, start_step=0, steps_per_run=1, scope=None,
                          shards=1):
    """Supervised training of ``model_fn`` on ``split``: cross-entropy plus L2 weight decay."""
    scope = scope or model_fn.__name__
    batches = training_batches(split, batch_size, seed, lambda x: preprocessing(x, model_fn),
                               start_step=start_step, stream=SOURCE_STREAM)
    global_step = tf.train.get_or_create_global_step()
    model_vars = create_model_variables(model_fn, scope)

    def step(step_index):
        images, labels = batches.get_next()
        logits = model_output(model_fn, images, scope, shards=shards)
        if ignore_label is not None:
            keep = tf.not_equal(labels, ignore_label)
            labels, logits = tf.boolean_mask(labels, keep), tf.boolean_mask(logits, keep)
        loss = softmax_xent(labels, logits) + weight_decay(model_vars.values(),
                                                           model_fn.weight_decay)
        optimizer = make_optimizer(solver, scheduled_lr(lr, stepsize, step_index))
        return {'loss': loss}, optimizer.minimize(loss, var_list=list(model_vars.values()))

    outputs, num_steps = step_loop(step, ['loss'], steps_per_run, global_step)
    return TrainGraph(outputs, num_steps, global_step, [batches], model_vars)


class _Features(object):
    """The shape of a split of per-image network outputs, whose values are fed when training
    starts (AddaGraph.start); ``images`` is a zero view that takes no memory."""

    def __init__(self, split, width):
        self.images = np.broadcast_to(np.float32(0), (len(split), width))
        self.labels = split.labels

    def __len__(self):
        return len(self.labels)


class AddaGraph(TrainGraph):
    """The adaptation graph. The source network is frozen, so its outputs for the source
    images are computed once, in order, when training starts (and again on resume), instead of
    in every step: the same values without the source network's pass in each step.

    source_vars: the source network's variables; source_eval, source_features: the pipeline
    over the source images and the source network's output for its batches.
    """

    def __init__(self, outputs, num_steps, global_step, inputs, snapshot_vars, source_vars,
                 source_eval, source_features, source_labels, average=None):
        super(AddaGraph, self).__init__(outputs, num_steps, global_step, inputs, snapshot_vars)
        self.source_vars = source_vars
        self.source_eval = source_eval
        self.source_features = source_features
        self.source_labels = source_labels
        self.average = average

    def after_restore(self, sess):
        if self.average is not None:
            self.average.reset(sess)

    def start(self, sess):
        features = np.concatenate(list(each_batch(sess, self.source_eval, self.source_features)))
        self.inputs[0].initialize(sess, (features, self.source_labels))
        self.inputs[1].initialize(sess)


def build_adda_training(source_split, target_split, model_fn, batch_size, lr, solver, seed,
                        adversary_layers=(500, 500), adversary_leaky=True, stepsize=None,
                        start_step=0, steps_per_run=1, shards=1, feature_layer=None,
                        options=FAITHFUL):
    """Adversarial adaptation: a frozen source net, a target net and a discriminator.

    The discriminator sees the logits of both nets (source label 0, target 1), or the output of
    ``feature_layer`` (e.g. 'fc3', the encoder's output in the paper's terms; then the layers
    after it keep the source weights). The mapping loss is the GAN loss with flipped labels and
    updates only the target net; the adversary loss updates only the discriminator. Both
    gradients come from the same forward pass and are applied together, as the original's
    single session call did. ``options`` (adda.recipe.AdaptationOptions) adds the opt-in
    stabilisers; the defaults build the original step.
    """
    def preprocess(x):
        return preprocessing(x, model_fn)
    source_eval = evaluation_batches(source_split, 1000, preprocess)
    source_features = model_output(model_fn, source_eval.get_next()[0], 'source', feature_layer)
    width = int(source_features.shape[-1])
    # each step draws one batch per adversary update
    batches_per_step = max(1, options.adversary_steps)
    source_batches = training_batches(_Features(source_split, width),
                                      batch_size, seed, start_step=start_step * batches_per_step,
                                      stream=SOURCE_STREAM)
    target_batches = training_batches(target_split, batch_size, seed, preprocess,
                                      start_step=start_step * batches_per_step,
                                      stream=TARGET_STREAM)
    global_step = tf.train.get_or_create_global_step()
    source_vars = collect_vars('source')
    target_vars = create_model_variables(model_fn, 'target')
    adversarial_discriminator(tf.placeholder(tf.float32, [None, width]), adversary_layers,
                              leaky=adversary_leaky)
    adversary_vars = collect_vars('adversary')
    adversary_list = list(adversary_vars.values())
    average = MovingAverage(target_vars, options.ema) if options.ema else None
    beta1 = 0.5

    def discriminator(features):
        return adversarial_discriminator(features, adversary_layers, leaky=adversary_leaky)

    def forward():
        """(source features, target features, target logits, domains, discriminator logits)."""
        source_ft, _ = source_batches.get_next()
        target_images, _ = target_batches.get_next()
        if options.target_infomax:
            target_ft, target_logits = model_outputs(model_fn, target_images, 'target',
                                                     [feature_layer, None], shards)
        else:
            target_ft = model_output(model_fn, target_images, 'target', feature_layer, shards)
            target_logits = None
        if source_ft.shape[0].value and target_ft.shape[0].value:
            domain = domain_labels(source_ft.shape[0].value, target_ft.shape[0].value)
        else:
            domain = tf.concat([tf.zeros([tf.shape(source_ft)[0]], tf.int32),
                                tf.ones([tf.shape(target_ft)[0]], tf.int32)], 0)
        logits = discriminator(tf.concat([source_ft, target_ft], 0))
        return source_ft, target_ft, target_logits, domain, logits

    def adversary_objective(source_ft, domain, logits):
        if options.label_smoothing:
            loss = adversary_loss(logits, domain, options.label_smoothing)
        else:
            loss = softmax_xent(domain, logits)
        objective = loss
        if options.gradient_penalty:
            objective += options.gradient_penalty * r1_penalty(discriminator, source_ft)
        return loss, objective

    def adversary_only_update(optimizer):
        """One extra discriminator update on fresh batches (--adversary_steps > 1)."""
        source_ft, _, _, domain, logits = forward()
        _, objective = adversary_objective(source_ft, domain, logits)
        return optimizer.apply_gradients(zip(tf.gradients(objective, adversary_list),
                                             adversary_list))

    def step(step_index):
        rate = scheduled_lr(lr, stepsize, step_index)
        adversary_rate = rate if options.adversary_lr is None else scheduled_lr(
            options.adversary_lr, stepsize, step_index)
        # Two optimizer instances: the original shared one Adam, whose bias-correction powers
        # were then advanced twice per step by two racing updates.
        target_optimizer = make_optimizer(solver, rate, beta1)
        adversary_optimizer = make_optimizer(solver, adversary_rate, beta1)
        before = []
        for _ in range(batches_per_step - 1):
            with tf.control_dependencies(before):
                before = [adversary_only_update(adversary_optimizer)]
        with tf.control_dependencies(before):
            source_ft, target_ft, target_logits, domain, logits = forward()
        mapping_loss = softmax_xent(1 - domain, logits)
        adversary_loss_value, adversary_total = adversary_objective(source_ft, domain, logits)
        # the target variables the features depend on (all of them for the logits)
        target_list = [v for v, g in zip(target_vars.values(),
                                         tf.gradients(mapping_loss, list(target_vars.values())))
                       if g is not None]
        mapping_total = mapping_loss
        if options.source_pull:
            adapted = OrderedDict((k, v) for k, v in target_vars.items() if v in target_list)
            mapping_total += options.source_pull * source_pull(adapted, source_vars)
        if options.target_infomax:
            mapping_total += options.target_infomax * infomax(target_logits)
        mapping_grads = tf.gradients(mapping_total, target_list)
        adversary_grads = tf.gradients(adversary_total, adversary_list)
        with tf.control_dependencies(list(mapping_grads) + adversary_grads):
            update = tf.group(
                target_optimizer.apply_gradients(zip(mapping_grads, target_list)),
                adversary_optimizer.apply_gradients(zip(adversary_grads, adversary_list)))
        if average is not None:
            with tf.control_dependencies([update]):
                update = average.update()
        return {'mapping_loss': mapping_loss, 'adversary_loss': adversary_loss_value}, update

    outputs, num_steps = step_loop(step, ['mapping_loss', 'adversary_loss'], steps_per_run,
                                   global_step)
    snapshot_vars = average.shadows if average is not None else target_vars
    return AddaGraph(outputs, num_steps, global_step, [source_batches, target_batches],
                     snapshot_vars, source_vars, source_eval, source_features,
                     source_split.labels, average=average)


class EvalGraph(object):
    """Predictions and labels of ``split``'s images, batch by batch, in order."""

    def __init__(self, split, model_fn, batch_size, scope=None):
        scope = scope or model_fn.__name__
        self.split = split
        self.batches = evaluation_batches(split, batch_size, lambda x: preprocessing(x, model_fn))
        images, self.labels = self.batches.get_next()
        logits, _ = model_fn(images, scope=scope, is_training=False)
        self.predictions = tf.argmax(logits, -1)
        self.model_vars = collect_vars(scope)

    def confusion_matrix(self, sess, progress=None):
        """num_classes x num_classes counts: row = true class, column = predicted class."""
        n = self.split.num_classes
        matrix = np.zeros((n, n), np.int64)
        for predictions, labels in each_batch(sess, self.batches, [self.predictions,
                                                                   self.labels]):
            matrix += np.bincount(labels * n + np.clip(predictions, 0, n - 1),
                                  minlength=n * n).reshape(n, n)
            if progress is not None:
                progress.update(len(labels))
        return matrix
