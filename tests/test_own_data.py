"""Datasets of one's own (adda.data.folders, adda.data.arrays): image folders and .npz files
written from part of the real MNIST and USPS files equal the built-in sets they came from,
through every tool; the cache; and one error line naming the file for each kind of bad input."""
import os

import numpy as np
import pytest
import yaml

from adda.data import get_dataset, get_split
from adda.data.dataset import DIGITS
from adda.errors import AddaError, DatasetError
from conftest import SHARED_DATA, require, run_tool, write_idx

REAL = os.environ.get('ADDA_DATA_DIR') or SHARED_DATA
TRAIN = ['--iterations', 10, '--snapshot', 10, '--batch_size', 32, '--lr', 1e-3, '--solver',
         'adam', '--seed', 3]
_real = {}


def real_split(name, split):
    if (name, split) not in _real:
        require(os.path.isdir(os.path.join(REAL, name)),
                'needs the real {} files in {} (set ADDA_DATA_DIR)'.format(name, REAL))
        _real[(name, split)] = get_dataset(name, root=REAL).split(split)
    return _real[(name, split)]


def part_order(name, split, count):
    """The first ``count`` images of a real split in the order an image folder lists them:
    class by class, stable (within a class, the file's order)."""
    return np.argsort(real_split(name, split).labels[:count], kind='stable')


def real_part(name, split, count):
    """uint8 pixels (N x H x W, rounded for USPS) and labels of the first ``count`` images of
    a real split, class by class."""
    data, order = real_split(name, split), part_order(name, split, count)
    pixels = np.round(data.images[:count][order, ..., 0] * 255).astype(np.uint8)
    return pixels, data.labels[:count][order]


def real_images(name, split, count):
    return real_split(name, split).images[:count][part_order(name, split, count)]


@pytest.fixture
def root(tmp_path, monkeypatch):
    """An empty data root and cache folder of the test's own (ADDA_DATA_DIR, ADDA_CACHE_DIR)."""
    data = tmp_path / 'data'
    data.mkdir()
    monkeypatch.setenv('ADDA_DATA_DIR', str(data))
    monkeypatch.setenv('ADDA_CACHE_DIR', str(tmp_path / 'cache'))
    monkeypatch.chdir(str(tmp_path))
    return data


def write_folder(folder, splits, formats=('png',), names=str):
    """splits: split -> (uint8 N x H x W or N x H x W x 3 pixels, labels); the file format of
    the i-th image is formats[i % len(formats)]; names(label) is its class folder."""
    from PIL import Image
    for split, (pixels, labels) in splits.items():
        for i, (image, label) in enumerate(zip(pixels, labels)):
            path = os.path.join(str(folder), split, names(label),
                                '{:05d}.{}'.format(i, formats[i % len(formats)]))
            if not os.path.isdir(os.path.dirname(path)):
                os.makedirs(os.path.dirname(path))
            Image.fromarray(image).save(path)


def write_mnist_files(folder, splits):
    os.makedirs(str(folder))
    for split, (images, labels) in splits.items():
        stem = 'train' if split == 'train' else 't10k'
        write_idx(os.path.join(str(folder), stem + '-images-idx3-ubyte.gz'), images, 2051)
        write_idx(os.path.join(str(folder), stem + '-labels-idx1-ubyte.gz'), labels, 2049)


def write_usps_files(folder, splits):
    """The ESL text format with values that are exactly the 8-bit pixels (v = 2 k / 255 - 1)."""
    import gzip
    os.makedirs(str(folder))
    for split, (pixels, labels) in splits.items():
        with gzip.open(os.path.join(str(folder), 'zip.{}.gz'.format(split)), 'wt') as f:
            for image, label in zip(pixels, labels):
                values = [repr(2 * (int(k) / 255.0) - 1) for k in image.reshape(-1)]
                f.write(' '.join(['{}.0000'.format(label)] + values) + '\n')


def write_svhn_files(folder, splits):
    import scipy.io
    os.makedirs(str(folder))
    for split, (pixels, labels) in splits.items():
        y = np.where(labels == 0, 10, labels).reshape(-1, 1).astype(np.uint8)
        scipy.io.savemat(os.path.join(str(folder), '{}_32x32.mat'.format(split)),
                         {'X': pixels.transpose(1, 2, 3, 0), 'y': y})


