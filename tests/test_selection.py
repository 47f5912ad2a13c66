"""Label-free snapshot selection: the criteria on cases with known answers, the choice rule,
the snapshot listing, label independence, and the two tools end to end."""
import gzip
import math
import os

import numpy as np
import pytest
import yaml

from adda import selection
from adda.errors import AddaError
from adda.selection import SelectionInputs
from adda.snapshot_outputs import ImagesOnly, SplitOutputs, list_snapshots
from conftest import run_tool, snapshot_accuracy

CLASSES = 10


def one_hot_probs(classes, confidence=0.99, num_classes=CLASSES):
    p = np.full((len(classes), num_classes), (1 - confidence) / (num_classes - 1))
    p[np.arange(len(classes)), classes] = confidence
    return p


def normal_cdf(x):
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


# --- the criteria -------------------------------------------------------------------------

def test_balanced_entropy_prefers_confident_balanced_predictions():
    balanced = one_hot_probs(np.arange(200) % CLASSES)
    collapsed = one_hot_probs(np.zeros(200, int))
    uncertain = np.full((200, CLASSES), 1.0 / CLASSES)
    scores = [selection.balanced_entropy(p) for p in (balanced, collapsed, uncertain)]
    assert scores[0] < scores[1] and scores[0] < scores[2]
    # perfectly confident and balanced: 0 - log(10), the lower bound
    exact = np.eye(CLASSES)[np.arange(200) % CLASSES]
    assert selection.balanced_entropy(exact) == pytest.approx(-math.log(CLASSES))
    assert selection.balanced_entropy(uncertain) == pytest.approx(0.0, abs=1e-12)
    assert selection.get_criterion('balanced_entropy').higher_is_better is False


def test_mean_entropy_and_softmax():
    logits = np.log(np.array([[1.0, 1.0], [3.0, 1.0]]))
    probs = selection.softmax(logits + 100)  # shift-invariant, no overflow
    np.testing.assert_allclose(probs, [[0.5, 0.5], [0.75, 0.25]])
    expected = (math.log(2) - (0.75 * math.log(0.75) + 0.25 * math.log(0.25))) / 2
    assert selection.mean_entropy(probs) == pytest.approx(expected)


def test_snd_matches_the_closed_form_on_identical_clusters():
    """K clusters of m identical one-hot outputs: cosine 1 inside a cluster, 0 across."""
    k, m, temperature = 5, 20, 0.05
    probs = np.repeat(np.eye(k), m, axis=0)
    inside = math.exp(1 / temperature)
    norm = (m - 1) * inside + (k - 1) * m
    p_in, p_out = inside / norm, 1 / norm
    expected = -((m - 1) * p_in * math.log(p_in) + (k - 1) * m * p_out * math.log(p_out))
    assert selection.soft_neighborhood_density(probs) == pytest.approx(expected, rel=1e-9)
    # computed in small row blocks: the same value
    assert selection.soft_neighborhood_density(probs, max_block=37) == pytest.approx(
        expected, rel=1e-9)


def test_snd_prefers_dense_neighbourhoods():
    rng = np.random.RandomState(0)
    classes = np.arange(300) % CLASSES
    clustered = one_hot_probs(classes, 0.9) + rng.uniform(0, 0.01, (300, CLASSES))
    scattered = rng.dirichlet(np.full(CLASSES, 0.3), 300)
    assert (selection.soft_neighborhood_density(clustered) >
            selection.soft_neighborhood_density(scattered))
    assert selection.get_criterion('snd').higher_is_better is True


def test_logistic_regression_recovers_its_coefficients():
    rng = np.random.RandomState(1)
    x = rng.normal(size=(20000, 2))
    w_true, b_true = np.array([1.5, -2.0]), 0.5
    y = rng.uniform(size=20000) < 1 / (1 + np.exp(-(x.dot(w_true) + b_true)))
    w, b = selection.fit_logistic(x, y, l2=1e-6)
    np.testing.assert_allclose(w, w_true, atol=0.1)
    assert b == pytest.approx(b_true, abs=0.1)


def test_logistic_regression_on_separable_data_stays_finite():
    x = np.r_[np.zeros((50, 3)), np.ones((50, 3))]
    y = np.r_[np.zeros(50), np.ones(50)]
    w, b = selection.fit_logistic(x, y)
    assert np.all(np.isfinite(w)) and np.isfinite(b)
    assert np.all((x.dot(w) + b > 0) == (y == 1))


