"""KNNScorer back-ends: standardisation, domain memory banks, SMOTE, local-density rescaling."""

import numpy as np
import pytest
from sklearn.metrics import pairwise_distances

from sklasd.scoring import CosineScorer, KNNScorer


@pytest.fixture
def two_domains():
    """40 source clips around 0 and 5 target clips around 3 (small spread), one section."""
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(0, 1, (40, 3)), rng.normal(3, 0.2, (5, 3))])
    domain = np.array(["source"] * 40 + ["target"] * 5)
    return X, domain


def test_standardize_uses_the_section_training_statistics():
    rng = np.random.default_rng(0)
    X = rng.normal(0, 1, (30, 2)) * [1.0, 100.0]  # the second feature dominates by scale
    scorer = KNNScorer(standardize=True).fit(X)
    Z = (X - X.mean(0)) / X.std(0)
    query = np.array([[3.0, 0.0]])
    expected = -pairwise_distances((query - X.mean(0)) / X.std(0), Z).min()
    np.testing.assert_allclose(scorer.score_samples(query), [expected])
    # 6 standard deviations off in feature 0 against 2.5 in feature 1: only the
    # standardised distances rank the first as the more anomalous
    queries = np.array([[6.0, 0.0], [0.0, 250.0]])
    assert np.argmin(scorer.score_samples(queries)) == 0
    assert np.argmin(KNNScorer().fit(X).score_samples(queries)) == 1


def test_domain_banks_score_the_nearer_domain(two_domains):
    X, domain = two_domains
    scorer = KNNScorer(n_neighbors=3, domain_banks=True).fit(X, domain=domain)
    assert sorted(scorer.banks_[0]) == ["source", "target"]
    query = np.array([[3.0, 3.0, 3.0]])
    d_target = np.sort(pairwise_distances(query, X[40:]))[0, :3].mean()
    d_source = np.sort(pairwise_distances(query, X[:40]))[0, :3].mean()
    np.testing.assert_allclose(scorer.score_samples(query), [-min(d_source, d_target)])
    # one bank: the 3 nearest mix both domains
    pooled = KNNScorer(n_neighbors=3).fit(X, domain=domain)
    assert list(pooled.banks_[0]) == ["all"]


def test_oversampling_fills_the_smaller_domain_with_points_between_its_clips(two_domains):
    X, domain = two_domains
    scorer = KNNScorer(domain_banks=True, oversample_domains=True, random_state=0)
    scorer.fit(X, domain=domain)
    points, _ = scorer.banks_[0]["target"]
    assert points.shape == (40, 3)
    np.testing.assert_array_equal(points[:5], X[40:])  # the real clips first
    lo, hi = X[40:].min(0), X[40:].max(0)
    assert np.all((points[5:] >= lo - 1e-12) & (points[5:] <= hi + 1e-12))  # interpolations
    again = KNNScorer(domain_banks=True, oversample_domains=True, random_state=0)
    np.testing.assert_array_equal(again.fit(X, domain=domain).banks_[0]["target"][0], points)


def test_density_rescaling_divides_by_the_neighbours_own_radius():
    X = np.array([[0.0], [1.0], [10.0], [14.0]])
    scorer = KNNScorer(density_rescaling=True, contamination=0.25).fit(X)
    _, radii = scorer.banks_[0]["all"]
    np.testing.assert_allclose(radii, [1.0, 1.0, 4.0, 4.0])
    # 12 is 2 from its nearest clip in a sparse region (radius 4): rescaled 0.5
    np.testing.assert_allclose(scorer.score_samples([[12.0], [2.0]]), [-0.5, -1.0])


def test_training_scores_leave_each_clip_out_of_its_own_bank(two_domains):
    X, domain = two_domains
    for params in ({}, {"domain_banks": True}, {"domain_banks": True, "density_rescaling": True}):
        scorer = KNNScorer(contamination=0.1, **params).fit(X, domain=domain)
        in_sample = scorer.score_samples(X)
        np.testing.assert_allclose(in_sample, 0.0, atol=1e-6)  # each clip finds itself
        labels = scorer.fit_predict(X, domain=domain)
        assert (labels == -1).sum() == pytest.approx(0.1 * len(X), abs=2)


def test_too_few_clips_in_a_domain_bank_is_a_clear_error(two_domains):
    X, domain = two_domains
    with pytest.raises(ValueError, match=r"per domain.*'target'.*oversample_domains=True"):
        KNNScorer(n_neighbors=5, domain_banks=True).fit(X, domain=domain)
    KNNScorer(n_neighbors=5, domain_banks=True, oversample_domains=True).fit(X, domain=domain)


def test_cosine_scorer_oversampling_keeps_the_cosine_scale(two_domains):
    X, domain = two_domains
    scorer = CosineScorer(oversample_domains=True, random_state=0).fit(X, domain=domain)
    scores = scorer.score_samples(X)
    assert np.all(scores <= 1 + 1e-9) and np.allclose(scores, 1.0)