def write_npz(path, splits, **extra):
    arrays = dict(extra)
    for split, (images, labels) in splits.items():
        arrays['x_' + split], arrays['y_' + split] = images, labels
    np.savez(str(path), **arrays)


def preprocessed(split):
    """The split's images as the model sees them (adda.models.preprocessing)."""
    from adda.compat import tf
    from adda.models import get_model_fn, preprocessing
    with tf.Graph().as_default():
        images = preprocessing(tf.constant(split.images), get_model_fn('lenet'))
        with tf.Session() as sess:
            return sess.run(images)


def assert_same_split(own, builtin):
    assert own.images.dtype == builtin.images.dtype == np.float32
    np.testing.assert_array_equal(own.images, builtin.images)
    np.testing.assert_array_equal(own.labels, builtin.labels)
    assert own.num_classes == builtin.num_classes and own.classes == builtin.classes


def mnist_part():
    return {'train': real_part('mnist', 'train', 300), 'test': real_part('mnist', 'test', 100)}


def usps_part():
    return {'train': real_part('usps', 'train', 300), 'test': real_part('usps', 'test', 100)}


def coloured(pixels, side=32):
    """Grey digits as RGB of another size: resized with Pillow, ink red, background blue."""
    from PIL import Image
    grey = np.stack([np.asarray(Image.fromarray(p).resize((side, side), Image.BILINEAR))
                     for p in pixels]).astype(np.float64)
    rgb = np.stack([grey, 0.4 * grey + 30, 200 - 0.7 * grey], axis=-1)
    return np.round(rgb).astype(np.uint8)


def rgb_part():
    return {split: (coloured(pixels), labels) for split, (pixels, labels) in mnist_part().items()}


# --- the same images as the built-in sets ----------------------------------------------------

def test_mnist_as_png_folder_and_npz_equals_the_builtin_set(root):
    parts = mnist_part()
    write_mnist_files(root / 'mnist', parts)
    write_folder(root / 'mnistpng', parts)
    write_npz(root / 'mnistnpz.npz', parts)  # Keras's mnist.npz form: uint8 N x 28 x 28
    for split in ('train', 'test'):
        builtin = get_split('mnist', split)
        np.testing.assert_array_equal(builtin.images, real_images('mnist', split, len(builtin)))
        for name in ('mnistpng', 'mnistnpz'):
            own = get_split(name, split)
            assert own.name == '{} {}'.format(name, split) and own.classes == DIGITS
            assert_same_split(own, builtin)
    np.testing.assert_array_equal(preprocessed(get_split('mnistpng', 'test')),
                                  preprocessed(get_split('mnist', 'test')))


def test_usps_16x16_in_every_lossless_format_equals_the_builtin_set(root):
    parts = usps_part()
    write_usps_files(root / 'usps', parts)
    write_folder(root / 'uspsimg', parts, formats=('png', 'bmp', 'gif', 'tif', 'tiff'))
    write_npz(root / 'uspsnpz.npz', {s: (p[..., np.newaxis], y) for s, (p, y) in parts.items()})
    for split in ('train', 'test'):
        builtin = get_split('usps', split)
        assert builtin.image_shape == (16, 16, 1)
        # the 8-bit images are the real ones to within the rounding
        np.testing.assert_allclose(builtin.images, real_images('usps', split, len(builtin)),
                                   atol=0.5 / 255 + 1e-6)
        for name in ('uspsimg', 'uspsnpz'):
            assert_same_split(get_split(name, split), builtin)
    folder, builtin = preprocessed(get_split('uspsimg', 'test')), preprocessed(
        get_split('usps', 'test'))
    assert folder.shape == (100, 28, 28, 1)
    np.testing.assert_array_equal(folder, builtin)


def test_rgb_images_are_treated_as_svhn(root):
    """RGB images of another size (32x32) as PNG and JPEG-free folders and as float npz equal
    the same pixels read as SVHN, and the model sees the same grey 28x28 images."""
    parts = rgb_part()
    write_svhn_files(root / 'svhn', parts)
    write_folder(root / 'colour', parts)
    write_npz(root / 'colournpz.npz', {s: (p.astype(np.float32) / 255.0, y)
                                       for s, (p, y) in parts.items()})
    for split in ('train', 'test'):
        builtin = get_split('svhn', split)
        assert builtin.image_shape == (32, 32, 3)
        for name in ('colour', 'colournpz'):
            assert_same_split(get_split(name, split), builtin)
    grey = preprocessed(get_split('colour', 'test'))
    assert grey.shape == (100, 28, 28, 1)
    np.testing.assert_array_equal(grey, preprocessed(get_split('svhn', 'test')))


