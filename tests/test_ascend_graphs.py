"""The graphs handed to the Ascend NPU, checked on the CPU: the graph contract, the device-side
loop and loss scaling, through the stand-in npu_bridge (tests/standins).

The contract, on the part of each graph that runs on the device (everything reached from an
iterator's output, up to the update ops): every tensor has a fully defined static shape; no
loop control flow or host-only op; every op type is in tests/ascend_910_ops.txt (op types the
Ascend documentation says the 910 supports, with the pages); with mixed precision, every
weight update is gated by the loss scaler's overflow check.
"""
import collections
import os

import numpy as np
import pytest
import yaml

from conftest import ROOT, run_tool_process
from helpers_ascend import (STANDINS, recorded_configs, recorded_graphs, recorded_loops,
                            with_pythonpath)

# The Ascend runtime only (TensorFlow 1.15): conftest.belongs_here.
pytestmark = pytest.mark.ascend

ALLOW_LIST = os.path.join(ROOT, 'tests', 'ascend_910_ops.txt')
LOOP_OPS = ('While', 'StatelessWhile', 'Enter', 'Exit', 'NextIteration', 'LoopCond')
HOST_OPS = ('PyFunc', 'PyFuncStateless', 'EagerPyFunc', 'Print', 'PrintV2', 'Assert')
K = 10


# The stand-in NPULossScaleOptimizer emulates the adapter's float-status ops (NPU-only) in
# this name scope; those ops are the adapter's, not ours.
FLOAT_STATUS_SCOPE = 'NPULossScaleOptimizer_float_status'


def allowed_op_types():
    """Op types of the allow-list file (tests/test_ascend_ops.py checks its format)."""
    from ascend_ops import read_allow_list
    return set(read_allow_list(ALLOW_LIST))


# Where the walk back from the device part stops: the handles of variables and iterators
# (resources the session owns), the graph's inputs.
RESOURCE_OPS = ('VarHandleOp', 'VariableV2', 'IteratorV2', 'Iterator', 'AnonymousIteratorV2',
                'Placeholder', 'PlaceholderWithDefault')


def device_part(graph):
    """Every op reached from an IteratorGetNext through data or control edges, and every op
    those depend on (say, weight decay or the learning-rate schedule), back to the variable
    and iterator handles."""
    control_consumers = collections.defaultdict(list)
    for op in graph.get_operations():
        for source in op.control_inputs:
            control_consumers[source].append(op)
    seen, stack = set(), [op for op in graph.get_operations() if op.type == 'IteratorGetNext']
    while stack:
        op = stack.pop()
        if op in seen:
            continue
        seen.add(op)
        for tensor in op.outputs:
            stack.extend(tensor.consumers())
        stack.extend(control_consumers[op])
    stack = list(seen)
    while stack:
        op = stack.pop()
        for source in [t.op for t in op.inputs] + list(op.control_inputs):
            if source not in seen and source.type not in RESOURCE_OPS:
                seen.add(source)
                stack.append(source)
    return seen


def gated_by_switch(op, depth=4):
    """Whether one of ``op``'s inputs comes from a Switch (a tf.cond branch), looking through
    Identity and ReadVariableOp ops."""
    for tensor in op.inputs:
        source = tensor.op
        if source.type == 'Switch':
            return True
        if depth and source.type in ('Identity', 'ReadVariableOp') and gated_by_switch(
                source, depth - 1):
            return True
    return False


