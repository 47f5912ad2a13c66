"""The suite of shifts (adda.shifts, ``python -m adda.shifts``): the declared table; each domain
written deterministically (twice, and under either runtime: recorded digests), readable by name
and through the model's preprocessing; each transform doing what the table says to the real
MNIST and USPS images; no MNIST training image in an MNIST-based domain; the command's lines and
errors."""
import hashlib
import os
import zipfile
import zlib

import numpy as np
import pytest

from adda import shifts
from conftest import SHARED_DATA, _cli_runner, require

REAL = os.environ.get('ADDA_DATA_DIR') or SHARED_DATA
LIMIT = 40  # images per split in the real-data checks
DIGITS = tuple(str(k) for k in range(10))


def run(*args, **env):
    """``python -m adda.shifts args`` in this process: (exit status, stdout, stderr)."""
    result = _cli_runner().invoke(shifts.main, [str(a) for a in args], env=env or None,
                                  catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def load(path):
    with np.load(str(path), allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def digest(arrays):
    h = hashlib.sha256()
    for key, array in arrays:
        h.update('{} {} {}'.format(key, array.dtype, array.shape).encode())
        h.update(np.ascontiguousarray(array).tobytes())
    return h.hexdigest()[:16]


def need_real():
    require(all(os.path.isdir(os.path.join(REAL, name)) for name in ('mnist', 'usps')),
            'needs the real MNIST and USPS files in {} (set ADDA_DATA_DIR)'.format(REAL))


_built = {}


def real_domain(name, split):
    """(uint8 images, labels, uint8 base images, base labels) of the first LIMIT images of a
    split of the domain built from the real files."""
    need_real()
    if (name, split) not in _built:
        x, y = shifts.build(name, split, LIMIT, REAL)
        base, labels, _ = shifts.base_split(shifts.SHIFTS[name].base, split, REAL)
        _built[(name, split)] = x, y, shifts.to_uint8(base[:LIMIT]), labels[:LIMIT]
    return _built[(name, split)]


# --- the declared table -----------------------------------------------------------------------

def test_the_table_declares_each_shift_once_tuning_or_held_out():
    from adda.data import dataset_names
    names = list(shifts.SHIFTS)
    assert 10 <= len(names) <= 14 and len(set(names)) == len(names)
    assert not set(names) & set(dataset_names())  # no built-in set's name
    roles = [s.role for s in shifts.SHIFTS.values()]
    assert set(roles) == {shifts.TUNING, shifts.HELD_OUT}
    assert abs(roles.count(shifts.TUNING) - roles.count(shifts.HELD_OUT)) <= 2
    held_out = {s.transform for s in shifts.SHIFTS.values() if s.role == shifts.HELD_OUT}
    tuning = {s.transform for s in shifts.SHIFTS.values() if s.role == shifts.TUNING}
    assert held_out & {shifts.t_inverted, shifts.t_colour}  # a hard one
    assert held_out & {shifts.t_thin, shifts.t_blur}  # a mild one
    assert not held_out & tuning  # each kind of transform on one side only
    assert sum(s.base == shifts.MNIST_TEST for s in shifts.SHIFTS.values()) > len(names) / 2
    assert {s.base for s in shifts.SHIFTS.values()} == {shifts.MNIST_TEST, shifts.USPS}
    assert all(s.description for s in shifts.SHIFTS.values())


def test_the_table_is_the_one_in_results_md():
    """docs/results.md declares the same shifts, bases and roles as the code."""
    from conftest import ROOT
    with open(os.path.join(ROOT, 'docs', 'results.md'), encoding='utf-8') as f:
        text = f.read()
    section = text[text.index('## A suite of shifts (issue 43)'):]
    section = section[:section.index('\n## ', 5)] if '\n## ' in section[5:] else section
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        if len(cells) >= 4 and cells[0].startswith('`') and cells[0].strip('`') in shifts.SHIFTS:
            rows[cells[0].strip('`')] = cells
    assert sorted(rows) == sorted(shifts.SHIFTS)
    for name, cells in rows.items():
        s = shifts.SHIFTS[name]
        assert cells[-1].strip('*') == s.role, name
        assert cells[1].lower().startswith('mnist test' if s.base == shifts.MNIST_TEST
                                           else 'usps'), name


def test_list_prints_the_table_without_reading_data(empty_root):
    status, out, err = run('--list')
    assert status == 0 and not err
    for s in shifts.SHIFTS.values():
        assert any(line.split()[:1] == [s.name] and s.role in line and s.description in line
                   for line in out.splitlines()), s.name
    assert os.listdir(str(empty_root)) == []


def test_seeds_come_from_the_names():
    assert shifts.seed_of('mnist_rotated') == zlib.crc32(b'mnist_rotated') == 2622945002
    assert len({shifts.seed_of(name) for name in shifts.SHIFTS}) == len(shifts.SHIFTS)


# --- writing, on stand-in files (conftest.data_root) --------------------------------------------

def test_every_domain_is_written_the_same_twice_with_the_declared_arrays(data_root, tmp_path):
    """Tiny stand-in MNIST (100 test images) and USPS (300 / 100) files; every shift."""
    from adda.data import get_split
    first, second = tmp_path / 'one', tmp_path / 'two'
    outputs = [run('--out', out, '--limit', 12) for out in (first, second)]
    assert [status for status, _, _ in outputs] == [0, 0], outputs[0][2]
    for name, s in shifts.SHIFTS.items():
        path = first / (name + '.npz')
        assert 'wrote {}: 12 train + 12 test images'.format(path) in outputs[0][1]
        assert path.read_bytes() == (second / path.name).read_bytes(), name  # byte for byte
        arrays = load(path)
        assert sorted(arrays) == ['x_test', 'x_train', 'y_test', 'y_train']
        mnist = s.base == shifts.MNIST_TEST
        side = 28 if mnist else 16
        shape = (side, side, 3) if s.transform is shifts.t_colour else (side, side)
        for split in ('train', 'test'):
            x, y = arrays['x_' + split], arrays['y_' + split]
            assert x.dtype == np.uint8 and x.shape == (12,) + shape, (name, split)
            _, labels, indices = shifts.base_split(s.base, split)
            assert np.array_equal(y, labels[:12]), (name, split)
            # the stand-ins' MNIST test split (100) gives 80 / 20; USPS keeps its splits
            assert list(indices[:3]) == ([0, 1, 2] if not mnist or split == 'train' else
                                         [4, 9, 14])
            data = get_split(name, split, root=str(first))  # by name, as every tool reads it
            assert np.array_equal(data.images, (x.reshape(data.images.shape) / 255.0)
                                  .astype(np.float32))
            assert np.array_equal(data.labels, y) and data.classes == DIGITS
    assert sorted(os.listdir(str(first))) == sorted(n + '.npz' for n in shifts.SHIFTS)


def test_limit_keeps_each_image_as_in_the_whole_split(data_root):
    for name in ('mnist_clutter', 'mnist_colour', 'usps_noise'):
        for split in ('train', 'test'):
            short, _ = shifts.build(name, split, 5)
            whole, _ = shifts.build(name, split)
            assert np.array_equal(short, whole[:5]), (name, split)


def test_unlabelled_leaves_out_y_train(data_root, tmp_path):
    out_dir = tmp_path / 'out'
    status, out, err = run('--out', out_dir, '--limit', 8, '--unlabelled', 'mnist_rotated')
    assert status == 0, err
    path = out_dir / 'mnist_rotated_unlabelled.npz'
    assert 'wrote {}: 8 train + 8 test images 28x28, train unlabelled'.format(path) in out
    assert os.listdir(str(out_dir)) == [path.name]
    arrays = load(path)
    assert sorted(arrays) == ['x_test', 'x_train', 'y_test']
    labelled = dict(shifts.domain_arrays('mnist_rotated', 8))
    for key in arrays:
        assert np.array_equal(arrays[key], labelled[key]), key


def test_the_written_images_go_through_the_models_preprocessing(data_root, tmp_path, tf_graph):
    """A colour domain and a 16 x 16 one become the model's 28 x 28 grey input."""
    from adda.compat import tf
    from adda.data import get_split
    from adda.models import get_model_fn, preprocessing
    from adda.models.model import GREY_WEIGHTS
    assert tuple(shifts.GREY_WEIGHTS) == GREY_WEIGHTS
    assert run('--out', tmp_path, '--limit', 6, 'mnist_colour', 'usps_inverted')[0] == 0
    model_fn = get_model_fn('lenet')
    for name in ('mnist_colour', 'usps_inverted'):
        images = get_split(name, 'train', root=str(tmp_path)).images
        with tf.Session() as sess:
            out = sess.run(preprocessing(tf.constant(images), model_fn))
        assert out.shape == (6, 28, 28, 1) and out.min() >= 0 and out.max() <= 1 + 1e-6
        if name == 'mnist_colour':
            assert np.allclose(out[..., 0], images @ np.array(GREY_WEIGHTS, np.float32),
                               atol=1e-5)


def test_write_is_whole_or_nothing(data_root, tmp_path, monkeypatch):
    """A failure while writing leaves the file as it was and no temporary file."""
    out = tmp_path / 'out'
    assert run('--out', out, '--limit', 4, 'mnist_thin')[0] == 0
    before = (out / 'mnist_thin.npz').read_bytes()

    def broken(*args, **kwargs):
        raise OSError(28, 'No space left on device')
    monkeypatch.setattr(zipfile.ZipFile, 'writestr', broken)
    status, _, err = run('--out', out, '--limit', 5, 'mnist_thin')
    assert status == 1 and err.startswith('Error: no space left on') and err.count('\n') == 1
    assert 'mnist_thin.npz' in err
    assert os.listdir(str(out)) == ['mnist_thin.npz']
    assert (out / 'mnist_thin.npz').read_bytes() == before


def test_an_unknown_name_is_one_line(empty_root, tmp_path):
    status, out, err = run('--out', tmp_path / 'out', 'mnist_rotated', 'mnist_sideways')
    assert status == 2 and not out
    assert err.startswith("Error: unknown shift 'mnist_sideways' (known: mnist_thick, ")
    assert err.count('\n') == 1 and not (tmp_path / 'out').exists()


def test_missing_data_is_one_line_and_writes_nothing(empty_root, tmp_path):
    status, _, err = run('--out', tmp_path / 'out', 'mnist_rotated', 'usps_noise',
                         ADDA_OFFLINE='1')
    assert status == 1 and err.count('\n') == 1
    assert err.startswith('Error: cannot build the MNIST-based shifts: t10k-images-idx3-ubyte.gz '
                          'is missing from {}'.format(empty_root / 'mnist'))
    assert 'ADDA_DATA_DIR' in err
    assert not (tmp_path / 'out').exists()


def test_the_default_folder_is_the_data_root(data_root):
    status, out, _ = run('--limit', 3, 'mnist_inverted')
    assert status == 0 and (data_root / 'mnist_inverted.npz').is_file()
    assert 'ADDA_DATA_DIR=' not in out  # no hint needed: the tools find it there


# --- the real files -----------------------------------------------------------------------------

# Digests of every domain's arrays (x_train, y_train, x_test, y_test) at --limit 50, from the real
# MNIST and USPS files: the suite is fixed once declared, and both runtimes write the same arrays.
DIGESTS = {
    'mnist_thick': '732dfff1bbd4ed3d',
    'mnist_small': '521d57e4ceed9281',
    'mnist_rotated': '310fae055ca0e7c6',
    'mnist_noise': 'b8a56a9ee39f577c',
    'mnist_clutter': 'c3c4c02211fec324',
    'usps_rotated': 'a3a9d0aa23117780',
    'usps_noise': 'cb43dd6314598446',
    'mnist_thin': 'bbfda5241c5e161c',
    'mnist_blur': '73fae69cf6814df3',
    'mnist_large': '6cabe3459aaa78ff',
    'mnist_shifted': '89452feebf67317a',
    'mnist_inverted': '656a72187bc66143',
    'mnist_colour': '603b25cd1fb94b7c',
    'usps_inverted': '6c58a64b680a88dd',
}


def test_the_domains_are_the_recorded_ones():
    need_real()
    found = {name: digest(shifts.domain_arrays(name, 50, REAL)) for name in shifts.SHIFTS}
    assert found == DIGESTS


def test_no_mnist_training_image_is_in_an_mnist_based_domain():
    """By construction: the base images of every MNIST-based domain are MNIST test images (the
    domain's two splits partition them), none of them equal to an MNIST training image."""
    need_real()
    from adda.data import get_split

    def hashes(images):
        return {hashlib.sha1(image.tobytes()).hexdigest() for image in shifts.to_uint8(images)}
    train = hashes(get_split('mnist', 'train', REAL).images)
    test = hashes(get_split('mnist', 'test', REAL).images)
    parts = [shifts.base_split(shifts.MNIST_TEST, split, REAL) for split in ('train', 'test')]
    assert [len(p[0]) for p in parts] == [8000, 2000]
    assert sorted(np.concatenate([p[2] for p in parts]).tolist()) == list(range(10000))
    for images, _, _ in parts:
        found = hashes(images)
        assert found <= test and not found & train
    # and what the loader gives for a domain's base is MNIST's test split
    data = get_split('mnist', 'test', REAL)
    assert np.array_equal(parts[1][0], data.images[4::5, :, :, 0])
    assert np.array_equal(parts[1][1], data.labels[4::5])


def test_the_domains_have_ten_classes_in_each_split():
    need_real()
    for base in (shifts.MNIST_TEST, shifts.USPS):
        for split in ('train', 'test'):
            labels = shifts.base_split(base, split, REAL)[1]
            assert np.array_equal(np.unique(labels), np.arange(10)), (base, split)
            assert np.bincount(labels).min() > 0.05 * len(labels)


def ink(images):
    return images.reshape(len(images), -1).astype(np.float64).sum(axis=1)


def radius(images):
    """Ink-weighted RMS distance from the image centre, per image."""
    h, w = images.shape[1:3]
    yy, xx = np.mgrid[0:h, 0:w]
    r2 = (yy - (h - 1) / 2.0) ** 2 + (xx - (w - 1) / 2.0) ** 2
    images = images.astype(np.float64)
    return np.sqrt((images * r2).sum(axis=(1, 2)) / images.sum(axis=(1, 2)))


def roughness(images):
    """Energy of neighbour differences over the energy of the image, per image."""
    images = images.astype(np.float64)
    diff = (np.diff(images, axis=1) ** 2).sum(axis=(1, 2)) + \
        (np.diff(images, axis=2) ** 2).sum(axis=(1, 2))
    return diff / (images ** 2).sum(axis=(1, 2))


def check_inverted(x, base):
    assert np.abs(x.astype(int) - (255 - base.astype(int))).max() <= 1
    assert abs(x.mean() / 255 - (1 - base.mean() / 255)) < 0.005


def check_thick(x, base):
    assert np.all(ink(x) > 1.3 * ink(base)) and np.all(x.max(axis=(1, 2)) >= base.max(axis=(1, 2)))


def check_thin(x, base):
    ratio = ink(x) / ink(base)
    assert np.all(ratio > 0.2) and np.all(ratio < 0.9)


def check_rotated(x, base):
    assert np.all(np.abs(x.astype(int) - base).mean(axis=(1, 2)) > 5)
    ratio = ink(x) / ink(base)
    assert np.all(ratio > 0.7) and np.all(ratio < 1.1)  # USPS's corners may be cut off
    assert np.allclose(radius(x), radius(base), rtol=0.15)  # turned about the centre


def check_small(x, base):
    ratio = radius(x) / radius(base)
    assert np.all(ratio > 0.45) and np.all(ratio < 0.8)


def check_large(x, base):
    ratio = radius(x) / radius(base)
    assert np.all(ratio > 1.15) and np.all(ratio < 1.7)


def check_blur(x, base):
    assert np.all(np.abs(x.max(axis=(1, 2)).astype(int) - base.max(axis=(1, 2))) <= 1)
    assert np.all(roughness(x) < 0.5 * roughness(base))


def check_noise(x, base):
    background = [image[b == 0] for image, b in zip(x, base)]
    assert all(values.std() > 20 for values in background)


def check_clutter(x, base):
    assert np.all(x >= base)
    assert all(np.mean(image[b == 0] > 50) > 0.03 for image, b in zip(x, base))


def check_shifted(x, base):
    for image, b in zip(x, base):
        moves = [(dy, dx) for dy in range(-6, 7) for dx in range(-6, 7)
                 if np.array_equal(shifts.shifted(b, dy, dx), image)]
        assert moves and max(max(abs(dy), abs(dx)) for dy, dx in moves) >= 3


def check_colour(x, base):
    assert x.shape[-1] == 3
    colourful = x.astype(float).std(axis=-1).mean(axis=(1, 2))  # 0 for a grey image
    assert np.all(colourful > 4) and np.median(colourful) > 15
    grey = x.astype(float) @ shifts.GREY_WEIGHTS
    contrast = np.array([g[b > 230].mean() - g[b == 0].mean() for g, b in zip(grey, base)])
    assert np.all(np.abs(contrast) > 0.2 * 255)  # the digit stays visible in grey
    assert 0.2 < np.mean(contrast < 0) < 0.8  # dark on light, and light on dark
    backgrounds = np.array([g[b == 0].mean() for g, b in zip(grey, base)])
    assert backgrounds.std() > 0.15 * 255


CHECKS = {shifts.t_inverted: check_inverted, shifts.t_thick: check_thick,
          shifts.t_thin: check_thin, shifts.t_rotated: check_rotated,
          shifts.t_small: check_small, shifts.t_large: check_large, shifts.t_blur: check_blur,
          shifts.t_noise: check_noise, shifts.t_clutter: check_clutter,
          shifts.t_shifted: check_shifted, shifts.t_colour: check_colour}


@pytest.mark.parametrize('name', list(shifts.SHIFTS))
def test_each_domain_differs_from_its_base_as_declared(name):
    check = CHECKS[shifts.SHIFTS[name].transform]
    for split in ('train', 'test'):
        x, y, base, labels = real_domain(name, split)
        assert x.dtype == np.uint8 and len(x) == LIMIT and np.array_equal(y, labels)
        assert x.shape[1:3] == base.shape[1:3] and not np.array_equal(x[..., 0], base)
        check(x, base)
