"""The Ascend adapter's debugging and profiling switches, declared once: the tools' options
(adda.options.DEVICE_OPTIONS, the last section of --help), the NpuOptimizer parameters they
set (adda.session.npu_config) and docs/ascend.md's table read them. Names and semantics: the
TF 1.15 adapter's documentation (enable_dump, dump_path, dump_step, dump_mode;
enable_dump_debug, dump_debug_mode; profiling_mode, profiling_options; op_compiler_cache_mode,
op_compiler_cache_dir).

The standard library only: the options answer before TensorFlow loads.
"""
import collections
import json
import os

from adda.errors import AddaError

# option -> (metavar, help). Each takes a folder (created when missing) but --npu_dump_step.
SWITCHES = collections.OrderedDict([
    ('npu_dump', ('DIR', 'NPU only: dump the operators\' outputs (the adapter\'s enable_dump, '
                         'dump_mode output) of the steps --npu_dump_step into DIR.')),
    ('npu_dump_step', ('STEPS', 'With --npu_dump: which steps, the adapter\'s dump_step '
                                '(e.g. 0|5|10-20) [default: 0].')),
    ('npu_overflow_dump', ('DIR', 'NPU only: dump the operators that overflow, AI Core and '
                                  'atomic (enable_dump_debug, dump_debug_mode all), into DIR; '
                                  'not with --npu_dump.')),
    ('npu_profile', ('DIR', 'NPU only: profile the run (profiling_mode, with training and task '
                            'traces and the AI CPU) into DIR.')),
    ('npu_compile_cache', ('DIR', 'NPU only: keep the compiled operators in DIR '
                                  '(op_compiler_cache_mode enable), so that later runs do not '
                                  'compile them again [default: $ADDA_NPU_COMPILE_CACHE].')),
])
COMPILE_CACHE_ENV = 'ADDA_NPU_COMPILE_CACHE'
DEFAULT_DUMP_STEP = '0'
PROFILING = collections.OrderedDict([
    ('training_trace', 'on'), ('task_trace', 'on'), ('aicpu', 'on'),
    ('fp_point', ''), ('bp_point', ''),  # empty: the adapter finds the first and last ops
    ('aic_metrics', 'PipeUtilization')])

# The switches of this process's tool, as its options set them (set_switches).
_active = {}


def set_switch(name, value):
    """Keep a switch's value as the tool's option gives it (None when not given); every run of
    a tool sets each one, so nothing of an earlier run stays."""
    _active[name] = value


def active():
    """The switches that are on: option name -> value (the compile cache from its variable
    when the option is not given)."""
    values = {name: value for name, value in _active.items() if value}
    if 'npu_compile_cache' not in values and os.environ.get(COMPILE_CACHE_ENV):
        values['npu_compile_cache'] = os.environ[COMPILE_CACHE_ENV]
    return values


def check(device):
    """Refuse switches that cannot act: off the NPU, or two that exclude each other."""
    values = active()
    given = [name for name in values if name != 'npu_compile_cache' or
             _active.get('npu_compile_cache')]
    if device != 'npu' and given:
        raise AddaError('--{} acts on the Ascend NPU only; this run is on the {} (drop it, or '
                        'run with --device npu)'.format(given[0], device.upper()))
    if values.get('npu_dump') and values.get('npu_overflow_dump'):
        raise AddaError('--npu_dump and --npu_overflow_dump exclude each other (the adapter '
                        'takes enable_dump or enable_dump_debug): choose one')
    if values.get('npu_dump_step') and not values.get('npu_dump'):
        raise AddaError('--npu_dump_step needs --npu_dump DIR')
    return values


def _folder(path, option):
    path = os.path.abspath(path)
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as e:
        raise AddaError('--{} {}: cannot create the folder ({})'.format(option, path,
                                                                      e.strerror or e))
    return path


def npu_parameters(device='npu'):
    """(NpuOptimizer parameter -> value, [log lines]) for the switches that are on; the values
    are bool, str or bytes as the adapter reads them (its config map's b and s fields)."""
    values = check(device)
    parameters, notes = collections.OrderedDict(), []
    if values.get('npu_dump'):
        path = _folder(values['npu_dump'], 'npu_dump')
        step = values.get('npu_dump_step') or DEFAULT_DUMP_STEP
        parameters.update([('enable_dump', True), ('dump_path', path), ('dump_step', step),
                           ('dump_mode', 'output')])
        notes.append('NPU data dump: on (steps {}, outputs) into {}'.format(step, path))
    if values.get('npu_overflow_dump'):
        path = _folder(values['npu_overflow_dump'], 'npu_overflow_dump')
        parameters.update([('enable_dump_debug', True), ('dump_path', path),
                           ('dump_debug_mode', 'all')])
        notes.append('NPU overflow dump: on (AI Core and atomic) into {}'.format(path))
    if values.get('npu_profile'):
        path = _folder(values['npu_profile'], 'npu_profile')
        options = collections.OrderedDict([('output', path)])
        options.update(PROFILING)
        parameters.update([('profiling_mode', True),
                           ('profiling_options', json.dumps(options))])
        notes.append('NPU profiling: on into {}'.format(path))
    if values.get('npu_compile_cache'):
        path = _folder(values['npu_compile_cache'], 'npu_compile_cache')
        parameters.update([('op_compiler_cache_mode', 'enable'),
                           ('op_compiler_cache_dir', path)])
        notes.append('Operator compile cache: on (op_compiler_cache_mode enable) in ' + path)
    return parameters, notes
