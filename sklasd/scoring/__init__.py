"""Scorer steps: anomaly detectors on embeddings (or class probabilities) with per-section state.

Each is a :class:`~sklasd.base.BaseDetector` usable as the last step of a
pipeline such as ``make_pipeline(LogMel(), TimePooling(), KNNScorer())`` or on the
embeddings of a network detector.
"""

from sklasd.scoring._confidence import ConfidenceScorer
from sklasd.scoring._mahalanobis import MahalanobisScorer
from sklasd.scoring._neighbors import CosineScorer, KNNScorer
from sklasd.scoring._svm import OneClassSVMScorer

__all__ = [
    "ConfidenceScorer",
    "CosineScorer",
    "KNNScorer",
    "MahalanobisScorer",
    "OneClassSVMScorer",
]
