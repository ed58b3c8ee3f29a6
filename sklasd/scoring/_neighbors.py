"""Nearest-neighbour scorer steps: k-NN distance and cosine similarity."""

from __future__ import annotations

from abc import abstractmethod
from numbers import Integral
from typing import Any, ClassVar

import numpy as np
from sklearn.neighbors import NearestNeighbors
from sklearn.utils._param_validation import Interval, StrOptions

from sklasd.base import BaseDetector
from sklasd.scoring._base import _SectionwiseScorer

__all__ = ["CosineScorer", "KNNScorer"]


class _NeighborsScorer(_SectionwiseScorer):
    """Scores from the distances to a section's nearest training embeddings.

    A training clip is its own nearest neighbour, so the training scores behind
    the thresholds are leave-one-out: each training clip is scored against the
    other training clips of its section.
    """

    @abstractmethod
    def _neighbors(self) -> NearestNeighbors:
        """The unfitted neighbour search of one section."""

    @abstractmethod
    def _scores_from_distances(self, distances: np.ndarray) -> np.ndarray:
        """score_samples from sorted neighbour distances of shape (n_clips, n_neighbors)."""

    def _fit_section(self, X: np.ndarray) -> dict[str, Any]:
        neighbors = self._neighbors()
        if X.shape[0] <= neighbors.n_neighbors:
            raise ValueError(
                f"{type(self).__name__} with n_neighbors={neighbors.n_neighbors} needs at "
                f"least {neighbors.n_neighbors + 1} normal clips per section (leave-one-out "
                f"training scores), got {X.shape[0]} sample(s)."
            )
        return {"neighbors": neighbors.fit(X)}

    def _score_section(self, index: int, X: np.ndarray) -> np.ndarray:
        distances, _ = self.neighbors_[index].kneighbors(X)
        return self._scores_from_distances(distances)

    def _training_scores(self, index: int, X: np.ndarray, **metadata: np.ndarray) -> np.ndarray:
        distances, _ = self.neighbors_[index].kneighbors()  # excludes each clip itself
        return self._scores_from_distances(distances)


class KNNScorer(_NeighborsScorer):
    """k-nearest-neighbour distance to the training embeddings of the clip's section.

    ``score_samples`` is minus the mean (or k-th) distance from a clip to its
    ``n_neighbors`` nearest training embeddings of its own section (higher is
    more normal). One :class:`~sklearn.neighbors.NearestNeighbors` is fitted per
    section.

    Clips labelled anomalous (``y == 1``) are left out of training; ``y`` must
    hold 0/1 labels.

    The thresholds (``offset_``) come from leave-one-out training scores: each
    training clip is scored against the other training clips of its section, as
    scoring it against itself would give distance 0. Hence ``fit_predict``
    returns leave-one-out labels, while ``predict`` on the training clips
    compares each clip with itself too.

    Parameters
    ----------
    n_neighbors : int, default=1
        Number of nearest training embeddings; each section needs more normal
        training clips than this.
    metric : str or callable, default="euclidean"
        Distance metric of :class:`~sklearn.neighbors.NearestNeighbors`.
    aggregation : {"mean", "kth"}, default="mean"
        Mean of the ``n_neighbors`` distances, or the distance to the
        ``n_neighbors``-th neighbour.
    contamination : "gamma" or float, default="gamma"
        Threshold rule; see :class:`~sklasd.base.BaseDetector`.
    gamma_quantile : float, default=0.9
        Quantile of the fitted gamma distribution when ``contamination="gamma"``.
    n_jobs : int, default=None
        Parallel jobs of the neighbour search.

    Attributes
    ----------
    sections_ : ndarray of shape (n_sections,) or None
        Sections seen in ``fit``; None when fitted without ``section``.
    offset_ : ndarray of shape (n_sections,)
        Threshold of each section in ``score_samples`` units.
    neighbors_ : list of NearestNeighbors
        Fitted neighbour search of each section, aligned with ``sections_``.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen in ``fit``, when ``X`` has string column names.

    See Also
    --------
    CosineScorer : Maximum cosine similarity to the section's training clips.
    sklearn.neighbors.LocalOutlierFactor : Local-density outlier detector.

    Examples
    --------
    >>> import numpy as np
    >>> from sklasd.scoring import KNNScorer
    >>> rng = np.random.default_rng(0)
    >>> X = np.concatenate([rng.normal(0, 1, (50, 2)), rng.normal(10, 1, (50, 2))])
    >>> section = np.repeat(["a", "b"], 50)
    >>> scorer = KNNScorer(n_neighbors=3).fit(X, section=section)
    >>> scorer.predict([[0.0, 0.0], [0.0, 0.0]], section=["a", "b"])
    array([ 1, -1])
    """

    _parameter_constraints: ClassVar[dict] = {
        **BaseDetector._parameter_constraints,
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "metric": NearestNeighbors._parameter_constraints["metric"],
        "aggregation": [StrOptions({"mean", "kth"})],
        "n_jobs": NearestNeighbors._parameter_constraints["n_jobs"],
    }

    def __init__(
        self,
        *,
        n_neighbors: int = 1,
        metric: str | Any = "euclidean",
        aggregation: str = "mean",
        contamination: str | float = "gamma",
        gamma_quantile: float = 0.9,
        n_jobs: int | None = None,
    ):
        super().__init__(contamination=contamination, gamma_quantile=gamma_quantile)
        self.n_neighbors = n_neighbors
        self.metric = metric
        self.aggregation = aggregation
        self.n_jobs = n_jobs

    def _neighbors(self) -> NearestNeighbors:
        return NearestNeighbors(
            n_neighbors=self.n_neighbors, metric=self.metric, n_jobs=self.n_jobs
        )

    def _scores_from_distances(self, distances: np.ndarray) -> np.ndarray:
        if self.aggregation == "mean":
            return -distances.mean(axis=1)
        return -distances[:, -1]


