"""Stand-in for Ascend's npu_bridge (tests only), written from the facts of the real adapter's
sources (tf_adapter/python/npu_bridge in Ascend's TensorFlow adapter) at every point this project
relies on, computing on the CPU. Four forms, chosen by ``FAKE_NPU_FORM``:

- ``v1`` (default): the 2020-21 adapter of the CANN 5.0.x images. ``npu_init`` exports neither
  ``util`` nor the loss-scale classes nor ``npu_config_proto``; NPULossScaleOptimizer keeps the
  float-status buffer that its own ``compute_gradients`` allocates, and an instance whose
  ``compute_gradients`` never ran reads a constant instead: it never sees an overflow.
  ``FixedLossScaleManager(loss_scale)`` takes no other argument.
- ``v2``: the later adapter. NPULossScaleOptimizer subclasses contrib's LossScaleOptimizer, keeps
  no state and reads the status with input-less ``npu_get_float_status_v2``;
  ``FixedLossScaleManager(loss_scale, enable_overflow_check=True)``; ``npu_init`` exports
  everything, ``npu_config_proto`` included.
- ``mid``: the form between them: NPULossScaleOptimizer has no ``compute_gradients`` of its own
  and no state, as in v2, but there are no ``*_v2`` status ops: its ``apply_gradients`` reads
  the status with ``npu_get_float_status(npu_alloc_float_status())`` and clears it with
  ``npu_clear_float_status``; the managers and ``npu_init`` as in v2.
- ``v3``: the newest: v2, and importing ``npu_init`` turns every later ``tf.Session`` into an
  NPU one (its config completed by ``npu_config_proto``, the NpuOptimizer rewrite added).

Importing any part of the package replaces ``tf.Session`` by the stand-in session of
``npu_bridge._device`` (the graph engine: the device-side loop, the float-status register).
"""
import os

FORM = os.environ.get('FAKE_NPU_FORM', 'v1')
FORMS = ('v1', 'mid', 'v2', 'v3')
if FORM not in FORMS:
    raise ImportError('FAKE_NPU_FORM must be one of {}, not {!r}'.format(', '.join(FORMS), FORM))
STATEFUL_OPTIMIZER = FORM == 'v1'  # NPULossScaleOptimizer keeps its compute_gradients' buffer
STATUS_V2 = FORM in ('v2', 'v3')  # npu_get_float_status_v2 / npu_clear_float_status_v2 exist
FULL_INIT = FORM != 'v1'  # npu_init exports util, the loss-scale classes, npu_config_proto
NPU_SESSIONS = FORM == 'v3'  # importing npu_init makes every later Session an NPU one

from npu_bridge import _device  # noqa: E402  (installs the stand-in session)
