"""LeNet as in the ADDA paper: two 5x5 VALID convolutions and two fully connected layers."""
from collections import OrderedDict

from adda.compat import tf
from adda.layers import conv2d, dense, flatten, max_pool
from adda.models.model import register_model_fn


@register_model_fn('lenet')
def lenet(inputs, scope='lenet', is_training=True, reuse=tf.AUTO_REUSE):
    """28x28x1 images -> (10 logits, OrderedDict of the named layer outputs)."""
    layers = OrderedDict()
    with tf.variable_scope(scope, reuse=reuse):
        net = layers['conv1'] = conv2d(inputs, 20, 5, 'conv1')
        net = layers['pool1'] = max_pool(net)
        net = layers['conv2'] = conv2d(net, 50, 5, 'conv2')
        net = layers['pool2'] = max_pool(net)
        net = layers['fc3'] = dense(flatten(net), 500, 'fc3')
        net = layers['fc4'] = dense(net, 10, 'fc4', activation=None)
    return net, layers


lenet.default_image_size = 28
lenet.num_channels = 1
lenet.weight_decay = 2.5e-5
