"""Official DCASE Task 2 scores (2020-2025) and the per-section report tables.

The rules mirror the official evaluators:

- 2020 (``y-kawagu/dcase2020_task2_evaluator``): AUC and pAUC per machine ID (section),
  averaged per machine type.
- 2021 (``y-kawagu/dcase2021_task2_evaluator``): AUC and pAUC per section and domain, each
  domain scored on its own test clips; summary = harmonic mean over machine types,
  sections and domains.
- 2022-2025 (``Kota-Dohi/dcase2022_evaluator``, ``nttcslab/dcase2023_task2_evaluator``
  and its 2024/2025 successors): per section, AUC (source) uses the section's source
  normals and all its anomalies (both domains), AUC (target) likewise with the target
  normals, pAUC uses all clips of the section; official score = harmonic mean of all
  these values over all machine types and sections, taken in one flat pool (no averaging
  per machine type first). Values are clipped at ``sys.float_info.epsilon`` before the
  harmonic mean, as the evaluators do.
"""

from __future__ import annotations

import numbers
import sys
from collections.abc import Iterator

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy.stats import hmean

from sklasd.metrics._ranking import (
    _check_both_classes,
    _check_max_fpr,
    _check_scores,
    _positions,
    auc,
    pauc,
)

__all__ = ["dcase_report", "official_score", "official_score_derivation"]

YEARS = (2020, 2021, 2022, 2023, 2024, 2025)
DOMAINS = ("source", "target")
_EPS = sys.float_info.epsilon
#: machine-type label of the rows when ``machine_type`` is None
_ONE_TYPE = "all"
#: machine-type label of the summary rows over all machine types
_OVERALL = "overall"


def _check_year(year: int) -> int:
    if not isinstance(year, numbers.Integral) or isinstance(year, bool) or year not in YEARS:
        raise ValueError(f"year must be one of {YEARS}; got {year!r}.")
    return int(year)


def _check_metadata(values: ArrayLike | str | None, name: str, n: int) -> np.ndarray | None:
    """Return per-clip metadata as a 1-D array of length ``n``; a str is broadcast."""
    if values is None:
        return None
    if isinstance(values, str):
        return np.full(n, values, dtype=object)
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (n_clips,); got shape {arr.shape}.")
    if arr.shape[0] != n:
        raise ValueError(f"{name} has {arr.shape[0]} entries but y_true has {n} clips.")
    missing = np.asarray(pd.isna(arr), dtype=bool)
    if missing.any():
        raise ValueError(f"{name} has missing values at positions {_positions(missing)}.")
    return arr


def _clip_frame(
    y_true: ArrayLike,
    y_score: ArrayLike,
    *,
    section: ArrayLike | None,
    machine_type: ArrayLike | str | None,
    domain: ArrayLike | None,
) -> pd.DataFrame:
    """Validate all inputs; one row per clip with machine_type/section/domain/y/score.

    ``section=None`` means one section (0), ``machine_type=None`` one machine type and
    ``domain=None`` all clips in the source domain.
    """
    y, s = _check_scores(y_true, y_score)
    n = y.shape[0]
    section = _check_metadata(section, "section", n)
    machine_type = _check_metadata(machine_type, "machine_type", n)
    domain = _check_metadata(domain, "domain", n)
    if domain is not None:
        unknown = ~np.isin(domain, DOMAINS)
        if unknown.any():
            raise ValueError(
                f"domain must hold 'source' or 'target'; got "
                f"{sorted(set(domain[unknown].tolist()))} at positions {_positions(unknown)}."
            )
    return pd.DataFrame(
        {
            "machine_type": _ONE_TYPE if machine_type is None else machine_type,
            "section": 0 if section is None else section,
            "domain": "source" if domain is None else domain,
            "y": y,
            "score": s,
        }
    )


def _iter_sections(
    frame: pd.DataFrame, *, named_types: bool
) -> Iterator[tuple[tuple[object, object], pd.DataFrame, str]]:
    """Yield ``((machine_type, section), clips, description)`` sorted by type and section."""
    for key, clips in frame.groupby(["machine_type", "section"], sort=True):
        where = (
            f"machine type '{key[0]}', section {key[1]}" if named_types else f"section {key[1]}"
        )
        yield key, clips, where


