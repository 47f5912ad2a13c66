"""Stand-in for npu_bridge's NPULossScaleOptimizer (tests only), in the form FAKE_NPU_FORM names.

r1.2 (2020-21, r1.1-r1.6): the instance holds ``tf.constant([0.0])`` as its float-status buffer until its
``compute_gradients`` replaces it with one from ``npu_alloc_float_status()``; ``apply_gradients``
reads the status into that buffer after the gradients, clears it, and skips the update when the
status it read is not the cleared one. So the instance that applies must be the one that
computed: a fresh instance reads the constant and never sees an overflow.

r1.7 and r1.9 (r1.7-r1.9): as r1.10, but with the v1 status ops on a buffer that
``apply_gradients`` allocates itself (r1.9 registers the ``*_v2`` ops, but this optimizer does
not use them).

r1.10 (r1.10 to the newest): a subclass of contrib's LossScaleOptimizer (stood in for here by
``LossScaleOptimizer``), with no state: ``apply_gradients`` reads the status with input-less
``npu_get_float_status_v2()`` after the gradients and clears it.

Gradients computed by either go through ``npu_bridge._device.computed_on_device``: the device's
float16 overflow sets the float-status register.
"""
import tensorflow.compat.v1 as tf

from npu_bridge import OPTIMIZER_STATUS_V2, STATEFUL_OPTIMIZER, _device
from npu_bridge.estimator.npu.npu_loss_scale_manager import FixedLossScaleManager
from npu_bridge.helper import helper

gen_npu_ops = helper.get_gen_ops()
GATE_OP = tf.train.Optimizer.GATE_OP


def _down_scale(grads_and_vars, loss_scale):
    inverse = tf.reciprocal(loss_scale)
    return [(g * tf.cast(inverse, g.dtype.base_dtype) if g is not None else None, v)
            for g, v in grads_and_vars]


def _scaled(loss, loss_scale):
    value = loss() if callable(loss) else loss
    return value * tf.cast(loss_scale, value.dtype.base_dtype)


def _apply_if(finite, opt, grads_and_vars, global_step, name, manager):
    update = tf.cond(finite, lambda: opt.apply_gradients(grads_and_vars, global_step, name),
                     tf.no_op)
    return tf.group(update, manager.update_loss_scale(finite))


if STATEFUL_OPTIMIZER:  # the v1 form
    class NPULossScaleOptimizer(tf.train.Optimizer):
        def __init__(self, opt, loss_scale_manager, is_distributed=False):
            # like the real one, without the base class's constructor
            self._opt = opt
            self._loss_scale_manager = loss_scale_manager
            self._float_status = tf.constant([0.0], dtype=tf.float32)
            self._is_distributed = is_distributed
            self._name = 'NPULossScaleOptimizer'

        def compute_gradients(self, loss, var_list=None, gate_gradients=GATE_OP,
                              aggregation_method=None, colocate_gradients_with_ops=False,
                              grad_loss=None):
            loss_scale = self._loss_scale_manager.get_loss_scale()
            scaled_loss = _scaled(loss, loss_scale)
            self._float_status = gen_npu_ops.npu_alloc_float_status()
            grads_and_vars = self._opt.compute_gradients(
                scaled_loss, var_list=var_list, gate_gradients=gate_gradients,
                aggregation_method=aggregation_method,
                colocate_gradients_with_ops=colocate_gradients_with_ops, grad_loss=grad_loss)
            return _down_scale(_device.computed_on_device(grads_and_vars), loss_scale)

        def apply_gradients(self, grads_and_vars, global_step=None, name=None):
            grads_and_vars = list(grads_and_vars)
            grads = [g for g, _ in grads_and_vars if g is not None]
            with tf.control_dependencies(grads):
                local_float_status = gen_npu_ops.npu_get_float_status(self._float_status)
                cleared_float_status = gen_npu_ops.npu_clear_float_status(local_float_status)
            # The device wrote the status into the buffer in place; the stand-in's read returns
            # what it wrote, so that is what is compared with the cleared status.
            finite = tf.reduce_all(tf.equal(local_float_status, cleared_float_status))
            return _apply_if(finite, self._opt, grads_and_vars, global_step, name,
                             self._loss_scale_manager)
