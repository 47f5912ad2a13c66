"""Stand-in for npu_bridge.npu_init (tests only), exporting what the real one of the chosen form
exports of what this project could use: npu_ops, the rewriter config names, util and the
loss-scale classes in every form (every r1.x release); npu_config_proto from r1.3 on (not in
form r1.2). Forms r1.9 and r1.10 also make every Session created after the import an NPU one,
as the real one does from r1.9 on by wrapping Session.__init__ (npu_bridge._device)."""
from tensorflow.core.protobuf import config_pb2, rewriter_config_pb2  # noqa: F401
from tensorflow.core.protobuf.rewriter_config_pb2 import RewriterConfig

from npu_bridge import CONFIG_PROTO, NPU_SESSIONS
from npu_bridge.estimator import npu_ops  # noqa: F401
from npu_bridge.estimator.npu import util  # noqa: F401
from npu_bridge.estimator.npu.npu_loss_scale_manager import (  # noqa: F401
    ExponentialUpdateLossScaleManager, FixedLossScaleManager)
from npu_bridge.estimator.npu.npu_loss_scale_optimizer import NPULossScaleOptimizer  # noqa: F401


def _complete(config_proto=None):
    """Completes a ConfigProto for the NPU, as the real npu_config_proto and the Session wrapper
    do: adds the NpuOptimizer rewrite if missing (and then turns memory optimization off), soft
    placement on, device-placement logging, remapping and XLA off."""
    if not isinstance(config_proto, config_pb2.ConfigProto):
        config_proto = config_pb2.ConfigProto()
    rewrite = config_proto.graph_options.rewrite_options
    if not any(c.name == 'NpuOptimizer' for c in rewrite.custom_optimizers):
        rewrite.custom_optimizers.add().name = 'NpuOptimizer'
        rewrite.memory_optimization = RewriterConfig.OFF
    config_proto.allow_soft_placement = True
    config_proto.log_device_placement = False
    rewrite.remapping = RewriterConfig.OFF
    config_proto.graph_options.optimizer_options.global_jit_level = (
        config_pb2.OptimizerOptions.OFF)
    return config_proto


if CONFIG_PROTO:
    npu_config_proto = _complete

if NPU_SESSIONS:
    from npu_bridge import _device
    _device.every_session_on_npu(_complete)
