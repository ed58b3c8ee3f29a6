"""Combine the anomaly scores of several detectors after a per-section normalisation."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
import scipy.special
from sklearn.utils import Bunch
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metadata_routing import process_routing
from sklearn.utils.validation import _num_samples, check_is_fitted

from sklasd.base import BaseDetector
from sklasd.ensemble._base import _given, _MemberEnsemble
from sklasd.utils import check_section
from sklasd.utils._docstrings import fill_doc

__all__ = ["ScoreEnsemble"]


def _midrank_percentiles(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Fraction of ``reference`` below each value, ties counted half: in [0, 1]."""
    reference = np.sort(reference)
    below = np.searchsorted(reference, values, side="left")
    not_above = np.searchsorted(reference, values, side="right")
    return (below + not_above) / (2.0 * reference.size)


@fill_doc
class ScoreEnsemble(_MemberEnsemble):
    """Combine members' anomaly scores, normalised per section on the training scores.

    Every member (a sklasd detector, or a Pipeline ending in one, e.g.
    ``make_pipeline(LogMel(), TimePooling(), KNNScorer())``) is fitted on the
    same clips. Its anomaly score of a clip, ``a = -decision_function``, is
    mapped by a normalisation fitted, per group of clips (section, or (machine
    type, section) pair when ``machine_type`` is given), on the anomaly scores
    the member gave the *normal training clips* of that group: the scores its own
    thresholds come from, which are leave-one-out scores for nearest-neighbour
    scorers (a training clip is not scored against itself). So a clip's
    ensemble score depends on that clip only, never on the other clips scored
    with it. The mapped scores ``v_m`` of the members ``m`` are combined with
    weights ``w_m`` into the ensemble anomaly score ``A``; ``score_samples`` is
    ``-A`` and the thresholds (``offset_``) are fitted on the training clips'
    ``-A`` as for any :class:`~sklasd.base.BaseDetector`.

    **Combination rules** (``combine``), with ``mu``, ``sigma`` the mean and
    standard deviation of the group's training anomaly scores of the member:

    - ``"sum"``: ``A = sum_m w_m v_m`` with ``v_m`` normalised by ``normalize``;
    - ``"mean"``: the weighted mean ``sum_m w_m v_m / sum_m w_m``, the same with
      ``normalize``; a weighted mean when ``weights`` is given;
    - ``"rank"``: the weighted mean of the members' percentiles, ``v_m`` = the
      fraction of the group's training anomaly scores below the clip's (ties
      count half), in [0, 1]. Clips beyond every training score tie at 1.
      ``normalize`` does not change percentiles and is ignored;
    - ``"product"``: the weighted product of the members' Gaussian tail
      probabilities ``p_m = P(Z > (a_m - mu) / sigma)``, ``Z`` standard normal,
      each in (0, 1): ``A = -log prod_m p_m ** w_m = sum_m w_m (-log p_m)``
      (Fisher's combination of p-values). A clip is as anomalous as its product
      of tail probabilities is small; ``-log p_m`` grows like ``z ** 2 / 2`` for
      anomalous clips and vanishes for clearly normal ones. Computed in log space
      (:func:`scipy.special.log_ndtr`), so it stays finite far in the tail.
      ``normalize`` is ignored (the z-score is built in).

    **Normalisations** (``normalize``, for ``"sum"`` and ``"mean"``):
    ``"zscore"`` ``(a - mu) / sigma``; ``"minmax"`` ``(a - min) / (max - min)``
    (1 at the largest training score, above 1 beyond it); None the raw anomaly
    scores (members' scales must then be comparable). Every member needs at least
    two distinct training scores per group.

    **Metadata.** ``section`` and ``machine_type`` group the clips; every
    metadata given to ``fit`` (``section``, ``machine_type``, ``domain``,
    ``attributes``...) goes to the members that request it, through scikit-learn
    metadata routing (:meth:`get_metadata_routing`), and so do ``section`` and
    ``machine_type`` when scoring. Members that are Pipelines only accept metadata
    with ``sklearn.set_config(enable_metadata_routing=True)``, like any Pipeline.
    ``y`` is passed to every member's ``fit`` (sklasd detectors leave anomalous
    clips out, or use them where their docstring says so); the normalisation and
    the thresholds use the normal clips only.

    **Model selection.** ``combine``, ``weights``, ``normalize`` and the members'
    parameters (``<name>__<param>``) are parameters of a search; setting a
    member to ``"drop"`` leaves it out.

    Parameters
    ----------
    estimators : list of (str, estimator)
        The members: names and unfitted detectors or Pipelines ending in a
        detector (cloned in ``fit``), or ``"drop"``. Names are unique and
        contain no ``"__"``.
    combine : {"sum", "mean", "rank", "product"}, default="mean"
        Combination rule; see above.
    weights : array-like of shape (n_estimators,) or None, default=None
        Non-negative weight of every member (entries of dropped members are
        ignored); None weighs all members 1.
    normalize : {"zscore", "minmax"} or None, default="zscore"
        Normalisation for ``"sum"`` and ``"mean"``; see above.
    %(contamination)s

    Attributes
    ----------
    estimators_ : list of estimator
        The fitted members that were not dropped, in order.
    named_estimators_ : Bunch
        The fitted members by name.
    weights_ : ndarray of shape (n_members,)
        The weight of every fitted member, aligned with ``estimators_``.
    training_scores_ : ndarray of shape (n_normal_clips, n_members)
        The anomaly scores (``-decision_function``, leave-one-out where the
        member's thresholds use such) every member gave the normal training
        clips: the data the normalisations are fitted on.
    training_groups_ : ndarray of shape (n_normal_clips,)
        Index into ``sections_`` of the group of every row of
        ``training_scores_``.
    machine_types_ : ndarray of shape (n_machine_types,) or None
        Machine types seen in ``fit``; None when fitted without ``machine_type``.
    sections_ : ndarray of shape (n_sections,) or None
        Groups seen in ``fit``: sections, or (machine type, section) tuples when
        fitted with ``machine_type``; None when fitted without ``section``.
    offset_ : ndarray of shape (n_sections,)
        Threshold of each group in ``score_samples`` units.

    See Also
    --------
    MachineTypeSelector : Pick the best member per machine type instead.
    ScoreEnsemble.member_scores : The per-member values that are combined.

    Examples
    --------
    Two scorer pipelines on log-mel features, combined by rank average:

    >>> import sklearn
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklasd.datasets import make_machine_sounds
    >>> from sklasd.ensemble import ScoreEnsemble
    >>> from sklasd.features import LogMel, TimePooling
    >>> from sklasd.scoring import CosineScorer, KNNScorer
    >>> X, meta = make_machine_sounds(machine_types="fan", n_train=8, n_test=4,
    ...                               duration=1.0, random_state=0)
    >>> train = (meta["split"] == "train").to_numpy()
    >>> section = meta["section"].to_numpy()
    >>> ensemble = ScoreEnsemble(
    ...     [("knn", make_pipeline(LogMel(n_mels=32), TimePooling(), KNNScorer())),
    ...      ("cosine", make_pipeline(LogMel(n_mels=32), TimePooling(), CosineScorer()))],
    ...     combine="rank",
    ... )
    >>> with sklearn.config_context(enable_metadata_routing=True):
    ...     ensemble = ensemble.fit(X[train], section=section[train])
    ...     anomaly_score = -ensemble.decision_function(X[~train], section=section[~train])
    ...     per_member = ensemble.member_scores(X[~train], section=section[~train])
    >>> anomaly_score.shape, per_member.shape
    ((24,), (24, 2))
    >>> list(ensemble.named_estimators_)
    ['knn', 'cosine']
    """

    __metadata_request__partial_fit: ClassVar[dict] = {"section": True}

    _parameter_constraints: ClassVar[dict] = {
        **BaseDetector._parameter_constraints,
        "estimators": [list],
        "combine": [StrOptions({"sum", "mean", "rank", "product"})],
        "weights": ["array-like", None],
        "normalize": [StrOptions({"zscore", "minmax"}), None],
    }

    def __init__(
        self,
        estimators: list[tuple[str, Any]],
        *,
        combine: str = "mean",
        weights: Any = None,
        normalize: str | None = "zscore",
        contamination: str | float = "gamma",
        gamma_quantile: float = 0.9,
    ):
        super().__init__(contamination=contamination, gamma_quantile=gamma_quantile)
        self.estimators = estimators
        self.combine = combine
        self.weights = weights
        self.normalize = normalize

    def _fit(self, X, y, *, section, machine_type=None, **metadata):
        n_samples = _num_samples(X)
        members = self._active_members()
        self.weights_ = self._member_weights(members)
        routed, _ = self._route("fit", section, **metadata)
        fitted, decisions = {}, []
        for name, member in members:
            fitted[name], decision = self._fit_member(name, member, X, y, routed[name]["fit"])
            decisions.append(decision)
        self.estimators_ = list(fitted.values())
        self.named_estimators_ = Bunch(**fitted)
        anomaly = -np.column_stack(decisions)
        indices = self._section_indices(section, n_samples)
        normal = np.ones(n_samples, dtype=bool) if y is None else y == 0
        self.training_scores_ = anomaly[normal]
        self.training_groups_ = indices[normal]
        self._check_training_scores()
        return -self._combine(self._normalized(anomaly, indices))

    def partial_fit(
        self, X: Any, y: Any = None, *, section: Any = None, **metadata: Any
    ) -> ScoreEnsemble:
        """Teach every member new normal clips without refitting; renormalise.

        The first call (on an unfitted ensemble) is :meth:`fit`. Later calls need
        members that offer ``partial_fit`` on their own (the neighbour and
        Mahalanobis scorer steps of :mod:`sklasd.scoring`): each takes the clips
        (with its routed metadata, e.g. ``domain``) and refits the sections they
        belong to. The ensemble then takes its members' training scores of all
        their training clips as the new normalisation reference of those
        sections and refits their thresholds; the other sections stay as they
        were. Sections seen for the first time get a reference and a threshold of
        their own. Needs metadata routing
        (``sklearn.set_config(enable_metadata_routing=True)``), as :meth:`fit`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            New training clips, as the members take them.
        y : array-like of shape (n_samples,), default=None
            Anomaly labels, 0 normal and 1 anomalous; anomalous clips are left out.
        section : array-like of shape (n_samples,), default=None
            Section of every clip; required when fitted with sections.
        **metadata : dict
            Metadata routed to the members' ``partial_fit`` (e.g. ``domain``).

        Returns
        -------
        self : ScoreEnsemble
            The updated ensemble.

        Raises
        ------
        TypeError
            If a member has no ``partial_fit`` of its own.
        ValueError
            If the ensemble was fitted with ``machine_type``.
        """
        if not hasattr(self, "estimators_"):
            return self.fit(X, y, section=section, **metadata)
        if self.machine_types_ is not None:
            raise ValueError(
                "ScoreEnsemble.partial_fit takes no machine types: the ensemble was "
                "fitted with machine_type; refit it instead."
            )
        for name, member in self.named_estimators_.items():
            if not hasattr(member, "training_sets_"):
                raise TypeError(
                    f"Member {name!r} ({type(member).__name__}) cannot take new clips "
                    "without refitting: partial_fit needs members such as KNNScorer, "
                    "CosineScorer or MahalanobisScorer. Refit the ensemble instead."
                )
        routed = process_routing(self, "partial_fit", **_given(section=section, **metadata))
        for name, member in self.named_estimators_.items():
            member.partial_fit(X, y, **routed[name]["partial_fit"])
        previous = self.sections_
        members = list(self.named_estimators_.values())
        self.sections_ = members[0].sections_
        kept = (
            np.zeros(1, dtype=np.intp)
            if previous is None
            else pd.Index(previous).get_indexer(self.sections_)
        )
        refit = np.unique(
            self._section_indices(check_section(section, _num_samples(X)), _num_samples(X))
        )
        scores, groups, offsets = [], [], []
        for index, old in enumerate(kept):
            if index in refit:  # the members' training decision values, as fit takes them
                anomaly = -np.column_stack(
                    [
                        member._training_scores(index, **member.training_sets_[index])
                        - member.offset_[index]
                        for member in members
                    ]
                )
            else:
                anomaly = self.training_scores_[self.training_groups_ == old]
            scores.append(anomaly)
            groups.append(np.full(len(anomaly), index))
        self.training_scores_ = np.concatenate(scores)
        self.training_groups_ = np.concatenate(groups)
        self._check_training_scores()
        combined = -self._combine(self._normalized(self.training_scores_, self.training_groups_))
        for index, old in enumerate(kept):
            rows = self.training_groups_ == index
            if index in refit:
                offsets.append(self._threshold(combined[rows], index))
            else:
                offsets.append(self.offset_[old])
        self.offset_ = np.array(offsets, dtype=float)
        self.training_decision_ = combined - self.offset_[self.training_groups_]
        return self

    def _score_samples(self, X, *, section):
        indices = self._section_indices(section, _num_samples(X))
        return -self._combine(self._member_values(X, section, indices))

    def member_scores(
        self, X: Any, *, section: Any = None, machine_type: Any = None
    ) -> np.ndarray:
        """The normalised anomaly score of every member, as combined.

        Parameters
        ----------
        X : sequence of str of length n_clips, or array-like of shape (n_clips, ...)
            Clips to score (what the members accept).
        section : array-like of shape (n_clips,), default=None
            Section of every clip; required when fitted with sections.
        machine_type : array-like of shape (n_clips,), default=None
            Machine type of every clip; required when fitted with machine types.

        Returns
        -------
        scores : ndarray of shape (n_clips, n_members)
            Column ``m`` is member ``m``'s value ``v_m`` (see the class docstring),
            higher is more anomalous, in the order of ``named_estimators_``. The
            ensemble anomaly score combines the columns with ``weights_``.
        """
        check_is_fitted(self)
        X, groups = self._scoring_groups(X, section, machine_type)
        X = self._validate_X(X, reset=False)
        n_samples = _num_samples(X)
        groups = check_section(groups, n_samples)
        indices = self._section_indices(groups, n_samples)
        if self.sections_ is None:
            groups = None
        return self._member_values(X, groups, indices)

    # -- internals ---------------------------------------------------------------------

    def _member_weights(self, members: list[tuple[str, Any]]) -> np.ndarray:
        if self.weights is None:
            return np.ones(len(members))
        weights = np.asarray(self.weights, dtype=float)
        if weights.shape != (len(self.estimators),):
            raise ValueError(
                f"weights must have one entry per member ({len(self.estimators)}); got "
                f"shape {weights.shape}."
            )
        active = np.array([member != "drop" for _, member in self.estimators])
        weights = weights[active]
        if not np.isfinite(weights).all() or (weights < 0).any() or weights.sum() <= 0:
            raise ValueError(
                f"weights must be finite, non-negative and not all 0 for the members kept; "
                f"got {weights.tolist()} for {[name for name, _ in members]}."
            )
        return weights

    def _check_training_scores(self) -> None:
        """Every member needs two distinct normal training scores in every group."""
        for group in np.unique(self.training_groups_):
            scores = self.training_scores_[self.training_groups_ == group]
            for column, name in enumerate(self.named_estimators_):
                if np.unique(scores[:, column]).size < 2:
                    raise ValueError(
                        f"Member {name!r} gives fewer than 2 distinct scores to the normal "
                        f"training clips of {self._group_name(group)}; its scores cannot be "
                        "normalised there. Use more clips or another member."
                    )

    def _member_values(self, X, section, indices) -> np.ndarray:
        """Normalised anomaly scores of every member, shape (n_clips, n_members)."""
        routed, _ = self._route("decision_function", section)
        anomaly = np.column_stack(
            [
                -np.asarray(
                    member.decision_function(X, **routed[name]["decision_function"]),
                    dtype=float,
                )
                for name, member in self.named_estimators_.items()
            ]
        )
        return self._normalized(anomaly, indices)

    def _normalized(self, anomaly: np.ndarray, indices: np.ndarray) -> np.ndarray:
        """Map members' anomaly scores, shape (n_clips, n_members), group by group."""
        values = np.empty_like(anomaly)
        for group in np.unique(indices):
            rows = indices == group
            reference = self.training_scores_[self.training_groups_ == group]
            values[rows] = self._map(anomaly[rows], reference)
        return values

    def _map(self, anomaly: np.ndarray, reference: np.ndarray) -> np.ndarray:
        """The values of ``combine`` from anomaly scores and the training reference."""
        if self.combine == "rank":
            return np.column_stack(
                [_midrank_percentiles(a, r) for a, r in zip(anomaly.T, reference.T, strict=True)]
            )
        if self.combine == "product" or self.normalize == "zscore":
            z = (anomaly - reference.mean(axis=0)) / reference.std(axis=0)
            return -scipy.special.log_ndtr(-z) if self.combine == "product" else z
        if self.normalize == "minmax":
            low = reference.min(axis=0)
            return (anomaly - low) / (reference.max(axis=0) - low)
        return anomaly

    def _combine(self, values: np.ndarray) -> np.ndarray:
        """Ensemble anomaly scores from the members' values (n_clips, n_members)."""
        total = values @ self.weights_
        if self.combine in ("mean", "rank"):
            return total / self.weights_.sum()
        return total
