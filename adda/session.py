"""The device decisions, in one place: the session configuration for the NPU (Ascend, through
npu_bridge), a GPU or the CPU, and the DevicePlan that tells the graphs how to loop, scale the
loss and shape their tensors there."""
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

# Precisions that compute in float16 somewhere, so that loss scaling is on by default.
FLOAT16_PRECISIONS = ('mixed', 'allow_mix_precision', 'allow_fp32_to_fp16')
DEFAULT_STEPS_PER_RUN = 10

RunDevice = collections.namedtuple('RunDevice', 'config device precision description')


class NpuBridge(object):
    """The parts of Ascend's npu_bridge this project uses, each from the module that defines it
    in every form of the adapter (npu_init has npu_config_proto from r1.3 on only).

    ``form``, how NPULossScaleOptimizer reads the float status (read from the class's code, not
    from a version): 'v1' when it keeps the buffer that its own compute_gradients allocates
    (r1.1-r1.6, the 2020-21 adapter of the CANN 5.0.x images); 'mid' when it keeps none and
    apply_gradients reads with the v1 ops (r1.7-r1.9; r1.8 and r1.9 register the ``*_v2`` ops
    without using them); 'v2' when it reads with ``npu_get_float_status_v2`` (r1.10 on).
    """

    def __init__(self):
        init = importlib.import_module('npu_bridge.npu_init')  # loads the adapter
        self.util = importlib.import_module('npu_bridge.estimator.npu.util')
        optimizer = importlib.import_module('npu_bridge.estimator.npu.npu_loss_scale_optimizer')
        managers = importlib.import_module('npu_bridge.estimator.npu.npu_loss_scale_manager')
        self.NPULossScaleOptimizer = optimizer.NPULossScaleOptimizer
        self.FixedLossScaleManager = managers.FixedLossScaleManager
        self.ExponentialUpdateLossScaleManager = managers.ExponentialUpdateLossScaleManager
        self.gen_ops = importlib.import_module('npu_bridge.helper.helper').get_gen_ops()
        self.config_proto = getattr(init, 'npu_config_proto', None)
        if 'npu_get_float_status_v2' in names_called(self.NPULossScaleOptimizer):
            self.form = 'v2'
        elif 'compute_gradients' in vars(self.NPULossScaleOptimizer):
            self.form = 'v1'
        else:
            self.form = 'mid'

    def describe(self):
        if self.form == 'v1':
            return ('v1 (2020-21 form: NPULossScaleOptimizer keeps the float-status buffer of '
                    'its compute_gradients)')
        if self.form == 'mid':
            return ('mid (NPULossScaleOptimizer keeps no float-status buffer and reads the '
                    'status with the v1 ops)')
        return 'v2 (NPULossScaleOptimizer reads the float status with npu_get_float_status_v2)'


def names_called(cls):
    """The global and attribute names the code of ``cls``'s own methods uses, nested functions
    included."""
    names, codes = set(), [getattr(f, '__code__', None) for f in vars(cls).values()]
    while codes:
        code = codes.pop()
        if code is not None:
            names.update(code.co_names)
            codes.extend(c for c in code.co_consts if hasattr(c, 'co_names'))
    return names


def import_npu_bridge():
    """Ascend's npu_bridge (its import registers the NPU ops) as an NpuBridge; None where it is
    not installed."""
    try:
        return NpuBridge()
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


def npu_config(precision_mode, iterations_per_loop=None, parameters=None):
    """ConfigProto that hands the graph to the NPU through the NpuOptimizer rewrite.

    With ``iterations_per_loop`` (training), the input's GetNext runs on the device
    (``enable_data_pre_proc``, the prerequisite of iteration offload) and each session call of
    the loop op runs that many iterations there.
    """
    from tensorflow.core.protobuf.rewriter_config_pb2 import RewriterConfig
    config = tf.ConfigProto()
    custom_op = config.graph_options.rewrite_options.custom_optimizers.add()
    custom_op.name = 'NpuOptimizer'
    custom_op.parameter_map['use_off_line'].b = True
    custom_op.parameter_map['precision_mode'].s = tf.compat.as_bytes(precision_mode)
    if iterations_per_loop:
        custom_op.parameter_map['enable_data_pre_proc'].b = True
        custom_op.parameter_map['iterations_per_loop'].i = iterations_per_loop
    for name, value in (parameters or {}).items():  # the debugging switches (npu_switches)
        if isinstance(value, bool):
            custom_op.parameter_map[name].b = value
        else:
            custom_op.parameter_map[name].s = tf.compat.as_bytes(value)
    config.graph_options.rewrite_options.remapping = RewriterConfig.OFF
    config.graph_options.rewrite_options.memory_optimization = RewriterConfig.OFF
    npu = import_npu_bridge()
    if npu is not None and npu.config_proto is not None:
        config = npu.config_proto(config_proto=config)
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


