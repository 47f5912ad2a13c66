"""Losses of the training steps: cross-entropies, the discriminator's, and the generic losses
the adaptation terms (adda/terms/) weigh into the step. None uses target labels.
"""
from adda.compat import tf


def softmax_xent(labels, logits):
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=labels, logits=logits))


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


def unit_rows(vectors):
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

    direction = probe * unit_rows(tf.random.stateless_normal(tf.shape(images), seed=key))
    slope = tf.gradients(divergence(network(images + direction)), [direction])[0]
    worst = radius * unit_rows(tf.stop_gradient(slope))
    return divergence(network(images + worst))
