"""The graphs the tools run: source training, adversarial adaptation and evaluation.

A training graph is a step function handed to the DevicePlan's loop (adda/loops.py): on the
CPU and GPU up to ``--steps_per_run`` steps per session call in a tf.while_loop, each step's
losses returned; on the NPU a single static step that the device repeats. The plan also says
how the loss is scaled (mixed precision) and whether every shape must be static.
"""
from collections import OrderedDict, namedtuple

import numpy as np

from adda.adversary import adversarial_discriminator
from adda.compat import tf
from adda.data.augment import shear, stroke, zoom_shift
from adda.data.pipeline import each_batch, evaluation_batches, training_batches
from adda.errors import AddaError
from adda.layers import weight_decay
from adda.models import preprocessing
from adda.recipe import (FAITHFUL, ClassCentroids, MovingAverage, NeighbourBank, adversary_loss,
                         domain_labels, infomax, pseudo_label_loss, r1_penalty, ramp,
                         source_pull, virtual_adversarial_loss)
from adda.session import DevicePlan
from adda.util import collect_vars

SOURCE_STREAM, TARGET_STREAM = 0, 1
# VAT's random directions: keys (seed, step + this), apart from every augmentation key
# (adda.data.augment uses multiples 1-4 of 1 << 41) and from the epoch-order keys (seed, epoch).
VAT_KEY_OFFSET = 7 << 41
CENTROID_LAYER = 'fc3'  # the features the class centroids live in: lenet's layer under the logits
# (and the neighbour bank's); the bank holds about this many target images at most
NEIGHBOUR_BANK_IMAGES = 4096
# One pass of the adaptation step over fresh batches: the discriminator's logits for the source
# and target features, their domains (0 source, 1 target), and what the target terms use (None
# where no term asked for it).
Passes = namedtuple('Passes', 'source_features target_features target_logits domain '
                              'discriminator_logits augmented_logits target_images '
                              'centroid_features')


class TrainGraph(object):
    """What a training loop needs from a graph.

    loop: runs the steps (``loop.run(sess, n)``); outputs: OrderedDict name -> fetchable
    values (losses first, then the loss scaler's); loss_names: which outputs are losses;
    global_step: steps done; inputs: the Batches to initialise; snapshot_vars: what a snapshot
    saves, by stripped name; status_reset: the loss scaler's op that clears the device's
    float-status register before training (None where there is none).
    """

    def __init__(self, loop, loss_names, global_step, inputs, snapshot_vars, status_reset=None):
        self.loop = loop
        self.outputs = loop.outputs
        self.loss_names = loss_names
        self.global_step = global_step
        self.inputs = inputs
        self.snapshot_vars = snapshot_vars
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


