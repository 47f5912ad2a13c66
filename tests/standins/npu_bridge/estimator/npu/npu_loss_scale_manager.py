"""Stand-in for npu_bridge's loss-scale managers (tests only), with the documented update rule
of ExponentialUpdateLossScaleManager."""
import tensorflow.compat.v1 as tf


class FixedLossScaleManager(object):
    def __init__(self, loss_scale, enable_overflow_check=True):
        if loss_scale < 1:
            raise ValueError('loss scale must be at least 1.')
        self._loss_scale = tf.constant(float(loss_scale), tf.float32, name='loss_scale')
        self._enable_overflow_check = enable_overflow_check

    def get_enable_overflow_check(self):
        return self._enable_overflow_check

    def get_loss_scale(self):
        return self._loss_scale

    def update_loss_scale(self, finite_grads):
        del finite_grads
        return tf.no_op()


class ExponentialUpdateLossScaleManager(object):
    def __init__(self, init_loss_scale, incr_every_n_steps, decr_every_n_nan_or_inf=2,
                 incr_ratio=2, decr_ratio=0.8):
        self._incr_every_n_steps = incr_every_n_steps
        self._decr_every_n_nan_or_inf = decr_every_n_nan_or_inf
        self._incr_ratio = incr_ratio
        self._decr_ratio = decr_ratio
        self._loss_scale = tf.get_variable('loss_scale', initializer=float(init_loss_scale),
                                           trainable=False, use_resource=True)
        self._num_good_steps = tf.get_variable('good_steps', [], tf.int32, trainable=False,
                                               initializer=tf.zeros_initializer(),
                                               use_resource=True)
        self._num_bad_steps = tf.get_variable('bad_steps', [], tf.int32, trainable=False,
                                              initializer=tf.zeros_initializer(),
                                              use_resource=True)

    def get_loss_scale(self):
        return self._loss_scale

    def _reset_stats(self):
        return tf.group(self._num_good_steps.assign(0), self._num_bad_steps.assign(0))

    def update_loss_scale(self, finite_grads):
        def if_finite():
            def increase():
                new = tf.cond(self._loss_scale < 3.4e38 / self._incr_ratio,
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
