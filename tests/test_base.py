"""BaseDetector: the outlier contract, sections, thresholds and validation."""

import numpy as np
import pytest
import scipy.stats
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import check_outlier_contamination

from sklasd.base import BaseDetector


class MeanDistance(BaseDetector):
    """Minus the distance to the training mean of the clip's section, plus ``shift``.

    Labelled anomalies (y == 1) are left out of the means.
    """

    def __init__(self, *, shift=0.0, contamination="gamma", gamma_quantile=0.9):
        super().__init__(contamination=contamination, gamma_quantile=gamma_quantile)
        self.shift = shift

    def _fit(self, X, y, *, section):
        index = self._section_indices(section, X.shape[0])
        normal = np.ones(X.shape[0], bool) if y is None else y == 0
        self.means_ = np.stack(
            [X[(index == i) & normal].mean(axis=0) for i in range(index.max() + 1)]
        )
        return self._score_samples(X, section=section)

    def _score_samples(self, X, *, section):
        index = self._section_indices(section, X.shape[0])
        return self.shift - np.linalg.norm(X - self.means_[index], axis=1)


class FirstColumnAnomaly(BaseDetector):
    """The first feature is the anomaly score."""

    def _fit(self, X, y, *, section):
        return self._score_samples(X, section=section)

    def _score_samples(self, X, *, section):
        return -X[:, 0]


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(0, 1, (60, 3)), rng.normal(0, 4, (40, 3))])
    section = np.array(["a"] * 60 + ["b"] * 40)
    return X, section


def test_outputs_follow_the_outlier_contract(data):
    X, section = data
    detector = MeanDistance().fit(X, section=section)
    scores = detector.score_samples(X, section=section)
    decision = detector.decision_function(X, section=section)
    assert_array_equal(detector.sections_, ["a", "b"])
    assert detector.offset_.shape == (2,)
    assert_allclose(decision, scores - np.where(section == "a", *detector.offset_))
    assert_array_equal(detector.predict(X, section=section), np.where(decision < 0, -1, 1))
    assert detector.n_features_in_ == 3


def test_float_contamination_flags_that_fraction_of_every_section(data):
    X, section = data
    detector = MeanDistance(contamination=0.1).fit(X, section=section)
    labels = detector.predict(X, section=section)
    assert (labels[section == "a"] == -1).sum() == 6
    assert (labels[section == "b"] == -1).sum() == 4
    # per-section thresholds: the wide section "b" gets a lower threshold
    assert detector.offset_[1] < detector.offset_[0]


def test_gamma_threshold_is_the_dcase_rule_per_section(data):
    X, section = data
    detector = MeanDistance(gamma_quantile=0.8).fit(X, section=section)
    scores = detector.score_samples(X, section=section)
    for index, name in enumerate(["a", "b"]):
        anomaly = -scores[section == name]  # distances: positive, so the location is 0
        assert anomaly.min() > np.ptp(anomaly) / anomaly.size
        expected = scipy.stats.gamma.ppf(0.8, *scipy.stats.gamma.fit(anomaly, floc=0))
        assert_allclose(detector.offset_[index], -expected)
    higher = MeanDistance(gamma_quantile=0.95).fit(X, section=section)
    assert np.all(higher.offset_ < detector.offset_)


def test_gamma_threshold_on_negative_scores_moves_with_them(data):
    X, section = data
    # anomaly scores (distance - shift) all negative: the location goes below the minimum
    once = MeanDistance(shift=1000.0).fit(X, section=section)
    twice = MeanDistance(shift=2000.0).fit(X, section=section)
    anomaly = -once.score_samples(X, section=section)[section == "a"]
    assert np.all(anomaly < 0)
    loc = anomaly.min() - np.ptp(anomaly) / anomaly.size
    shape, _, scale = scipy.stats.gamma.fit(anomaly, floc=loc)
    assert_allclose(once.offset_[0], -scipy.stats.gamma.ppf(0.9, shape, loc=loc, scale=scale))
    assert_allclose(twice.offset_, once.offset_ + 1000.0, rtol=1e-6)
    assert_array_equal(twice.predict(X, section=section), once.predict(X, section=section))


def test_gamma_threshold_is_robust_to_scores_piling_up_near_their_minimum():
    # leave-one-out distances with a mode near 0 and a long tail: a free-location fit
    # (scipy's default, the DCASE baselines' call) puts its 90 % quantile beyond them all
    anomaly = np.array(
        [0.001, 0.001, 0.002, 0.002, 0.005, 0.005, 0.012, 0.012, 0.012, 0.017,
         0.018, 0.018, 0.022, 0.022, 0.024, 0.025, 0.028, 0.029, 0.03, 0.034,
         0.044, 0.058, 0.078, 0.086, 0.09, 0.092, 0.093, 0.119, 0.16, 0.5]
    )  # fmt: skip
    free = scipy.stats.gamma.ppf(0.9, *scipy.stats.gamma.fit(anomaly))
    assert free > anomaly.max()
    detector = FirstColumnAnomaly().fit(anomaly[:, None])
    assert np.quantile(anomaly, 0.5) < -detector.offset_[0] < anomaly.max()


def test_gamma_threshold_without_distinct_scores_warns_and_keeps_the_training_clips():
    X = np.ones((5, 2))
    with pytest.warns(UserWarning, match=r"section 7.*2 distinct training scores.*5 sample"):
        detector = MeanDistance().fit(X, section=[7] * 5)
    assert_array_equal(detector.predict(X, section=[7] * 5), np.ones(5))
    assert detector.predict(X + 1, section=[7] * 5).tolist() == [-1] * 5
    # a float contamination works on constant scores
    detector = MeanDistance(contamination=0.2).fit(X, section=[7] * 5)
    assert_array_equal(detector.predict(X, section=[7] * 5), np.ones(5))


