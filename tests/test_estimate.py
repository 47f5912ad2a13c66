"""The label-free accuracy estimates (adda/estimate.py) on constructed predictions whose
accuracy is known."""
import numpy as np
import pytest

from adda import estimate

CLASSES = 10
UNIFORM = np.ones(CLASSES)


def labels(n=10000, seed=0):
    return np.random.RandomState(seed).randint(0, CLASSES, n)


def with_errors(truth, error, seed, shared=None):
    """Predictions wrong on a random ``error`` fraction of images (a wrong class drawn at
    random); ``shared``: a boolean mask of images that are wrong whatever the draw."""
    rng = np.random.RandomState(seed)
    wrong = rng.uniform(size=len(truth)) < error
    if shared is not None:
        wrong |= shared
    shift = rng.randint(1, CLASSES, len(truth))
    return np.where(wrong, (truth + shift) % CLASSES, truth)


def accuracy(predicted, truth):
    return float(np.mean(predicted == truth))


def test_agreement_and_class_overlap():
    assert estimate.agreement([0, 1, 2, 3], [0, 1, 0, 0]) == 0.5
    with pytest.raises(ValueError):
        estimate.agreement([0, 1], [0])
    balanced = np.arange(1000) % CLASSES
    assert estimate.class_overlap(balanced, UNIFORM) == pytest.approx(1.0)
    assert estimate.class_overlap(np.zeros(1000, int), UNIFORM) == pytest.approx(0.1)
    # half the images in class 0, the rest spread: 0.1 + 0.5 * (9 classes of 0.5/9 each)
    half = np.where(np.arange(1000) < 500, 0, 1 + np.arange(1000) % 9)
    assert estimate.class_overlap(half, UNIFORM) == pytest.approx(0.1 + 0.5, abs=0.01)


def twins(truth, shared, own_a, own_b, seed=5):
    """Two runs wrong together (on the same class) on a ``shared`` fraction of images and each
    on its own fraction besides: the premise of the twin estimate holds when half the
    average error is shared (then the mean error equals the disagreement)."""
    hard = np.random.RandomState(seed).uniform(size=len(truth)) < shared
    common = with_errors(truth, 0.0, seed + 1, hard)
    a, b = with_errors(truth, own_a, seed + 2), with_errors(truth, own_b, seed + 3)
    return np.where(hard, common, a), np.where(hard, common, b)


def test_twins_that_share_half_their_errors_are_estimated_exactly():
    truth = labels()
    run, twin = twins(truth, 0.02, 0.02, 0.02)
    found = estimate.twin_estimate(run, twin, UNIFORM)
    assert found.method == estimate.TWIN and found.cap is None and found.reliable
    for model in (run, twin):
        assert found.low <= accuracy(model, truth) <= found.high
        assert abs(found.accuracy - accuracy(model, truth)) < 0.01


def test_unequal_twins_keep_both_accuracies_inside_the_interval():
    truth = labels()
    good, bad = twins(truth, 0.05, 0.01, 0.09)
    found = estimate.twin_estimate(good, bad, UNIFORM)
    assert accuracy(good, truth) - accuracy(bad, truth) > 0.07
    assert found.low <= accuracy(bad, truth) < accuracy(good, truth) <= found.high


def test_twins_far_apart_are_unreliable_and_give_no_verdict():
    """A run at 0.77 and its twin at 0.22 (what contrast-inverted digits gave two seeds):
    agreement cannot say which is which, so the estimate is marked unreliable, its interval
    reaches 1, and the verdict on adaptation is 'cannot tell' whatever the source model."""
    truth = labels()
    good, bad = twins(truth, 0.2, 0.03, 0.58)
    found = estimate.twin_estimate(good, bad, UNIFORM)
    assert 1 - found.agreement > estimate.DISAGREEMENT_LIMIT and not found.reliable
    assert found.high == 1.0 and found.low <= accuracy(bad, truth)
    assert found.low <= accuracy(good, truth) <= found.high
    source = estimate.reference_estimate(with_errors(truth, 0.9, 7), good, found, UNIFORM)
    assert not source.reliable
    assert estimate.verdict(source, found) == 'cannot tell'


