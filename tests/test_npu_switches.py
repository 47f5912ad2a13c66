"""The adapter's debugging and profiling switches (adda/npu_switches.py): each one's session
configuration as the adapter reads it (through the stand-in npu_bridge), refused off the NPU
and when two exclude each other, and mapped from the ModelZoo harness's flags."""
import json
import os

import pytest

from conftest import run_tool, run_tool_process
from helpers_ascend import npu_optimizer, recorded_configs
from helpers_ascend import npu_env  # noqa: F401  (a fixture: the stand-in on PYTHONPATH)

TRAIN = ['mnist', 'train', 'lenet', 'out', '--iterations', '10', '--batch_size', '16',
         '--seed', '0']


def parameters(config):
    """The NpuOptimizer's parameter_map as plain values (b, i or s: what is set)."""
    found = {}
    for name, value in npu_optimizer(config).parameter_map.items():
        found[name] = value.s.decode() if value.WhichOneof('value') == 's' else (
            value.b if value.WhichOneof('value') == 'b' else value.i)
    return found


@pytest.mark.ascend
def test_each_switch_sets_what_the_adapter_reads(data_root, tmp_path, npu_env):
    env, record = npu_env
    cases = [
        (['--npu_dump', tmp_path / 'dump', '--npu_dump_step', '0|5'],
         {'enable_dump': True, 'dump_path': str(tmp_path / 'dump'), 'dump_step': '0|5',
          'dump_mode': 'output'}, 'NPU data dump: on (steps 0|5, outputs)'),
        (['--npu_overflow_dump', tmp_path / 'over'],
         {'enable_dump_debug': True, 'dump_path': str(tmp_path / 'over'),
          'dump_debug_mode': 'all'}, 'NPU overflow dump: on (AI Core and atomic)'),
        (['--npu_profile', tmp_path / 'prof'], {'profiling_mode': True}, 'NPU profiling: on'),
        (['--npu_compile_cache', tmp_path / 'cache'],
         {'op_compiler_cache_mode': 'enable', 'op_compiler_cache_dir': str(tmp_path / 'cache')},
         'Operator compile cache: on'),
    ]
    for k, (switch, expected, line) in enumerate(cases):
        for path in record.iterdir():
            path.unlink()
        result = run_tool_process('train', *(TRAIN + ['--device', 'npu', '--snapshot_dir',
                                                      tmp_path / 'snap{}'.format(k)] + switch),
                                  env=env)
        assert result.returncode == 0, result.stderr[-2000:]
        assert line in result.stdout
        (config,) = recorded_configs(record)
        found = parameters(config)
        for name, value in expected.items():
            assert found[name] == value, (name, found)
        assert os.path.isdir(expected.get('dump_path', expected.get('op_compiler_cache_dir',
                                                                     str(tmp_path / 'prof'))))
        others = {'enable_dump', 'enable_dump_debug', 'profiling_mode',
                  'op_compiler_cache_mode'} - set(expected)
        assert not others & set(found), found  # only the switch asked for
    profile = json.loads(parameters(_profiled(tmp_path, env, record))['profiling_options'])
    assert profile['output'] == str(tmp_path / 'prof2')
    assert (profile['training_trace'], profile['task_trace']) == ('on', 'on')
    assert profile['fp_point'] == profile['bp_point'] == ''


def _profiled(tmp_path, env, record):
    """The session config of an evaluation run with --npu_profile (the evaluation tools take
    the switches too)."""
    for path in record.iterdir():
        path.unlink()
    snap = tmp_path / 'snap_eval' / 'out'
    assert run_tool_process('train', *(TRAIN + ['--device', 'npu', '--snapshot_dir',
                                                tmp_path / 'snap_eval']), env=env).returncode == 0
    for path in record.iterdir():
        path.unlink()
    result = run_tool_process('eval_classification', 'mnist', 'test', 'lenet', snap,
                              '--device', 'npu', '--npu_profile', tmp_path / 'prof2', env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    (config,) = recorded_configs(record)
    return config


def test_switches_off_the_npu_or_together_are_refused_in_one_line(data_root, tmp_path):
    for args, message in [
            (['--device', 'cpu', '--npu_dump', tmp_path / 'd'],
             'Error: --npu_dump acts on the Ascend NPU only; this run is on the CPU'),
            (['--device', 'cpu', '--npu_profile', tmp_path / 'p'],
             'Error: --npu_profile acts on the Ascend NPU only; this run is on the CPU')]:
        result = run_tool('train', *(TRAIN + ['--snapshot_dir', tmp_path / 'snap'] + args))
        assert result.returncode == 1
        assert result.stderr.strip().splitlines() == [message + ' (drop it, or run with '
                                                      '--device npu)']
        assert not (tmp_path / 'snap').exists() and not (tmp_path / 'd').exists()
    # the compile cache from the environment is no error off the NPU (a sweep sets it)
    result = run_tool('train', *(TRAIN[:5] + ['2', '--device', 'cpu', '--snapshot_dir',
                                              tmp_path / 'snap']),
                      env={'ADDA_NPU_COMPILE_CACHE': str(tmp_path / 'cache')})
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.ascend
def test_exclusive_switches_are_refused(data_root, tmp_path, npu_env):
    env, _ = npu_env
    for args, message in [
            (['--npu_dump', tmp_path / 'd', '--npu_overflow_dump', tmp_path / 'o'],
             'Error: --npu_dump and --npu_overflow_dump exclude each other'),
            (['--npu_dump_step', '3'], 'Error: --npu_dump_step needs --npu_dump DIR')]:
        result = run_tool_process('train', *(TRAIN + ['--device', 'npu', '--snapshot_dir',
                                                      tmp_path / 'snap'] + args), env=env)
        assert result.returncode == 1
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(message), result.stderr
        assert not (tmp_path / 'snap').exists()
