"""Loss scaling and the device-side loop on the NPU, through the stand-in npu_bridge in both of
its forms (v1: the 2020-21 adapter of the CANN 5.0.x images; v2: the later one), and the
stand-in's own rules, each taken from the real adapter's sources (tests/standins/npu_bridge).

Float16 overflow: the 910 saturates instead of producing inf, and only the adapter's float-status
check sees it. The stand-in's device marks the status when a loss-scaled gradient is beyond
float16's range (or a value an evaluation call returns is); images scaled by 1e4 do that.
"""
import os

import numpy as np
import pytest
import yaml

from conftest import NPU_FORMS, SHARED_DATA, require, run_tool_process
from helpers_ascend import STANDINS, recorded_loops, with_pythonpath

# The Ascend runtime only (TensorFlow 1.15): conftest.belongs_here.
pytestmark = pytest.mark.ascend

K = 10


def npu_plan(precision='mixed', k=K, loss_scale=None):
    from adda.session import DevicePlan, session_config
    return DevicePlan(session_config('npu', precision, iterations_per_loop=k), k, loss_scale)


def scaled(split, factor):
    from adda.data.dataset import ImageSplit
    return ImageSplit(split.images * factor, split.labels, split.num_classes, split.name)


def source_graph(split):
    from adda.graphs import build_source_training
    from adda.models import get_model_fn
    from adda.tools.train import Settings
    settings = Settings(batch_size=16, lr=1e-3, solver='adam')
    return lambda plan: build_source_training(split, get_model_fn('lenet'), settings, 0,
                                              plan=plan)


def adaptation_graph(source, target):
    from adda.adaptation import build_adda_training
    from adda.models import get_model_fn
    from adda.tools.train_adda import Settings
    settings = Settings(batch_size=16, lr=2e-4, solver='adam', adversary=(32, 32))
    return lambda plan: build_adda_training(source, target, get_model_fn('lenet'), settings, 0,
                                            plan=plan)


def run_calls(build, plan, calls, before_start=None):
    """[(global step, the values the host saw)] after each of ``calls`` loop calls."""
    from adda.compat import tf
    with tf.Graph().as_default():
        tf.set_random_seed(7)
        graph = build(plan)
        with tf.Session(config=plan.run_device.config) as sess:
            sess.run(tf.global_variables_initializer())
            if before_start is not None:
                before_start(sess)
            graph.start(sess)
            seen = []
            for n in calls:
                values = graph.loop.run(sess, n)[-1][2]
                seen.append((int(sess.run(graph.global_step)), values))
            return seen


@pytest.fixture
def splits(data_root):
    from adda.data import get_split
    return {name: get_split(name, 'train') for name in ('mnist', 'usps')}


# --- the project's loss scaling under both forms -------------------------------------------

def test_the_bridge_form_is_read_from_the_optimizer(npu, npu_form):
    """From what NPULossScaleOptimizer calls, not from which ops exist: r1.9 registers the
    *_v2 status ops, but its optimizer reads with the v1 ones, and so must the project."""
    expected = NPU_FORMS[npu_form]
    assert npu.form == expected and npu_plan().npu_form == expected
    assert hasattr(npu.gen_ops, 'npu_clear_float_status_v2') == (npu_form in ('r1.9', 'r1.10'))


def test_the_status_is_cleared_with_the_ops_the_optimizer_reads_with(npu, npu_form, tf_graph):
    from adda.loss_scale import NpuScaling, parse_loss_scale
    NpuScaling(npu, parse_loss_scale('dynamic')).reset_status()
    types = {op.name.split('/')[-1] for op in tf_graph.get_operations()}
    v2 = {'NpuClearFloatStatusV2', 'NpuGetFloatStatusV2'}
    assert (types & v2 != set()) == (NPU_FORMS[npu_form] == 'v2')
    assert ('NpuClearFloatStatus' in types) == (NPU_FORMS[npu_form] != 'v2')


def test_overflowing_source_training_is_skipped_and_lowers_the_scale(splits, npu):
    seen = run_calls(source_graph(scaled(splits['mnist'], 1e4)), npu_plan(), [K, K])
    assert [step for step, _ in seen] == [K, 2 * K]
    first, second = seen[0][1], seen[1][1]
    # every step of the first call overflows; the scale halves after every second overflow
    # (decr_every 2): 2**15 -> 2**10; then it keeps falling until steps go through
    assert (first['skipped_steps'], first['loss_scale']) == (K, 2.0 ** 10)
    assert second['skipped_steps'] > K and second['loss_scale'] < 2.0 ** 10


