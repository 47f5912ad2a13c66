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
from adda.terms import LOGITS, SIMILARITY_LAYER, switched_on
from adda.util import collect_vars

ADAM_BETA1 = 0.5  # the original adaptation's
LOSS_NAMES = ('mapping_loss', 'adversary_loss')
# One pass of the adaptation step over fresh batches: the discriminator's inputs (source and
# target features), the domains (0 source, 1 target) and its logits; what the terms read
# (None where no term asked for it): the target logits, those of the augmented view, the
# target images, the target network's SIMILARITY_LAYER features.
AdaptationPass = namedtuple('AdaptationPass', 'source_features target_features domain '
                                              'discriminator_logits target_logits '
                                              'augmented_logits target_images '
                                              'similarity_features')
# What a term's state is built from (adda.terms.Term): the target split, the batch size, the
# two networks' variables, the width of the SIMILARITY_LAYER features and the number of
# classes (the source's: a target nobody labelled has none of its own).
TermSetup = namedtuple('TermSetup', 'target_split batch_size target_vars source_vars '
                                    'similarity_width classes')


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
    loss reaches), ``seed``, ``outputs_of(images, scope, layers)`` (the network under
    ``scope`` on other images, as adda.graphs.model_outputs), ``target_logits_of(images)``;
    what pseudo-labels are made from: ``label_logits`` and ``label_features`` (the target
    network's logits and SIMILARITY_LAYER features of the batch unless a term supplies
    another network's) and ``teacher`` (the probabilities themselves, when a term supplies
    them)."""

    def __init__(self, index, passes, target_vars, source_vars, adapted, seed, outputs_of):
        self.index, self.passes, self.seed = index, passes, seed
        self.target_vars, self.source_vars, self.adapted = target_vars, source_vars, adapted
        self.outputs_of = outputs_of
        self.label_logits = passes.target_logits
        self.label_features = passes.similarity_features
        self.teacher = None

    def target_logits_of(self, images):
        return self.outputs_of(images, 'target', [None])[0]


def build_adda_training(source_split, target_split, model_fn, settings, seed, start_step=0,
                        plan=None):
    """Adversarial adaptation with train_adda.py's ``settings``: a frozen source net, a target
    net and a discriminator.

    The discriminator (hidden widths ``adversary``, leaky ReLUs with ``adversary_leaky``) sees
    the output of ``adversary_layer`` of both nets (source label 0, target 1): ``fc4``, the
    logits, as the original; ``fc3``, the encoder's output in the paper's terms, where the
    layers after it keep the source weights. The mapping loss is the GAN loss with flipped
    labels and updates only the target net; the adversary loss updates only the
    discriminator. Both gradients come from the same forward pass and are applied together,
    as the original's single session call did. The core's options and the terms that are on
    (adda/terms/) come from ``settings`` too; with none on, this is the original step.
    """
    plan = plan or DevicePlan.for_tests()
    terms_on = switched_on(settings)
    _check_terms_run_on(terms_on, plan.device)
    source_eval = evaluation_batches(source_split, 1000, lambda x: preprocessing(x, model_fn))
    source_features = model_output(model_fn, source_eval.get_next()[0], 'source',
                                   settings.adversary_layer)
    width = int(source_features.shape[-1])
    views = [getattr(settings, term.view) for term in terms_on if term.view]
    inputs = _pipelines(source_split, target_split, model_fn, width, settings.batch_size, seed,
                        start_step * _batches_per_step(settings), views)
    global_step = tf.train.get_or_create_global_step()
    source_vars = collect_vars('source')
    target_vars = create_model_variables(model_fn, 'target')
    adversary_vars = _create_discriminator(settings, width)
    setup = TermSetup(target_split, settings.batch_size, target_vars, source_vars,
                      int(target_vars[SIMILARITY_LAYER + '/biases'].shape[0]),
                      source_split.num_classes)
    terms = [term(settings, setup) for term in terms_on]  # after the discriminator
    step = _StepBuilder(settings, model_fn, plan, inputs, seed, source_vars, target_vars,
                        adversary_vars, terms, bool(views))
    loop = plan.loop()
    loop.build(step.build, list(LOSS_NAMES) + step.scaler.output_names, global_step)
    snapshot_vars = target_vars
    for term in terms:
        snapshot_vars = term.snapshot_vars() or snapshot_vars
    return AddaGraph(loop, list(LOSS_NAMES), global_step, list(inputs), snapshot_vars,
                     source_vars, source_eval, source_features, source_split.labels,
                     target_vars, terms, status_reset=step.scaler.reset_status())


def _check_terms_run_on(terms, device):
    for term in terms:
        if device in term.refused:
            raise AddaError('--{} {}'.format(term.switch(), term.refused[device]))


def _batches_per_step(settings):
    """Each step draws one batch per domain for each discriminator update."""
    return max(1, settings.adversary_steps)


def _create_discriminator(settings, width):
    """The discriminator's variables, made once before the step (their initial values come
    from the graph's op count here); its list of variables."""
    adversarial_discriminator(tf.placeholder(tf.float32, [None, width]), settings.adversary,
                              leaky=settings.adversary_leaky)
    return list(collect_vars('adversary').values())