def test_grey_jpeg_and_palette_images_stay_grey(root):
    pixels, labels = real_part('mnist', 'test', 20)
    write_folder(root / 'jpeg', {'train': (pixels, labels), 'test': (pixels, labels)},
                 formats=('jpg', 'jpeg'))
    write_folder(root / 'gif', {'train': (pixels, labels), 'test': (pixels, labels)},
                 formats=('gif',))
    jpeg, gif = get_split('jpeg', 'test'), get_split('gif', 'test')
    assert jpeg.image_shape == gif.image_shape == (28, 28, 1)
    np.testing.assert_array_equal(gif.images[..., 0], pixels / np.float32(255))
    assert np.abs(jpeg.images[..., 0] - pixels / 255.0).mean() < 0.02  # lossy, but the digit


def test_images_of_several_sizes_are_resized_as_the_model_does(root):
    """A folder mixing 28x28 and 20x20 images: each becomes 28x28 on load, as the graph's
    bilinear resize makes it (the model then sees the same images)."""
    from PIL import Image
    pixels, labels = real_part('mnist', 'test', 40)
    small = np.stack([np.asarray(Image.fromarray(p).resize((20, 20), Image.BILINEAR))
                      for p in pixels[1::2]])
    write_folder(root / 'mixed', {split: (list(pixels[0::2]) + list(small),
                                          np.concatenate([labels[0::2], labels[1::2]]))
                                  for split in ('train', 'test')})
    write_npz(root / 'small.npz', {s: (small, labels[1::2]) for s in ('train', 'test')})
    mixed = get_split('mixed', 'test')
    assert mixed.image_shape == (28, 28, 1) and len(mixed) == 40
    order = np.argsort(np.concatenate([labels[0::2], labels[1::2]]), kind='stable')
    resized = preprocessed(get_split('small', 'test'))
    expected = np.concatenate([pixels[0::2, ..., np.newaxis] / np.float32(255), resized])[order]
    np.testing.assert_allclose(mixed.images, expected, atol=1e-6)
    np.testing.assert_array_equal(mixed.labels, np.sort(labels))


# --- the tools --------------------------------------------------------------------------------

def checkpoint_values(prefix):
    from adda.compat import tf
    return {name: tf.train.load_variable(str(prefix), name)
            for name, _ in tf.train.list_variables(str(prefix))}


def train(snap, dataset, output):
    result = run_tool('train', dataset, 'train', 'lenet', output, '--snapshot_dir', snap, *TRAIN)
    assert result.returncode == 0, result.stderr[-3000:]
    return snap / output


def assert_same_snapshot(first, second):
    a, b = checkpoint_values(first), checkpoint_values(second)
    assert sorted(a) == sorted(b)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_training_on_a_folder_equals_training_on_the_builtin_set(root, tmp_path):
    """Same seed, same images in the same order: the same snapshot (MNIST as is, USPS resized
    16->28 in the graph, RGB through the grey conversion), and config.yaml records the
    classes of a dataset of one's own only."""
    snap = tmp_path / 'snap'
    write_mnist_files(root / 'mnist', mnist_part())
    write_folder(root / 'mnistpng', mnist_part())
    write_npz(root / 'mnistnpz.npz', mnist_part())
    write_usps_files(root / 'usps', usps_part())
    write_folder(root / 'uspspng', usps_part())
    write_svhn_files(root / 'svhn', rgb_part())
    write_folder(root / 'colour', rgb_part())
    for builtin, own in (('mnist', 'mnistpng'), ('mnist', 'mnistnpz'), ('usps', 'uspspng'),
                         ('svhn', 'colour')):
        if not (snap / builtin).is_dir():
            train(snap, builtin, builtin)
        train(snap, own, own)
        assert_same_snapshot(snap / builtin / (builtin + '-10'), snap / own / (own + '-10'))
        config = yaml.safe_load((snap / own / 'config.yaml').read_text())
        assert config['classes'] == {own: list(DIGITS)}
        assert 'classes' not in yaml.safe_load((snap / builtin / 'config.yaml').read_text())