@pytest.mark.parametrize('n_source, n_target', [(6000, 6000), (8000, 3000)])
def test_importance_weights_follow_the_known_density_ratio(n_source, n_target):
    """Source N(0, 1), target N(1, 1): p_t(x) / p_s(x) = exp(x - 1/2), also when the two
    samples differ in size."""
    rng = np.random.RandomState(2)
    source = rng.normal(0, 1, (n_source, 1))
    target = rng.normal(1, 1, (n_target, 1))
    points = np.array([[-1.0], [0.0], [0.5], [1.0], [2.0]])
    weights = selection.importance_weights(source, target, points, l2=1e-6)
    np.testing.assert_allclose(weights, np.exp(points[:, 0] - 0.5), rtol=0.2)


def test_dev_estimates_the_target_risk():
    """A loss of 1 above x = 0.5: risk 0.31 on the source N(0, 1), 0.69 on the target N(1, 1).
    DEV on source validation data estimates the target's."""
    rng = np.random.RandomState(3)
    source = rng.normal(0, 1, (4000, 1))
    target = rng.normal(1, 1, (2000, 1))
    val = rng.normal(0, 1, (20000, 1))
    losses = (val[:, 0] > 0.5).astype(float)
    weights = selection.importance_weights(source, target, val, l2=1e-6)
    true_risk = 1 - normal_cdf(-0.5)
    assert selection.dev_risk(losses, weights) == pytest.approx(true_risk, abs=0.02)
    assert abs(losses.mean() - true_risk) > 0.3  # unweighted, it would be far off


def test_dev_control_variate_reduces_the_variance():
    """Over repeated small samples, DEV varies less than the plain importance-weighted mean,
    and both centre on the true target risk."""
    dev, weighted = [], []
    for seed in range(30):
        rng = np.random.RandomState(seed)
        source, target = rng.normal(0, 1, (1000, 1)), rng.normal(1, 1, (1000, 1))
        val = rng.normal(0, 1, (1000, 1))
        losses = (val[:, 0] > 0.5).astype(float)
        weights = selection.importance_weights(source, target, val, l2=1e-6)
        dev.append(selection.dev_risk(losses, weights))
        weighted.append(np.mean(weights * losses))
    true_risk = 1 - normal_cdf(-0.5)
    assert np.mean(dev) == pytest.approx(true_risk, abs=0.02)
    assert np.mean(weighted) == pytest.approx(true_risk, abs=0.05)
    assert np.std(dev) < 0.5 * np.std(weighted)


def test_dev_with_constant_weights_is_the_mean_loss():
    losses = np.array([0.1, 0.5, 2.0])
    assert selection.dev_risk(losses, np.ones(3)) == pytest.approx(losses.mean())


def test_dev_criterion_ranks_the_lower_target_risk_first():
    """Two snapshots with the same source validation loss overall, but one errs where the
    target lives: DEV must prefer the other."""
    rng = np.random.RandomState(4)
    source = rng.normal(0, 1, (3000, 1))
    target = rng.normal(1.5, 1, (3000, 1))
    val = rng.normal(0, 1, (6000, 1))
    labels = np.zeros(6000, int)
    good, bad = np.zeros((6000, 2)), np.zeros((6000, 2))
    good[:, 0] = np.where(val[:, 0] < -0.5, -5, 5)  # wrong on the left, away from the target
    bad[:, 0] = np.where(val[:, 0] > 0.5, -5, 5)  # wrong on the right, where the target is
    scores = {}
    for step, logits in [(1, good), (2, bad)]:
        inputs = SelectionInputs(SplitOutputs(None, source), SplitOutputs(logits, val), labels,
                                 SplitOutputs(None, target))
        scores[step] = selection.deep_embedded_validation(inputs)
    assert selection.choose(scores, selection.get_criterion('dev').higher_is_better) == 1


def test_source_accuracy():
    inputs = SelectionInputs(None, SplitOutputs(np.eye(3), None), np.array([0, 1, 1]), None)
    assert selection.score(inputs, ['source_accuracy'])['source_accuracy'] == pytest.approx(
        2 / 3)


def test_ensv_scores_agreement_with_the_ensemble():
    """Three snapshots; the ensemble's classes are those of the first, which the other two
    each contradict on one image of four."""
    predictions = [[0, 1, 2, 3], [0, 1, 2, 0], [0, 1, 1, 3]]
    probs = [one_hot_probs(np.array(p), 0.9) for p in predictions]
    scores = selection.ensemble_agreement(probs)
    assert scores == pytest.approx([1.0, 0.75, 0.75])
    assert selection.choose(dict(zip([500, 1000, 1500], scores)), True) == 500
    rows = selection.score_run(probs, ['snd', 'ensv'])
    assert [list(row) for row in rows] == [['ensv']] * 3
    assert [row['ensv'] for row in rows] == pytest.approx(scores)
    assert selection.ensemble_agreement(probs[:1]) == [1.0]
    assert selection.get_criterion('ensv').per_run


