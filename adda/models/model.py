"""Model registry and the preprocessing every model input goes through."""
from adda.compat import tf
from adda.errors import AddaError

_models = {}

# ITU-R 601 luma weights, as the original used for RGB -> grey.
GREY_WEIGHTS = (0.2989, 0.5870, 0.1140)


def register_model_fn(name):
    def decorator(fn):
        _models[name] = fn
        return fn
    return decorator


def model_names():
    return sorted(_models)


def get_model_fn(name):
    if name not in _models:
        raise AddaError('unknown model {!r} (known: {})'.format(name, ', '.join(model_names())))
    return _models[name]


def preprocessing(images, model_fn):
    """NHWC images in [0, 1] -> the model's channels and size (bilinear), still in [0, 1]."""
    images = tf.cast(images, tf.float32)
    channels = int(images.shape[-1])
    if channels == 3 and model_fn.num_channels == 1:
        images = tf.reduce_sum(images * tf.constant(GREY_WEIGHTS), axis=-1, keepdims=True)
    elif channels == 1 and model_fn.num_channels == 3:
        images = tf.tile(images, [1, 1, 1, 3])
    size = model_fn.default_image_size
    if tuple(images.shape[1:3].as_list()) != (size, size):
        # TF 1.x resize_images semantics (no half-pixel centres) on both runtimes.
        images = tf.image.resize_bilinear(images, [size, size], align_corners=False)
    return images
