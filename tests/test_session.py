"""The session config for NPU (with a stand-in npu_bridge), GPU and CPU."""
import pytest

from adda import session
from adda.errors import AddaError

OFF = 2  # RewriterConfig.OFF


def npu_parameters(config):
    (custom,) = config.graph_options.rewrite_options.custom_optimizers
    return custom.name, custom.parameter_map


@pytest.mark.ascend
def test_auto_picks_the_npu_with_mixed_precision(npu, npu_form):
    """With the stand-in npu_bridge of each form; npu_init of r1.1-r1.2 has no npu_config_proto,
    later ones complete the config with it (soft placement)."""
    run = session.session_config('auto')
    assert run.config.allow_soft_placement == (npu_form != 'r1.2')
    assert (run.device, run.precision) == ('npu', 'allow_mix_precision')
    name, parameters = npu_parameters(run.config)
    assert name == 'NpuOptimizer'
    assert parameters['use_off_line'].b is True
    assert parameters['precision_mode'].s == b'allow_mix_precision'
    rewrite = run.config.graph_options.rewrite_options
    assert rewrite.remapping == OFF and rewrite.memory_optimization == OFF


@pytest.mark.parametrize('precision, mode', [('fp32', b'force_fp32'),
                                             ('mixed', b'allow_mix_precision'),
                                             ('allow_fp32_to_fp16', b'allow_fp32_to_fp16'),
                                             ('must_keep_origin_dtype', b'must_keep_origin_dtype')])
@pytest.mark.ascend
def test_npu_precision_modes(npu, precision, mode):
    run = session.session_config('npu', precision)
    assert npu_parameters(run.config)[1]['precision_mode'].s == mode


def test_npu_without_npu_bridge_is_an_error():
    with pytest.raises(AddaError, match='--device npu needs npu_bridge'):
        session.session_config('npu')


def test_cpu_config_without_npu_or_gpu(monkeypatch):
    monkeypatch.setattr(session, 'gpu_count', lambda: 0)
    run = session.session_config('auto')
    assert (run.device, run.precision) == ('cpu', 'fp32')
    assert run.config.device_count['GPU'] == 0
    assert run.config.intra_op_parallelism_threads == session.cpu_threads()
    assert not run.config.graph_options.rewrite_options.custom_optimizers
    with pytest.raises(AddaError, match='--precision mixed needs a GPU or an NPU'):
        session.session_config('cpu', 'mixed')
    with pytest.raises(AddaError, match='is an NPU precision_mode'):
        session.session_config('cpu', 'allow_mix_precision')


def test_gpu_config_grows_memory_and_rewrites_for_mixed_precision(monkeypatch):
    monkeypatch.setattr(session, 'gpu_count', lambda: 1)
    run = session.session_config('auto', 'mixed')
    assert (run.device, run.precision) == ('gpu', 'mixed')
    assert run.config.gpu_options.allow_growth
    assert run.config.graph_options.rewrite_options.auto_mixed_precision == 1  # ON
    plain = session.session_config('gpu')
    assert plain.precision == 'fp32'
    assert plain.config.graph_options.rewrite_options.auto_mixed_precision != 1


def test_gpu_requested_but_absent(monkeypatch):
    monkeypatch.setattr(session, 'gpu_count', lambda: 0)
    with pytest.raises(AddaError, match='sees no GPU'):
        session.session_config('gpu')
