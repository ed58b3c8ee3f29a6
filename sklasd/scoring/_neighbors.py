"""Nearest-neighbour scorer steps: k-NN distance and cosine similarity."""

from __future__ import annotations

from abc import abstractmethod
from numbers import Integral
from typing import Any, ClassVar

import numpy as np
from imblearn.over_sampling import SMOTE
from sklearn.metrics import pairwise_distances
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import Interval, StrOptions

from sklasd.base import BaseDetector
from sklasd.scoring._base import _IncrementalScorer
from sklasd.utils._docstrings import fill_doc

__all__ = ["CosineScorer", "KNNScorer"]


class _NeighborsScorer(_IncrementalScorer):
    """Scores from the distances to a section's nearest training embeddings.

    Each section keeps memory banks of its normal training embeddings: one bank,
    or one per domain (``domain_banks``), optionally standardised per section
    (``standardize``) and with the smaller domains oversampled by SMOTE
    (``oversample_domains``). A clip's distance to a bank is the aggregate of its
    ``n_neighbors`` smallest distances to the bank's points, each optionally
    divided by that point's own mean distance to its ``n_neighbors`` nearest
    bank neighbours (``density_rescaling``); its distance to the section is the
    smallest over the banks.

    A training clip is its own nearest neighbour, so the training scores behind
    the thresholds are leave-one-out: each training clip is scored against the
    other training clips of its section (synthetic SMOTE points included).
    """

    __metadata_request__fit: ClassVar[dict] = {"section": True, "domain": True}

    #: Options a subclass may expose as parameters; these are their values otherwise.
    standardize: bool = False
    domain_banks: bool = False
    oversample_domains: bool = False
    density_rescaling: bool = False
    random_state: Any = None

    @property
    @abstractmethod
    def _metric(self) -> str | Any:
        """The distance metric of :func:`sklearn.metrics.pairwise_distances`."""

    @property
    @abstractmethod
    def _k(self) -> int:
        """The number of nearest bank points a distance aggregates."""

    @abstractmethod
    def _scores_from_distances(self, distances: np.ndarray) -> np.ndarray:
        """score_samples from sorted neighbour distances of shape (n_clips, n_neighbors)."""

    def fit(self, X: Any, y: Any = None, *, section: Any = None, domain: Any = None):
        """Fit the memory banks of every section and the thresholds.

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
            Domain of each clip (e.g. "source"/"target"), used by
            ``domain_banks`` and ``oversample_domains``; ignored otherwise.

        Returns
        -------
        self : object
            The fitted scorer.
        """
        return super().fit(X, y, section=section, domain=domain)

    def _fit_section(self, X: np.ndarray, domain: np.ndarray | None = None) -> dict[str, Any]:
        if X.shape[0] <= self._k:
            raise ValueError(
                f"{type(self).__name__} with n_neighbors={self._k} needs at least "
                f"{self._k + 1} normal clips per section (leave-one-out training scores), "
                f"got {X.shape[0]} sample(s)."
            )
        scaler = StandardScaler().fit(X) if self.standardize else None
        Z = X if scaler is None else scaler.transform(X)
        keys = self._bank_keys(Z.shape[0], domain)
        originals = {key: Z[keys == key] for key in np.unique(keys)}
        synthetic = {key: Z[:0] for key in originals}
        if self.oversample_domains and len(originals) > 1:
            synthetic = _smote_domains(originals, self._k, self.random_state)
        if self.domain_banks:
            points = {key: np.concatenate([originals[key], synthetic[key]]) for key in originals}
        else:  # the training clips first, in the order _training_scores expects
            points = {"all": np.concatenate([*originals.values(), *synthetic.values()])}
        banks = {}
        for key, bank in points.items():
            if bank.shape[0] <= self._k:
                raise ValueError(
                    f"{type(self).__name__} with domain_banks=True and n_neighbors={self._k} "
                    f"needs more than {self._k} normal training clips per domain, got "
                    f"{bank.shape[0]} of domain {key!r}; pass oversample_domains=True, fewer "
                    "n_neighbors, or domain_banks=False."
                )
            radii = None
            if self.density_rescaling:
                distances = pairwise_distances(bank, metric=self._metric, n_jobs=self.n_jobs)
                np.fill_diagonal(distances, np.inf)
                radii = _smallest(distances, self._k).mean(axis=1)
                radii = np.maximum(radii, np.finfo(np.float64).tiny)
            banks[key] = (bank, radii)
        return {"scalers": scaler, "banks": banks}

    def _bank_distances(self, index: int, Z: np.ndarray, exclude: dict | None = None):
        """Smallest aggregated distance over the banks; ``exclude`` maps bank -> own rows."""
        best = np.full(Z.shape[0], np.inf)
        for key, (bank, radii) in self.banks_[index].items():
            distances = pairwise_distances(Z, bank, metric=self._metric, n_jobs=self.n_jobs)
            if radii is not None:
                distances = distances / radii
            if exclude is not None and key in exclude:
                rows, columns = exclude[key]
                distances[rows, columns] = np.inf
            nearest = _smallest(distances, self._k)
            best = np.minimum(best, -self._scores_from_distances(nearest))
        return best

    def _bank_keys(self, n_samples: int, domain: np.ndarray | None) -> np.ndarray:
        """The domain of each training clip where banks or oversampling use it, else 0."""
        if domain is None or not (self.domain_banks or self.oversample_domains):
            return np.zeros(n_samples, dtype=object)
        return np.asarray(domain, dtype=object)

    def _transform(self, index: int, X: np.ndarray) -> np.ndarray:
        scaler = self.scalers_[index]
        return X if scaler is None else scaler.transform(X)

    def _score_section(self, index: int, X: np.ndarray) -> np.ndarray:
        return -self._bank_distances(index, self._transform(index, X))

    def _training_scores(
        self, index: int, X: np.ndarray, domain: np.ndarray | None = None
    ) -> np.ndarray:
        # The training clips open each bank, in np.unique order of their keys (see
        # _fit_section): leave each one out of its own bank.
        Z = self._transform(index, X)
        keys = self._bank_keys(Z.shape[0], domain)
        groups = {key: np.flatnonzero(keys == key) for key in np.unique(keys)}
        if not self.domain_banks:
            groups = {"all": np.concatenate(list(groups.values()))}
        exclude = {key: (rows, np.arange(rows.size)) for key, rows in groups.items()}
        return -self._bank_distances(index, Z, exclude)


