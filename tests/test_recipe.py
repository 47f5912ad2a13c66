"""The adaptation terms (adda/terms/), their losses (adda/losses.py) and their use in the
adaptation graph."""
import numpy as np
import pytest

from adda.compat import tf
from adda.data import get_split
from adda.adaptation import build_adda_training
from adda.losses import (adversary_loss, infomax, pseudo_label_loss, r1_penalty, source_pull,
                         virtual_adversarial_loss)
from adda.models import get_model_fn
from adaptation_fixtures import adaptation_settings, run_adaptation
from adda.terms.centroids import ClassCentroids
from adda.terms.neighbours import NeighbourBank

lenet = get_model_fn('lenet')


def test_source_pull_gradient_points_back_to_the_source(tf_graph):
    target = tf.get_variable('t', initializer=tf.constant([3.0, -1.0]))
    source = tf.get_variable('s', initializer=tf.constant([1.0, 1.0]))
    pull = source_pull({'a': target}, {'a': source})
    grad_t, grad_s = tf.gradients(pull, [target, source])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        value, grad = sess.run([pull, grad_t])
    assert value == pytest.approx(0.5 * (4 + 4))
    np.testing.assert_allclose(grad, [2.0, -2.0])
    assert grad_s is None  # the source side is frozen


def test_r1_penalty_of_a_linear_discriminator(tf_graph):
    weights = np.array([[1.0, -2.0], [3.0, 0.5]], np.float32)  # 2 features -> 2 logits

    def discriminator(x):
        return tf.matmul(x, tf.constant(weights))
    features = tf.constant(np.random.RandomState(0).normal(size=(5, 2)), tf.float32)
    with tf.Session() as sess:
        penalty = sess.run(r1_penalty(discriminator, features))
    # d(log-odds)/dx = W[:, 0] - W[:, 1] for every example
    assert penalty == pytest.approx(0.5 * ((1 + 2) ** 2 + (3 - 0.5) ** 2), rel=1e-5)


def test_one_sided_label_smoothing(tf_graph):
    confident = tf.constant([[10.0, -10.0], [-10.0, 10.0]])  # right about source and target
    domain = tf.constant([0, 1])
    with tf.Session() as sess:
        plain, smoothed = sess.run([adversary_loss(confident, domain),
                                    adversary_loss(confident, domain, 0.1)])
        # only the source example's target moves: 0.1 * 20 nats / 2 examples
        assert smoothed - plain == pytest.approx(0.1 * 20 / 2, rel=1e-3)
        flipped = sess.run(adversary_loss(confident, tf.constant([1, 0]), 0.1) -
                           adversary_loss(confident, tf.constant([1, 0])))
        assert flipped == pytest.approx(-0.1 * 20 / 2, rel=1e-3)


def test_infomax_prefers_confident_balanced_predictions(tf_graph):
    balanced = np.eye(10, dtype=np.float32) * 20
    collapsed = np.tile(np.eye(10, dtype=np.float32)[:1] * 20, (10, 1))
    unsure = np.zeros((10, 10), np.float32)
    with tf.Session() as sess:
        values = sess.run([infomax(tf.constant(x)) for x in (balanced, collapsed, unsure)])
    assert values[0] == pytest.approx(-np.log(10), abs=1e-3)
    assert values[1] == pytest.approx(0.0, abs=1e-3)
    assert values[2] == pytest.approx(0.0, abs=1e-3)


def test_the_core_options_and_stabilisers_together_train(data_root):
    settings = adaptation_settings(adversary_lr=1e-3, adversary_steps=2, label_smoothing=0.1,
                                   gradient_penalty=1.0, source_pull=1e-3, target_infomax=0.1)
    graph, before, out, after = run_adaptation(settings)
    assert all(np.all(np.isfinite(out[k])) for k in out)
    assert [t.name for t in graph.terms] == ['gradient_penalty', 'source_pull', 'infomax']
    assert all(v.op.name.startswith('target/') for v in graph.snapshot_vars.values())
    assert [k for k in before if not np.array_equal(before[k], after[k])]


