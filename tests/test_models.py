"""Preprocessing, LeNet, the discriminator, variable collection and restoring across scopes."""
import numpy as np
import pytest

from adda.adversary import adversarial_discriminator
from adda.checkpoints import resolve_weights, restore
from adda.compat import tf
from adda.errors import AddaError
from adda.models import get_model_fn, preprocessing
from adda.util import collect_vars, slice_vars

lenet = get_model_fn('lenet')

LENET_VARIABLES = [('conv1/weights', [5, 5, 1, 20]), ('conv1/biases', [20]),
                   ('conv2/weights', [5, 5, 20, 50]), ('conv2/biases', [50]),
                   ('fc3/weights', [800, 500]), ('fc3/biases', [500]),
                   ('fc4/weights', [500, 10]), ('fc4/biases', [10])]


def test_rgb_becomes_grey_with_the_original_weights(tf_graph):
    rgb = np.zeros((1, 28, 28, 3), np.float32)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 1.0, 0.5, 0.25
    with tf.Session() as sess:
        grey = sess.run(preprocessing(tf.constant(rgb), lenet))
    assert grey.shape == (1, 28, 28, 1)
    np.testing.assert_allclose(grey, 0.2989 + 0.5870 * 0.5 + 0.1140 * 0.25, rtol=1e-6)


def test_resize_is_bilinear_to_28_and_keeps_the_range(tf_graph):
    usps = np.random.RandomState(0).uniform(size=(2, 16, 16, 1)).astype(np.float32)
    svhn = np.full((2, 32, 32, 3), 0.5, np.float32)
    with tf.Session() as sess:
        big, small = sess.run([preprocessing(tf.constant(usps), lenet),
                               preprocessing(tf.constant(svhn), lenet)])
    assert big.shape == (2, 28, 28, 1) and small.shape == (2, 28, 28, 1)
    assert usps.min() <= big.min() and big.max() <= usps.max()
    np.testing.assert_allclose(small, 0.5 * (0.2989 + 0.5870 + 0.1140), rtol=1e-5)
    # TF 1.x resize semantics (no half-pixel centres): output pixel 0 is input pixel 0, and
    # output pixel 1 sits 16/28 of the way to input pixel 1
    np.testing.assert_allclose(big[0, 0, 0, 0], usps[0, 0, 0, 0], rtol=1e-6)
    expected = usps[0, 0, 0, 0] + (usps[0, 0, 1, 0] - usps[0, 0, 0, 0]) * 16 / 28
    np.testing.assert_allclose(big[0, 0, 1, 0], expected, rtol=1e-5)


def test_lenet_shapes_and_variable_names(tf_graph):
    logits, layers = lenet(tf.placeholder(tf.float32, [None, 28, 28, 1]))
    assert logits.shape.as_list() == [None, 10]
    assert [(name, t.shape.as_list()[1:]) for name, t in layers.items()] == [
        ('conv1', [24, 24, 20]), ('pool1', [12, 12, 20]), ('conv2', [8, 8, 50]),
        ('pool2', [4, 4, 50]), ('fc3', [500]), ('fc4', [10])]
    assert [(v.op.name, v.shape.as_list()) for v in tf.global_variables()] == [
        ('lenet/' + name, shape) for name, shape in LENET_VARIABLES]
    assert [(k, v.shape.as_list()) for k, v in collect_vars('lenet').items()] == LENET_VARIABLES


def test_lenet_flattens_nhwc_row_major(tf_graph):
    """fc3 sees pool2 flattened in (h, w, c) order, as tf.contrib.layers.flatten did."""
    images = tf.constant(np.random.RandomState(1).uniform(size=(2, 28, 28, 1)), tf.float32)
    _, layers = lenet(images)
    weights = collect_vars('lenet')
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        pool2, fc3, w, b = sess.run([layers['pool2'], layers['fc3'], weights['fc3/weights'],
                                     weights['fc3/biases']])
    np.testing.assert_allclose(fc3, np.maximum(pool2.reshape(2, -1) @ w + b, 0), rtol=1e-4,
                               atol=1e-5)