def contract_violations(graph, mixed, allowed):
    """One line per problem of ``graph``'s device part."""
    problems = []
    part = device_part(graph)
    if not part:
        return ['no IteratorGetNext: the input does not come from a tf.data iterator']
    for op in sorted(part, key=lambda o: o.name):
        for tensor in op.outputs:
            if not tensor.shape.is_fully_defined():
                problems.append('{} ({}): shape {} is not static'.format(
                    tensor.name, op.type, tensor.shape))
        if op.type in LOOP_OPS or op.type.startswith('TensorArray'):
            problems.append('{}: loop control flow op {}'.format(op.name, op.type))
        elif op.type in HOST_OPS:
            problems.append('{}: host-only op {}'.format(op.name, op.type))
        elif op.type not in allowed and FLOAT_STATUS_SCOPE not in op.name:
            problems.append('{}: op type {} is not in {}'.format(
                op.name, op.type, os.path.basename(ALLOW_LIST)))
    updates = [op for op in part if op.type.startswith(('ResourceApply', 'Apply'))]
    if mixed:
        for op in updates:
            if not gated_by_switch(op):
                problems.append('{}: weight update without loss scaling under mixed '
                                'precision'.format(op.name))
    return problems


def report(name, graph, problems):
    """Print what the contract found (the CI log shows it)."""
    part = device_part(graph)
    types = sorted({op.type for op in part})
    print('{}: {} ops on the device, {} op types, {} problems'.format(
        name, len(part), len(types), len(problems)))
    for line in problems[:60]:
        print('    ' + line)
    if len(problems) > 60:
        print('    ... and {} more'.format(len(problems) - 60))


def import_graph(graph_def):
    from adda.compat import tf
    graph = tf.Graph()
    with graph.as_default():
        tf.import_graph_def(graph_def, name='')
    return graph


# --- in-process: the graphs the tools build, with the stand-in imported here ---------------

def npu_plan(precision='mixed', k=K, loss_scale=None):
    from adda.session import DevicePlan, session_config
    return DevicePlan(session_config('npu', precision, iterations_per_loop=k), k, loss_scale)


def npu_terms():
    """Every registered adaptation term that can run on the NPU."""
    from adda.terms import TERMS, runs_on
    return [term for term in TERMS if runs_on(term, 'npu')]


def builders(data_root):
    """The graphs the tools build: source training, evaluation, the faithful adaptation, and
    one adaptation per registered term that can run on the NPU, then all of them together
    (with the core's options), on the logits and on fc3."""
    from adda.adaptation import build_adda_training
    from adda.data import get_split
    from adda.graphs import EvalGraph, build_source_training
    from adda.models import get_model_fn
    from adda.terms import every_example, examples
    from adda.tools import train, train_adda
    lenet = get_model_fn('lenet')
    mnist, usps, svhn = (get_split(name, 'train') for name in ('mnist', 'usps', 'svhn'))

    def adaptation(values, adversary_layer='fc4'):
        settings = train_adda.Settings(batch_size=16, lr=2e-4, solver='adam', adversary=(32,),
                                       adversary_layer=adversary_layer, **values)
        return lambda plan: build_adda_training(usps, mnist, lenet, settings, 0, plan=plan)
    terms = dict(('adaptation (--{})'.format(term.switch()), adaptation(examples(term)))
                 for term in npu_terms())
    everything = every_example(npu_terms())
    terms['adaptation (every term that runs on the NPU)'] = adaptation(everything)
    terms['adaptation (fc3, every term that runs on the NPU)'] = adaptation(everything, 'fc3')
    source = train.Settings(batch_size=16, lr=1e-3, solver='adam', stepsize=10)
    faithful = train_adda.Settings(batch_size=16, lr=2e-4, solver='adam', adversary=(32, 32),
                                   adversary_leaky=False)
    return dict({
        'source training': lambda plan: build_source_training(mnist, lenet, source, 0,
                                                              plan=plan),
        'source training (sgd, --ignore_label)': lambda plan: build_source_training(
            usps, lenet, source.replace(solver='sgd', stepsize=None, ignore_label=3), 0,
            plan=plan),
        'adaptation': lambda plan: build_adda_training(svhn, mnist, lenet, faithful, 0,
                                                       plan=plan),
        'evaluation': lambda plan: EvalGraph(usps, lenet, 64),
    }, **terms)


