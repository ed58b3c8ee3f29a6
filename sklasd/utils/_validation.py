"""Input validation shared by every sklasd estimator."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline
from sklearn.utils.metadata_routing import _routing_enabled
from sklearn.utils.validation import FLOAT_DTYPES, check_array

__all__ = ["check_clips", "check_labels", "check_metadata_array", "check_section"]

# Integer PCM dtypes and the scale that maps them to [-1, 1), as soundfile reads integer
# PCM files into floats (8-bit WAV is unsigned, centred on 128).
_PCM_SCALES = {
    np.dtype(np.int8): (0, 2**7),
    np.dtype(np.uint8): (2**7, 2**7),
    np.dtype(np.int16): (0, 2**15),
    np.dtype(np.int32): (0, 2**31),
}


def check_metadata_array(values: Any, n_samples: int, *, name: str) -> np.ndarray:
    """Validate one per-clip metadata array (``section``, ``domain``, ...).

    Parameters
    ----------
    values : array-like of shape (n_samples,)
        One value per clip: a list, ndarray or pandas Series of labels.
    n_samples : int
        Number of clips in ``X``; ``values`` must have exactly this length.
    name : str
        Name of the metadata, used in error messages (e.g. ``"section"``).

    Returns
    -------
    values : ndarray of shape (n_samples,)
        The values as a 1-D array (pandas nullable dtypes without missing values
        become their numpy counterparts).

    Raises
    ------
    ValueError
        If ``values`` is not 1-D, has a length other than ``n_samples``, holds
        missing values (None, NaN, ``pd.NA``), or mixes numbers and strings (which
        cannot be sorted into groups).

    Examples
    --------
    >>> from sklasd.utils import check_metadata_array
    >>> check_metadata_array([0, 0, 1], 3, name="section")
    array([0, 0, 1])
    >>> check_metadata_array([0, 1], 3, name="section")
    Traceback (most recent call last):
        ...
    ValueError: section has 2 values but X has 3 clips; pass one value per clip.
    """
    array = values.to_numpy() if hasattr(values, "to_numpy") else np.asarray(values)
    if array.ndim != 1:
        raise ValueError(
            f"{name} must be 1-D with one value per clip, got an array of shape {array.shape}."
        )
    if array.shape[0] != n_samples:
        raise ValueError(
            f"{name} has {array.shape[0]} values but X has {n_samples} clips; "
            "pass one value per clip."
        )
    missing = pd.isna(array)
    if missing.any():
        positions = np.flatnonzero(missing)
        raise ValueError(
            f"{name} has missing values at positions {positions[:10].tolist()}; "
            "every clip needs a value."
        )
    # A list of ints and strings becomes an array of strings ("0" beside "01"), an
    # object array cannot be sorted: either way the groups would be wrong.
    if array.dtype == object:
        items = array
    elif array.dtype.kind in "US" and not hasattr(values, "dtype"):
        items = list(values)
    else:
        return array
    is_text = np.array([isinstance(value, str | bytes) for value in items])
    is_number = np.array(
        [isinstance(value, int | float | np.number) and not isinstance(value, bool)
         for value in items]
    )  # fmt: skip
    if is_text.any() and is_number.any():
        text, number = items[np.argmax(is_text)], items[np.argmax(is_number)]
        raise ValueError(
            f"{name} mixes numbers and strings (e.g. {number!r} at position "
            f"{np.argmax(is_number)} and {text!r} at position {np.argmax(is_text)}); "
            f"give every clip the same kind of value, e.g. all ints: "
            f"[int(value) for value in {name}]."
        )
    return array


def check_section(section: Any, n_samples: int) -> np.ndarray | None:
    """Validate the ``section`` metadata; ``None`` (one group) passes through.

    Parameters
    ----------
    section : array-like of shape (n_samples,) or None
        Section (machine ID) of every clip, or None when the clips form one group.
    n_samples : int
        Number of clips in ``X``.

    Returns
    -------
    section : ndarray of shape (n_samples,) or None
        See :func:`check_metadata_array`.

    Examples
    --------
    >>> from sklasd.utils import check_section
    >>> check_section(None, 3) is None
    True
    >>> check_section(["00", "01", "00"], 3)
    array(['00', '01', '00'], dtype='<U2')
    """
    if section is None:
        return None
    return check_metadata_array(section, n_samples, name="section")


def check_labels(y: Any, n_samples: int) -> np.ndarray | None:
    """Validate anomaly labels ``y``: 0 normal, 1 anomalous; ``None`` passes through.

    Parameters
    ----------
    y : array-like of shape (n_samples,) or None
        Anomaly label of every clip (booleans are accepted).
    n_samples : int
        Number of clips in ``X``.

    Returns
    -------
    y : ndarray of shape (n_samples,) of int or None
        The labels as integers 0 and 1.

    Raises
    ------
    ValueError
        If ``y`` has the wrong length, missing values, or values other than 0 and 1
        (the message lists them).

    Examples
    --------
    >>> from sklasd.utils import check_labels
    >>> check_labels([0, 1, 0], 3)
    array([0, 1, 0])
    >>> check_labels([0, 2], 2)
    Traceback (most recent call last):
        ...
    ValueError: y must hold anomaly labels 0 (normal) and 1 (anomalous), got [2].
    """
    if y is None:
        return None
    y = check_metadata_array(y, n_samples, name="y")
    try:
        valid = np.isin(y, [0, 1])
    except TypeError:  # e.g. a mix of strings and numbers
        valid = np.zeros(y.shape, dtype=bool)
    if not valid.all():
        bad = sorted({str(v) if isinstance(v, str) else v.item() for v in y[~valid]}, key=str)
        raise ValueError(
            f"y must hold anomaly labels 0 (normal) and 1 (anomalous), got {bad[:10]}."
        )
    return y.astype(int)


def check_clips(X: Any) -> list[str] | np.ndarray:
    """Validate the clips input ``X``: paths or a 2-D float array of waveforms.

    Parameters
    ----------
    X : sequence of str or os.PathLike of length n_clips, or array-like of shape \
