"""Opt-in additions to the adaptation step that calm adversarial training.

Each is off by default, so the default adaptation is the original's. None uses target labels,
and the ADDA structure stays: a frozen source network, an untied target network, and the
adversarial (inverted-label GAN) mapping loss.
"""
import collections

from adda.compat import tf

# Defaults: the original ADDA step.
AdaptationOptions = collections.namedtuple('AdaptationOptions', [
    'adversary_lr',       # the discriminator's learning rate (None: the same as the target's)
    'adversary_steps',    # discriminator updates per mapping update (extra ones on fresh batches)
    'label_smoothing',    # one-sided: the discriminator's source label is 1 - s (Salimans 2016)
    'gradient_penalty',   # R1 weight: the discriminator's gradient norm on source features
    'source_pull',        # L2 weight keeping the target weights near the source weights
    'target_infomax',     # weight of the target batch's information-maximisation term
    'ema',                # decay of the moving average of the target weights saved as snapshot
    'infomax_ramp',       # iterations over which the infomax weight grows linearly from 0
    'target_pseudo',      # weight of self-training on confident target pseudo-labels
    'pseudo_threshold',   # confidence a pseudo-label needs to count
    'target_augment',     # zoom/shift strength of the target view the pseudo-labels train
    'pseudo_ramp',        # iterations over which the pseudo-label weight grows linearly from 0
    'target_vat',         # weight of virtual adversarial training on the target images
    'vat_radius',         # L2 norm of VAT's perturbation of a target image (pixels in [0, 1])
    'target_centroid',    # weight of self-training on the nearest running class centroid
    'centroid_momentum',  # how much of the running centroids each step keeps
    'pseudo_neighbours',  # pseudo-labels voted by this many nearest target images (0: own)
])
AdaptationOptions.__new__.__defaults__ = (None, 1, 0.0, 0.0, 0.0, 0.0, 0.0, 0, 0.0, 0.95, 0.0, 0,
                                          0.0, 2.0, 0.0, 0.9, 0)
FAITHFUL = AdaptationOptions()


def domain_labels(source_count, target_count):
    """Discriminator labels: source 0, target 1 (static shapes)."""
    return tf.concat([tf.zeros([source_count], tf.int32), tf.ones([target_count], tf.int32)], 0)


def adversary_loss(logits, domain, smoothing=0.0):
    """Cross-entropy of the discriminator against the true domains; with ``smoothing`` the
    source ("real") examples' target is (1 - s, s) instead of (1, 0), the target ones' stays."""
    targets = tf.one_hot(domain, 2)
    if smoothing:
        is_source = tf.cast(tf.equal(domain, 0), tf.float32)[:, None]
        targets = targets * (1.0 - smoothing * is_source) + smoothing * is_source * tf.constant(
            [0.0, 1.0])
    return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(
        labels=tf.stop_gradient(targets), logits=logits))


def r1_penalty(discriminator, source_features):
    """Mescheder et al. 2018: half the mean squared norm of the gradient of the discriminator's
    source log-odds with respect to source ("real") features."""
    logits = discriminator(source_features)
    log_odds = logits[:, 0] - logits[:, 1]
    (grad,) = tf.gradients(tf.reduce_sum(log_odds), [source_features])
    return 0.5 * tf.reduce_mean(tf.reduce_sum(tf.square(grad), axis=1))


def source_pull(target_vars, source_vars):
    """Half the squared distance between each target variable and its source counterpart
    (the L2-SP penalty), summed; the source side is frozen."""
    return tf.add_n([tf.nn.l2_loss(t - tf.stop_gradient(source_vars[name]))
                     for name, t in target_vars.items()])


def ramp(weight, step, length):
    """``weight`` times min(1, step / length): a term that starts at 0 and is fully on after
    ``length`` steps (at once without a length)."""
    if not length:
        return weight
    # min(1, x) as -max(-1, -x), exactly: the 910's documented TensorFlow ops have Maximum only
    return weight * -tf.maximum(-1.0, -tf.cast(step, tf.float32) / float(length))


