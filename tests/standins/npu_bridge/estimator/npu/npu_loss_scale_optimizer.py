"""Stand-in for npu_bridge's NPULossScaleOptimizer (tests only).

The real one reads the device's float-status register (the 910 saturates on overflow instead of
producing inf) with NPU-only ops; on the CPU an overflow is an inf or NaN gradient, so the
stand-in checks those instead, in the name scope FLOAT_STATUS_SCOPE (the graph-contract test
knows these ops stand for the adapter's float-status ops).
"""
import tensorflow.compat.v1 as tf


FLOAT_STATUS_SCOPE = 'NPULossScaleOptimizer_float_status'


class NPULossScaleOptimizer(tf.train.Optimizer):
    def __init__(self, opt, loss_scale_manager, is_distributed=False):
        super(NPULossScaleOptimizer, self).__init__(use_locking=False,
                                                    name='NPULossScaleOptimizer')
        self._opt = opt
        self._loss_scale_manager = loss_scale_manager
        self._is_distributed = is_distributed

    def compute_gradients(self, loss, var_list=None, **kwargs):
        scale = self._loss_scale_manager.get_loss_scale()
        pairs = self._opt.compute_gradients(loss * scale, var_list=var_list, **kwargs)
        return [(g / scale if g is not None else None, v) for g, v in pairs]

    def apply_gradients(self, grads_and_vars, global_step=None, name=None):
        grads_and_vars = list(grads_and_vars)
        grads = [g for g, _ in grads_and_vars if g is not None]
        with tf.name_scope(FLOAT_STATUS_SCOPE):
            finite = tf.reduce_all(tf.stack([tf.reduce_all(tf.is_finite(g)) for g in grads]))
        applied = tf.cond(finite,
                          lambda: self._opt.apply_gradients(grads_and_vars, global_step, name),
                          tf.no_op)
        return tf.group(applied, self._loss_scale_manager.update_loss_scale(finite))