(n_clips, n_samples)
        Either a 1-D sequence of audio file paths, or waveforms as a 2-D float
        array with one clip per row.

    Returns
    -------
    X : list of str or ndarray of shape (n_clips, n_samples)
        The paths as a list of str, or the waveforms as a finite float32/float64
        array (float32 stays float32; other dtypes become float64). Integer PCM
        waveforms are scaled to [-1, 1) as soundfile reads integer PCM files:
        int16 divided by 32768 (to float32), int8 by 128 and uint8 (8-bit WAV)
        less 128 by 128 (to float32), int32 by 2**31 (to float64).

    Raises
    ------
    TypeError
        If ``X`` is a single path instead of a sequence of paths.
    ValueError
        If ``X`` mixes paths and waveforms, is 1-D numeric (a single waveform),
        empty, holds NaN or infinity, or holds integers of a type that is no PCM
        sample format (int64, uint16, ..., e.g. a list of Python ints).

    Examples
    --------
    >>> import numpy as np
    >>> from sklasd.utils import check_clips
    >>> check_clips(["a.wav", "b.wav"])
    ['a.wav', 'b.wav']
    >>> check_clips(np.zeros((2, 4), dtype=np.float32)).dtype
    dtype('float32')
    >>> check_clips(np.array([[-32768, 0, 16384]], dtype=np.int16))
    array([[-1. ,  0. ,  0.5]], dtype=float32)
    """
    if isinstance(X, (str, bytes, os.PathLike)):
        raise TypeError(
            f"X must be a sequence of clips, got the single path {X!r}; wrap it in a list."
        )
    if getattr(X, "ndim", 1) == 1 and isinstance(X, (Sequence, np.ndarray, pd.Series)):
        items = list(X)
        if not items:
            raise ValueError("X holds no clips.")
        is_path = [isinstance(item, (str, os.PathLike)) for item in items]
        if all(is_path):
            return [os.fspath(item) for item in items]
        if any(is_path):
            position = is_path.index(False)
            raise ValueError(
                f"X mixes file paths with other items: item {position} is "
                f"{type(items[position]).__name__}; pass only paths or only waveforms."
            )
    dtype = _integer_dtype(X)
    if dtype is not None:
        if dtype not in _PCM_SCALES:
            raise ValueError(
                f"X holds waveforms of dtype {dtype}, which is no integer PCM sample format "
                "(int8, uint8, int16, int32), so its scale is unknown. Pass float waveforms "
                "in [-1, 1], e.g. X / 32768 for 16-bit samples."
            )
        offset, scale = _PCM_SCALES[dtype]
        X = check_array(X, dtype=None, input_name="X")
        return (X.astype(np.float64 if scale > 2**24 else np.float32) - offset) / scale
    return check_array(X, dtype=FLOAT_DTYPES, input_name="X")


def _integer_dtype(X: Any) -> np.dtype | None:
    """The dtype of ``X`` when it holds integers (or booleans), else None."""
    if isinstance(X, pd.DataFrame):
        dtypes = set(X.dtypes)
        dtype = dtypes.pop() if len(dtypes) == 1 else None
    elif hasattr(X, "dtype"):
        dtype = X.dtype
    else:
        try:
            dtype = np.asarray(X).dtype
        except ValueError:  # ragged: check_array says so
            return None
    if dtype is None or not isinstance(dtype, np.dtype) or dtype.kind not in "iub":
        return None
    return dtype


def _check_routing_for(estimator: Any, method: str, params: dict, *, caller: str) -> None:
    """Refuse, with the fix, metadata bound for a Pipeline while metadata routing is off.

    A Pipeline passes metadata such as ``section`` on to its steps only with routing on;
    off, it raises a message that suggests ``<step>__<param>`` names instead.
    """
    if params and isinstance(estimator, Pipeline) and not _routing_enabled():
        raise ValueError(
            f"{caller} would pass {sorted(params)} to {method} of a Pipeline, but metadata "
            "routing is off, so the Pipeline cannot take it. Call "
            "sklearn.set_config(enable_metadata_routing=True) first (or run inside "
            "sklearn.config_context(enable_metadata_routing=True))."
        )
