"""Source-training augmentation (--augment, --augment_zoom, --augment_stroke, --augment_shear):
what the transforms do, and that they are pure functions of (seed, step), so runs are
repeatable and a resumed run sees the same images."""
import numpy as np
import yaml

from adda.compat import tf
from adda.data.augment import shear, stroke, zoom_shift
from adda.data.dataset import ImageSplit
from adda.data.pipeline import training_batches
from conftest import run_tool


def bar_images(n=6, size=28):
    """A bright 8x4 bar in the middle of a black image."""
    images = np.zeros((n, size, size, 1), np.float32)
    images[:, 10:18, 12:16] = 1.0
    return images


def run(tensor):
    with tf.Session() as sess:
        return sess.run(tensor)


def test_strength_zero_leaves_the_images_unchanged(tf_graph):
    images = bar_images()
    assert np.array_equal(run(zoom_shift(tf.constant(images), 0.0, 1, 5)), images)


def test_zoom_and_shift_move_and_resize_the_digit(tf_graph):
    images = bar_images(n=64)
    out = run(zoom_shift(tf.constant(images), 0.3, 1, 5))
    assert out.shape == images.shape and out.min() >= 0.0 and out.max() <= 1.0 + 1e-6
    ink = out.sum(axis=(1, 2, 3))
    # zoomed in and out by up to 30%: the bar's area scales by up to 1.3^2 and down to 0.7^2
    assert ink.min() < 32 * 0.9 and ink.max() > 32 * 1.1
    assert ink.min() > 32 * 0.7 ** 2 * 0.9 and ink.max() < 32 * 1.3 ** 2 * 1.1
    rows = np.arange(28)[None, :]
    centre = (out[..., 0].sum(axis=2) * rows).sum(axis=1) / out[..., 0].sum(axis=(1, 2))
    assert np.ptp(centre) > 2.0  # shifted, not only zoomed (the bar's centre row is 13.5)


def test_zoom_range_scales_the_digit_within_it_and_keeps_the_shift(tf_graph):
    """--augment_zoom 0.5 0.8: the bar's area between 0.5^2 and 0.8^2 of its own (bilinear
    blur aside), never larger; without shift strength it stays centred; the plain --augment
    draws are unchanged by the new argument's existence."""
    images = bar_images(n=64)
    out = run(zoom_shift(tf.constant(images), 0.0, 1, 5, zoom=(0.5, 0.8)))
    ink = out.sum(axis=(1, 2, 3))
    assert ink.max() < 32 * 0.8 ** 2 * 1.1 and ink.min() > 32 * 0.5 ** 2 * 0.9
    assert np.ptp(ink) > 32 * 0.15  # drawn over the range, not one factor
    rows = np.arange(28)[None, :]
    centre = (out[..., 0].sum(axis=2) * rows).sum(axis=1) / out[..., 0].sum(axis=(1, 2))
    assert np.ptp(centre) < 0.5
    shifted = run(zoom_shift(tf.constant(images), 0.3, 1, 5, zoom=(0.5, 0.8)))
    centre = (shifted[..., 0].sum(axis=2) * rows).sum(axis=1) / shifted[..., 0].sum(axis=(1, 2))
    assert np.ptp(centre) > 2.0
    assert np.array_equal(run(zoom_shift(tf.constant(images), 0.3, 1, 5, zoom=None)),
                          run(zoom_shift(tf.constant(images), 0.3, 1, 5)))


def test_stroke_thickens_and_thins_by_up_to_the_strength(tf_graph):
    images = bar_images(n=200)
    assert np.array_equal(run(stroke(tf.constant(images), 0.0, 1, 5)), images)
    out = run(stroke(tf.constant(images), 1.0, 1, 5))
    ink = out.sum(axis=(1, 2, 3))
    # the 8x4 bar (32): a full 3x3 dilation makes it 10x6 (60), a full erosion 6x2 (12)
    assert ink.min() < 32 * 0.8 and ink.max() > 32 * 1.2
    assert ink.min() >= 12 - 1e-4 and ink.max() <= 60 + 1e-4
    assert out.min() >= 0.0 and out.max() <= 1.0 + 1e-6
    half = run(stroke(tf.constant(images), 0.5, 1, 5))
    assert half.sum(axis=(1, 2, 3)).min() >= 32 - 0.5 * 20 - 1e-4  # halfway to the erosion
    same = run([stroke(tf.constant(images), 0.5, 1, 5), stroke(tf.constant(images), 0.5, 1, 6)])
    assert np.array_equal(same[0], half) and not np.array_equal(same[1], half)


def slant(images):
    """Each image's horizontal shear as a moment ratio: cov(row, column) / var(row)."""
    ink = images[..., 0] / images[..., 0].sum(axis=(1, 2), keepdims=True)
    rows, columns = np.mgrid[:images.shape[1], :images.shape[2]]
    row_mean = (ink * rows).sum(axis=(1, 2), keepdims=True)
    column_mean = (ink * columns).sum(axis=(1, 2), keepdims=True)
    return ((ink * (rows - row_mean) * (columns - column_mean)).sum(axis=(1, 2))
            / (ink * (rows - row_mean) ** 2).sum(axis=(1, 2)))


