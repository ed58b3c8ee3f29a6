"""The main job: fit a detector per machine type on a DCASE-layout folder, score its test clips,
write the challenge's CSV files, the DCASE report and an HTML report with figures.

Run ``python -m sklasd --help`` (or the ``sklasd`` console script) for the options. Given no
folder, it generates a synthetic dataset with :func:`sklasd.datasets.make_machine_sounds` and
runs on that.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sklasd.exceptions import DatasetError, OutputFolderError, SklasdError

# Only the standard library (and sklasd's exception classes) is imported here, so that
# ``--help`` answers at once: numpy, pandas, scikit-learn and torch are imported where a
# command uses them.
if TYPE_CHECKING:
    import pandas as pd
    from sklearn.pipeline import Pipeline

#: DCASE rules the report knows (``sklasd.metrics._official.YEARS``, which imports numpy:
#: repeated here so that ``--help`` stays fast; a test keeps the two equal).
YEARS = (2020, 2021, 2022, 2023, 2024, 2025)
#: File-name scheme of the challenge CSVs per DCASE year (others: ``"section"``).
CSV_NAMING = {2020: "id", 2021: "section_domain"}
#: Normal training clips per section that the explanations of the report are fitted on.
EXPLAINER_CLIPS = 10

#: Scorer steps of the default pipeline: option value -> class in :mod:`sklasd.scoring`.
SCORERS = {
    "knn": "KNNScorer",
    "cosine": "CosineScorer",
    "mahalanobis": "MahalanobisScorer",
    "ocsvm": "OneClassSVMScorer",
}


def build_pipeline(scorer: str = "mahalanobis", *, n_jobs: int | None = None) -> Pipeline:
    """The default detector of the main job: LogMel, per-band pooling, a scorer step.

    Each clip becomes the mean and standard deviation over time of each of its 128
    log-mel bands, scored by ``scorer``. With the default Mahalanobis scorer step (one
    covariance per section, the nearer of the source and target means), this was the
    strongest system of ``benchmarks/accuracy.py`` across its regimes (few noisy
    recordings, many sections, domain shift): it beat the standardised 1-nearest-neighbour
    baseline on the same features by 0.07 to 0.11 in AUC or official score, and adding the
    per-band maximum to the statistics lost 0.05 AUC with few noisy recordings and 0.08 with
    many sections.

    Parameters
    ----------
    scorer : {"knn", "cosine", "mahalanobis", "ocsvm"}, default="mahalanobis"
        The scorer step on the pooled log-mel statistics.
    n_jobs : int, default=None
        Parallel audio decoding in :class:`~sklasd.features.LogMel`.

    Returns
    -------
    pipeline : Pipeline
        An unfitted ``LogMel -> TimePooling(stats=("mean", "std")) -> scorer`` pipeline.
    """
    from sklearn.pipeline import make_pipeline

    from sklasd import scoring
    from sklasd.features import LogMel, TimePooling

    if scorer not in SCORERS:
        raise ValueError(f"unknown scorer {scorer!r}; choose one of {sorted(SCORERS)}")
    return make_pipeline(
        LogMel(n_jobs=n_jobs),
        TimePooling(stats=("mean", "std")),
        getattr(scoring, SCORERS[scorer])(),
    )


def _check_machine_types(frame: pd.DataFrame) -> None:
    """Refuse machine types that lack training or test clips (nothing to fit or score)."""
    lacking = []
    for machine_type, splits in frame.groupby("machine_type")["split"]:
        missing = sorted({"train", "test"} - set(splits))
        if missing:
            lacking.append(f"{machine_type} has no {' or '.join(missing)} clips")
    if lacking:
        raise DatasetError(
            "Every machine type needs training and test clips: "
            + "; ".join(lacking)
            + ". Leave them out with --machine-types (machine_types=) or add the clips."
        )


def _inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or lies under it."""
    path, folder = path.resolve(), folder.resolve()
    return path == folder or folder in path.parents


def _fit_explainers(
    frame: pd.DataFrame, machine_types: Sequence[str], *, n_jobs: int | None, random_state: int
) -> dict:
    """A LogMelExplainer per machine type, on up to EXPLAINER_CLIPS training clips a section."""
    from sklasd.features import LogMel
    from sklasd.inspection import LogMelExplainer

    train = frame[(frame["split"] == "train") & frame["machine_type"].isin(machine_types)]
    return {
        machine_type: LogMelExplainer(
            logmel=LogMel(n_jobs=n_jobs), max_clips=EXPLAINER_CLIPS, random_state=random_state
        ).fit(clips["path"].to_numpy(), section=clips["section"].to_numpy())
        for machine_type, clips in train.groupby("machine_type")
    }