def _score_section(
    clips: pd.DataFrame, *, year: int, domains: list[str], max_fpr: float, where: str
) -> dict[str, float]:
    """AUC/pAUC values of one section under the rules of ``year`` (columns in order)."""
    y, s, d = clips["y"].to_numpy(), clips["score"].to_numpy(), clips["domain"].to_numpy()
    if year == 2020:
        _check_both_classes(y, where)
        return {"AUC": auc(y, s), "pAUC": pauc(y, s, max_fpr=max_fpr)}
    if year == 2021:
        aucs, paucs = {}, {}
        for domain in domains:
            own = d == domain
            _check_both_classes(y[own], f"{where}, domain '{domain}'")
            aucs[f"AUC ({domain})"] = auc(y[own], s[own])
            paucs[f"pAUC ({domain})"] = pauc(y[own], s[own], max_fpr=max_fpr)
        return {**aucs, **paucs}
    _check_both_classes(y, where)
    values = {}
    for domain in domains:
        used = (d == domain) | (y == 1)
        _check_both_classes(
            y[used], f"{where}, domain '{domain}' (its normal clips plus all anomalous clips)"
        )
        values[f"AUC ({domain})"] = auc(y[used], s[used])
    values["pAUC"] = pauc(y, s, max_fpr=max_fpr)
    return values


def _section_table(
    y_true: ArrayLike,
    y_score: ArrayLike,
    *,
    section: ArrayLike | None,
    machine_type: ArrayLike | str | None,
    domain: ArrayLike | None,
    year: int,
    max_fpr: float,
) -> pd.DataFrame:
    """One row per (machine_type, section) with the AUC/pAUC columns of ``year``."""
    year = _check_year(year)
    max_fpr = _check_max_fpr(max_fpr)
    frame = _clip_frame(y_true, y_score, section=section, machine_type=machine_type, domain=domain)
    domains = [dom for dom in DOMAINS if (frame["domain"] == dom).any()]
    rows = {
        key: _score_section(clips, year=year, domains=domains, max_fpr=max_fpr, where=where)
        for key, clips, where in _iter_sections(frame, named_types=machine_type is not None)
    }
    index = pd.MultiIndex.from_tuples(list(rows), names=["machine_type", "section"])
    return pd.DataFrame(list(rows.values()), index=index)


def _official_from_table(table: pd.DataFrame, year: int) -> float:
    if year == 2020:
        per_type = table.groupby(level="machine_type", sort=False).mean()
        return float(per_type.mean(axis=1).mean())
    return float(hmean(np.maximum(table.to_numpy(dtype=float).ravel(), _EPS)))


def _summary_rows(table: pd.DataFrame, label: str) -> pd.DataFrame:
    values = table.to_numpy(dtype=float)
    index = pd.MultiIndex.from_tuples(
        [(label, "arithmetic mean"), (label, "harmonic mean")], names=table.index.names
    )
    return pd.DataFrame(
        [values.mean(axis=0), hmean(np.maximum(values, _EPS), axis=0)],
        columns=table.columns,
        index=index,
    )


_PARAMETERS_DOC = """\
    y_true : array-like of shape (n_clips,)
        0 for normal and 1 for anomalous clips (e.g. the ``label`` column of a test frame;
        missing labels raise).
    y_score : array-like of shape (n_clips,)
        Anomaly scores, higher = more anomalous (``-decision_function(X)``). NaN raises.
    section : array-like of shape (n_clips,)
        Section number (the machine ID for 2020) of every clip; None treats all clips
        as one section.
    machine_type : array-like of shape (n_clips,) or str, default=None
        Machine type of every clip (a str applies to all clips). None: one machine type,
        shown as ``"all"`` in the report.
    domain : array-like of shape (n_clips,), default=None
        ``"source"`` or ``"target"`` per clip (ignored for 2020). None: all clips are
        source clips, so only the source-domain columns are computed.
    year : {2020, 2021, 2022, 2023, 2024, 2025}, default=2022
        Which challenge's rules to apply (2022-2025 share the same rules).
    max_fpr : float, default=0.1
        False-positive-rate limit of the (McClish-standardised) pAUC."""