def test_every_tool_takes_a_dataset_by_name(root, tmp_path):
    snap = tmp_path / 'snap'
    parts = mnist_part()
    write_mnist_files(root / 'mnist', parts)
    write_folder(root / 'mine', {'train': usps_part()['train'], 'test': usps_part()['test']})
    source = train(snap, 'mnist', 'src')
    for dataset in ('mnist', 'mine'):
        result = run_tool('eval_classification', dataset, 'test', 'lenet', source, '--output',
                          tmp_path / (dataset + '.yaml'))
        assert result.returncode == 0, result.stderr[-3000:]
    assert yaml.safe_load((tmp_path / 'mine.yaml').read_text())['images'] == 100
    result = run_tool('train_adda', 'mnist:train', 'mine:train', 'lenet', 'ad', '--weights',
                      source, '--snapshot_dir', snap, '--adversary', 16, *TRAIN)
    assert result.returncode == 0, result.stderr[-3000:]
    config = yaml.safe_load((snap / 'ad' / 'config.yaml').read_text())
    assert config['classes'] == {'mine': list(DIGITS)}
    for tool, args in (
            ('select_snapshot', ['mnist:train', 'mine:train', 'lenet', snap / 'ad',
                                 '--batch_size', 64, '--criterion', 'entropy',
                                 '--max_images', 100]),
            ('snapshot_curve', ['mine', 'test', 'lenet', snap / 'ad', '--batch_size', 64]),
            ('embed', ['mnist:train', 'mine:test', 'lenet', snap / 'ad', '--output',
                       tmp_path / 'embed.png', '--images', 30, '--perplexity', 5])):
        result = run_tool(tool, *args)
        assert result.returncode == 0, (tool, result.stderr[-3000:])


def test_data_check_and_list_know_own_datasets(root):
    from click.testing import CliRunner
    from adda.data.__main__ import main
    pixels, labels = real_part('usps', 'test', 60)
    write_folder(root / 'mine', {'train': (pixels, labels), 'test': (pixels, labels)})
    write_npz(root / 'arrays.npz', {'train': (pixels, labels), 'test': (pixels, labels)})
    result = CliRunner().invoke(main, ['check', 'mine', 'arrays'])
    assert result.exit_code == 0 and result.output == ''
    listed = CliRunner().invoke(main, ['list']).output
    assert '{}{} (your own)'.format(root / 'mine', os.sep) in listed
    assert '{} (your own)'.format(root / 'arrays.npz') in listed
    for path in (root / 'mine' / 'test' / '3').iterdir():
        path.unlink()
    result = CliRunner().invoke(main, ['check', 'mine'])
    assert result.exit_code == 2
    assert 'no images in the class folder' in result.output


# --- class order ------------------------------------------------------------------------------

def test_class_order_numbers_by_value_names_sorted(root):
    pixels, labels = real_part('usps', 'test', 60)
    numbered = {split: (pixels, labels % 3 * 5) for split in ('train', 'test')}  # 0, 5, 10
    write_folder(root / 'numbers', numbered, names=lambda k: '{:02d}'.format(k))
    split = get_split('numbers', 'train')
    assert split.classes == ('00',) + (None,) * 4 + ('05',) + (None,) * 4 + ('10',)
    assert split.num_classes == 11
    np.testing.assert_array_equal(split.labels, np.sort(labels % 3 * 5))
    animals = ['dog', 'Cat', 'ant']
    write_folder(root / 'named', {s: (pixels, labels % 3) for s in ('train', 'test')},
                 names=lambda k: animals[k])
    named = get_split('named', 'test')
    assert named.classes == ('Cat', 'ant', 'dog') and named.num_classes == 3
    expected = np.array([('Cat', 'ant', 'dog').index(animals[k]) for k in labels % 3])
    np.testing.assert_array_equal(np.sort(named.labels), np.sort(expected))
    write_npz(root / 'named.npz', {s: (pixels, labels % 3) for s in ('train', 'test')},
              classes=np.array(['x', 'y', 'z']))
    with pytest.raises(DatasetError, match='both name a dataset'):
        get_dataset('named')
    os.rename(str(root / 'named.npz'), str(root / 'xyz.npz'))
    assert get_dataset('xyz').classes == ('x', 'y', 'z')


