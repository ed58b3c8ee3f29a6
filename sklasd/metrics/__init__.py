"""Metrics for anomalous sound detection: AUC, pAUC, official DCASE scores and scorers."""

from sklasd.metrics._official import dcase_report, official_score
from sklasd.metrics._ranking import auc, pauc
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
    "get_asd_scorer",
    "get_asd_scorer_names",
    "make_asd_scorer",
    "official_score",
    "pauc",
]
