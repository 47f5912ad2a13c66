"""Pseudo-labels voted by each target image's nearest target images (the neighbourhood
consistency of NRC and AaD, Yang et al., NeurIPS 2021 and 2022, as a label): refines
adda/terms/pseudo.py; the bank of the last epoch's features is part of the training state.
The recipe (adda/tasks.py) uses it."""
import click

from adda.errors import AddaError
from adda.terms import LOGITS, SIMILARITY_LAYER, Option, Term

# the bank holds about this many target images at most
NEIGHBOUR_BANK_IMAGES = 4096


def neighbour_slots(images, batch_size):
    """Batches the neighbour bank holds: enough for every target image (one epoch), at most
    about NEIGHBOUR_BANK_IMAGES images."""
    return max(1, min(-(-images // batch_size), NEIGHBOUR_BANK_IMAGES // batch_size))


class NeighbourBank(object):
    """The unit-length features and the predicted probabilities of the last ``slots`` target
    batches (a ring, one slot per step), for pseudo-labels voted by each image's nearest
    neighbours: the mean prediction of the ``k`` bank images whose features are the most
    cosine-similar to its own. An image's own entry from the previous epoch, while the ring
    still holds it, is usually among them. The bank starts empty: an empty slot votes for no
    class, so until the ring is full votes are less confident. The bank is a global variable,
    so the training state saves it. Only MatMul, ArgMax and OneHot (no TopK, no Gather, no
    Scatter: the 910's documented op list has none of them).
    """

    def __init__(self, slots, batch, width, classes, scope='neighbours'):
        from adda.compat import tf
        self.slots = slots
        with tf.variable_scope(scope):
            self.features = tf.get_variable('features', [slots, batch, width], tf.float32,
                                            initializer=tf.zeros_initializer(), trainable=False)
            self.probs = tf.get_variable('probs', [slots, batch, classes], tf.float32,
                                         initializer=tf.zeros_initializer(), trainable=False)

    def vote(self, features, k):
        """The mean probabilities [batch, classes] of the ``k`` bank entries nearest to each
        row of ``features`` (before this step's batch is stored)."""
        from adda.compat import tf
        from adda.losses import unit_rows
        width, classes = int(self.features.shape[-1]), int(self.probs.shape[-1])
        bank = tf.reshape(self.features, [-1, width])
        bank_probs = tf.reshape(self.probs, [-1, classes])
        similarity = tf.matmul(tf.stop_gradient(unit_rows(features)), bank, transpose_b=True)
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
        from adda.compat import tf
        from adda.losses import unit_rows
        mask = tf.reshape(tf.one_hot(tf.floormod(tf.cast(step, tf.int32), self.slots),
                                     self.slots), [self.slots, 1, 1])
        unit = tf.stop_gradient(unit_rows(features))
        probs = tf.stop_gradient(tf.nn.softmax(logits))
        return tf.group(
            self.features.assign(self.features * (1.0 - mask) + mask * unit[None]),
            self.probs.assign(self.probs * (1.0 - mask) + mask * probs[None]))


class Neighbours(Term):
    name = 'neighbours'
    position = 50
    requires = 'pseudo'
    layers = (LOGITS, SIMILARITY_LAYER)
    options = (
        Option('pseudo_neighbours', click.IntRange(0, 256), 0, "With --target_pseudo: each "
               "image's label is the mean prediction of its K most similar target images "
               "(cosine of the fc3 features, among the last epoch's batches) instead of its own "
               "prediction; 0: its own.", off=0, added=6, example=3),
    )

    def __init__(self, settings, setup):
        super(Neighbours, self).__init__(settings, setup)
        batch_size, k = setup.batch_size, settings.pseudo_neighbours
        slots = neighbour_slots(len(setup.target_split), batch_size)
        if k > slots * batch_size:
            raise AddaError('--pseudo_neighbours {} is more than the {} target images the '
                            'neighbour bank holds ({} batches of {})'.format(
                                k, slots * batch_size, slots, batch_size))
        self.bank = NeighbourBank(slots, batch_size, setup.similarity_width,
                                  setup.classes)
        self.store = None

    def prepare(self, step):
        """The pseudo-labels' teacher: the vote of the bank before this batch is stored."""
        from adda.compat import tf
        step.teacher = self.bank.vote(step.label_features, self.settings.pseudo_neighbours)
        with tf.control_dependencies([step.teacher]):
            self.store = self.bank.store(step.index, step.label_features, step.label_logits)

    def updates(self, step):
        return [self.store]


TERM = Neighbours
