"""Stand-in for npu_bridge.npu_init (tests only), exporting what the real one of the chosen form
exports of what this project could use.

v1 (the 2021 npu_init): npu_ops and the rewriter config names only; no util, no loss-scale
classes, no npu_config_proto (they live in their own modules, which every form has).
mid, v2, v3: also util, NPULossScaleOptimizer, the loss-scale managers and npu_config_proto;
v3 also makes every Session created after the import an NPU one (npu_bridge._device).
"""
from tensorflow.core.protobuf import config_pb2, rewriter_config_pb2  # noqa: F401
from tensorflow.core.protobuf.rewriter_config_pb2 import RewriterConfig

from npu_bridge import FULL_INIT, NPU_SESSIONS
from npu_bridge.estimator import npu_ops  # noqa: F401

if FULL_INIT:
    from npu_bridge.estimator.npu import util  # noqa: F401
    from npu_bridge.estimator.npu.npu_loss_scale_manager import (  # noqa: F401
        ExponentialUpdateLossScaleManager, FixedLossScaleManager)
    from npu_bridge.estimator.npu.npu_loss_scale_optimizer import (  # noqa: F401
        NPULossScaleOptimizer)

    def npu_config_proto(config_proto=None):
        """Completes a ConfigProto for the NPU: adds the NpuOptimizer rewrite if missing, soft
        placement, remapping and XLA off."""
        if not isinstance(config_proto, config_pb2.ConfigProto):
            config_proto = config_pb2.ConfigProto()
        rewrite = config_proto.graph_options.rewrite_options
        if not any(c.name == 'NpuOptimizer' for c in rewrite.custom_optimizers):
            rewrite.custom_optimizers.add().name = 'NpuOptimizer'
        config_proto.allow_soft_placement = True
        config_proto.log_device_placement = False
        rewrite.remapping = RewriterConfig.OFF
        config_proto.graph_options.optimizer_options.global_jit_level = (
            config_pb2.OptimizerOptions.OFF)
        return config_proto


if NPU_SESSIONS:
    from npu_bridge import _device
    _device.every_session_on_npu(npu_config_proto)
