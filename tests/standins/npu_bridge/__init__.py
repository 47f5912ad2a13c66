"""Stand-in for Ascend's npu_bridge (tests only), written from the facts of the real adapter's
sources (tf_adapter/python/npu_bridge in Ascend's TensorFlow adapter) at every point this project
relies on, computing on the CPU. Four forms, chosen by ``FAKE_NPU_FORM``, each a release of
the adapter (its branch in Ascend/tensorflow) that differs from the others where this project
looks:

- ``r1.2`` (default; r1.1-r1.2, the 2020-21 adapter of the CANN 5.0.x images): NPULossScaleOptimizer
  keeps the float-status buffer that its own ``compute_gradients`` allocates, and an instance
  whose ``compute_gradients`` never ran reads a constant instead: it never sees an overflow.
  ``FixedLossScaleManager(loss_scale)`` takes no other argument (``enable_overflow_check`` came
  in r1.5); ``npu_init`` has no ``npu_config_proto`` (r1.3 on); no ``*_v2`` status ops.
- ``r1.7`` (r1.7): NPULossScaleOptimizer subclasses contrib's LossScaleOptimizer, has no
  ``compute_gradients`` of its own and keeps no state: its ``apply_gradients`` allocates a
  buffer, reads the status into it with ``npu_get_float_status`` and clears it with
  ``npu_clear_float_status``; no ``*_v2`` status ops.
- ``r1.9`` (r1.8-r1.9): r1.7's optimizer, but the ``*_v2`` status ops are registered (r1.8 on;
  the optimizer does not use them), and importing ``npu_init`` turns every later ``tf.Session``
  into an NPU one (r1.9 on: its config completed as ``npu_config_proto`` does, the
  NpuOptimizer rewrite added).
- ``r1.10`` (r1.10 to the newest): the optimizer reads the status with input-less
  ``npu_get_float_status_v2`` and clears it with ``npu_clear_float_status_v2``; every later
  Session is an NPU one, as in r1.9.

In every form ``npu_init`` exports ``util`` and the loss-scale classes (the project imports
them from their own modules anyway).

Importing any part of the package replaces ``tf.Session`` by the stand-in session of
``npu_bridge._device`` (the graph engine: the device-side loop, the float-status register).
"""
import os

FORMS = ('r1.2', 'r1.7', 'r1.9', 'r1.10')
FORM = os.environ.get('FAKE_NPU_FORM', FORMS[0])
if FORM not in FORMS:
    raise ImportError('FAKE_NPU_FORM must be one of {}, not {!r}'.format(', '.join(FORMS), FORM))
STATEFUL_OPTIMIZER = FORM == 'r1.2'  # NPULossScaleOptimizer keeps its compute_gradients' buffer
OVERFLOW_CHECK_ARGUMENT = FORM != 'r1.2'  # FixedLossScaleManager(..., enable_overflow_check)
CONFIG_PROTO = FORM != 'r1.2'  # npu_init.npu_config_proto
STATUS_V2_OPS = FORM in ('r1.9', 'r1.10')  # npu_{get,clear}_float_status_v2 are registered
OPTIMIZER_STATUS_V2 = FORM == 'r1.10'  # NPULossScaleOptimizer reads the status with them
NPU_SESSIONS = FORM in ('r1.9', 'r1.10')  # importing npu_init makes every later Session an NPU one

from npu_bridge import _device  # noqa: E402  (installs the stand-in session)