# --- choosing -----------------------------------------------------------------------------

def test_choice_follows_the_direction_and_ties_go_to_the_later_step():
    scores = {500: 0.2, 1000: 0.9, 1500: 0.9, 2000: 0.1}
    assert selection.choose(scores, True) == 1500
    assert selection.rank(scores, True) == [1500, 1000, 500, 2000]
    assert selection.choose(scores, False) == 2000
    assert selection.choose({500: 0.3, 1000: 0.3}, False) == 1000
    assert selection.rank([(1, float('nan')), (2, 0.5)], True) == [2, 1]
    with pytest.raises(AddaError):
        selection.choose({}, True)


def test_kendall_tau_on_known_orders():
    assert selection.kendall_tau([1, 2, 3, 4], [10, 20, 30, 40]) == 1.0
    assert selection.kendall_tau([1, 2, 3, 4], [4, 3, 2, 1]) == -1.0
    # pairs: (1,2)+ (1,3)- (2,3)- -> (1 - 2) / 3
    assert selection.kendall_tau([1, 2, 3], [1, 3, 0]) == pytest.approx(-1 / 3)
    assert selection.kendall_tau([5], [1]) == 0.0


def test_agreement_measures_the_gap_of_the_choice_and_the_order():
    accuracies = {500: 0.90, 1000: 0.95, 1500: 0.93}
    # a loss-like criterion (lower is better) that picks step 1500 and orders 1500 > 1000 > 500
    gap, tau = selection.agreement({500: 3.0, 1000: 2.0, 1500: 1.0}, accuracies, False)
    assert gap == pytest.approx(0.02) and tau == pytest.approx(1 / 3)
    # the same scores read as higher-is-better: picks step 500, the order reversed
    gap, tau = selection.agreement({500: 3.0, 1000: 2.0, 1500: 1.0}, accuracies, True)
    assert gap == pytest.approx(0.05) and tau == pytest.approx(-1 / 3)
    gap, tau = selection.agreement({500: 0.1, 1000: 0.9, 1500: 0.5}, accuracies, True)
    assert gap == 0.0 and tau == 1.0
    # a NaN score is never chosen and left out of the order
    gap, tau = selection.agreement({500: 0.1, 1000: float('nan'), 1500: 0.5}, accuracies, True)
    assert gap == pytest.approx(0.02) and tau == 1.0
    with pytest.raises(AddaError):
        selection.agreement({500: 1.0}, {1000: 0.9}, True)


def test_unknown_criterion():
    with pytest.raises(AddaError, match='unknown criterion'):
        selection.get_criterion('oracle')


# --- snapshots ----------------------------------------------------------------------------

def touch(path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, 'w').close()


def test_snapshots_are_listed_by_step(tmp_path):
    run = str(tmp_path / 'run')
    for step in (1000, 500, 10000):
        touch(os.path.join(run, 'ad-{}.index'.format(step)))
        touch(os.path.join(run, 'ad-{}.data-00000-of-00001'.format(step)))
    for name in ('checkpoint', 'config.yaml', 'state/state-10000.index', 'ad-x.index'):
        touch(os.path.join(run, name))
    found = list_snapshots(run)
    assert [s.step for s in found] == [500, 1000, 10000]
    assert [s.path for s in found] == [os.path.join(run, 'ad-{}'.format(s))
                                       for s in (500, 1000, 10000)]


def test_snapshot_listing_errors(tmp_path):
    with pytest.raises(AddaError, match='no such folder'):
        list_snapshots(str(tmp_path / 'missing'))
    touch(str(tmp_path / 'empty' / 'state' / 'state-5.index'))
    with pytest.raises(AddaError, match='no snapshots'):
        list_snapshots(str(tmp_path / 'empty'))
    touch(str(tmp_path / 'two' / 'a-5.index'))
    touch(str(tmp_path / 'two' / 'b-5.index'))
    with pytest.raises(AddaError, match='several runs'):
        list_snapshots(str(tmp_path / 'two'))


