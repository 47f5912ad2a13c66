"""Image files decoded with Pillow into uint8 pixels, as the built-in sets' are: grey stays one
channel, anything else becomes RGB.

Memory is bounded by the model's input, not by the files: an image whose longer side is more
than REDUCE_ABOVE pixels is reduced while it is decoded, one image at a time, so that each side
longer than MODEL_INPUT becomes MODEL_INPUT (a shorter side is kept): a JPEG is decoded at 1/2,
1/4 or 1/8 scale in the DCT domain (Pillow's ``draft``, down to DRAFT_MARGIN times that size),
then every image is area-averaged (Pillow's BOX filter) to that size. The model's preprocessing
resizes every image to MODEL_INPUT x MODEL_INPUT bilinearly without keeping the aspect ratio
and without antialiasing (a 3000-pixel photo sampled at 28 points keeps almost none of a
stroke); the reduction gives the same geometry, averaged instead of sampled.
"""
import collections
import logging
import math

import numpy as np

from adda.errors import DatasetError

# LeNet's input side (adda/models/lenet.py, default_image_size): large images are reduced to it
# when decoded, and a folder's images of different sizes are resized to it on load.
MODEL_INPUT = 28
REDUCE_ABOVE = 2 * MODEL_INPUT  # a longer side above this is reduced when decoded
DRAFT_MARGIN = 4  # a JPEG's DCT-domain scaling stops at 4 times the reduced size
GREY_MODES = ('1', 'L', 'LA', 'La')
WIDE_GREY_MODES = ('I', 'I;16', 'I;16B', 'I;16L', 'I;16N')  # 16-bit grey (PNG, TIFF)

# pixels: H x W x C uint8; size: (height, width) of the file's image, before any reduction
Decoded = collections.namedtuple('Decoded', 'pixels size')


def reduced_size(width, height):
    """(width, height) an image of this size is reduced to when decoded, None when it is not."""
    if max(width, height) <= REDUCE_ABOVE:
        return None
    return min(width, MODEL_INPUT), min(height, MODEL_INPUT)


def _filters():
    from PIL import Image
    return getattr(Image, 'Resampling', Image)  # Pillow >= 9.1 has the enum, older the names


def _draft(image, target):
    """Have a JPEG decoded at 1/2, 1/4 or 1/8 scale in the DCT domain (each pixel the mean of a
    block), at least DRAFT_MARGIN times ``target``; the region of the smaller image that
    holds the picture (a last column or row may be partly padding), or None (not drafted)."""
    width, height = image.size
    wanted = tuple(min(side, DRAFT_MARGIN * t) for side, t in zip(image.size, target))
    image.draft(image.mode, wanted)
    if image.size == (width, height):
        return None
    scale = 2 ** int(round(math.log(float(width) / image.size[0], 2)))
    return 0, 0, float(width) / scale, float(height) / scale


def _reduce(image, target, region=None):
    """``image`` (its ``region``) area-averaged to ``target`` (width, height), or itself when
    target is None: every source pixel counts, weighted by its overlap."""
    if target is None or (image.size == target and region is None):
        return image
    return image.resize(target, _filters().BOX, box=region)


def _pixels(image, target, region=None):
    """H x W x 1 or H x W x 3 uint8 pixels of an opened image, reduced to ``target``."""
    from PIL import Image
    mode = image.mode
    if mode in GREY_MODES:
        return np.asarray(_reduce(image.convert('L'), target, region))[..., np.newaxis]
    if mode in WIDE_GREY_MODES:
        wide = np.asarray(image)
        if target is not None:
            wide = np.asarray(_reduce(Image.fromarray(wide.astype(np.float32), 'F'), target))
        wide = wide.astype(np.float64)
        return np.clip(np.round(wide / 257.0), 0, 255).astype(np.uint8)[..., np.newaxis]
    rgb = np.asarray(_reduce(image.convert('RGB'), target, region))
    if mode in ('P', 'PA') and np.all(rgb == rgb[..., :1]):
        return rgb[..., :1]
    return rgb


