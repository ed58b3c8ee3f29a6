"""Anomaly scores and decisions written as DCASE Task 2 challenge CSV files."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pandas as pd

from sklasd.utils import atomic_write

__all__ = ["write_challenge_csvs"]

# file-name stem of each naming scheme, from (machine_type, section, domain)
_NAMINGS = {
    "section": "{machine_type}_section_{section:02d}_test",  # DCASE 2022-2025
    "section_domain": "{machine_type}_section_{section:02d}_{domain}_test",  # DCASE 2021
    "id": "{machine_type}_id_{section:02d}",  # DCASE 2020
}


def write_challenge_csvs(
    output_dir: str | os.PathLike,
    frame: pd.DataFrame,
    anomaly_score,
    decision=None,
    *,
    naming: str = "section",
) -> list[Path]:
    """Write anomaly scores (and decisions) as the DCASE Task 2 submission CSV files.

    For every (machine type, section) of ``frame`` this writes
    ``anomaly_score_<machine_type>_section_<XX>_test.csv`` and, when ``decision`` is given,
    ``decision_result_<machine_type>_section_<XX>_test.csv``: header-less rows
    ``<file name>,<value>`` sorted by file name, the file name being the clip's base name
    (e.g. ``section_00_0000.wav``), as the official baselines write them and the official
    evaluators read them. Existing files of the same name are replaced. Each file is
    written under a temporary name and renamed into place
    (:func:`sklasd.utils.atomic_write`), so none is ever left half written.

    Parameters
    ----------
    output_dir : str or path-like
        Folder to write to; created (with its parents) when missing.
    frame : pandas.DataFrame of shape (n_clips, n_columns)
        Metadata of the scored clips, as returned by :func:`sklasd.datasets.load_dcase`:
        columns ``path``, ``machine_type`` and ``section`` are used (``domain`` too with
        ``naming="section_domain"``). Every clip must be a test clip where a ``split``
        column is present, and base names must be unique within a (machine type,
        section).
    anomaly_score : array-like of shape (n_clips,)
        Anomaly score of each clip, **higher = more anomalous** (the challenge's
        convention), i.e. ``-detector.decision_function(X)`` for sklasd detectors. Must be
        finite.
    decision : array-like of shape (n_clips,), default=None
        Whether each clip is judged anomalous: booleans or 0/1 (1 = anomalous), e.g.
        ``detector.predict(X) == -1``. ``None`` writes no decision files.
    naming : {"section", "section_domain", "id"}, default="section"
        File-name scheme: ``"section"`` for DCASE 2022-2025
        (``anomaly_score_fan_section_00_test.csv``), ``"section_domain"`` for DCASE 2021
        (``anomaly_score_fan_section_00_source_test.csv``, one file per domain), ``"id"``
        for DCASE 2020 (``anomaly_score_fan_id_00.csv``).

    Returns
    -------
    paths : list of pathlib.Path
        The files written, sorted.

    Raises
    ------
    ValueError
        If lengths differ, a score is not finite or a decision is not 0/1 (the message
        names the clip), a column is missing, a clip is not a test clip, or two clips of a
        file share a base name.

    See Also
    --------
    sklasd.datasets.load_dcase : Read the clip metadata this function expects.

    Examples
    --------
    >>> import tempfile
    >>> import pandas as pd
    >>> from sklasd.datasets import write_challenge_csvs
    >>> frame = pd.DataFrame({
    ...     "path": ["eval/fan/test/section_00_0001.wav", "eval/fan/test/section_00_0000.wav",
    ...              "eval/pump/test/section_00_0000.wav"],
    ...     "machine_type": ["fan", "fan", "pump"],
    ...     "section": [0, 0, 0],
    ...     "split": ["test", "test", "test"],
    ... })
    >>> out = tempfile.mkdtemp()
    >>> paths = write_challenge_csvs(out, frame, [0.25, 1.5, -0.5],
    ...                              decision=[False, True, False])
    >>> [path.name for path in paths]  # doctest: +NORMALIZE_WHITESPACE
    ['anomaly_score_fan_section_00_test.csv', 'anomaly_score_pump_section_00_test.csv',
     'decision_result_fan_section_00_test.csv', 'decision_result_pump_section_00_test.csv']
    >>> print(paths[0].read_text(), end="")
    section_00_0000.wav,1.5
    section_00_0001.wav,0.25
    >>> print(paths[2].read_text(), end="")
    section_00_0000.wav,1
    section_00_0001.wav,0
    """
    if naming not in _NAMINGS:
        raise ValueError(f"naming must be one of {sorted(_NAMINGS)}, got {naming!r}.")
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas DataFrame, got {type(frame).__name__}.")
    needed = ["path", "machine_type", "section"] + (
        ["domain"] if naming == "section_domain" else []
    )
    missing = [column for column in needed if column not in frame.columns]
    if missing:
        raise ValueError(f"frame lacks column(s) {missing} needed by naming={naming!r}.")
    paths = frame["path"].to_numpy(dtype=object)
    if any(not isinstance(path, str | os.PathLike) for path in paths):
        raise ValueError("Every clip needs a file path in frame['path'] (found a missing one).")
    paths = np.array([os.fspath(path) for path in paths], dtype=object)
    names = np.array([os.path.basename(path) for path in paths], dtype=object)
    if "split" in frame.columns:
        not_test = np.flatnonzero(frame["split"].to_numpy(dtype=object) != "test")
        if not_test.size:
            raise ValueError(
                f"Challenge files hold test clips only; {paths[not_test[0]]!r} has split "
                f"{frame['split'].iloc[not_test[0]]!r}."
            )
    score = _as_column(anomaly_score, "anomaly_score", len(frame))
    bad = np.flatnonzero(~np.isfinite(score))
    if bad.size:
        raise ValueError(
            f"anomaly_score of {paths[bad[0]]!r} is {score[bad[0]]}; expected a finite number."
        )
    if decision is not None:
        decision = _as_column(decision, "decision", len(frame))
        bad = np.flatnonzero((decision != 0) & (decision != 1))
        if bad.size:
            raise ValueError(
                f"decision of {paths[bad[0]]!r} is {decision[bad[0]]}; expected True/False or "
                "1 (anomalous)/0 (normal). For predict() output (+1/-1) pass predict(X) == -1."
            )
        decision = decision.astype(int)

    domains = [None] * len(frame)
    if naming == "section_domain":
        domains = frame["domain"]
        unknown = np.flatnonzero(~frame["domain"].isin(["source", "target"]).to_numpy())
        if unknown.size:
            raise ValueError(
                f"naming='section_domain' needs the domain of every clip; "
                f"{paths[unknown[0]]!r} has {frame['domain'].iloc[unknown[0]]!r}."
            )
    stems = np.array(
        [
            _NAMINGS[naming].format(machine_type=machine_type, section=int(section), domain=domain)
            for machine_type, section, domain in zip(
                frame["machine_type"], frame["section"], domains, strict=True
            )
        ],
        dtype=object,
    )
    files = {}
    for stem in sorted(set(stems)):
        rows = np.flatnonzero(stems == stem)
        rows = rows[np.argsort(names[rows], kind="stable")]
        repeated = np.flatnonzero(names[rows][1:] == names[rows][:-1])
        if repeated.size:
            raise ValueError(
                f"Clips {paths[rows[repeated[0]]]!r} and {paths[rows[repeated[0] + 1]]!r} "
                f"share a file name but would go into the same file ({stem})."
            )
        files[f"anomaly_score_{stem}.csv"] = (rows, [float(value) for value in score[rows]])
        if decision is not None:
            files[f"decision_result_{stem}.csv"] = (rows, decision[rows].tolist())

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    for file_name, (rows, values) in files.items():
        with atomic_write(output_dir / file_name, newline="") as handle:
            csv.writer(handle, lineterminator="\n").writerows(
                zip(names[rows], values, strict=True)
            )
    return sorted(output_dir / file_name for file_name in files)


def _as_column(values, name, n_clips):
    """A 1-D float array of length ``n_clips``, or a ValueError naming ``name``."""
    array = np.asarray(values, dtype=float)
    if array.ndim != 1 or array.shape[0] != n_clips:
        raise ValueError(f"{name} must have shape ({n_clips},) like frame, got {array.shape}.")
    return array
