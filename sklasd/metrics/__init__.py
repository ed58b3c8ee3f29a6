"""Metrics for anomalous sound detection: AUC, pAUC, official DCASE scores, decision rates
and scorers."""

from sklasd.metrics._official import dcase_report, official_score, official_score_derivation
from sklasd.metrics._ranking import auc, pauc
from sklasd.metrics._rates import decision_rates
from sklasd.metrics._scorer import (
    ASDScorer,
    anomaly_score,
    get_asd_scorer,
    get_asd_scorer_names,
    make_asd_scorer,
)

__all__ = [
    "ASDScorer",
    "anomaly_score",
    "auc",
    "dcase_report",
    "decision_rates",
    "get_asd_scorer",
    "get_asd_scorer_names",
    "make_asd_scorer",
    "official_score",
    "official_score_derivation",
    "pauc",
]