def test_overflowing_adaptation_is_skipped_and_lowers_the_scale(splits, npu):
    build = adaptation_graph(splits['mnist'], scaled(splits['usps'], 1e4))
    seen = run_calls(build, npu_plan(), [K])
    assert seen[0][1]['skipped_steps'] == K
    assert seen[0][1]['loss_scale'] == 2.0 ** 10


@pytest.mark.parametrize('graph', ['source', 'adaptation'])
def test_clean_runs_skip_nothing(splits, npu, graph):
    build = (source_graph(splits['mnist']) if graph == 'source' else
             adaptation_graph(splits['mnist'], splits['usps']))
    seen = run_calls(build, npu_plan(loss_scale=_fixed(8)), [K, K])
    assert [v['skipped_steps'] for _, v in seen] == [0, 0]
    assert {v['loss_scale'] for _, v in seen} == {8.0}


def _fixed(value):
    from adda.loss_scale import LossScale
    return LossScale('fixed', float(value))


def test_fixed_scale_still_checks_for_overflow(splits, npu):
    seen = run_calls(source_graph(scaled(splits['mnist'], 1e4)),
                     npu_plan(loss_scale=_fixed(2 ** 15)), [K])
    assert seen[0][1]['skipped_steps'] == K and seen[0][1]['loss_scale'] == 2.0 ** 15


def test_an_overflow_before_training_does_not_skip_the_first_step(splits, npu):
    """A computation on the device before training (an evaluation pass, say) that overflows
    float16 in an op inside it leaves the status set, although what it returns is small (the
    register records any device op since its last clear). Training clears it before its first
    step, so the clean steps that follow are not skipped."""
    from adda.compat import tf
    build = adaptation_graph(splits['mnist'], splits['usps'])

    def earlier_overflow(sess):
        from npu_bridge import _device
        assert not sess.run(_device.register(sess.graph).read_value())
        # checked here, so that the test cannot pass for want of an overflow
        assert sess.run(built['small']) == 0.0
        assert sess.run(_device.register(sess.graph).read_value()) == 1.0

    built = {}

    def build_and_note(plan):
        graph = build(plan)
        big = tf.matmul(tf.fill([2, 2], 1e3), tf.fill([2, 2], 1e3))  # 2e6 in float16
        built['small'] = 0.0 * tf.reduce_sum(tf.minimum(big, 1.0))
        return graph

    seen = run_calls(build_and_note, npu_plan(loss_scale=_fixed(1)), [K],
                     before_start=earlier_overflow)
    assert seen[0][1]['skipped_steps'] == 0


@pytest.mark.parametrize('k', [K, 1])
def test_each_call_runs_exactly_k_steps(splits, npu, k):
    """K = 10: util.set_iteration_per_loop's IterationOp, repeated by the device; K = 1: the
    plain training op, one step per call."""
    seen = run_calls(source_graph(splits['usps']), npu_plan(k=k), [k, k, k])
    assert [step for step, _ in seen] == [k, 2 * k, 3 * k]


# --- the tools with --device npu ------------------------------------------------------------

@pytest.fixture
def npu_tool_env(tmp_path, npu_form):
    record = tmp_path / 'record'
    record.mkdir()
    env = with_pythonpath({'PYTHONPATH': os.environ.get('PYTHONPATH', '')}, STANDINS)
    env.update(FAKE_NPU_RECORD=str(record), FAKE_NPU_FORM=npu_form)
    return env, record


def test_npu_tools_on_real_digits_skip_nothing_and_record_the_form(tmp_path, npu_tool_env,
                                                                   npu_form):
    """Source training and adaptation on the real digits at the default dynamic scale (2**15):
    no step overflows, each call ran K iterations, config.yaml says which adapter form ran."""
    require(os.path.isdir(os.path.join(SHARED_DATA, 'mnist')),
            'needs MNIST and USPS in ../shared/data')
    env, record = npu_tool_env
    env['ADDA_DATA_DIR'] = SHARED_DATA
    form = NPU_FORMS[npu_form]
    snap = tmp_path / 'snap'
    common = ['--device', 'npu', '--snapshot_dir', snap, '--batch_size', 64, '--seed', 0,
              '--solver', 'adam', '--iterations', 30, '--snapshot', 30]
    for tool, args in (('train', ['usps1800', 'train', 'lenet', 'src', '--lr', 1e-3]),
                       ('train_adda', ['usps1800:train', 'mnist2000:train', 'lenet', 'ad',
                                       '--weights', snap / 'src', '--lr', 2e-4])):
        result = run_tool_process(tool, *(args + common), env=env)
        assert result.returncode == 0, result.stderr[-3000:]
        log = result.stdout + result.stderr
        assert 'npu_bridge: {} ('.format(form) in log
        assert log.count('loss scale: 32768    skipped steps: 0') == 3, log[-3000:]
        config = yaml.safe_load((snap / args[3] / 'config.yaml').read_text())
        assert config['npu_bridge'] == form
    assert sorted(sum(recorded_loops(record).values(), [])) == [K] * 6