def infomax(logits):
    """Mean per-image prediction entropy minus the entropy of the mean prediction: low when
    predictions are confident and the classes balanced over the batch."""
    probs = tf.nn.softmax(logits)
    log_probs = tf.nn.log_softmax(logits)
    conditional = -tf.reduce_mean(tf.reduce_sum(probs * log_probs, axis=1))
    mean = tf.reduce_mean(probs, axis=0)
    marginal = -tf.reduce_sum(mean * tf.log(mean + 1e-8))
    return conditional - marginal


def pseudo_label_loss(teacher_probs, student_logits, threshold):
    """Self-training on confident pseudo-labels (FixMatch, Sohn et al., NeurIPS 2020): each
    image's most probable class under ``teacher_probs`` (no gradient; e.g. the softmax of the
    network's own logits) is the label of the cross-entropy of ``student_logits`` (e.g. the
    same network on an augmented view), counted only where the teacher's probability reaches
    ``threshold``; averaged over the whole batch, so a batch with few confident images weighs
    little. Static shapes: a 0/1 weight per image. Returns (loss, fraction that passed)."""
    probs = tf.stop_gradient(teacher_probs)
    labels = tf.argmax(probs, axis=1, output_type=tf.int32)
    # the largest probability, picked by the one-hot label (the 910 documents no Max op)
    top = tf.reduce_sum(probs * tf.one_hot(labels, int(probs.shape[-1])), axis=1)
    passed = tf.cast(tf.greater_equal(top, threshold), tf.float32)
    xent = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=student_logits)
    return tf.reduce_mean(passed * xent), tf.reduce_mean(passed)


def _unit(vectors):
    """Each row (image) of ``vectors`` scaled to L2 norm 1 (0 stays 0)."""
    axes = list(range(1, vectors.shape.ndims))
    return vectors * tf.pow(tf.reduce_sum(tf.square(vectors), axes, keepdims=True) + 1e-12, -0.5)


def virtual_adversarial_loss(network, images, logits, radius, key, probe=0.1):
    """Virtual adversarial training (Miyato et al., TPAMI 2018; VADA, Shu et al., ICLR 2018):
    KL(p(x) || p(x + r)), averaged over the batch, where ``network`` maps images to logits,
    ``logits`` = network(images) and r, of L2 norm ``radius`` per image, is the direction that
    changes the prediction most: one power iteration from a random direction drawn from the
    stateless key ``key`` (int64 [2]), probed at distance ``probe``. p(x) is held fixed, so
    the term moves the prediction near each image towards the prediction at the image: it
    keeps the decision boundaries away from the target images. ``probe`` is 0.1 rather than
    the paper's 1e-6, which float16 (the NPU's mixed precision) or float32 near 1 would lose.
    """
    probs = tf.stop_gradient(tf.nn.softmax(logits))
    log_probs = tf.stop_gradient(tf.nn.log_softmax(logits))

    def divergence(perturbed_logits):
        return tf.reduce_mean(tf.reduce_sum(
            probs * (log_probs - tf.nn.log_softmax(perturbed_logits)), axis=1))

    direction = probe * _unit(tf.random.stateless_normal(tf.shape(images), seed=key))
    slope = tf.gradients(divergence(network(images + direction)), [direction])[0]
    worst = radius * _unit(tf.stop_gradient(slope))
    return divergence(network(images + worst))


class ClassCentroids(object):
    """Running class centroids of the target features, for pseudo-labels by the nearest
    centroid (SHOT, Liang et al., ICML 2020, which computes them over the whole target set
    once per epoch; here they are kept online, so the graph needs no pass over the data).

    Each step: batch centroid k = the L2-normalised features averaged with the weights of the
    predicted probability of class k; centroid <- m * centroid + (1 - m) * batch centroid
    (from 0, which cosine similarity ignores); an image's label is the class whose updated
    centroid is the most cosine-similar to its features. No gradient reaches the labels.
    """

    def __init__(self, classes, width, momentum, scope='centroids'):
        self.momentum = momentum
        with tf.variable_scope(scope):
            self.centroids = tf.get_variable('centroids', [classes, width], tf.float32,
                                             initializer=tf.zeros_initializer(),
                                             trainable=False)

    def labels(self, features, logits):
        """(pseudo-labels [batch] int32, the op that stores the updated centroids)."""
        probs = tf.stop_gradient(tf.nn.softmax(logits))
        unit = tf.stop_gradient(_unit(features))
        batch = tf.matmul(probs, unit, transpose_a=True) / (
            tf.reduce_sum(probs, axis=0)[:, None] + 1e-8)
        updated = self.momentum * self.centroids + (1.0 - self.momentum) * batch
        labels = tf.argmax(tf.matmul(unit, _unit(updated), transpose_b=True), axis=1,
                           output_type=tf.int32)
        return labels, self.centroids.assign(updated)


