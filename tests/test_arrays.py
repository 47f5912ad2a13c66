""".npz files of one's own (adda.data.arrays): one error line naming the file and the array for
each kind of bad file."""
import os

import numpy as np
import pytest

from adda.data import get_split
from data_fixtures import one_error, real_part, root, write_npz  # noqa: F401


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


# --- unlabelled arrays --------------------------------------------------------------------------

def test_x_without_y_is_unlabelled(root, monkeypatch):
    from adda.data import get_dataset
    from adda.data.arrays import ArrayFile
    from adda.data.dataset import DIGITS
    from adda.errors import AddaError
    pixels, labels = real_part('usps', 'test', 60)
    np.savez(str(root / 'alone.npz'), x_train=pixels)
    np.savez(str(root / 'checked.npz'), x_train=pixels[:40], x_test=pixels[40:],
             y_test=labels[40:])
    np.savez(str(root / 'named.npz'), x_train=pixels, classes=np.array(['a', 'b']))
    with monkeypatch.context() as patched:  # which splits, labelled or not: no array is read
        patched.setattr(ArrayFile, '_array', lambda *args: pytest.fail('read an array'))
        alone, checked = get_dataset('alone'), get_dataset('checked')
        assert alone.splits == ('train',) and not alone.is_labelled('train')
        assert alone.classes is None and alone.num_classes is None
        assert checked.splits == ('train', 'test') and checked.is_labelled('test')
        assert not checked.is_labelled('train') and checked.classes == DIGITS
        with pytest.raises(AddaError) as info:
            alone.require_labels('train', 'a source must be labelled')
        assert str(info.value) == ('alone train has no labels (no y_train in alone.npz): a '
                                   'source must be labelled')
        with pytest.raises(AddaError) as info:
            get_split('alone', 'test')
        assert str(info.value) == 'alone has no test split ({} has no x_test)'.format(
            root / 'alone.npz')
    train = get_split('alone', 'train')
    assert train.labels is None and len(train) == 60 and train.classes is None
    np.testing.assert_array_equal(train.images[..., 0], pixels / np.float32(255))
    assert get_split('checked', 'train').labels is None
    np.testing.assert_array_equal(get_split('checked', 'test').labels, labels[40:])
    assert get_dataset('named').classes == ('a', 'b')  # classes given are kept


def test_a_labelled_train_beside_an_unlabelled_test(root):
    pixels, labels = real_part('usps', 'test', 60)
    np.savez(str(root / 'a.npz'), x_train=pixels, y_train=labels, x_test=pixels[:5])
    assert get_split('a', 'train').labelled and get_split('a', 'test').labels is None
    np.savez(str(root / 'b.npz'), x_train=pixels, y_test=labels)
    assert one_error(root, 'b') == '{}: y_test but no x_test in the file (it holds x_train, ' \
        'y_test)'.format(root / 'b.npz')
