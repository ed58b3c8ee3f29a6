"""auc and pauc: hand-computed values, the McClish relation and the input errors."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from sklasd.metrics import auc, pauc

# normals 0.1 0.2 0.3 0.9, anomalies 0.8 0.95: 7 of 8 normal/anomalous pairs ordered right.
# ROC points (fpr, tpr): (0, 0), (0, .5), (.25, .5), (.25, 1), ... so the raw area over
# fpr in [0, 0.25] is 0.25 * 0.5.
Y = [0, 0, 0, 0, 1, 1]
S = [0.1, 0.2, 0.3, 0.9, 0.8, 0.95]


def test_auc_hand_computed():
    assert auc(Y, S) == pytest.approx(7 / 8)
    assert auc(Y, S) == pytest.approx(roc_auc_score(Y, S))


def test_pauc_standardized_is_roc_auc_score_with_max_fpr():
    raw = 0.5  # (0.25 * 0.5) / 0.25
    m = 0.25
    mcclish = 0.5 * (1 + (raw * m - m**2 / 2) / (m - m**2 / 2))
    assert pauc(Y, S, max_fpr=m) == pytest.approx(mcclish)
    assert pauc(Y, S, max_fpr=m) == pytest.approx(roc_auc_score(Y, S, max_fpr=m))
    assert pauc(Y, S, max_fpr=m, standardized=False) == pytest.approx(raw)


def test_pauc_interpolates_inside_a_roc_segment():
    # fpr steps are 0.25; at max_fpr=0.1 the curve is at tpr 0.5 (flat segment), so the
    # raw area is 0.1 * 0.5 and the normalised one 0.5.
    assert pauc(Y, S, max_fpr=0.1, standardized=False) == pytest.approx(0.5)
    # perfect ranking: raw normalised area 1 and standardised 1
    assert pauc([0, 0, 1, 1], [0, 1, 2, 3], standardized=False) == pytest.approx(1.0)
    assert pauc([0, 0, 1, 1], [0, 1, 2, 3]) == pytest.approx(1.0)


@pytest.mark.parametrize("max_fpr", [0.05, 0.1, 0.3, 1.0])
def test_pauc_mcclish_relation_on_random_scores(max_fpr):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    s = rng.normal(size=200) + y
    raw = pauc(y, s, max_fpr=max_fpr, standardized=False)
    expected = 0.5 * (1 + (raw - max_fpr / 2) / (1 - max_fpr / 2))
    assert pauc(y, s, max_fpr=max_fpr) == pytest.approx(expected)
    assert pauc(y, s, max_fpr=max_fpr) == pytest.approx(roc_auc_score(y, s, max_fpr=max_fpr))


def test_pauc_full_range_equals_auc():
    assert pauc(Y, S, max_fpr=1.0, standardized=False) == pytest.approx(auc(Y, S))


def test_accepts_nullable_int_labels_and_booleans():
    labels = pd.Series(Y, dtype="Int64")
    assert auc(labels, S) == pytest.approx(7 / 8)
    assert auc(np.array(Y, dtype=bool), S) == pytest.approx(7 / 8)


@pytest.mark.parametrize("metric", [auc, pauc])
@pytest.mark.parametrize(("y", "missing"), [([0, 0, 0], "no anomalous"), ([1, 1, 1], "no normal")])
def test_one_class_names_the_missing_class(metric, y, missing):
    with pytest.raises(ValueError, match=missing):
        metric(y, [0.1, 0.2, 0.3])


@pytest.mark.parametrize("metric", [auc, pauc])
def test_nan_score_raises(metric):
    with pytest.raises(ValueError, match=r"NaN or infinite values at positions \[1\]"):
        metric([0, 1, 0, 1], [0.1, np.nan, 0.2, 0.3])


@pytest.mark.parametrize("metric", [auc, pauc])
def test_length_mismatch_raises(metric):
    with pytest.raises(ValueError, match="4 labels and 3 scores"):
        metric([0, 1, 0, 1], [0.1, 0.2, 0.3])


def test_bad_labels_raise():
    with pytest.raises(ValueError, match=r"got \[2\]"):
        auc([0, 1, 2], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="missing labels at positions"):
        auc(pd.Series([0, 1, None], dtype="Int64"), [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="must be 1-D"):
        auc([[0, 1]], [[0.1, 0.2]])


@pytest.mark.parametrize("max_fpr", [0, -0.1, 1.5, "0.1", True])
def test_bad_max_fpr_raises(max_fpr):
    with pytest.raises(ValueError, match="max_fpr"):
        pauc(Y, S, max_fpr=max_fpr)


def test_pauc_chance_level_on_tied_scores():
    # all scores tied: the ROC curve is the diagonal, interpolated at max_fpr
    y, s = [0, 0, 1, 1], [0.5, 0.5, 0.5, 0.5]
    assert pauc(y, s, max_fpr=0.1, standardized=False) == pytest.approx(0.05)
    assert pauc(y, s, max_fpr=0.1) == pytest.approx(0.5)
