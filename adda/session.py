"""The session configuration for the NPU (Ascend, through npu_bridge), a GPU or the CPU."""
import collections
import importlib
import logging
import os

from adda.compat import tf
from adda.errors import AddaError

DEVICES = ('auto', 'cpu', 'gpu', 'npu')
NPU_PRECISION_MODES = ('allow_mix_precision', 'allow_fp32_to_fp16', 'force_fp32',
                       'must_keep_origin_dtype')
PRECISIONS = ('mixed', 'fp32') + NPU_PRECISION_MODES
# What --precision mixed / fp32 mean on the NPU.
NPU_MODE_OF = {'mixed': 'allow_mix_precision', 'fp32': 'force_fp32'}

RunDevice = collections.namedtuple('RunDevice', 'config device precision description')


def import_npu_bridge():
    """Import Ascend's npu_bridge (registers the NPU ops); None where it is not installed."""
    try:
        return importlib.import_module('npu_bridge.npu_init')
    except ImportError:
        return None


def gpu_count():
    return len(tf.config.experimental.list_physical_devices('GPU'))


def cpu_threads():
    """CPUs this process may use (the affinity mask, which containers narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def resolve_device(device):
    """'auto' -> 'npu' when npu_bridge imports, else 'gpu' when one is visible, else 'cpu'."""
    if device not in DEVICES:
        raise AddaError('unknown device {!r} (choose from {})'.format(device, ', '.join(DEVICES)))
    if device == 'npu' and import_npu_bridge() is None:
        raise AddaError('--device npu needs npu_bridge (Ascend CANN), which is not installed '
                        'in this Python environment')
    if device == 'gpu' and gpu_count() == 0:
        raise AddaError('--device gpu: TensorFlow sees no GPU here (is CUDA_VISIBLE_DEVICES '
                        'set, and is a CUDA build of TensorFlow installed?)')
    if device != 'auto':
        return device
    if import_npu_bridge() is not None:
        return 'npu'
    return 'gpu' if gpu_count() else 'cpu'


def npu_config(precision_mode):
    """ConfigProto that hands the graph to the NPU through the NpuOptimizer rewrite."""
    from tensorflow.core.protobuf.rewriter_config_pb2 import RewriterConfig
    config = tf.ConfigProto()
    custom_op = config.graph_options.rewrite_options.custom_optimizers.add()
    custom_op.name = 'NpuOptimizer'
    custom_op.parameter_map['use_off_line'].b = True
    custom_op.parameter_map['precision_mode'].s = tf.compat.as_bytes(precision_mode)
    config.graph_options.rewrite_options.remapping = RewriterConfig.OFF
    config.graph_options.rewrite_options.memory_optimization = RewriterConfig.OFF
    return config


def gpu_config(mixed):
    from tensorflow.core.protobuf.rewriter_config_pb2 import RewriterConfig
    config = tf.ConfigProto()
    config.gpu_options.allow_growth = True
    if mixed:
        config.graph_options.rewrite_options.auto_mixed_precision = RewriterConfig.ON
    return config


def cpu_config(threads):
    config = tf.ConfigProto(device_count={'GPU': 0})
    config.intra_op_parallelism_threads = threads
    config.inter_op_parallelism_threads = threads
    return config


def session_config(device='auto', precision=None, threads=None):
    """RunDevice(config, device, precision, description) for ``device`` and ``precision``.

    precision None means the device's default: mixed (allow_mix_precision) on the NPU, fp32
    elsewhere. The NPU also takes its own precision_mode names.
    """
    device = resolve_device(device)
    if precision is not None and precision not in PRECISIONS:
        raise AddaError('unknown precision {!r} (choose from {})'.format(
            precision, ', '.join(PRECISIONS)))
    if device == 'npu':
        mode = NPU_MODE_OF.get(precision or 'mixed', precision)
        return RunDevice(npu_config(mode), 'npu', mode,
                         'Ascend NPU (precision_mode {})'.format(mode))
    precision = precision or 'fp32'
    if precision in NPU_PRECISION_MODES:
        raise AddaError('--precision {} is an NPU precision_mode; on the {} use mixed or '
                        'fp32'.format(precision, device.upper()))
    if device == 'gpu':
        return RunDevice(gpu_config(precision == 'mixed'), 'gpu', precision,
                         'GPU ({} precision)'.format(precision))
    if precision == 'mixed':
        raise AddaError('--precision mixed needs a GPU or an NPU; on the CPU use fp32')
    threads = threads or cpu_threads()
    return RunDevice(cpu_config(threads), 'cpu', 'fp32',
                     'CPU (fp32, {} threads)'.format(threads))


def default_steps_per_run(device):
    """Training steps per session call: 10 (fewer host round trips), 1 on the NPU, whose own
    loop offload (iterations_per_loop) is the better tool there."""
    return 1 if device == 'npu' else 10


def default_shards(device):
    """Batch slices computed as separate ops: one per core on a multi-core CPU."""
    return min(2, cpu_threads()) if device == 'cpu' else 1


def create_session(run_device):
    """A tf.Session for ``run_device``, logging where it runs."""
    if run_device.device == 'gpu':
        logging.info('Using GPU {}'.format(os.environ.get('CUDA_VISIBLE_DEVICES', '0')))
    logging.info('Running on %s with TensorFlow %s', run_device.description, tf.__version__)
    return tf.Session(config=run_device.config)
