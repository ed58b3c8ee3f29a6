"""Base class of every sklasd anomaly detector, and the version stamp of pickled estimators.

:class:`BaseDetector` implements scikit-learn's outlier-detector contract once:
validation of the input and of the ``section`` metadata, the per-section decision
thresholds (``contamination``), and the public methods ``fit``, ``fit_predict``,
``score_samples``, ``decision_function`` and ``predict``. A detector only trains
(``_fit``) and scores (``_score_samples``). :class:`VersionStampMixin` records the
sklasd version in every pickled estimator and warns with
:class:`InconsistentVersionWarning` when another version loads it.
"""

from __future__ import annotations

import warnings
from abc import ABCMeta, abstractmethod
from numbers import Real
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import scipy.stats
from sklearn.base import BaseEstimator, OutlierMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import FLOAT_DTYPES, _num_samples, check_is_fitted, validate_data

from sklasd import _version
from sklasd.utils import check_labels, check_section
from sklasd.utils._docstrings import fill_doc

__all__ = ["BaseDetector", "InconsistentVersionWarning", "VersionStampMixin"]

#: Key of the version stamp in the pickled state of sklasd estimators.
_STAMP = "_sklasd_version"


class InconsistentVersionWarning(UserWarning):
    """Warning when an estimator pickled by one sklasd version is loaded by another.

    A fitted estimator is only guaranteed to load and score the same with the
    sklasd version that saved it: between versions its fitted attributes may
    change meaning. Refit, or load with the version in ``original_sklasd_version``.

    Parameters
    ----------
    estimator_name : str
        Class name of the loaded estimator.
    current_sklasd_version : str
        The sklasd version that loads it.
    original_sklasd_version : str
        The sklasd version that pickled it (``"unknown"`` when the pickle has no
        stamp).

    See Also
    --------
    VersionStampMixin : Stamps and checks the version.
    sklearn.exceptions.InconsistentVersionWarning : scikit-learn's counterpart.

    Examples
    --------
    >>> import pickle, warnings
    >>> from sklasd.base import InconsistentVersionWarning
    >>> from sklasd.scoring import KNNScorer
    >>> state = KNNScorer().__getstate__()
    >>> state["_sklasd_version"] = "0.0.1"
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     KNNScorer.__new__(KNNScorer).__setstate__(state)
    >>> caught[0].category is InconsistentVersionWarning
    True
    >>> caught[0].message.original_sklasd_version
    '0.0.1'
    """

    def __init__(
        self,
        *,
        estimator_name: str,
        current_sklasd_version: str,
        original_sklasd_version: str,
    ) -> None:
        self.estimator_name = estimator_name
        self.current_sklasd_version = current_sklasd_version
        self.original_sklasd_version = original_sklasd_version

    def __str__(self) -> str:
        return (
            f"Trying to unpickle estimator {self.estimator_name} from sklasd version "
            f"{self.original_sklasd_version} when using version "
            f"{self.current_sklasd_version}. This might lead to breaking code or invalid "
            "results. Use at your own risk: refit the estimator, or load it with sklasd "
            f"{self.original_sklasd_version}."
        )


class VersionStampMixin:
    """Stamp the sklasd version into the pickled state; warn when another version loads it.

    Put it before :class:`~sklearn.base.BaseEstimator` in the bases (as
    :class:`BaseDetector` does). ``__getstate__`` adds the key
    ``"_sklasd_version"`` to the state; ``__setstate__`` removes it and emits an
    :class:`InconsistentVersionWarning` when it differs from the running
    version, or is missing. This covers :mod:`pickle`, :mod:`joblib`,
    :func:`copy.deepcopy` and :mod:`skops.io` (which also restore the state
    through ``__setstate__``).

    See Also
    --------
    InconsistentVersionWarning : The warning.

    Examples
    --------
    >>> import copy
    >>> import sklasd
    >>> from sklearn.base import BaseEstimator
    >>> from sklasd.base import VersionStampMixin
    >>> class Scaler(VersionStampMixin, BaseEstimator):
    ...     pass
    >>> Scaler().__getstate__()["_sklasd_version"] == sklasd.__version__
    True
    >>> "_sklasd_version" in vars(copy.deepcopy(Scaler()))
    False
    """

    def __getstate__(self) -> dict:
        return {**super().__getstate__(), _STAMP: _version.__version__}

    def __setstate__(self, state: dict) -> None:
        state = dict(state)
        original = state.pop(_STAMP, "unknown")
        if original != _version.__version__:
            warnings.warn(
                InconsistentVersionWarning(
                    estimator_name=type(self).__name__,
                    current_sklasd_version=_version.__version__,
                    original_sklasd_version=original,
                ),
                stacklevel=2,
            )
        super().__setstate__(state)