def test_adversary_steps_draw_fresh_batches(data_root):
    """With two discriminator updates per step, each step consumes two batches per domain."""
    source, target = get_split('mnist', 'train'), get_split('usps', 'train')
    settings = adaptation_settings(adversary_steps=2)
    with tf.Graph().as_default():
        build_adda_training(source, target, lenet, settings, seed=0)
        ops = tf.get_default_graph().get_operations()
        # the target net is built for the two forward passes of each step (plus its variables)
        get_next = [op for op in ops if op.type == 'IteratorGetNext']
        assert len(get_next) == 1 + 2 * 2  # source features pass + 2 x (source, target)


def test_separate_adversary_learning_rate_changes_only_the_discriminator(data_root):
    base = run_adaptation(adaptation_settings(), steps=2)
    slow = run_adaptation(adaptation_settings(adversary_lr=0.0), steps=2)
    # with a zero discriminator rate the first mapping step is the same (same discriminator)
    np.testing.assert_allclose(base[2]['mapping_loss'][0], slow[2]['mapping_loss'][0], rtol=1e-5)
    assert not np.allclose(base[2]['mapping_loss'][1], slow[2]['mapping_loss'][1])


def test_infomax_ramp_grows_linearly_then_stays(tf_graph):
    from adda.losses import ramp
    step = tf.placeholder(tf.int64, [])
    weight = ramp(0.3, step, 1000)
    with tf.Session() as sess:
        values = [sess.run(weight, {step: s}) for s in (0, 250, 1000, 5000)]
    np.testing.assert_allclose(values, [0.0, 0.075, 0.3, 0.3], rtol=1e-6)
    assert ramp(0.3, step, 0) == 0.3


