"""Stand-in for Ascend's npu_bridge.npu_init (tests only).

Exports what the project uses (util, NPULossScaleOptimizer, the loss-scale managers,
npu_config_proto) and replaces tf.Session with a session that
- performs iteration offload: running an op from ``util.set_iteration_per_loop`` runs the
  training iteration K times (checked against the session config's ``iterations_per_loop`` and
  ``enable_data_pre_proc``, as the adapter requires) and returns the last iteration's fetches;
- when FAKE_NPU_RECORD names a folder, records there each session's ConfigProto
  (``session-<pid>-<n>.pb``), its graph as it was when the session closed
  (``graph-<pid>-<n>.pb``) and one line per loop call (``loops-<pid>.txt``: K), so a test can
  check what a tool handed to the device.
The NpuOptimizer rewrite itself does not exist here: TensorFlow skips it and runs on the CPU.
"""
import itertools
import os

import tensorflow.compat.v1 as _tf
from tensorflow.core.protobuf import config_pb2
from tensorflow.core.protobuf.rewriter_config_pb2 import RewriterConfig

from npu_bridge.estimator.npu import util
from npu_bridge.estimator.npu.npu_loss_scale_manager import (ExponentialUpdateLossScaleManager,
                                                             FixedLossScaleManager)
from npu_bridge.estimator.npu.npu_loss_scale_optimizer import NPULossScaleOptimizer

__all__ = ['util', 'NPULossScaleOptimizer', 'ExponentialUpdateLossScaleManager',
           'FixedLossScaleManager', 'npu_config_proto']

_RECORD = os.environ.get('FAKE_NPU_RECORD')
_count = itertools.count()


def npu_config_proto(config_proto=None):
    if not isinstance(config_proto, config_pb2.ConfigProto):
        config_proto = config_pb2.ConfigProto()
    config_proto.allow_soft_placement = True
    config_proto.log_device_placement = False
    config_proto.graph_options.rewrite_options.remapping = RewriterConfig.OFF
    return config_proto


def _npu_parameters(config):
    for custom in config.graph_options.rewrite_options.custom_optimizers:
        if custom.name == 'NpuOptimizer':
            return custom.parameter_map
    return None


def _write(name, data, mode='wb'):
    with open(os.path.join(_RECORD, name), mode) as f:
        f.write(data)


_Session = _tf.Session


class _StandInSession(_Session):
    def __init__(self, target='', graph=None, config=None):
        self._number = next(_count)
        self._npu = _npu_parameters(config) if config is not None else None
        if _RECORD and config is not None:
            _write('session-{}-{}.pb'.format(os.getpid(), self._number),
                   config.SerializeToString())
        _Session.__init__(self, target, graph, config)

    def _loop_size(self, fetches):
        flat = fetches if isinstance(fetches, (list, tuple)) else [fetches]
        for fetch in flat:
            name = getattr(fetch, 'name', None)
            if name is not None and (id(self.graph), name) in util.LOOP_OPS:
                return util.LOOP_OPS[id(self.graph), name]
        return None

    def run(self, fetches, feed_dict=None, options=None, run_metadata=None):
        k = self._loop_size(fetches)
        if k is None:
            return _Session.run(self, fetches, feed_dict, options, run_metadata)
        parameters = self._npu
        if (parameters is None or parameters['iterations_per_loop'].i != k or
                not parameters['enable_data_pre_proc'].b):
            raise RuntimeError('iteration offload needs the NpuOptimizer parameters '
                               'iterations_per_loop = {} and enable_data_pre_proc = True in '
                               'the session config'.format(k))
        if _RECORD:
            _write('loops-{}.txt'.format(os.getpid()), '{}\n'.format(k), 'a')
        for _ in range(k):
            result = _Session.run(self, fetches, feed_dict, options, run_metadata)
        return result

    def close(self):
        if _RECORD and not self._closed:
            _write('graph-{}-{}.pb'.format(os.getpid(), self._number),
                   self.graph.as_graph_def().SerializeToString())
        _Session.close(self)


_tf.Session = _StandInSession