class _StepBuilder(object):
    """Builds the ops of one adaptation step (``build``, which the device plan's loop calls):
    the optimizers, the extra discriminator updates on fresh batches, the forward pass, the
    two objectives with the terms' additions, and the update, all gated by the loss scaler.
    Its attributes are everything a step reads."""

    def __init__(self, settings, model_fn, plan, inputs, seed, source_vars, target_vars,
                 adversary_vars, terms, views):
        self.settings, self.model_fn, self.plan, self.inputs = settings, model_fn, plan, inputs
        self.seed, self.source_vars, self.target_vars = seed, source_vars, target_vars
        self.adversary_vars, self.terms, self.views = adversary_vars, terms, views
        self.scaler = plan.loss_scaler()
        # the target network's outputs a pass needs: the discriminator's input (first), and
        # the logits and the SIMILARITY_LAYER features where a term reads them (None: logits)
        self.layers = [settings.adversary_layer] + [
            None if layer == LOGITS else layer for layer in (LOGITS, SIMILARITY_LAYER)
            if any(layer in term.layers for term in terms)]

    def build(self, step_index):
        """(outputs, update) of the step ``step_index``."""
        target_optimizer, adversary_optimizer = self._optimizers(step_index)
        before = self._extra_adversary_updates(adversary_optimizer)
        # after the extra updates: whatever reads the discriminator (a penalty applies it
        # again) sees its updated weights
        with tf.control_dependencies(before):
            passes = self.forward(self.views)
            mapping_loss = softmax_xent(1 - passes.domain, passes.discriminator_logits)
            adversary_loss_value, adversary_total = _adversary_objective(
                self.settings, self.terms, passes, self.discriminator)
        this = self._what_terms_see(step_index, passes, mapping_loss)
        mapping_grads = self.scaler.gradients(
            _mapping_objective(self.terms, this, mapping_loss), this.adapted)
        adversary_grads = self.scaler.gradients(adversary_total, self.adversary_vars)
        update = self._update(target_optimizer, mapping_grads, adversary_optimizer,
                              adversary_grads, this)
        return step_outputs(OrderedDict([('mapping_loss', mapping_loss),
                                         ('adversary_loss', adversary_loss_value)]),
                            update, self.scaler)

    def discriminator(self, features):
        return adversarial_discriminator(features, self.settings.adversary,
                                         leaky=self.settings.adversary_leaky)

    def forward(self, views=False):
        """One pass over fresh batches (an AdaptationPass)."""
        return _adaptation_pass(self.inputs, self.model_fn, self.layers, self.plan.shards,
                                self.discriminator, views)

    def _optimizers(self, step_index):
        """Two optimizer instances, the target network's then the discriminator's: the
        original shared one Adam, whose bias-correction powers were then advanced twice per
        step by two racing updates."""
        settings = self.settings
        rate = scheduled_lr(settings.lr, settings.stepsize, step_index)
        adversary_rate = rate if settings.adversary_lr is None else scheduled_lr(
            settings.adversary_lr, settings.stepsize, step_index)
        return (make_optimizer(settings.solver, rate, ADAM_BETA1),
                make_optimizer(settings.solver, adversary_rate, ADAM_BETA1))

    def _extra_adversary_updates(self, optimizer):
        """The discriminator's updates before the step's own (``adversary_steps`` - 1 of them),
        each on fresh batches after the one before; the last one's op (or none)."""
        before = []
        for _ in range(_batches_per_step(self.settings) - 1):
            with tf.control_dependencies(before):
                _, objective = _adversary_objective(self.settings, self.terms, self.forward(),
                                                    self.discriminator)
                before = [self.scaler.apply([(optimizer, self.scaler.gradients(
                    objective, self.adversary_vars))])]
        return before

    def _what_terms_see(self, step_index, passes, mapping_loss):
        """The AdaptationStep, with ``adapted``: the target variables the discriminator's
        input depends on (all of them for the logits)."""
        target = list(self.target_vars.values())
        adapted = [v for v, g in zip(target, tf.gradients(mapping_loss, target))
                   if g is not None]
        return AdaptationStep(step_index, passes, self.target_vars, self.source_vars, adapted,
                              self.seed, self._outputs)

    def _outputs(self, images, scope, layers):
        return model_outputs(self.model_fn, images, scope, layers, self.plan.shards)

    def _update(self, target_optimizer, mapping_grads, adversary_optimizer, adversary_grads,
                step):
        """Both updates at once once every gradient is computed (skipped together when the
        loss scaler says so), then the terms' state updates and what must follow them."""
        with tf.control_dependencies([g for g, _ in mapping_grads + adversary_grads
                                      if g is not None]):
            update = self.scaler.apply([(target_optimizer, mapping_grads),
                                        (adversary_optimizer, adversary_grads)])
        for term in self.terms:
            for op in term.updates(step):
                update = tf.group(update, op)
        for term in self.terms:
            update = term.after_update(update)
        return update


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