class CosineScorer(_NeighborsScorer):
    """Maximum cosine similarity to the training embeddings of the clip's section.

    ``score_samples`` is the largest cosine similarity between a clip and the
    normal training embeddings of its own section, in [-1, 1] (higher is more
    normal); the anomaly score ``1 - score_samples`` is the cosine distance to
    the nearest training embedding.

    Clips labelled anomalous (``y == 1``) are left out of training; ``y`` must
    hold 0/1 labels.

    The thresholds (``offset_``) come from leave-one-out training scores (each
    training clip against the other training clips of its section); hence
    ``fit_predict`` returns leave-one-out labels, while ``predict`` on a training
    clip finds the clip itself (similarity 1).

    Parameters
    ----------
    contamination : "gamma" or float, default="gamma"
        Threshold rule; see :class:`~sklasd.base.BaseDetector`.
    gamma_quantile : float, default=0.9
        Quantile of the fitted gamma distribution when ``contamination="gamma"``.
    n_jobs : int, default=None
        Parallel jobs of the neighbour search.

    Attributes
    ----------
    sections_ : ndarray of shape (n_sections,) or None
        Sections seen in ``fit``; None when fitted without ``section``.
    offset_ : ndarray of shape (n_sections,)
        Threshold of each section in ``score_samples`` units.
    neighbors_ : list of NearestNeighbors
        Fitted cosine neighbour search of each section, aligned with ``sections_``.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen in ``fit``, when ``X`` has string column names.

    See Also
    --------
    KNNScorer : k-nearest-neighbour distance with any metric.

    Examples
    --------
    >>> import numpy as np
    >>> from sklasd.scoring import CosineScorer
    >>> X = np.array([[1.0, 0.1], [1.0, -0.1], [1.0, 0.0], [0.1, 1.0], [-0.1, 1.0], [0.0, 1.0]])
    >>> scorer = CosineScorer(contamination=0.1).fit(X, section=[0, 0, 0, 1, 1, 1])
    >>> scorer.score_samples([[2.0, 0.0], [2.0, 0.0]], section=[0, 1]).round(2)
    array([1. , 0.1])
    >>> scorer.predict([[2.0, 0.0], [2.0, 0.0]], section=[0, 1])
    array([ 1, -1])
    """

    _parameter_constraints: ClassVar[dict] = {
        **BaseDetector._parameter_constraints,
        "n_jobs": NearestNeighbors._parameter_constraints["n_jobs"],
    }

    def __init__(
        self,
        *,
        contamination: str | float = "gamma",
        gamma_quantile: float = 0.9,
        n_jobs: int | None = None,
    ):
        super().__init__(contamination=contamination, gamma_quantile=gamma_quantile)
        self.n_jobs = n_jobs

    def _neighbors(self) -> NearestNeighbors:
        return NearestNeighbors(n_neighbors=1, metric="cosine", n_jobs=self.n_jobs)

    def _fit_section(self, X: np.ndarray) -> dict[str, Any]:
        if X.shape[1] < 2:
            raise ValueError(
                "CosineScorer needs at least 2 features: the cosine similarity of "
                "embeddings with n_features = 1 is only +1 or -1."
            )
        return super()._fit_section(X)

    def _scores_from_distances(self, distances: np.ndarray) -> np.ndarray:
        return 1.0 - distances[:, 0]
