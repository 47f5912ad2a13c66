"""The stand-in's graph engine (tests only): what the real adapter's session does with a graph,
modelled on its sources (tf_adapter/kernels/geop_npu.cc, estimator/npu/util.py) and docs.

- **Device-side loop.** A session call repeats on the device only when the session config's
  NpuOptimizer ``iterations_per_loop`` is > 1, the part of the graph that the call runs holds a
  node named exactly ``IterationOp``, and every tensor of that part has a static shape; it then
  runs ``npu_runconfig/iterations_per_loop`` + 1 times (the variable that
  ``util.set_iteration_per_loop`` loads) and returns the last run's fetches. Anything else runs
  once, silently, as a real 910 would.
- **Float-status register.** The 910 records a float16 overflow of any device op in a
  device-wide register until something clears it, and saturates the value at +-65504 instead of
  producing inf. The stand-in keeps the register as a variable of the graph. Gradients computed
  through NPULossScaleOptimizer set it, before anything can read them, when a (loss-scaled)
  gradient or the output of any float16 op it depends on (FLOAT16_OPS: the ops mixed precision
  runs in float16; the forward pass included) is not finite or beyond float16's range. In a
  float16 session, a call that clears no status (an evaluation pass, say) sets it when a float
  it returns or the output of any float16 op it ran is beyond that range, and every float it
  returns is saturated at +-65504 (so a test cannot expect more than a card gives). The status
  ops of ``helper.get_gen_ops()`` read and clear it.
- **npu_init from r1.9 on** (forms r1.9, r1.10) makes every Session created after its import an NPU one
  (``every_session_on_npu``).
- With ``FAKE_NPU_RECORD`` naming a folder, it records each NPU session's ConfigProto
  (``session-<pid>-<n>.pb``), its graph when the session closes (``graph-<pid>-<n>.pb``) and,
  per call that holds an ``IterationOp``, the iterations it ran (``loops-<pid>.txt``).
"""
import itertools
import os

import numpy as np
import tensorflow.compat.v1 as tf

# The stand-in's float-status ops live in this name scope (the graph-contract test knows that
# they stand for the adapter's NPU-only ops).
FLOAT_STATUS_SCOPE = 'NPULossScaleOptimizer_float_status'
REGISTER_COLLECTION = 'npu_standin_float_status_register'
BUFFER_COLLECTION = 'npu_standin_float_status_buffers'
FLOAT16_MAX = 65504.0
RUNCONFIG_COLLECTION = 'npu_runconfig_iterations_per_loop'
FLOAT16_MODES = (b'allow_mix_precision', b'allow_fp32_to_fp16')
# The ops that mixed precision runs in float16 on the 910 (the white list's matrix products and
# convolutions, forward and backward): where an overflow can happen although the graph is float32.
FLOAT16_OPS = frozenset(['MatMul', 'BatchMatMul', 'BatchMatMulV2', 'Conv2D',
                         'Conv2DBackpropInput', 'Conv2DBackpropFilter'])

_RECORD = os.environ.get('FAKE_NPU_RECORD')
_count = itertools.count()


def register(graph=None):
    """The float-status register of ``graph`` (made on first use, outside any control flow)."""
    graph = graph or tf.get_default_graph()
    found = graph.get_collection(REGISTER_COLLECTION)
    if found:
        return found[0]
    with graph.as_default(), tf.init_scope(), tf.name_scope(FLOAT_STATUS_SCOPE + '/'):
        var = tf.Variable(0.0, trainable=False, name='register', use_resource=True,
                          collections=[REGISTER_COLLECTION])
    return var


def overflowed(tensors):
    """Whether float16 arithmetic on the device would have overflowed on any of ``tensors``."""
    flags = [tf.reduce_any(tf.logical_or(tf.logical_not(tf.is_finite(t)),
                                         tf.greater(tf.abs(t), FLOAT16_MAX)))
             for t in tensors]
    return tf.reduce_any(tf.stack(flags))


def _float16_outputs(ops):
    """The float outputs of the FLOAT16_OPS among ``ops`` that a call can fetch (outside any
    control flow)."""
    return [t for op in ops if op.type in FLOAT16_OPS and op._get_control_flow_context() is None
            for t in op.outputs if t.dtype.is_floating]


def _ancestors(tensors):
    seen, stack = set(), [t.op for t in tensors]
    while stack:
        op = stack.pop()
        if op not in seen:
            seen.add(op)
            stack.extend(t.op for t in op.inputs)
            stack.extend(op.control_inputs)
    return seen


def computed_on_device(grads_and_vars):
    """``grads_and_vars`` as the device computes them: an overflow in them or in any float16
    op they come from sets the register before anything can read them."""
    grads = [g for g, _ in grads_and_vars if g is not None]
    if not grads:
        return grads_and_vars
    watched = grads + _float16_outputs(_ancestors(grads))
    with tf.name_scope(FLOAT_STATUS_SCOPE):
        mark = register().assign_add(tf.cast(overflowed(watched), tf.float32))
        with tf.control_dependencies([mark]):
            return [(tf.identity(g) if g is not None else None, v) for g, v in grads_and_vars]


def status_now():
    """The register as an 8-value status vector (1.0 where an overflow was recorded)."""
    flag = tf.cast(tf.greater(register().read_value(), 0.0), tf.float32)
    return tf.fill([8], flag)


def clear():
    return register().assign(0.0)


def mark_buffer(tensor):
    tf.get_default_graph().add_to_collection(BUFFER_COLLECTION, tensor.name)


