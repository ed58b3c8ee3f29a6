"""Scorer steps: scores against brute-force references, per-section state, errors."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.spatial.distance import mahalanobis
from sklearn.covariance import EmpiricalCovariance, LedoitWolf
from sklearn.metrics.pairwise import cosine_similarity, pairwise_distances
from sklearn.svm import OneClassSVM

from sklasd.scoring import CosineScorer, KNNScorer, MahalanobisScorer, OneClassSVMScorer


@pytest.fixture
def embeddings():
    """Two sections with different distributions; 30 training, 10 test clips each."""
    rng = np.random.default_rng(0)
    X_train = np.concatenate([rng.normal(0, 1, (30, 4)), rng.normal(3, 2, (30, 4))])
    X_test = np.concatenate([rng.normal(0, 1, (10, 4)), rng.normal(3, 2, (10, 4))])
    return X_train, np.repeat([1, 2], 30), X_test, np.repeat([1, 2], 10)


def test_cosine_score_is_max_similarity_within_section(embeddings):
    X, s, X_test, s_test = embeddings
    scores = CosineScorer().fit(X, section=s).score_samples(X_test, section=s_test)
    expected = [cosine_similarity(X_test[i : i + 1], X[s == s_test[i]]).max() for i in range(20)]
    assert_allclose(scores, expected)


@pytest.mark.parametrize("aggregation", ["mean", "kth"])
@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_knn_score_is_minus_neighbour_distance(embeddings, aggregation, metric):
    X, s, X_test, s_test = embeddings
    scorer = KNNScorer(n_neighbors=3, metric=metric, aggregation=aggregation)
    scores = scorer.fit(X, section=s).score_samples(X_test, section=s_test)
    expected = []
    for i in range(20):
        nearest = np.sort(pairwise_distances(X_test[i : i + 1], X[s == s_test[i]], metric=metric))
        nearest = nearest[0, :3]
        expected.append(-(nearest.mean() if aggregation == "mean" else nearest[-1]))
    assert_allclose(scores, expected)


def _leave_one_out_scores(X, s, scorer):
    """Brute force: each clip scored against the other clips of its section."""
    scores = np.empty(len(X))
    for i in range(len(X)):
        others = (s == s[i]) & (np.arange(len(X)) != i)
        if isinstance(scorer, CosineScorer):
            scores[i] = cosine_similarity(X[i : i + 1], X[others]).max()
        else:
            scores[i] = -np.sort(pairwise_distances(X[i : i + 1], X[others]))[0, :2].mean()
    return scores


@pytest.mark.parametrize("scorer", [CosineScorer(), KNNScorer(n_neighbors=2)])
def test_neighbour_thresholds_come_from_leave_one_out_scores(embeddings, scorer):
    X, s, _, _ = embeddings
    scorer.set_params(contamination=0.1)
    labels = scorer.fit_predict(X, section=s)
    loo = _leave_one_out_scores(X, s, scorer)
    offsets = [np.percentile(loo[s == section], 10) for section in (1, 2)]
    assert_allclose(scorer.offset_, offsets)
    assert_array_equal(labels, np.where(loo < np.where(s == 1, *offsets), -1, 1))
    assert 2 <= (labels[s == 1] == -1).sum() <= 3  # 10 % of 30, up to ties
    # in-sample scoring finds every training clip itself: never below the LOO threshold
    assert np.all(scorer.predict(X, section=s) == 1)


def test_cosine_gamma_threshold_is_finite_on_training_clips(embeddings):
    X, s, _, _ = embeddings
    scorer = CosineScorer().fit(X, section=s)
    assert np.all(np.isfinite(scorer.offset_)) and np.all(scorer.offset_ < 1)
    # section 2 lies around (3, 3, 3, 3): the opposite direction is anomalous
    assert_array_equal(scorer.predict(-np.ones((1, 4)), section=[2]), [-1])
    assert_array_equal(scorer.predict(np.ones((1, 4)), section=[2]), [1])


def test_knn_needs_more_clips_than_neighbours(embeddings):
    X, s, _, _ = embeddings
    with pytest.raises(ValueError, match=r"n_neighbors=30 needs at least 31.*got 30 sample"):
        KNNScorer(n_neighbors=30).fit(X, section=s)


def test_cosine_needs_two_features():
    with pytest.raises(ValueError, match="n_features = 1"):
        CosineScorer().fit(np.arange(1.0, 6.0)[:, None])


def test_mahalanobis_min_over_domain_means_with_pooled_covariance():
    rng = np.random.default_rng(1)
    X = np.concatenate([rng.normal(0, 1, (40, 3)), rng.normal(4, 1, (20, 3))])
    domain = np.array(["source"] * 40 + ["target"] * 20)
    scorer = MahalanobisScorer(covariance=EmpiricalCovariance()).fit(X, domain=domain)
    means = [X[domain == d].mean(axis=0) for d in ("source", "target")]
    centered = X - np.where((domain == "source")[:, None], means[0], means[1])
    precision = np.linalg.inv(np.cov(centered, rowvar=False, bias=True))
    X_test = rng.normal(2, 2, (5, 3))
    expected = [-min(mahalanobis(x, m, precision) for m in means) for x in X_test]
    assert_allclose(scorer.score_samples(X_test), expected)
    assert_array_equal(scorer.domains_[0], ["source", "target"])
    assert scorer.means_[0].shape == (2, 3)


def test_mahalanobis_default_covariance_is_ledoit_wolf_and_param_is_cloned(embeddings):
    X, s, X_test, s_test = embeddings
    covariance = LedoitWolf()
    default = MahalanobisScorer().fit(X, section=s)
    given = MahalanobisScorer(covariance=covariance).fit(X, section=s)
    assert all(isinstance(c, LedoitWolf) for c in default.covariances_)
    assert not hasattr(covariance, "covariance_")  # the parameter itself stays unfitted
    assert_allclose(
        default.score_samples(X_test, section=s_test), given.score_samples(X_test, section=s_test)
    )


def test_mahalanobis_without_domain_has_one_mean_per_section(embeddings):
    X, s, _, _ = embeddings
    scorer = MahalanobisScorer().fit(X, section=s)
    assert scorer.domains_ == [None, None]
    assert_allclose(scorer.means_[1], X[s == 2].mean(axis=0, keepdims=True))


def test_mahalanobis_domain_length_is_checked(embeddings):
    X, s, _, _ = embeddings
    with pytest.raises(ValueError, match="domain has 3 values but X has 60 clips"):
        MahalanobisScorer().fit(X, section=s, domain=["source"] * 3)


def test_one_class_svm_matches_sklearn_per_section(embeddings):
    X, s, X_test, s_test = embeddings
    scorer = OneClassSVMScorer(nu=0.2, gamma=0.1, kernel="rbf").fit(X, section=s)
    for section in (1, 2):
        svm = OneClassSVM(nu=0.2, gamma=0.1).fit(X[s == section])
        assert_allclose(
            scorer.score_samples(X_test[s_test == section], section=s_test[s_test == section]),
            svm.score_samples(X_test[s_test == section]),
        )
    assert len(scorer.n_iter_) == 2 and min(scorer.n_iter_) >= 1


@pytest.mark.parametrize(
    "scorer", [CosineScorer(), KNNScorer(n_neighbors=2), MahalanobisScorer(), OneClassSVMScorer()]
)
def test_a_sections_scores_depend_on_its_own_training_clips_only(embeddings, scorer):
    X, s, X_test, s_test = embeddings
    both = scorer.fit(X, section=s).score_samples(X_test[:10], section=s_test[:10])
    only_first = scorer.fit(X[s == 1], section=s[s == 1])
    assert_allclose(only_first.score_samples(X_test[:10], section=s_test[:10]), both)
    # and each section has its own threshold
    assert scorer.fit(X, section=s).offset_.shape == (2,)


@pytest.mark.parametrize(
    "scorer", [CosineScorer(), KNNScorer(), MahalanobisScorer(), OneClassSVMScorer()]
)
def test_labelled_anomalies_are_left_out_of_training(embeddings, scorer):
    X, s, X_test, s_test = embeddings
    anomalies = np.full((4, 4), -6.0)
    X_all = np.concatenate([X, anomalies])
    y = np.r_[np.zeros(60, dtype=int), np.ones(4, dtype=int)]
    s_all = np.r_[s, [2, 2, 2, 2]]  # section 2 lies around (3, 3, 3, 3)
    labels = scorer.fit_predict(X_all, y, section=s_all)
    with_y = scorer.score_samples(X_test, section=s_test)
    offsets = scorer.offset_
    reference = scorer.fit(X, section=s)
    assert_array_equal(with_y, reference.score_samples(X_test, section=s_test))
    assert_allclose(offsets, reference.offset_)  # thresholds from the normal clips
    assert_array_equal(labels[60:], -1)  # the labelled anomalies are scored, not trained on


def test_labels_must_be_0_or_1(embeddings):
    X, s, _, _ = embeddings
    with pytest.raises(ValueError, match=r"anomaly labels 0 \(normal\) and 1.*got \[-1\]"):
        KNNScorer().fit(X, np.where(s == 1, 1, -1), section=s)


def test_a_section_of_anomalies_only_is_an_error(embeddings):
    X, s, _, _ = embeddings
    with pytest.raises(ValueError, match=r"No normal clip .* in section 2 to fit on"):
        KNNScorer().fit(X, (s == 2).astype(int), section=s)


def test_mahalanobis_thresholds_hold_for_unseen_normal_clips_with_few_clips_per_dimension():
    # 40 clips of 40-d embeddings: in-sample distances are far below those of new clips
    rng = np.random.default_rng(0)
    train, unseen = rng.normal(size=(40, 40)), rng.normal(size=(200, 40))
    cross_fitted = MahalanobisScorer().fit(train)
    in_sample = MahalanobisScorer(n_threshold_folds=1).fit(train)
    # the gamma rule's 90 % quantile holds for unseen normal clips (measured: 0.90) ...
    normal_rate = (cross_fitted.predict(unseen) == 1).mean()
    assert normal_rate > 0.8
    # ... whereas a threshold on in-sample scores calls many of them anomalous (0.56)
    assert (in_sample.predict(unseen) == 1).mean() < normal_rate - 0.2


def test_mahalanobis_cross_fitting_keeps_every_domain_in_the_training_folds():
    rng = np.random.default_rng(1)
    X = np.concatenate([rng.normal(0, 1, (30, 3)), rng.normal(8, 1, (6, 3))])
    domain = np.array(["source"] * 30 + ["target"] * 5 + ["source"])
    scorer = MahalanobisScorer().fit(X, domain=domain)
    # target clips scored out of fold still find their own domain's mean
    assert np.isfinite(scorer.offset_).all()
    assert (scorer.fit_predict(X, domain=domain) == 1).mean() > 0.8