else:
    class LossScaleOptimizer(tf.train.Optimizer):
        """What contrib's mixed_precision LossScaleOptimizer does in TF 1.15: gradients of the
        scaled loss, scaled back; applied only when all are finite."""

        def __init__(self, opt, loss_scale_manager):
            super(LossScaleOptimizer, self).__init__(use_locking=False, name='LossScaleOptimizer')
            self._opt = opt
            self._loss_scale_manager = loss_scale_manager

        def compute_gradients(self, loss, var_list=None, gate_gradients=GATE_OP,
                              aggregation_method=None, colocate_gradients_with_ops=False,
                              grad_loss=None):
            loss_scale = self._loss_scale_manager.get_loss_scale()
            grads_and_vars = self._opt.compute_gradients(
                _scaled(loss, loss_scale), var_list=var_list, gate_gradients=gate_gradients,
                aggregation_method=aggregation_method,
                colocate_gradients_with_ops=colocate_gradients_with_ops, grad_loss=grad_loss)
            return _down_scale(_device.computed_on_device(grads_and_vars), loss_scale)

        def apply_gradients(self, grads_and_vars, global_step=None, name=None):
            grads_and_vars = list(grads_and_vars)
            finite = tf.reduce_all(tf.stack([tf.reduce_all(tf.is_finite(g))
                                             for g, _ in grads_and_vars if g is not None]))
            return _apply_if(finite, self._opt, grads_and_vars, global_step, name,
                             self._loss_scale_manager)

    class NPULossScaleOptimizer(LossScaleOptimizer):
        def __init__(self, opt, loss_scale_manager, is_distributed=False):
            self._opt = opt
            self._loss_scale_manager = loss_scale_manager
            self._float_status = tf.constant([0.0], dtype=tf.float32)
            self._is_distributed = is_distributed
            self._name = 'NPULossScaleOptimizer'
            super(NPULossScaleOptimizer, self).__init__(opt=opt,
                                                        loss_scale_manager=loss_scale_manager)

        if OPTIMIZER_STATUS_V2:  # r1.10 on (its own code: the project reads the form from it)
            def apply_gradients(self, grads_and_vars, global_step=None, name=None):
                grads_and_vars = list(grads_and_vars)
                if self._enable_overflow_check():
                    grads = [g for g, _ in grads_and_vars if g is not None]
                    with tf.control_dependencies(grads):
                        local_float_status = gen_npu_ops.npu_get_float_status_v2()
                    with tf.control_dependencies([local_float_status]):
                        cleared_float_status = gen_npu_ops.npu_clear_float_status_v2()
                    with tf.control_dependencies([cleared_float_status]):
                        finite = tf.reduce_all(tf.equal(0.0, local_float_status))
                else:
                    finite = tf.constant(True)
                return _apply_if(finite, self._opt, grads_and_vars, global_step, name,
                                 self._loss_scale_manager)
        else:  # r1.7-r1.9: the v1 ops on a buffer of its own
            def apply_gradients(self, grads_and_vars, global_step=None, name=None):
                grads_and_vars = list(grads_and_vars)
                if self._enable_overflow_check():
                    grads = [g for g, _ in grads_and_vars if g is not None]
                    with tf.control_dependencies(grads):
                        local_float_status = gen_npu_ops.npu_get_float_status(
                            gen_npu_ops.npu_alloc_float_status())
                        cleared_float_status = gen_npu_ops.npu_clear_float_status(
                            local_float_status)
                    finite = tf.reduce_all(tf.equal(local_float_status, cleared_float_status))
                else:
                    finite = tf.constant(True)
                return _apply_if(finite, self._opt, grads_and_vars, global_step, name,
                                 self._loss_scale_manager)

        def _enable_overflow_check(self):
            if isinstance(self._loss_scale_manager, FixedLossScaleManager):
                return self._loss_scale_manager.get_enable_overflow_check()
            return True