def is_buffer(tensor):
    return tensor.name in tf.get_default_graph().get_collection(BUFFER_COLLECTION)


# --- the session -------------------------------------------------------------------------------

def _npu_parameters(config):
    if config is None:
        return None
    for custom in config.graph_options.rewrite_options.custom_optimizers:
        if custom.name == 'NpuOptimizer':
            return custom.parameter_map
    return None


def _write(name, data, mode='wb'):
    with open(os.path.join(_RECORD, name), mode) as f:
        f.write(data)


def _flatten(fetches):
    if isinstance(fetches, dict):
        return [x for value in fetches.values() for x in _flatten(value)]
    if isinstance(fetches, (list, tuple)):
        return [x for value in fetches for x in _flatten(value)]
    return [fetches]


def _part_run(graph, fetches):
    """The ops a call of ``fetches`` runs: the fetches and everything they depend on."""
    ops = []
    for fetch in _flatten(fetches):
        element = graph.as_graph_element(fetch, allow_tensor=True, allow_operation=True)
        ops.append(element if isinstance(element, tf.Operation) else element.op)
    seen, stack = set(), ops
    while stack:
        op = stack.pop()
        if op in seen:
            continue
        seen.add(op)
        stack.extend(t.op for t in op.inputs)
        stack.extend(op.control_inputs)
    return seen


_Session = tf.Session
_complete_config = []  # r1.9 on: what npu_init's Session wrapper does to every session's config


def every_session_on_npu(config_proto):
    """What the newest npu_init does on import: every later Session's config goes through
    ``config_proto`` (npu_config_proto), which adds the NpuOptimizer rewrite."""
    _complete_config[:] = [config_proto]


def _saturated(value):
    """``value`` (a fetch's result, nested) with every float beyond float16's range at
    +-FLOAT16_MAX (NaN stays NaN), as the 910 returns it."""
    if isinstance(value, dict):
        return type(value)((k, _saturated(v)) for k, v in value.items())
    if isinstance(value, list):
        return [_saturated(v) for v in value]
    if isinstance(value, tuple) and not hasattr(value, '_fields'):
        return tuple(_saturated(v) for v in value)
    if isinstance(value, (np.ndarray, np.floating)) and value.dtype.kind == 'f':
        with np.errstate(invalid='ignore'):
            clipped = np.clip(value, -FLOAT16_MAX, FLOAT16_MAX)
        return clipped.astype(value.dtype) if isinstance(value, np.ndarray) else \
            type(value)(clipped)
    if isinstance(value, float):
        return float(np.clip(value, -FLOAT16_MAX, FLOAT16_MAX))
    return value


class StandInSession(_Session):
    def __init__(self, target='', graph=None, config=None):
        for complete in _complete_config:
            config = complete(config)
        self._number = next(_count)
        self._npu = _npu_parameters(config)
        if _RECORD and self._npu is not None:
            _write('session-{}-{}.pb'.format(os.getpid(), self._number),
                   config.SerializeToString())
        self._float16 = self._npu is not None and (
            self._npu['precision_mode'].s if 'precision_mode' in self._npu else b''
        ) in FLOAT16_MODES
        self._register_ready = set()
        _Session.__init__(self, target, graph, config)

    def _iterations(self, part):
        """How many times the device runs a call of ``part`` (1: no device-side loop)."""
        if 'IterationOp' not in {op.name for op in part}:
            return None
        k = self._npu['iterations_per_loop'].i if 'iterations_per_loop' in self._npu else 1
        static = all(t.shape.is_fully_defined() for op in part for t in op.outputs)
        variables = self.graph.get_collection(RUNCONFIG_COLLECTION)
        if k <= 1 or not static or not variables:
            return 1
        return int(_Session.run(self, variables[0])) + 1

    def _ready_register(self):
        for var in self.graph.get_collection(REGISTER_COLLECTION):
            if var.name not in self._register_ready:
                _Session.run(self, var.initializer)
                self._register_ready.add(var.name)

    def run(self, fetches, feed_dict=None, options=None, run_metadata=None):
        self._ready_register()
        if self._npu is None:
            return _Session.run(self, fetches, feed_dict, options, run_metadata)
        part = _part_run(self.graph, fetches)
        count = self._iterations(part)
        if count is not None and _RECORD:
            _write('loops-{}.txt'.format(os.getpid()), '{}\n'.format(count), 'a')
        clears = any(FLOAT_STATUS_SCOPE in op.name and 'Clear' in op.name
                     for op in part)
        # the float16 ops of a call that clears no status are watched too (fetched alongside)
        watched = _float16_outputs(part) if self._float16 and not clears else []
        for _ in range(count or 1):
            result, inside = _Session.run(self, (fetches, watched), feed_dict, options,
                                          run_metadata)
        if self._float16 and not clears and self._overflow_in([result, inside]):
            register(self.graph).load(1.0, session=self)
        return _saturated(result) if self._float16 else result

    @staticmethod
    def _overflow_in(result):
        for value in _flatten(result):
            array = np.asarray(value) if value is not None else None
            if array is not None and array.dtype.kind == 'f' and array.size and (
                    not np.all(np.isfinite(array)) or np.max(np.abs(array)) > FLOAT16_MAX):
                return True
        return False

    def close(self):
        if _RECORD and self._npu is not None and not self._closed:
            _write('graph-{}-{}.pb'.format(os.getpid(), self._number),
                   self.graph.as_graph_def().SerializeToString())
        _Session.close(self)


tf.Session = StandInSession
