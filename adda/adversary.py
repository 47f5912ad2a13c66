"""The domain discriminator: fully connected layers, then 2 logits (source 0, target 1)."""
import functools

from adda.compat import tf
from adda.layers import dense

LEAKY_SLOPE = 0.1


def adversarial_discriminator(net, layers, scope='adversary', leaky=False, reuse=tf.AUTO_REUSE):
    """``layers`` hidden widths with ReLU (or leaky ReLU, slope 0.1) -> 2-way logits.

    The original attached an L2 regulariser here but never added it to a loss; we leave it out.
    """
    if leaky:
        activation = functools.partial(tf.nn.leaky_relu, alpha=LEAKY_SLOPE)
    else:
        activation = tf.nn.relu
    with tf.variable_scope(scope, reuse=reuse):
        for index, units in enumerate(layers, 1):
            net = dense(net, units, 'fc{}'.format(index), activation=activation)
        return dense(net, 2, 'logits', activation=None)
