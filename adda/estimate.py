"""The target accuracy of a run's models without target labels, with an interval.

- The reported model (the adapted snapshot a run reports) is compared with the same model of
  an independent run of the same task (another seed, its *twin*): the fraction of target
  images on which the two agree estimates the accuracy (generalization disagreement equality:
  Nakkiran and Bansal 2020; Jiang, Nagarajan, Baek and Kolter, ICLR 2022). Two runs can be
  unequal, and |acc(A) - acc(B)| <= P(A != B): the interval is the agreement +- half the
  disagreement, widened by the agreement's sampling margin (90%).
- A model the run started from (its source model) is compared with the reported model,
  whose errors bound the difference: |acc(S) - P(S = R)| <= P(R wrong) (the check model of
  Chuang, Torralba and Jegelka, ICML 2020). The interval is that bound, with the reported
  model's accuracy at the low end of its interval.
- Both are capped by what the predictions' class frequencies allow: a model cannot be right
  on more images than sum_k min(predicted share of k, true share of k). The target's shares
  are unknown; they are taken to be within LABEL_SHIFT (total variation) of the source's, so
  the cap is that sum with the source's shares plus LABEL_SHIFT. It binds only on a model
  that puts most images in few classes (every image in one class: at most about 0.3, however
  much two such models agree); then the interval is [0, cap].
- Two runs that disagree on more than DISAGREEMENT_LIMIT of the images are unequal in a way
  agreement cannot resolve: one of them, or both, adapted badly, and which one is unknown
  (on contrast-inverted digits two seeds ended at 0.77 and 0.22 and agreed on 0.26). Such an
  estimate is marked unreliable; its interval reaches up to 1 (the better run can be right on
  almost every image the two disagree on) and a verdict is drawn from it only when the
  intervals do not overlap.

Confidence-based estimates (ATC, Garg et al., ICLR 2022; DoC, Guillory et al., ICCV 2021)
were measured too and are kept here for the comparison in docs/results.md: adapted networks
are confident whether or not they are right, so they overestimate (see there).
"""
import collections
import math

import numpy as np

# accuracy: the estimate; low, high: its interval; method: how it was made; agreement: the
# raw agreement it started from; cap: the class-frequency bound (None when it did not bind).
# reliable: False when the run and its twin disagree on more than DISAGREEMENT_LIMIT.
Estimate = collections.namedtuple('Estimate', 'accuracy low high method agreement cap reliable')

TWIN = 'agreement with an independent run (twin)'
# How far the target's class frequencies may be from the source's (total variation) for the
# cap: USPS's and MNIST's training sets are 0.09 apart.
LABEL_SHIFT = 0.2
Z90 = 1.645  # the normal quantile of a two-sided 90% interval
REFERENCE = 'agreement with the reported model'
# The most two runs of a task may disagree for their agreement to estimate their accuracy
# (tuning seeds 100 and 101: at most 0.06 where adaptation worked on both, 0.13-0.74 where a
# seed failed or the two ended far apart).
DISAGREEMENT_LIMIT = 0.10
# How much the reported model must be estimated above (below) the source model for a verdict
# that adaptation helped (hurt).
VERDICT_MARGIN = 0.02


def predictions(probabilities):
    return np.argmax(np.asarray(probabilities), axis=1)


