"""A suite of digit domain shifts, each written as a dataset of one's own (``<name>.npz``).

``python -m adda.shifts [--out DIR] [--list] [--unlabelled] [NAME...]`` builds the constructed
domains of ``SHIFTS`` from the MNIST and USPS files (read with the project's loaders) and writes
each as ``<out>/<name>.npz`` with ``x_train``, ``y_train``, ``x_test``, ``y_test`` (uint8 images
N x H x W, or N x H x W x 3 for colour), which every tool then reads by name from the data root.

- **No leak from a source.** The MNIST-based domains are built from MNIST's *test* split only
  (image i goes to the domain's test split when i mod 5 = 4, else to its train split: 8000 /
  2000 images, both halves of MNIST's test split in each), so a model trained on ``mnist`` or
  ``mnist2000`` (MNIST's training split) has seen none of their images. The USPS-based ones
  keep USPS's splits (train -> train, test -> test); they pair with an MNIST source.
- **Deterministic.** Each domain has one seed, ``zlib.crc32(name)``; image i of split s is
  transformed with its own ``numpy.random.RandomState([seed, s, i])`` (a generator NumPy keeps
  stable across versions), so an image's transform does not depend on the others, nor on
  ``--limit``. The transforms are NumPy arithmetic (bilinear warps, morphology and filters as
  sums of shifted copies; ``math`` for the scalar trigonometry), with no TensorFlow, Pillow or
  SciPy in the image path, so both runtimes write the same arrays.
- **Tuning or held-out.** Each shift is declared, before any experiment ran on it, as a TUNING
  shift (a recipe may be chosen on it) or a HELD-OUT one (only for checking a chosen recipe);
  docs/results.md, "A suite of shifts (issue 43)", has the table.
"""
import collections
import io
import os
import sys
import time
import zipfile
import zlib

import click
import numpy as np

from adda.shift_ops import (GREY_WEIGHTS, colour_of_luminance, gaussian_blurred,  # noqa: F401
                            morphed, rotated, scaled, shifted, smooth_field)

TUNING = 'tuning'
HELD_OUT = 'held-out'
MNIST_TEST = 'mnist test'  # MNIST's test split: i mod 5 != 4 -> train (8000), = 4 -> test (2000)
USPS = 'usps'  # USPS: train -> train (7291), test -> test (2007)
BASES = {MNIST_TEST: 'MNIST test split: image i mod 5 = 4 -> test (2000), the others -> train '
                     '(8000)',
         USPS: 'USPS: train -> train (7291), test -> test (2007)'}
SPLIT_CODES = {'train': 0, 'test': 1}
UNLABELLED_SUFFIX = '_unlabelled'

Shift = collections.namedtuple('Shift', 'name base role transform description')


# ---------------------------------------------------------------------------------------------
# The transforms: (image, rng, pool, index) -> image in [0, 1]. ``pool`` holds the base images
# of the same split of the domain (the clutter's fragments come from it), ``index`` the image's
# own position in it.

def t_inverted(image, rng, pool, index):
    return 1.0 - image


def t_thick(image, rng, pool, index):
    return morphed(image, rng.choice([2.0, 3.0]), dilate=True)


def t_thin(image, rng, pool, index):
    return morphed(image, 1.0, dilate=False)


def t_rotated(image, rng, pool, index):
    degrees = rng.uniform(20.0, 45.0) * rng.choice([-1.0, 1.0])
    return rotated(image, degrees)


def t_small(image, rng, pool, index):
    return scaled(image, rng.uniform(0.5, 0.75))


def t_large(image, rng, pool, index):
    return scaled(image, rng.uniform(1.3, 1.6))


def t_blur(image, rng, pool, index):
    out = gaussian_blurred(image, rng.uniform(1.0, 1.8))
    peak = out.max()
    return out * (image.max() / peak) if peak > 0 else out


def t_noise(image, rng, pool, index):
    sigma = rng.uniform(0.15, 0.35)
    return np.clip(image + sigma * rng.normal(size=image.shape), 0.0, 1.0)


def t_shifted(image, rng, pool, index):
    while True:
        dy, dx = rng.randint(-6, 7), rng.randint(-6, 7)
        if max(abs(dy), abs(dx)) >= 3:
            return shifted(image, dy, dx)