def official_score(
    y_true: ArrayLike,
    y_score: ArrayLike,
    *,
    section: ArrayLike | None,
    machine_type: ArrayLike | str | None = None,
    domain: ArrayLike | None = None,
    year: int = 2022,
    max_fpr: float = 0.1,
) -> float:
    """The official DCASE Task 2 score of anomaly scores, as the challenge evaluators compute it.

        Clips are grouped by machine type and section; every section is scored on its own
        (anomaly scores of different sections need not be comparable). Per year:

        - **2020**: AUC and pAUC per section (machine ID), averaged per machine type (the
          2020 evaluator's "Average" rows). The 2020 challenge ranked systems by ranks, not by
          one number, so the single number returned here is the arithmetic mean over machine
          types of ``(mean AUC + mean pAUC) / 2`` of that machine type.
        - **2021**: AUC and pAUC per section and domain, each domain computed on its own test
          clips; the score is the harmonic mean of all these AUC and pAUC values over machine
          types, sections and domains.
        - **2022-2025**: per section, AUC (source) from the section's source normals plus all
          its anomalies of both domains, AUC (target) likewise with the target normals, pAUC
          from all clips of the section; the score is the harmonic mean of all these values
          over all machine types and sections, pooled in one flat list (as
          ``nttcslab/dcase2023_task2_evaluator`` does: no per-machine-type averaging first).

        Values are clipped at ``sys.float_info.epsilon`` before every harmonic mean, as in the
        evaluators. :func:`dcase_report` gives the table behind the number.

        Parameters
        ----------
    {parameters}

        Returns
        -------
        float
            The official score (greater is better).

        Raises
        ------
        ValueError
            If a section (2021: a section and domain) lacks normal or anomalous clips, a
            domain present in the data has no normal clips in some section (2022+), inputs
            hold NaN/missing values or differ in length, or ``year``/``max_fpr`` is invalid.
            The message names the machine type, section and domain.

        See Also
        --------
        dcase_report : The per machine type / section table with summary rows.
        auc, pauc : The per-section metrics.

        Examples
        --------
        >>> from sklasd.metrics import official_score
        >>> y = [0, 0, 1, 1, 0, 0, 1, 1]
        >>> score = [0.1, 0.2, 0.3, 0.9, 0.1, 0.5, 0.4, 0.7]
        >>> section = [0, 0, 0, 0, 1, 1, 1, 1]
        >>> domain = ["source", "target"] * 4
        >>> round(official_score(y, score, section=section, domain=domain, year=2023), 4)
        0.8155
        >>> round(official_score(y, score, section=section, year=2020), 4)
        0.8717
    """
    year = _check_year(year)
    table = _section_table(
        y_true,
        y_score,
        section=section,
        machine_type=machine_type,
        domain=domain,
        year=year,
        max_fpr=max_fpr,
    )
    return _official_from_table(table, year)


def dcase_report(
    y_true: ArrayLike,
    y_score: ArrayLike,
    *,
    section: ArrayLike | None,
    machine_type: ArrayLike | str | None = None,
    domain: ArrayLike | None = None,
    year: int = 2022,
    max_fpr: float = 0.1,
) -> pd.DataFrame:
    """Per machine type and section AUC/pAUC table, laid out like the DCASE evaluators.

        Rows are indexed by ``(machine_type, section)``, sorted, and every machine type is
        followed by its ``(machine_type, "arithmetic mean")`` and
        ``(machine_type, "harmonic mean")`` rows over its sections; the table ends with
        ``("overall", "arithmetic mean")`` and ``("overall", "harmonic mean")`` over all
        sections of all machine types. Harmonic means clip values at
        ``sys.float_info.epsilon`` first. Columns depend on ``year``:

        - 2020: ``AUC``, ``pAUC``;
        - 2021: ``AUC (source)``, ``AUC (target)``, ``pAUC (source)``, ``pAUC (target)``, each
          on the domain's own clips;
        - 2022-2025: ``AUC (source)``, ``AUC (target)`` (the domain's normals plus all
          anomalies of the section) and ``pAUC`` (all clips of the section).

        Only domains present in ``domain`` get columns. The official score
        (:func:`official_score`) is stored in ``report.attrs["official_score"]``, the rules
        in ``report.attrs["year"]`` and ``report.attrs["max_fpr"]``
        (:func:`official_score_derivation` puts them in words).

        Parameters
        ----------
    {parameters}

        Returns
        -------
        report : pandas.DataFrame
            The table described above, float values.

        Raises
        ------
        ValueError
            As :func:`official_score`.

        See Also
        --------
        official_score : The single number of the challenge.
        official_score_derivation : How the number comes from the table, in words.

        Examples
        --------
        >>> from sklasd.metrics import dcase_report
        >>> y = [0, 0, 1, 1, 0, 0, 1, 1]
        >>> score = [0.1, 0.2, 0.3, 0.9, 0.1, 0.5, 0.4, 0.7]
        >>> section = [0, 0, 0, 0, 1, 1, 1, 1]
        >>> domain = ["source", "target"] * 4
        >>> report = dcase_report(
        ...     y, score, section=section, machine_type="fan", domain=domain, year=2023
        ... )
        >>> report.round(3)  # doctest: +NORMALIZE_WHITESPACE
                                      AUC (source)  AUC (target)   pAUC
        machine_type section
        fan          0                         1.0         1.000  1.000
                     1                         1.0         0.500  0.737
                     arithmetic mean           1.0         0.750  0.868
                     harmonic mean             1.0         0.667  0.848
        overall      arithmetic mean           1.0         0.750  0.868
                     harmonic mean             1.0         0.667  0.848
        >>> round(report.attrs["official_score"], 4)
        0.8155
    """
    year = _check_year(year)
    table = _section_table(
        y_true,
        y_score,
        section=section,
        machine_type=machine_type,
        domain=domain,
        year=year,
        max_fpr=max_fpr,
    )
    parts = []
    for label, rows in table.groupby(level="machine_type", sort=False):
        parts += [rows, _summary_rows(rows, label)]
    report = pd.concat([*parts, _summary_rows(table, _OVERALL)])
    report.attrs.update(
        official_score=_official_from_table(table, year), year=year, max_fpr=max_fpr
    )
    return report


