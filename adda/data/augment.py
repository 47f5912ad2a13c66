"""Random zoom and shift, shear, and stroke thickness, of training images (options of source
training).

Drawn from a stateless generator keyed by (seed, step), so a resumed run sees the same images.
"""
from adda.compat import tf
from adda.random_keys import stateless_key


def zoom_shift(images, strength, seed, step, stream=0, zoom=None):
    """Each NHWC image of the batch zoomed by a factor in [1 - strength, 1 + strength] (in
    [low, high] with ``zoom`` = (low, high): below 1 the digit shrinks) and shifted by up to
    ``strength`` of its size along each axis (bilinear; what comes in from outside the image is
    0, the background of the digit datasets). ``strength`` 0 and no ``zoom``: unchanged.
    ``stream`` keeps the draws of several pipelines that share a seed apart."""
    if not strength and not zoom:
        return images
    batch = int(images.shape[0])
    key = stateless_key(seed, 'zoom_shift', stream, step)
    draws = tf.random.stateless_uniform([batch, 3], seed=key, minval=-1.0, maxval=1.0)
    if zoom:
        low, high = float(zoom[0]), float(zoom[1])
        factor = low + (high - low) * 0.5 * (draws[:, 0] + 1.0)
    else:
        factor = 1.0 + strength * draws[:, 0]
    half = 0.5 / factor  # half the crop box, in image fractions
    centre_y = 0.5 + strength * draws[:, 1]
    centre_x = 0.5 + strength * draws[:, 2]
    boxes = tf.stack([centre_y - half, centre_x - half, centre_y + half, centre_x + half], 1)
    size = images.shape[1:3].as_list()
    return tf.image.crop_and_resize(images, boxes, tf.range(batch), size,
                                    extrapolation_value=0.0)


def stroke(images, strength, seed, step, stream=0):
    """Each NHWC image's strokes made thicker or thinner by a random amount t in [-strength,
    strength]: the image moves a fraction |t| of the way to its grey-scale dilation (t > 0,
    3x3 maximum) or erosion (t < 0, 3x3 minimum). USPS's digits have thicker strokes than
    MNIST's. ``strength`` 0: unchanged."""
    if not strength:
        return images
    batch = int(images.shape[0])
    key = stateless_key(seed, 'stroke', stream, step)
    amount = tf.random.stateless_uniform([batch, 1, 1, 1], seed=key, minval=-strength,
                                         maxval=strength)
    window = dict(ksize=[1, 3, 3, 1], strides=[1, 1, 1, 1], padding='SAME')
    dilated = tf.nn.max_pool(images, **window)
    eroded = -tf.nn.max_pool(-images, **window)
    thicker = tf.cast(amount > 0, images.dtype)
    towards = thicker * dilated + (1.0 - thicker) * eroded
    return images + tf.abs(amount) * (towards - images)


def shear(images, strength, seed, step, stream=0):
    """Each NHWC image sheared horizontally by a random factor s in [-strength, strength]:
    a row y pixels below the centre row moves s * y pixels to the right (linear
    interpolation; what comes in from outside the image is 0). USPS's digits are deslanted,
    MNIST's lean. ``strength`` 0: unchanged."""
    if not strength:
        return images
    batch, height, width = (int(d) for d in images.shape[:3])
    key = stateless_key(seed, 'shear', stream, step)
    factor = tf.random.stateless_uniform([batch, 1, 1, 1], seed=key, minval=-strength,
                                         maxval=strength)
    rows = tf.reshape(tf.range(height, dtype=tf.float32) - 0.5 * (height - 1), [1, height, 1, 1])
    columns = tf.range(width, dtype=tf.float32)
    # output pixel (y, x) reads input column x - s * y: as a dense [B, H, W, W] weight matrix
    # (a triangle kernel, so bilinear), which needs no gathers
    wanted = tf.reshape(columns, [1, 1, width, 1]) - factor * rows
    weights = tf.nn.relu(1.0 - tf.abs(wanted - tf.reshape(columns, [1, 1, 1, width])))
    return tf.matmul(weights, images)
