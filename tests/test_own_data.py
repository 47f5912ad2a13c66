"""Datasets of one's own (adda.data.folders, adda.data.arrays): image folders and .npz files
written from part of the real MNIST and USPS files equal the built-in sets they came from,
through every tool; class order; one error line naming the file for bad names and through the
tools (tests/test_folders.py and tests/test_arrays.py: each form's own)."""
import os

import numpy as np
import pytest
import yaml

from adda.data import get_dataset, get_split
from adda.data.dataset import DIGITS
from adda.errors import AddaError, DatasetError
from conftest import run_tool
from data_fixtures import (assert_same_split, mnist_part, preprocessed, real_images,  # noqa: F401
                           real_part, rgb_part, root, small, usps_part, write_folder,
                           write_mnist_files, write_npz, write_svhn_files, write_usps_files)

TRAIN = ['--iterations', 10, '--snapshot', 10, '--batch_size', 32, '--lr', 1e-3, '--solver',
         'adam', '--seed', 3]


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


# --- bad names and the tools' error lines ------------------------------------------------------

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
