"""Per machine type, the member detector that scores best on labelled development clips."""

from __future__ import annotations

import inspect
from numbers import Integral
from typing import Any, ClassVar

import numpy as np
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import _num_samples

from sklasd.base import BaseDetector
from sklasd.ensemble._base import _given, _MemberEnsemble, _take_params
from sklasd.metrics import get_asd_scorer, get_asd_scorer_names
from sklasd.model_selection import NormalOnlyKFold
from sklasd.utils._docstrings import fill_doc

__all__ = ["MachineTypeSelector"]

#: Machine type of all clips when fitted without machine_type.
_ONE_TYPE = "all"


@fill_doc
class MachineTypeSelector(_MemberEnsemble):
    """For every machine type, the member detector that scores best on development data.

    The ensemble of Wang et al. ("Unsupervised anomalous sound detection for
    machine condition monitoring using classification-based methods", Applied
    Sciences 11(23), 2021): several detectors are evaluated on the labelled
    development clips of every machine type, and each machine type is then scored
    by the detector that did best on it.

    **Protocol.** ``fit(X, y, section=..., machine_type=..., domain=...)`` takes
    *labelled* development clips: ``y`` holds normal (0) and anomalous (1) clips
    of every machine type. **The selection uses these ground-truth labels**, as the
    paper did with the development set's test clips; report scores of the selected
    detectors on other clips (the evaluation set), since the selection itself is
    fitted to the development labels.

    1. The clips are split once by ``cv`` (by default :class:`NormalOnlyKFold`
       with ``cv`` folds, stratified per (machine type, section) group; or
       :class:`~sklasd.model_selection.DCASESplit` over the DCASE ``split``
       column: train on the training split, select on the test split). Training
       folds hold normal clips only (anomalous clips a splitter puts there are
       left out).
    2. For every machine type and member, a clone of the member is fitted on the
       type's clips of every training fold and scored with ``scoring`` (an
       :class:`~sklasd.metrics.ASDScorer`: per section, with ``section`` and
       ``domain``) on the type's clips of the test fold; ``cv_scores_`` holds the
       mean over the folds.
    3. ``selected_[machine_type]`` is the member with the best mean score (the
       first one on ties); a clone of it is fitted on all normal clips of the
       machine type (``best_estimators_``).

    Every member sees one machine type at a time, so ``machine_type`` is not
    passed to the members (the other metadata given to ``fit``, e.g. ``section``,
    ``domain``, ``attributes``, reaches the members that request it, through
    metadata routing). Without ``machine_type`` all clips form one machine type,
    ``"all"``: the selector then picks the single best member.

    **Model selection.** Members' parameters (``<name>__<param>``), ``"drop"``,
    ``cv`` and ``scoring`` are parameters of a search. Since the selection needs
    labels, the outer splits of a search must leave anomalous clips in the
    training part (e.g. a :class:`~sklearn.model_selection.StratifiedKFold` over
    (machine type, section, label)); the training folds of
    :class:`~sklasd.model_selection.NormalOnlyKFold` hold normal clips only and
    are refused by ``fit``.

    Scoring a clip uses the selected member of its machine type:
    ``score_samples`` is that member's ``decision_function``, and the selector's
    own thresholds (``offset_``, per (machine type, section) group) are fitted on
    the selected members' training scores of the normal clips, so ``predict``
    works as for any :class:`~sklasd.base.BaseDetector`. Members that are
    Pipelines need ``sklearn.set_config(enable_metadata_routing=True)``.

    Parameters
    ----------
    estimators : list of (str, estimator)
        The candidate members: names and unfitted detectors or Pipelines ending in
        a detector, or ``"drop"``.
    cv : int or splitter, default=3
        An int: :class:`~sklasd.model_selection.NormalOnlyKFold` with that many
        folds. Or a splitter with ``split(X, y[, section])`` over all clips (given
        the (machine type, section) group of every clip as ``section`` when its
        ``split`` takes it), e.g. ``DCASESplit(frame["split"])``.
    scoring : str or callable, default="dcase2022"
        A name of :func:`~sklasd.metrics.get_asd_scorer` (``"auc"``,
        ``"pauc"``, ``"dcase2020"`` ... ``"dcase2025"``) or a callable
        ``scoring(estimator, X, y, section=..., domain=...) -> float``, greater is
        better, such as :func:`~sklasd.metrics.make_asd_scorer`'s.
    %(contamination)s

    Attributes
    ----------
    selected_ : dict of str to str
        The name of the selected member of every machine type.
    cv_scores_ : dict of str to dict of str to float
        ``cv_scores_[machine_type][member]``: the member's mean ``scoring`` over
        the folds (``pandas.DataFrame.from_dict(cv_scores_, orient="index")``
        shows the table).
    best_estimators_ : dict of str to estimator
        The selected member of every machine type, fitted on its normal clips.
    machine_types_ : ndarray of shape (n_machine_types,) or None
        Machine types seen in ``fit``; None when fitted without ``machine_type``.
    sections_ : ndarray of shape (n_sections,) or None
        Groups seen in ``fit``: sections, or (machine type, section) tuples when
        fitted with ``machine_type``.
    offset_ : ndarray of shape (n_sections,)
        Threshold of each group in ``score_samples`` units.

    See Also
    --------
    ScoreEnsemble : Combine all members' scores instead.
    sklasd.detectors.fit_score_by_machine_type : One detector per machine type.

    Examples
    --------
    >>> import numpy as np
    >>> from sklasd.ensemble import MachineTypeSelector
    >>> from sklasd.scoring import KNNScorer, MahalanobisScorer
    >>> rng = np.random.default_rng(0)
    >>> machine_type = np.repeat(["fan", "pump"], 40)
    >>> section = np.tile(np.repeat([0, 1], 20), 2)
    >>> y = np.tile(np.r_[np.zeros(14, int), np.ones(6, int)], 4)
    >>> X = rng.normal(size=(80, 3)) + 2.0 * y[:, None] * (machine_type == "fan")[:, None]
    >>> X[(machine_type == "pump") & (y == 1), 0] *= 3.0
    >>> selector = MachineTypeSelector(
    ...     [("knn", KNNScorer(n_neighbors=2)), ("mahalanobis", MahalanobisScorer())],
    ...     cv=2, scoring="auc",
    ... ).fit(X, y, section=section, machine_type=machine_type)
    >>> sorted(selector.selected_)
    ['fan', 'pump']
    >>> anomaly_score = -selector.decision_function(X, section=section,
    ...                                             machine_type=machine_type)
    >>> anomaly_score.shape
    (80,)
    """

    __metadata_request__fit: ClassVar[dict] = {
        "section": True,
        "machine_type": True,
        "domain": True,
    }

    _parameter_constraints: ClassVar[dict] = {
        **BaseDetector._parameter_constraints,
        "estimators": [list],
        "cv": [Interval(Integral, 2, None, closed="left"), HasMethods(["split"])],
        "scoring": [StrOptions(set(get_asd_scorer_names())), callable],
    }

    _fit_scores_members = True
    _routes_machine_type = False

    def __init__(
        self,
        estimators: list[tuple[str, Any]],
        *,
        cv: int | Any = 3,
        scoring: str | Any = "dcase2022",
        contamination: str | float = "gamma",
        gamma_quantile: float = 0.9,
    ):
        super().__init__(contamination=contamination, gamma_quantile=gamma_quantile)
        self.estimators = estimators
        self.cv = cv
        self.scoring = scoring

    def _check_y(self, y: Any, n_samples: int) -> np.ndarray:
        y = super()._check_y(y, n_samples)
        if y is None or np.unique(y).size < 2:
            raise ValueError(
                "MachineTypeSelector selects members on labelled development clips: pass y "
                "with normal (0) and anomalous (1) clips."
            )
        return y

    def _fit(self, X, y, *, section, machine_type=None, domain=None, **metadata):
        n_samples = _num_samples(X)
        members = self._active_members()
        types = (
            np.full(n_samples, _ONE_TYPE, dtype=object) if machine_type is None else machine_type
        )
        routed, raw_section = self._route("fit", section, domain=domain, **metadata)
        scorer = get_asd_scorer(self.scoring) if isinstance(self.scoring, str) else self.scoring
        score_params = _given(section=raw_section, domain=domain)
        folds = self._folds(X, y, section)
        self.cv_scores_, self.selected_, self.best_estimators_ = {}, {}, {}
        scores = np.empty(n_samples)
        for machine_type_ in np.unique(types).tolist():
            of_type = types == machine_type_
            table = {
                name: self._cv_score(
                    name,
                    member,
                    machine_type_,
                    X,
                    y,
                    of_type,
                    folds,
                    routed[name],
                    scorer,
                    score_params,
                )
                for name, member in members
            }
            self.cv_scores_[machine_type_] = table
            best = max(table, key=table.get)
            self.selected_[machine_type_] = best
            scores[of_type] = self._fit_best(
                machine_type_, best, dict(members)[best], X, y, of_type, routed[best]
            )
        return scores

    def _cv_score(
        self, name, member, machine_type_, X, y, of_type, folds, routed, scorer, score_params
    ) -> float:
        """Mean ``scoring`` of ``member`` over the folds, on the clips of one machine type."""
        values = []
        for fold, (train, test) in enumerate(folds):
            train = np.intersect1d(train, np.flatnonzero(of_type & (y == 0)))
            test = np.intersect1d(test, np.flatnonzero(of_type))
            where = f"member {name!r}, machine type {machine_type_!r}, fold {fold}"
            if train.size == 0 or test.size == 0:
                raise ValueError(f"{where}: no normal training or no test clips.")
            model, _ = self._fit_member(
                name,
                member,
                _safe_indexing(X, train),
                y[train],
                _take_params(routed["fit"], train),
            )
            try:
                value = scorer(
                    model, _safe_indexing(X, test), y[test], **_take_params(score_params, test)
                )
            except ValueError as error:
                raise ValueError(f"Scoring {where}: {error}") from error
            values.append(value)
        return float(np.mean(values))

    def _folds(self, X, y, groups) -> list[tuple[np.ndarray, np.ndarray]]:
        """The (train, test) index pairs of ``cv`` over all clips."""
        cv = NormalOnlyKFold(self.cv) if isinstance(self.cv, Integral) else self.cv
        takes_section = "section" in inspect.signature(cv.split).parameters
        split = cv.split(X, y, section=groups) if takes_section else cv.split(X, y)
        return list(split)

    def _fit_best(self, machine_type_, name, member, X, y, of_type, routed) -> np.ndarray:
        """Fit the selected member on the type's normal clips; the type's training scores."""
        train = np.flatnonzero(of_type & (y == 0))
        anomalous = np.flatnonzero(of_type & (y == 1))
        model, decision = self._fit_member(
            name, member, _safe_indexing(X, train), y[train], _take_params(routed["fit"], train)
        )
        self.best_estimators_[machine_type_] = model
        scores = np.empty(of_type.sum())
        rows = np.flatnonzero(of_type)
        scores[np.isin(rows, train)] = decision
        if anomalous.size:
            params = _take_params(routed["decision_function"], anomalous)
            scores[np.isin(rows, anomalous)] = model.decision_function(
                _safe_indexing(X, anomalous), **params
            )
        return scores

    def _score_samples(self, X, *, section):
        n_samples = _num_samples(X)
        routed, _ = self._route("decision_function", section)
        if section is not None and self.machine_types_ is not None:
            types = np.array([pair[0] for pair in section], dtype=object)
        else:
            types = np.full(n_samples, _ONE_TYPE, dtype=object)
        scores = np.empty(n_samples)
        for machine_type_ in np.unique(types).tolist():
            rows = np.flatnonzero(types == machine_type_)
            name = self.selected_[machine_type_]
            params = _take_params(routed[name]["decision_function"], rows)
            scores[rows] = self.best_estimators_[machine_type_].decision_function(
                _safe_indexing(X, rows), **params
            )
        return scores