def test_shear_leans_the_digit_by_a_factor_within_the_strength(tf_graph):
    """An upright bar (slant 0) comes out leaning by at most the strength: rows below the centre
    move right for a positive one; its ink is kept (linear interpolation); both directions
    occur; strength 0 is the identity."""
    images = bar_images(n=200)
    images[:, 6:22, 13:15] = 1.0  # a tall 16x2 stroke, like a USPS one
    assert np.allclose(slant(images), 0.0)
    assert np.array_equal(run(shear(tf.constant(images), 0.0, 1, 5)), images)
    out = run(shear(tf.constant(images), 0.5, 1, 5))
    leaned = slant(out)
    assert np.abs(leaned).max() <= 0.5 + 1e-3 and leaned.min() < -0.3 and leaned.max() > 0.3
    assert np.allclose(out.sum(axis=(1, 2, 3)), images.sum(axis=(1, 2, 3)), rtol=1e-5)
    assert out.min() >= 0.0 and out.max() <= 1.0 + 1e-6
    one = out[np.argmax(leaned)]  # leaning most to the right at the bottom
    bottom, top = one[21, :, 0], one[6, :, 0]
    assert (bottom * np.arange(28)).sum() / bottom.sum() > (top * np.arange(28)).sum() / top.sum()
    again = run([shear(tf.constant(images), 0.5, 1, 5), shear(tf.constant(images), 0.5, 1, 6)])
    assert np.array_equal(again[0], out) and not np.array_equal(again[1], out)


def test_draws_depend_only_on_seed_and_step(tf_graph):
    images = tf.constant(bar_images())
    same = run([zoom_shift(images, 0.2, 1, 5), zoom_shift(images, 0.2, 1, 5)])
    assert np.array_equal(same[0], same[1])
    assert not np.array_equal(same[0], run(zoom_shift(images, 0.2, 1, 6)))
    assert not np.array_equal(same[0], run(zoom_shift(images, 0.2, 2, 5)))


def test_a_resumed_pipeline_augments_like_the_uninterrupted_one():
    split = ImageSplit(bar_images(n=10), np.arange(10), 10, 'bars')

    def batches(start_step, count):
        with tf.Graph().as_default():
            pipeline = training_batches(split, 4, seed=3, start_step=start_step,
                                        augment=lambda x, step: zoom_shift(x, 0.2, 3, step))
            with tf.Session() as sess:
                pipeline.initialize(sess)
                images, labels = pipeline.get_next()
                return [sess.run([images, labels]) for _ in range(count)]
    whole, resumed = batches(0, 5), batches(3, 2)
    for (images, labels), (again, again_labels) in zip(whole[3:], resumed):
        assert np.array_equal(labels, again_labels)
        assert np.allclose(images, again)
    assert not np.allclose(whole[3][0], whole[4][0])


def test_train_records_the_augmentation_and_rejects_a_bad_strength(data_root, tmp_path):
    common = ['mnist', 'train', 'lenet', 'src', '--iterations', 4, '--snapshot', 4,
              '--batch_size', 8, '--seed', 0, '--snapshot_dir', tmp_path]
    result = run_tool('train', *common, '--augment', 0.2)
    assert result.returncode == 0, result.stderr[-2000:]
    config = yaml.safe_load((tmp_path / 'src' / 'config.yaml').read_text())
    assert config['options']['augment'] == 0.2
    stroked = run_tool('train', *(common[:3] + ['thick'] + common[4:]), '--augment_stroke', 0.5)
    assert stroked.returncode == 0, stroked.stderr[-2000:]
    config = yaml.safe_load((tmp_path / 'thick' / 'config.yaml').read_text())
    assert (config['options']['augment'], config['options']['augment_stroke']) == (0.0, 0.5)
    zoomed = run_tool('train', *(common[:3] + ['small'] + common[4:]), '--augment', 0.1,
                      '--augment_zoom', 0.6, 1.0)
    assert zoomed.returncode == 0, zoomed.stderr[-2000:]
    config = yaml.safe_load((tmp_path / 'small' / 'config.yaml').read_text())
    assert config['options']['augment_zoom'] == [0.6, 1.0]
    leaning = run_tool('train', *(common[:3] + ['lean'] + common[4:]), '--augment_shear', 0.4)
    assert leaning.returncode == 0, leaning.stderr[-2000:]
    config = yaml.safe_load((tmp_path / 'lean' / 'config.yaml').read_text())
    assert (config['options']['augment'], config['options']['augment_shear']) == (0.0, 0.4)
    upside = run_tool('train', *(common[:3] + ['other'] + common[4:]), '--augment_zoom', 1.0, 0.6)
    assert upside.returncode == 2 and 'LOW 1.0 is above HIGH 0.6' in upside.stderr
    assert 'Traceback' not in upside.stderr and not (tmp_path / 'other').exists()
    for option, value in (('--augment', 0.9), ('--augment_shear', -0.1)):
        bad = run_tool('train', *(common[:3] + ['other'] + common[4:]), option, value)
        assert bad.returncode == 2 and option in bad.stderr and 'Traceback' not in bad.stderr
        assert not (tmp_path / 'other').exists()
