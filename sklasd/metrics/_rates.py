"""False-alarm and miss rates of anomaly decisions, per machine type, section and domain."""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from sklasd.metrics._official import _clip_frame
from sklasd.metrics._ranking import _check_labels

__all__ = ["decision_rates"]

_COLUMNS = [
    "normal clips",
    "false alarms",
    "false-alarm rate",
    "anomalous clips",
    "misses",
    "miss rate",
]


def _counts(y: np.ndarray, flagged: np.ndarray) -> list[float]:
    normal, anomalous = y == 0, y == 1
    false_alarms = int(np.sum(flagged & normal))
    misses = int(np.sum(~flagged & anomalous))
    n_normal, n_anomalous = int(normal.sum()), int(anomalous.sum())
    return [
        n_normal,
        false_alarms,
        false_alarms / n_normal if n_normal else np.nan,
        n_anomalous,
        misses,
        misses / n_anomalous if n_anomalous else np.nan,
    ]


def decision_rates(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    section: ArrayLike | None,
    machine_type: ArrayLike | str | None = None,
    domain: ArrayLike | None = None,
) -> pd.DataFrame:
    """False-alarm and miss rates of anomaly decisions, per machine type, section and domain.

    AUC and pAUC judge the ranking of the scores; these rates judge the decisions that a
    monitoring system acts on, at the decision threshold: the share of normal clips
    flagged (false alarms) and the share of anomalous clips not flagged (misses). A
    section whose threshold sits too low flags every normal clip, whatever its AUC.

    Parameters
    ----------
    y_true : array-like of shape (n_clips,)
        0 for normal and 1 for anomalous clips.
    y_pred : array-like of shape (n_clips,)
        The decisions: 1 (or True) where a clip is flagged as anomalous, 0 (or False)
        where not, e.g. ``detector.predict(X) == -1`` or the ``is_anomaly`` column of
        :func:`~sklasd.detectors.fit_score_by_machine_type`.
    section : array-like of shape (n_clips,) or None
        Section of every clip; None treats all clips as section 0.
    machine_type : array-like of shape (n_clips,) or str, default=None
        Machine type of every clip; None: one machine type, shown as ``"all"``.
    domain : array-like of shape (n_clips,), default=None
        ``"source"`` or ``"target"`` per clip; None: one row per section, with domain
        ``"all"``.

    Returns
    -------
    rates : pandas.DataFrame
        Indexed by ``(machine_type, section, domain)``, sorted, with a last row
        ``("overall", "all", "all")`` over all clips. Columns: ``normal clips``,
        ``false alarms``, ``false-alarm rate`` (false alarms / normal clips),
        ``anomalous clips``, ``misses``, ``miss rate`` (misses / anomalous clips). A
        rate is NaN where its group has no clip of that class.

    Raises
    ------
    ValueError
        If labels or decisions are not 0/1 (``predict`` output, +1/-1, is refused with a
        hint), lengths differ, or metadata is missing or malformed.

    See Also
    --------
    dcase_report : AUC and pAUC per machine type and section.

    Examples
    --------
    >>> from sklasd.metrics import decision_rates
    >>> y = [0, 0, 0, 1, 1, 0, 0, 1]
    >>> flagged = [0, 1, 0, 1, 0, 1, 1, 1]
    >>> section = [0, 0, 0, 0, 0, 1, 1, 1]
    >>> rates = decision_rates(y, flagged, section=section, machine_type="fan")
    >>> rates[["false-alarm rate", "miss rate"]].round(3)  # doctest: +NORMALIZE_WHITESPACE
                                 false-alarm rate  miss rate
    machine_type section domain
    fan          0       all                0.333      0.500
                 1       all                1.000      0.000
    overall      all     all                0.600      0.333
    """
    decisions = np.asarray(y_pred)
    if decisions.ndim == 1 and np.isin(decisions, (-1, 1)).all() and (decisions == -1).any():
        raise ValueError(
            "y_pred must hold 1 (flagged as anomalous) and 0 (not flagged); it holds -1, as "
            "predict() output does: pass predict(X) == -1."
        )
    flagged = _check_labels(decisions, "y_pred").astype(bool)
    frame = _clip_frame(
        y_true, flagged.astype(float), section=section, machine_type=machine_type, domain=domain
    )
    if domain is None:
        frame["domain"] = "all"
    rows = {
        key: _counts(clips["y"].to_numpy(), flagged[clips.index])
        for key, clips in frame.groupby(["machine_type", "section", "domain"], sort=True)
    }
    rows["overall", "all", "all"] = _counts(frame["y"].to_numpy(), flagged)
    index = pd.MultiIndex.from_tuples(list(rows), names=["machine_type", "section", "domain"])
    rates = pd.DataFrame(list(rows.values()), index=index, columns=_COLUMNS)
    counts = ["normal clips", "false alarms", "anomalous clips", "misses"]
    return rates.astype(dict.fromkeys(counts, int))
