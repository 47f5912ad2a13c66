"""Image files decoded with Pillow into uint8 pixels, as the built-in sets' are: grey stays one
channel, anything else becomes RGB."""
import logging

import numpy as np

from adda.errors import DatasetError

MIXED_SIZE = 28  # LeNet's input: a folder's images of different sizes are resized to it on load
GREY_MODES = ('1', 'L', 'LA', 'La')
WIDE_GREY_MODES = ('I', 'I;16', 'I;16B', 'I;16L', 'I;16N')  # 16-bit grey (PNG, TIFF)


def decode_image(path):
    """H x W x 1 (grey) or H x W x 3 (RGB) uint8 pixels of an image file, as the file is: grey
    modes (and palettes of greys) stay grey, 16-bit grey is rounded to 8 bits, other modes
    become RGB (alpha dropped)."""
    from PIL import Image
    try:
        with Image.open(path) as image:
            mode = image.mode
            if mode in GREY_MODES:
                return np.asarray(image.convert('L'))[..., np.newaxis]
            if mode in WIDE_GREY_MODES:
                wide = np.asarray(image).astype(np.float64)
                return np.clip(np.round(wide / 257.0), 0, 255).astype(np.uint8)[..., np.newaxis]
            rgb = np.asarray(image.convert('RGB'))
    except OSError as e:
        if e.errno is not None:  # the file system's, not the decoder's (which has no errno)
            raise DatasetError('{}: cannot read the file ({})'.format(path, e.strerror or e))
        raise DatasetError('{}: not an image Pillow can read ({})'.format(path, e))
    except Exception as e:  # Pillow raises ValueError, SyntaxError... for bad files too
        raise DatasetError('{}: not an image Pillow can read ({})'.format(path, e))
    if mode in ('P', 'PA') and np.all(rgb == rgb[..., :1]):
        return rgb[..., :1]
    return rgb


def decode_images(paths):
    """N x H x W x C uint8 images of ``paths`` (RGB when any is RGB; grey then repeated as
    Pillow's convert('RGB') does); float32 resized to MIXED_SIZE when their sizes differ."""
    from tqdm import tqdm
    images = [decode_image(path) for path in tqdm(paths, unit='img', leave=False, disable=None,
                                                   desc='decoding')]
    channels = max(image.shape[2] for image in images)
    if channels == 3:
        images = [np.repeat(image, 3, axis=2) if image.shape[2] == 1 else image
                  for image in images]
    sizes = set(image.shape[:2] for image in images)
    if len(sizes) == 1:
        return np.stack(images)
    logging.info('%d image sizes from %s to %s: resizing every image to %dx%d', len(sizes),
                 'x'.join(map(str, min(sizes))), 'x'.join(map(str, max(sizes))), MIXED_SIZE,
                 MIXED_SIZE)
    return np.stack([resize_bilinear(image.astype(np.float32) / 255.0, MIXED_SIZE)
                     for image in images])


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