def test_the_verdict_needs_a_margin():
    def est(accuracy):
        return estimate.Estimate(accuracy, accuracy - 0.01, accuracy + 0.01, estimate.TWIN,
                                 accuracy, None, True)
    assert estimate.verdict(est(0.70), est(0.95)) == 'helped'
    assert estimate.verdict(est(0.95), est(0.70)) == 'hurt'
    assert estimate.verdict(est(0.95), est(0.96)) == 'about the same'
    assert estimate.verdict(est(0.94), est(0.95)._replace(reliable=False, high=1.0)) == \
        'cannot tell'
    # intervals apart: a verdict even from an unreliable estimate
    assert estimate.verdict(est(0.20), est(0.90)._replace(reliable=False, high=1.0)) == 'helped'


def test_twins_with_independent_errors_are_underestimated():
    """Where the premise fails the estimate errs on the side of caution: runs whose errors
    are independent disagree on both runs' errors."""
    truth = labels()
    run, twin = twins(truth, 0.0, 0.05, 0.05)
    found = estimate.twin_estimate(run, twin, UNIFORM)
    assert found.accuracy < accuracy(run, truth) - 0.03


def test_a_confidently_wrong_collapse_is_capped_by_the_class_frequencies():
    """Two runs that put every image in class 1 agree completely; they are right on a tenth."""
    truth = labels()
    run, twin = np.ones_like(truth), np.ones_like(truth)
    found = estimate.twin_estimate(run, twin, UNIFORM)
    assert found.agreement == 1.0
    assert found.cap == pytest.approx(0.1 + estimate.LABEL_SHIFT)
    assert found.high == found.cap and found.low == 0.0
    assert abs(found.accuracy - accuracy(run, truth)) < 0.01


def test_a_source_model_is_estimated_through_the_reported_model():
    truth = labels()
    source = with_errors(truth, 0.35, 3)          # a source model at 0.65
    reported = with_errors(truth, 0.02, 4)        # the adapted one at 0.98
    reference = estimate.Estimate(0.98, 0.97, 0.99, estimate.TWIN, 0.98, None, True)
    found = estimate.reference_estimate(source, reported, reference, UNIFORM)
    assert found.method == estimate.REFERENCE
    assert found.low <= accuracy(source, truth) <= found.high
    margin = estimate.sampling_margin(found.agreement, len(truth))
    assert found.high - found.low == pytest.approx(2 * (0.03 + margin))
    assert abs(found.accuracy - accuracy(source, truth)) < 0.02
    assert found.accuracy < reference.accuracy  # adaptation helped, and the estimate says so


def test_a_reference_that_knows_nothing_gives_an_interval_of_everything():
    truth = labels()
    reference = estimate.Estimate(0.1, 0.0, 0.1, estimate.TWIN, 1.0, 0.1, True)
    found = estimate.reference_estimate(truth, np.ones_like(truth), reference, UNIFORM)
    assert found.low == 0.0
    assert found.high == pytest.approx(1.0)


def test_confidence_based_estimates_are_fooled_by_a_confidently_wrong_model():
    """What docs/results.md shows on real runs: ATC and DoC see confidence, not correctness."""
    truth = labels()
    val_labels = labels(2000, seed=9)
    val = np.eye(CLASSES)[val_labels] * 0.9 + 0.01   # right and confident on the source
    wrong = np.eye(CLASSES)[(truth + 1) % CLASSES] * 0.9 + 0.01  # wrong and as confident
    assert estimate.thresholded_confidence(val, val_labels, wrong) > 0.9
    assert estimate.difference_of_confidences(val, val_labels, wrong) > 0.9
    assert estimate.average_confidence(wrong) == pytest.approx(0.91)