def test_config_records_the_class_names(root, tmp_path):
    pixels, labels = real_part('usps', 'train', 100)
    names = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine']
    write_folder(root / 'words', {s: (pixels, labels) for s in ('train', 'test')},
                 names=lambda k: names[k])
    run = train(tmp_path / 'snap', 'words', 'w')
    config = yaml.safe_load((run / 'config.yaml').read_text())
    assert config['classes'] == {'words': sorted(names)}

    # --resume with other classes (a folder renamed: the labels would mean other things) is
    # refused in one line naming the change; the same classes resume
    for split in ('train', 'test'):
        os.rename(str(root / 'words' / split / 'nine'), str(root / 'words' / split / 'niner'))
    args = ['train', 'words', 'train', 'lenet', 'w', '--snapshot_dir', tmp_path / 'snap'] + \
        TRAIN + ['--iterations', 20, '--resume']
    refused = run_tool(*args)
    assert refused.returncode == 1 and refused.stderr.count('\n') <= 3, refused.stderr
    assert 'classes of words: eight five four nine one seven six three two zero -> eight ' \
        'five four niner one seven six three two zero' in refused.stderr
    assert not (run / 'w-20.index').exists()
    for split in ('train', 'test'):
        os.rename(str(root / 'words' / split / 'niner'), str(root / 'words' / split / 'nine'))
    resumed = run_tool(*args)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert (run / 'w-20.index').is_file()


# --- the cache --------------------------------------------------------------------------------

def cache_files(tmp_path):
    folder = tmp_path / 'cache' / 'folders'
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_the_second_start_reads_the_cache_and_a_changed_file_rebuilds_it(root, tmp_path,
                                                                        monkeypatch):
    from PIL import Image
    from adda.data import images
    pixels, labels = real_part('usps', 'test', 50)
    write_folder(root / 'mine', {'train': (pixels, labels), 'test': (pixels, labels)})
    first = get_split('mine', 'train')
    assert [name.startswith('mine-train-') for name in cache_files(tmp_path)] == [True]

    def no_decoding(path):
        raise AssertionError('decoded ' + path)
    with monkeypatch.context() as patched:
        patched.setattr(images, 'decode_image', no_decoding)
        assert_same_split(get_split('mine', 'train'), first)

    changed = sorted((root / 'mine' / 'train').glob('*/*.png'))[0]
    Image.fromarray(255 - pixels[0]).save(str(changed))
    os.utime(str(changed), ns=(0, 10 ** 9))  # a different mtime even on a coarse clock
    second = get_split('mine', 'train')
    np.testing.assert_array_equal(second.images[0, ..., 0], (255 - pixels[0]) / np.float32(255))
    np.testing.assert_array_equal(second.images[1:], first.images[1:])
    assert len(cache_files(tmp_path)) == 1  # the stale cache is gone

    (root / 'mine' / 'train' / str(labels[-1]) / 'extra.png').write_bytes(changed.read_bytes())
    assert len(get_split('mine', 'train')) == 51


def test_a_damaged_or_unwritable_cache_is_not_an_error(root, tmp_path, monkeypatch, caplog):
    pixels, labels = real_part('usps', 'test', 60)
    write_folder(root / 'mine', {'train': (pixels, labels), 'test': (pixels, labels)})
    first = get_split('mine', 'test')
    cached, = (tmp_path / 'cache' / 'folders').iterdir()
    cached.write_bytes(cached.read_bytes()[:1000])
    assert_same_split(get_split('mine', 'test'), first)
    assert 'is damaged' in caplog.text
    blocked = tmp_path / 'blocked'
    blocked.write_text('a file, not a folder')
    monkeypatch.setenv('ADDA_CACHE_DIR', str(blocked))
    assert_same_split(get_split('mine', 'test'), first)
    assert 'Could not write the cache' in caplog.text


def test_the_cache_folder_defaults_to_the_user_cache(monkeypatch, tmp_path):
    from adda.data.cache import cache_dir
    monkeypatch.delenv('ADDA_CACHE_DIR', raising=False)
    monkeypatch.delenv('XDG_CACHE_HOME', raising=False)
    assert cache_dir() == os.path.join(os.path.expanduser('~'), '.cache', 'adda')
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path))
    assert cache_dir() == str(tmp_path / 'adda')


# --- bad input --------------------------------------------------------------------------------

def one_error(root, name, split='train'):
    """The message of the DatasetError a split of ``name`` raises: one line."""
    with pytest.raises(DatasetError) as info:
        get_split(name, split)
    message = str(info.value)
    assert '\n' not in message
    return message


