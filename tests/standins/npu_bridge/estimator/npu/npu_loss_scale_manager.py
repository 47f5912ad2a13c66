"""Stand-in for npu_bridge's loss-scale managers (tests only), with the real constructors: in
form r1.2 FixedLossScaleManager takes the loss scale only (r1.1-r1.3); in the later ones also
enable_overflow_check (r1.5 on)."""
import tensorflow.compat.v1 as tf

from npu_bridge import OVERFLOW_CHECK_ARGUMENT


class LossScaleManager(object):
    def get_loss_scale(self):
        raise NotImplementedError

    def update_loss_scale(self, finite_grads):
        raise NotImplementedError


if not OVERFLOW_CHECK_ARGUMENT:
    class FixedLossScaleManager(LossScaleManager):
        def __init__(self, loss_scale):
            if loss_scale < 1:
                raise ValueError('loss scale must be at least 1.')
            self._loss_scale = tf.convert_to_tensor(loss_scale, dtype=tf.float32)

        def get_loss_scale(self):
            return self._loss_scale

        def update_loss_scale(self, finite_grads):
            del finite_grads
            return tf.no_op()
else:
    class FixedLossScaleManager(LossScaleManager):
        def __init__(self, loss_scale, enable_overflow_check=True):
            if loss_scale < 1:
                raise ValueError('loss scale must be at least 1.')
            self._loss_scale = tf.convert_to_tensor(loss_scale, dtype=tf.float32)
            self._enable_overflow_check = enable_overflow_check

        def get_loss_scale(self):
            return self._loss_scale

        def get_enable_overflow_check(self):
            return self._enable_overflow_check

        def update_loss_scale(self, finite_grads):
            del finite_grads
            return tf.no_op()


class ExponentialUpdateLossScaleManager(LossScaleManager):
    """After incr_every_n_steps consecutive finite steps the scale is multiplied by incr_ratio
    (unless that would pass float32's range); after decr_every_n_nan_or_inf non-finite steps
    (not necessarily consecutive) by decr_ratio, never below 1; both counts restart whenever the
    scale changes, and a non-finite step also restarts the good-step count."""

    def __init__(self, init_loss_scale, incr_every_n_steps, decr_every_n_nan_or_inf=2,
                 incr_ratio=2, decr_ratio=0.8):
        self._incr_every_n_steps = incr_every_n_steps
        self._decr_every_n_nan_or_inf = decr_every_n_nan_or_inf
        self._incr_ratio = incr_ratio
        self._decr_ratio = decr_ratio
        self._loss_scale = tf.Variable(name='loss_scale', initial_value=tf.convert_to_tensor(
            init_loss_scale, tf.float32), dtype=tf.float32, trainable=False)
        self._num_good_steps = tf.Variable(name='good_steps', initial_value=0, dtype=tf.int32,
                                           trainable=False)
        self._num_bad_steps = tf.Variable(name='bad_steps', initial_value=0, dtype=tf.int32,
                                          trainable=False)

    def _reset_stats(self):
        return tf.group(self._num_good_steps.assign(0), self._num_bad_steps.assign(0))

    def get_loss_scale(self):
        return self._loss_scale

    def update_loss_scale(self, finite_grads):
        def if_finite():
            def increase():
                new = tf.cond(tf.less(self._loss_scale, 3.4e38 / self._incr_ratio),
                              lambda: self._loss_scale * self._incr_ratio,
                              lambda: tf.identity(self._loss_scale))
                return tf.group(self._loss_scale.assign(new), self._reset_stats())
            return tf.cond(self._num_good_steps + 1 >= self._incr_every_n_steps, increase,
                           lambda: self._num_good_steps.assign_add(1).op)

        def if_not_finite():
            def decrease():
                new = tf.maximum(1.0, self._loss_scale * self._decr_ratio)
                return tf.group(self._loss_scale.assign(new), self._reset_stats())

            def count():
                return tf.group(self._num_bad_steps.assign_add(1),
                                self._num_good_steps.assign(0))
            return tf.cond(self._num_bad_steps + 1 >= self._decr_every_n_nan_or_inf, decrease,
                           count)

        return tf.cond(finite_grads, if_finite, if_not_finite)
