"""Image folders of one's own (adda.data.folders): the decoded-image cache, and one error line
naming the file or folder for each kind of bad folder."""
import os

import numpy as np
import pytest

from adda.data import get_split
from data_fixtures import (assert_same_split, one_error, real_part, root, small,  # noqa: F401
                           write_folder)


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


# --- bad folders ------------------------------------------------------------------------------

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


# --- unlabelled folders -------------------------------------------------------------------------

def write_images(folder, pixels, names=None):
    """Each image directly in ``folder`` (no class folders), as PNG."""
    from PIL import Image
    folder.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(pixels):
        Image.fromarray(image).save(str(folder / ((names or '{:05d}.png').format(i))))


def no_decoding(monkeypatch):
    """Decoding any image fails the test (what is known without decoding is)."""
    from adda.data import images

    def fail(path):
        raise AssertionError('decoded ' + path)
    monkeypatch.setattr(images, 'decode_image', fail)


def test_images_directly_in_train_are_unlabelled_beside_a_labelled_test(root, monkeypatch):
    from adda.data import get_dataset
    from adda.data.dataset import DIGITS
    from adda.errors import AddaError
    pixels, labels = real_part('usps', 'test', 60)
    write_images(root / 'mine' / 'train', pixels[:40])
    (root / 'mine' / 'train' / '.DS_Store').write_bytes(b'hidden files are left out')
    write_folder(root / 'mine', {'test': (pixels, labels)})  # a labelled check set
    with monkeypatch.context() as patched:
        no_decoding(patched)
        dataset = get_dataset('mine')
        assert dataset.splits == ('train', 'test')
        assert not dataset.is_labelled('train') and dataset.is_labelled('test')
        assert dataset.classes == DIGITS and dataset.num_classes == 10
        with pytest.raises(AddaError) as info:
            dataset.require_labels('train', 'a source must be labelled')
        assert str(info.value) == ('mine train has no labels (an image folder without class '
                                   'folders): a source must be labelled')
        dataset.require_labels('test', 'a source must be labelled')
    train = dataset.train
    assert train.labels is None and not train.labelled and len(train) == 40
    assert train.image_shape == (16, 16, 1) and train.classes == DIGITS
    np.testing.assert_array_equal(train.images[..., 0], pixels[:40] / np.float32(255))
    with pytest.raises(AddaError, match='mine train has no labels'):
        train.class_counts()
    part = train.subset([3, 1], 'part')
    assert part.labels is None and len(part) == 2 and part.unlabelled == train.unlabelled
    np.testing.assert_array_equal(part.images, train.images[[3, 1]])
    test = dataset.test
    assert test.labelled and test.class_counts().tolist() == np.bincount(labels).tolist()
    np.testing.assert_array_equal(test.labels, np.sort(labels))


def test_a_folder_with_unlabelled_train_only(root, monkeypatch):
    from adda.data import get_dataset, get_split
    from adda.data.dataset import check_same_classes, require_labels
    from adda.data.own import run_classes
    from adda.errors import AddaError
    pixels, _ = real_part('usps', 'test', 30)
    write_images(root / 'mine' / 'train', pixels)
    with monkeypatch.context() as patched:
        no_decoding(patched)
        dataset = get_dataset('mine')
        assert dataset.splits == ('train',) and not dataset.has_split('test')
        assert dataset.classes is None and dataset.num_classes is None
        assert dataset.missing_files() == []
        with pytest.raises(AddaError) as info:
            get_split('mine', 'test')
        assert str(info.value) == 'mine has no test split ({}{} holds train/ only)'.format(
            root / 'mine', os.sep)
        assert run_classes({'target': 'mine:train'}) == {}  # nothing to record or compare
    train = get_split('mine', 'train')
    assert train.classes is None and train.num_classes is None and len(train) == 30
    with pytest.raises(AddaError) as info:
        require_labels(train, 'a source must be labelled; mine can be an adaptation target')
    assert str(info.value) == ('mine train has no labels (an image folder without class '
                               'folders): a source must be labelled; mine can be an adaptation '
                               'target')
    check_same_classes([get_split('mine', 'train'), train])  # no classes: nothing to differ


def test_an_unlabelled_folder_is_cached_like_a_labelled_one(root, tmp_path, monkeypatch):
    pixels, _ = real_part('usps', 'test', 30)
    write_images(root / 'mine' / 'train', pixels)
    first = get_split('mine', 'train')
    assert [name.startswith('mine-train-') for name in cache_files(tmp_path)] == [True]
    from adda.data import registry
    with monkeypatch.context() as patched:
        no_decoding(patched)
        second = registry.get_split('mine', 'train')
    assert second.labels is None and second is not first
    np.testing.assert_array_equal(second.images, first.images)


def test_a_split_mixing_images_and_class_folders_is_one_error(root):
    pixels, labels = real_part('usps', 'test', 30)
    write_folder(root / 'mine', {'train': (pixels, labels), 'test': (pixels, labels)})
    write_images(root / 'mine' / 'train', pixels[:2], 'loose{}.png')
    train = root / 'mine' / 'train'
    assert one_error(root, 'mine', 'test') == (
        '{}: not in a class folder, but {} has class folders (0 1 2 ...): put every image of '
        'the split in a class folder (images go in {}), or none (an unlabelled split holds its '
        'images directly, no folders)'.format(train / 'loose0.png', train,
                                              os.path.join(str(train), '<class>', '')))


def test_an_empty_split_and_a_folder_without_splits_are_errors(root):
    (root / 'mine' / 'train').mkdir(parents=True)
    (root / 'mine' / 'train' / '.hidden').write_text('left out')
    assert one_error(root, 'mine') == (
        '{}: no class folders and no images (a labelled split holds one folder per class, an '
        'unlabelled one its images directly)'.format(root / 'mine' / 'train'))
    (root / 'mine' / 'train' / '.hidden').unlink()
    (root / 'mine' / 'train').rmdir()
    assert one_error(root, 'mine').startswith('{}: no such folder'.format(
        root / 'mine' / 'train'))
