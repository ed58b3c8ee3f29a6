"""sklasd's own estimator checks on the scorer steps, with section (and domain) metadata."""

import numpy as np

from sklasd.scoring import CosineScorer, KNNScorer, MahalanobisScorer, OneClassSVMScorer
from sklasd.utils.estimator_checks import parametrize_with_checks

SECTION = np.repeat([0, 1, 2], 12)
DOMAIN = np.tile(["source", "source", "target"], 12)


def embeddings():
    """Three sections with different centres and spreads."""
    rng = np.random.default_rng(0)
    return rng.normal(size=(36, 4)) * (1 + SECTION[:, None]) + 3 * SECTION[:, None]


@parametrize_with_checks(
    [
        (CosineScorer(), embeddings, {"section": SECTION}),
        (KNNScorer(n_neighbors=3, aggregation="kth"), embeddings, {"section": SECTION}),
        (MahalanobisScorer(), embeddings, {"section": SECTION, "domain": DOMAIN}),
        (OneClassSVMScorer(nu=0.3, contamination=0.1), embeddings, {"section": SECTION}),
        (KNNScorer(), embeddings),  # without metadata: one group
    ]
)
def test_sklasd_compatible(estimator, check):
    check(estimator)