@pytest.fixture
def small(root):
    """A good folder ``mine`` (60 USPS images per split)."""
    pixels, labels = real_part('usps', 'test', 60)
    write_folder(root / 'mine', {'train': (pixels, labels), 'test': (pixels, labels)})
    return root / 'mine'


def test_a_file_that_is_not_an_image_is_named(small):
    note = small / 'train' / '3' / 'notes.txt'
    note.write_text('not an image')
    message = one_error(small.parent, 'mine')
    assert message.startswith(str(note) + ': not an image Pillow can read')
    note.unlink()
    png = sorted((small / 'train' / '5').iterdir())[0]
    png.write_bytes(png.read_bytes()[:60])  # truncated
    assert one_error(small.parent, 'mine').startswith(str(png) + ': not an image')


def test_an_unreadable_file_is_named(small):
    link = small / 'train' / '5' / 'gone.png'
    link.symlink_to(small / 'nowhere.png')
    assert one_error(small.parent, 'mine') == \
        '{}: cannot read the file (No such file or directory)'.format(link)
    link.unlink()
    if os.geteuid() == 0:
        return  # root reads files without read permission
    png = sorted((small / 'train' / '5').iterdir())[0]
    png.chmod(0)
    try:
        assert one_error(small.parent, 'mine') == \
            '{}: cannot read the file (Permission denied)'.format(png)
    finally:
        png.chmod(0o644)


def test_an_empty_class_folder_is_named(small):
    for path in (small / 'test' / '7').iterdir():
        path.unlink()
    assert one_error(small.parent, 'mine', 'test') == \
        '{}: no images in the class folder'.format(small / 'test' / '7')


def test_train_and_test_with_different_classes(small):
    os.rename(str(small / 'test' / '7'), str(small / 'test' / 'seven'))
    message = one_error(small.parent, 'mine')
    assert message == ('{} and {} have different classes (only in train: 7; only in test: '
                       'seven)'.format(small / 'train', small / 'test'))
    (small / 'test' / 'seven').rename(small / 'test' / '7')
    (small / 'test').rename(small / 'val')
    assert one_error(small.parent, 'mine').startswith(str(small / 'test') + ': no such folder')


def test_layout_mistakes_are_named(small):
    stray = small / 'train' / 'stray.png'
    stray.write_bytes(b'')
    assert one_error(small.parent, 'mine').startswith(str(stray) + ': not in a class folder')
    stray.unlink()
    for split in ('train', 'test'):
        (small / split / '03').mkdir()
    assert 'mine: class folders 03 and 3 both mean label 3' in one_error(small.parent, 'mine')


def test_npz_missing_keys_and_labels_outside_the_classes(root):
    pixels, labels = real_part('usps', 'test', 60)
    np.savez(str(root / 'a.npz'), x_train=pixels, y_train=labels)
    assert one_error(root, 'a') == ('{}: no x_test, y_test in the file (it holds x_train, '
                                    'y_train; expected x_train, y_train, x_test, y_test)'
                                    .format(root / 'a.npz'))
    bad = labels.copy()
    bad[4] = 10
    write_npz(root / 'b.npz', {'train': (pixels, labels), 'test': (pixels, bad)})
    assert get_split('b', 'train').num_classes == 10
    assert one_error(root, 'b', 'test') == ('{} y_test: labels out of range (found 0..10, '
                                            'expected 0..9)'.format(root / 'b.npz'))
    write_npz(root / 'c.npz', {'train': (pixels, labels), 'test': (pixels, labels)},
              classes=np.array(['low', 'high']))
    assert one_error(root, 'c') == ('{} y_train: labels out of range (found 0..9, expected '
                                    '0..1)'.format(root / 'c.npz'))


@pytest.mark.parametrize('arrays, message', [
    ({'x': np.zeros((4, 8, 8, 2), np.uint8)}, 'x_train: shape (4, 8, 8, 2); expected'),
    ({'x': np.full((4, 8, 8), 1.5)}, 'x_train: float values outside [0, 1] (found 1.5..1.5)'),
    ({'x': np.full((4, 8, 8), 300)}, 'x_train: integer values outside 0-255'),
    ({'x': np.zeros((4, 8, 8), bool)}, 'x_train: values of type bool'),
    ({'y': np.arange(3)}, 'x_train: 4 images but y_train has 3 labels'),
    ({'y': np.full(4, 0.5)}, 'y_train: labels must be whole numbers'),
    ({'x': np.zeros((0, 8, 8), np.uint8), 'y': np.zeros(0, int)}, 'x_train: no images'),
])
def test_npz_bad_arrays_are_named(root, arrays, message):
    x, y = arrays.get('x', np.zeros((4, 8, 8), np.uint8)), arrays.get('y', np.arange(4))
    write_npz(root / 'bad.npz', {'train': (x, y), 'test': (x, y)})
    assert one_error(root, 'bad').startswith('{} {}'.format(root / 'bad.npz', message))