def _section_rows(report: pd.DataFrame) -> pd.DataFrame:
    """The rows of a :func:`dcase_report` table that are sections (not summary rows)."""
    types = report.index.get_level_values("machine_type")
    sections = report.index.get_level_values("section")
    return report[(types != _OVERALL) & ~sections.isin(["arithmetic mean", "harmonic mean"])]


def official_score_derivation(report: pd.DataFrame) -> str:
    """How the official score of a :func:`dcase_report` table comes from its values, in words.

    Says which values of the table enter the official score and how they are combined
    under the table's rules (its ``attrs["year"]``), with the counts of values, sections
    and machine types, and the score itself.

    Parameters
    ----------
    report : pandas.DataFrame
        A table returned by :func:`dcase_report` (it carries ``official_score``,
        ``year`` and ``max_fpr`` in ``report.attrs``).

    Returns
    -------
    text : str
        One paragraph of plain text.

    Raises
    ------
    ValueError
        If ``report`` does not come from :func:`dcase_report`.

    See Also
    --------
    dcase_report : The table.

    Examples
    --------
    >>> from sklasd.metrics import dcase_report, official_score_derivation
    >>> y = [0, 0, 1, 1, 0, 0, 1, 1]
    >>> score = [0.1, 0.2, 0.3, 0.9, 0.1, 0.5, 0.4, 0.7]
    >>> report = dcase_report(y, score, section=[0, 0, 0, 0, 1, 1, 1, 1],
    ...                       domain=["source", "target"] * 4, year=2023)
    >>> print(official_score_derivation(report))  # doctest: +NORMALIZE_WHITESPACE
    Official score (2023 rules) = 0.8155: the harmonic mean of the 6 values in the columns
    AUC (source), AUC (target), pAUC of the 2 section rows (1 machine type), pooled in one
    list. AUC (<domain>) of a section uses the normal clips of that domain and all
    anomalous clips of the section; pAUC (false-positive rate up to 0.1) uses all clips of
    the section. Values are floored at 2.2e-16 before the harmonic mean.
    """
    missing = {"official_score", "year", "max_fpr"} - set(report.attrs)
    if missing:
        raise ValueError(
            f"report.attrs lacks {sorted(missing)}: pass a table returned by dcase_report."
        )
    year, score = report.attrs["year"], report.attrs["official_score"]
    sections = _section_rows(report)
    n_types = sections.index.get_level_values("machine_type").nunique()
    types = f"{n_types} machine type{'s' if n_types > 1 else ''}"
    rows = f"{len(sections)} section row{'s' if len(sections) > 1 else ''}"
    head = f"Official score ({year} rules) = {score:.4f}: "
    pauc = f"false-positive rate up to {report.attrs['max_fpr']:g}"
    if year == 2020:
        return (
            head + f"the mean over the {types} of (mean AUC + mean pAUC) / 2 over the "
            f"sections (machine IDs) of each; AUC and pAUC ({pauc}) use all clips of a "
            "section. The 2020 challenge ranked systems by their ranks per machine type; "
            "this single number only summarises."
        )
    columns = ", ".join(map(str, report.columns))
    head += (
        f"the harmonic mean of the {sections.size} values in the columns {columns} of the "
        f"{rows} ({types}), pooled in one list. "
    )
    if year == 2021:
        body = f"Each domain's AUC and pAUC ({pauc}) use only that domain's clips of the section. "
    else:
        body = (
            "AUC (<domain>) of a section uses the normal clips of that domain and all "
            f"anomalous clips of the section; pAUC ({pauc}) uses all clips of the section. "
        )
    return head + body + f"Values are floored at {_EPS:.2g} before the harmonic mean."


for _function in (official_score, dcase_report):
    if _function.__doc__:  # None under python -OO
        _function.__doc__ = _function.__doc__.format(parameters=_PARAMETERS_DOC)
