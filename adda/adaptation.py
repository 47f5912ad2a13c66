"""The adaptation graph (ADDA step 2): the original's adversarial step, plus the adaptation
terms (adda/terms/) that its settings switch on.

The discriminator's initial weights come from the graph's op count when they are made, so
everything up to them is made in one fixed order, and the terms' state after them.
"""
from collections import OrderedDict, namedtuple

import numpy as np

from adda.adversary import adversarial_discriminator
from adda.compat import tf
from adda.data.augment import zoom_shift
from adda.data.pipeline import each_batch, evaluation_batches, training_batches
from adda.errors import AddaError
from adda.graphs import (SOURCE_STREAM, TARGET_STREAM, TrainGraph, create_model_variables,
                         halves, make_optimizer, model_output, model_outputs, scheduled_lr,
                         step_outputs)
from adda.losses import adversary_loss, domain_labels, softmax_xent
from adda.models import preprocessing
from adda.session import DevicePlan
from adda.terms import FAITHFUL, LOGITS, SIMILARITY_LAYER
from adda.util import collect_vars

ADAM_BETA1 = 0.5  # the original adaptation's
# One pass of the adaptation step over fresh batches: the discriminator's inputs (source and
# target features), the domains (0 source, 1 target) and its logits; what the terms read
# (None where no term asked for it): the target logits, those of the augmented view, the
# target images, the target network's SIMILARITY_LAYER features.
AdaptationPass = namedtuple('AdaptationPass', 'source_features target_features domain '
                                              'discriminator_logits target_logits '
                                              'augmented_logits target_images '
                                              'similarity_features')
# What a term's state is built from (adda.terms.Term): the target split, the batch size, the
# two networks' variables and the width of the SIMILARITY_LAYER features.
TermSetup = namedtuple('TermSetup', 'target_split batch_size target_vars source_vars '
                                    'similarity_width')


class _SourceFeatures(object):
    """A split of the source network's outputs (``width`` per image) in the shape of an image
    split; their values are fed when training starts (AddaGraph.start), ``images`` is a zero
    view that takes no memory."""

    def __init__(self, split, width):
        self.images = np.broadcast_to(np.float32(0), (len(split), width))
        self.labels = split.labels

    def __len__(self):
        return len(self.labels)


class AddaGraph(TrainGraph):
    """The adaptation graph. The source network is frozen, so its outputs for the source
    images are computed once, in order, when training starts (and again on resume), instead of
    in every step: the same values without the source network's pass in each step.

    source_vars, target_vars: the two networks' variables (the snapshot saves the target's
    unless a term saves something else); source_eval, source_features: the pipeline over the
    source images and the source network's output for its batches; terms: the graph's
    adaptation terms (adda.terms.Term instances).
    """

    def __init__(self, loop, loss_names, global_step, inputs, snapshot_vars, source_vars,
                 source_eval, source_features, source_labels, target_vars, terms=(),
                 status_reset=None):
        super(AddaGraph, self).__init__(loop, loss_names, global_step, inputs, snapshot_vars,
                                        status_reset, live_vars=target_vars)
        self.target_vars = target_vars
        self.source_vars = source_vars
        self.source_eval = source_eval
        self.source_features = source_features
        self.source_labels = source_labels
        self.terms = tuple(terms)

    def after_restore(self, sess):
        for term in self.terms:
            term.after_restore(sess)

    def start(self, sess):
        features = np.concatenate(list(each_batch(sess, self.source_eval, self.source_features)))
        # the evaluation pipeline pads its last batch: keep the real images' features
        self.inputs[0].initialize(sess, (features[:len(self.source_labels)], self.source_labels))
        self.inputs[1].initialize(sess)
        self._begin(sess)  # after the pass over the source images


class AdaptationStep(object):
    """What the terms see of one adaptation step: ``index`` (the step), ``passes`` (an
    AdaptationPass), the networks' variables, ``adapted`` (the target variables the mapping
    loss reaches), ``seed``, ``target_logits_of(images)`` (the target network on other images)
    and ``teacher`` (the probabilities pseudo-labels come from, when a term supplies them)."""

    def __init__(self, index, passes, target_vars, source_vars, adapted, seed,
                 target_logits_of):
        self.index, self.passes, self.seed = index, passes, seed
        self.target_vars, self.source_vars, self.adapted = target_vars, source_vars, adapted
        self.target_logits_of = target_logits_of
        self.teacher = None