def test_discriminator_layers_and_activation(tf_graph):
    features = tf.placeholder(tf.float32, [None, 10])
    logits = adversarial_discriminator(features, [7, 5], leaky=True)
    assert logits.shape.as_list() == [None, 2]
    assert [(v.op.name, v.shape.as_list()) for v in tf.global_variables()] == [
        ('adversary/fc1/weights', [10, 7]), ('adversary/fc1/biases', [7]),
        ('adversary/fc2/weights', [7, 5]), ('adversary/fc2/biases', [5]),
        ('adversary/logits/weights', [5, 2]), ('adversary/logits/biases', [2])]
    hidden = tf.get_default_graph().get_tensor_by_name('adversary/fc1/LeakyRelu:0')
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        pre = sess.run(tf.get_default_graph().get_tensor_by_name('adversary/fc1/BiasAdd:0'),
                       {features: np.ones((1, 10))})
        out = sess.run(hidden, {features: np.ones((1, 10))})
    np.testing.assert_allclose(out, np.where(pre > 0, pre, 0.1 * pre), rtol=1e-6)


def test_collect_vars_slices_by_name(tf_graph):
    lenet(tf.placeholder(tf.float32, [None, 28, 28, 1]), scope='target')
    lenet(tf.placeholder(tf.float32, [None, 28, 28, 1]), scope='target2')
    names = list(collect_vars('target', end='fc4'))
    assert names == [name for name, _ in LENET_VARIABLES[:6]]
    assert list(collect_vars('target', start='fc3', prepend_scope='x')) == [
        'x/fc3/weights', 'x/fc3/biases', 'x/fc4/weights', 'x/fc4/biases']
    with pytest.raises(AddaError, match="starts with 'fc9'"):
        slice_vars(collect_vars('target'), end='fc9', scope='target')


def test_snapshot_restores_into_another_scope(tmp_path):
    with tf.Graph().as_default():
        lenet(tf.placeholder(tf.float32, [None, 28, 28, 1]), scope='lenet')
        saved = collect_vars('lenet')
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            values = sess.run(saved)
            prefix = tf.train.Saver(saved).save(sess, str(tmp_path / 'snap'), global_step=7)
    with tf.Graph().as_default():
        lenet(tf.placeholder(tf.float32, [None, 28, 28, 1]), scope='target')
        target = collect_vars('target')
        with tf.Session() as sess:
            restore(sess, target, resolve_weights(str(tmp_path)))
            restored = sess.run(target)
    assert prefix.endswith('snap-7')
    for key in values:
        np.testing.assert_array_equal(values[key], restored[key])


def test_restore_reports_missing_keys_and_shapes(tmp_path):
    with tf.Graph().as_default():
        v = tf.get_variable('conv1/weights', [3], use_resource=True)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            prefix = tf.train.Saver({'conv1/weights': v}).save(sess, str(tmp_path / 'c'))
    with tf.Graph().as_default():
        lenet(tf.placeholder(tf.float32, [None, 28, 28, 1]))
        with tf.Session() as sess:
            with pytest.raises(AddaError, match=r'conv1/weights has shape \[3\]'):
                restore(sess, collect_vars('lenet'), prefix)
            with pytest.raises(AddaError, match='checkpoint has no variable conv1/biases'):
                restore(sess, slice_vars(collect_vars('lenet'), start='conv1/biases'), prefix)


def test_resolve_weights_errors(tmp_path):
    with pytest.raises(AddaError, match='no checkpoint in folder'):
        resolve_weights(str(tmp_path))
    with pytest.raises(AddaError, match='not found'):
        resolve_weights(str(tmp_path / 'nothing-100'))
    (tmp_path / 'bad.index').write_bytes(b'garbage')
    with tf.Graph().as_default():
        with pytest.raises(AddaError, match='not a readable checkpoint'):
            restore(None, {}, resolve_weights(str(tmp_path / 'bad')))
