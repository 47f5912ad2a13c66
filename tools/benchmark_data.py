#!/usr/bin/env python
"""Decode time and peak memory of loading a folder of large photos as a dataset.

Writes N synthetic photos of W x H (default 1000 JPEGs of 3000 x 4000: ten distinct photos of a
drawn digit on a shaded, grainy background, each written N / 10 times) as the train split of
an image folder (class folders 0-9; test/ holds one photo of each) in a temporary folder, loads
it in a fresh Python process (adda.data.get_split, as every tool does), loads it again (from
the decoded-image cache) and prints the decode time and the loading process's peak resident
memory (VmHWM of /proc/self/status). The temporary folder (photos and cache) is removed
afterwards. Not a test: it takes minutes for the defaults.

    python tools/benchmark_data.py                      # 1000 x 3000x4000 JPEG
    python tools/benchmark_data.py --images 50 --width 2000 --height 2000 --format png
    python tools/benchmark_data.py --code /path/to/other/checkout   # compare another version
"""
import argparse
import io
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DISTINCT = 10


def photo(digit, width, height, fmt):
    """The bytes of a synthetic photo: a digit drawn with thick strokes, enlarged to the
    photo's size, on a shaded background with a camera's grain (so that the file is as large
    as a photo's, a few MB as JPEG)."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFilter
    small = Image.new('L', (28, 28), 0)
    ImageDraw.Draw(small).text((9, 7), str(digit), fill=255)
    small = small.filter(ImageFilter.MaxFilter(3))
    filters = getattr(Image, 'Resampling', Image)
    ink = np.asarray(small.resize((width, height), filters.BICUBIC), np.float32) / 255.0
    rows = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, np.newaxis]
    columns = np.linspace(0.0, 1.0, width, dtype=np.float32)[np.newaxis, :]
    paper = 200.0 + 30.0 * rows - 20.0 * columns  # lit from one side
    grey = paper * (1.0 - ink) + 30.0 * ink
    grain = np.random.RandomState(digit).normal(0.0, 6.0, (height, width)).astype(np.float32)
    rgb = np.stack([grey + grain, (grey + grain) * 0.95, (grey + grain) * 0.85], axis=-1)
    image = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))
    buffer = io.BytesIO()
    image.save(buffer, fmt.upper(), **({'quality': 90} if fmt == 'jpeg' else {}))
    return buffer.getvalue()


def write_photos(folder, count, width, height, fmt):
    """``count`` photos in ``folder``/train/<digit>/, and one of each digit in test/<digit>/
    (the layout every version of adda reads); the bytes written to train/."""
    photos = [photo(k, width, height, fmt) for k in range(DISTINCT)]
    suffix = '.jpg' if fmt == 'jpeg' else '.png'
    for split, number in (('train', count), ('test', DISTINCT)):
        for i in range(number):
            digit = i % DISTINCT
            path = os.path.join(folder, split, str(digit), '{:06d}{}'.format(i, suffix))
            if not os.path.isdir(os.path.dirname(path)):
                os.makedirs(os.path.dirname(path))
            with open(path, 'wb') as f:
                f.write(photos[digit])
    return sum(len(photos[i % DISTINCT]) for i in range(count))


def peak_rss_mb():
    """This process's peak resident memory: VmHWM (Linux; starts again at exec, unlike
    ru_maxrss, which keeps the forking parent's), else ru_maxrss."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1]) / 1024.0  # kB
    except (OSError, ValueError, IndexError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: kilobytes


def load(name):
    """In the child process: load ``name``'s train split twice, print the measures as JSON."""
    import adda.data
    from adda.data import get_split
    measures = {'imported_mb': peak_rss_mb()}
    start = time.time()
    split = get_split(name, 'train')
    measures.update(first_s=time.time() - start, peak_mb=peak_rss_mb(),
                    shape=list(split.images.shape), array_mb=split.images.nbytes / 2.0 ** 20)
    del split
    start = time.time()
    get_split(name, 'train')  # a new dataset object: from the cache
    measures['cached_s'] = time.time() - start
    measures['adda'] = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
        adda.data.__file__))))
    print(json.dumps(measures))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--images', type=int, default=1000)
    parser.add_argument('--width', type=int, default=3000)
    parser.add_argument('--height', type=int, default=4000)
    parser.add_argument('--format', choices=('jpeg', 'png'), default='jpeg')
    parser.add_argument('--code', default=ROOT,
                        help='the checkout whose adda package loads the photos (default: this one)')
    parser.add_argument('--tmp', default=None, help='where the temporary folder goes')
    parser.add_argument('--load', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        return load(args.load)

    work = tempfile.mkdtemp(prefix='adda-benchmark-data-', dir=args.tmp)
    try:
        start = time.time()
        size = write_photos(os.path.join(work, 'data', 'photos'), args.images,
                            args.width, args.height, args.format)
        print('Wrote {} {}x{} {} photos ({:.0f} MB) in {:.0f} s'.format(
            args.images, args.width, args.height, args.format.upper(), size / 2.0 ** 20,
            time.time() - start), flush=True)
        env = dict(os.environ, ADDA_DATA_DIR=os.path.join(work, 'data'),
                   ADDA_CACHE_DIR=os.path.join(work, 'cache'), PYTHONPATH=args.code,
                   OMP_NUM_THREADS='1')
        out = subprocess.run([sys.executable, os.path.abspath(__file__), '--load', 'photos'],
                             env=env, stdout=subprocess.PIPE, universal_newlines=True,
                             check=True)
        measures = json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print('Loaded with {} (Python {}, {})'.format(measures['adda'], platform.python_version(),
                                                  platform.machine()))
    print('  first load (decoding): {:.1f} s, {:.1f} ms per photo'.format(
        measures['first_s'], 1000.0 * measures['first_s'] / args.images))
    print('  second load (cache):   {:.2f} s'.format(measures['cached_s']))
    print('  peak resident memory:  {:.0f} MB ({:.0f} MB after the imports); the split\'s '
          'images: {} float32, {:.1f} MB'.format(measures['peak_mb'], measures['imported_mb'],
                                                 'x'.join(map(str, measures['shape'])),
                                                 measures['array_mb']))


if __name__ == '__main__':
    main()
