"""ConfidenceScorer: the section classifiers' confidence rule as a scorer step."""

import numpy as np
import pytest

from sklasd.scoring import ConfidenceScorer

PROBA = np.array([[[0.9, 0.1], [0.8, 0.2]], [[0.2, 0.8], [0.1, 0.9]], [[0.6, 0.4], [0.9, 0.1]]])
SECTION = np.array([0, 1, 0])


def test_log_odds_and_log_proba_of_the_own_section():
    p = PROBA[np.arange(3), :, SECTION]
    odds = ConfidenceScorer(contamination=0.5).fit(PROBA, section=SECTION)
    np.testing.assert_allclose(
        odds.score_samples(PROBA, section=SECTION), -np.log((1 - p) / p).mean(axis=1)
    )
    log_p = ConfidenceScorer(rule="log_proba", contamination=0.5).fit(PROBA, section=SECTION)
    np.testing.assert_allclose(log_p.score_samples(PROBA, section=SECTION), np.log(p).mean(axis=1))
    # one crop per clip may come as a 2-D array
    np.testing.assert_allclose(
        odds.score_samples(PROBA[:, 0], section=SECTION),
        odds.score_samples(PROBA[:, :1], section=SECTION),
    )


def test_class_groups_sum_the_classes_of_a_section():
    # 4 classes: (section 0, a), (section 0, b), (section 1, a), (section 1, b)
    proba = np.array([[0.5, 0.3, 0.1, 0.1], [0.1, 0.1, 0.4, 0.4]])
    groups = [[True, True, False, False], [False, False, True, True]]
    scorer = ConfidenceScorer(class_groups=groups, contamination=0.5)
    scores = scorer.fit(proba, section=[0, 1]).score_samples(proba, section=[0, 1])
    np.testing.assert_allclose(scores, [np.log(0.8 / 0.2), np.log(0.8 / 0.2)])


def test_clear_errors():
    with pytest.raises(ValueError, match="pass section="):
        ConfidenceScorer().fit(PROBA)
    with pytest.raises(ValueError, match="Pass class_groups"):
        ConfidenceScorer().fit(PROBA, section=[0, 1, 2])
    with pytest.raises(ValueError, match="confidence is undefined"):
        ConfidenceScorer(class_groups=[[True, True], [False, True]]).fit(PROBA, section=SECTION)
    scorer = ConfidenceScorer(contamination=0.5).fit(PROBA, section=SECTION)
    with pytest.raises(ValueError, match="3 classes"):
        scorer.score_samples(np.full((1, 1, 3), 1 / 3), section=[0])
