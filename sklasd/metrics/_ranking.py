"""AUC and partial AUC of anomaly scores, with the input checks the DCASE metrics share."""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from sklearn.metrics import auc as _area
from sklearn.metrics import roc_auc_score, roc_curve

__all__ = ["auc", "pauc"]


def _positions(mask: np.ndarray) -> str:
    """Format the first few positions where ``mask`` is true."""
    where = np.flatnonzero(mask)
    shown = ", ".join(str(i) for i in where[:5])
    return f"[{shown}{', ...' if where.size > 5 else ''}]"


def _check_labels(y_true: ArrayLike, name: str = "y_true") -> np.ndarray:
    """Return ``y_true`` as a 1-D int array of 0 (normal) / 1 (anomalous) labels.

    Accepts lists, numpy arrays, pandas Series (also the nullable ``"Int64"`` dtype of the
    metadata frames) and booleans. Missing labels and labels other than 0/1 raise.
    """
    y = np.asarray(y_true)
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D (n_clips,); got shape {y.shape}.")
    missing = np.asarray(pd.isna(y), dtype=bool)
    if missing.any():
        raise ValueError(f"{name} has missing labels at positions {_positions(missing)}.")
    try:
        values = y.astype(float)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must hold 0 (normal) and 1 (anomalous) labels; got {np.unique(y)[:5]}."
        ) from None
    bad = ~np.isin(values, (0.0, 1.0))
    if bad.any():
        raise ValueError(
            f"{name} must hold 0 (normal) and 1 (anomalous) labels; got "
            f"{np.unique(y[bad])[:5].tolist()} at positions {_positions(bad)}."
        )
    return values.astype(int)


def _check_scores(y_true: ArrayLike, y_score: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Validate labels and anomaly scores; return them as 1-D int / float arrays."""
    y = _check_labels(y_true)
    s = np.asarray(y_score, dtype=float)
    if s.ndim != 1:
        raise ValueError(f"y_score must be 1-D (n_clips,); got shape {s.shape}.")
    if s.shape[0] != y.shape[0]:
        raise ValueError(
            f"y_true and y_score have different lengths: {y.shape[0]} labels and "
            f"{s.shape[0]} scores."
        )
    bad = ~np.isfinite(s)
    if bad.any():
        raise ValueError(f"y_score has NaN or infinite values at positions {_positions(bad)}.")
    return y, s


def _check_both_classes(y: np.ndarray, where: str = "y_true") -> None:
    """Raise when ``y`` lacks normal (0) or anomalous (1) clips; ``where`` names the data."""
    for label, name in ((0, "normal (label 0)"), (1, "anomalous (label 1)")):
        if not np.any(y == label):
            raise ValueError(
                f"{where} has no {name} clips; AUC and pAUC need both normal and anomalous clips."
            )


def _check_max_fpr(max_fpr: float) -> float:
    if not isinstance(max_fpr, numbers.Real) or isinstance(max_fpr, bool) or not 0 < max_fpr <= 1:
        raise ValueError(f"max_fpr must be a float in (0, 1]; got {max_fpr!r}.")
    return float(max_fpr)


def auc(y_true: ArrayLike, y_score: ArrayLike) -> float:
    """Area under the ROC curve of anomaly scores.

    Parameters
    ----------
    y_true : array-like of shape (n_clips,)
        0 for normal and 1 for anomalous clips. Both classes must be present.
    y_score : array-like of shape (n_clips,)
        Anomaly scores, higher = more anomalous (the DCASE convention; for a detector,
        ``-decision_function(X)``). NaN and infinite values raise.

    Returns
    -------
    float
        ``sklearn.metrics.roc_auc_score(y_true, y_score)``, in [0, 1]; 0.5 is chance.

    Raises
    ------
    ValueError
        If a class is missing (the message says which), labels are not 0/1 or missing,
        scores are not finite, or the lengths differ.

    See Also
    --------
    pauc : Partial AUC over the low false-positive-rate range.
    official_score : The DCASE challenge score over machine types and sections.

    Examples
    --------
    >>> from sklasd.metrics import auc
    >>> auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    y, s = _check_scores(y_true, y_score)
    _check_both_classes(y)
    return float(roc_auc_score(y, s))


def pauc(
    y_true: ArrayLike,
    y_score: ArrayLike,
    *,
    max_fpr: float = 0.1,
    standardized: bool = True,
) -> float:
    """Partial area under the ROC curve for false-positive rates in ``[0, max_fpr]``.

    Parameters
    ----------
    y_true : array-like of shape (n_clips,)
        0 for normal and 1 for anomalous clips. Both classes must be present.
    y_score : array-like of shape (n_clips,)
        Anomaly scores, higher = more anomalous. NaN and infinite values raise.
    max_fpr : float, default=0.1
        Upper end of the false-positive-rate range, in (0, 1]. DCASE uses 0.1.
    standardized : bool, default=True
        If True, return the McClish-standardised partial AUC,
        ``sklearn.metrics.roc_auc_score(y_true, y_score, max_fpr=max_fpr)``, which is what
        every official DCASE Task 2 evaluator reports as "pAUC": 0.5 for a chance-level
        detector, 1 for a perfect one. If False, return the raw partial area divided by
        ``max_fpr``: the mean true-positive rate over ``[0, max_fpr]`` of the ROC curve
        (linearly interpolated at ``max_fpr``), also in [0, 1], but with chance level
        ``max_fpr / 2`` (0.05 for ``max_fpr=0.1``).

    Returns
    -------
    float
        The partial AUC. With ``m = max_fpr``, ``u`` the un-standardised and ``p`` the
        standardised value: ``p = (1 + (u - m / 2) / (1 - m / 2)) / 2``.

    Raises
    ------
    ValueError
        If a class is missing (the message says which), labels are not 0/1 or missing,
        scores are not finite, lengths differ, or ``max_fpr`` is outside (0, 1].

    See Also
    --------
    auc : Area under the whole ROC curve.
    official_score : The DCASE challenge score over machine types and sections.

    Examples
    --------
    >>> from sklasd.metrics import pauc
    >>> y = [0, 0, 0, 0, 1, 1]
    >>> s = [0.1, 0.2, 0.3, 0.9, 0.8, 0.95]
    >>> round(pauc(y, s, max_fpr=0.25), 4)
    0.7143
    >>> round(pauc(y, s, max_fpr=0.25, standardized=False), 4)
    0.5
    """
    y, s = _check_scores(y_true, y_score)
    _check_both_classes(y)
    max_fpr = _check_max_fpr(max_fpr)
    if standardized:
        return float(roc_auc_score(y, s, max_fpr=max_fpr))
    fpr, tpr, _ = roc_curve(y, s)
    stop = np.searchsorted(fpr, max_fpr, side="right")
    fpr_part = np.append(fpr[:stop], max_fpr)
    tpr_part = np.append(tpr[:stop], np.interp(max_fpr, fpr, tpr))
    return float(_area(fpr_part, tpr_part) / max_fpr)