@fill_doc
class BaseDetector(VersionStampMixin, OutlierMixin, BaseEstimator, metaclass=ABCMeta):
    """Base class for anomaly detectors with per-section thresholds.

    Conventions (scikit-learn's outlier detectors): :meth:`score_samples` is
    higher for more normal clips; ``decision_function = score_samples - offset``
    is negative for anomalous clips; :meth:`predict` returns +1 (normal) or -1
    (anomalous). The DCASE anomaly score is ``-decision_function(X)``.

    **Sections.** ``section`` (machine ID / section number, one value per clip)
    travels as metadata: it is requested by default in ``fit``,
    ``decision_function`` and ``predict``, so with metadata routing enabled a
    :class:`~sklearn.pipeline.Pipeline` ending in a detector passes it on.
    ``section=None`` means all clips form one group. A detector fitted with
    sections keeps one threshold per section and needs ``section`` when scoring;
    a section not seen in ``fit`` is an error. A detector fitted without sections
    has a single model for all clips: a ``section`` given when scoring is only
    checked for its length and otherwise ignored. (``Pipeline.score_samples``
    routes no metadata; use ``decision_function`` through a pipeline.)

    **Thresholds.** ``offset_[i]`` is the threshold of section ``sections_[i]``
    in ``score_samples`` units, computed from the training scores of that
    section's normal clips (``y == 0``, or all clips when ``y`` is None):

    - ``contamination="gamma"`` (the DCASE baselines' rule): a gamma
      distribution is fitted by maximum likelihood (:func:`scipy.stats.gamma.fit`)
      to the anomaly scores ``a = -score_samples``; the threshold is its
      ``gamma_quantile`` quantile. The location of the gamma distribution is
      fixed at ``min(0, a.min() - (a.max() - a.min()) / n)``: at 0, the natural
      origin of non-negative anomaly scores (distances, errors), unless the
      scores come closer to 0 than their mean spacing or are negative (e.g. a
      One-Class SVM's, or shifted scores); then just below the smallest score,
      by the mean spacing of the ``n`` scores (at least four units in the last
      place, so that scores equal up to rounding lie above it). In that second case the
      threshold moves with any shift of the scores. (The DCASE baselines leave
      the location free; that fit degenerates, with shape < 1 and the location
      at the smallest score, when scores pile up near their minimum, as
      leave-one-out nearest-neighbour distances do.) The fit needs at least two
      distinct training scores per section; with fewer (a section of two clips, each
      the other's nearest neighbour) the threshold is the lowest training score,
      with a warning.
    - ``contamination`` a float in (0, 0.5]: the ``contamination`` quantile of
      the training scores, as in :class:`~sklearn.ensemble.IsolationForest`, so
      that fraction of the training clips is flagged.

    **Subclassing.** A subclass's ``__init__`` takes ``contamination`` and
    ``gamma_quantile`` among its keyword-only parameters and passes them to
    ``super().__init__``; it extends ``_parameter_constraints`` and implements:

    - ``_fit(X, y, *, section, **metadata)``: train on the validated ``X``;
      ``section`` is a validated array or None, ``y`` validated 0/1 labels or
      None, ``metadata`` whatever else the subclass's ``fit`` accepts (declare
      it in ``__metadata_request__fit``). ``self.sections_`` is already set.
      Returns the ``score_samples`` of the training clips, shape (n_samples,),
      from which the thresholds are computed; where scoring a training clip
      against itself is degenerate (nearest neighbours), these are
      leave-one-out scores.
    - ``_score_samples(X, *, section)``: scores of the validated ``X``, shape
      (n_samples,); ``section`` is None when the detector was fitted without
      sections, else a validated array of known sections.
    - optionally ``_validate_X(X, *, reset)``: the default accepts finite 2-D
      float arrays (and sets ``n_features_in_``); detectors on audio clips
      override it (see :func:`sklasd.utils.check_clips`).
    - optionally ``_check_y(y, n_samples)``: the default validates ``y`` as 0/1
      anomaly labels (:func:`sklasd.utils.check_labels`), so that e.g. -1/+1
      labels are an error rather than silently misread; a detector that ignores
      ``y`` overrides it to return None.

    Parameters
    ----------
    %(contamination)s

    Attributes
    ----------
    sections_ : ndarray of shape (n_sections,) or None
        Sorted distinct sections seen in ``fit``; None when fitted without
        ``section``.
    offset_ : ndarray of shape (n_sections,)
        Threshold of each section in ``score_samples`` units, aligned with
        ``sections_`` (shape (1,) when fitted without sections).
        ``decision_function`` subtracts the offset of each clip's section.
    training_decision_ : ndarray of shape (n_samples,)
        The decision values of the training clips that the thresholds were
        computed from (as :class:`~sklearn.neighbors.LocalOutlierFactor` keeps
        ``negative_outlier_factor_``): leave-one-out scores where the detector
        computes them (nearest neighbours), so a training clip is not scored
        against itself. ``fit_predict`` labels the training clips from them;
        ensembles combine their members' from them.
    n_features_in_ : int
        Number of features seen in ``fit`` (2-D input only).
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen in ``fit``, when ``X`` has string column names.

    See Also
    --------
    sklasd.scoring.KNNScorer : A detector on embeddings built on this class.
    sklearn.ensemble.IsolationForest : The reference for ``contamination``.

    Examples
    --------
    A detector that calls clips far from the training mean anomalous:

    >>> import numpy as np
    >>> from sklasd.base import BaseDetector
    >>> class MeanDistance(BaseDetector):
    ...     def __init__(self, *, contamination="gamma", gamma_quantile=0.9):
    ...         super().__init__(contamination=contamination, gamma_quantile=gamma_quantile)
    ...     def _fit(self, X, y, *, section):
    ...         self.mean_ = X.mean(axis=0)
    ...         return self._score_samples(X, section=section)
    ...     def _score_samples(self, X, *, section):
    ...         return -np.linalg.norm(X - self.mean_, axis=1)
    >>> rng = np.random.default_rng(0)
    >>> X, section = rng.normal(size=(100, 3)), np.repeat([0, 1], 50)
    >>> detector = MeanDistance(contamination=0.1).fit(X, section=section)
    >>> detector.offset_.shape
    (2,)
    >>> int((detector.predict(X, section=section) == -1).sum())
    10
    >>> int((detector.training_decision_ < 0).sum())
    10
    >>> detector.predict([[0.0, 0.0, 0.0], [9.0, 9.0, 9.0]], section=[0, 1])
    array([ 1, -1])
    """

    __metadata_request__fit: ClassVar[dict] = {"section": True}
    __metadata_request__decision_function: ClassVar[dict] = {"section": True}
    __metadata_request__predict: ClassVar[dict] = {"section": True}

    _parameter_constraints: ClassVar[dict] = {
        "contamination": [StrOptions({"gamma"}), Interval(Real, 0, 0.5, closed="right")],
        "gamma_quantile": [Interval(Real, 0, 1, closed="neither")],
    }

    def __init__(self, *, contamination: str | float = "gamma", gamma_quantile: float = 0.9):
        self.contamination = contamination
        self.gamma_quantile = gamma_quantile

    @abstractmethod
    def _fit(self, X: Any, y: np.ndarray | None, *, section: np.ndarray | None, **metadata):
        """Train; return the training clips' score_samples, shape (n_samples,)."""

    @abstractmethod
    def _score_samples(self, X: Any, *, section: np.ndarray | None) -> np.ndarray:
        """Return score_samples of validated X, shape (n_samples,)."""

    def _validate_X(self, X: Any, *, reset: bool) -> Any:
        """Validate X: finite 2-D float array; sets or checks ``n_features_in_``."""
        return validate_data(self, X, reset=reset, dtype=FLOAT_DTYPES)

    def _check_y(self, y: Any, n_samples: int) -> np.ndarray | None:
        """Validate y as 0/1 anomaly labels (None: all clips normal)."""
        return check_labels(y, n_samples)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any = None, *, section: Any = None, **metadata: Any) -> BaseDetector:
        """Fit the detector and its per-section thresholds.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data (subclasses on audio clips also accept paths).
        y : array-like of shape (n_samples,), default=None
            Anomaly labels, 0 normal and 1 anomalous. Each detector documents
            whether it uses known anomalies, leaves them out, or ignores ``y``;
            the thresholds are computed on the normal clips.
        section : array-like of shape (n_samples,), default=None
            Section of each clip; None for one group.
        **metadata : dict
            Further metadata a subclass declares (e.g. ``domain``); other names
            raise TypeError.

        Returns
        -------
        self : object
            The fitted detector.
        """
        self._fit_thresholds(X, y, section, metadata)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_predict(
        self, X: Any, y: Any = None, *, section: Any = None, **metadata: Any
    ) -> np.ndarray:
        """Fit the detector and return the labels of the training clips.

        The labels come from the training scores the thresholds were computed
        on, so they are leave-one-out labels where the detector computes
        leave-one-out training scores.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,), default=None
            Anomaly labels, 0 normal and 1 anomalous (see :meth:`fit`).
        section : array-like of shape (n_samples,), default=None
            Section of each clip; None for one group.
        **metadata : dict
            Further metadata a subclass declares (e.g. ``domain``).

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            +1 for normal clips, -1 for anomalous ones.
        """
        return _labels(self._fit_thresholds(X, y, section, metadata))

    def score_samples(self, X: Any, *, section: Any = None) -> np.ndarray:
        """Normality score of each clip: higher is more normal.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Clips to score.
        section : array-like of shape (n_samples,), default=None
            Section of each clip; required when the detector was fitted with
            sections.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Normality scores (not shifted by the thresholds).
        """
        return self._score(X, section)[0]

    def decision_function(self, X: Any, *, section: Any = None) -> np.ndarray:
        """Score minus the threshold of each clip's section: negative is anomalous.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Clips to score.
        section : array-like of shape (n_samples,), default=None
            Section of each clip; required when the detector was fitted with
            sections.

        Returns
        -------
        decision : ndarray of shape (n_samples,)
            ``score_samples(X) - offset_[section index]``. The DCASE anomaly
            score is ``-decision``.
        """
        scores, indices = self._score(X, section)
        return scores - self.offset_[indices]

    def predict(self, X: Any, *, section: Any = None) -> np.ndarray:
        """Label each clip normal (+1) or anomalous (-1).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Clips to label.
        section : array-like of shape (n_samples,), default=None
            Section of each clip; required when the detector was fitted with
            sections.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            +1 where ``decision_function >= 0``, else -1.
        """
        return _labels(self.decision_function(X, section=section))

    def _fit_thresholds(self, X, y, section, metadata) -> np.ndarray:
        """Validate, fit, set the thresholds; return the training decision values."""
        self._check_fit_metadata(metadata)
        X = self._validate_X(X, reset=True)
        n_samples = _num_samples(X)
        section = check_section(section, n_samples)
        y = self._check_y(y, n_samples)
        self.sections_ = None if section is None else np.unique(section)
        indices = self._section_indices(section, n_samples)
        scores = np.asarray(self._fit(X, y, section=section, **metadata), dtype=float)
        if not np.isfinite(scores).all():
            raise ValueError(
                f"{type(self).__name__} gave non-finite scores to "
                f"{np.count_nonzero(~np.isfinite(scores))} training clip(s)."
            )
        normal = np.ones(n_samples, dtype=bool) if y is None else y == 0
        self.offset_ = self._fit_offsets(scores, indices, normal)
        self.training_decision_ = scores - self.offset_[indices]
        return self.training_decision_

    def _fit_offsets(
        self, scores: np.ndarray, indices: np.ndarray, normal: np.ndarray
    ) -> np.ndarray:
        """The threshold of every group from its normal clips' training scores.

        A detector whose inner detector has fitted the same thresholds already
        overrides this to return them.
        """
        n_groups = 1 if self.sections_ is None else len(self.sections_)
        return np.array(
            [self._threshold(scores[(indices == i) & normal], i) for i in range(n_groups)]
        )

    def _check_fit_metadata(self, metadata: dict) -> None:
        """Raise TypeError for metadata that ``fit`` does not accept.

        A meta-detector whose :meth:`get_metadata_routing` is a
        :class:`~sklearn.utils.metadata_routing.MetadataRouter` (no ``.fit``
        requests of its own) overrides this to validate through the router.
        """
        accepted = self.get_metadata_routing().fit.requests
        unexpected = sorted(set(metadata) - set(accepted))
        if unexpected:
            raise TypeError(
                f"{type(self).__name__}.fit got unexpected metadata {unexpected}; "
                f"it accepts {sorted(accepted)}."
            )

    def _threshold(self, scores: np.ndarray, index: int) -> float:
        """Threshold in score_samples units from one section's normal training scores."""
        where = self._group_name(index)
        if scores.size == 0:
            raise ValueError(f"No normal clip (y == 0) in {where} to set a threshold on.")
        if self.contamination != "gamma":
            return float(np.percentile(scores, 100.0 * self.contamination))
        if np.unique(scores).size < 2:
            warnings.warn(
                f"The gamma threshold of {where} needs at least 2 distinct training scores, "
                f"got {scores.size} sample(s) with {np.unique(scores).size} distinct value(s) "
                "(two clips are each other's nearest neighbour); the threshold is the lowest "
                "training score, so every training clip counts as normal. Use more clips or "
                "a float contamination.",
                UserWarning,
                stacklevel=2,
            )
            return float(scores.min())
        anomaly = -scores
        # At least a few units in the last place below the smallest score, which the
        # mean spacing is not when the scores differ only by rounding (duplicate clips).
        spacing = max(np.ptp(anomaly) / anomaly.size, 4 * np.spacing(abs(anomaly.min())))
        loc = min(0.0, anomaly.min() - spacing)
        shape, _, scale = scipy.stats.gamma.fit(anomaly, floc=loc)
        return -float(scipy.stats.gamma.ppf(self.gamma_quantile, shape, loc=loc, scale=scale))

    def _group_name(self, index: int) -> str:
        """Name of group ``index`` in messages: the section, or all training clips."""
        if self.sections_ is None:
            return "the training clips"
        return f"section {self.sections_.tolist()[index]!r}"

    def _section_indices(self, section: np.ndarray | None, n_samples: int) -> np.ndarray:
        """Index into ``sections_`` of each clip (zeros when fitted without sections)."""
        if self.sections_ is None:
            return np.zeros(n_samples, dtype=np.intp)
        name = type(self).__name__
        if section is None:
            raise ValueError(
                f"{name} was fitted with sections {self.sections_.tolist()}; pass "
                "section=<one value per clip> (in a Pipeline, enable metadata routing with "
                "sklearn.set_config(enable_metadata_routing=True))."
            )
        indices = pd.Index(self.sections_).get_indexer(section)
        unseen = indices < 0
        if unseen.any():
            raise ValueError(
                f"section values {pd.unique(section[unseen])[:10].tolist()} were not seen in "
                f"fit; {name} was fitted on sections {self.sections_.tolist()}."
            )
        return indices

    def _score(self, X, section) -> tuple[np.ndarray, np.ndarray]:
        """Validate X and section; return (score_samples, section indices)."""
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        n_samples = _num_samples(X)
        section = check_section(section, n_samples)
        indices = self._section_indices(section, n_samples)
        if self.sections_ is None:
            section = None
        scores = np.asarray(self._score_samples(X, section=section), dtype=float)
        return scores, indices


def _labels(decision: np.ndarray) -> np.ndarray:
    """+1 where decision >= 0, else -1 (scikit-learn's outlier labels)."""
    return np.where(decision < 0, -1, 1)
