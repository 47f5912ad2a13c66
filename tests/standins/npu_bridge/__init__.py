"""Stand-in for Ascend's npu_bridge (tests only), written from the facts of the real adapter's
sources (tf_adapter/python/npu_bridge in Ascend's TensorFlow adapter) at every point this project
relies on, computing on the CPU. Two forms, chosen by ``FAKE_NPU_FORM``:

- ``v1`` (default): the 2020-21 adapter of the CANN 5.0.x images. ``npu_init`` exports neither
  ``util`` nor the loss-scale classes nor ``npu_config_proto``; NPULossScaleOptimizer keeps the
  float-status buffer that its own ``compute_gradients`` allocates, and an instance whose
  ``compute_gradients`` never ran reads a constant instead: it never sees an overflow.
  ``FixedLossScaleManager(loss_scale)`` takes no other argument.
- ``v2``: the later adapter. NPULossScaleOptimizer subclasses contrib's LossScaleOptimizer, keeps
  no state and reads the status with input-less ``npu_get_float_status_v2``;
  ``FixedLossScaleManager(loss_scale, enable_overflow_check=True)``; ``npu_init`` exports
  everything, ``npu_config_proto`` included.

Importing any part of the package replaces ``tf.Session`` by the stand-in session of
``npu_bridge._device`` (the graph engine: the device-side loop, the float-status register).
"""
import os

FORM = os.environ.get('FAKE_NPU_FORM', 'v1')
if FORM not in ('v1', 'v2'):
    raise ImportError('FAKE_NPU_FORM must be v1 or v2, not {!r}'.format(FORM))

from npu_bridge import _device  # noqa: E402  (installs the stand-in session)
