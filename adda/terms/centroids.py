"""Self-training on running class centroids of the target network's similarity-layer features
(SHOT's pseudo-labels, Liang et al., ICML 2020, kept online); the centroids are part of the
training state. Tried on tuning seeds, not adopted by any script."""
from adda.cli import NON_NEGATIVE, FiniteFloat
from adda.terms import LOGITS, SIMILARITY_LAYER, Option, Term


class ClassCentroids(object):
    """Running class centroids of the target features, for pseudo-labels by the nearest
    centroid (SHOT computes them over the whole target set once per epoch; here they are
    kept online, so the graph needs no pass over the data).

    Each step: batch centroid k = the L2-normalised features averaged with the weights of the
    predicted probability of class k; centroid <- m * centroid + (1 - m) * batch centroid
    (from 0, which cosine similarity ignores); an image's label is the class whose updated
    centroid is the most cosine-similar to its features. No gradient reaches the labels.
    """

    def __init__(self, classes, width, momentum, scope='centroids'):
        from adda.compat import tf
        self.momentum = momentum
        with tf.variable_scope(scope):
            self.centroids = tf.get_variable('centroids', [classes, width], tf.float32,
                                             initializer=tf.zeros_initializer(),
                                             trainable=False)

    def labels(self, features, logits):
        """(pseudo-labels [batch] int32, the op that stores the updated centroids)."""
        from adda.compat import tf
        from adda.losses import unit_rows
        probs = tf.stop_gradient(tf.nn.softmax(logits))
        unit = tf.stop_gradient(unit_rows(features))
        batch = tf.matmul(probs, unit, transpose_a=True) / (
            tf.reduce_sum(probs, axis=0)[:, None] + 1e-8)
        updated = self.momentum * self.centroids + (1.0 - self.momentum) * batch
        labels = tf.argmax(tf.matmul(unit, unit_rows(updated), transpose_b=True), axis=1,
                           output_type=tf.int32)
        return labels, self.centroids.assign(updated)


class Centroids(Term):
    name = 'centroids'
    position = 70
    layers = (LOGITS, SIMILARITY_LAYER)
    options = (
        Option('target_centroid', NON_NEGATIVE, 0.0, 'Self-training on pseudo-labels from '
               "running class centroids of the target network's fc3 features (SHOT's labels, "
               "kept online): weight of the cross-entropy of each target image's prediction "
               "against its nearest centroid's class (no labels).", added=5, example=0.3),
        Option('centroid_momentum', FiniteFloat(min=0.0, below=1.0), 0.9, 'With '
               '--target_centroid: the share of the running centroids each step keeps.',
               added=5, example=0.5),
    )

    def __init__(self, settings, setup):
        super(Centroids, self).__init__(settings, setup)
        self.centroids = ClassCentroids(setup.classes, setup.similarity_width,
                                        settings.centroid_momentum)
        self.update = None

    def mapping_loss(self, step):
        from adda.losses import softmax_xent
        passes = step.passes
        labels, self.update = self.centroids.labels(passes.similarity_features,
                                                    passes.target_logits)
        return self.settings.target_centroid * softmax_xent(labels, passes.target_logits)

    def updates(self, step):
        return [self.update]


TERM = Centroids