@pytest.mark.parametrize('precision', ['mixed', 'fp32'])
def test_graph_contract_in_process(data_root, npu, precision):
    from adda.compat import tf
    allowed = allowed_op_types()
    failures = []
    for name, build in builders(data_root).items():
        with tf.Graph().as_default() as graph:
            build(npu_plan(precision))
            problems = contract_violations(graph, precision == 'mixed', allowed)
        report('{} ({})'.format(name, precision), graph, problems)
        if problems:
            failures.append('{}: {}'.format(name, problems[0]))
    assert not failures, failures


def test_terms_that_cannot_run_on_the_npu_are_refused_in_one_line(data_root, npu):
    """A term the 910 cannot run (--target_vat draws random directions inside the step with a
    stateless normal op that CANN documents for the Ascend 950 only) is refused when the graph
    is built, in one line naming its option and why, instead of failing on the card."""
    from adda.adaptation import build_adda_training
    from adda.compat import tf
    from adda.data import get_split
    from adda.errors import AddaError
    from adda.models import get_model_fn
    from adda.terms import TERMS, examples, runs_on
    from adda.tools.train_adda import Settings
    usps, mnist = get_split('usps', 'train'), get_split('mnist', 'train')
    refused = [term for term in TERMS if not runs_on(term, 'npu')]
    assert [term.switch() for term in refused] == ['target_vat']
    for term in refused:
        with tf.Graph().as_default():
            with pytest.raises(AddaError) as error:
                build_adda_training(usps, mnist, get_model_fn('lenet'), Settings(
                    batch_size=16, lr=2e-4, solver='adam', adversary=(32,),
                    **examples(term)), 0, plan=npu_plan())
        assert str(error.value) == '--{} {}'.format(term.switch(), term.refused['npu'])
    assert 'NPU graph cannot' in refused[0].refused['npu']


def train_steps(build, plan, calls):
    """(losses seen, final snapshot values, global step) after ``calls`` loop calls."""
    from adda.compat import tf
    with tf.Graph().as_default():
        tf.set_random_seed(7)
        graph = build(plan)
        with tf.Session(config=plan.run_device.config) as sess:
            sess.run(tf.global_variables_initializer())
            graph.start(sess)
            seen = []
            for n in calls:
                seen.extend(graph.loop.run(sess, n))
            return seen, sess.run(graph.snapshot_vars), sess.run(graph.global_step)


def test_device_loop_runs_k_steps_per_call_and_trains_like_the_graph_loop(data_root, npu):
    """The single static step repeated by the (stand-in) adapter trains the same model as the
    CPU's graph loop: same data order, same updates."""
    from adda.session import DevicePlan
    build = builders(data_root)['adaptation']
    records, device_weights, step = train_steps(build, npu_plan('fp32'), [K, K])
    assert step == 2 * K
    assert [(offset, span) for offset, span, _ in records] == [(K - 1, K), (K - 1, K)]
    cpu_records, cpu_weights, cpu_step = train_steps(build, DevicePlan.for_tests(), [K, K])
    assert cpu_step == 2 * K and len(cpu_records) == 2 * K
    for name in ('mapping_loss', 'adversary_loss'):
        np.testing.assert_allclose(records[1][2][name], cpu_records[-1][2][name], rtol=1e-4)
    for key in device_weights:
        np.testing.assert_allclose(device_weights[key], cpu_weights[key], rtol=1e-4, atol=1e-6)


def test_device_loop_refuses_a_partial_loop(data_root, npu):
    build = builders(data_root)['source training']
    with pytest.raises(ValueError, match='runs 10 steps per call'):
        train_steps(build, npu_plan('fp32'), [3])


def test_npu_loss_scaling_counts_and_reports(data_root, npu):
    """Under mixed precision the NPU plan wraps the updates in NPULossScaleOptimizer; the
    scale and the skipped steps are outputs of each loop call."""
    build = builders(data_root)['source training']
    records, _, _ = train_steps(build, npu_plan('mixed'), [K])
    values = records[-1][2]
    assert values['loss_scale'] == 2.0 ** 15
    assert values['skipped_steps'] == 0 and values['skipped_streak'] == 0
    records, _, _ = train_steps(build, npu_plan('fp32'), [K])
    assert 'loss_scale' not in records[-1][2]


