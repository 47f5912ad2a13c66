"""Unlabelled splits (labels None) through what reads splits: the class check of a source and
a target, the input pipelines and the snapshot outputs' ImagesOnly."""
import numpy as np
import pytest

from adda.compat import tf
from adda.data.dataset import NO_LABEL, ImageSplit, check_same_classes, require_labels
from adda.data.pipeline import each_batch, evaluation_batches, training_batches
from adda.errors import AddaError


def numbered(n=7, labels=False, classes=None, name='target train'):
    """Image i is filled with the value i; unlabelled unless ``labels``."""
    images = np.arange(n, dtype=np.float32).reshape(n, 1, 1, 1) * np.ones((1, 2, 2, 1))
    return ImageSplit(images, np.arange(n) % 3 if labels else None,
                      None if classes is None else len(classes), name, classes,
                      None if labels else 'an image folder without class folders')


def test_an_unlabelled_split_has_no_labels_to_read():
    split = numbered()
    assert split.labels is None and not split.labelled and len(split) == 7
    assert split.classes is None and split.num_classes is None
    with pytest.raises(AddaError) as info:
        split.class_counts()
    assert str(info.value) == ('target train has no labels (an image folder without class '
                               'folders): there are no classes to count')
    assert require_labels(numbered(labels=True), 'x').labelled


def test_the_class_check_takes_an_unlabelled_target_and_refuses_other_classes():
    source = numbered(labels=True, classes=('0', '1', '2'), name='mnist train')
    check_same_classes([source, numbered()])
    check_same_classes([numbered(), source])
    check_same_classes([source, numbered(classes=('0', '1', '2'))])
    # a small check set that lacks a class folder named by a number
    check_same_classes([source, numbered(classes=('0', None, '2'), name='t test')])
    with pytest.raises(AddaError) as info:
        check_same_classes([source, numbered(), numbered(classes=('0', '1'), name='t test')])
    assert str(info.value) == ('source and target must have the same classes: mnist train has '
                               '0 1 2 and t test has 0 1')


def test_evaluation_batches_cover_an_unlabelled_split_with_no_label(tf_graph):
    batches = evaluation_batches(numbered(), 3)
    with tf.Session() as sess:
        parts = list(each_batch(sess, batches, batches.get_next()))
    images = np.concatenate([p[0] for p in parts])[:, 0, 0, 0]
    labels = np.concatenate([p[1] for p in parts])
    valid = np.concatenate([p[2] for p in parts])
    assert images[valid].tolist() == list(range(7)) and valid.sum() == 7
    assert np.all(labels == NO_LABEL)


def test_training_batches_of_an_unlabelled_split(tf_graph):
    batches = training_batches(numbered(), 7, seed=1)
    with tf.Session() as sess:
        batches.initialize(sess)
        images, labels = sess.run(batches.get_next())
    assert sorted(images[:, 0, 0, 0].astype(int)) == list(range(7))
    assert np.all(labels == NO_LABEL)


def test_images_only_never_reads_labels():
    from adda.snapshot_outputs import ImagesOnly, sample_of
    split = numbered(n=20)
    only = ImagesOnly(split)
    assert len(only) == 20 and only.labels.tolist() == [0] * 20 and only.num_classes is None
    sample = sample_of(split, 5)
    assert len(sample) == 5 and len(sample.labels) == 5
    assert set(sample.images[:, 0, 0, 0].astype(int)) <= set(range(20))
