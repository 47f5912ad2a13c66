"""The image operations the suite of shifts (adda.shifts) is made of: H x W float64 images in
[0, 1], background 0 (as MNIST's and USPS's). Plain NumPy, so that both runtimes write the
same bytes."""
import math

import numpy as np

# ITU-R 601 luma weights, those of the model's RGB -> grey (adda.models.model.GREY_WEIGHTS).
GREY_WEIGHTS = np.array([0.2989, 0.5870, 0.1140])


def shifted(image, dy, dx):
    """``image`` moved by whole pixels (down by dy, right by dx); what comes in is 0."""
    h, w = image.shape[:2]
    out = np.zeros_like(image)
    if abs(dy) < h and abs(dx) < w:
        out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
            image[max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


def warp(image, matrix, shift=(0.0, 0.0)):
    """Output pixel p samples ``image`` bilinearly at ``matrix @ (p - c) + c - shift`` (c the
    centre; ``shift`` in pixels, (down, right)); outside the image is 0."""
    h, w = image.shape
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    rows, cols = np.mgrid[0:h, 0:w].astype(np.float64)
    rows, cols = rows - cy, cols - cx
    y = matrix[0][0] * rows + matrix[0][1] * cols + (cy - shift[0])
    x = matrix[1][0] * rows + matrix[1][1] * cols + (cx - shift[1])
    padded = np.pad(image, 1, mode='constant')  # index -1 and h (or w) read 0
    y0, x0 = np.floor(y), np.floor(x)
    fy, fx = y - y0, x - x0
    # each corner's index in the padded image; a corner outside the image reads the padding
    y0, y1 = (np.clip(v, -1, h).astype(np.int64) + 1 for v in (y0, y0 + 1))
    x0, x1 = (np.clip(v, -1, w).astype(np.int64) + 1 for v in (x0, x0 + 1))
    top = padded[y0, x0] * (1 - fx) + padded[y0, x1] * fx
    bottom = padded[y1, x0] * (1 - fx) + padded[y1, x1] * fx
    return np.clip(top * (1 - fy) + bottom * fy, 0.0, 1.0)


def rotated(image, degrees):
    """``image`` rotated by ``degrees`` (counter-clockwise on screen) about its centre."""
    a = math.radians(degrees)
    c, s = math.cos(a), math.sin(a)
    return warp(image, [[c, -s], [s, c]])


def scaled(image, factor):
    """``image`` zoomed by ``factor`` about its centre (< 1 smaller, > 1 larger and cropped)."""
    return warp(image, [[1.0 / factor, 0.0], [0.0, 1.0 / factor]])


def disc(radius):
    """The (dy, dx) offsets of a disc of ``radius`` pixels."""
    r = int(math.floor(radius))
    return [(dy, dx) for dy in range(-r, r + 1) for dx in range(-r, r + 1)
            if dy * dy + dx * dx <= radius * radius]


def morphed(image, radius, dilate):
    """Strokes thickened (``dilate``) or thinned by about radius / 2 pixels on each side: grey
    dilation (max) or erosion (min) over a disc of ``radius`` at twice the resolution (nearest
    upsampling), then the mean of each 2 x 2 block."""
    big = np.repeat(np.repeat(image, 2, axis=0), 2, axis=1)
    # erosion sees 1 (not 0) outside the image, so a stroke touching the border is not eaten
    outside = 0.0 if dilate else 1.0
    padded_shape = (big.shape[0] + 2 * int(radius), big.shape[1] + 2 * int(radius))
    out = None
    for dy, dx in disc(radius):
        moved = np.full(padded_shape, outside)
        r = int(radius)
        moved[r + dy:r + dy + big.shape[0], r + dx:r + dx + big.shape[1]] = big
        moved = moved[r:r + big.shape[0], r:r + big.shape[1]]
        out = moved if out is None else (np.maximum(out, moved) if dilate else
                                         np.minimum(out, moved))
    return (out[0::2, 0::2] + out[0::2, 1::2] + out[1::2, 0::2] + out[1::2, 1::2]) / 4.0


def gaussian_blurred(image, sigma):
    """``image`` filtered with a Gaussian of ``sigma`` pixels (truncated at 3 sigma, zero
    outside), separably, as a sum of shifted copies."""
    radius = int(math.ceil(3 * sigma))
    weights = [math.exp(-0.5 * (k / sigma) ** 2) for k in range(-radius, radius + 1)]
    total = sum(weights)
    out = image
    for axis in (0, 1):
        acc = np.zeros_like(out)
        for k, weight in zip(range(-radius, radius + 1), weights):
            acc = acc + (weight / total) * (shifted(out, k, 0) if axis == 0 else
                                             shifted(out, 0, k))
        out = acc
    return out


def upsampled(grid, h, w):
    """A small grid resized bilinearly to h x w, its corners on the image's corners."""
    gh, gw = grid.shape
    y = np.linspace(0.0, gh - 1.0, h)
    x = np.linspace(0.0, gw - 1.0, w)
    y0 = np.minimum(np.floor(y).astype(np.int64), gh - 2)
    x0 = np.minimum(np.floor(x).astype(np.int64), gw - 2)
    fy, fx = (y - y0)[:, None], (x - x0)[None, :]
    top = grid[y0][:, x0] * (1 - fx) + grid[y0][:, x0 + 1] * fx
    bottom = grid[y0 + 1][:, x0] * (1 - fx) + grid[y0 + 1][:, x0 + 1] * fx
    return top * (1 - fy) + bottom * fy


def smooth_field(rng, h, w, cells=4):
    """A smooth random field in [0, 1]: uniform values on a (cells + 1)^2 grid, bilinear."""
    return upsampled(rng.uniform(0.0, 1.0, size=(cells + 1, cells + 1)), h, w)


def colour_of_luminance(luminance, rng):
    """A random RGB colour in [0, 1] whose grey value (GREY_WEIGHTS) is ``luminance``: a random
    hue, at 50-100% of the largest saturation that stays in range."""
    u = rng.uniform(0.0, 1.0, size=3)
    d = u - float(np.dot(GREY_WEIGHTS, u))
    limits = [((1.0 - luminance) / v if v > 0 else -luminance / v) for v in d if v != 0]
    t = (min(limits) if limits else 0.0) * rng.uniform(0.5, 1.0)
    return np.clip(luminance + t * d, 0.0, 1.0)