def run(
    root: str | Path | None,
    output: str | Path,
    *,
    scorer: str = "mahalanobis",
    year: int | None = None,
    machine_types: Sequence[str] | None = None,
    n_jobs: int | None = None,
    duration: float = 4.0,
    random_state: int = 0,
    report: bool = True,
    overwrite: bool = False,
    command: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Fit, score and report on a DCASE-layout folder, one pipeline per machine type.

    The output folder holds one run at a time (:class:`~sklasd.utils.RunFolder`): it is
    locked while the run writes, every file is written under a temporary name and
    renamed into place, and ``sklasd_run.json`` (command, options, sklasd version, times
    and the checksum of every file) is written last. A folder that holds another run's
    results is refused unless ``overwrite``; a run that fails or is interrupted puts the
    previous run back, or leaves ``RUN_INCOMPLETE.txt``. The options and the dataset's
    names are checked before anything is fitted.

    Parameters
    ----------
    root : str, Path or None
        The dataset folder (``<root>/<machine_type>/{train,test}/*.wav``). None generates a
        synthetic dataset under ``output/synthetic_data`` first.
    output : str or Path
        Folder for the challenge CSVs, the report and the fitted pipelines.
    scorer : str, default="mahalanobis"
        Scorer step; see :func:`build_pipeline`.
    year : int, default=None
        Which DCASE rules the report follows (2020, 2021, 2022-2025). None: 2020 when the
        file names follow the 2020 scheme (``*_id_XX_*.wav``), else 2022.
    machine_types : sequence of str, default=None
        Restrict to these machine types.
    n_jobs : int, default=None
        Parallel audio decoding.
    duration : float, default=4.0
        Clip length in seconds of the synthetic dataset (only when ``root`` is None).
    random_state : int, default=0
        Seed of the synthetic dataset and of the embedding maps of the report.
    report : bool, default=True
        Also write the HTML report into ``output`` when test labels are known
        (:func:`~sklasd.inspection.write_run_report`: ``index.html`` with what ran, the
        table and how the official score comes from it, false-alarm and miss rates, ROC
        curves, score histograms and t-SNE maps of the pooled log-mel features per
        machine type, and the ten most anomalous clips of each machine type with their
        explanation maps from a :class:`~sklasd.inspection.LogMelExplainer` fitted on up
        to ``EXPLAINER_CLIPS`` training clips per section).
    overwrite : bool, default=False
        Replace the results of a previous run in ``output``.
    command : sequence of str, default=None
        The command recorded in the manifest; None records :data:`sys.argv`.

    Returns
    -------
    report : DataFrame
        The :func:`~sklasd.metrics.dcase_report` table of the test clips with known labels, or
        an empty frame when no test clip is labelled.

    Raises
    ------
    OutputFolderError
        If ``output`` holds another run's results (and not ``overwrite``), another run
        is writing into it, or it cannot be written.
    DatasetError
        If a clip name is wrong, or a machine type has no training or no test clips.
    ValueError
        If an option is out of range.
    """
    import pandas as pd

    from sklasd.datasets import (
        load_dcase,
        make_machine_sounds,
        write_challenge_csvs,
        write_dcase_folder,
    )
    from sklasd.detectors import fit_score_by_machine_type
    from sklasd.inspection import write_dcase_tables, write_run_report
    from sklasd.metrics import dcase_report, official_score
    from sklasd.utils import MANIFEST_NAME, RunFolder

    output = Path(output)
    pipeline = build_pipeline(scorer, n_jobs=n_jobs)
    if year is not None and year not in YEARS:
        raise ValueError(f"year must be one of {YEARS}; got {year!r}.")
    if root is not None:
        # Names only (no audio is read): a wrong dataset fails before the output is touched.
        frame = load_dcase(root, machine_types=machine_types)
        _check_machine_types(frame)
        if _inside(Path(root), output):
            raise OutputFolderError(
                f"The dataset folder {str(root)!r} lies inside the output folder "
                f"{str(output)!r}; choose an output folder outside the dataset."
            )
    options = {
        "root": None if root is None else str(Path(root).resolve()),
        "output": str(output.resolve()),
        "scorer": scorer,
        "year": year,
        "machine_types": None if machine_types is None else list(machine_types),
        "n_jobs": n_jobs,
        "duration": duration,
        "random_state": random_state,
        "report": report,
        "overwrite": overwrite,
    }
    with RunFolder(output, overwrite=overwrite, command=command, options=options) as folder:
        if root is None:
            root = output / "synthetic_data"
            chosen = {} if machine_types is None else {"machine_types": list(machine_types)}
            X, frame = make_machine_sounds(**chosen, duration=duration, random_state=random_state)
            write_dcase_folder(root, X, frame)
            print(f"synthetic dataset written to {root}")
            frame = load_dcase(root)
        if year is None:
            names = frame["path"].map(lambda path: Path(path).name)
            year = 2022 if names.str.startswith("section_").any() else 2020
        scored, models = fit_score_by_machine_type(
            pipeline, frame, return_estimators=True, verbose=True
        )
        for machine_type, model in models.items():
            folder.dump_joblib(f"model_{machine_type}.joblib", model)
        write_challenge_csvs(
            output,
            scored,
            scored["anomaly_score"],
            scored["is_anomaly"],
            naming=CSV_NAMING.get(year, "section"),
        )
        run_info = {
            "detector": repr(pipeline),
            "data folder": str(root),
            "rules": f"DCASE {year}",
        }
        labelled = scored[scored["label"].notna()]
        if labelled.empty:
            print("no test labels: challenge CSVs written, no report")
            return pd.DataFrame()
        y = labelled["label"].to_numpy(dtype=int)
        metadata = {
            "machine_type": labelled["machine_type"].to_numpy(),
            "section": labelled["section"].to_numpy(),
            "domain": labelled["domain"].to_numpy(),
        }
        scores = labelled["anomaly_score"].to_numpy()
        table = dcase_report(y, scores, year=year, **metadata)
        if report:
            print("explaining the most anomalous clips and drawing the report")
            explainers = _fit_explainers(
                frame, list(models), n_jobs=n_jobs, random_state=random_state
            )
            index = write_run_report(
                output,
                scored,
                models=models,
                explainers=explainers,
                year=year,
                random_state=random_state,
                run_info=run_info,
            )
        else:
            write_dcase_tables(output, table, run_info=run_info)
    print(table.to_string(float_format=lambda v: f"{v:.4f}"))
    print(f"official score ({year} rules): {official_score(y, scores, year=year, **metadata):.4f}")
    if report:
        print(f"report: {index}")
    print(f"outputs in {output} (manifest: {output / MANIFEST_NAME})")
    return table


def _one_line(error: BaseException) -> str:
    """The message of ``error`` on one line."""
    return " ".join(str(error).split()) or type(error).__name__


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Print a warning as one line, ``sklasd: warning: ...``."""
    print(f"sklasd: warning: {_one_line(message)}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m sklasd`` and the ``sklasd`` console script.

    Errors are printed as one line, ``sklasd: error: <message>``, with exit status 2
    for bad options and data, 1 for other failures of the system (a full disk...) and
    130 when interrupted; warnings as ``sklasd: warning: <message>``.
    """
    parser = argparse.ArgumentParser(
        prog="sklasd",
        description=(
            "Fit a LogMel + pooling + scorer pipeline per machine type on a DCASE-layout "
            "folder, score its test clips, write the challenge CSVs and the DCASE report. "
            "Without ROOT, runs on a generated synthetic dataset."
        ),
    )
    parser.add_argument("root", nargs="?", help="dataset folder (<root>/<machine_type>/...)")
    parser.add_argument("--output", default="sklasd_output", help="output folder")
    parser.add_argument("--scorer", default="mahalanobis", choices=sorted(SCORERS))
    parser.add_argument(
        "--year",
        type=int,
        default=None,
        choices=YEARS,
        help="DCASE rules of the report (default: 2020 for id_XX names, else 2022)",
    )
    parser.add_argument("--machine-types", nargs="+", default=None)
    parser.add_argument("--n-jobs", type=int, default=None)
    parser.add_argument("--duration", type=float, default=4.0, help="synthetic clip length (s)")
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument(
        "--report",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="write OUTPUT/index.html with ROC curves, score histograms and embedding "
        "maps (default: on)",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the results of a previous run in OUTPUT (by default such a folder "
        "is refused); a run that fails puts the previous results back",
    )
    args = parser.parse_args(argv)
    command = [parser.prog, *(sys.argv[1:] if argv is None else argv)]
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        try:
            run(
                args.root,
                args.output,
                scorer=args.scorer,
                year=args.year,
                machine_types=args.machine_types,
                n_jobs=args.n_jobs,
                duration=args.duration,
                random_state=args.random_state,
                report=args.report,
                overwrite=args.overwrite,
                command=command,
            )
        except KeyboardInterrupt:
            print(
                f"sklasd: interrupted; {args.output} is as it was before the run, or marked "
                "incomplete",
                file=sys.stderr,
            )
            return 130
        except (SklasdError, ValueError, FileNotFoundError, NotADirectoryError) as exc:
            print(f"sklasd: error: {_one_line(exc)}", file=sys.stderr)
            return 2
        except OSError as exc:
            print(f"sklasd: error: {_one_line(exc)}", file=sys.stderr)
            return 1
    return 0