def t_clutter(image, rng, pool, index):
    """3-6 fragments (8-14 px squares around an inked pixel) of other digits of the same split at
    30-65% intensity, and a smooth field of 5-25%, under the digit (pixelwise maximum)."""
    h, w = image.shape
    canvas = smooth_field(rng, h, w) * rng.uniform(0.05, 0.25)
    for _ in range(rng.randint(3, 7)):
        other = rng.randint(len(pool) - 1)
        other += other >= index  # never the image itself
        source = pool[other]
        size = rng.randint(8, 15)
        ink = np.argwhere(source > 0.5)
        cy, cx = ink[rng.randint(len(ink))] if len(ink) else (h // 2, w // 2)
        top = int(np.clip(cy - size // 2, 0, h - size))
        left = int(np.clip(cx - size // 2, 0, w - size))
        fragment = source[top:top + size, left:left + size] * rng.uniform(0.30, 0.65)
        y, x = rng.randint(h - size + 1), rng.randint(w - size + 1)
        canvas[y:y + size, x:x + size] = np.maximum(canvas[y:y + size, x:x + size], fragment)
    return np.maximum(image, canvas)


def t_colour(image, rng, pool, index):
    """Coloured strokes on a coloured, shaded background; the grey values of stroke and
    background differ by 0.35-0.75, dark on light in half the images, at random levels (within
    0.08-0.92; the background shaded towards a second colour up to 0.15 lighter or darker), so the
    model's RGB -> grey gives a digit of varying polarity, contrast and brightness on a shaded
    background."""
    h, w = image.shape
    contrast = rng.uniform(0.35, 0.75)
    low = rng.uniform(0.08, 0.92 - contrast)  # grey values in 0.08-0.92, where colours can be
    dark_on_light = rng.uniform() < 0.5
    stroke_l, back_l = (low, low + contrast) if dark_on_light else (low + contrast, low)
    stroke = colour_of_luminance(stroke_l, rng)
    back = colour_of_luminance(back_l, rng)
    other_l = float(np.clip(back_l + rng.uniform(-0.15, 0.15), 0.08, 0.92))
    back2 = colour_of_luminance(other_l, rng)
    field = smooth_field(rng, h, w)[..., None]
    background = back * (1 - field) + back2 * field
    alpha = image[..., None]
    return np.clip(background * (1 - alpha) + stroke * alpha, 0.0, 1.0)


# The suite, declared before any experiment ran on it: 7 tuning and 7 held-out shifts. Each
# family of transforms is on one side only (the tuning side's noise, thick strokes, smaller
# digits, rotation, clutter; the held-out side's blur, thin strokes, larger digits, shifts,
# inversion, colour), and the held-out side has two mild ones (thin, blur) and two hard ones
# (inverted, colour).
SHIFTS = collections.OrderedDict((s.name, s) for s in [
    Shift('mnist_thick', MNIST_TEST, TUNING, t_thick,
          'thicker strokes: grey dilation by 1-1.5 px'),
    Shift('mnist_small', MNIST_TEST, TUNING, t_small,
          'smaller digits: zoomed out by 0.5-0.75 about the centre'),
    Shift('mnist_rotated', MNIST_TEST, TUNING, t_rotated,
          'rotated by 20-45 degrees either way'),
    Shift('mnist_noise', MNIST_TEST, TUNING, t_noise,
          'additive Gaussian noise, sigma 0.15-0.35, clipped to [0, 1]'),
    Shift('mnist_clutter', MNIST_TEST, TUNING, t_clutter,
          'cluttered background: 3-6 fragments of other digits at 30-65% and a smooth field'),
    Shift('usps_rotated', USPS, TUNING, t_rotated,
          'USPS rotated by 20-45 degrees either way'),
    Shift('usps_noise', USPS, TUNING, t_noise,
          'USPS with additive Gaussian noise, sigma 0.15-0.35, clipped to [0, 1]'),
    Shift('mnist_thin', MNIST_TEST, HELD_OUT, t_thin,
          'thinner strokes: grey erosion by 0.5 px each side'),
    Shift('mnist_blur', MNIST_TEST, HELD_OUT, t_blur,
          'Gaussian blur, sigma 1.0-1.8 px, peak brightness kept'),
    Shift('mnist_large', MNIST_TEST, HELD_OUT, t_large,
          'larger digits: zoomed in by 1.3-1.6 about the centre, cropped'),
    Shift('mnist_shifted', MNIST_TEST, HELD_OUT, t_shifted,
          'off-centre: moved by up to 6 px each way (at least 3 px one way)'),
    Shift('mnist_inverted', MNIST_TEST, HELD_OUT, t_inverted,
          'inverted contrast: dark digits on white (1 - x)'),
    Shift('mnist_colour', MNIST_TEST, HELD_OUT, t_colour,
          'RGB: coloured strokes on coloured, shaded backgrounds, half dark on light'),
    Shift('usps_inverted', USPS, HELD_OUT, t_inverted,
          'USPS with inverted contrast: dark digits on white (1 - x)'),
])


# ---------------------------------------------------------------------------------------------
# Building and writing.

def seed_of(name):
    """The domain's seed: CRC-32 of its name."""
    return zlib.crc32(name.encode('utf-8')) & 0xffffffff


def get_shift(name):
    from adda.errors import AddaError
    if name not in SHIFTS:
        raise AddaError('unknown shift {!r} (known: {})'.format(name, ', '.join(SHIFTS)))
    return SHIFTS[name]


_sources = {}  # (dataset, split, data root) -> ImageSplit, each read once per process


def source_split(dataset, split, root=None):
    """``adda.data.get_split(dataset, split, root)``, read once per process."""
    from adda.data import data_root, get_split
    key = (dataset, split, os.path.abspath(root or data_root()))
    if key not in _sources:
        _sources[key] = get_split(dataset, split, root)
    return _sources[key]


def base_split(base, split, root=None):
    """(images H x W float64 in [0, 1], int64 labels, indices into the source split) of the
    base of a domain's ``split``, read with the project's loaders."""
    if base == MNIST_TEST:
        data = source_split('mnist', 'test', root)
        indices = np.arange(len(data))
        indices = indices[(indices % 5 == 4) if split == 'test' else (indices % 5 != 4)]
    elif base == USPS:
        data = source_split('usps', split, root)
        indices = np.arange(len(data))
    else:
        raise ValueError(base)
    return data.images[indices, :, :, 0].astype(np.float64), data.labels[indices], indices


def to_uint8(images):
    return np.round(np.clip(images, 0.0, 1.0) * 255.0).astype(np.uint8)


def build(name, split, limit=None, root=None):
    """(uint8 images, uint8 labels) of split ``split`` of the domain ``name``; ``limit`` keeps
    the first ``limit`` images (each the same as in the whole split)."""
    shift = get_shift(name)
    pool, labels, _ = base_split(shift.base, split, root)
    count = len(pool) if limit is None else min(limit, len(pool))
    seed = seed_of(name)
    out = []
    for i in range(count):
        rng = np.random.RandomState([seed, SPLIT_CODES[split], i])
        out.append(shift.transform(pool[i], rng, pool, i))
    return to_uint8(np.stack(out)), labels[:count].astype(np.uint8)


def domain_arrays(name, limit=None, root=None, unlabelled=False):
    """The arrays of the domain's file, in order: x_train, y_train, x_test, y_test; without
    y_train when ``unlabelled``."""
    x_train, y_train = build(name, 'train', limit, root)
    x_test, y_test = build(name, 'test', limit, root)
    arrays = [('x_train', x_train), ('y_train', y_train), ('x_test', x_test), ('y_test', y_test)]
    return [(k, v) for k, v in arrays if not (unlabelled and k == 'y_train')]


def write_npz(path, arrays):
    """Write ``arrays`` ([(key, array)]) as a compressed .npz file that ``numpy.load`` reads,
    whole or not at all (a temporary file renamed), the same bytes for the same arrays (fixed
    time stamps in the zip)."""
    from adda.util import atomic_output
    with atomic_output(path, 'the dataset') as tmp:
        with zipfile.ZipFile(tmp, 'w', compression=zipfile.ZIP_DEFLATED) as archive:
            for key, array in arrays:
                buffer = io.BytesIO()
                np.lib.format.write_array(buffer, np.ascontiguousarray(array),
                                          allow_pickle=False)
                info = zipfile.ZipInfo(key + '.npy', date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                archive.writestr(info, buffer.getvalue())


def file_name(name, unlabelled=False):
    return name + (UNLABELLED_SUFFIX if unlabelled else '') + '.npz'


def write_domain(name, out, limit=None, root=None, unlabelled=False):
    """Build the domain and write it to ``out``/<name>[_unlabelled].npz; (path, arrays)."""
    arrays = domain_arrays(name, limit, root, unlabelled)
    path = os.path.join(out, file_name(name, unlabelled))
    write_npz(path, arrays)
    return path, collections.OrderedDict(arrays)


def table_lines(names):
    """The declared table, one line per shift."""
    lines = ['{:15} {:10} {:9} {}'.format('name', 'built from', 'role', 'transform')]
    for name in names:
        s = SHIFTS[name]
        lines.append('{:15} {:10} {:9} {}'.format(s.name, s.base, s.role, s.description))
    lines.append('')
    lines.extend('{}: {}'.format(base, text) for base, text in sorted(BASES.items()))
    return lines


HELP = """Write a suite of digit domain shifts as datasets of your own.

Each shift NAME is built from the MNIST or USPS files and written as OUT/NAME.npz (x_train,
y_train, x_test, y_test; uint8 images), which every tool then reads by name, as it does
`mnist`, when OUT is the data root: e.g. `tools/train_adda.py mnist2000:train
mnist_rotated:train ...` or `bash scripts/adapt.sh mnist mnist_rotated`. Without NAMEs, all of
them (--list shows the table).

\b
- The MNIST-based shifts use MNIST's TEST split only (image i mod 5 = 4 -> the
  shift's test split, 2000 images, the others -> its train split, 8000), so they
  share no image with what a model trained on mnist or mnist2000 saw. The USPS-based
  ones keep USPS's train and test splits.
- Each shift is TUNING (choose settings on it) or HELD-OUT (only check chosen
  settings on it), as declared in docs/results.md, "A suite of shifts (issue 43)".
- The same command writes the same arrays, under either runtime: every image has
  its own seeded random transform (seed: CRC-32 of the name).

The MNIST and USPS files are read from the data root ($ADDA_DATA_DIR, else ./data) and
downloaded there when missing, as by every tool; offline, set ADDA_DATA_DIR to a folder that
holds mnist/ and usps/.

\b
Examples:
  python -m adda.shifts --list
  python -m adda.shifts                        # all, into the data root
  python -m adda.shifts --out /tmp/shifts mnist_rotated mnist_colour
  python -m adda.shifts --unlabelled mnist_rotated   # mnist_rotated_unlabelled.npz
"""


@click.command(help=HELP, context_settings={'help_option_names': ['-h', '--help']})
@click.argument('names', nargs=-1)
@click.option('--out', metavar='DIR', default=None,
              help='Folder to write the .npz files to (created if needed). Default: the data '
                   'root, where the tools find datasets by name.')
@click.option('--list', 'list_only', is_flag=True,
              help='Print the table of shifts (name, base set, tuning or held-out, transform) '
                   'and exit; nothing is read or written.')
@click.option('--unlabelled', is_flag=True,
              help='Write NAME_unlabelled.npz instead: x_train without y_train (the target '
                   'images an adaptation may see), and x_test, y_test as a labelled check set.')
@click.option('--limit', type=click.IntRange(min=1), default=None, hidden=True,
              help='Only the first N images of each split (for tests).')
def main(names, out, list_only, unlabelled, limit):
    from adda.data import data_root
    from adda.errors import AddaError
    unknown = [name for name in names if name not in SHIFTS]
    if unknown:
        click.echo('Error: unknown shift{} {} (known: {})'.format(
            's' if len(unknown) > 1 else '', ', '.join(repr(n) for n in unknown),
            ', '.join(SHIFTS)), err=True)
        sys.exit(2)
    names = list(names) or list(SHIFTS)
    if list_only:
        for line in table_lines(names):
            click.echo(line)
        return
    root = data_root()
    out = out or root
    click.echo('Building {} shift{} from the MNIST and USPS files in {} into {}'.format(
        len(names), 's' if len(names) != 1 else '', os.path.abspath(root), os.path.abspath(out)))
    start = time.time()
    # read every base first, so that missing data stops the command before it writes anything
    for base in [b for b in (MNIST_TEST, USPS) if any(SHIFTS[n].base == b for n in names)]:
        try:
            for split in SPLIT_CODES:
                base_split(base, split, root)
        except AddaError as e:
            click.echo('Error: cannot build the {}-based shifts: {}'.format(
                base.split()[0].upper(), e), err=True)
            sys.exit(1)
    total = 0
    for name in names:
        began = time.time()
        try:
            path, arrays = write_domain(name, out, limit, root, unlabelled)
        except AddaError as e:
            click.echo('Error: {}'.format(e), err=True)
            sys.exit(1)
        size = os.path.getsize(path)
        total += size
        x_train, x_test = arrays['x_train'], arrays['x_test']
        click.echo('wrote {}: {} train + {} test images {}{}, {:.1f} MB, {:.1f} s'.format(
            path, len(x_train), len(x_test), 'x'.join(str(n) for n in x_train.shape[1:]),
            ', train unlabelled' if unlabelled else '', size / 1e6, time.time() - began))
    click.echo('{} file{}, {:.1f} MB, in {:.0f} s'.format(
        len(names), 's' if len(names) != 1 else '', total / 1e6, time.time() - start))
    if os.path.abspath(out) != os.path.abspath(root):
        click.echo('The tools find them by name where the data root holds them: '
                   'ADDA_DATA_DIR={} with mnist/ and usps/ there too (symbolic links will do), '
                   'or copy them into {}'.format(out, root))


if __name__ == '__main__':
    main()