# --- the stand-in's own rules, as the real adapter's ---------------------------------------

def _loop_graph(k_variable):
    """A counter and a training op that adds one; the loop variables loaded for K."""
    from adda.compat import tf
    counter = tf.get_variable('counter', [], tf.int64, initializer=tf.zeros_initializer(),
                              use_resource=True)
    return counter, counter.assign_add(1).op


def _npu_session(k_config):
    from adda.session import session_config
    from adda.compat import tf
    return tf.Session(config=session_config('npu', 'fp32', iterations_per_loop=k_config).config)


def test_set_iteration_per_loop_as_the_adapter(npu, tf_graph):
    from adda.compat import tf
    counter, train_op = _loop_graph(K)
    with _npu_session(K) as sess:
        sess.run(tf.global_variables_initializer())
        assert npu.util.set_iteration_per_loop(sess, train_op, 1) is train_op
        op = npu.util.set_iteration_per_loop(sess, train_op, K)
        assert op.name == 'IterationOp'
        variables = {v.op.name: v for v in tf.local_variables()}
        assert sorted(variables) == ['npu_runconfig/iterations_per_loop',
                                     'npu_runconfig/loop_cond', 'npu_runconfig/one',
                                     'npu_runconfig/zero']
        assert all(v.dtype.base_dtype == tf.int64 for v in variables.values())
        assert sess.run([variables['npu_runconfig/' + name] for name in
                         ('iterations_per_loop', 'loop_cond', 'zero', 'one')]) == [K - 1, 0, 0, 1]
        with pytest.raises(ValueError, match="need type is 'Operation'"):
            npu.util.set_iteration_per_loop(sess, counter.read_value(), K)
        with pytest.raises(TypeError):
            npu.util.set_iteration_per_loop(sess, train_op, 2.0)


def test_the_session_loops_only_as_the_graph_engine_does(npu, tf_graph):
    from adda.compat import tf
    counter, train_op = _loop_graph(K)
    with _npu_session(K) as sess:
        sess.run(tf.global_variables_initializer())
        loop_op = npu.util.set_iteration_per_loop(sess, train_op, K)
        sess.run(loop_op)
        assert sess.run(counter) == K
        sess.run(train_op)  # not IterationOp: once
        assert sess.run(counter) == K + 1
        other = tf.group(train_op, name='IterationOp')  # becomes IterationOp_1: once
        assert other.name != 'IterationOp'
        sess.run(other)
        assert sess.run(counter) == K + 2
        # the count comes from the variable, not from the config
        tf.get_collection('npu_runconfig_iterations_per_loop')[0].load(3, session=sess)
        sess.run(loop_op)
        assert sess.run(counter) == K + 2 + 4
    with _npu_session(1) as sess:  # the config's iterations_per_loop is 1: once
        sess.run(tf.global_variables_initializer())
        loop_op = npu.util.set_iteration_per_loop(sess, train_op, K)
        sess.run(loop_op)
        assert sess.run(counter) == 1


def test_an_unknown_shape_stops_the_loop(npu, tf_graph):
    from adda.compat import tf
    counter, _ = _loop_graph(K)
    fed = tf.placeholder(tf.int64, [None])
    train_op = counter.assign_add(tf.reduce_sum(fed)).op
    with _npu_session(K) as sess:
        sess.run(tf.global_variables_initializer())
        loop_op = npu.util.set_iteration_per_loop(sess, train_op, K)
        sess.run(loop_op, {fed: [1]})
        assert sess.run(counter) == 1