def test_pseudo_labels_count_only_confident_images_and_train_only_the_student(tf_graph):
    """Teacher: image 0 confident (0.99) in class 2, image 1 unsure (max 0.5): only image 0's
    cross-entropy counts, against class 2, averaged over both images; no gradient reaches the
    teacher's logits."""
    teacher = tf.constant([[0.0, 0.0, np.log(99.0 * 2)] + [0.0] * 7,
                           [np.log(9.0), 0.0] + [0.0] * 8], tf.float32)  # 0.5 / 0.0556...
    student = tf.constant(np.random.RandomState(0).normal(size=(2, 10)), tf.float32)
    loss, passed = pseudo_label_loss(tf.nn.softmax(teacher), student, 0.95)
    grad_teacher, grad_student = tf.gradients(loss, [teacher, student])
    with tf.Session() as sess:
        probs, value, fraction, grad = sess.run([tf.nn.softmax(teacher), loss, passed,
                                                 grad_student])
        logits = sess.run(student)
    assert probs[0].max() > 0.95 and probs[1].max() < 0.95
    log_softmax = logits[0] - np.log(np.exp(logits[0]).sum())
    assert value == pytest.approx(-log_softmax[2] / 2, rel=1e-5)
    assert fraction == pytest.approx(0.5)
    assert grad_teacher is None
    softmax0 = np.exp(log_softmax)
    np.testing.assert_allclose(grad[0], (softmax0 - np.eye(10)[2]) / 2, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(grad[1], 0.0)


def test_self_training_adaptation_sees_two_views_and_trains(data_root):
    settings = adaptation_settings(target_pseudo=1.0, pseudo_threshold=0.0, target_augment=0.2)
    graph, before, out, after = run_adaptation(settings, steps=3)
    assert all(np.all(np.isfinite(out[k])) for k in out)
    assert [k for k in before if not np.array_equal(before[k], after[k])]
    # the target pipeline hands out (images, labels, augmented images); its labels stay unused
    target_pipeline = graph.inputs[1]
    images, _, augmented = target_pipeline.get_next()
    assert images.shape.as_list() == augmented.shape.as_list()
    # the pseudo-labels train the network on the second view: with no augmentation (the view
    # is the image itself) the same seed trains to other weights
    _, _, _, same_view = run_adaptation(adaptation_settings(
        target_pseudo=1.0, pseudo_threshold=0.0, target_augment=0.0), steps=3)
    assert any(not np.allclose(after[k], same_view[k], rtol=1e-5, atol=1e-6) for k in after)


def _two_class_linear(weight):
    """A network whose two logits are (+w x0, -w x0): only the first input matters."""
    matrix = tf.constant([[weight, -weight], [0.0, 0.0], [0.0, 0.0]], tf.float32)
    return lambda images: tf.matmul(images, matrix)


def test_vat_finds_the_one_direction_that_changes_the_prediction(tf_graph):
    """Images on the boundary (x0 = 0, p = 1/2 each): the worst perturbation of norm r is
    +-r along x0 whatever the random start, so the loss is KL(1/2 || sigmoid(2 w r)) exactly;
    a random direction of the same norm changes the prediction less; radius 0 gives 0."""
    weight, radius = 1.5, 0.8
    network = _two_class_linear(weight)
    images = tf.constant(np.c_[np.zeros(4), np.random.RandomState(1).normal(size=(4, 2))],
                         tf.float32)
    logits = network(images)
    key = tf.constant([3, 4], tf.int64)
    loss = virtual_adversarial_loss(network, images, logits, radius, key)
    flat = virtual_adversarial_loss(network, images, logits, 0.0, key)
    random = tf.constant(np.random.RandomState(2).normal(size=(4, 3)), tf.float32)
    random = radius * random / tf.norm(random, axis=1, keepdims=True)
    q_random = tf.nn.softmax(network(images + random))
    with tf.Session() as sess:
        value, zero, q = sess.run([loss, flat, q_random])
    q1 = 1.0 / (1.0 + np.exp(-2.0 * weight * radius))
    expected = -0.5 * np.log(q1) - 0.5 * np.log(1.0 - q1) - np.log(2.0)
    assert value == pytest.approx(expected, rel=1e-4)
    assert zero == pytest.approx(0.0, abs=1e-6)
    random_value = np.mean(np.sum(0.5 * (np.log(0.5) - np.log(q)), axis=1))
    assert random_value < 0.9 * value


def test_vat_trains_the_network_not_the_prediction_it_keeps(tf_graph):
    """The clean prediction is a fixed target: no gradient reaches the clean logits; the
    network's weights get one, which lowers the loss when followed."""
    weight = tf.Variable(1.5)
    matrix = tf.stack([tf.stack([weight, -weight]), tf.zeros([2]), tf.zeros([2])])

    def network(images):
        return tf.matmul(images, matrix)
    images = tf.constant([[0.3, 0.1, -0.2], [-0.5, 0.4, 0.0]], tf.float32)
    clean = tf.identity(network(images))
    loss = virtual_adversarial_loss(network, images, clean, 1.0, tf.constant([0, 1], tf.int64))
    grad_clean, grad_weight = tf.gradients(loss, [clean, weight])
    assert grad_clean is None
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        before, slope = sess.run([loss, grad_weight])
        sess.run(weight.assign_sub(0.1 * slope))
        after = sess.run(loss)
    assert slope != 0.0 and after < before


def assert_term_changes_training_only(base, result):
    """``result`` (run_adaptation with a term) against ``base`` (without it): finite losses,
    the first step's losses the same (computed before any update), the weights moved
    differently."""
    assert all(np.all(np.isfinite(result[2][k])) for k in result[2])
    np.testing.assert_allclose(base[2]['mapping_loss'][0], result[2]['mapping_loss'][0],
                               rtol=1e-5)
    assert any(not np.allclose(base[3][k], result[3][k]) for k in base[3])


def test_vat_adaptation_trains_and_repeats_with_the_seed(data_root):
    """--target_vat adds the term to the target network's objective (the weights move
    differently than without it), and the same seed gives the same run again. (That the
    directions are keyed by the step, so a resumed run draws the same, is
    tests/test_cli.py's resume test.)"""
    base = run_adaptation(adaptation_settings(target_infomax=0.1), steps=2)
    vat = run_adaptation(adaptation_settings(target_infomax=0.1, target_vat=1.0,
                                             vat_radius=2.0), steps=2)
    again = run_adaptation(adaptation_settings(target_infomax=0.1, target_vat=1.0,
                                               vat_radius=2.0), steps=2)
    assert_term_changes_training_only(base, vat)
    for k in vat[3]:
        np.testing.assert_array_equal(vat[3][k], again[3][k])


def _unit_rows(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_centroid_labels_follow_the_features_not_the_prediction(tf_graph):
    """Image 1's features sit in image 0's cluster while the network leans to class 1
    (0.4 / 0.6): its nearest centroid, and so its label, is class 0. The centroids are the
    probability-weighted means of the unit features, moved by 1 - momentum from the running
    ones (0 at first), as written out in NumPy here."""
    features = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]], np.float32)
    probs = np.array([[0.999, 0.001], [0.4, 0.6], [0.001, 0.999]], np.float32)
    centroids = ClassCentroids(2, 2, momentum=0.5)
    labels, update = centroids.labels(tf.constant(features), tf.constant(np.log(probs)))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        first, _ = sess.run([labels, update])
        stored = sess.run(centroids.centroids)
        second, _ = sess.run([labels, update])
        again = sess.run(centroids.centroids)
    batch = probs.T.dot(_unit_rows(features)) / probs.sum(axis=0)[:, None]
    np.testing.assert_allclose(stored, 0.5 * batch, rtol=1e-5)
    np.testing.assert_allclose(again, 0.75 * batch, rtol=1e-5)
    assert first.tolist() == second.tolist() == [0, 0, 1]
    assert probs.argmax(axis=1).tolist() == [0, 1, 1]  # the network's own labels differ