class NoLabels(object):
    """A split whose labels must not be read."""

    def __init__(self, split):
        self.images, self.num_classes, self.name = split.images, split.num_classes, split.name

    @property
    def labels(self):
        raise AssertionError('the target labels were read')

    def __len__(self):
        return len(self.images)


def save_random_snapshots(folder, name, steps):
    """Snapshots of differently initialised LeNets, under the stripped keys."""
    from adda.compat import tf
    from adda.models import get_model_fn
    from adda.util import collect_vars
    with tf.Graph().as_default():
        tf.set_random_seed(0)
        get_model_fn('lenet')(tf.placeholder(tf.float32, [None, 28, 28, 1]), scope='lenet')
        model_vars = collect_vars('lenet')
        saver = tf.train.Saver(var_list=model_vars, max_to_keep=0)
        with tf.Session() as sess:
            for step in steps:
                sess.run(tf.variables_initializer(list(model_vars.values())))
                saver.save(sess, os.path.join(folder, name), global_step=step,
                           write_meta_graph=False)


def test_outputs_per_snapshot_match_the_evaluation_graph(data_root, tmp_path):
    """Every image once, in order, whatever the batch size; the argmax is what the evaluation
    tool's graph predicts for that snapshot."""
    from adda.checkpoints import restore
    from adda.compat import tf
    from adda.data import get_split
    from adda.data.pipeline import each_batch
    from adda.graphs import EvalGraph
    from adda.models import get_model_fn
    from adda.session import session_config
    from adda.snapshot_outputs import outputs_per_snapshot
    from collections import OrderedDict

    run = str(tmp_path / 'run')
    save_random_snapshots(run, 'r', [1, 2])
    snapshots = list_snapshots(run)
    split = get_split('usps', 'test')
    lenet = get_model_fn('lenet')
    device = session_config('cpu', 'fp32')
    results = {}
    for batch_size in (7, 1000):
        results[batch_size] = [outputs['u'] for _, outputs in outputs_per_snapshot(
            OrderedDict(u=split), lenet, snapshots, batch_size, device, 'lenet', 'fc3')]
    for small, big in zip(results[7], results[1000]):
        assert small.logits.shape == (len(split), 10) and small.features.shape == (len(split),
                                                                                     500)
        np.testing.assert_allclose(small.logits, big.logits, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(small.features, big.features, rtol=1e-5, atol=1e-5)
    assert not np.allclose(results[7][0].logits, results[7][1].logits)
    for snapshot, outputs in zip(snapshots, results[1000]):
        with tf.Graph().as_default():
            graph = EvalGraph(split, lenet, 1000, scope='lenet')
            with tf.Session() as sess:
                restore(sess, graph.model_vars, snapshot.path)
                predictions = np.concatenate(list(each_batch(sess, graph.batches,
                                                             graph.predictions)))
        np.testing.assert_array_equal(np.argmax(outputs.logits, 1), predictions[:len(split)])


def test_scores_never_depend_on_the_target_labels(data_root, tmp_path):
    from adda.data import get_split
    from adda.data.dataset import ImageSplit
    from adda.models import get_model_fn
    from adda.session import session_config

    run = str(tmp_path / 'run')
    save_random_snapshots(run, 'r', [1, 2, 3])
    snapshots = list_snapshots(run)
    source, source_val = get_split('mnist', 'train'), get_split('mnist', 'test')
    target = get_split('usps', 'train')
    permuted = ImageSplit(target.images, np.random.RandomState(0).permutation(target.labels),
                          target.num_classes, target.name)
    device = session_config('cpu', 'fp32')
    runs = [selection.score_snapshots(source, source_val, t, get_model_fn('lenet'), snapshots,
                                      100, device, 'lenet')
            for t in (target, permuted, NoLabels(target))]
    for other in runs[1:]:
        assert [(s, list(scores.items())) for s, scores in other] == [
            (s, list(scores.items())) for s, scores in runs[0]]
    assert list(runs[0][0][1]) == list(selection.CRITERIA)
    assert all(np.isfinite(v) for _, scores in runs[0] for v in scores.values())
    assert len(ImagesOnly(NoLabels(target))) == len(target.images)


# --- the tools ----------------------------------------------------------------------------

TRAIN = ['--batch_size', 32, '--lr', 1e-3, '--solver', 'adam', '--seed', 0]


def ok(result):
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def shift_labels(path):
    """Rewrite a USPS text file with every label moved to the next class."""
    with gzip.open(path, 'rt') as f:
        rows = [line.split(' ', 1) for line in f.read().splitlines() if line.strip()]
    with gzip.open(path, 'wt') as f:
        f.write(''.join('{:.4f} {}\n'.format((int(float(label)) + 1) % 10, rest)
                        for label, rest in rows))


def test_select_snapshot_and_snapshot_curve_end_to_end(data_root, tmp_path):
    snap = tmp_path / 'snap'
    ok(run_tool('train', 'mnist', 'train', 'lenet', 'src', '--iterations', 30,
                '--snapshot_dir', snap, *TRAIN))
    ok(run_tool('train_adda', 'mnist:train', 'usps:train', 'lenet', 'ad', '--weights', snap / 'src',
                '--iterations', 20, '--snapshot', 5, '--keep', 0, '--snapshot_dir', snap,
                '--adversary', 16, '--adversary', 16, *TRAIN))
    run = snap / 'ad'
    steps = [0, 5, 10, 15, 20]  # step 0: the source model the run started from

    def select(record, *options):
        result = ok(run_tool('select_snapshot', 'mnist:train', 'usps:train', 'lenet', run,
                             '--output', record, '--batch_size', 64, *options))
        return result.stdout.strip().splitlines(), yaml.safe_load(record.read_text())

    lines, saved = select(tmp_path / 'select.yaml')
    assert saved['criterion'] == selection.DEFAULT_CRITERION
    assert [s['step'] for s in saved['snapshots']] == steps
    assert saved['snapshots'][0]['path'] == os.path.abspath(str(snap / 'src' / 'src-30'))
    assert saved['source_model_candidate'] is True
    assert all(list(s['scores']) == list(selection.CRITERIA) for s in saved['snapshots'])
    scores = {s['step']: s['scores'][saved['criterion']] for s in saved['snapshots']}
    chosen = saved['chosen']['step']
    assert chosen == selection.choose(scores, saved['higher_is_better'])
    path = snap / 'src' / 'src-30' if chosen == 0 else run / 'ad-{}'.format(chosen)
    assert saved['chosen']['path'] == os.path.abspath(str(path))
    assert lines[-1].startswith('Keep: {}'.format(path))
    marked = [line for line in lines if line.startswith('*')]
    assert len(marked) == 1 and marked[0].split()[1] == str(chosen)

    # without the source model, and on fixed-seed samples of 100 images per split (the tiny
    # splits have 300 and 100): the output says which
    lines, sampled = select(tmp_path / 'sampled.yaml', '--without_source', '--max_images', 100)
    assert [s['step'] for s in sampled['snapshots']] == steps[1:]
    assert sampled['images'] == ('mnist train: 100 of 300 images; mnist test: all 100 images; '
                                 'usps train: 100 of 300 images (fixed-seed samples, seed 0)')

    lines, by_accuracy = select(tmp_path / 'accuracy.yaml', '--criterion', 'source_accuracy')
    accuracies = {s['step']: s['scores']['source_accuracy'] for s in by_accuracy['snapshots']}
    assert by_accuracy['chosen']['step'] == selection.choose(accuracies, True)
    for snapshot in by_accuracy['snapshots']:  # on the source's test split, by its own graph
        assert snapshot['scores']['source_accuracy'] == pytest.approx(
            snapshot_accuracy(snapshot['path'], 'mnist', 'test'))

    curve_record = tmp_path / 'curve.yaml'
    ok(run_tool('snapshot_curve', 'usps', 'train', 'lenet', run, '--output',
                curve_record, '--batch_size', 64))
    curve = yaml.safe_load(curve_record.read_text())
    assert [s['step'] for s in curve['snapshots']] == steps and curve['images'] == 300
    source_only = tmp_path / 'source_only.yaml'
    ok(run_tool('eval_classification', 'usps', 'train', 'lenet', snap / 'src', '--output',
                source_only))
    assert curve['snapshots'][0]['accuracy'] == pytest.approx(
        yaml.safe_load(source_only.read_text())['accuracy'])
    values = {s['step']: s['accuracy'] for s in curve['snapshots']}
    assert curve['oracle_uses_labels']['accuracy'] == max(values.values())
    assert curve['final'] == curve['snapshots'][-1]
    evaluated = tmp_path / 'eval.yaml'
    ok(run_tool('eval_classification', 'usps', 'train', 'lenet', run / 'ad-10', '--output',
                evaluated))
    assert values[10] == pytest.approx(yaml.safe_load(evaluated.read_text())['accuracy'])
    assert 'READS THE LABELS' in ok(run_tool('snapshot_curve', '--help')).stdout

    # an --output that cannot be written is refused before any snapshot is read
    for tool, args in (('select_snapshot', ('mnist:train', 'usps:train', 'lenet', run)),
                       ('snapshot_curve', ('usps', 'train', 'lenet', run))):
        blocker = tmp_path / 'a_file'
        blocker.write_text('')
        refused = run_tool(tool, *args, '--output', blocker / 'out.yaml')
        assert refused.returncode == 1, refused.stderr
        assert 'is a file' in refused.stderr and str(blocker) in refused.stderr
        assert 'Traceback' not in refused.stderr

    # other target labels: the selection is exactly the same, the curve is not
    shift_labels(str(data_root / 'usps' / 'zip.train.gz'))
    _, again = select(tmp_path / 'again.yaml')
    assert again['snapshots'] == saved['snapshots'] and again['chosen'] == saved['chosen']
    ok(run_tool('snapshot_curve', 'usps', 'train', 'lenet', run, '--output', curve_record))
    shifted = yaml.safe_load(curve_record.read_text())
    assert [s['accuracy'] for s in shifted['snapshots']] != list(values.values())


def test_a_choice_on_a_sample_is_the_choice_on_the_whole_set():
    """Three snapshots whose target predictions differ clearly in confidence, balance and
    clustering: every criterion chooses the same snapshot from fixed-seed samples of 1000 of
    the 6000 images as from all of them."""
    from adda.snapshot_outputs import SplitOutputs, sample_indices
    rng = np.random.RandomState(0)
    n, classes = 6000, np.arange(6000) % CLASSES
    source = SplitOutputs(rng.normal(size=(n, CLASSES)), rng.normal(size=(n, 8)))
    snapshots = []  # (target outputs, source validation outputs) per snapshot
    for sharpness, collapse, source_skill in ((1.0, 0.0, 0.5), (4.0, 0.0, 3.0), (2.5, 0.6, 1.0)):
        labels = np.where(rng.uniform(size=n) < collapse, 0, classes)
        logits = sharpness * 2 * np.eye(CLASSES)[labels] + rng.normal(size=(n, CLASSES))
        val = SplitOutputs(source_skill * 2 * np.eye(CLASSES)[classes] +
                           rng.normal(size=(n, CLASSES)), rng.normal(size=(n, 8)))
        snapshots.append((SplitOutputs(logits, rng.normal(size=(n, 8)) + labels[:, None]), val))

    def choices(keep):
        def part(outputs):
            return SplitOutputs(outputs.logits[keep], outputs.features[keep])
        rows = [selection.score(selection.SelectionInputs(
            part(source), part(val), classes[keep], part(t))) for t, val in snapshots]
        run = selection.score_run([selection.softmax(t.logits[keep]) for t, _ in snapshots])
        for row, extra in zip(rows, run):
            row.update(extra)
        return {name: selection.choose([(i, row[name]) for i, row in enumerate(rows)],
                                       selection.get_criterion(name).higher_is_better)
                for name in selection.CRITERIA}

    everything = choices(np.arange(n))
    sample = sample_indices(n, 1000)
    assert len(sample) == 1000 and len(set(sample)) == 1000
    assert choices(sample) == everything
    assert set(everything.values()) != {0}  # the case separates the snapshots


@pytest.mark.parametrize('tool, args, status, message', [
    ('select_snapshot', ['mnist:train', 'usps:train', 'lenet', 'nowhere'], 1,
     'Error: nowhere: no such folder of snapshots'),
    ('select_snapshot', ['mnist', 'usps:train', 'lenet', '.'], 1, 'Error: unexpected source'),
    ('select_snapshot', ['mnist:train', 'usps:train', 'lenet', '.', '--criterion', 'oracle'], 2,
     "Invalid value for '--criterion'"),
    ('select_snapshot', ['mnist:train', 'usps:train', 'lenet', '.', '--source_val', 'val'], 1,
     "Error: unknown split 'val'"),
    ('snapshot_curve', ['usps', 'train', 'lenet', 'nowhere'], 1,
     'Error: nowhere: no such folder of snapshots'),
    ('snapshot_curve', ['usps', 'train', 'alexnet', '.'], 1, "Error: unknown model 'alexnet'"),
])
def test_bad_arguments_give_one_error_line(data_root, tool, args, status, message):
    result = run_tool(tool, *args)
    assert result.returncode == status, result.stderr
    assert message in result.stderr
    if status == 1:
        assert len(result.stderr.strip().splitlines()) == 1 and 'Traceback' not in result.stderr
