"""Fit and score a whole DCASE dataset, one model per machine type."""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import sklearn
from sklearn.base import clone
from sklearn.utils.metadata_routing import get_routing_for_object

__all__ = ["fit_score_by_machine_type"]

# Columns of a load_dcase frame offered as fit metadata to the models that consume them.
_FIT_METADATA = ("section", "domain", "attributes")


def fit_score_by_machine_type(
    estimator: Any,
    frame: pd.DataFrame,
    *,
    X: Any = None,
    return_estimators: bool = False,
    on_error: str = "raise",
    verbose: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, dict[str, Any]]:
    """Fit a clone of ``estimator`` per machine type and score that type's test clips.

    Machine types are separate problems in DCASE Task 2: for every machine type of
    ``frame``, a clone of ``estimator`` is fitted on its training clips
    (``split == "train"``) and scores its test clips (``split == "test"``) with
    ``decision_function``. Metadata is routed as a Pipeline would with
    :func:`sklearn.set_config` ``(enable_metadata_routing=True)``: ``fit`` gets the
    columns ``section``, ``domain`` and ``attributes`` that the estimator consumes
    in ``fit`` (any detector, or a Pipeline whose steps request them), and
    ``decision_function`` gets ``section`` where consumed. The training labels
    ``y`` are passed when known (they are 0 in DCASE training splits). The
    machine type itself is not passed: each model sees one machine type (fit an
    :class:`IDClassifierDetector` on all types with ``machine_type`` for one model
    over all of them).

    Machine types without training or without test clips are skipped, and so are
    the test clips of sections without training clips (the DCASE 2020 development
    set's evaluation ids train elsewhere), each with a warning that names them;
    ``scores.attrs["failed_machine_types"]`` (machine type -> reason) and
    ``scores.attrs["unscored_sections"]`` list them. With ``on_error="warn"``, a
    machine type whose fit or scoring raises is skipped the same way (the reason
    holds the exception), so that one failing machine type does not discard the
    others.

    Parameters
    ----------
    estimator : estimator or dict of str to estimator
        Unfitted detector or Pipeline with ``fit`` and ``decision_function`` (higher
        = more normal); cloned for every machine type. A dict gives each machine
        type of ``frame`` its own (every machine type needs an entry).
    frame : DataFrame
        Clip metadata as returned by :func:`~sklasd.datasets.load_dcase` or
        :func:`~sklasd.datasets.make_machine_sounds`: columns ``machine_type``,
        ``section``, ``split``, ``label``, and ``path``, ``domain``, ``attributes``.
    X : array-like of shape (n_clips, ...) or sequence, default=None
        The clips, one per row of ``frame`` in order (e.g. the waveforms of
        :func:`~sklasd.datasets.make_machine_sounds`); None uses ``frame["path"]``.
    return_estimators : bool, default=False
        Also return the fitted estimator of every machine type.
    on_error : {"raise", "warn"}, default="raise"
        What an exception in the fit or scoring of one machine type does: end the
        call (``"raise"``), or skip that machine type with a warning and go on
        (``"warn"``).
    verbose : bool, default=False
        Print a line per machine type (clips and seconds, or why it was skipped).

    Returns
    -------
    scores : DataFrame
        The test rows of ``frame`` (with their index), plus ``anomaly_score``
        (``-decision_function``: higher is more anomalous) and ``is_anomaly`` (1
        where ``decision_function < 0``), ready for
        :func:`~sklasd.metrics.official_score` and
        :func:`~sklasd.datasets.write_challenge_csvs`.
    estimators : dict of str to estimator
        Only when ``return_estimators``: the fitted estimator of every scored machine
        type.

    Raises
    ------
    ValueError
        If a column is missing, ``X`` has another length than ``frame``, or no
        machine type was scored (the message gives each one's reason).

    See Also
    --------
    IDClassifierDetector : A detector to fit per machine type.
    sklasd.metrics.official_score : The DCASE score of the result.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklasd.datasets import make_machine_sounds
    >>> from sklasd.detectors import fit_score_by_machine_type
    >>> from sklasd.features import LogMel, TimePooling
    >>> from sklasd.metrics import official_score
    >>> from sklasd.scoring import KNNScorer
    >>> X, frame = make_machine_sounds(machine_types=["fan", "valve"], n_train=10,
    ...                                n_test=6, duration=1.0, random_state=0)
    >>> pipe = make_pipeline(LogMel(n_mels=32), TimePooling(), KNNScorer())
    >>> scores = fit_score_by_machine_type(pipe, frame, X=X)
    >>> scores.shape[0], sorted(scores["machine_type"].unique())
    (72, ['fan', 'valve'])
    >>> score = official_score(scores["label"].astype(int), scores["anomaly_score"],
    ...                        machine_type=scores["machine_type"], section=scores["section"],
    ...                        domain=scores["domain"], year=2022)
    >>> 0.0 <= score <= 1.0
    True
    """
    missing = sorted({"machine_type", "section", "split", "label"} - set(frame.columns))
    if missing:
        raise ValueError(f"frame lacks the column(s) {missing}; pass a load_dcase frame.")
    if X is None:
        if "path" not in frame.columns:
            raise ValueError("frame has no 'path' column: pass the clips as X.")
        X = frame["path"].to_numpy()
    elif len(X) != len(frame):
        raise ValueError(f"X has {len(X)} clips but frame has {len(frame)} rows.")
    elif isinstance(X, (pd.Series, pd.DataFrame)):
        X = X.to_numpy()
    if isinstance(estimator, Mapping):
        missing = sorted(set(frame["machine_type"]) - set(estimator))
        if missing:
            raise ValueError(f"estimator (a dict) has no entry for the machine type(s) {missing}.")
    if on_error not in ("raise", "warn"):
        raise ValueError(f"on_error must be 'raise' or 'warn'; got {on_error!r}.")
    scored, estimators, skipped, failed = [], {}, [], {}
    with sklearn.config_context(enable_metadata_routing=True):
        for machine_type, rows in frame.groupby("machine_type", sort=True).indices.items():
            split = frame["split"].to_numpy()[rows]
            train, test = rows[split == "train"], rows[split == "test"]
            sections = frame["section"].to_numpy()
            if train.size == 0 or test.size == 0:
                failed[machine_type] = f"no {'training' if train.size == 0 else 'test'} clips"
            else:
                unseen = ~np.isin(sections[test], sections[train])
                if unseen.any():
                    names = sorted(set(sections[test][unseen].tolist()))
                    skipped.append(f"{machine_type} section(s) {names}")
                    test = test[~unseen]
                if test.size == 0:
                    failed[machine_type] = "no test clips of a section with training clips"
            if machine_type in failed:
                if verbose:
                    print(f"{machine_type}: skipped ({failed[machine_type]})")
                continue
            if verbose:
                print(f"{machine_type}: fitting on {train.size} training clips", flush=True)
            start = time.perf_counter()
            chosen = estimator[machine_type] if isinstance(estimator, Mapping) else estimator
            try:
                model = _fit_clone(chosen, frame, X, train)
                decision = _decision(model, _take(X, test), frame["section"].to_numpy()[test])
            except Exception as error:
                if on_error == "raise":
                    raise
                failed[machine_type] = f"{type(error).__name__}: {error}".splitlines()[0]
                if verbose:
                    print(f"{machine_type}: failed ({failed[machine_type]})", flush=True)
                continue
            scored.append(
                frame.iloc[test].assign(
                    anomaly_score=-decision, is_anomaly=(decision < 0).astype(int)
                )
            )
            estimators[machine_type] = model
            if verbose:
                print(
                    f"{machine_type}: fitted and scored {test.size} test clips "
                    f"in {time.perf_counter() - start:.1f} s",
                    flush=True,
                )
    reasons = "; ".join(f"{name}: {reason}" for name, reason in failed.items())
    if not scored:
        raise ValueError(f"no machine type could be scored ({reasons})")
    scores = pd.concat(scored)
    if failed:
        warnings.warn(f"machine types not scored: {reasons}", UserWarning, stacklevel=2)
    if skipped:
        warnings.warn(
            f"test clips of sections without training clips are not scored: {'; '.join(skipped)}",
            UserWarning,
            stacklevel=2,
        )
    scores.attrs["unscored_sections"] = skipped
    scores.attrs["failed_machine_types"] = failed
    return (scores, estimators) if return_estimators else scores


