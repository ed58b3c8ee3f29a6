"""A report folder of a scored run: what ran, the DCASE table and how the official score
comes from it, the decisions at the threshold, figures per machine type, the most anomalous
clips with their explanations, index.html."""

from __future__ import annotations

import datetime
import html
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from numpy.typing import ArrayLike
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing

from sklasd._version import __version__
from sklasd.inspection._base import _figure_size, _grid
from sklasd.inspection._distribution import ScoreDistributionDisplay
from sklasd.inspection._embedding import EmbeddingDisplay
from sklasd.inspection._explain import (
    _DASH,
    ExplanationDisplay,
    LogMelExplainer,
    _colour_limit,
)
from sklasd.inspection._roc import ASDRocCurveDisplay
from sklasd.metrics import dcase_report, decision_rates, official_score_derivation
from sklasd.metrics._official import _clip_frame, _section_rows
from sklasd.utils import atomic_write

__all__ = ["write_dcase_tables", "write_report", "write_run_report"]

_METHOD_NAMES = {"tsne": "t-SNE", "pca": "PCA"}
_STYLE = """\
body { font-family: sans-serif; margin: 2em auto; max-width: 72em; color: #222; }
table.report { border-collapse: collapse; font-size: 0.9em; }
table.report th, table.report td { border: 1px solid #bbb; padding: 0.25em 0.6em; }
table.report td { text-align: right; }
figure { margin: 1em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { font-size: 0.9em; color: #555; }
table.run th { text-align: left; padding-right: 1em; vertical-align: top; }
table.run td { font-family: monospace; white-space: pre-wrap; }
li.remark { color: #a40000; }
table.report.clips td { text-align: left; }
"""
# A remark is made where a false-alarm or miss rate reaches this, or an AUC falls below 1/2.
_BAD_RATE = 0.5
# Explanation maps of the most anomalous clips: panels a row, and inches of one panel.
_PANELS_PER_ROW = 2
_PANEL_SIZE = (6.0, 2.7)


def _progress(verbose: bool, message: str) -> None:
    """Print ``report: <message>`` at once where ``verbose``."""
    if verbose:
        print(f"report: {message}", flush=True)


def _save(figure: Figure, path: Path) -> None:
    """Render ``figure`` with the Agg backend into ``path`` (PNG), atomically."""
    with atomic_write(path, "wb") as handle:
        FigureCanvasAgg(figure).print_png(handle)


def _save_text(text: str, path: Path) -> None:
    """Write ``text`` (UTF-8) into ``path``, atomically."""
    with atomic_write(path, encoding="utf-8", newline="") as handle:
        handle.write(text)


def _slug(name: object, used: set[str]) -> str:
    """A file-name-safe, unique version of ``name``."""
    slug = re.sub(r"[^A-Za-z0-9_-]+", "_", str(name)).strip("_") or "type"
    candidate, i = slug, 1
    while candidate in used:
        i += 1
        candidate = f"{slug}_{i}"
    used.add(candidate)
    return candidate