def _smallest(distances: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` smallest values of each row, sorted: shape (n_rows, k)."""
    if k < distances.shape[1]:
        distances = np.partition(distances, k - 1, axis=1)[:, :k]
    return np.sort(distances, axis=1)[:, :k]


def _smote_domains(points: dict, k: int, random_state) -> dict:
    """Synthetic points that oversample every smaller domain to the largest one's size.

    SMOTE (imbalanced-learn) interpolates between a clip and one of its nearest
    neighbours of the same domain; returns the synthetic points per domain. A
    domain with fewer than two clips gets none.
    """
    keys = list(points)
    labels = np.concatenate([np.full(len(points[key]), i) for i, key in enumerate(keys)])
    data = np.concatenate([points[key] for key in keys])
    counts = np.bincount(labels)
    strategy = {i: int(counts.max()) for i in range(len(keys)) if 2 <= counts[i] < counts.max()}
    if not strategy:
        return {key: points[key][:0] for key in keys}
    neighbours = min(5, min(int(counts[i]) for i in strategy) - 1)
    resampled, new_labels = SMOTE(
        sampling_strategy=strategy, k_neighbors=neighbours, random_state=random_state
    ).fit_resample(data, labels)
    # imbalanced-learn keeps the original rows first and appends the synthetic ones
    resampled, new_labels = resampled[len(data) :], new_labels[len(data) :]
    return {key: resampled[new_labels == i] for i, key in enumerate(keys)}


@fill_doc
class KNNScorer(_NeighborsScorer):
    """k-nearest-neighbour distance to the training embeddings of the clip's section.

    ``score_samples`` is minus the mean (or k-th) distance from a clip to its
    ``n_neighbors`` nearest normal training embeddings of its own section (higher
    is more normal).

    The options are the back-ends of today's best DCASE systems, each off by
    default:

    - ``standardize``: every feature is standardised with the section's training
      mean and standard deviation before distances are taken, so that no band or
      embedding dimension dominates by scale alone;
    - ``domain_banks``: separate memory banks for each domain (given as the
      ``domain`` metadata in ``fit``, e.g. 990 source and 10 target clips); the
      distance is the smaller of the distances to the banks, so that a clip is
      normal if it is close to either domain;
    - ``oversample_domains``: the smaller domains' embeddings are oversampled to the
      largest domain's size by SMOTE (:class:`imblearn.over_sampling.SMOTE`),
      which fills the gaps between a few target clips;
    - ``density_rescaling``: each distance to a training embedding is divided by
      that embedding's mean distance to its own ``n_neighbors`` nearest training
      neighbours (a local-density normalisation), so that sparse regions, such
      as a target domain with few clips, are not penalised for their spread.

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
        Number of nearest training embeddings; each section (each domain with
        ``domain_banks``) needs more normal training clips than this.
    metric : str or callable, default="euclidean"
        Distance metric of :func:`sklearn.metrics.pairwise_distances`.
    aggregation : {"mean", "kth"}, default="mean"
        Mean of the ``n_neighbors`` distances, or the distance to the
        ``n_neighbors``-th neighbour.
    standardize : bool, default=False
        Standardise the features per section before taking distances.
    domain_banks : bool, default=False
        One memory bank per domain; the distance is the smallest over the banks.
        Without ``domain`` in ``fit`` there is one bank.
    oversample_domains : bool, default=False
        Oversample the smaller domains' training embeddings by SMOTE to the size
        of the largest domain (needs ``domain`` in ``fit``; a domain with fewer
        than two clips is kept as it is).
    density_rescaling : bool, default=False
        Divide each distance by the training embedding's own mean distance to its
        ``n_neighbors`` nearest training neighbours (in its bank).
    random_state : int, RandomState instance or None, default=None
        Seeds the SMOTE interpolation of ``oversample_domains``.
    %(contamination)s
    n_jobs : int, default=None
        Parallel jobs of the distance computations.

    Attributes
    ----------
    sections_ : ndarray of shape (n_sections,) or None
        Sections seen in ``fit``; None when fitted without ``section``.
    offset_ : ndarray of shape (n_sections,)
        Threshold of each section in ``score_samples`` units.
    scalers_ : list of StandardScaler or None
        The standardisation of each section (None entries without ``standardize``),
        aligned with ``sections_``.
    banks_ : list of dict
        The memory banks of each section, aligned with ``sections_``: a dict
        mapping each domain ("all" for a single bank) to ``(points, radii)``, the
        standardised training embeddings of shape (n_points, n_features), SMOTE
        points last, and their local-density radii of shape (n_points,) (None
        without ``density_rescaling``).
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
    CosineScorer : Maximum cosine similarity to the section's training clips.
    MahalanobisScorer : Distance to the nearest domain mean.
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

    Separate source and target banks, the few target clips oversampled:

    >>> domain = np.tile(["source"] * 45 + ["target"] * 5, 2)
    >>> scorer = KNNScorer(
    ...     domain_banks=True, oversample_domains=True, standardize=True, random_state=0
    ... ).fit(X, section=section, domain=domain)
    >>> [len(points) for points, _ in scorer.banks_[0].values()]
    [45, 45]

    New normal clips of a new section, without refitting sections "a" and "b":

    >>> scorer = scorer.partial_fit(
    ...     rng.normal(-10, 1, (50, 2)), section=["c"] * 50, domain=["source"] * 50
    ... )
    >>> scorer.sections_.tolist()
    ['a', 'b', 'c']
    """

    _parameter_constraints: ClassVar[dict] = {
        **BaseDetector._parameter_constraints,
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "metric": NearestNeighbors._parameter_constraints["metric"],
        "aggregation": [StrOptions({"mean", "kth"})],
        "standardize": ["boolean"],
        "domain_banks": ["boolean"],
        "oversample_domains": ["boolean"],
        "density_rescaling": ["boolean"],
        "random_state": ["random_state"],
        "n_jobs": NearestNeighbors._parameter_constraints["n_jobs"],
    }

    def __init__(
        self,
        *,
        n_neighbors: int = 1,
        metric: str | Any = "euclidean",
        aggregation: str = "mean",
        standardize: bool = False,
        domain_banks: bool = False,
        oversample_domains: bool = False,
        density_rescaling: bool = False,
        random_state: Any = None,
        contamination: str | float = "gamma",
        gamma_quantile: float = 0.9,
        n_jobs: int | None = None,
    ):
        super().__init__(contamination=contamination, gamma_quantile=gamma_quantile)
        self.n_neighbors = n_neighbors
        self.metric = metric
        self.aggregation = aggregation
        self.standardize = standardize
        self.domain_banks = domain_banks
        self.oversample_domains = oversample_domains
        self.density_rescaling = density_rescaling
        self.random_state = random_state
        self.n_jobs = n_jobs

    @property
    def _metric(self) -> str | Any:
        return self.metric

    @property
    def _k(self) -> int:
        return self.n_neighbors

    def _scores_from_distances(self, distances: np.ndarray) -> np.ndarray:
        if self.aggregation == "mean":
            return -distances.mean(axis=1)
        return -distances[:, -1]


@fill_doc
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
    clip finds the clip itself (similarity 1). :meth:`partial_fit` adds new
    normal clips, as in :class:`KNNScorer`.

    Parameters
    ----------
    oversample_domains : bool, default=False
        Oversample the smaller domains' training embeddings by SMOTE to the size
        of the largest domain (needs ``domain`` in ``fit``), as
        :class:`KNNScorer` does.
    random_state : int, RandomState instance or None, default=None
        Seeds the SMOTE interpolation of ``oversample_domains``.
    %(contamination)s
    n_jobs : int, default=None
        Parallel jobs of the distance computations.

    Attributes
    ----------
    sections_ : ndarray of shape (n_sections,) or None
        Sections seen in ``fit``; None when fitted without ``section``.
    offset_ : ndarray of shape (n_sections,)
        Threshold of each section in ``score_samples`` units.
    scalers_ : list of None
        No standardisation (the cosine is scale-free); aligned with ``sections_``.
    banks_ : list of dict
        The memory bank of each section, aligned with ``sections_``: ``{"all":
        (points, None)}`` with the training embeddings of shape (n_points,
        n_features), SMOTE points last.
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
    KNNScorer : k-nearest-neighbour distance with any metric, domain banks and
        local-density rescaling.

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
        "oversample_domains": ["boolean"],
        "random_state": ["random_state"],
        "n_jobs": NearestNeighbors._parameter_constraints["n_jobs"],
    }

    def __init__(
        self,
        *,
        oversample_domains: bool = False,
        random_state: Any = None,
        contamination: str | float = "gamma",
        gamma_quantile: float = 0.9,
        n_jobs: int | None = None,
    ):
        super().__init__(contamination=contamination, gamma_quantile=gamma_quantile)
        self.oversample_domains = oversample_domains
        self.random_state = random_state
        self.n_jobs = n_jobs

    @property
    def _metric(self) -> str:
        return "cosine"

    @property
    def _k(self) -> int:
        return 1

    def _fit_section(self, X: np.ndarray, domain: np.ndarray | None = None) -> dict[str, Any]:
        if X.shape[1] < 2:
            raise ValueError(
                "CosineScorer needs at least 2 features: the cosine similarity of "
                "embeddings with n_features = 1 is only +1 or -1."
            )
        return super()._fit_section(X, domain)

    def _scores_from_distances(self, distances: np.ndarray) -> np.ndarray:
        return 1.0 - distances[:, 0]
