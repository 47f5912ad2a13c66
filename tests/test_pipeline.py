"""The tf.data pipelines: seeded per-epoch shuffling, exact resume, ordered evaluation."""
import numpy as np
import pytest

from adda.compat import tf
from adda.data.dataset import ImageSplit
from adda.data.pipeline import evaluation_batches, training_batches


def numbered_split(n=10):
    """Image i is filled with the value i, so a batch tells which images it holds."""
    images = np.arange(n, dtype=np.float32).reshape(n, 1, 1, 1) * np.ones((1, 2, 2, 1))
    return ImageSplit(images, np.arange(n) % 10, 10, 'numbers')


def take(batches, count):
    with tf.Session() as sess:
        batches.initialize(sess)
        images, labels = batches.get_next()
        out = [sess.run([images, labels]) for _ in range(count)]
    return [b[0][:, 0, 0, 0].astype(int) for b in out], [b[1] for b in out]


def test_each_epoch_is_a_permutation_and_epochs_differ(tf_graph):
    order, labels = take(training_batches(numbered_split(), 5, seed=3), 4)
    flat = np.concatenate(order)
    assert sorted(flat[:10]) == list(range(10)) and sorted(flat[10:]) == list(range(10))
    assert list(flat[:10]) != list(flat[10:])
    assert np.all(np.concatenate(labels) == flat % 10)


def test_order_depends_only_on_seed_and_stream():
    def order(seed, stream=0):
        with tf.Graph().as_default():
            return np.concatenate(take(training_batches(numbered_split(), 5, seed, stream=stream),
                                       4)[0])
    assert np.array_equal(order(3), order(3))
    assert not np.array_equal(order(3), order(4))
    assert not np.array_equal(order(3), order(3, stream=1))


def test_start_step_continues_the_same_sequence():
    with tf.Graph().as_default():
        whole = np.concatenate(take(training_batches(numbered_split(), 3, seed=1), 7)[0])
    with tf.Graph().as_default():
        resumed = np.concatenate(take(training_batches(numbered_split(), 3, seed=1,
                                                       start_step=4), 3)[0])
    assert np.array_equal(whole[12:], resumed)


def test_preprocess_runs_inside_the_pipeline(tf_graph):
    batches = training_batches(numbered_split(), 4, seed=0, preprocess=lambda x: x * 2 + 1)
    with tf.Session() as sess:
        batches.initialize(sess)
        images, labels = sess.run(batches.get_next())
    assert np.array_equal(images[:, 0, 0, 0], labels * 2 + 1)


def test_evaluation_sees_every_image_once_in_order(tf_graph):
    """Fixed-size batches (static shapes): the last one is padded with the last image and its
    padding is marked invalid."""
    batches = evaluation_batches(numbered_split(7), 3)
    assert batches.num_batches == 3
    images, labels, valid = batches.get_next()
    assert images.shape.as_list() == [3, 2, 2, 1] and valid.shape.as_list() == [3]
    with tf.Session() as sess:
        batches.initialize(sess)
        seen = [sess.run([images, valid]) for _ in range(batches.num_batches)]
        with pytest.raises(tf.errors.OutOfRangeError):
            sess.run(images)
    assert np.concatenate([b[0] for b in seen])[:, 0, 0, 0].astype(int).tolist() == [
        0, 1, 2, 3, 4, 5, 6, 6, 6]
    assert np.concatenate([b[1] for b in seen]).tolist() == [True] * 7 + [False] * 2


def test_evaluation_batch_is_at_most_the_split(tf_graph):
    batches = evaluation_batches(numbered_split(4), 1000)
    assert batches.num_batches == 1
    assert batches.get_next()[0].shape.as_list()[0] == 4
