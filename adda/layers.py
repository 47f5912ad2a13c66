"""Layers built from tf.get_variable and tf.nn: variables ``<scope>/weights``, ``<scope>/biases``.

Weights use Glorot (Xavier) uniform initialisation and biases start at zero, as slim did in the
original implementation, so checkpoints carry the same keys and shapes.
"""
from adda.compat import tf


def _parameters(weight_shape, units):
    weights = tf.get_variable('weights', weight_shape,
                              initializer=tf.glorot_uniform_initializer())
    biases = tf.get_variable('biases', [units], initializer=tf.zeros_initializer())
    return weights, biases


def conv2d_relu_pool(x, filters, size, scope):
    """ReLU(conv + bias), then 2x2 max-pool with stride 2, computed as ReLU(pool(conv) + bias).

    Max-pooling commutes exactly with adding a per-channel bias and with ReLU (both are
    monotonic, in floating point too), so the pooled values are the same, while the bias, the
    ReLU and their gradients touch a quarter of the values.
    Returns (the unpooled activation, which only runs when fetched, and the pooled one).
    """
    with tf.variable_scope(scope):
        weights, biases = _parameters([size, size, int(x.shape[-1]), filters], filters)
        conv = tf.nn.conv2d(x, weights, [1, 1, 1, 1], 'VALID')
        pooled = tf.nn.relu(tf.nn.bias_add(max_pool(conv), biases))
        return tf.nn.relu(tf.nn.bias_add(conv, biases)), pooled


def dense(x, units, scope, activation=tf.nn.relu):
    with tf.variable_scope(scope):
        weights, biases = _parameters([int(x.shape[-1]), units], units)
        x = tf.nn.bias_add(tf.matmul(x, weights), biases)
        return activation(x) if activation else x


def max_pool(x, size=2, stride=2):
    return tf.nn.max_pool(x, [1, size, size, 1], [1, stride, stride, 1], 'VALID')


def flatten(x):
    """NHWC -> (N, H*W*C), row-major like tf.contrib.layers.flatten."""
    return tf.reshape(x, [-1, int(x.shape[1]) * int(x.shape[2]) * int(x.shape[3])])


def weight_decay(variables, scale):
    """``scale`` * sum of l2_loss (half squared norm) over the ``weights`` variables."""
    weights = [v for v in variables if v.op.name.endswith('/weights')]
    return scale * tf.add_n([tf.nn.l2_loss(w) for w in weights])
