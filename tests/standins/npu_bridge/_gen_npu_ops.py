"""Stand-in for the adapter's generated NPU ops (``helper.get_gen_ops()``): the float-status
ops, emulated on the stand-in's register (npu_bridge._device).

- ``npu_alloc_float_status()``: a buffer (8 floats) for the device to write the status into.
- ``npu_get_float_status(buffer)``: the device writes the register into ``buffer`` in place;
  here the written status is the op's output. A tensor that no alloc made (a constant) is not
  written to: its value comes back unchanged, whatever the register holds.
- ``npu_clear_float_status(status)``: clears the register (after ``status`` was read).
- r1.9 and r1.10 only (registered from r1.8 on): input-less ``npu_get_float_status_v2()`` and ``npu_clear_float_status_v2()``.
"""
import tensorflow.compat.v1 as tf

from npu_bridge import STATUS_V2_OPS, _device


def npu_alloc_float_status(name=None):
    with tf.name_scope(_device.FLOAT_STATUS_SCOPE):
        buffer = tf.zeros([8], tf.float32, name=name or 'NpuAllocFloatStatus')
    _device.mark_buffer(buffer)
    return buffer


def npu_get_float_status(float_status, name=None):
    with tf.name_scope(_device.FLOAT_STATUS_SCOPE):
        if _device.is_buffer(float_status):
            with tf.control_dependencies([float_status]):
                return tf.identity(_device.status_now(), name=name or 'NpuGetFloatStatus')
        return tf.identity(float_status, name=name or 'NpuGetFloatStatus')


def npu_clear_float_status(float_status, name=None):
    with tf.name_scope(_device.FLOAT_STATUS_SCOPE):
        with tf.control_dependencies([float_status]):
            cleared = _device.clear()
        with tf.control_dependencies([cleared]):
            return tf.zeros_like(float_status, name=name or 'NpuClearFloatStatus')


if STATUS_V2_OPS:
    def npu_get_float_status_v2(name=None):
        with tf.name_scope(_device.FLOAT_STATUS_SCOPE):
            return tf.identity(_device.status_now(), name=name or 'NpuGetFloatStatusV2')

    def npu_clear_float_status_v2(name=None):
        with tf.name_scope(_device.FLOAT_STATUS_SCOPE):
            cleared = _device.clear()
            with tf.control_dependencies([cleared]):
                return tf.no_op(name=name or 'NpuClearFloatStatusV2')