def _figure_html(src: str, alt: str, caption: str) -> str:
    return (
        f'<figure><img src="{html.escape(src)}" alt="{html.escape(alt)}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _run_rows(run_info: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """The lines of "What ran": the caller's, then the sklasd version and the date."""
    rows = [(str(key), str(value)) for key, value in (run_info or {}).items()]
    written = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    return [*rows, ("sklasd version", __version__), ("report written", written)]


def _where(machine_type: object, section: object, domain: object = "all") -> str:
    where = f"section {section}" if machine_type == "all" else f"{machine_type}, section {section}"
    return where if domain == "all" else f"{where}, {domain}"


def _remarks(report: pd.DataFrame, rates: pd.DataFrame | None) -> list[str]:
    """Sections whose AUC is below 1/2, or that flag or miss most of their clips."""
    remarks = []
    for (machine_type, section), row in _section_rows(report).iterrows():
        for column, value in row.items():
            if str(column).startswith("AUC") and value < 0.5:
                remarks.append(
                    f"{_where(machine_type, section)}: {column} {value:.2f}, below chance: "
                    "its anomalous clips score lower than its normal clips."
                )
    if rates is None:
        return remarks
    for (machine_type, section, domain), row in rates.iloc[:-1].iterrows():  # not overall
        where = _where(machine_type, section, domain)
        if row["false-alarm rate"] >= _BAD_RATE:
            remarks.append(
                f"{where}: {row['false alarms']:.0f} of {row['normal clips']:.0f} normal clips "
                "flagged "
                f"(false-alarm rate {row['false-alarm rate']:.0%})."
            )
        if row["miss rate"] >= _BAD_RATE:
            remarks.append(
                f"{where}: {row['misses']:.0f} of {row['anomalous clips']:.0f} anomalous clips "
                "missed "
                f"(miss rate {row['miss rate']:.0%})."
            )
    return remarks


def _table_html(table: pd.DataFrame, classes: str = "report", **kwargs: Any) -> str:
    return table.to_html(classes=classes, border=0, na_rep=_DASH, **kwargs)


def _percent(value: float) -> str:
    return _DASH if pd.isna(value) else f"{value:.0%}"


def write_dcase_tables(
    output_dir: str | os.PathLike,
    report: pd.DataFrame,
    *,
    run_info: Mapping[str, Any] | None = None,
) -> list[Path]:
    """Write a :func:`~sklasd.metrics.dcase_report` table as CSV and as readable Markdown.

    ``dcase_report.csv`` holds the table with its two index columns ``machine_type`` and
    ``section``. ``dcase_report.md`` says what ran (``run_info``, the sklasd version and
    the date), gives the table with plain ``machine_type`` and ``section`` columns, and
    how the official score comes from it
    (:func:`~sklasd.metrics.official_score_derivation`). Files of the same names are
    replaced.

    Parameters
    ----------
    output_dir : str or path-like
        Folder to write into (created if needed).
    report : pandas.DataFrame
        A table returned by :func:`~sklasd.metrics.dcase_report`.
    run_info : mapping, default=None
        What ran, e.g. ``{"detector": repr(pipeline), "data": "dev_data"}``; the sklasd
        version and the date are added.

    Returns
    -------
    paths : list of Path
        The CSV and the Markdown file.

    See Also
    --------
    write_report : The whole report folder, with these tables.

    Examples
    --------
    >>> import tempfile
    >>> from sklasd.inspection import write_dcase_tables
    >>> from sklasd.metrics import dcase_report
    >>> report = dcase_report([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], section=[0, 0, 0, 0],
    ...                       machine_type="fan")
    >>> csv, md = write_dcase_tables(tempfile.mkdtemp(), report, run_info={"data": "demo"})
    >>> print(md.read_text().split("## DCASE report")[1].strip().splitlines()[2])
    | fan            | 0               |         0.7500 | 0.7368 |
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    csv_path, md_path = output_dir / "dcase_report.csv", output_dir / "dcase_report.md"
    _save_text(report.to_csv(), csv_path)
    lines = ["## What ran", ""]
    lines += [f"- {key}: {' '.join(value.split())}" for key, value in _run_rows(run_info)]
    lines += ["", "## DCASE report", ""]
    lines += [report.reset_index().to_markdown(index=False, floatfmt=".4f"), ""]
    lines += [official_score_derivation(report), ""]
    _save_text("\n".join(lines), md_path)
    return [csv_path, md_path]


def _explanation_figure(panels: list[tuple[str, Any]], path: Path) -> None:
    """Explanation maps (title, Explanation) on one figure with one colour scale."""
    ncols = min(len(panels), _PANELS_PER_ROW)
    nrows = math.ceil(len(panels) / ncols)
    figure = Figure(
        figsize=(_PANEL_SIZE[0] * ncols + 0.8, _PANEL_SIZE[1] * nrows), layout="constrained"
    )
    axes = figure.subplots(nrows, ncols, squeeze=False).ravel()
    for extra in axes[len(panels) :]:
        extra.remove()
    vmax = _colour_limit([explanation for _, explanation in panels])  # one scale for all
    for ax, (title, explanation) in zip(axes, panels, strict=False):
        display = ExplanationDisplay.from_explanation(
            explanation, name=title, ax=ax, vmax=vmax, colorbar=False
        )
    figure.colorbar(display.image_, ax=axes[: len(panels)].tolist(), label="dB over normal")
    _save(figure, path)


def _top_clips(
    frame: pd.DataFrame,
    names: np.ndarray,
    flagged: np.ndarray,
    explainer: LogMelExplainer | None,
    clips: Any,
    *,
    with_domain: bool,
) -> tuple[pd.DataFrame, list[tuple[str, Any]]]:
    """The table of the most anomalous clips (rows of a ``_clip_frame``, best first) and
    the (title, Explanation) of those the explainer can explain."""
    table = pd.DataFrame(
        {
            "rank": np.arange(1, len(frame) + 1),
            "clip": names,
            "section": frame["section"].to_numpy(),
            "label": np.where(frame["y"].to_numpy() == 1, "anomalous", "normal"),
            "anomaly score": frame["score"].to_numpy(),
            "flagged": np.where(flagged, "yes", "no"),
        }
    )
    if with_domain:
        table.insert(3, "domain", frame["domain"].to_numpy())
    if explainer is None:
        return table, []
    known = np.ones(len(frame), dtype=bool)
    if explainer.sections_ is not None:
        known = np.isin(frame["section"].to_numpy(), explainer.sections_)
    where = np.full(len(frame), "no normal training clips of this section", dtype=object)
    panels = []
    if known.any():
        rows = np.flatnonzero(known)
        explained = explainer.explain(
            _safe_indexing(clips, rows),
            section=None if explainer.sections_ is None else frame["section"].to_numpy()[rows],
        )
        for row, explanation in zip(rows, explained, strict=True):
            where[row] = explanation.text
            panels.append((f"#{row + 1} {names[row]}", explanation))
    table["departs from normal"] = where
    return table, panels


def _write_folder(
    output_dir: Path,
    frame: pd.DataFrame,
    report: pd.DataFrame,
    *,
    with_domain: bool,
    embeddings: dict[Any, np.ndarray],
    threshold: float | None,
    rates: pd.DataFrame | None,
    top: dict[Any, pd.DataFrame],
    explanations: dict[Any, list[tuple[str, Any]]],
    run_info: Mapping[str, Any] | None,
    year: int,
    max_fpr: float,
    embedding_method: Any,
    random_state: int | None,
    title: str,
    verbose: bool,
) -> Path:
    """Write tables, figures and index.html; ``frame`` is a ``_clip_frame``."""
    write_dcase_tables(output_dir, report, run_info=run_info)
    method_name = _METHOD_NAMES.get(embedding_method, type(embedding_method).__name__)
    score = report.attrs["official_score"]
    run_rows = "".join(
        f"<tr><th>{html.escape(key)}</th><td>{html.escape(value)}</td></tr>"
        for key, value in _run_rows(run_info)
    )
    body = [
        f"<h1>{html.escape(title)}</h1>",
        "<h2>What ran</h2>",
        f'<table class="run">{run_rows}</table>',
        f"<p>Official score ({year} rules): <strong>{score:.4f}</strong> on "
        f"{len(frame)} labelled clips ({int(frame['y'].sum())} anomalous), "
        f"{frame['machine_type'].nunique()} machine type(s).</p>",
        "<h2>DCASE report</h2>",
        _table_html(report, float_format=lambda v: f"{v:.4f}"),
        f"<p>{html.escape(official_score_derivation(report))}</p>",
        '<p>Download: <a href="dcase_report.csv">CSV</a>, '
        '<a href="dcase_report.md">Markdown</a>.</p>',
    ]
    remarks = _remarks(report, rates)
    if rates is not None:
        body += [
            "<h2>Decisions at the threshold</h2>",
            f"<p>A clip is flagged as anomalous where its anomaly score exceeds the decision "
            f"threshold ({threshold:g} in anomaly-score units). False-alarm rate: the share "
            "of normal clips flagged; miss rate: the share of anomalous clips not flagged. "
            "AUC and pAUC judge the ranking; these rates judge the decisions.</p>",
            _table_html(
                rates,
                formatters={"false-alarm rate": _percent, "miss rate": _percent},
            ),
        ]
    if remarks:
        items = "".join(f'<li class="remark">{html.escape(remark)}</li>' for remark in remarks)
        body += ["<h2>Remarks</h2>", f"<ul>{items}</ul>"]
    used: set[str] = set()
    for machine_type, clips in frame.groupby("machine_type", sort=True):
        slug = _slug(machine_type, used)
        n_sections = clips["section"].nunique()
        domain = clips["domain"].to_numpy() if with_domain else None
        y, s, section = clips["y"], clips["score"], clips["section"]
        body.append(f'<h2 id="{html.escape(slug)}">{html.escape(str(machine_type))}</h2>')

        _progress(verbose, f"{machine_type}: ROC curves and score histograms")
        figure = Figure(figsize=_figure_size(n_sections), layout="constrained")
        ASDRocCurveDisplay.from_predictions(
            y,
            s,
            section=section,
            domain=domain,
            year=year,
            max_fpr=max_fpr,
            name=str(machine_type),
            ax=_grid(figure, n_sections),
        )
        _save(figure, output_dir / f"roc_{slug}.png")
        body.append(
            _figure_html(
                f"roc_{slug}.png",
                f"ROC curves of {machine_type}, one panel per section, one curve per domain",
                f"ROC curves per section ({year} rules); the shaded band is the pAUC region "
                f"(FPR ≤ {max_fpr:g}).",
            )
        )

        figure = Figure(figsize=_figure_size(n_sections), layout="constrained")
        ScoreDistributionDisplay.from_predictions(
            y,
            s,
            section=section,
            domain=domain,
            threshold=threshold,
            name=str(machine_type),
            ax=_grid(figure, n_sections),
        )
        _save(figure, output_dir / f"scores_{slug}.png")
        body.append(
            _figure_html(
                f"scores_{slug}.png",
                f"Histograms of the anomaly scores of normal and anomalous {machine_type} "
                "clips, one panel per section",
                "Anomaly scores of normal and anomalous clips per section"
                + ("; dashed: the decision threshold." if threshold is not None else "."),
            )
        )

        # A map needs 3 clips (the real DCASE 2023 sample set has 2 per machine type).
        if machine_type in embeddings and len(embeddings[machine_type]) >= 3:
            _progress(verbose, f"{machine_type}: {method_name} map of the embeddings")
            figure = Figure(figsize=(7.0, 4.5), layout="constrained")
            EmbeddingDisplay.from_embeddings(
                embeddings[machine_type],
                section=section,
                y_true=y,
                domain=domain,
                method=embedding_method,
                random_state=random_state,
                name=f"{machine_type}: embeddings ({method_name})",
                ax=figure.subplots(),
            )
            _save(figure, output_dir / f"embedding_{slug}.png")
            body.append(
                _figure_html(
                    f"embedding_{slug}.png",
                    f"{method_name} map of the embeddings of the {machine_type} clips, "
                    "coloured by section, anomalous clips as crosses",
                    f"{method_name} map of the clips' embeddings: colour = section, "
                    "cross = anomalous.",
                )
            )

        if machine_type in top:
            body += [
                f"<h3>The {len(top[machine_type])} most anomalous {html.escape(str(machine_type))}"
                " clips</h3>",
                _table_html(
                    top[machine_type],
                    classes="report clips",
                    index=False,
                    float_format=lambda v: f"{v:.4f}",
                ),
            ]
        if explanations.get(machine_type):
            _progress(verbose, f"{machine_type}: explanation maps")
            _explanation_figure(explanations[machine_type], output_dir / f"explain_{slug}.png")
            body.append(
                _figure_html(
                    f"explain_{slug}.png",
                    f"Time-frequency maps of where the most anomalous {machine_type} clips "
                    "depart from the normal training clips of their section",
                    "Where each clip departs from its section's normal training clips: its "
                    "log-mel minus their mean, per band (red: louder than normal, blue: "
                    "quieter); the box is the most deviant time span and band, stated above "
                    "each map.",
                )
            )
    page = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>\n{_STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )
    index = output_dir / "index.html"
    _save_text(page, index)
    return index


def write_report(
    output_dir: str | Path,
    y_true: ArrayLike,
    anomaly_score: ArrayLike,
    *,
    section: ArrayLike | None,
    machine_type: ArrayLike | str | None = None,
    domain: ArrayLike | None = None,
    embeddings: ArrayLike | None = None,
    threshold: float | None = None,
    year: int = 2022,
    max_fpr: float = 0.1,
    embedding_method: Any = "tsne",
    random_state: int | None = 0,
    title: str = "Anomalous sound detection report",
    run_info: Mapping[str, Any] | None = None,
    verbose: bool = False,
) -> Path:
    """Write a report folder of scored clips: DCASE table, figures and an ``index.html``.

    Writes into ``output_dir``:

    - ``dcase_report.csv`` and ``dcase_report.md``: the
      :func:`~sklasd.metrics.dcase_report` table (see :func:`write_dcase_tables`);
    - per machine type ``<type>``: ``roc_<type>.png`` (:class:`ASDRocCurveDisplay`, one
      panel per section, curves per domain), ``scores_<type>.png``
      (:class:`ScoreDistributionDisplay`) and, when ``embeddings`` are given,
      ``embedding_<type>.png`` (:class:`EmbeddingDisplay`, one map per machine type);
    - ``index.html``: a self-contained page (no external resources, relative links) that
      says what ran (``run_info``, the sklasd version, the date), gives the official
      score, the table and how the score comes from it
      (:func:`~sklasd.metrics.official_score_derivation`), the false-alarm and miss
      rates at ``threshold`` per section and domain
      (:func:`~sklasd.metrics.decision_rates`), remarks on sections with an AUC below
      0.5 or a rate of 50 % or more, and every figure (with alt text).

    Figures are rendered with matplotlib's Agg backend on
    :class:`matplotlib.figure.Figure` objects, without pyplot: nothing is shown and no
    pyplot figure is left open. Every file is written under a temporary name and renamed
    into place (:func:`sklasd.utils.atomic_write`); ``index.html`` comes last.

    Parameters
    ----------
    output_dir : str or Path
        Folder to write into (created if needed; files of the same names are replaced).
    y_true : array-like of shape (n_clips,)
        0 for normal and 1 for anomalous clips.
    anomaly_score : array-like of shape (n_clips,)
        Anomaly scores, higher = more anomalous (``-decision_function(X)``).
    section : array-like of shape (n_clips,) or None
        Section of every clip; None treats all clips as one section.
    machine_type : array-like of shape (n_clips,) or str, default=None
        Machine type of every clip; None: one machine type, named ``"all"``.
    domain : array-like of shape (n_clips,), default=None
        ``"source"`` or ``"target"`` per clip.
    embeddings : array-like of shape (n_clips, n_features), default=None
        Embeddings (or features) of the clips, for the embedding maps; each machine type's
        rows get their own map.
    threshold : float, default=None
        Decision threshold in anomaly-score units (0 for ``-decision_function`` scores of
        an outlier detector): drawn on the score histograms, and clips scoring above it
        count as flagged in the rates. None: no threshold line and no rates.
    year : {2020, 2021, 2022, 2023, 2024, 2025}, default=2022
        Which challenge's rules the table and the ROC curves follow.
    max_fpr : float, default=0.1
        False-positive-rate limit of the pAUC.
    embedding_method : {"tsne", "pca"} or transformer, default="tsne"
        How embeddings are mapped to the plane (see
        :meth:`EmbeddingDisplay.from_embeddings`).
    random_state : int or None, default=0
        Seed of the embedding maps.
    title : str, default="Anomalous sound detection report"
        Title of the page.
    run_info : mapping, default=None
        What ran, shown first, e.g. ``{"detector": repr(pipeline), "data": root}``; the
        sklasd version and the date are added.
    verbose : bool, default=False
        Print a line as each figure is drawn (the report of a large run takes a while).

    Returns
    -------
    index : Path
        The written ``index.html``.

    Raises
    ------
    ValueError
        As :func:`~sklasd.metrics.dcase_report` (a section without normal or anomalous
        clips, NaN scores, lengths that differ...), or when ``embeddings`` does not have
        one row per clip.

    See Also
    --------
    write_run_report : The same from the output of
        :func:`~sklasd.detectors.fit_score_by_machine_type`.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from sklasd.inspection import write_report
    >>> rng = np.random.default_rng(0)
    >>> y = np.tile([0, 0, 0, 1, 1], 4)
    >>> score = y + rng.normal(0, 0.6, size=20)
    >>> section = np.repeat([0, 1], 10)
    >>> domain = np.tile(["source"] * 5 + ["target"] * 5, 2)
    >>> folder = tempfile.mkdtemp()
    >>> index = write_report(folder, y, score, section=section, machine_type="fan",
    ...                      domain=domain, threshold=0.5)
    >>> sorted(path.name for path in index.parent.iterdir())  # doctest: +NORMALIZE_WHITESPACE
    ['dcase_report.csv', 'dcase_report.md', 'index.html', 'roc_fan.png',
     'scores_fan.png']
    """
    report = dcase_report(
        y_true,
        anomaly_score,
        section=section,
        machine_type=machine_type,
        domain=domain,
        year=year,
        max_fpr=max_fpr,
    )
    frame = _clip_frame(
        y_true, anomaly_score, section=section, machine_type=machine_type, domain=domain
    )
    by_type = {}
    if embeddings is not None:
        embeddings = np.asarray(embeddings)
        if embeddings.ndim < 2 or embeddings.shape[0] != len(frame):
            raise ValueError(
                f"embeddings must have one row per clip ({len(frame)}); got shape "
                f"{embeddings.shape}."
            )
        by_type = {
            machine_type: embeddings[rows]
            for machine_type, rows in frame.groupby("machine_type").indices.items()
        }
    rates = None
    if threshold is not None:
        rates = decision_rates(
            frame["y"],
            frame["score"].to_numpy() > threshold,
            section=frame["section"],
            machine_type=frame["machine_type"],
            domain=frame["domain"] if domain is not None else None,
        )
    return _write_folder(
        Path(output_dir),
        frame,
        report,
        with_domain=domain is not None,
        embeddings=by_type,
        threshold=threshold,
        rates=rates,
        top={},
        explanations={},
        run_info=run_info,
        year=year,
        max_fpr=max_fpr,
        embedding_method=embedding_method,
        random_state=random_state,
        title=title,
        verbose=verbose,
    )


def write_run_report(
    output_dir: str | Path,
    scored: pd.DataFrame,
    *,
    models: dict[str, Any] | None = None,
    X: Any = None,
    explainers: Mapping[str, LogMelExplainer] | None = None,
    n_top: int = 10,
    year: int = 2022,
    max_fpr: float = 0.1,
    embedding_method: Any = "tsne",
    random_state: int | None = 0,
    title: str = "Anomalous sound detection report",
    run_info: Mapping[str, Any] | None = None,
    verbose: bool = False,
) -> Path:
    """Write the report folder of a run of :func:`~sklasd.detectors.fit_score_by_machine_type`.

    ``scored`` and ``models`` are what ``fit_score_by_machine_type(...,
    return_estimators=True)`` returns: the test clips with ``anomaly_score``
    (``-decision_function``) and their metadata, and the fitted model of every machine
    type. Clips without a label are left out. The decision threshold is 0 (a clip is
    flagged where ``decision_function < 0``; the ``is_anomaly`` column when present).
    The embedding map of a machine type shows the output of its model's feature steps
    (``model[:-1].transform``, for a Pipeline of several steps, or ``model.transform``);
    types whose model has neither get no map.

    Besides what :func:`write_report` writes, every machine type gets a table of its
    ``n_top`` most anomalous clips (highest anomaly scores: true anomalies and false
    alarms alike) and, where ``explainers`` has a fitted :class:`LogMelExplainer` for
    the machine type, ``explain_<type>.png`` with their explanation maps and, in the
    table, where each departs from normal in words. (Scores of different machine types
    come from different models and are not compared.) A clip whose section the
    explainer was not fitted on is listed without a map.

    Parameters
    ----------
    output_dir : str or Path
        Folder to write into.
    scored : DataFrame
        Columns ``label``, ``anomaly_score``, ``machine_type``, ``section``, and
        ``domain`` (optional; ignored when some labelled clip's domain is unknown),
        ``path`` (when ``X`` is None and ``models`` are given).
    models : dict, default=None
        Fitted model per machine type, for the embedding maps; None: no maps.
    X : array-like or sequence, default=None
        The clips of the rows of ``scored``, in order (e.g. waveforms); None uses
        ``scored["path"]``.
    explainers : dict of str to LogMelExplainer, default=None
        A :class:`LogMelExplainer` fitted on the normal training clips of each machine
        type (with their sections), for the maps of the most anomalous clips; None:
        no maps.
    n_top : int, default=10
        Number of most anomalous clips listed per machine type (0: none).
    year : {2020, 2021, 2022, 2023, 2024, 2025}, default=2022
        Which challenge's rules the table and the ROC curves follow.
    max_fpr : float, default=0.1
        False-positive-rate limit of the pAUC.
    embedding_method : {"tsne", "pca"} or transformer, default="tsne"
        How embeddings are mapped to the plane.
    random_state : int or None, default=0
        Seed of the embedding maps.
    title : str, default="Anomalous sound detection report"
        Title of the page.
    run_info : mapping, default=None
        What ran, shown first; the sklasd version and the date are added.
    verbose : bool, default=False
        Print a line as each figure is drawn (the report of a large run takes a while).

    Returns
    -------
    index : Path
        The written ``index.html``.

    Raises
    ------
    ValueError
        When no row of ``scored`` has a label, when ``models`` or ``explainers`` are
        given without clips (no ``X`` and no ``path`` column), or as
        :func:`write_report`.

    See Also
    --------
    write_report : The same from arrays of labels, scores and metadata.

    Examples
    --------
    >>> import tempfile
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklasd.datasets import make_machine_sounds
    >>> from sklasd.detectors import fit_score_by_machine_type
    >>> from sklasd.features import LogMel, TimePooling
    >>> from sklasd.inspection import LogMelExplainer, write_run_report
    >>> from sklasd.scoring import KNNScorer
    >>> X, meta = make_machine_sounds(machine_types="fan", n_sections=2, n_train=6,
    ...                               n_test=4, duration=0.5, random_state=0)
    >>> pipe = make_pipeline(LogMel(n_mels=32), TimePooling(), KNNScorer())
    >>> scored, models = fit_score_by_machine_type(pipe, meta, X=X, return_estimators=True)
    >>> train = (meta["split"] == "train").to_numpy()
    >>> explainer = LogMelExplainer().fit(X[train], section=meta["section"][train])
    >>> index = write_run_report(tempfile.mkdtemp(), scored, models=models,
    ...                          X=X[scored.index], explainers={"fan": explainer}, n_top=4,
    ...                          embedding_method="pca", run_info={"detector": "LogMel+kNN"})
    >>> sorted(path.name for path in index.parent.glob("*_fan.png"))
    ['embedding_fan.png', 'explain_fan.png', 'roc_fan.png', 'scores_fan.png']
    """
    labelled = scored["label"].notna().to_numpy()
    if not labelled.any():
        raise ValueError("no row of scored has a label: the report needs labelled clips.")
    rows = scored[labelled]
    y = rows["label"].to_numpy(dtype=int)
    has_domain = "domain" in rows and rows["domain"].notna().all()
    frame = _clip_frame(
        y,
        rows["anomaly_score"].to_numpy(),
        section=rows["section"].to_numpy(),
        machine_type=rows["machine_type"].to_numpy(),
        domain=rows["domain"].to_numpy() if has_domain else None,
    )
    report = dcase_report(
        y,
        frame["score"],
        section=frame["section"],
        machine_type=frame["machine_type"],
        domain=frame["domain"] if has_domain else None,
        year=year,
        max_fpr=max_fpr,
    )
    flagged = (
        rows["is_anomaly"].to_numpy(dtype=bool)
        if "is_anomaly" in rows
        else frame["score"].to_numpy() > 0
    )
    rates = decision_rates(
        y,
        flagged,
        section=frame["section"],
        machine_type=frame["machine_type"],
        domain=frame["domain"] if has_domain else None,
    )
    clips = None
    if X is not None:
        clips = _safe_indexing(X, np.flatnonzero(labelled))
    paths = rows["path"] if "path" in rows else pd.Series(None, index=rows.index)
    if clips is None and paths.notna().all():
        clips = paths.to_numpy()
    elif clips is None and (models or explainers):
        raise ValueError(
            "The embedding maps and explanations need the clips: pass X, or a scored "
            "frame with the 'path' of every clip."
        )
    names = np.array(
        [
            os.path.basename(path) if isinstance(path, str) else f"row {index}"
            for index, path in paths.items()
        ]
    )
    embeddings, top, explanations = {}, {}, {}
    for machine_type, positions in frame.groupby("machine_type").indices.items():
        model = (models or {}).get(machine_type)
        if isinstance(model, Pipeline) and len(model.steps) > 1:
            model = model[:-1]
        if model is not None and hasattr(model, "transform"):
            _progress(verbose, f"{machine_type}: embeddings of {positions.size} clips")
            embeddings[machine_type] = np.asarray(
                model.transform(_safe_indexing(clips, positions))
            )
        if n_top > 0:
            _progress(
                verbose,
                f"{machine_type}: explaining the {min(n_top, positions.size)} most "
                "anomalous clips",
            )
            order = np.argsort(-frame["score"].to_numpy()[positions], kind="stable")
            chosen = positions[order[:n_top]]
            top[machine_type], explanations[machine_type] = _top_clips(
                frame.iloc[chosen],
                names[chosen],
                flagged[chosen],
                None if explainers is None else explainers.get(machine_type),
                None if clips is None else _safe_indexing(clips, chosen),
                with_domain=has_domain,
            )
    return _write_folder(
        Path(output_dir),
        frame,
        report,
        with_domain=has_domain,
        embeddings=embeddings,
        threshold=0.0,
        rates=rates,
        top=top,
        explanations=explanations,
        run_info=run_info,
        year=year,
        max_fpr=max_fpr,
        embedding_method=embedding_method,
        random_state=random_state,
        title=title,
        verbose=verbose,
    )