def decode_image(path):
    """Decoded(pixels, size): H x W x 1 (grey) or H x W x 3 (RGB) uint8 pixels of an image file,
    as the file is (grey modes and palettes of greys stay grey, 16-bit grey is rounded to 8 bits,
    other modes become RGB, alpha dropped), reduced when large (see the module's docstring);
    ``size``: the file's (height, width)."""
    from PIL import Image
    try:
        with Image.open(path) as image:
            width, height = image.size
            target = reduced_size(width, height)
            region = None
            if target is not None and image.format == 'JPEG':
                region = _draft(image, target)
            pixels = _pixels(image, target, region)
    except OSError as e:
        if e.errno is not None:  # the file system's, not the decoder's (which has no errno)
            raise DatasetError('{}: cannot read the file ({})'.format(path, e.strerror or e))
        raise DatasetError('{}: not an image Pillow can read ({})'.format(path, e))
    except Exception as e:  # Pillow raises ValueError, SyntaxError... for bad files too
        raise DatasetError('{}: not an image Pillow can read ({})'.format(path, e))
    return Decoded(pixels, (height, width))


def decode_images(paths, errors=None, desc='decoding'):
    """(images, sizes): N x H x W x C uint8 images of ``paths`` (RGB when any is RGB; grey then
    repeated as Pillow's convert('RGB') does), float32 resized to MODEL_INPUT when their sizes
    differ; N x 2 (height, width) of the files. With a list ``errors``, a bad file's message is
    appended to it and decoding goes on (then (None, None) when any is bad); else it raises."""
    from tqdm import tqdm
    images, sizes = [], []
    for path in tqdm(paths, unit='img', leave=False, disable=None, desc=desc):
        try:
            decoded = decode_image(path)
        except DatasetError as e:
            if errors is None:
                raise
            errors.append(str(e))
            continue
        images.append(decoded.pixels)
        sizes.append(decoded.size)
    if errors:
        return None, None
    return stack_images(images), np.array(sizes, np.int64).reshape(-1, 2)


def stack_images(images):
    """One N x H x W x C array of H x W x C uint8 images: uint8 when they have one size, else
    float32 in [0, 1], each resized to MODEL_INPUT x MODEL_INPUT."""
    channels = max(image.shape[2] for image in images)
    if channels == 3:
        images = [np.repeat(image, 3, axis=2) if image.shape[2] == 1 else image
                  for image in images]
    sizes = set(image.shape[:2] for image in images)
    if len(sizes) == 1:
        return np.stack(images)
    logging.info('%d image sizes from %s to %s: resizing every image to %dx%d', len(sizes),
                 'x'.join(map(str, min(sizes))), 'x'.join(map(str, max(sizes))), MODEL_INPUT,
                 MODEL_INPUT)
    resized = np.empty((len(images), MODEL_INPUT, MODEL_INPUT, channels), np.float32)
    for i, image in enumerate(images):
        resized[i] = resize_bilinear(image.astype(np.float32) / 255.0, MODEL_INPUT)
    return resized


def _axis(size_in, size_out):
    scale = np.float32(size_in) / np.float32(size_out)
    position = np.arange(size_out, dtype=np.float32) * scale
    low = np.floor(position).astype(np.int64)
    return low, np.minimum(low + 1, size_in - 1), (position - low).astype(np.float32)


def resize_bilinear(image, size):
    """An H x W x C float32 image resized to size x size as the graph's preprocessing does
    (TensorFlow 1.x resize_bilinear: no half-pixel centres, corners not aligned)."""
    top, bottom, dy = _axis(image.shape[0], size)
    left, right, dx = _axis(image.shape[1], size)
    dy, dx = dy[:, np.newaxis, np.newaxis], dx[np.newaxis, :, np.newaxis]
    upper = image[top][:, left] + (image[top][:, right] - image[top][:, left]) * dx
    lower = image[bottom][:, left] + (image[bottom][:, right] - image[bottom][:, left]) * dx
    return (upper + (lower - upper) * dy).astype(np.float32)