def _float16_overflow_update(npu, same_instance):
    """A step whose scaled gradient (2**15 * 1e3 * 3) is beyond float16's range; the
    NPULossScaleOptimizer that applies is the one that computed, or a fresh one."""
    from adda.compat import tf
    w = tf.get_variable('w', initializer=tf.constant([0.5, -0.5]), use_resource=True)
    loss = 1e3 * tf.reduce_sum(w * 3.0)
    manager = npu.ExponentialUpdateLossScaleManager(2.0 ** 15, 1000)
    optimizer = npu.NPULossScaleOptimizer(tf.train.GradientDescentOptimizer(0.1), manager)
    grads = optimizer.compute_gradients(loss, var_list=[w])
    if not same_instance:
        optimizer = npu.NPULossScaleOptimizer(tf.train.GradientDescentOptimizer(0.1), manager)
    return w, optimizer.apply_gradients(grads), manager.get_loss_scale()


@pytest.mark.parametrize('same_instance', [True, False])
def test_which_instance_sees_the_overflow(npu, npu_form, tf_graph, same_instance):
    """r1.2 (v1): only the instance whose compute_gradients made the buffer; later: any."""
    from adda.compat import tf
    w, update, scale = _float16_overflow_update(npu, same_instance)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        before = sess.run(w)
        sess.run(update)
        sess.run(update)
        moved = not np.allclose(before, sess.run(w))
        lowered = sess.run(scale) < 2.0 ** 15
    blind = npu_form == 'r1.2' and not same_instance
    assert moved == blind and lowered == (not blind)


def test_managers_have_the_real_constructors(npu, npu_form, tf_graph):
    manager = npu.FixedLossScaleManager(loss_scale=128.0)
    assert manager.get_loss_scale() is not None
    if npu_form == 'r1.2':
        with pytest.raises(TypeError):
            npu.FixedLossScaleManager(loss_scale=128.0, enable_overflow_check=True)
    else:
        assert npu.FixedLossScaleManager(128.0, enable_overflow_check=False) \
            .get_enable_overflow_check() is False
    with pytest.raises(ValueError):
        npu.FixedLossScaleManager(0.5)


def test_npu_init_exports_what_its_form_does(npu, npu_form):
    import npu_bridge.npu_init as init
    names = ('util', 'NPULossScaleOptimizer', 'ExponentialUpdateLossScaleManager',
             'FixedLossScaleManager')
    assert all(hasattr(init, name) for name in names)  # every release
    assert hasattr(init, 'npu_config_proto') == (npu_form != 'r1.2')  # r1.3 on
    assert npu.config_proto is (init.npu_config_proto if npu_form != 'r1.2' else None)


@pytest.mark.parametrize('precision, flagged', [('mixed', True), ('fp32', False)])
def test_an_evaluation_call_beyond_float16_sets_the_status(npu, tf_graph, precision, flagged):
    from adda.compat import tf
    from adda.session import session_config
    from npu_bridge import _device
    register = _device.register()
    value = tf.constant([1e5])
    with tf.Session(config=session_config('npu', precision).config) as sess:
        sess.run(tf.constant([1.0]))
        assert sess.run(register.read_value()) == 0.0
        sess.run(value)
        assert sess.run(register.read_value()) == float(flagged)


def test_the_newest_npu_init_refuses_a_cpu_session_in_one_line(npu, npu_form, tf_graph):
    """npu_init from r1.9 on makes every later Session an NPU one: a CPU run in such a process
    is refused with one line instead of running on the NPU unasked; older ones leave it be."""
    from adda.errors import AddaError
    from adda.session import RunDevice, create_session
    import npu_bridge.npu_init  # noqa: F401  (as a process that imported it)
    cpu = RunDevice(None, 'cpu', 'fp32', 'CPU')
    if npu_form not in ('r1.9', 'r1.10'):
        create_session(cpu).close()
        return
    with pytest.raises(AddaError) as error:
        create_session(cpu)
    assert len(str(error.value).splitlines()) == 1
    assert 'made the session an NPU one' in str(error.value)


def test_set_iteration_per_loop_uses_the_default_graph(npu, tf_graph):
    """As the real one, the loop variables go into the default graph: a session of another
    graph cannot load them. The project's loop makes the session's graph the default."""
    from adda.compat import tf
    from adda.loops import DeviceLoop
    counter, train_op = _loop_graph(K)
    with _npu_session(K) as sess:
        sess.run(tf.global_variables_initializer())
        with tf.Graph().as_default():
            with pytest.raises((ValueError, TypeError)):
                npu.util.set_iteration_per_loop(sess, train_op, K)
            loop = DeviceLoop(K, npu)
            loop.train_op = train_op
            loop.start(sess)
        sess.run(loop.loop_op)
        assert sess.run(counter) == K
