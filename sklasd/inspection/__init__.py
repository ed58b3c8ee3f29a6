"""Displays and reports of anomaly detectors: ROC curves per section and domain, score
distributions, embedding maps, explanations of single clips, and a report folder of them
all with an ``index.html``.

The displays follow scikit-learn's Display API (:class:`sklearn.metrics.RocCurveDisplay`):
``from_estimator`` (a fitted detector or transformer and clips), ``from_predictions`` /
``from_embeddings`` / ``from_explanation``, and ``plot(ax=...)``.
"""

from sklasd.inspection._distribution import ScoreDistributionDisplay
from sklasd.inspection._embedding import EmbeddingDisplay
from sklasd.inspection._explain import Explanation, ExplanationDisplay, LogMelExplainer
from sklasd.inspection._report import write_dcase_tables, write_report, write_run_report
from sklasd.inspection._roc import ASDRocCurveDisplay

__all__ = [
    "ASDRocCurveDisplay",
    "EmbeddingDisplay",
    "Explanation",
    "ExplanationDisplay",
    "LogMelExplainer",
    "ScoreDistributionDisplay",
    "write_dcase_tables",
    "write_report",
    "write_run_report",
]