def build_adda_training(source_split, target_split, model_fn, batch_size, lr, solver, seed,
                        adversary_layers=(500, 500), adversary_leaky=True, stepsize=None,
                        start_step=0, plan=None, feature_layer=None, settings=FAITHFUL):
    """Adversarial adaptation: a frozen source net, a target net and a discriminator.

    The discriminator sees the logits of both nets (source label 0, target 1), or the output of
    ``feature_layer`` (e.g. 'fc3', the encoder's output in the paper's terms; then the layers
    after it keep the source weights). The mapping loss is the GAN loss with flipped labels and
    updates only the target net; the adversary loss updates only the discriminator. Both
    gradients come from the same forward pass and are applied together, as the original's
    single session call did. ``settings`` (adda.terms.Settings) sets the core's options and
    the terms that are on; the default builds the original step.
    """
    plan = plan or DevicePlan.for_tests()
    for term in settings.terms:
        if plan.device in term.refused:
            raise AddaError('--{} {}'.format(term.switch(), term.refused[plan.device]))
    source_eval = evaluation_batches(source_split, 1000, lambda x: preprocessing(x, model_fn))
    source_features = model_output(model_fn, source_eval.get_next()[0], 'source', feature_layer)
    width = int(source_features.shape[-1])
    # each step draws one batch per adversary update
    batches_per_step = max(1, settings.adversary_steps)
    views = [getattr(settings, term.view) for term in settings.terms if term.view]
    inputs = _pipelines(source_split, target_split, model_fn, width, batch_size, seed,
                        start_step * batches_per_step, views)
    global_step = tf.train.get_or_create_global_step()
    source_vars = collect_vars('source')
    target_vars = create_model_variables(model_fn, 'target')
    adversarial_discriminator(tf.placeholder(tf.float32, [None, width]), adversary_layers,
                              leaky=adversary_leaky)
    adversary_list = list(collect_vars('adversary').values())
    setup = TermSetup(target_split, batch_size, target_vars, source_vars,
                      int(target_vars[SIMILARITY_LAYER + '/biases'].shape[0]))
    terms = [term(settings, setup) for term in settings.terms]  # after the discriminator
    scaler = plan.loss_scaler()
    # the target network's outputs a step needs: the discriminator's input, what terms read
    layers = [feature_layer] + [None if layer == LOGITS else layer for layer in
                                (LOGITS, SIMILARITY_LAYER) if any(layer in t.layers
                                                                  for t in terms)]

    def discriminator(features):
        return adversarial_discriminator(features, adversary_layers, leaky=adversary_leaky)

    def forward(views=False):
        return _adaptation_pass(inputs, model_fn, layers, plan.shards, discriminator, views)

    def step(step_index):
        rate = scheduled_lr(lr, stepsize, step_index)
        adversary_rate = rate if settings.adversary_lr is None else scheduled_lr(
            settings.adversary_lr, stepsize, step_index)
        # Two optimizer instances: the original shared one Adam, whose bias-correction powers
        # were then advanced twice per step by two racing updates.
        target_optimizer = make_optimizer(solver, rate, ADAM_BETA1)
        adversary_optimizer = make_optimizer(solver, adversary_rate, ADAM_BETA1)
        before = []
        for _ in range(batches_per_step - 1):  # extra discriminator updates on fresh batches
            with tf.control_dependencies(before):
                _, objective = _adversary_objective(settings, terms, forward(), discriminator)
                before = [scaler.apply([(adversary_optimizer,
                                         scaler.gradients(objective, adversary_list))])]
        # after the extra updates: whatever reads the discriminator (a penalty applies it
        # again) sees its updated weights
        with tf.control_dependencies(before):
            passes = forward(bool(views))
            mapping_loss = softmax_xent(1 - passes.domain, passes.discriminator_logits)
            adversary_loss_value, adversary_total = _adversary_objective(
                settings, terms, passes, discriminator)
        # the target variables the features depend on (all of them for the logits)
        adapted = [v for v, g in zip(target_vars.values(),
                                     tf.gradients(mapping_loss, list(target_vars.values())))
                   if g is not None]
        this = AdaptationStep(step_index, passes, target_vars, source_vars, adapted, seed,
                              lambda images: model_output(model_fn, images, 'target', None,
                                                          plan.shards))
        mapping_grads = scaler.gradients(_mapping_objective(terms, this, mapping_loss), adapted)
        adversary_grads = scaler.gradients(adversary_total, adversary_list)
        with tf.control_dependencies([g for g, _ in mapping_grads + adversary_grads
                                      if g is not None]):
            update = scaler.apply([(target_optimizer, mapping_grads),
                                   (adversary_optimizer, adversary_grads)])
        for term in terms:
            for op in term.updates(this):
                update = tf.group(update, op)
        for term in terms:
            update = term.after_update(update)
        return step_outputs(
            OrderedDict([('mapping_loss', mapping_loss), ('adversary_loss', adversary_loss_value)]),
            update, scaler)

    loop = plan.loop()
    loss_names = ['mapping_loss', 'adversary_loss']
    loop.build(step, loss_names + scaler.output_names, global_step)
    snapshot_vars = target_vars
    for term in terms:
        snapshot_vars = term.snapshot_vars() or snapshot_vars
    return AddaGraph(loop, loss_names, global_step, list(inputs), snapshot_vars, source_vars,
                     source_eval, source_features, source_split.labels, target_vars, terms,
                     status_reset=scaler.reset_status())