def test_centroid_self_training_adaptation_trains_and_keeps_its_centroids(data_root):
    """--target_centroid: the centroids are a global variable (so the training state saves
    them and a resumed run continues them), filled by the steps; the term changes training
    but not the first step's losses (computed before any update)."""
    base = run_adaptation(adaptation_settings(target_infomax=0.1), steps=2)
    settings = adaptation_settings(target_infomax=0.1, target_centroid=1.0, centroid_momentum=0.5)
    centroids = {}
    result = run_adaptation(settings, steps=2, fetch_globals=centroids)
    assert_term_changes_training_only(base, result)
    value = centroids['centroids/centroids']
    assert value.shape == (10, 500)
    # two steps from 0 with momentum 0.5: 0.75 of a mean of unit vectors, so norms <= 0.75
    norms = np.linalg.norm(value, axis=1)
    assert norms.max() <= 0.75 + 1e-5 and norms.min() > 0.0


def test_neighbour_vote_is_the_mean_prediction_of_the_k_most_similar_stored_images(tf_graph):
    """A bank of 2 slots of 3 images, filled by steps 0 and 1 and then overwritten in slot 0
    by step 2 (ring order); the vote of a query is the mean stored prediction of its k most
    cosine-similar stored images, computed here in NumPy by sorting (the graph uses no TopK).
    Before anything is stored, every entry is empty and the vote is all zeros (no label)."""
    rng = np.random.RandomState(0)
    bank = NeighbourBank(slots=2, batch=3, width=4, classes=5)
    step = tf.placeholder(tf.int32, [])
    features = tf.placeholder(tf.float32, [3, 4])
    logits = tf.placeholder(tf.float32, [3, 5])
    vote = bank.vote(features, 2)
    store = bank.store(step, features, logits)
    batches = [(rng.normal(size=(3, 4)), rng.normal(size=(3, 5)) * 3) for _ in range(3)]
    query = rng.normal(size=(3, 4))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        empty = sess.run(vote, {features: query})
        for i, (f, l) in enumerate(batches):
            sess.run(store, {step: i, features: f, logits: l})
        voted = sess.run(vote, {features: query})
    np.testing.assert_array_equal(empty, np.zeros((3, 5)))
    stored = [batches[2], batches[1]]  # step 2 overwrote slot 0
    bank_features = _unit_rows(np.concatenate([f for f, _ in stored]))
    bank_probs = np.concatenate([np.exp(l) / np.exp(l).sum(1, keepdims=True) for _, l in stored])
    nearest = np.argsort(-_unit_rows(query).dot(bank_features.T), axis=1)[:, :2]
    np.testing.assert_allclose(voted, bank_probs[nearest].mean(axis=1), rtol=1e-5, atol=1e-6)