def session_config(device='auto', precision=None, threads=None, iterations_per_loop=None):
    """RunDevice(config, device, precision, description) for ``device`` and ``precision``.

    precision None means the device's default: mixed (allow_mix_precision) on the NPU, fp32
    elsewhere. The NPU also takes its own precision_mode names. ``iterations_per_loop`` (NPU
    training sessions) turns on the device-side loop.
    """
    from adda import npu_switches
    device = resolve_device(device)
    npu_switches.check(device)
    if precision is not None and precision not in PRECISIONS:
        raise AddaError('unknown precision {!r} (choose from {})'.format(
            precision, ', '.join(PRECISIONS)))
    if device == 'npu':
        mode = NPU_MODE_OF.get(precision or 'mixed', precision)
        parameters, notes = npu_switches.npu_parameters()
        for note in notes:
            logging.info(note)
        return RunDevice(npu_config(mode, iterations_per_loop, parameters), 'npu', mode,
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
    """Training steps per session call: 10 everywhere (fewer host round trips); on the NPU
    they are the device-side loop's iterations_per_loop."""
    return DEFAULT_STEPS_PER_RUN


def default_shards(device):
    """Batch slices computed as separate ops: one per core on a multi-core CPU."""
    return min(2, cpu_threads()) if device == 'cpu' else 1


def create_session(run_device):
    """A tf.Session for ``run_device``, logging where it runs."""
    if run_device.device == 'gpu':
        logging.info('Using GPU {}'.format(os.environ.get('CUDA_VISIBLE_DEVICES', '0')))
    logging.info('Running on %s with TensorFlow %s', run_device.description, tf.__version__)
    sess = tf.Session(config=run_device.config)
    config = getattr(sess, '_config', None)
    rewrites = config.graph_options.rewrite_options.custom_optimizers if config else ()
    if run_device.device != 'npu' and any(c.name == 'NpuOptimizer' for c in rewrites):
        sess.close()
        raise AddaError('--device {}: npu_bridge.npu_init, imported in this process, made the '
                        'session an NPU one (the newest adapter does so for every Session); '
                        'run with --device npu, or in a process that does not import '
                        'npu_bridge'.format(run_device.device))
    return sess


class DevicePlan(object):
    """What the graphs and the training loop ask of the device, decided here once.

    loop(): a GraphLoop (CPU, GPU: a tf.while_loop of up to K steps per call) or a DeviceLoop
    (NPU: a static single step, repeated K times per call by the adapter's iteration offload);
    loss_scaler(): none, in-graph dynamic/fixed scaling (GPU, CPU) or npu_bridge's
    NPULossScaleOptimizer (NPU); static_shapes: whether every tensor on the device must have a
    fully known shape; device_random: whether the step may draw random numbers; shards: batch
    slices computed as separate ops (multi-core CPU).
    """

    def __init__(self, run_device, steps_per_run=None, loss_scale=None, shards=None):
        from adda.loss_scale import LossScale
        self.run_device = run_device
        self.device = run_device.device
        self.steps_per_run = steps_per_run or default_steps_per_run(self.device)
        self.shards = shards or default_shards(self.device)
        if loss_scale is None:
            float16 = run_device.precision in FLOAT16_PRECISIONS
            loss_scale = LossScale('dynamic' if float16 else 'none', None)
        self.loss_scale = loss_scale
        self.static_shapes = self.device == 'npu'
        # random draws inside the step graph: none on the NPU (CANN documents the stateless
        # random ops for the Ascend 950 only, not the 910 / Atlas training series); the input
        # pipelines' draws run on the host either way
        self.device_random = self.device != 'npu'
        self.npu = import_npu_bridge() if self.device == 'npu' else None
        self.npu_form = self.npu.form if self.npu is not None else None

    @classmethod
    def for_tests(cls, steps_per_run=1, shards=1):
        """The CPU plan with one step per call unless asked, as graph tests want it."""
        run_device = RunDevice(None, 'cpu', 'fp32', 'CPU')
        return cls(run_device, steps_per_run, None, shards)

    def describe(self):
        parts = ['{} steps per session call{}'.format(
            self.steps_per_run, ' (device-side loop)' if self.device == 'npu' else '')]
        if self.loss_scale.mode != 'none':
            parts.append('{} loss scaling{}'.format(self.loss_scale.mode, (
                ' ({:g})'.format(self.loss_scale.value) if self.loss_scale.value else '')))
        return ', '.join(parts)

    def loop(self):
        from adda.loops import DeviceLoop, GraphLoop
        if self.device == 'npu':
            return DeviceLoop(self.steps_per_run, self.npu)
        return GraphLoop(self.steps_per_run)

    def loss_scaler(self):
        from adda import loss_scale
        if self.loss_scale.mode == 'none':
            return loss_scale.NoScaling()
        if self.device == 'npu':
            return loss_scale.NpuScaling(self.npu, self.loss_scale)
        if self.loss_scale.mode == 'dynamic':
            return loss_scale.InGraphScaling()
        return loss_scale.InGraphScaling(self.loss_scale.value, dynamic=False)

    def check_schedule(self, iterations, snapshot, start_step=0):
        """On the NPU every session call runs exactly K iterations: the counts must fit."""
        if self.device != 'npu':
            return
        k = self.steps_per_run
        for value, what in ((iterations, '--iterations'), (snapshot, '--snapshot'),
                            (start_step, 'the step to resume from')):
            if value % k:
                raise AddaError('{} {} is not a multiple of --steps_per_run {}: the NPU runs {} '
                                'iterations per session call (iterations_per_loop)'.format(
                                    what, value, k, k))
