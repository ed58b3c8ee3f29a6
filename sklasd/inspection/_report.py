"""A report folder of a scored run: the DCASE table, figures per machine type, index.html."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from numpy.typing import ArrayLike
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing

from sklasd.inspection._base import _figure_size, _grid
from sklasd.inspection._distribution import ScoreDistributionDisplay
from sklasd.inspection._embedding import EmbeddingDisplay
from sklasd.inspection._roc import ASDRocCurveDisplay
from sklasd.metrics import dcase_report
from sklasd.metrics._official import _clip_frame
from sklasd.utils import atomic_write

__all__ = ["write_report", "write_run_report"]

_METHOD_NAMES = {"tsne": "t-SNE", "pca": "PCA"}
_STYLE = """\
body { font-family: sans-serif; margin: 2em auto; max-width: 72em; color: #222; }
table.report { border-collapse: collapse; font-size: 0.9em; }
table.report th, table.report td { border: 1px solid #bbb; padding: 0.25em 0.6em; }
table.report td { text-align: right; }
figure { margin: 1em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { font-size: 0.9em; color: #555; }
"""


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


def _write_folder(
    output_dir: Path,
    frame: pd.DataFrame,
    report: pd.DataFrame,
    *,
    with_domain: bool,
    embeddings: dict[Any, np.ndarray],
    threshold: float | None,
    year: int,
    max_fpr: float,
    embedding_method: Any,
    random_state: int | None,
    title: str,
) -> Path:
    """Write tables, figures and index.html; ``frame`` is a ``_clip_frame``."""
    output_dir.mkdir(parents=True, exist_ok=True)
    _save_text(report.to_csv(), output_dir / "dcase_report.csv")
    _save_text(report.to_markdown(floatfmt=".4f") + "\n", output_dir / "dcase_report.md")
    method_name = _METHOD_NAMES.get(embedding_method, type(embedding_method).__name__)
    score = report.attrs["official_score"]
    body = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p>Official score ({year} rules): <strong>{score:.4f}</strong> on "
        f"{len(frame)} labelled clips ({int(frame['y'].sum())} anomalous), "
        f"{frame['machine_type'].nunique()} machine type(s).</p>",
        "<h2>DCASE report</h2>",
        report.to_html(float_format=lambda v: f"{v:.4f}", classes="report", border=0),
        '<p>Download: <a href="dcase_report.csv">CSV</a>, '
        '<a href="dcase_report.md">Markdown</a>.</p>',
    ]
    used: set[str] = set()
    for machine_type, clips in frame.groupby("machine_type", sort=True):
        slug = _slug(machine_type, used)
        n_sections = clips["section"].nunique()
        domain = clips["domain"].to_numpy() if with_domain else None
        y, s, section = clips["y"], clips["score"], clips["section"]
        body.append(f'<h2 id="{html.escape(slug)}">{html.escape(str(machine_type))}</h2>')

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

        if machine_type in embeddings:
            figure = Figure(figsize=(5.5, 4.5), layout="constrained")
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
) -> Path:
    """Write a report folder of scored clips: DCASE table, figures and an ``index.html``.

    Writes into ``output_dir``:

    - ``dcase_report.csv`` and ``dcase_report.md``: the
      :func:`~sklasd.metrics.dcase_report` table;
    - per machine type ``<type>``: ``roc_<type>.png`` (:class:`ASDRocCurveDisplay`, one
      panel per section, curves per domain), ``scores_<type>.png``
      (:class:`ScoreDistributionDisplay`) and, when ``embeddings`` are given,
      ``embedding_<type>.png`` (:class:`EmbeddingDisplay`, one map per machine type);
    - ``index.html``: a self-contained page (no external resources, relative links) with
      the official score, the table and every figure (with alt text).

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
        Decision threshold in anomaly-score units, drawn on the score histograms (0 for
        ``-decision_function`` scores of an outlier detector); None draws none.
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
    return _write_folder(
        Path(output_dir),
        frame,
        report,
        with_domain=domain is not None,
        embeddings=by_type,
        threshold=threshold,
        year=year,
        max_fpr=max_fpr,
        embedding_method=embedding_method,
        random_state=random_state,
        title=title,
    )


def write_run_report(
    output_dir: str | Path,
    scored: pd.DataFrame,
    *,
    models: dict[str, Any] | None = None,
    X: Any = None,
    year: int = 2022,
    max_fpr: float = 0.1,
    embedding_method: Any = "tsne",
    random_state: int | None = 0,
    title: str = "Anomalous sound detection report",
) -> Path:
    """Write the report folder of a run of :func:`~sklasd.detectors.fit_score_by_machine_type`.

    ``scored`` and ``models`` are what ``fit_score_by_machine_type(...,
    return_estimators=True)`` returns: the test clips with ``anomaly_score``
    (``-decision_function``) and their metadata, and the fitted model of every machine
    type. Clips without a label are left out. The decision threshold is 0 (a clip is
    flagged where ``decision_function < 0``). The embedding map of a machine type shows
    the output of its model's feature steps (``model[:-1].transform``, for a Pipeline of
    several steps, or ``model.transform``); types whose model has neither get no map.
    See :func:`write_report` for the files written.

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

    Returns
    -------
    index : Path
        The written ``index.html``.

    Raises
    ------
    ValueError
        When no row of ``scored`` has a label, or as :func:`write_report`.

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
    >>> from sklasd.inspection import write_run_report
    >>> from sklasd.scoring import KNNScorer
    >>> X, meta = make_machine_sounds(machine_types="fan", n_sections=2, n_train=6,
    ...                               n_test=4, duration=0.5, random_state=0)
    >>> pipe = make_pipeline(LogMel(n_mels=32), TimePooling(), KNNScorer())
    >>> scored, models = fit_score_by_machine_type(pipe, meta, X=X, return_estimators=True)
    >>> index = write_run_report(tempfile.mkdtemp(), scored, models=models,
    ...                          X=X[scored.index], embedding_method="pca")
    >>> (index.parent / "embedding_fan.png").is_file()
    True
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
    clips = rows["path"].to_numpy() if X is None else _safe_indexing(X, np.flatnonzero(labelled))
    embeddings = {}
    for machine_type, positions in frame.groupby("machine_type").indices.items():
        model = (models or {}).get(machine_type)
        if isinstance(model, Pipeline) and len(model.steps) > 1:
            model = model[:-1]
        if model is not None and hasattr(model, "transform"):
            embeddings[machine_type] = np.asarray(
                model.transform(_safe_indexing(clips, positions))
            )
    return _write_folder(
        Path(output_dir),
        frame,
        report,
        with_domain=has_domain,
        embeddings=embeddings,
        threshold=0.0,
        year=year,
        max_fpr=max_fpr,
        embedding_method=embedding_method,
        random_state=random_state,
        title=title,
    )