def test_a_file_that_is_not_npz(root):
    (root / 'text.npz').write_text('x_train,y_train\n')
    assert one_error(root, 'text').startswith(str(root / 'text.npz') + ': not a NumPy .npz')
    np.save(str(root / 'one.npy'), np.zeros(3))
    os.rename(str(root / 'one.npy'), str(root / 'one.npz'))
    assert one_error(root, 'one').startswith(str(root / 'one.npz') + ': holds one array')


def test_a_name_that_would_shadow_a_builtin_set(root):
    pixels, labels = real_part('usps', 'test', 60)
    write_npz(root / 'mnist.npz', {'train': (pixels, labels), 'test': (pixels, labels)})
    with pytest.raises(DatasetError) as info:
        get_dataset('mnist')
    assert str(info.value) == ("{}: 'mnist' is a built-in dataset; give your dataset another "
                               "name".format(root / 'mnist.npz'))
    write_folder(root / 'usps1800', {'train': (pixels, labels)})
    with pytest.raises(DatasetError, match=str(root / 'usps1800' / 'train')):
        get_dataset('usps1800')
    result = run_tool('train', 'mnist', 'train', 'lenet', 'x')
    assert result.returncode == 1
    assert result.stderr == ("Error: {}: 'mnist' is a built-in dataset; give your dataset "
                             "another name\n".format(root / 'mnist.npz'))


def test_unknown_names_say_where_a_dataset_of_ones_own_goes(root):
    with pytest.raises(AddaError) as info:
        get_dataset('mine')
    assert str(info.value).startswith("unknown dataset 'mine' (known: mnist, mnist2000, svhn, "
                                      "usps, usps1800); a dataset of your own is a folder "
                                      "{}{} with train/ and test/ or a file {}".format(
                                          root / 'mine', os.sep, root / 'mine.npz'))
    for name in ('../mine', '.hidden'):
        with pytest.raises(AddaError, match='unknown dataset'):
            get_dataset(name)


def test_the_tools_print_one_error_line(small, tmp_path):
    """A bad file, a batch larger than the dataset, another set of classes than the source's,
    more classes than the model has outputs: one Error: line, exit status 1, nothing written."""
    snap = tmp_path / 'snap'
    note = small / 'train' / '3' / 'notes.txt'
    note.write_text('not an image')
    result = run_tool('train', 'mine', 'train', 'lenet', 'x', '--snapshot_dir', snap)
    assert result.returncode == 1 and result.stderr.count('\n') == 1
    assert result.stderr.startswith('Error: {}: not an image'.format(note))
    note.unlink()
    result = run_tool('train', 'mine', 'train', 'lenet', 'x', '--snapshot_dir', snap,
                      '--batch_size', 64)
    assert result.stderr == ('Error: --batch_size 64 is larger than mine train (60 images): '
                             'every batch would repeat images; use at most 60\n')
    source = train(snap, 'mine', 'src')
    pixels, labels = real_part('usps', 'test', 60)
    write_folder(small.parent / 'fewer', {s: (pixels[labels < 5], labels[labels < 5])
                                          for s in ('train', 'test')})
    result = run_tool('train_adda', 'mine:train', 'fewer:train', 'lenet', 'ad', '--weights',
                      source, '--snapshot_dir', snap, '--batch_size', 8)
    assert result.returncode == 1
    assert result.stderr == ('Error: source and target must have the same classes: mine train '
                             'has 0 1 2 3 4 5 6 7 8 9 and fewer train has 0 1 2 3 4\n')
    assert not (snap / 'ad').exists()
    write_folder(small.parent / 'many', {s: (pixels, labels + 3) for s in ('train', 'test')})
    result = run_tool('eval_classification', 'many', 'test', 'lenet', source)
    assert result.stderr == ('Error: many test has 13 labels but lenet has 10 outputs (classes '
                             'named by numbers take their number as label)\n')