# --- the tools, run with --device npu through the stand-in ----------------------------------

def npu_run_env(tmp_path):
    record = tmp_path / 'record'
    record.mkdir(parents=True)
    env = with_pythonpath({'PYTHONPATH': os.environ.get('PYTHONPATH', '')}, STANDINS)
    env['FAKE_NPU_RECORD'] = str(record)
    return env, record


def test_the_tools_on_the_npu_keep_the_contract(data_root, tmp_path, npu_form):
    """Short --device npu runs of the three tools (K = 10, mixed precision) complete; what
    they handed to the device keeps the contract; each training run made iterations / K loop
    calls with the session config the adapter needs."""
    snap, allowed = tmp_path / 'snap', allowed_op_types()
    common = ['--device', 'npu', '--snapshot_dir', snap, '--batch_size', 16, '--seed', 0,
              '--solver', 'adam', '--lr', 1e-3]
    runs = [
        ('train', ['mnist', 'train', 'lenet', 'src', '--iterations', 20, '--snapshot', 10,
                   '--augment', 0.2] + common),  # augmentation stays in the host's pipeline
        ('train_adda', ['mnist:train', 'usps:train', 'lenet', 'ad', '--weights', snap / 'src',
                        '--iterations', 20, '--snapshot', 10, '--adversary', 16] + common),
        ('eval_classification', ['usps', 'test', 'lenet', snap / 'ad', '--device', 'npu',
                                 '--output', tmp_path / 'eval.yaml']),
    ]
    failures = []
    for tool, args in runs:
        env, record = npu_run_env(tmp_path / tool)
        result = run_tool_process(tool, *args, env=env)
        assert result.returncode == 0, result.stderr[-3000:]
        log = result.stdout + result.stderr
        (graph_def,) = recorded_graphs(record)
        (config,) = recorded_configs(record)
        problems = contract_violations(import_graph(graph_def), True, allowed)
        report('{} --device npu'.format(tool), import_graph(graph_def), problems)
        failures += ['{}: {}'.format(tool, line) for line in problems[:3]]
        (npu_optimizer,) = [c for c in config.graph_options.rewrite_options.custom_optimizers
                            if c.name == 'NpuOptimizer']
        parameters = npu_optimizer.parameter_map
        if tool == 'eval_classification':
            assert recorded_loops(record) == {}
            assert yaml.safe_load((tmp_path / 'eval.yaml').read_text())['images'] == 100
            continue
        assert parameters['iterations_per_loop'].i == K
        assert parameters['enable_data_pre_proc'].b is True
        assert list(recorded_loops(record).values()) == [[K, K]]  # 20 iterations / K
        assert 'Iteration 9:' in log and 'Iteration 19:' in log and 'Iteration 10:' not in log
        # the tiny synthetic digits give the discriminator large logits: some adaptation steps
        # overflow float16 at the first scales (tests/test_npu_standin.py has the clean runs)
        assert ('loss scale: 32768    skipped steps: 0' in log if tool == 'train' else
                'skipped steps: ' in log), log[-3000:]
        assert (snap / args[3] / '{}-10.index'.format(args[3])).is_file()
        assert (snap / args[3] / '{}-20.index'.format(args[3])).is_file()
    assert not failures, failures


def test_npu_iterations_must_fit_the_loop(data_root, tmp_path, npu_form):
    env, _ = npu_run_env(tmp_path)
    for option, value in (('--iterations', 25), ('--snapshot', 15)):
        args = ['mnist', 'train', 'lenet', 'x', '--device', 'npu', '--snapshot_dir',
                tmp_path / 'snap', '--iterations', 20, '--snapshot', 10, option, value]
        result = run_tool_process('train', *args, env=env)
        assert result.returncode == 1
        lines = [l for l in result.stderr.splitlines() if l.strip()]
        assert lines == ['Error: {} {} is not a multiple of --steps_per_run 10: the NPU runs 10 '
                         'iterations per session call (iterations_per_loop)'.format(option, value)]
        assert not (tmp_path / 'snap').exists()
