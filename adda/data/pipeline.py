"""tf.data input pipelines over in-memory splits.

The arrays enter the graph once, through placeholders fed when the iterator is initialised;
each step gathers a batch by index inside the graph. Training order is a fresh permutation per
epoch drawn from a stateless generator seeded by (seed, stream, epoch), so step ``s`` always
sees the same batch: a resumed run continues exactly where the interrupted one was.

An unlabelled split (labels None) gives batches whose labels are all NO_LABEL (-1), which no
class is: a loss or an accuracy that reads them fails or shows it.
"""
import numpy as np

from adda.compat import tf
from adda.data.dataset import NO_LABEL
from adda.random_keys import EPOCHS, stateless_key

_FOREVER = 1 << 40  # the steps of an endless pipeline


def _without_autotune(dataset):
    """Fixed parallelism instead of tf.data's autotuner, whose model thread can keep a
    finishing session waiting up to a minute in the iterator's destructor."""
    options = tf.data.Options()
    if hasattr(options, 'autotune'):  # TF >= 2.x
        options.autotune.enabled = False
    else:  # TF 1.15
        options.experimental_optimization.autotune = False
    return dataset.with_options(options)


class Batches(object):
    """An initialisable iterator of batches and the arrays that start it; ``num_batches`` is
    the number of batches of a finite pipeline (None when endless)."""

    def __init__(self, dataset, placeholders, arrays, num_batches=None):
        self.iterator = tf.data.make_initializable_iterator(_without_autotune(dataset))
        self._placeholders = placeholders
        self._arrays = arrays
        self.num_batches = num_batches

    def initialize(self, sess, arrays=None):
        """Start from the first batch, over ``arrays`` (images, labels) when given (same
        shapes as the split's), else over the split's own."""
        feed = dict(zip(self._placeholders, arrays if arrays is not None else self._arrays))
        sess.run(self.iterator.initializer, feed_dict=feed)

    def get_next(self):
        return self.iterator.get_next()


def label_values(split):
    """The split's labels, or NO_LABEL for each image of an unlabelled split (labels None)."""
    labels = getattr(split, 'labels', None)
    return np.full(len(split.images), NO_LABEL, np.int64) if labels is None else labels


def _arrays(split):
    values = split.images, label_values(split)
    images = tf.placeholder(tf.float32, values[0].shape, name='images')
    labels = tf.placeholder(tf.int64, values[1].shape, name='labels')
    arrays = tf.data.Dataset.from_tensors((images, labels)).repeat()
    return arrays, (images, labels), values


def _gathered(arrays, indices, preprocess, augment, threads, both_views=False):
    def gather(data, index_step):
        index, step = index_step
        images = tf.gather(data[0], index)
        if preprocess is not None:
            images = preprocess(images)
        labels = tf.gather(data[1], index)
        if both_views:
            return images, labels, augment(images, step)
        if augment is not None:
            images = augment(images, step)
        return images, labels
    return tf.data.Dataset.zip((arrays, indices)).map(gather, num_parallel_calls=threads)


def epoch_order(size, seed, epoch, stream=0):
    """The permutation of ``range(size)`` used in ``epoch`` of ``stream``: a pure function of
    its inputs."""
    key = stateless_key(seed, 'epoch_order', stream, epoch)
    return tf.argsort(tf.random.stateless_uniform([size], seed=key), stable=True)


def training_batches(split, batch_size, seed, preprocess=None, start_step=0, stream=0,
                     threads=2, augment=None, both_views=False):
    """Endless shuffled batches; the first one is the batch of step ``start_step``.

    ``stream`` separates the orders of several pipelines that share a seed (source, target).
    Batches run across epoch boundaries, as the original's queues did. ``augment(images,
    step)``, when given, transforms each preprocessed batch (a pure function of its inputs);
    with ``both_views`` a batch is (images, labels, augmented images) instead.
    """
    size = len(split)
    first = start_step * batch_size
    epochs = tf.data.Dataset.range(first // size, EPOCHS)  # its range of keys
    indices = epochs.flat_map(lambda epoch: tf.data.Dataset.from_tensor_slices(
        epoch_order(size, seed, epoch, stream)))
    indices = indices.skip(first % size).batch(batch_size, drop_remainder=True)
    steps = tf.data.Dataset.range(start_step, _FOREVER)
    arrays, placeholders, values = _arrays(split)
    dataset = _gathered(arrays, tf.data.Dataset.zip((indices, steps)), preprocess, augment,
                        threads, both_views).prefetch(2)
    return Batches(dataset, placeholders, values)


def evaluation_batches(split, batch_size, preprocess=None, threads=2):
    """Every image once, in order: (images, labels, valid) batches of one fixed size (at most
    ``batch_size``, the split's size if smaller), so that every shape is static. The last
    batch is padded by repeating the last image; ``valid`` is False for the padding."""
    size = len(split)
    batch_size = max(1, min(batch_size, size))
    num_batches = -(-size // batch_size)
    positions = tf.data.Dataset.range(num_batches * batch_size).batch(batch_size,
                                                                       drop_remainder=True)
    arrays, placeholders, values = _arrays(split)

    def gather(data, position):
        index = tf.minimum(position, size - 1)
        images = tf.gather(data[0], index)
        if preprocess is not None:
            images = preprocess(images)
        return images, tf.gather(data[1], index), position < size

    dataset = tf.data.Dataset.zip((arrays, positions)).map(gather, num_parallel_calls=threads)
    return Batches(dataset.prefetch(2), placeholders, values, num_batches)


def each_batch(sess, batches, fetches):
    """Run ``fetches`` on every batch of a finite pipeline, from its start; yields the results.

    Runs exactly ``batches.num_batches`` times (no reliance on the end-of-data error, which
    a device-side GetNext may not raise the same way)."""
    batches.initialize(sess)
    for _ in range(batches.num_batches):
        yield sess.run(fetches)
