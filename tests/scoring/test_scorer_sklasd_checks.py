"""sklasd's own estimator checks on the scorer steps, with section (and domain) metadata."""

import numpy as np

from sklasd.scoring import (
    ConfidenceScorer,
    CosineScorer,
    KNNScorer,
    MahalanobisScorer,
    OneClassSVMScorer,
)
from sklasd.utils.estimator_checks import parametrize_with_checks

SECTION = np.repeat([0, 1, 2], 12)
DOMAIN = np.tile(["source", "source", "target"], 12)


def embeddings():
    """Three sections with different centres and spreads."""
    rng = np.random.default_rng(0)
    return rng.normal(size=(36, 4)) * (1 + SECTION[:, None]) + 3 * SECTION[:, None]


def crop_proba():
    """Class probabilities of 2 crops per clip, leaning to each clip's own section."""
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(36, 2, 3)) + 2.0 * np.eye(3)[SECTION][:, None, :]
    return np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)


@parametrize_with_checks(
    [
        (ConfidenceScorer(), crop_proba, {"section": SECTION}),
        (ConfidenceScorer(rule="log_proba"), crop_proba, {"section": SECTION}),
        (CosineScorer(), embeddings, {"section": SECTION}),
        (KNNScorer(n_neighbors=3, aggregation="kth"), embeddings, {"section": SECTION}),
        (MahalanobisScorer(), embeddings, {"section": SECTION, "domain": DOMAIN}),
        (OneClassSVMScorer(nu=0.3, contamination=0.1), embeddings, {"section": SECTION}),
        (KNNScorer(), embeddings),  # without metadata: one group
    ]
)
def test_sklasd_compatible(estimator, check):
    check(estimator)
