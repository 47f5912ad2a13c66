"""Loss scaling (adda/loss_scale.py): float16 gradients that underflow without it train with it;
overflowing steps are skipped, counted and lower the scale; a collapsing run stops."""
import os

import numpy as np
import pytest

from adda.compat import tf
from adda.loss_scale import InGraphScaling, LossScale, NoScaling, NpuScaling, parse_loss_scale
from conftest import run_tool


def float16_step(scaler, factor, lr=0.1):
    """A weight whose gradient is computed in float16: loss = factor * sum(float16(w) * 3).
    Returns (weight variable, the step op, the scaler's outputs)."""
    w = tf.get_variable('w', initializer=tf.constant([0.5, -0.5]))
    loss = factor * tf.reduce_sum(tf.cast(tf.cast(w, tf.float16) * tf.constant(3.0, tf.float16),
                                          tf.float32))
    update = scaler.apply([(tf.train.AdamOptimizer(lr), scaler.gradients(loss, [w]))])
    with tf.control_dependencies([update]):
        outputs = scaler.outputs()
    return w, update, outputs


def run(make_scaler, factor, steps):
    with tf.Graph().as_default():
        scaler = make_scaler()
        w, update, outputs = float16_step(scaler, factor)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            before = sess.run(w)
            seen = [sess.run([update, outputs])[1] for _ in range(steps)]
            return before, sess.run(w), seen


def test_float16_gradients_that_underflow_train_with_dynamic_scaling():
    # d loss / d float16(w) = 1e-8 * 3 is below float16's smallest subnormal (6e-8): zero
    before, after, _ = run(NoScaling, 1e-8, 3)
    np.testing.assert_array_equal(before, after)
    before, after, seen = run(InGraphScaling, 1e-8, 3)
    assert np.all(np.abs(after - before) > 0.01)  # Adam moves the weights (by ~lr per step)
    assert [s['skipped_steps'] for s in seen] == [0, 0, 0]
    assert seen[-1]['loss_scale'] == 2.0 ** 15


def test_overflowing_steps_are_skipped_counted_and_lower_the_scale():
    # 1e3 * 3 * 2**15 overflows float16 (max 65504): skipped until the scale is below ~21
    before, after, seen = run(InGraphScaling, 1e3, 30)
    skipped = [int(s['skipped_steps']) for s in seen]
    scales = [s['loss_scale'] for s in seen]
    # the scale halves after every second overflow (decr_every 2): 2**15 -> 16 takes 22 steps
    assert skipped[21] == 22 and scales[21] == 16.0
    assert skipped[-1] == 22 and scales[-1] == 16.0  # then the steps go through
    assert seen[-1]['skipped_streak'] == 0 and seen[21]['skipped_streak'] == 22
    assert not np.allclose(before, after)


def test_fixed_scale_skips_but_keeps_its_value():
    before, after, seen = run(lambda: InGraphScaling(2.0 ** 15, dynamic=False), 1e3, 4)
    assert [s['skipped_steps'] for s in seen] == [1, 2, 3, 4]
    assert {s['loss_scale'] for s in seen} == {2.0 ** 15}
    np.testing.assert_array_equal(before, after)


@pytest.mark.ascend
def test_npu_scaling_through_the_adapter_optimizer(npu):
    """The same behaviour through NPULossScaleOptimizer and its managers (stand-in)."""
    before, after, seen = run(lambda: NpuScaling(npu, LossScale('dynamic', None)), 1e-8, 2)
    assert np.all(np.abs(after - before) > 0.01)
    before, after, seen = run(lambda: NpuScaling(npu, LossScale('dynamic', None)), 1e3, 30)
    assert seen[21]['skipped_steps'] == 22 and seen[21]['loss_scale'] == 16.0
    before, after, seen = run(lambda: NpuScaling(npu, LossScale('fixed', 8.0)), 1e3, 3)
    assert [s['skipped_steps'] for s in seen] == [0, 0, 0]
    assert {s['loss_scale'] for s in seen} == {8.0}


def test_parse_loss_scale():
    assert parse_loss_scale('dynamic') == LossScale('dynamic', None)
    assert parse_loss_scale('None') == LossScale('none', None)
    assert parse_loss_scale('128') == LossScale('fixed', 128.0)
    for bad in ('0.5', 'inf', 'nan', 'big'):
        with pytest.raises(ValueError):
            parse_loss_scale(bad)


def test_bad_loss_scale_option_is_one_error_line(data_root, tmp_path):
    result = run_tool('train', 'mnist', 'train', 'lenet', 'x', '--loss_scale', '0.5',
                      '--snapshot_dir', tmp_path / 'snap')
    assert result.returncode == 2
    assert "Invalid value for '--loss_scale'" in result.stderr
    assert not (tmp_path / 'snap').exists()


def test_collapsed_loss_scale_stops_with_the_last_good_snapshot(data_root, tmp_path):
    """With loss scaling a non-finite step is skipped, not fatal; a run whose steps keep
    overflowing stops with one error line and keeps its last good snapshot."""
    snap = tmp_path / 'snap'
    result = run_tool('train', 'mnist', 'train', 'lenet', 'boom', '--iterations', 300,
                      '--snapshot', 1, '--lr', 1e30, '--solver', 'sgd', '--batch_size', 8,
                      '--loss_scale', 'dynamic', '--display', 50, '--snapshot_dir', snap)
    assert result.returncode == 1, result.stderr[-2000:]
    (line,) = [l for l in result.stderr.splitlines() if l.strip()]
    assert line.startswith('Error: loss scaling collapsed: the last 100 steps overflowed')
    assert 'skipped steps:' in result.stdout + result.stderr  # logged while it was going on
    last = line.rsplit('last good snapshot: ', 1)[1].rstrip(')')
    assert os.path.isfile(last + '.index')