class NeighbourBank(object):
    """The unit-length features and the predicted probabilities of the last ``slots`` target
    batches (a ring, one slot per step), for pseudo-labels voted by each image's nearest
    neighbours: the mean prediction of the ``k`` bank images whose features are the most
    cosine-similar to its own (the neighbourhood consistency of NRC and AaD, Yang et al.,
    NeurIPS 2021 and 2022, as a label). An image's own entry from the previous epoch, while
    the ring still holds it, is usually among them. The bank starts empty: an empty slot votes
    for no class, so until the ring is full votes are less confident. The bank is a global
    variable, so the training state saves it. Only MatMul, ArgMax and OneHot (no TopK, no
    Gather, no Scatter: the 910's documented op list has none of them).
    """

    def __init__(self, slots, batch, width, classes, scope='neighbours'):
        self.slots = slots
        with tf.variable_scope(scope):
            self.features = tf.get_variable('features', [slots, batch, width], tf.float32,
                                            initializer=tf.zeros_initializer(), trainable=False)
            self.probs = tf.get_variable('probs', [slots, batch, classes], tf.float32,
                                         initializer=tf.zeros_initializer(), trainable=False)

    def vote(self, features, k):
        """The mean probabilities [batch, classes] of the ``k`` bank entries nearest to each
        row of ``features`` (before this step's batch is stored)."""
        width, classes = int(self.features.shape[-1]), int(self.probs.shape[-1])
        bank = tf.reshape(self.features, [-1, width])
        bank_probs = tf.reshape(self.probs, [-1, classes])
        similarity = tf.matmul(tf.stop_gradient(_unit(features)), bank, transpose_b=True)
        size = int(bank.shape[0])
        votes = 0.0
        for _ in range(k):
            nearest = tf.one_hot(tf.argmax(similarity, axis=1), size)
            votes += tf.matmul(nearest, bank_probs)
            similarity -= 4.0 * nearest  # cosines are >= -1: a picked entry is never picked again
        return votes / float(k)

    def store(self, step, features, logits):
        """The op that writes the batch's unit features and probabilities into slot
        ``step`` mod slots."""
        mask = tf.reshape(tf.one_hot(tf.floormod(tf.cast(step, tf.int32), self.slots),
                                     self.slots), [self.slots, 1, 1])
        unit = tf.stop_gradient(_unit(features))
        probs = tf.stop_gradient(tf.nn.softmax(logits))
        return tf.group(
            self.features.assign(self.features * (1.0 - mask) + mask * unit[None]),
            self.probs.assign(self.probs * (1.0 - mask) + mask * probs[None]))


class MovingAverage(object):
    """An exponential moving average of ``variables`` (name -> variable) in shadow variables
    under ``scope``, started from the variables' values by ``reset`` (after they are restored):
    shadow <- decay * shadow + (1 - decay) * variable after each update."""

    def __init__(self, variables, decay, scope='ema'):
        self.decay = decay
        self.variables = variables
        with tf.variable_scope(scope):
            self.shadows = collections.OrderedDict(
                (name, tf.get_variable(name, var.shape, var.dtype.base_dtype,
                                       initializer=tf.zeros_initializer(), trainable=False))
                for name, var in variables.items())
        self._reset = tf.group(*[shadow.assign(self.variables[name])
                                 for name, shadow in self.shadows.items()])

    def update(self):
        """The op that moves every shadow towards its variable (build it after the update)."""
        return tf.group(*[shadow.assign_sub((1.0 - self.decay) * (
            shadow - self.variables[name])) for name, shadow in self.shadows.items()])

    def reset(self, sess):
        sess.run(self._reset)
