"""Mahalanobis-distance scorer step with per-domain means."""

from __future__ import annotations

from numbers import Integral
from typing import Any, ClassVar

import numpy as np
from scipy.spatial.distance import cdist
from sklearn.base import clone
from sklearn.covariance import LedoitWolf
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.utils._param_validation import HasMethods, Interval

from sklasd.base import BaseDetector
from sklasd.scoring._base import _IncrementalScorer
from sklasd.utils._docstrings import fill_doc

__all__ = ["MahalanobisScorer"]


@fill_doc
class MahalanobisScorer(_IncrementalScorer):
    """Mahalanobis distance to the nearest domain mean of the clip's section.

    For every section, the normal training embeddings of each domain get their
    own mean; the covariance is shared by the section's domains: it is
    estimated (with a clone of ``covariance``) on the section's embeddings after
    centering each domain on its own mean. ``score_samples`` is minus the
    smallest Mahalanobis distance from a clip to its section's domain means, as
    a test clip's domain is unknown in the challenge.

    Clips labelled anomalous (``y == 1``) are left out of training; ``y`` must
    hold 0/1 labels.

    ``domain`` is requested in ``fit`` by default (metadata routing passes it
    on); scoring does not need it. Without ``domain`` each section has one mean.

    The thresholds (``offset_``) come from cross-fitted training scores: the
    section's normal clips are split into ``n_threshold_folds`` folds (stratified
    by domain where every domain has enough clips), and each clip is scored by
    the means and covariance fitted on the other folds. In-sample distances are
    far smaller than those of unseen clips when the clips are few for the
    dimension (a covariance of 96-d embeddings from 30 clips fits its own clips
    closely), so a threshold on them would call almost every new clip
    anomalous. Hence ``fit_predict`` returns cross-fitted labels, while
    ``predict`` on the training clips uses the model fitted on all of them.

    :meth:`partial_fit` adds new normal clips of seen or new sections without
    refitting the other sections. The scorer keeps each section's training
    embeddings (``training_sets_``) rather than running sums: the covariance
    estimator may be any :mod:`sklearn.covariance` estimator, which fits on
    data, Ledoit-Wolf's shrinkage depends on fourth moments of the
    domain-centred clips, which shift with every new domain mean, and the
    cross-fitted thresholds score every training clip. So a section given new
    clips is refitted on all of its clips, and ``partial_fit(A)`` then
    ``partial_fit(B)`` gives exactly the model of ``fit(A + B)``.

    Parameters
    ----------
    covariance : estimator, default=None
        Unfitted :mod:`sklearn.covariance` estimator (anything with ``fit`` and
        ``get_precision``), cloned for every section, e.g.
        :class:`~sklearn.covariance.EmpiricalCovariance`. None means
        :class:`~sklearn.covariance.LedoitWolf`, whose shrinkage keeps the
        precision matrix well-conditioned when there are few clips per feature.
    n_threshold_folds : int, default=5
        Folds of the cross-fitted training scores behind the thresholds (fewer
        when a section has fewer normal clips); 1 scores the training clips
        in-sample.
    %(contamination)s

    Attributes
    ----------
    sections_ : ndarray of shape (n_sections,) or None
        Sections seen in ``fit``; None when fitted without ``section``.
    offset_ : ndarray of shape (n_sections,)
        Threshold of each section in ``score_samples`` units.
    domains_ : list of ndarray of shape (n_domains,) or None
        Domains of each section, aligned with ``sections_``; None entries when
        fitted without ``domain``.
    means_ : list of ndarray of shape (n_domains, n_features)
        Mean embedding of each domain of each section (one row when fitted
        without ``domain``).
    covariances_ : list of covariance estimators
        Fitted shared within-domain covariance of each section.
    training_sets_ : list of dict
        The normal training embeddings of each section, aligned with
        ``sections_``: ``"X"`` of shape (n_clips, n_features) and, when fitted
        with ``domain``, ``"domain"`` of shape (n_clips,); :meth:`partial_fit`
        adds to them.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen in ``fit``, when ``X`` has string column names.

    See Also
    --------
    sklearn.covariance.EllipticEnvelope : Mahalanobis outlier detector without
        sections or domains.

    Examples
    --------
    >>> import numpy as np
    >>> from sklasd.scoring import MahalanobisScorer
    >>> rng = np.random.default_rng(0)
    >>> X = np.concatenate([rng.normal(0, 1, (40, 2)), rng.normal(5, 1, (10, 2))])
    >>> domain = ["source"] * 40 + ["target"] * 10
    >>> scorer = MahalanobisScorer().fit(X, section=[0] * 50, domain=domain)
    >>> scorer.means_[0].round(1)
    array([[0.1, 0.2],
           [4.7, 5.2]])
    >>> scorer.predict([[0.0, 0.0], [5.0, 5.0], [0.0, 5.0]], section=[0, 0, 0])
    array([ 1,  1, -1])

    More normal clips of the target domain, added without refitting from scratch:

    >>> scorer = scorer.partial_fit(rng.normal(5, 1, (10, 2)), section=[0] * 10,
    ...                             domain=["target"] * 10)
    >>> [len(part["X"]) for part in scorer.training_sets_]
    [60]
    """

    __metadata_request__fit: ClassVar[dict] = {"section": True, "domain": True}

    _parameter_constraints: ClassVar[dict] = {
        **BaseDetector._parameter_constraints,
        "covariance": [None, HasMethods(["fit", "get_precision"])],
        "n_threshold_folds": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        *,
        covariance: Any = None,
        n_threshold_folds: int = 5,
        contamination: str | float = "gamma",
        gamma_quantile: float = 0.9,
    ):
        super().__init__(contamination=contamination, gamma_quantile=gamma_quantile)
        self.covariance = covariance
        self.n_threshold_folds = n_threshold_folds

    def fit(
        self, X: Any, y: Any = None, *, section: Any = None, domain: Any = None
    ) -> MahalanobisScorer:
        """Fit the domain means, the shared covariances and the thresholds.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training embeddings.
        y : array-like of shape (n_samples,), default=None
            Anomaly labels, 0 normal and 1 anomalous; anomalous clips are left
            out of training.
        section : array-like of shape (n_samples,), default=None
            Section of each clip; None for one group.
        domain : array-like of shape (n_samples,), default=None
            Domain of each clip (e.g. "source"/"target"); None for one domain.

        Returns
        -------
        self : MahalanobisScorer
            The fitted scorer.
        """
        return super().fit(X, y, section=section, domain=domain)

    def _fit_section(self, X: np.ndarray, domain: np.ndarray | None = None) -> dict[str, Any]:
        if domain is None:
            domains, inverse = None, np.zeros(X.shape[0], dtype=np.intp)
        else:
            domains, inverse = np.unique(domain, return_inverse=True)
        means = np.stack([X[inverse == d].mean(axis=0) for d in range(inverse.max() + 1)])
        covariance = LedoitWolf() if self.covariance is None else self.covariance
        return {
            "domains": domains,
            "means": means,
            "covariances": clone(covariance).fit(X - means[inverse]),
        }

    def _score_section(self, index: int, X: np.ndarray) -> np.ndarray:
        return _scores(X, self.means_[index], self.covariances_[index])

    def _training_scores(
        self, index: int, X: np.ndarray, domain: np.ndarray | None = None
    ) -> np.ndarray:
        n_folds = min(self.n_threshold_folds, X.shape[0])
        if n_folds < 2:
            return self._score_section(index, X)
        labels = np.zeros(X.shape[0], dtype=np.intp) if domain is None else domain
        _, counts = np.unique(labels, return_counts=True)
        splitter = StratifiedKFold if counts.min() >= n_folds else KFold
        scores = np.empty(X.shape[0])
        for train, held_out in splitter(n_folds).split(X, labels):
            fit = self._fit_section(X[train], None if domain is None else domain[train])
            scores[held_out] = _scores(X[held_out], fit["means"], fit["covariances"])
        return scores


def _scores(X: np.ndarray, means: np.ndarray, covariance: Any) -> np.ndarray:
    """Minus the Mahalanobis distance of each row of ``X`` to the nearest of ``means``."""
    distances = cdist(X, means, metric="mahalanobis", VI=covariance.get_precision())
    return -distances.min(axis=1)