def agreement(a, b):
    """Fraction of images two prediction vectors give the same class."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or not len(a):
        raise ValueError('agreement of {} and {} predictions'.format(len(a), len(b)))
    return float(np.mean(a == b))


def class_overlap(predicted, shares):
    """sum_k min(share of images predicted as k, shares[k]): the most images (as a fraction)
    a model with these predictions can have right when ``shares`` are the true class
    frequencies."""
    shares = np.asarray(shares, np.float64)
    counts = np.bincount(np.asarray(predicted), minlength=len(shares))[:len(shares)]
    return float(np.sum(np.minimum(counts / float(len(predicted)), shares / shares.sum())))


def class_cap(predicted, shares):
    """The most a model with these predictions can have right when the target's class
    frequencies are within LABEL_SHIFT of ``shares`` (the source's)."""
    return min(1.0, class_overlap(predicted, shares) + LABEL_SHIFT)


def _capped(value, low, high, predicted, shares):
    """(value, low, high) and the cap when it binds: then the agreement claims more than the
    class frequencies allow, so only the cap is known (the value: the overlap with the
    source's frequencies)."""
    cap = class_cap(predicted, shares)
    if cap >= high:
        return (value, low, high), None
    return (min(value, class_overlap(predicted, shares)), 0.0, cap), cap


def sampling_margin(agreed, images):
    """The 90% margin of an agreement measured on ``images`` images (normal approximation of
    the binomial, at least one image's worth): what another sample of as many images could
    have given."""
    return max(Z90 * math.sqrt(agreed * (1.0 - agreed) / images), 1.0 / images)


def twin_estimate(predicted, twin_predicted, shares):
    """The accuracy of a model from its agreement with its twin (see the module)."""
    agreed = agreement(predicted, twin_predicted)
    reliable = 1.0 - agreed <= DISAGREEMENT_LIMIT
    half = (1.0 - agreed) / 2.0 + sampling_margin(agreed, len(predicted))
    high = min(1.0, agreed + half) if reliable else 1.0
    (value, low, high), cap = _capped(agreed, max(0.0, agreed - half), high, predicted, shares)
    return Estimate(value, low, high, TWIN, agreed, cap, reliable)


def reference_estimate(predicted, reference_predicted, reference, shares):
    """The accuracy of a model from its agreement with a reference model whose accuracy is
    estimated as ``reference`` (an Estimate)."""
    agreed = agreement(predicted, reference_predicted)
    error = 1.0 - reference.low + sampling_margin(agreed, len(predicted))
    (value, low, high), cap = _capped(agreed, max(0.0, agreed - error), min(1.0, agreed + error),
                                      predicted, shares)
    return Estimate(value, low, high, REFERENCE, agreed, cap, reference.reliable)


def verdict(source, reported):
    """What the estimates say adaptation did: 'helped' ('hurt') when the reported model's
    interval lies wholly above (below) the source model's, or, both estimates reliable, when
    it is estimated more than VERDICT_MARGIN above (below); 'about the same' within the
    margin; otherwise 'cannot tell'."""
    if reported.low > source.high:
        return 'helped'
    if reported.high < source.low:
        return 'hurt'
    if not (source.reliable and reported.reliable):
        return 'cannot tell'
    change = reported.accuracy - source.accuracy
    if change > VERDICT_MARGIN:
        return 'helped'
    if change < -VERDICT_MARGIN:
        return 'hurt'
    return 'about the same'


# --- confidence-based estimates (compared in docs/results.md, not used by the pipeline) ------

def _confidence(probabilities):
    return np.max(np.asarray(probabilities, np.float64), axis=1)


def average_confidence(target_probabilities):
    """AC: the mean of the highest probability."""
    return float(np.mean(_confidence(target_probabilities)))


def difference_of_confidences(val_probabilities, val_labels, target_probabilities):
    """DoC (Guillory et al., ICCV 2021): source validation accuracy minus the drop of the mean
    confidence from the source validation images to the target."""
    val_accuracy = float(np.mean(predictions(val_probabilities) == np.asarray(val_labels)))
    return val_accuracy - (average_confidence(val_probabilities) -
                           average_confidence(target_probabilities))


def thresholded_confidence(val_probabilities, val_labels, target_probabilities):
    """ATC (Garg et al., ICLR 2022), maximum confidence: the threshold t at which the share of
    source validation images above t is their accuracy; the estimate is the share of target
    images above t."""
    val_conf = _confidence(val_probabilities)
    val_accuracy = float(np.mean(predictions(val_probabilities) == np.asarray(val_labels)))
    if val_accuracy >= 1.0:
        threshold = val_conf.min() - 1.0
    else:
        threshold = np.quantile(val_conf, 1.0 - val_accuracy)
    return float(np.mean(_confidence(target_probabilities) > threshold))
