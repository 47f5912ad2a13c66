"""LeNet as in the ADDA paper: two 5x5 VALID convolutions and two fully connected layers."""
from collections import OrderedDict

from adda.compat import tf
from adda.layers import conv2d_relu_pool, dense, flatten
from adda.models.model import register_model_fn


@register_model_fn('lenet')
def lenet(inputs, scope='lenet', is_training=True, reuse=tf.AUTO_REUSE):
    """28x28x1 images -> (10 logits, OrderedDict of the named layer outputs)."""
    layers = OrderedDict()
    with tf.variable_scope(scope, reuse=reuse):
        layers['conv1'], layers['pool1'] = conv2d_relu_pool(inputs, 20, 5, 'conv1')
        layers['conv2'], layers['pool2'] = conv2d_relu_pool(layers['pool1'], 50, 5, 'conv2')
        net = layers['fc3'] = dense(flatten(layers['pool2']), 500, 'fc3')
        net = layers['fc4'] = dense(net, 10, 'fc4', activation=None)
    return net, layers


lenet.default_image_size = 28
lenet.num_channels = 1
lenet.weight_decay = 2.5e-5