def test_fit_predict_forwards_section_and_matches_fit_then_predict(data):
    X, section = data
    labels = MeanDistance(contamination=0.1).fit_predict(X, section=section)
    detector = MeanDistance(contamination=0.1).fit(X, section=section)
    assert_array_equal(labels, detector.predict(X, section=section))


def test_thresholds_use_normal_clips_only(data):
    X, section = data
    y = np.zeros(len(X), dtype=int)
    X_with_anomalies = X.copy()
    X_with_anomalies[:5] += 50.0
    y[:5] = 1
    detector = MeanDistance(contamination=0.1).fit(X_with_anomalies, y, section=section)
    reference = MeanDistance(contamination=0.1).fit(X[5:], section=section[5:])
    assert_allclose(detector.offset_, reference.offset_)


@pytest.mark.parametrize("y", [[-1, 1] * 50, ["normal"] * 100, [0, 2] * 50])
def test_labels_other_than_0_1_are_an_error(data, y):
    X, section = data
    with pytest.raises(ValueError, match="y must hold anomaly labels 0"):
        MeanDistance().fit(X, y, section=section)


def test_unseen_section_is_an_error_naming_it(data):
    X, section = data
    detector = MeanDistance().fit(X, section=section)
    with pytest.raises(ValueError, match=r"\['c'\] were not seen in fit.*\['a', 'b'\]"):
        detector.decision_function(X[:2], section=["a", "c"])


def test_fitted_with_sections_needs_them_when_scoring(data):
    X, section = data
    detector = MeanDistance().fit(X, section=section)
    for method in (detector.score_samples, detector.decision_function, detector.predict):
        with pytest.raises(ValueError, match=r"fitted with sections \['a', 'b'\]; pass section"):
            method(X)


def test_fitted_without_sections_ignores_section_when_scoring(data):
    X, section = data
    detector = MeanDistance().fit(X)
    assert detector.sections_ is None and detector.offset_.shape == (1,)
    assert_array_equal(
        detector.decision_function(X, section=section), detector.decision_function(X)
    )
    with pytest.raises(ValueError, match="section has 2 values but X has 100 clips"):
        detector.decision_function(X, section=["a", "b"])


def test_section_length_is_checked_in_fit(data):
    X, section = data
    with pytest.raises(ValueError, match="section has 99 values but X has 100 clips"):
        MeanDistance().fit(X, section=section[:-1])


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_input_is_an_error(data, bad):
    X, section = data
    X = X.copy()
    X[3, 1] = bad
    with pytest.raises(ValueError, match="Input X contains"):
        MeanDistance().fit(X, section=section)
    detector = MeanDistance().fit(data[0], section=section)
    with pytest.raises(ValueError, match="Input X contains"):
        detector.score_samples(X, section=section)


def test_feature_count_is_checked(data):
    X, section = data
    detector = MeanDistance().fit(X, section=section)
    with pytest.raises(ValueError, match="X has 2 features"):
        detector.score_samples(X[:, :2], section=section)


@pytest.mark.parametrize(
    "params", [{"contamination": 0.6}, {"contamination": "auto"}, {"gamma_quantile": 1.0}]
)
def test_invalid_threshold_parameters(data, params):
    X, _ = data
    with pytest.raises(InvalidParameterError):
        MeanDistance(**params).fit(X)
    with pytest.raises(InvalidParameterError):
        MeanDistance(**params).fit_predict(X)


def test_contamination_constraint_passes_sklearns_check():
    check_outlier_contamination("MeanDistance", MeanDistance())


def test_section_is_requested_by_default():
    routing = MeanDistance().get_metadata_routing()
    for method in ("fit", "decision_function", "predict"):
        assert getattr(routing, method).requests == {"section": True}


def test_undeclared_metadata_is_an_error(data):
    X, section = data
    with pytest.raises(TypeError, match=r"MeanDistance.fit got unexpected metadata \['domain'\]"):
        MeanDistance().fit(X, section=section, domain=["source"] * len(X))


def test_a_section_without_normal_clips_is_an_error(data):
    X, section = data
    y = (section == "b").astype(int)
    with pytest.raises(ValueError, match="No normal clip \\(y == 0\\) in section 'b'"):
        FirstColumnAnomaly().fit(X, y, section=section)


class NonFiniteTrainingScores(FirstColumnAnomaly):
    def _fit(self, X, y, *, section):
        return np.where(X[:, 0] > 0, X[:, 0], np.nan)


def test_non_finite_training_scores_are_an_error(data):
    X, section = data
    with pytest.raises(ValueError, match=r"gave non-finite scores to [0-9]+ training clip"):
        NonFiniteTrainingScores().fit(X, section=section)


def test_training_decision_is_what_the_thresholds_come_from(data):
    from sklasd.scoring import KNNScorer

    X, section = data
    detector = MeanDistance(contamination=0.1).fit(X, section=section)
    assert_allclose(detector.training_decision_, detector.decision_function(X, section=section))
    # leave-one-out for nearest neighbours: not the in-sample decision values
    knn = KNNScorer(contamination=0.1)
    labels = knn.fit_predict(X, section=section)
    assert_array_equal(labels, np.where(knn.training_decision_ < 0, -1, 1))
    assert (knn.training_decision_ < knn.decision_function(X, section=section)).all()
    for name in knn.sections_:
        own = knn.training_decision_[section == name]
        assert_allclose(np.mean(own < 0), 0.1, atol=0.03)