def _pipelines(source_split, target_split, model_fn, width, batch_size, seed, first_batch,
               views):
    """The source features' and the target images' batches from batch ``first_batch`` on;
    with ``views`` (a term's zoom/shift strength) the target batches carry an augmented view
    too."""
    source = training_batches(_SourceFeatures(source_split, width), batch_size, seed,
                              start_step=first_batch, stream=SOURCE_STREAM)
    target = training_batches(
        target_split, batch_size, seed, lambda x: preprocessing(x, model_fn),
        start_step=first_batch, stream=TARGET_STREAM, both_views=bool(views),
        augment=(lambda x, step: zoom_shift(x, views[0], seed, step, TARGET_STREAM))
        if views else None)
    return source, target


def _adaptation_pass(inputs, model_fn, layers, shards, discriminator, views=False):
    """One pass over fresh source and target batches (an AdaptationPass): the target network's
    ``layers`` (the discriminator's input first; None: the logits). With ``views`` the target
    images and their augmented view go through the target network as one batch."""
    source_ft, _ = inputs[0].get_next()
    target = inputs[1].get_next()
    images = tf.concat([target[0], target[2]], 0) if views else target[0]
    outputs = model_outputs(model_fn, images, 'target', layers, shards)
    augmented_logits = None
    if views:
        pairs = [halves(out) for out in outputs]
        outputs = [first for first, _ in pairs]
        augmented_logits = pairs[layers.index(None, 1)][1]
    named = dict(zip(layers[1:], outputs[1:]))
    target_ft = outputs[0]
    domain = domain_labels(int(source_ft.shape[0]), int(target_ft.shape[0]))
    logits = discriminator(tf.concat([source_ft, target_ft], 0))
    return AdaptationPass(source_ft, target_ft, domain, logits, named.get(None),
                          augmented_logits, target[0], named.get(SIMILARITY_LAYER))


def _adversary_objective(settings, terms, passes, discriminator):
    """(the discriminator's loss, that plus the terms' penalties: what it minimises)."""
    if settings.label_smoothing:
        loss = adversary_loss(passes.discriminator_logits, passes.domain,
                              settings.label_smoothing)
    else:
        loss = softmax_xent(passes.domain, passes.discriminator_logits)
    objective = loss
    for term in terms:
        penalty = term.adversary_penalty(passes, discriminator)
        if penalty is not None:
            objective += penalty
    return loss, objective


def _mapping_objective(terms, step, mapping_loss):
    """The target network's objective: the mapping loss plus each term's, in term order."""
    for term in terms:
        term.prepare(step)
    total = mapping_loss
    for term in terms:
        loss = term.mapping_loss(step)
        if loss is not None:
            total += loss
    return total
