"""Scorers for model selection that hand section/domain metadata to the detector."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike
from sklearn.utils.metadata_routing import (
    UNCHANGED,
    MetadataRequest,
    _MetadataRequester,
    _routing_enabled,
    get_routing_for_object,
)

from sklasd.metrics._official import (
    YEARS,
    _check_year,
    _clip_frame,
    _iter_sections,
    official_score,
)
from sklasd.metrics._ranking import _check_both_classes, _check_max_fpr, auc, pauc
from sklasd.utils._validation import _check_routing_for

__all__ = [
    "ASDScorer",
    "anomaly_score",
    "get_asd_scorer",
    "get_asd_scorer_names",
    "make_asd_scorer",
]

_METRICS = ("auc", "pauc", "official")
_METADATA = ("section", "domain", "machine_type")


def _score_signature(y_true, *, section=None, domain=None, machine_type=None):
    """Signature from which the metadata a scorer can request is read (never called)."""


def anomaly_score(
    estimator: object,
    X: ArrayLike,
    *,
    section: ArrayLike | None = None,
    domain: ArrayLike | None = None,
    machine_type: ArrayLike | None = None,
) -> np.ndarray:
    """The DCASE anomaly score of clips, ``-estimator.decision_function(X, ...)``.

    Of the metadata given (not None), only what the estimator's
    ``decision_function`` consumes is passed on: a detector's own requests, or for a
    Pipeline what one of its steps requests (which needs metadata routing enabled).
    :class:`ASDScorer` and the displays of :mod:`sklasd.inspection` score this way.

    Parameters
    ----------
    estimator : object
        Fitted detector (or Pipeline) with a ``decision_function`` (higher = more
        normal).
    X : array-like of shape (n_clips, ...)
        Clips (or features) the estimator accepts.
    section, domain, machine_type : array-like of shape (n_clips,), default=None
        Per-clip metadata, passed on where consumed.

    Returns
    -------
    scores : ndarray of shape (n_clips,)
        Anomaly scores, higher is more anomalous.

    Raises
    ------
    TypeError
        If the estimator has no ``decision_function``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklasd.metrics import anomaly_score
    >>> from sklasd.scoring import KNNScorer
    >>> X = np.random.default_rng(0).normal(size=(20, 3))
    >>> scorer = KNNScorer().fit(X, section=[0, 1] * 10)
    >>> bool(np.all(anomaly_score(scorer, X, section=[0, 1] * 10)
    ...             == -scorer.decision_function(X, section=[0, 1] * 10)))
    True
    """
    if not hasattr(estimator, "decision_function"):
        raise TypeError(
            f"the anomaly score is -decision_function(X), but {type(estimator).__name__} "
            "has no decision_function."
        )
    given = {"section": section, "domain": domain, "machine_type": machine_type}
    given = {name: value for name, value in given.items() if value is not None}
    consumed = (
        get_routing_for_object(estimator).consumes("decision_function", given) if given else ()
    )
    params = {name: given[name] for name in consumed}
    _check_routing_for(estimator, "decision_function", params, caller="The ASD scorer")
    return -np.asarray(estimator.decision_function(X, **params), dtype=float)


class ASDScorer(_MetadataRequester):
    """Scorer for anomaly detectors that passes section/domain metadata on to the detector.

    A plain scikit-learn scorer calls ``estimator.decision_function(X)`` without metadata,
    so a detector that models every section separately cannot be scored. An
    ``ASDScorer`` requests ``section`` and ``domain`` through metadata routing (by default;
    change it with :meth:`set_score_request`), calls
    ``estimator.decision_function(X, **metadata)`` itself, passing only the metadata that
    the estimator's ``decision_function`` consumes (for a Pipeline: that one of its steps
    requests), uses ``-decision_function`` as the anomaly score and returns the metric,
    greater is better. Build it with :func:`make_asd_scorer` or :func:`get_asd_scorer`.

    ``metric="auc"``, ``"pauc"`` or a callable is computed per (machine type, section) and
    averaged arithmetically over them; without ``section`` all clips form one section.
    ``metric="official"`` is :func:`official_score` with ``year`` (which also uses
    ``domain``).

    Use in ``GridSearchCV(..., scoring=scorer)`` or ``cross_validate``, alone or in a
    dict of scorers. With ``sklearn.set_config(enable_metadata_routing=True)``,
    ``search.fit(X, y, section=s, domain=d)`` routes the test-fold slices of ``s`` and
    ``d`` to the scorer (and ``s`` to every step that requests it). With routing
    disabled, scikit-learn hands no metadata to scorers: the scorer then scores all clips
    as one section of the source domain and calls ``decision_function(X)``.

    Called directly, ``scorer(estimator, X, y, section=s)`` uses the metadata whatever the
    routing setting; a Pipeline only accepts it in ``decision_function`` with routing
    enabled.

    Parameters
    ----------
    metric : {"auc", "pauc", "official"} or callable, default="pauc"
        The metric; a callable is called as ``metric(y_true, y_score) -> float`` with
        anomaly scores (higher = more anomalous), per section.
    year : {2020, 2021, 2022, 2023, 2024, 2025}, default=2022
        Rules of the official score (``metric="official"`` only).
    max_fpr : float, default=0.1
        False-positive-rate limit of the pAUC (``"pauc"`` and ``"official"``).

    See Also
    --------
    make_asd_scorer : Build a scorer.
    get_asd_scorer : A fresh scorer by name.
    sklasd.model_selection.NormalOnlyKFold : Cross-validation without anomalies in
        training folds.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.neighbors import LocalOutlierFactor
    >>> from sklasd.metrics import make_asd_scorer
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(size=(40, 2)), rng.normal(5, 1, size=(10, 2))]
    >>> y = np.r_[np.zeros(40, int), np.ones(10, int)]
    >>> detector = LocalOutlierFactor(novelty=True).fit(X[y == 0])
    >>> scorer = make_asd_scorer("auc")
    >>> scorer(detector, X, y, section=np.arange(50) % 2)
    1.0
    """

    __metadata_request__score: ClassVar[dict[str, bool]] = {"section": True, "domain": True}

    def __init__(
        self,
        metric: str | Callable[[np.ndarray, np.ndarray], float] = "pauc",
        *,
        year: int = 2022,
        max_fpr: float = 0.1,
    ) -> None:
        if not callable(metric) and metric not in _METRICS:
            raise ValueError(f"metric must be one of {_METRICS} or a callable; got {metric!r}.")
        self.metric = metric
        self.year = _check_year(year)
        self.max_fpr = _check_max_fpr(max_fpr)

    def __repr__(self) -> str:
        metric = getattr(self.metric, "__name__", self.metric)
        return f"ASDScorer(metric={metric!r}, year={self.year}, max_fpr={self.max_fpr})"

    def _metric_value(self, y: np.ndarray, s: np.ndarray) -> float:
        if self.metric == "auc":
            return auc(y, s)
        if self.metric == "pauc":
            return pauc(y, s, max_fpr=self.max_fpr)
        return float(self.metric(y, s))

    def __call__(
        self,
        estimator: object,
        X: ArrayLike,
        y: ArrayLike,
        *,
        section: ArrayLike | None = None,
        domain: ArrayLike | None = None,
        machine_type: ArrayLike | None = None,
    ) -> float:
        """Score a fitted detector on clips ``X`` with anomaly labels ``y``.

        Parameters
        ----------
        estimator : object
            Fitted detector (or Pipeline) with a ``decision_function`` (higher = more
            normal).
        X : array-like of shape (n_clips, ...)
            Clips (or features) the estimator accepts.
        y : array-like of shape (n_clips,)
            0 normal, 1 anomalous.
        section, domain, machine_type : array-like of shape (n_clips,), default=None
            Per-clip metadata; handed to ``decision_function`` where it consumes them,
            and used to group the metric (``machine_type`` only when requested with
            ``set_score_request(machine_type=True)`` under routing).

        Returns
        -------
        float
            The metric, greater is better.
        """
        if y is None:
            raise ValueError(
                f"{self!r} needs the anomaly labels y (0 normal, 1 anomalous) to score."
            )
        y_score = anomaly_score(
            estimator, X, section=section, domain=domain, machine_type=machine_type
        )
        if self.metric == "official":
            return official_score(
                y,
                y_score,
                section=section,
                machine_type=machine_type,
                domain=domain,
                year=self.year,
                max_fpr=self.max_fpr,
            )
        frame = _clip_frame(y, y_score, section=section, machine_type=machine_type, domain=domain)
        values = []
        for _, clips, where in _iter_sections(frame, named_types=machine_type is not None):
            labels = clips["y"].to_numpy()
            _check_both_classes(labels, where)
            values.append(self._metric_value(labels, clips["score"].to_numpy()))
        return float(np.mean(values))

    def set_score_request(
        self,
        *,
        section: bool | str | None = UNCHANGED,
        domain: bool | str | None = UNCHANGED,
        machine_type: bool | str | None = UNCHANGED,
    ) -> ASDScorer:
        """Change which metadata the scorer requests (requires metadata routing enabled).

        Parameters
        ----------
        section, domain, machine_type : bool, str or None, default=UNCHANGED
            True: request it; False: do not; None: raise if given; str: request it under
            that alias. By default ``section`` and ``domain`` are requested and
            ``machine_type`` is not. This mutates the scorer: build a fresh one per use
            (:func:`make_asd_scorer`, :func:`get_asd_scorer`).

        Returns
        -------
        self : ASDScorer
            The updated scorer.
        """
        if not _routing_enabled():
            raise RuntimeError(
                "set_score_request is only available when metadata routing is enabled: "
                "sklearn.set_config(enable_metadata_routing=True)."
            )
        requests = self._get_metadata_request()
        for name, alias in zip(_METADATA, (section, domain, machine_type), strict=True):
            if alias is not UNCHANGED:
                requests.score.add_request(param=name, alias=alias)
        self._metadata_request = requests
        return self

    def _get_metadata_request(self) -> MetadataRequest:
        """Requests of this scorer: set ones, else the class-level defaults."""
        if hasattr(self, "_metadata_request"):
            return get_routing_for_object(self._metadata_request)
        requests = MetadataRequest(owner=self)
        defaults = self._get_class_level_metadata_request_values("score", method=_score_signature)
        for name, alias in defaults.items():
            requests.score.add_request(param=name, alias=alias)
        return requests


def make_asd_scorer(
    metric: str | Callable[[np.ndarray, np.ndarray], float] = "pauc",
    *,
    year: int = 2022,
    max_fpr: float = 0.1,
) -> ASDScorer:
    """Build a metadata-aware scorer for anomaly detectors.

    Parameters
    ----------
    metric : {"auc", "pauc", "official"} or callable, default="pauc"
        ``"auc"``/``"pauc"``: :func:`auc` / :func:`pauc` per (machine type, section),
        arithmetic mean over them. ``"official"``: :func:`official_score` of ``year``.
        A callable ``metric(y_true, y_score) -> float`` (anomaly scores, greater is
        better) is applied per section and averaged like ``"auc"``.
    year : {2020, 2021, 2022, 2023, 2024, 2025}, default=2022
        Rules of the official score (``metric="official"`` only).
    max_fpr : float, default=0.1
        False-positive-rate limit of the pAUC.

    Returns
    -------
    ASDScorer
        A new scorer, ``scorer(estimator, X, y, **metadata) -> float``, requesting
        ``section`` and ``domain``.

    Raises
    ------
    ValueError
        For an unknown metric, year or an invalid ``max_fpr``.

    See Also
    --------
    ASDScorer : How the scorer calls the detector and routes metadata.
    get_asd_scorer : Fresh scorers by name.

    Examples
    --------
    >>> import numpy as np
    >>> import sklearn
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklearn.neighbors import LocalOutlierFactor
    >>> from sklasd.metrics import make_asd_scorer
    >>> from sklasd.model_selection import NormalOnlyKFold
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(size=(60, 2)), rng.normal(3, 1, size=(15, 2))]
    >>> y = np.r_[np.zeros(60, int), np.ones(15, int)]
    >>> section = np.arange(75) % 3
    >>> scoring = {"pauc": make_asd_scorer("pauc"), "official": make_asd_scorer("official")}
    >>> with sklearn.config_context(enable_metadata_routing=True):
    ...     search = GridSearchCV(
    ...         LocalOutlierFactor(novelty=True),
    ...         {"n_neighbors": [5, 10]},
    ...         scoring=scoring,
    ...         refit="official",
    ...         cv=NormalOnlyKFold(3),
    ...     ).fit(X, y, section=section)
    >>> sorted(search.best_params_)
    ['n_neighbors']
    >>> bool(search.best_score_ > 0.8)
    True
    """
    return ASDScorer(metric, year=year, max_fpr=max_fpr)


_NAMED_SCORERS = {
    "auc": {"metric": "auc"},
    "pauc": {"metric": "pauc"},
    **{f"dcase{year}": {"metric": "official", "year": year} for year in YEARS},
}


def get_asd_scorer_names() -> list[str]:
    """Names accepted by :func:`get_asd_scorer`.

    Returns
    -------
    list of str
        ``"auc"``, ``"pauc"`` and ``"dcase2020"`` ... ``"dcase2025"``.

    Examples
    --------
    >>> from sklasd.metrics import get_asd_scorer_names
    >>> get_asd_scorer_names()[:3]
    ['auc', 'pauc', 'dcase2020']
    """
    return list(_NAMED_SCORERS)


def get_asd_scorer(name: str) -> ASDScorer:
    """A fresh :class:`ASDScorer` by name.

    Each call builds a new object, so :meth:`ASDScorer.set_score_request` on one never
    changes another.

    Parameters
    ----------
    name : str
        ``"auc"``, ``"pauc"`` (``max_fpr=0.1``) or ``"dcase<year>"`` for the official score
        of that year (2020-2025), see :func:`get_asd_scorer_names`.

    Returns
    -------
    ASDScorer
        The scorer.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the valid ones).

    See Also
    --------
    make_asd_scorer : Build a scorer with other settings.

    Examples
    --------
    >>> from sklasd.metrics import get_asd_scorer
    >>> get_asd_scorer("dcase2023")
    ASDScorer(metric='official', year=2023, max_fpr=0.1)
    """
    if name not in _NAMED_SCORERS:
        raise ValueError(f"Unknown scorer {name!r}; valid names: {get_asd_scorer_names()}.")
    return make_asd_scorer(**_NAMED_SCORERS[name])