def _fit_clone(estimator: Any, frame: pd.DataFrame, X: Any, rows: np.ndarray) -> Any:
    """A clone of ``estimator`` fitted on ``rows`` of ``X``, with the metadata it consumes.

    Call with metadata routing switched on. ``y`` is passed when every label is known.
    """
    model = clone(estimator)
    available = [name for name in _FIT_METADATA if name in frame.columns]
    fit_params = {
        name: frame[name].to_numpy()[rows]
        for name in get_routing_for_object(model).consumes("fit", available)
    }
    labels = frame["label"].iloc[rows]
    y = None if labels.isna().any() else labels.to_numpy(dtype=int)
    model.fit(_take(X, rows), y, **fit_params)
    return model


def _decision(model: Any, X: Any, section: np.ndarray | None) -> np.ndarray:
    """``model.decision_function(X)``, given ``section`` where the model consumes it.

    Call with metadata routing switched on.
    """
    consumed = get_routing_for_object(model).consumes("decision_function", ["section"])
    params = {"section": section} if consumed else {}
    return np.asarray(model.decision_function(X, **params))


def _take(X: Any, rows: np.ndarray) -> Any:
    """Rows of clips given as an array or a sequence of paths."""
    return X[rows] if isinstance(X, np.ndarray) else [X[i] for i in rows]