def halves(tensor):
    """The first and the second half of a batch, by slicing (StridedSlice, which the 910
    documents, where tf.split would make a Split op) when the batch size is known."""
    size = tensor.shape.as_list()[0]
    if size is None:
        return tf.split(tensor, 2)
    return tensor[:size // 2], tensor[size // 2:]


def masked_xent(labels, logits, ignore_label):
    """Cross-entropy averaged over the examples whose label is not ``ignore_label``, with
    static shapes (a weight per example, not a mask that changes the batch size); 0 when
    every example is ignored. Labels outside the classes (e.g. 255) are ignored too."""
    in_range = tf.one_hot(labels, int(logits.shape[-1]))  # all zeros outside the classes
    keep = tf.reduce_sum(in_range, 1) * (1.0 - tf.cast(tf.equal(labels, ignore_label),
                                                        tf.float32))
    targets = in_range * keep[:, None]
    losses = tf.nn.softmax_cross_entropy_with_logits_v2(labels=tf.stop_gradient(targets),
                                                        logits=logits)
    # a product with a constant factor: its gradient needs no shape computation at run time
    return tf.reduce_sum(losses) * tf.stop_gradient(1.0 / tf.maximum(tf.reduce_sum(keep), 1.0))


def build_source_training(split, model_fn, batch_size, lr, solver, seed, stepsize=None,
                          ignore_label=None, start_step=0, plan=None, scope=None, augment=0.0,
                          augment_stroke=0.0, augment_zoom=None, augment_shear=0.0):
    """Supervised training of ``model_fn`` on ``split``: cross-entropy plus L2 weight decay;
    with ``augment`` > 0 the images are randomly zoomed and shifted (the zoom factor drawn from
    ``augment_zoom`` (low, high) when given), with ``augment_shear`` > 0 sheared, with
    ``augment_stroke`` > 0 their strokes thickened or thinned (adda/data/augment.py)."""
    plan = plan or DevicePlan.for_tests()
    scope = scope or model_fn.__name__
    batches = training_batches(split, batch_size, seed, lambda x: preprocessing(x, model_fn),
                               start_step=start_step, stream=SOURCE_STREAM,
                               augment=(lambda x, step: stroke(shear(zoom_shift(
                                   x, augment, seed, step, zoom=augment_zoom), augment_shear,
                                   seed, step), augment_stroke, seed, step))
                               if augment or augment_stroke or augment_zoom or augment_shear
                               else None)
    global_step = tf.train.get_or_create_global_step()
    model_vars = create_model_variables(model_fn, scope)
    scaler = plan.loss_scaler()
    var_list = list(model_vars.values())

    def step(step_index):
        images, labels = batches.get_next()
        logits = model_output(model_fn, images, scope, shards=plan.shards)
        if ignore_label is not None:
            xent = masked_xent(labels, logits, ignore_label)
        else:
            xent = softmax_xent(labels, logits)
        loss = xent + weight_decay(var_list, model_fn.weight_decay)
        optimizer = make_optimizer(solver, scheduled_lr(lr, stepsize, step_index))
        update = scaler.apply([(optimizer, scaler.gradients(loss, var_list))])
        return step_outputs({'loss': loss}, update, scaler)

    loop = plan.loop()
    loop.build(step, ['loss'] + scaler.output_names, global_step)
    return TrainGraph(loop, ['loss'], global_step, [batches], model_vars, scaler.reset_status())


def step_outputs(losses, update, scaler):
    """(outputs, update) of a step: the losses, then the scaler's state after the update."""
    outputs = OrderedDict(losses)
    with tf.control_dependencies([update]):
        outputs.update(scaler.outputs())
    return outputs, update


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

    source_vars, target_vars: the two networks' variables (the snapshot saves the target's, or
    their moving average); source_eval, source_features: the pipeline over the source images
    and the source network's output for its batches.
    """

    def __init__(self, loop, loss_names, global_step, inputs, snapshot_vars, source_vars,
                 source_eval, source_features, source_labels, target_vars, average=None,
                 status_reset=None):
        super(AddaGraph, self).__init__(loop, loss_names, global_step, inputs, snapshot_vars,
                                        status_reset)
        self.target_vars = target_vars
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
        # the evaluation pipeline pads its last batch: keep the real images' features
        self.inputs[0].initialize(sess, (features[:len(self.source_labels)], self.source_labels))
        self.inputs[1].initialize(sess)
        self._begin(sess)  # after the pass over the source images


def build_adda_training(source_split, target_split, model_fn, batch_size, lr, solver, seed,
                        adversary_layers=(500, 500), adversary_leaky=True, stepsize=None,
                        start_step=0, plan=None, feature_layer=None, options=FAITHFUL):
    """Adversarial adaptation: a frozen source net, a target net and a discriminator.

    The discriminator sees the logits of both nets (source label 0, target 1), or the output of
    ``feature_layer`` (e.g. 'fc3', the encoder's output in the paper's terms; then the layers
    after it keep the source weights). The mapping loss is the GAN loss with flipped labels and
    updates only the target net; the adversary loss updates only the discriminator. Both
    gradients come from the same forward pass and are applied together, as the original's
    single session call did. ``options`` (adda.recipe.AdaptationOptions) adds the opt-in
    stabilisers; the defaults build the original step.
    """
    plan = plan or DevicePlan.for_tests()
    shards = plan.shards
    if options.target_vat and not plan.device_random:
        raise AddaError('--target_vat draws random directions in the training step, which the '
                        '{} graph cannot do: CANN documents its stateless normal op '
                        '(StatelessRandomNormalV2) for the Ascend 950 only, not the 910; run '
                        'it with --device cpu or gpu'.format(plan.device.upper()))

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
    pseudo = bool(options.target_pseudo)
    target_batches = training_batches(
        target_split, batch_size, seed, preprocess, start_step=start_step * batches_per_step,
        stream=TARGET_STREAM, both_views=pseudo,
        augment=(lambda x, step: zoom_shift(x, options.target_augment, seed, step,
                                            TARGET_STREAM)) if pseudo else None)
    global_step = tf.train.get_or_create_global_step()
    source_vars = collect_vars('source')
    target_vars = create_model_variables(model_fn, 'target')
    adversarial_discriminator(tf.placeholder(tf.float32, [None, width]), adversary_layers,
                              leaky=adversary_leaky)
    adversary_vars = collect_vars('adversary')
    adversary_list = list(adversary_vars.values())
    average = MovingAverage(target_vars, options.ema) if options.ema else None
    centroid_width = int(target_vars[CENTROID_LAYER + '/biases'].shape[0])
    centroids = None
    if options.target_centroid:
        centroids = ClassCentroids(target_split.num_classes, centroid_width,
                                   options.centroid_momentum)
    bank = None
    if pseudo and options.pseudo_neighbours:
        slots = neighbour_slots(len(target_split), batch_size)
        if options.pseudo_neighbours > slots * batch_size:
            raise AddaError('--pseudo_neighbours {} is more than the {} target images the '
                            'neighbour bank holds ({} batches of {})'.format(
                                options.pseudo_neighbours, slots * batch_size, slots,
                                batch_size))
        bank = NeighbourBank(slots, batch_size, centroid_width, target_split.num_classes)
    scaler = plan.loss_scaler()
    beta1 = 0.5

    def discriminator(features):
        return adversarial_discriminator(features, adversary_layers, leaky=adversary_leaky)

    # what the step needs of the target network: the discriminator's input, the logits for
    # the target terms, the CENTROID_LAYER features for the centroids
    target_layers = [feature_layer]
    if pseudo or options.target_infomax or options.target_vat or centroids is not None:
        target_layers.append(None)
    if centroids is not None or bank is not None:
        target_layers.append(CENTROID_LAYER)

    def forward(views=False):
        """One pass over fresh source and target batches (Passes). With ``views``
        (self-training) the target images and their augmented view go through the target
        network as one batch."""
        source_ft, _ = source_batches.get_next()
        target = target_batches.get_next()
        images = tf.concat([target[0], target[2]], 0) if views else target[0]
        outputs = model_outputs(model_fn, images, 'target', target_layers, shards)
        augmented_logits = None
        if views:
            pairs = [halves(out) for out in outputs]
            outputs = [first for first, _ in pairs]
            augmented_logits = pairs[1][1]
        target_ft, target_logits, centroid_ft = outputs + [None] * (3 - len(outputs))
        domain = domain_labels(int(source_ft.shape[0]), int(target_ft.shape[0]))
        logits = discriminator(tf.concat([source_ft, target_ft], 0))
        return Passes(source_ft, target_ft, target_logits, domain, logits, augmented_logits,
                      target[0], centroid_ft)

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
        passes = forward()
        _, objective = adversary_objective(passes.source_features, passes.domain,
                                           passes.discriminator_logits)
        return scaler.apply([(optimizer, scaler.gradients(objective, adversary_list))])

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
            passes = forward(pseudo)
        domain, target_logits = passes.domain, passes.target_logits
        mapping_loss = softmax_xent(1 - domain, passes.discriminator_logits)
        adversary_loss_value, adversary_total = adversary_objective(
            passes.source_features, domain, passes.discriminator_logits)
        # the target variables the features depend on (all of them for the logits)
        target_list = [v for v, g in zip(target_vars.values(),
                                         tf.gradients(mapping_loss, list(target_vars.values())))
                       if g is not None]
        mapping_total = mapping_loss
        if options.source_pull:
            adapted = OrderedDict((k, v) for k, v in target_vars.items() if v in target_list)
            mapping_total += options.source_pull * source_pull(adapted, source_vars)
        if options.target_infomax:
            mapping_total += ramp(options.target_infomax, step_index,
                                  options.infomax_ramp) * infomax(target_logits)
        bank_update = None
        if pseudo:
            if bank is not None:
                teacher = bank.vote(passes.centroid_features, options.pseudo_neighbours)
                with tf.control_dependencies([teacher]):  # vote from the bank before this batch
                    bank_update = bank.store(step_index, passes.centroid_features,
                                             target_logits)
            else:
                teacher = tf.nn.softmax(target_logits)
            pseudo_loss, _ = pseudo_label_loss(teacher, passes.augmented_logits,
                                               options.pseudo_threshold)
            mapping_total += ramp(options.target_pseudo, step_index,
                                  options.pseudo_ramp) * pseudo_loss
        if options.target_vat:
            key = tf.stack([tf.cast(seed, tf.int64),
                            tf.cast(step_index, tf.int64) + VAT_KEY_OFFSET])
            mapping_total += options.target_vat * virtual_adversarial_loss(
                lambda images: model_output(model_fn, images, 'target', None, shards),
                passes.target_images, target_logits, options.vat_radius, key)
        centroid_update = None
        if centroids is not None:
            centroid_labels, centroid_update = centroids.labels(passes.centroid_features,
                                                                target_logits)
            mapping_total += options.target_centroid * softmax_xent(centroid_labels,
                                                                    target_logits)
        mapping_grads = scaler.gradients(mapping_total, target_list)
        adversary_grads = scaler.gradients(adversary_total, adversary_list)
        with tf.control_dependencies([g for g, _ in mapping_grads + adversary_grads
                                      if g is not None]):
            update = scaler.apply([(target_optimizer, mapping_grads),
                                   (adversary_optimizer, adversary_grads)])
        for extra in (centroid_update, bank_update):
            if extra is not None:
                update = tf.group(update, extra)
        if average is not None:
            with tf.control_dependencies([update]):
                update = average.update()
        return step_outputs(
            OrderedDict([('mapping_loss', mapping_loss), ('adversary_loss', adversary_loss_value)]),
            update, scaler)

    loop = plan.loop()
    loss_names = ['mapping_loss', 'adversary_loss']
    loop.build(step, loss_names + scaler.output_names, global_step)
    snapshot_vars = average.shadows if average is not None else target_vars
    return AddaGraph(loop, loss_names, global_step, [source_batches, target_batches],
                     snapshot_vars, source_vars, source_eval, source_features,
                     source_split.labels, target_vars, average=average,
                     status_reset=scaler.reset_status())


def neighbour_slots(images, batch_size):
    """Batches the neighbour bank holds: enough for every target image (one epoch), at most
    about NEIGHBOUR_BANK_IMAGES images."""
    return max(1, min(-(-images // batch_size), NEIGHBOUR_BANK_IMAGES // batch_size))


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