def test_neighbour_labels_overrule_an_image_s_own_prediction(tf_graph):
    """An image whose features sit among class 0's stored images is labelled 0 by the vote,
    though the network predicts class 1 for it: the labels the pseudo-label loss trains on."""
    bank = NeighbourBank(slots=1, batch=4, width=2, classes=2)
    cluster = np.array([[1.0, 0.0], [0.95, 0.05], [0.9, 0.1], [0.0, 1.0]], np.float32)
    confident = np.log(np.array([[0.99, 0.01]] * 3 + [[0.01, 0.99]], np.float32))
    store = bank.store(0, tf.constant(cluster), tf.constant(confident))
    image, own = tf.constant([[0.97, 0.03]]), tf.constant([[0.2, 0.8]])
    loss, passed = pseudo_label_loss(bank.vote(image, 3), tf.log(own), 0.9)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(store)
        value, fraction = sess.run([loss, passed])
    assert fraction == 1.0
    np.testing.assert_allclose(value, -np.log(0.2), rtol=1e-5)  # label 0, not the own 1


def usps_bank_slots():
    """Batches of 8 the bank holds for usps train: one epoch's, at most 4096 images."""
    return min(int(np.ceil(len(get_split('usps', 'train')) / 8.0)), 512)


def test_neighbour_pseudo_labels_train_and_fill_their_bank(data_root):
    """--pseudo_neighbours: the bank is a global variable (the training state saves it), one
    slot written per step, and the term changes training but not the first step's losses."""
    own = run_adaptation(adaptation_settings(target_pseudo=1.0, pseudo_threshold=0.0), steps=2)
    settings = adaptation_settings(target_pseudo=1.0, pseudo_threshold=0.0, pseudo_neighbours=3)
    bank = {}
    result = run_adaptation(settings, steps=2, fetch_globals=bank)
    assert_term_changes_training_only(own, result)
    features, probs = bank['neighbours/features'], bank['neighbours/probs']
    slots = usps_bank_slots()
    assert features.shape == (slots, 8, 500) and probs.shape == (slots, 8, 10)
    written = [i for i in range(features.shape[0]) if np.any(features[i])]
    assert written == [0, 1]
    np.testing.assert_allclose(np.linalg.norm(features[:2], axis=2), 1.0, rtol=1e-4)
    np.testing.assert_allclose(probs[:2].sum(axis=2), 1.0, rtol=1e-5)


def test_more_neighbours_than_the_bank_holds_is_refused(data_root):
    """A vote over more images than the bank keeps would count some twice: refused, naming
    the option and the bank's size."""
    from adda.errors import AddaError
    target = get_split('usps', 'train')
    slots = usps_bank_slots()
    settings = adaptation_settings(target_pseudo=1.0, pseudo_neighbours=slots * 8 + 1)
    with tf.Graph().as_default(), pytest.raises(AddaError) as error:
        build_adda_training(get_split('mnist', 'train'), target, lenet, settings, seed=0)
    assert str(error.value) == (
        '--pseudo_neighbours {} is more than the {} target images the neighbour bank holds '
        '({} batches of 8)'.format(slots * 8 + 1, slots * 8, slots))
