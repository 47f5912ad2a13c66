"""Training graphs: several steps per session call match one step per call."""
import numpy as np
import pytest

from adda.compat import tf
from adda.data import get_split
from adda.adaptation import build_adda_training
from adda.graphs import build_source_training, lr_at, scheduled_lr
from adda.models import get_model_fn
from adda.tools import train, train_adda
from adda.training import format_losses

lenet = get_model_fn('lenet')


def run_steps(build, calls):
    """Losses of every step and the final snapshot variables, running ``calls`` steps/call."""
    with tf.Graph().as_default():
        tf.set_random_seed(5)
        graph = build()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            graph.start(sess)
            losses = []
            for n in calls:
                records = graph.loop.run(sess, n)
                assert [offset for offset, _, _ in records] == list(range(n))
                losses.append(np.array([[values[k] for k in graph.outputs]
                                        for _, _, values in records]))
            assert sess.run(graph.global_step) == sum(calls)
            return np.concatenate(losses), sess.run(graph.snapshot_vars)


def assert_same_run(a, b):
    np.testing.assert_allclose(a[0], b[0], rtol=1e-4, atol=1e-5)
    for key in a[1]:
        np.testing.assert_allclose(a[1][key], b[1][key], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('solver', ['adam', 'sgd'])
def test_source_steps_per_run_matches_single_steps(data_root, solver):
    split = get_split('mnist', 'train')

    def build():
        return build_source_training(split, lenet, train.Settings(
            batch_size=16, lr=1e-3, solver=solver, stepsize=4), seed=1)
    single = run_steps(build, [1] * 8)
    looped = run_steps(build, [4, 3, 1])
    assert single[0].shape == (8, 1)
    assert_same_run(single, looped)
    assert single[0][-1, 0] < single[0][0, 0] or solver == 'sgd'


def test_adda_steps_per_run_matches_single_steps(data_root):
    source, target = get_split('mnist', 'train'), get_split('usps', 'train')

    def build():
        return build_adda_training(source, target, lenet, train_adda.Settings(
            batch_size=16, lr=2e-4, solver='adam', adversary=(20, 20)), seed=1)
    single = run_steps(build, [1] * 6)
    looped = run_steps(build, [6])
    assert single[0].shape == (6, 2)
    assert_same_run(single, looped)


def test_adaptation_trains_only_target_and_discriminator(data_root):
    source, target = get_split('mnist', 'train'), get_split('usps', 'train')
    with tf.Graph().as_default():
        graph = build_adda_training(source, target, lenet, train_adda.Settings(
            batch_size=8, lr=1e-2, solver='adam', adversary=(8,)), seed=0)
        watched = {v.op.name: v for v in tf.global_variables()
                   if v.op.name.split('/')[0] in ('source', 'target', 'adversary')
                   and v.op.name.endswith(('weights', 'biases'))}
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            graph.start(sess)
            before = sess.run(watched)
            graph.loop.run(sess, 3)
            after = sess.run(watched)
    changed = {name.split('/')[0] for name in watched
               if not np.array_equal(before[name], after[name])}
    assert changed == {'target', 'adversary'}
    assert list(graph.snapshot_vars)[0] == 'conv1/weights'
    assert all(v.op.name.startswith('target/') for v in graph.snapshot_vars.values())


def test_learning_rate_schedule_in_graph_and_python(tf_graph):
    steps = [0, 9, 10, 25]
    with tf.Session() as sess:
        in_graph = sess.run([scheduled_lr(1e-3, 10, tf.constant(s, tf.int64)) for s in steps])
    np.testing.assert_allclose(in_graph, [lr_at(1e-3, 10, s) for s in steps], rtol=1e-6)
    assert [lr_at(1.0, 10, s) for s in steps] == [1.0, 1.0, 0.1, 0.1 ** 2]
    assert lr_at(1e-3, None, 10 ** 6) == 1e-3


def test_log_line_format_matches_the_original():
    assert format_losses(10, [''], [0.5], [0.25]) == (
        'Iteration 10:            0.5000     (avg:     0.2500)')
    assert format_losses(0, ['Mapping', 'Adversary'], [1, 2], [3, 4]) == (
        'Iteration 0:         Mapping:     1.0000     (avg:     3.0000)'
        '    Adversary:     2.0000     (avg:     4.0000)')


def test_adapting_the_encoder_keeps_the_source_classifier(data_root):
    source, target = get_split('mnist', 'train'), get_split('usps', 'train')
    with tf.Graph().as_default():
        graph = build_adda_training(source, target, lenet, train_adda.Settings(
            batch_size=8, lr=1e-2, solver='adam', adversary=(8,), adversary_layer='fc3'), seed=0)
        assert tf.global_variables('adversary/fc1/weights')[0].shape.as_list() == [500, 8]
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            graph.start(sess)
            before = sess.run(graph.snapshot_vars)
            graph.loop.run(sess, 2)
            after = sess.run(graph.snapshot_vars)
    changed = sorted(k for k in before if not np.array_equal(before[k], after[k]))
    assert changed == ['conv1/biases', 'conv1/weights', 'conv2/biases', 'conv2/weights',
                       'fc3/biases', 'fc3/weights']


def test_unknown_feature_layer(data_root):
    from adda.errors import AddaError
    split = get_split('usps', 'train')
    with tf.Graph().as_default():
        with pytest.raises(AddaError, match="unknown layer 'fc9' of lenet"):
            build_adda_training(split, split, lenet, train_adda.Settings(
                batch_size=8, lr=1e-3, solver='adam', adversary_layer='fc9'), seed=0)


def test_ignore_label_averages_over_the_kept_examples(tf_graph):
    from adda.graphs import masked_xent
    rng = np.random.RandomState(0)
    logits = rng.normal(size=(6, 10)).astype(np.float32)
    labels = np.array([3, 1, 3, 255, 7, 0])
    log_probs = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    kept = [i for i, label in enumerate(labels) if label not in (3, 255)]
    expected = -np.mean([log_probs[i, labels[i]] for i in kept])
    with tf.Session() as sess:
        value, none_kept = sess.run([
            masked_xent(tf.constant(labels), tf.constant(logits), 3),
            masked_xent(tf.constant([3, 3]), tf.constant(logits[:2]), 3)])
    assert value == pytest.approx(expected, rel=1e-5)
    assert none_kept == 0.0
