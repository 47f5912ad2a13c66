"""The stateless random keys of training: (seed, counter), one range of counters per use, so
that no two uses ever draw from the same key and a resumed run draws what the interrupted one
would have.

A draw's counter is its range's start plus the step (the epoch, for the data order). Streams
keep the source (0) and target (1) pipelines apart. tests/test_terms.py checks that no two
ranges overlap.
"""
from adda.compat import tf

SPAN = 1 << 41  # counters per range: far more steps than any run takes
EPOCHS = 1 << 40  # the data order's ranges, by epoch: half a span each
# use -> the first counter of its range, per stream (None: the use has no such stream)
KEY_RANGES = {
    'epoch_order': (0, EPOCHS),
    'zoom_shift': (1 * SPAN, 3 * SPAN),
    'stroke': (2 * SPAN, 4 * SPAN),
    'shear': (-1 * SPAN, -2 * SPAN),
    'vat': (None, 7 * SPAN),
}


def range_length(use):
    return EPOCHS if use == 'epoch_order' else SPAN


def stateless_key(seed, use, stream, counter):
    """The int64 [2] key of ``use``'s draw number ``counter`` (a step or an epoch) in
    ``stream``."""
    return tf.stack([tf.cast(seed, tf.int64),
                     tf.cast(counter, tf.int64) + KEY_RANGES[use][stream]])
