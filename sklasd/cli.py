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
#: Clips a chunk of the synthetic dataset (a step of its progress bar).
SYNTHETIC_CHUNK = 32
#: Normal training clips per section that the explanations of the report are fitted on.
EXPLAINER_CLIPS = 10

#: Scorer steps of the default pipeline: option value -> class in :mod:`sklasd.scoring`
#: ("fusion": the Mahalanobis and standardised 1-NN steps in a ScoreEnsemble).
SCORERS = {
    "fusion": "ScoreEnsemble",
    "knn": "KNNScorer",
    "cosine": "CosineScorer",
    "mahalanobis": "MahalanobisScorer",
    "ocsvm": "OneClassSVMScorer",
}


def build_pipeline(scorer: str = "fusion", *, n_jobs: int | None = None) -> Pipeline:
    """The default detector of the main job: LogMel, per-band pooling, a scorer step.

    Each clip becomes the mean and standard deviation over time of each of its 128
    log-mel bands, scored by ``scorer``. The default, ``"fusion"``, is the label-free
    fusion of two scorer steps (:class:`~sklasd.ensemble.ScoreEnsemble`: each
    member's anomaly score z-normalised on its training scores, then averaged):

    - :class:`~sklasd.scoring.MahalanobisScorer` (one covariance per section, the
      nearer of the source and target means), the strongest single step on the
      synthetic regimes of ``benchmarks/accuracy.py``;
    - ``KNNScorer(n_neighbors=1, standardize=True)``, the 1-NN baseline's step, the
      stronger one on real recordings with very few clips per machine.

    Neither step alone held up in every regime measured; the fusion stayed above the
    baseline on every synthetic regime and near it on the real clips (the figures are
    in the documentation's accuracy page). It needs at least 3 normal training clips
    per section; :func:`run` and :func:`fit` give a machine type with a smaller section
    ``scorer="knn"`` instead, with a warning.

    Parameters
    ----------
    scorer : {"fusion", "knn", "cosine", "mahalanobis", "ocsvm"}, default="fusion"
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
    from sklasd.ensemble import ScoreEnsemble
    from sklasd.features import LogMel, TimePooling

    if scorer not in SCORERS:
        raise ValueError(f"unknown scorer {scorer!r}; choose one of {sorted(SCORERS)}")
    if scorer == "fusion":
        step = ScoreEnsemble(
            [
                ("mahalanobis", scoring.MahalanobisScorer()),
                ("knn", scoring.KNNScorer(n_neighbors=1, standardize=True)),
            ]
        )
    else:
        step = getattr(scoring, SCORERS[scorer])()
    return make_pipeline(LogMel(n_jobs=n_jobs), TimePooling(stats=("mean", "std")), step)


#: The fewest normal training clips per section that the fusion default is fitted on: its
#: members' training scores are normalised per section, and the leave-one-out 1-NN
#: distances of two clips are equal (no spread).
FUSION_MIN_CLIPS = 3


def _fusion_by_machine_type(estimator, frame, *, n_jobs: int | None = None):
    """``estimator``, or a dict that gives the 1-NN scorer step alone to the machine types
    with a section of fewer than :data:`FUSION_MIN_CLIPS` normal training clips."""
    import warnings

    train = frame[(frame["split"] == "train") & (frame["label"] != 1)]
    counts = train.groupby(["machine_type", "section"]).size()
    small = sorted(
        {str(machine_type) for (machine_type, _), n in counts.items() if n < FUSION_MIN_CLIPS}
    )
    if not small:
        return estimator
    warnings.warn(
        f"machine type(s) {small} have a section with fewer than {FUSION_MIN_CLIPS} normal "
        "training clips, too few for the fusion to normalise its scorer steps on: they use "
        "the 1-NN scorer step alone (as --scorer knn).",
        UserWarning,
        stacklevel=2,
    )
    knn = build_pipeline("knn", n_jobs=n_jobs)
    return {
        machine_type: knn if machine_type in small else estimator
        for machine_type in frame["machine_type"].astype(str).unique()
    }


#: Detectors of ``sklasd fit --detector``: name -> (module, factory), imported when used.
DETECTORS = {
    "default": ("sklasd.cli", "build_pipeline"),
    "baseline": ("sklasd.pipelines", "make_baseline_pipeline"),
    "autoencoder": ("sklasd.detectors", "AutoencoderDetector"),
    "idclassifier": ("sklasd.detectors", "IDClassifierDetector"),
    "outlierclassifier": ("sklasd.cli", "_outlier_classifier"),
    "centroidbce": ("sklasd.cli", "_centroid_bce"),
    "rcmae": ("sklasd.detectors", "RCMAEDetector"),
    "soundevent": ("sklasd.detectors", "SoundEventDetector"),
}
#: The scores of a run's test clips in its output folder, which ``sklasd report`` reads.
SCORES_NAME = "scores.csv"
#: Columns of :data:`SCORES_NAME` (those the dataset has).
_SCORES_CSV = (
    "path", "machine_type", "section", "domain", "label", "anomaly_score", "is_anomaly",
)  # fmt: skip
#: Columns of the CSV that ``sklasd score`` writes.
SCORE_COLUMNS = ("path", "machine_type", "section", "anomaly_score", "is_anomaly")
#: Exit status of ``sklasd score --fail-on-anomaly`` when a clip is flagged.
EXIT_ANOMALY = 3
#: Exit status of ``sklasd run`` when some machine types were scored and others failed.
EXIT_PARTIAL = 4


def _outlier_classifier():
    """OutlierClassifierDetector holding its default net, so that ``--set net__...`` reaches it."""
    from sklasd.detectors import OutlierClassifierDetector, make_outlier_net

    return OutlierClassifierDetector(net=make_outlier_net())


def _centroid_bce():
    """CentroidBCEDetector holding its default net, so that ``--set net__...`` reaches it."""
    from sklasd.detectors import CentroidBCEDetector, make_centroid_net

    return CentroidBCEDetector(net=make_centroid_net())


def make_detector(name: str, params: dict | None = None):
    """The unfitted detector ``name`` of :data:`DETECTORS`, with ``params`` set.

    Parameters
    ----------
    name : str
        A key of :data:`DETECTORS`: ``"default"`` (:func:`build_pipeline`),
        ``"baseline"`` (:func:`~sklasd.pipelines.make_baseline_pipeline`),
        ``"autoencoder"`` or a network detector's class name in lowercase.
    params : dict, default=None
        Parameters set with ``set_params`` (``step__param`` for a pipeline's steps).

    Returns
    -------
    detector : estimator
        The unfitted detector.

    Raises
    ------
    ValueError
        If ``name`` is unknown or a parameter is not one of the detector's.

    Examples
    --------
    >>> from sklasd.cli import make_detector
    >>> make_detector("baseline", {"knnscorer__n_neighbors": 3})[-1]
    KNNScorer(n_neighbors=3, standardize=True)
    >>> make_detector("outlierclassifier", {"net__max_epochs": 5}).net.max_epochs
    5
    """
    import importlib

    if name not in DETECTORS:
        raise ValueError(f"unknown detector {name!r}; choose one of {sorted(DETECTORS)}")
    module, factory = DETECTORS[name]
    detector = getattr(importlib.import_module(module), factory)()
    return detector.set_params(**(params or {}))


#: Modules whose public classes and functions ``--set`` and config files can build by name.
COMPONENT_MODULES = (
    "sklasd.features",
    "sklasd.scoring",
    "sklasd.training",
    "sklasd.embedders",
    "sklasd.detectors",
    "sklasd.nn",
    "sklasd.pipelines",
)


def _component(name: str):
    """The public class or function ``name`` of :data:`COMPONENT_MODULES`, else None."""
    import importlib

    for module_name in COMPONENT_MODULES:
        module = importlib.import_module(module_name)
        if name in module.__all__ and callable(getattr(module, name)):
            return getattr(module, name)
    return None


def _evaluate(node):
    """The value of a parsed ``--set`` value: a literal, or a component built by name."""
    import ast

    if isinstance(node, ast.Call):
        factory = _component(node.func.id) if isinstance(node.func, ast.Name) else None
        if factory is None or node.args:
            raise ValueError(
                f"{ast.unparse(node)!r}: only the public classes and functions of "
                f"{', '.join(COMPONENT_MODULES)} can be built, with keyword arguments"
            )
        return factory(**{keyword.arg: _evaluate(keyword.value) for keyword in node.keywords})
    if isinstance(node, ast.Name):  # inside a call: a class such as MobileNetV3IDNet
        found = _component(node.id)
        return node.id if found is None else found
    return ast.literal_eval(node)


def parse_value(text: str, *, literals: bool = True):
    """A ``--set`` value: a Python literal, a sklasd component built by name, or a string.

    ``Name(key=value, ...)``, where ``Name`` is a public class or function of
    :data:`COMPONENT_MODULES`, builds it (arguments by keyword, nested builds
    allowed, classes named bare, e.g. ``module=MobileNetV3IDNet``), so that a
    detector's steps and networks can be chosen from the command line or a config file.

    Parameters
    ----------
    text : str
        The value as written.
    literals : bool, default=True
        Read Python literals (``3``, ``(0, 64)``); False keeps all but builds as text
        (the strings of a config file, whose numbers are typed already).

    Returns
    -------
    value : object
        The literal, the built component, or ``text``.

    Examples
    --------
    >>> from sklasd.cli import parse_value
    >>> parse_value("(0, 64)"), parse_value("cosine")
    ((0, 64), 'cosine')
    >>> parse_value("LogMel(n_mels=32)")
    LogMel(n_mels=32)
    """
    import ast

    try:
        node = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        return text
    if isinstance(node, ast.Call):
        return _evaluate(node)
    if not literals:
        return text
    try:
        return ast.literal_eval(node)
    except ValueError:
        return text


def parse_params(assignments: Sequence[str]) -> dict:
    """Read ``key=value`` strings into a dict of values of :func:`parse_value`.

    Examples
    --------
    >>> from sklasd.cli import parse_params
    >>> parse_params(["n_neighbors=3", "metric=cosine", "bands=(0, 64)"])
    {'n_neighbors': 3, 'metric': 'cosine', 'bands': (0, 64)}
    """
    params = {}
    for assignment in assignments:
        key, sep, value = assignment.partition("=")
        if not sep or not key:
            raise ValueError(f"--set takes key=value; got {assignment!r}")
        params[key] = parse_value(value)
    return params


#: Keys of a config file (``--config``).
CONFIG_KEYS = ("detector", "params")


def read_config(path: str | Path) -> dict:
    """Read a detector choice from a TOML or JSON file (``sklasd fit/run --config``).

    The file names the detector (a key of :data:`DETECTORS`) and its parameters, as
    ``--detector NAME --set key=value ...`` would. Nested tables of ``params`` are
    joined with ``__`` (``[params.knnscorer]`` holding ``n_neighbors = 3`` is
    ``knnscorer__n_neighbors``). A file ending in ``.json`` is read as JSON, any other
    as TOML (:mod:`tomllib`); TOML and JSON arrays become lists, and strings are read
    as :func:`parse_value` reads ``--set`` values (``features = "LogMel(n_mels=32)"``
    builds the feature step).

    Parameters
    ----------
    path : str or Path
        The config file.

    Returns
    -------
    config : dict
        ``{"detector": str or None, "params": dict}``.

    Raises
    ------
    ValueError
        If the file cannot be parsed, or holds other keys, or a detector that is not a
        string, or params that are not a table.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from sklasd.cli import read_config
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "detector.toml"
    >>> _ = path.write_text('detector = "baseline"\\n[params.knnscorer]\\nn_neighbors = 3\\n')
    >>> read_config(path)
    {'detector': 'baseline', 'params': {'knnscorer__n_neighbors': 3}}
    """
    import json

    # Standard library from Python 3.11, the floor that scikit-learn >= 1.9 sets (ruff's
    # target, py310, lacks it).
    import tomllib

    path = Path(path)
    try:
        if path.suffix.lower() == ".json":
            config = json.loads(path.read_text(encoding="utf-8"))
        else:
            with open(path, "rb") as handle:
                config = tomllib.load(handle)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"Cannot read the config file {str(path)!r}: {error}") from error
    if not isinstance(config, dict) or set(config) - set(CONFIG_KEYS):
        unknown = sorted(set(config) - set(CONFIG_KEYS)) if isinstance(config, dict) else config
        raise ValueError(
            f"The config file {str(path)!r} may hold only {list(CONFIG_KEYS)}; got {unknown}."
        )
    detector, params = config.get("detector"), config.get("params", {})
    if detector is not None and not isinstance(detector, str):
        raise ValueError(f"detector in {str(path)!r} must be a name; got {detector!r}.")
    if not isinstance(params, dict):
        raise ValueError(f"params in {str(path)!r} must be a table; got {params!r}.")
    return {
        "detector": detector,
        "params": {
            key: parse_value(value, literals=False) if isinstance(value, str) else value
            for key, value in _flatten(params).items()
        },
    }


def _flatten(params: dict, prefix: str = "") -> dict:
    """Nested dicts of parameters as ``outer__inner`` keys."""
    flat = {}
    for key, value in params.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}__"))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def choose_detector(
    detector: str | None = None,
    assignments: Sequence[str] = (),
    config: str | Path | None = None,
) -> tuple[str, dict]:
    """The detector name and parameters from a config file and the command line.

    The command line wins: ``detector`` over the file's ``detector`` (else
    ``"default"``), each ``--set`` assignment over the file's value of that parameter.

    Parameters
    ----------
    detector : str, default=None
        ``--detector``; None takes the config file's, else ``"default"``.
    assignments : sequence of str, default=()
        ``--set`` assignments, ``key=value``.
    config : str or Path, default=None
        ``--config``: a file for :func:`read_config`.

    Returns
    -------
    name, params : str, dict
        The detector's name (a key of :data:`DETECTORS`) and its parameters.

    Examples
    --------
    >>> from sklasd.cli import choose_detector
    >>> choose_detector("baseline", ["knnscorer__n_neighbors=3"])
    ('baseline', {'knnscorer__n_neighbors': 3})
    """
    from_file = {"detector": None, "params": {}} if config is None else read_config(config)
    name = detector or from_file["detector"] or "default"
    return name, {**from_file["params"], **parse_params(assignments)}


def _show_progress(estimator, on: bool, keep: Sequence[str] = ()):
    """Switch the progress output (every ``verbose`` parameter) of ``estimator``'s steps.

    Boolean ones (feature steps: a bar over the clips) become ``on``, integer ones
    (network detectors: a row per epoch and a bar over its batches) 2 or 0; parameters
    in ``keep`` (set by the user) are left alone.
    """
    from sklearn.pipeline import Pipeline

    params = estimator.get_params(deep=True)
    switch = {}
    for key, value in params.items():
        owner = estimator if key == "verbose" else params.get(key.removesuffix("__verbose"))
        if isinstance(owner, Pipeline):  # its verbose times the steps: no progress
            continue
        if (key == "verbose" or key.endswith("__verbose")) and key not in keep:
            if isinstance(value, bool):
                switch[key] = on
            elif isinstance(value, int):
                switch[key] = 2 if on else 0
    return estimator.set_params(**switch)


def _say(verbose: bool, message: str) -> None:
    """Print a progress line at once, unless quiet."""
    if verbose:
        print(message, flush=True)


def _check_machine_types(frame: pd.DataFrame) -> None:
    """Refuse a dataset in which no machine type has both training and test clips.

    Machine types that lack one of them while others have both are left to the run,
    which names them among the machine types it could not score.
    """
    lacking = []
    for machine_type, splits in frame.groupby("machine_type")["split"]:
        missing = sorted({"train", "test"} - set(splits))
        if missing:
            lacking.append(f"{machine_type} has no {' or '.join(missing)} clips")
    if len(lacking) == frame["machine_type"].nunique():
        raise DatasetError(
            "No machine type has both training and test clips: "
            + "; ".join(lacking)
            + ". Point to a DCASE folder with train/ and test/ folders, or add the clips."
        )


def _inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or lies under it."""
    path, folder = path.resolve(), folder.resolve()
    return path == folder or folder in path.parents


def _fit_explainers(
    frame: pd.DataFrame,
    machine_types: Sequence[str],
    *,
    n_jobs: int | None,
    random_state: int,
    verbose: bool = False,
) -> dict:
    """A LogMelExplainer per machine type, on up to EXPLAINER_CLIPS training clips a section."""
    from sklasd.features import LogMel
    from sklasd.inspection import LogMelExplainer

    train = frame[(frame["split"] == "train") & frame["machine_type"].isin(machine_types)]
    return {
        machine_type: LogMelExplainer(
            logmel=LogMel(n_jobs=n_jobs, verbose=verbose),
            max_clips=EXPLAINER_CLIPS,
            random_state=random_state,
        ).fit(clips["path"].to_numpy(), section=clips["section"].to_numpy())
        for machine_type, clips in train.groupby("machine_type")
    }


def _guess_year(paths: pd.Series) -> int:
    """The DCASE rules a dataset's names suggest: 2022 for ``section_XX`` names, else 2020."""
    names = paths.map(lambda path: Path(path).name)
    return 2022 if names.str.startswith("section_").any() else 2020


def run(
    root: str | Path | None,
    output: str | Path,
    *,
    scorer: str = "fusion",
    detector: str = "default",
    params: dict | None = None,
    config: str | Path | None = None,
    year: int | None = None,
    machine_types: Sequence[str] | None = None,
    n_jobs: int | None = None,
    duration: float = 4.0,
    random_state: int = 0,
    report: bool = True,
    overwrite: bool = False,
    command: Sequence[str] | None = None,
    verbose: bool = True,
) -> pd.DataFrame:
    """Fit, score and report on a DCASE-layout folder, one detector per machine type.

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
        Folder for the challenge CSVs, ``scores.csv`` (every scored test clip with its
        metadata, label, anomaly score and decision, from which :func:`report` redraws
        the report), the report and the fitted detectors (``model_<type>.joblib``).
    scorer : str, default="fusion"
        Scorer step of the default detector; see :func:`build_pipeline`.
    detector : str, default="default"
        A name of :data:`DETECTORS` (see :func:`make_detector`); ``"default"`` is
        :func:`build_pipeline` with ``scorer``.
    params : dict, default=None
        Parameters of the detector (``set_params``), e.g. from :func:`choose_detector`.
    config : str or Path, default=None
        The config file the detector and ``params`` came from, recorded in the manifest
        and the report (it is not read here: see :func:`choose_detector`).
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
    verbose : bool, default=True
        Progress: a bar over the clips of each feature extraction, a row per epoch and a
        bar over its batches for network detectors (every ``verbose`` parameter of the
        detector not in ``params``), and a line per step of the run and per figure of
        the report. False prints only the results.

    Returns
    -------
    report : DataFrame
        The :func:`~sklasd.metrics.dcase_report` table of the test clips with known labels, or
        an empty frame when no test clip is labelled. ``report.attrs["failed_machine_types"]``
        maps each machine type that could not be scored (no training or test clips, or an
        error in its fit) to the reason; the others are scored, written and reported.

    Raises
    ------
    OutputFolderError
        If ``output`` holds another run's results (and not ``overwrite``), another run
        is writing into it, or it cannot be written.
    DatasetError
        If a clip name is wrong, or no machine type has both training and test clips.
    ValueError
        If an option is out of range.
    """
    _say(verbose, "loading numpy, pandas, scikit-learn and sklasd")
    import math

    import pandas as pd
    from tqdm.auto import tqdm

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
    params = dict(params or {})
    if detector == "default":
        pipeline = build_pipeline(scorer, n_jobs=n_jobs).set_params(**params)
    else:
        pipeline = make_detector(detector, params)
    described = repr(pipeline)  # as chosen, before the progress output is switched on
    _show_progress(pipeline, verbose, keep=list(params))
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
        "detector": detector,
        "params": params,
        "config": None if config is None else str(Path(config).resolve()),
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
            chunks, frame = make_machine_sounds(
                **chosen, duration=duration, random_state=random_state, chunk_size=SYNTHETIC_CHUNK
            )  # the same clips as in one array, generated as they are written
            progress = tqdm(
                chunks,
                total=math.ceil(len(frame) / SYNTHETIC_CHUNK),
                desc="synthetic dataset",
                unit="chunk",
                disable=not verbose,
            )
            write_dcase_folder(root, progress, frame)
            _say(verbose, f"synthetic dataset written to {root}")
            frame = load_dcase(root)
        if year is None:
            year = _guess_year(frame["path"])
        if detector == "default" and scorer == "fusion":
            pipeline = _fusion_by_machine_type(pipeline, frame, n_jobs=n_jobs)
        # One machine type that fails does not discard the others: they are listed.
        scored, models = fit_score_by_machine_type(
            pipeline, frame, return_estimators=True, on_error="warn", verbose=verbose
        )
        failed = scored.attrs["failed_machine_types"]
        folder.write_text(
            SCORES_NAME,
            scored[[column for column in _SCORES_CSV if column in scored]].to_csv(index=False),
        )
        for machine_type, model in models.items():
            # saved quiet, as a detector made in Python is by default
            _show_progress(model, False, keep=list(params))
            folder.dump_joblib(f"model_{machine_type}.joblib", model)
        write_challenge_csvs(
            output,
            scored,
            scored["anomaly_score"],
            scored["is_anomaly"],
            naming=CSV_NAMING.get(year, "section"),
        )
        run_info = {
            "detector": described,
            **({} if config is None else {"config file": str(config)}),
            "data folder": str(root),
            "rules": f"DCASE {year}",
            **(
                {"not scored (no training clips)": "; ".join(unscored)}
                if (unscored := scored.attrs.get("unscored_sections"))
                else {}
            ),
            **(
                {"machine types not scored": "; ".join(f"{k}: {v}" for k, v in failed.items())}
                if failed
                else {}
            ),
        }
        labelled = _evaluable(scored[scored["label"].notna()], year)
        if labelled.empty:
            print("no test section with labelled normal and anomalous clips: challenge CSVs "
                  "written, no report")  # fmt: skip
            return _with_failures(pd.DataFrame(), failed)
        y = labelled["label"].to_numpy(dtype=int)
        metadata = {
            "machine_type": labelled["machine_type"].to_numpy(),
            "section": labelled["section"].to_numpy(),
            "domain": labelled["domain"].to_numpy(),
        }
        scores = labelled["anomaly_score"].to_numpy()
        table = dcase_report(y, scores, year=year, **metadata)
        if report:
            _say(verbose, "fitting the explainers of the most anomalous clips")
            explainers = _fit_explainers(
                frame, list(models), n_jobs=n_jobs, random_state=random_state, verbose=verbose
            )
            index = write_run_report(
                output,
                labelled,
                models=models,
                explainers=explainers,
                year=year,
                random_state=random_state,
                run_info=run_info,
                verbose=verbose,
            )
        else:
            write_dcase_tables(output, table, run_info=run_info)
    print(table.to_string(float_format=lambda v: f"{v:.4f}"))
    print(f"official score ({year} rules): {official_score(y, scores, year=year, **metadata):.4f}")
    if report:
        print(f"report: {index}")
    print(f"outputs in {output} (manifest: {output / MANIFEST_NAME})")
    return _with_failures(table, failed)


def _with_failures(table: pd.DataFrame, failed: dict[str, str]) -> pd.DataFrame:
    """``table`` with the machine types the run could not score in its attrs."""
    table.attrs["failed_machine_types"] = failed
    return table


def _evaluable(labelled: pd.DataFrame, year: int) -> pd.DataFrame:
    """The labelled test clips of the sections that the ``year`` rules can evaluate.

    AUC and pAUC need normal and anomalous clips (from 2022 on, the normal clips of
    each domain against the section's anomalies); sections where the rules' own
    report fails on that are named in a warning and left out (their scores are in
    the challenge CSVs all the same).
    """
    import warnings

    from sklasd.metrics import dcase_report

    kept, dropped = [], []
    for (machine_type, section), part in labelled.groupby(["machine_type", "section"]):
        try:
            dcase_report(
                part["label"].to_numpy(dtype=int),
                part["anomaly_score"].to_numpy(),
                year=year,
                machine_type=part["machine_type"].to_numpy(),
                section=part["section"].to_numpy(),
                domain=part["domain"].to_numpy(),
            )
        except ValueError as error:
            dropped.append(f"{machine_type} section {section} ({error})")
        else:
            kept.append(part.index)
    if dropped:
        warnings.warn(
            "left out of the tables and the official score, their scores being in the "
            f"challenge CSVs: {'; '.join(dropped)}",
            UserWarning,
            stacklevel=2,
        )
    return labelled.loc[[row for index in kept for row in index]]


def fit(
    root: str | Path,
    model: str | Path,
    *,
    detector: str = "default",
    params: dict | None = None,
    config: str | Path | None = None,
    machine_types: Sequence[str] | None = None,
    overwrite: bool = False,
    verbose: bool = True,
) -> dict:
    """Fit a detector per machine type on the training clips of a DCASE folder; save them.

    The model file is written atomically (:func:`~sklasd.utils.atomic_write`) with
    :func:`joblib.dump`: a dict with ``"models"`` (machine type -> fitted detector),
    ``"explainers"`` (machine type -> :class:`~sklasd.inspection.LogMelExplainer` on up
    to ``EXPLAINER_CLIPS`` training clips a section, for ``score --explain``),
    ``"detector"``, ``"params"``, ``"config"`` (the config file, or None),
    ``"sklasd_version"``, ``"data_folder"`` and ``"learned"`` (the training clips,
    which :func:`update` skips), which
    :func:`score` reads (load it with :func:`~sklasd.utils.load_model`).

    Parameters
    ----------
    root : str or Path
        The dataset folder (``<root>/<machine_type>/train/*.wav``).
    model : str or Path
        The model file to write.
    detector : str, default="default"
        A name of :data:`DETECTORS` (see :func:`make_detector`).
    params : dict, default=None
        Parameters of the detector (``set_params``).
    config : str or Path, default=None
        The config file the detector and ``params`` came from, recorded in the model
        file (it is not read here: see :func:`choose_detector`).
    machine_types : sequence of str, default=None
        Restrict to these machine types.
    overwrite : bool, default=False
        Replace an existing model file.
    verbose : bool, default=True
        Progress bars of feature extraction and training, and a line per machine type
        (see :func:`run`).

    Returns
    -------
    saved : dict
        What was saved.

    Raises
    ------
    FileExistsError
        If ``model`` exists and not ``overwrite``.
    DatasetError
        If a clip name is wrong or there are no training clips.
    ValueError
        If the detector or a parameter is unknown.
    """
    import joblib
    import sklearn

    from sklasd import __version__
    from sklasd.datasets import load_dcase
    from sklasd.detectors._by_machine_type import _fit_clone
    from sklasd.utils import atomic_write

    model = Path(model)
    if model.exists() and not overwrite:
        raise FileExistsError(
            f"Model file {str(model)!r} exists; pass --overwrite (overwrite=True) to replace it."
        )
    estimator = _show_progress(make_detector(detector, params), verbose, keep=list(params or {}))
    frame = load_dcase(root, machine_types=machine_types, splits="train").reset_index(drop=True)
    if frame.empty:
        raise DatasetError(f"No training clips under {str(root)!r}.")
    if detector == "default" and "scoreensemble" in estimator.named_steps:
        estimator = _fusion_by_machine_type(estimator, frame)
    models = {}
    X = frame["path"].to_numpy()
    with sklearn.config_context(enable_metadata_routing=True):
        for machine_type, rows in frame.groupby("machine_type", sort=True).indices.items():
            _say(verbose, f"{machine_type}: fitting on {rows.size} training clips")
            chosen = estimator[machine_type] if isinstance(estimator, dict) else estimator
            models[machine_type] = _show_progress(
                _fit_clone(chosen, frame, X, rows), False, keep=list(params or {})
            )  # saved quiet, as a detector made in Python is by default
    _say(verbose, "fitting the explainers (for `sklasd score --explain`)")
    explainers = _fit_explainers(frame, list(models), n_jobs=None, random_state=0, verbose=verbose)
    saved = {
        "models": models,
        "explainers": explainers,
        "detector": detector,
        "params": dict(params or {}),
        "config": None if config is None else str(Path(config).resolve()),
        "sklasd_version": __version__,
        "data_folder": str(Path(root).resolve()),
        "learned": sorted(str(Path(path).resolve()) for path in X),
    }
    model.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(model, "wb") as handle:
        joblib.dump(saved, handle)
    _say(verbose, f"model of {len(models)} machine type(s) saved to {model}")
    return saved


def _load_fitted(path: str | Path) -> dict:
    """The dict of a model file written by :func:`fit` (``"models"``: machine type -> detector)."""
    from sklasd.exceptions import ModelFileError
    from sklasd.utils import load_model

    saved = load_model(path)
    if not (isinstance(saved, dict) and isinstance(saved.get("models"), dict)):
        raise ModelFileError(
            f"Model file {str(path)!r} was not written by `sklasd fit` (no dict of models "
            "per machine type); write one with `sklasd fit ROOT --model FILE`."
        )
    return saved


def _list_clips(clips: Sequence[str | Path]) -> list[Path]:
    """The .wav files given, folders searched recursively (macOS ``._*`` files skipped)."""
    found = []
    for clip in map(Path, clips):
        if clip.is_dir():
            wavs = sorted(
                path
                for path in clip.rglob("*")
                if path.suffix.lower() == ".wav" and not path.name.startswith("._")
            )
            if not wavs:
                raise DatasetError(f"No .wav files under {str(clip)!r}.")
            found += wavs
        elif clip.is_file():
            found.append(clip)
        else:
            raise FileNotFoundError(f"Clip or folder {str(clip)!r} does not exist.")
    return found


def _clip_machine_type(path: Path, known: Sequence[str], given: str | None) -> str:
    """``given``, else the nearest folder of ``path`` named after a known machine type."""
    if given is not None:
        if given not in known:
            raise ValueError(
                f"--machine-type {given!r} is not in the model (machine types: {sorted(known)})"
            )
        return given
    for folder in path.resolve().parents:
        if folder.name in known:
            return folder.name
    if len(known) == 1:
        return next(iter(known))
    raise DatasetError(
        f"Cannot tell the machine type of {str(path)!r}: no folder above it is named after "
        f"one of the model's machine types {sorted(known)}; pass --machine-type."
    )


def _clip_section(path: Path, given: int | None) -> int | None:
    """``given``, else the section (machine ID) of a DCASE name, else None."""
    from sklasd.datasets._dcase import _parse_name, _section_number

    if given is not None:
        return given
    parsed = _parse_name(path.stem, "auto")
    return None if parsed is None else _section_number(parsed["section"], str(path))


def _clip_frame(
    paths: Sequence[Path], known: Sequence[str], machine_type: str | None, section: int | None
) -> pd.DataFrame:
    """Path, machine type and section (Int64, missing where unknown) of each clip."""
    import pandas as pd

    return pd.DataFrame(
        {
            "path": [str(path) for path in paths],
            "machine_type": [_clip_machine_type(path, known, machine_type) for path in paths],
            "section": pd.array([_clip_section(path, section) for path in paths], dtype="Int64"),
        }
    )


def _known_sections(clips: pd.DataFrame, name: str, needed: bool):
    """The sections of ``clips`` as ints, or None where one is unknown and not ``needed``."""
    sections = clips["section"]
    if not sections.isna().any():
        return sections.to_numpy(dtype=int)
    if needed:
        raise DatasetError(
            f"The {name} detector works by section, and the name of "
            f"{clips.loc[sections.isna().idxmax(), 'path']!r} gives none "
            "(section_XX_... or id_XX_...); pass --section."
        )
    return None


def score(
    model: str | Path,
    clips: Sequence[str | Path],
    *,
    machine_type: str | None = None,
    section: int | None = None,
    explain: str | None = None,
    explain_dir: str | Path = "sklasd_explanations",
    verbose: bool = False,
) -> pd.DataFrame:
    """Score recordings with a model file written by :func:`fit`.

    Parameters
    ----------
    model : str or Path
        The model file.
    clips : sequence of str or Path
        Clips (.wav) and folders, searched recursively for .wav files.
    machine_type : str, default=None
        The machine type of every clip; None takes the nearest folder named after one
        of the model's machine types (or the model's only one).
    section : int, default=None
        The section (machine ID) of every clip; None reads it from DCASE names
        (``section_00_...``, ``id_00_...``), needed where the detector scores by section.
    explain : {"flagged", "all"}, default=None
        Explain the flagged clips, or every clip: where each departs from the normal
        training clips of its section, in words (the ``explanation`` column, e.g.
        ``"2.1–2.4 s, 3.0–4.0 kHz, +14 dB over normal"``) and as a time x frequency map
        (a PNG in ``explain_dir``, its path in the ``explanation_map`` column), from the
        :class:`~sklasd.inspection.LogMelExplainer` that :func:`fit` saved in the model
        file. A clip of a section the explainer has no training clips of (one added by
        :func:`update`, or an unknown one) gets a note instead. None: no explanations.
    explain_dir : str or Path, default="sklasd_explanations"
        Folder for the maps (created when missing; a map of the same name is replaced).
    verbose : bool, default=False
        Progress bars over the clips of the feature extraction.

    Returns
    -------
    scores : DataFrame
        Columns :data:`SCORE_COLUMNS`: ``anomaly_score`` is ``-decision_function``,
        ``is_anomaly`` is 1 where ``decision_function < 0``; with ``explain``, also
        ``explanation`` and ``explanation_map`` (empty for the clips not explained).

    Raises
    ------
    DatasetError
        If a clip's machine type, or its section where the detector needs it, is unknown.
    ModelFileError
        If the model file is damaged or not written by :func:`fit`.
    """
    import numpy as np
    import pandas as pd
    import sklearn
    from sklearn.utils.metadata_routing import get_routing_for_object

    from sklasd.detectors._by_machine_type import _decision
    from sklasd.exceptions import ModelFileError

    if explain not in (None, "flagged", "all"):
        raise ValueError(f"explain must be 'flagged', 'all' or None; got {explain!r}.")
    saved = _load_fitted(model)
    models = saved["models"]
    if explain is not None and not saved.get("explainers"):
        raise ModelFileError(
            f"The model file {str(model)!r} holds no explainers (sklasd fit saves them since "
            "sklasd 0.x); fit it again with `sklasd fit` to explain clips."
        )
    frame = _clip_frame(_list_clips(clips), list(models), machine_type, section)
    frame["anomaly_score"] = np.nan
    with sklearn.config_context(enable_metadata_routing=True):
        for name, rows in frame.groupby("machine_type").groups.items():
            detector = _show_progress(models[name], verbose)
            needed = get_routing_for_object(detector).consumes("decision_function", ["section"])
            known = _known_sections(frame.loc[rows], name, bool(needed))
            frame.loc[rows, "anomaly_score"] = -_decision(
                detector, frame.loc[rows, "path"].to_numpy(), known
            )
    frame["is_anomaly"] = (frame["anomaly_score"] > 0).astype(int)
    if explain is None:
        return frame[list(SCORE_COLUMNS)]
    chosen = frame if explain == "all" else frame[frame["is_anomaly"] == 1]
    texts, maps = _explain_clips(chosen, saved["explainers"], Path(explain_dir))
    frame["explanation"] = pd.Series(texts, dtype=object)
    frame["explanation_map"] = pd.Series(maps, dtype=object)
    return frame[[*SCORE_COLUMNS, "explanation", "explanation_map"]]


def _explain_clips(clips: pd.DataFrame, explainers: dict, folder: Path) -> tuple[dict, dict]:
    """Explanation sentences and map files of ``clips`` (rows of a :func:`_clip_frame`),
    keyed by row."""
    import numpy as np

    from sklasd.inspection._report import _explanation_figure

    texts, maps, used = {}, {}, set()
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in clips.groupby("machine_type").groups.items():
        explainer = explainers[name]
        sections = clips.loc[rows, "section"]
        explainable = np.ones(len(rows), dtype=bool)
        if explainer.sections_ is not None:
            explainable = sections.notna().to_numpy() & np.isin(
                sections.fillna(-1).to_numpy(dtype=int), explainer.sections_
            )
        for row in rows[~explainable]:
            texts[row] = "not explained: no normal training clips of this section"
        rows = rows[explainable]
        if rows.empty:
            continue
        explained = explainer.explain(
            clips.loc[rows, "path"].tolist(),
            section=None
            if explainer.sections_ is None
            else clips.loc[rows, "section"].to_numpy(dtype=int),
        )
        for row, explanation in zip(rows, explained, strict=True):
            stem = f"{name}_{Path(clips.loc[row, 'path']).stem}"
            file, number = folder / f"{stem}.png", 1
            while file in used:  # the same name in two folders
                file, number = folder / f"{stem}_{number}.png", number + 1
            used.add(file)
            _explanation_figure([(Path(explanation.clip).name, explanation)], file)
            texts[row], maps[row] = explanation.text, str(file)
    return texts, maps


def _incremental_step(detector, name: str):
    """(the steps before the scorer step or None, the step with ``partial_fit``)."""
    from sklearn.pipeline import Pipeline

    head, last = (
        (detector[:-1], detector[-1]) if isinstance(detector, Pipeline) else (None, detector)
    )
    if not hasattr(last, "partial_fit"):
        raise ValueError(
            f"The {name} detector ({type(last).__name__}) cannot take new clips without "
            "refitting; the scorer steps KNNScorer, CosineScorer and MahalanobisScorer (and "
            "a ScoreEnsemble of them) can "
            "(e.g. `sklasd fit --detector default` or `baseline`). Refit with `sklasd fit`."
        )
    return head, last


def update(
    model: str | Path,
    clips: Sequence[str | Path],
    *,
    machine_type: str | None = None,
    section: int | None = None,
    domain: str | None = None,
    output: str | Path | None = None,
    verbose: bool = True,
) -> int:
    """Teach a model file of :func:`fit` new normal clips, without refitting.

    The scorer step of each machine type's detector (a
    :class:`~sklasd.scoring.KNNScorer`, :class:`~sklasd.scoring.CosineScorer` or
    :class:`~sklasd.scoring.MahalanobisScorer`, or a
    :class:`~sklasd.ensemble.ScoreEnsemble` of them: the last step of the default and
    baseline pipelines) takes the clips' features through ``partial_fit``: the
    sections given new clips are refitted on all of theirs (a new section gets a model
    of its own), the other sections and the feature steps stay as they were. Clips
    named anomalous (``..._anomaly_...``) are left out, and clips the model file has
    learned before (it lists them under ``"learned"``: its training clips and those of
    earlier updates) are skipped, so the same folder can be given again; when no clip
    is new, nothing is written. The model file is rewritten atomically, with the update
    recorded under ``"updates"``.

    Parameters
    ----------
    model : str or Path
        The model file.
    clips : sequence of str or Path
        Normal clips (.wav) and folders, searched recursively.
    machine_type : str, default=None
        The machine type of every clip (see :func:`score`).
    section : int, default=None
        The section of every clip (see :func:`score`).
    domain : str, default=None
        The domain of every clip; None reads it from DCASE names, else ``"source"``.
    output : str or Path, default=None
        Write the updated model here instead of replacing ``model``.
    verbose : bool, default=True
        Progress bars of the feature extraction, and a line per machine type.

    Returns
    -------
    n_learned : int
        The clips added (normal and not learned before).

    Raises
    ------
    ValueError
        If a detector has no step that offers ``partial_fit``.
    DatasetError
        If a clip's machine type, or its section where the detector needs it, is unknown.
    """
    import datetime

    import joblib
    import sklearn
    from sklearn.utils.metadata_routing import get_routing_for_object

    from sklasd import __version__
    from sklasd.datasets._dcase import _parse_name
    from sklasd.utils import atomic_write

    saved = _load_fitted(model)
    models, learned = saved["models"], set(saved.get("learned", []))
    given = _list_clips(clips)
    paths = [path for path in given if str(path.resolve()) not in learned]
    if not paths:
        print(f"all {len(given)} clip(s) were learned before; {str(model)!r} is unchanged")
        return 0
    frame = _clip_frame(paths, list(models), machine_type, section)
    parsed = [_parse_name(path.stem, "auto") or {} for path in paths]
    frame["domain"] = [domain or fields.get("name_domain") or "source" for fields in parsed]
    frame["label"] = [int(fields.get("label") == 1) for fields in parsed]
    with sklearn.config_context(enable_metadata_routing=True):
        for name, rows in frame.groupby("machine_type").groups.items():
            clips_of = frame.loc[rows]
            head, learner = _incremental_step(_show_progress(models[name], verbose), name)
            consumed = get_routing_for_object(learner).consumes(
                "partial_fit", ["section", "domain"]
            )
            params = {"section": _known_sections(clips_of, name, "section" in consumed)}
            params["domain"] = clips_of["domain"].to_numpy()
            X = clips_of["path"].to_numpy()
            _say(verbose, f"{name}: learning {int((clips_of['label'] == 0).sum())} normal clip(s)")
            learner.partial_fit(
                X if head is None else head.transform(X),
                clips_of["label"].to_numpy(),
                **{key: value for key, value in params.items() if key in consumed},
            )
            _show_progress(models[name], False)
    n_learned = int((frame["label"] == 0).sum())
    saved["learned"] = sorted(learned | {str(path.resolve()) for path in paths})
    saved.setdefault("updates", []).append(
        {
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "clips": n_learned,
            "left_out_as_anomalous": int(frame["label"].sum()),
            "sklasd_version": __version__,
        }
    )
    target = Path(model if output is None else output)
    with atomic_write(target, "wb") as handle:
        joblib.dump(saved, handle)
    skipped = len(given) - len(paths)
    print(
        f"{n_learned} normal clip(s) learned"
        + (
            f", {int(frame['label'].sum())} named anomalous left out"
            if frame["label"].any()
            else ""
        )
        + (f", {skipped} learned before skipped" if skipped else "")
        + f": {target}"
    )
    return n_learned


def _settled_clips(folder: str | Path, settle: float) -> list[Path]:
    """The .wav files under ``folder`` unmodified for ``settle`` seconds, sorted."""
    import time

    now = time.time()
    return sorted(
        path
        for path in Path(folder).rglob("*")
        if path.suffix.lower() == ".wav"
        and not path.name.startswith("._")
        and now - path.stat().st_mtime >= settle
    )


def watch(
    folder: str | Path,
    model: str | Path,
    results: str | Path,
    *,
    machine_type: str | None = None,
    section: int | None = None,
    interval: float = 5.0,
    settle: float = 2.0,
    once: bool = False,
    learn_normal: str | Path | None = None,
) -> int:
    """Score the .wav files that arrive in ``folder``, appending them to ``results``.

    Every ``interval`` seconds, the .wav files under ``folder`` that ``results`` does not
    list yet, and that were last modified at least ``settle`` seconds ago (so that a file
    still being copied waits), are scored with :func:`score` and added to ``results`` (a
    CSV with the columns :data:`SCORE_COLUMNS`, rewritten atomically). Runs until
    interrupted, or one pass with ``once``. With ``learn_normal``, each pass first
    teaches the model the settled clips that arrived in that folder of known-normal
    recordings (:func:`update`), so that the model follows the machine without a refit.

    Parameters
    ----------
    folder : str or Path
        The folder to watch (searched recursively).
    model : str or Path
        A model file of :func:`fit`.
    results : str or Path
        The results CSV (created when missing).
    machine_type : str, default=None
        The machine type of every clip (see :func:`score`).
    section : int, default=None
        The section of every clip (see :func:`score`).
    interval : float, default=5.0
        Seconds between passes.
    settle : float, default=2.0
        Seconds a file must stay unmodified before it is scored.
    once : bool, default=False
        Make one pass and return.
    learn_normal : str or Path, default=None
        A folder of normal recordings (searched recursively) whose new clips are added
        to ``model`` before each pass; the model file is rewritten.

    Returns
    -------
    n_scored : int
        Clips scored by the pass (with ``once``), else 0 once interrupted (Ctrl-C).
    """
    import time

    import pandas as pd

    from sklasd.utils import atomic_write

    folder, results = Path(folder), Path(results)
    for given in (folder, learn_normal):
        if given is not None and not Path(given).is_dir():
            raise NotADirectoryError(f"Folder to watch {str(given)!r} is not a folder.")
    _load_fitted(model)  # a bad model file fails at once, not at the first clip
    try:
        while True:
            if learn_normal is not None:
                learned = set(_load_fitted(model).get("learned", []))
                normal = [
                    path
                    for path in _settled_clips(learn_normal, settle)
                    if str(path.resolve()) not in learned
                ]
                if normal:
                    update(model, normal, machine_type=machine_type, section=section)
            done = set(pd.read_csv(results)["path"]) if results.exists() else set()
            new = [path for path in _settled_clips(folder, settle) if str(path) not in done]
            if new:
                scores = score(model, new, machine_type=machine_type, section=section)
                for row in scores.itertuples():
                    flag = "ANOMALY" if row.is_anomaly else "normal"
                    print(f"{row.path}: {row.anomaly_score:.4f} {flag}", flush=True)
                if done:
                    scores = pd.concat([pd.read_csv(results), scores], ignore_index=True)
                with atomic_write(results, encoding="utf-8", newline="") as handle:
                    scores.to_csv(handle, index=False)
            if once:
                return len(new)
            time.sleep(interval)
    except KeyboardInterrupt:
        print(f"stopped watching {folder}; results in {results}")
        return 0


def _read_table(path: str | Path, columns: Sequence[str], what: str) -> pd.DataFrame:
    """A CSV file with a header holding ``columns``, or an error naming the file."""
    import pandas as pd

    try:
        table = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise DatasetError(f"Cannot read the {what} {str(path)!r}: {error}") from error
    missing = [column for column in columns if column not in table.columns]
    if missing:
        raise DatasetError(
            f"The {what} {str(path)!r} lacks the column(s) {missing}; its header must name "
            f"{list(columns)}."
        )
    return table


def evaluate(
    scores: str | Path,
    ground_truth: str | Path,
    *,
    year: int | None = None,
    output: str | Path | None = None,
    overwrite: bool = False,
    command: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The official DCASE report of a scores CSV of :func:`score` against known labels.

    Parameters
    ----------
    scores : str or Path
        A CSV with the columns ``path``, ``machine_type``, ``section`` and
        ``anomaly_score`` (as :func:`score` writes).
    ground_truth : str or Path
        A CSV with the columns ``path`` and ``label`` (0 normal, 1 anomalous), and
        optionally ``domain`` (``source`` or ``target``; else read from DCASE names, else
        ``source``), and ``machine_type``. Rows are matched to the scores by machine type
        and file name where the ground truth has ``machine_type``, else by file name where
        its paths are bare file names, else by path.
    year : int, default=None
        DCASE rules (2020-2025); None: 2020 for ``id_XX`` names, else 2022.
    output : str or Path, default=None
        Also write ``dcase_report.csv``, ``dcase_report.md`` and ``scores.csv`` (the
        scores with their labels and domains, from which :func:`report` draws the full
        report) into this run folder (:class:`~sklasd.utils.RunFolder`).
    overwrite : bool, default=False
        Replace a previous run's files in ``output``.
    command : sequence of str, default=None
        The command recorded in the manifest; None records :data:`sys.argv`.

    Returns
    -------
    report : DataFrame
        The :func:`~sklasd.metrics.dcase_report` table.

    Raises
    ------
    DatasetError
        If a file lacks a column, or a scored clip has no label.
    """
    from sklasd.datasets._dcase import _parse_name
    from sklasd.inspection import write_dcase_tables
    from sklasd.metrics import dcase_report, official_score
    from sklasd.utils import RunFolder

    if year is not None and year not in YEARS:
        raise ValueError(f"year must be one of {YEARS}; got {year!r}.")
    scored = _read_table(scores, ("path", "machine_type", "section", "anomaly_score"), "scores")
    truth = _read_table(ground_truth, ("path", "label"), "ground truth")
    scored["name"] = scored["path"].map(lambda path: Path(path).name)
    truth["name"] = truth["path"].map(lambda path: Path(path).name)
    if "machine_type" in truth.columns:
        keys = ["machine_type", "name"]
    elif (truth["name"] == truth["path"]).all():
        keys = ["name"]
    else:  # paths with folders: the same clip, wherever the commands ran
        keys = ["key"]
        scored["key"] = scored["path"].map(lambda path: str(Path(path).resolve()))
        truth["key"] = truth["path"].map(lambda path: str(Path(path).resolve()))
    doubled = truth.duplicated(keys)
    if doubled.any():
        raise DatasetError(
            f"The ground truth {str(ground_truth)!r} lists {truth.loc[doubled.idxmax(), 'path']!r}"
            f" twice (matched by {' and '.join(keys)})."
        )
    truth = truth[[*keys, *(column for column in ("label", "domain") if column in truth)]]
    labelled = scored.merge(truth, on=keys, how="left")
    unknown = labelled["label"].isna() | ~labelled["label"].isin([0, 1])
    if unknown.any():
        raise DatasetError(
            f"{unknown.sum()} scored clip(s) have no label 0 or 1 in {str(ground_truth)!r}, "
            f"e.g. {labelled.loc[unknown.idxmax(), 'name']!r}."
        )
    if "domain" not in labelled.columns:
        parsed = labelled["name"].map(lambda name: _parse_name(Path(name).stem, "auto"))
        labelled["domain"] = parsed.map(lambda fields: (fields or {}).get("name_domain"))
    labelled["domain"] = labelled["domain"].fillna("source")
    if year is None:
        year = _guess_year(labelled["name"])
    y = labelled["label"].to_numpy(dtype=int)
    metadata = {
        "machine_type": labelled["machine_type"].to_numpy(),
        "section": labelled["section"].to_numpy(),
        "domain": labelled["domain"].to_numpy(),
    }
    values = labelled["anomaly_score"].to_numpy(dtype=float)
    table = dcase_report(y, values, year=year, **metadata)
    if output is not None:
        options = {
            "scores": str(Path(scores).resolve()),
            "ground_truth": str(Path(ground_truth).resolve()),
            "year": year,
            "output": str(Path(output).resolve()),
            "overwrite": overwrite,
        }
        run_info = {"scores": str(scores), "ground truth": str(ground_truth), "rules": year}
        with RunFolder(output, overwrite=overwrite, command=command, options=options) as folder:
            write_dcase_tables(output, table, run_info=run_info)
            columns = [column for column in _SCORES_CSV if column in labelled]
            folder.write_text(SCORES_NAME, labelled[columns].to_csv(index=False))
    print(table.to_string(float_format=lambda v: f"{v:.4f}"))
    print(f"official score ({year} rules): {official_score(y, values, year=year, **metadata):.4f}")
    return table


def report(
    run_folder: str | Path,
    output: str | Path,
    *,
    year: int | None = None,
    n_top: int = 10,
    embedding: str | None = "tsne",
    explain: bool = True,
    data: str | Path | None = None,
    random_state: int = 0,
    overwrite: bool = False,
    command: Sequence[str] | None = None,
    verbose: bool = True,
) -> Path:
    """Draw the report of a run folder again, from its saved scores.

    Reads ``scores.csv`` of a folder written by :func:`run` (or by :func:`evaluate`
    with ``output``), checked against its manifest (:func:`~sklasd.utils.check_run_folder`),
    and writes :func:`~sklasd.inspection.write_run_report`'s report into ``output``, a
    run folder of its own, with other options where wanted. The embedding maps use
    the run's saved detectors (``model_<type>.joblib``), the explanations a
    :class:`~sklasd.inspection.LogMelExplainer` fitted on the training clips of the
    data folder; both need the clips where the run found them, and are left out (with
    a warning) where the run folder has no detectors or the clips are gone. The
    report's "what ran" names the run folder and what its manifest recorded.

    Parameters
    ----------
    run_folder : str or Path
        The folder of a complete run.
    output : str or Path
        The folder to write the report into.
    year : int, default=None
        DCASE rules; None: the run's, else 2020 for ``id_XX`` names, else 2022.
    n_top : int, default=10
        Most anomalous clips listed per machine type (0: none).
    embedding : {"tsne", "pca"} or None, default="tsne"
        Method of the embedding maps; None: no maps.
    explain : bool, default=True
        Explanation maps of the most anomalous clips.
    data : str or Path, default=None
        The data folder of the training clips for the explanations; None: the run's.
    random_state : int, default=0
        Seed of the embedding maps and of the explainers' choice of training clips.
    overwrite : bool, default=False
        Replace a previous report in ``output``.
    command : sequence of str, default=None
        The command recorded in the manifest; None records :data:`sys.argv`.
    verbose : bool, default=True
        A line per step and per figure.

    Returns
    -------
    index : Path
        The written ``index.html``.

    Raises
    ------
    OutputFolderError
        If ``run_folder`` is not a complete run, or ``output`` cannot be written.
    DatasetError
        If the run folder has no ``scores.csv`` with labelled clips.
    """
    import warnings

    from sklasd.datasets import load_dcase
    from sklasd.inspection import write_run_report
    from sklasd.utils import RunFolder, check_run_folder, load_model

    run_folder, output = Path(run_folder), Path(output)
    if year is not None and year not in YEARS:
        raise ValueError(f"year must be one of {YEARS}; got {year!r}.")
    if _inside(output, run_folder) or _inside(run_folder, output):
        raise OutputFolderError(
            f"The report folder {str(output)!r} and the run folder {str(run_folder)!r} must "
            "not lie inside each other; choose another --output."
        )
    manifest = check_run_folder(run_folder)
    if SCORES_NAME not in manifest["files"]:
        raise DatasetError(
            f"The run folder {str(run_folder)!r} has no {SCORES_NAME}: `sklasd run` and "
            "`sklasd evaluate --output` write it (sklasd 0.x runs before this command did "
            "not); run again."
        )
    scored = _read_table(
        run_folder / SCORES_NAME,
        ("path", "machine_type", "section", "anomaly_score", "label"),
        "scores",
    )
    recorded = manifest.get("options", {})
    year = year or recorded.get("year") or _guess_year(scored["path"])
    exists = scored["path"].map(lambda path: Path(path).is_file()).all()
    models = {}
    if embedding is not None:
        models = {
            path.stem.removeprefix("model_"): _show_progress(load_model(path), verbose)
            for path in sorted(run_folder.glob("model_*.joblib"))
        }
        if not (models and exists):
            warnings.warn(
                f"no embedding maps: {str(run_folder)!r} "
                + ("has no saved detectors." if exists else "lists clips that are gone."),
                stacklevel=2,
            )
            models = {}
    explainers = None
    if explain:
        if data is None and "root" in recorded:
            data = recorded["root"] or run_folder / "synthetic_data"
        if data is not None and exists and Path(data).is_dir():
            _say(verbose, "fitting the explainers of the most anomalous clips")
            frame = load_dcase(data, machine_types=sorted(scored["machine_type"].unique()))
            explainers = _fit_explainers(
                frame,
                list(frame["machine_type"].unique()),
                n_jobs=None,
                random_state=random_state,
                verbose=verbose,
            )
        else:
            warnings.warn(
                "no explanation maps: "
                + (
                    f"the data folder {str(data)!r} is gone; pass --data."
                    if data is not None
                    else "the run folder names no data folder; pass --data."
                ),
                stacklevel=2,
            )
    run_info = {
        "report of": str(run_folder.resolve()),
        "run command": " ".join(manifest.get("command", [])),
        "run by": f"sklasd {manifest.get('sklasd_version')} at {manifest.get('started')}",
        **{
            key: str(recorded[key])
            for key in ("detector", "params", "config", "root")
            if recorded.get(key) is not None
        },
        "rules": f"DCASE {year}",
    }
    options = {
        "run_folder": str(run_folder.resolve()),
        "output": str(output.resolve()),
        "year": year,
        "n_top": n_top,
        "embedding": embedding,
        "explain": explain,
        "data": None if data is None else str(data),
        "random_state": random_state,
        "overwrite": overwrite,
    }
    with RunFolder(output, overwrite=overwrite, command=command, options=options):
        index = write_run_report(
            output,
            scored,
            models=models,
            explainers=explainers,
            n_top=n_top,
            year=year,
            embedding_method=embedding or "tsne",
            random_state=random_state,
            run_info=run_info,
            verbose=verbose,
        )
    print(f"report: {index}")
    return index


def _one_line(error: BaseException) -> str:
    """The message of ``error`` on one line."""
    return " ".join(str(error).split()) or type(error).__name__


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Print a warning as one line, ``sklasd: warning: ...``."""
    print(f"sklasd: warning: {_one_line(message)}", file=sys.stderr)


#: The subcommands; a command line that starts with none of them (nor with ``-h``,
#: ``--help`` or ``--version``) is a ``run``, as before subcommands existed.
COMMANDS = ("run", "fit", "score", "update", "evaluate", "report", "watch")


def _add_run(commands) -> None:
    run_parser = commands.add_parser(
        "run",
        help="fit, score and report on a DCASE folder (the default command)",
        description=(
            "Fit a LogMel + pooling + scorer pipeline per machine type on a DCASE-layout "
            "folder, score its test clips, write the challenge CSVs and the DCASE report. "
            "Without ROOT, runs on a generated synthetic dataset. `sklasd [ROOT] ...` "
            "without a command is the same as `sklasd run [ROOT] ...`."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    run_parser.add_argument("root", nargs="?", help="dataset folder (<root>/<machine_type>/...)")
    run_parser.add_argument("--output", default="sklasd_output", help="output folder")
    _add_detector_options(run_parser)
    run_parser.add_argument(
        "--scorer",
        default=None,
        choices=sorted(SCORERS),
        help="scorer step of the default detector (None: fusion)",
    )
    run_parser.add_argument(
        "--year",
        type=int,
        default=None,
        choices=YEARS,
        help="DCASE rules of the report (None: 2020 for id_XX names, else 2022)",
    )
    run_parser.add_argument(
        "--machine-types", nargs="+", default=None, help="only these machine types"
    )
    run_parser.add_argument("--n-jobs", type=int, default=None, help="parallel audio decoding")
    run_parser.add_argument(
        "--duration", type=float, default=4.0, help="synthetic clip length (s)"
    )
    run_parser.add_argument("--random-state", type=int, default=0, help="seed")
    run_parser.add_argument(
        "--report",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="write OUTPUT/index.html with ROC curves, score histograms and embedding maps",
    )
    run_parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the results of a previous run in OUTPUT (by default such a folder "
        "is refused); a run that fails puts the previous results back",
    )
    _add_quiet(run_parser)


def _add_quiet(parser) -> None:
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="no progress bars (feature extraction, training) and no progress lines",
    )


def _add_detector_options(parser) -> None:
    parser.add_argument(
        "--detector",
        default=None,
        choices=list(DETECTORS),
        help="detector to fit (None: the config file's, else default)",
    )
    parser.add_argument(
        "--set",
        dest="params",
        nargs="+",
        action="extend",
        default=[],
        metavar="PARAM=VALUE",
        help="detector parameters (set_params; Python literals, else strings); they "
        "override the config file's",
    )
    parser.add_argument(
        "--config",
        default=None,
        metavar="FILE",
        help='TOML (or .json) file with detector = "NAME" and a [params] table, as '
        "--detector and --set give them",
    )


def _add_fit(commands) -> None:
    fit_parser = commands.add_parser(
        "fit",
        help="fit a detector per machine type and save it to one model file",
        description="Fit a detector per machine type on the training clips of a DCASE "
        "folder and save them, with what ran, to one joblib file for `sklasd score`.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    fit_parser.add_argument("root", help="dataset folder (<root>/<machine_type>/train/...)")
    fit_parser.add_argument("--model", required=True, help="model file to write (.joblib)")
    _add_detector_options(fit_parser)
    fit_parser.add_argument(
        "--machine-types", nargs="+", default=None, help="only these machine types"
    )
    fit_parser.add_argument(
        "--overwrite", action="store_true", help="replace an existing model file"
    )
    _add_quiet(fit_parser)


def _add_model_and_clips(parser, clips_help: str) -> None:
    """The arguments of the commands that take a model file and clips."""
    parser.add_argument("model", help="model file written by `sklasd fit`")
    parser.add_argument("clips", nargs="+", help=clips_help)
    parser.add_argument("--machine-type", default=None, help="machine type of every clip")
    parser.add_argument(
        "--section", type=int, default=None, help="section (machine ID) of every clip"
    )


def _add_score(commands) -> None:
    score_parser = commands.add_parser(
        "score",
        help="score new recordings with a model file of `sklasd fit`",
        description="Score clips (or every .wav under folders) with a model file of "
        "`sklasd fit`; write path, machine_type, section, anomaly_score and is_anomaly as "
        "CSV. Machine type and section come from the folder and file names "
        "(<machine_type>/..., section_00_...) unless given.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    _add_model_and_clips(score_parser, "clips (.wav) or folders")
    score_parser.add_argument(
        "--output", default=None, help="CSV file to write (None: standard output)"
    )
    score_parser.add_argument(
        "--fail-on-anomaly",
        action="store_true",
        help=f"exit with status {EXIT_ANOMALY} when any clip is flagged anomalous",
    )
    score_parser.add_argument(
        "--explain",
        nargs="?",
        const="flagged",
        default=None,
        choices=("flagged", "all"),
        help="explain the flagged clips (or all): where each departs from normal, in words "
        "(column explanation) and as a map (PNG in --explain-dir)",
    )
    score_parser.add_argument(
        "--explain-dir", default="sklasd_explanations", help="folder of the explanation maps"
    )
    _add_quiet(score_parser)


def _add_evaluate(commands) -> None:
    evaluate_parser = commands.add_parser(
        "evaluate",
        help="the official DCASE report of a scores CSV against the ground truth",
        description="Compare a scores CSV of `sklasd score` with a ground-truth CSV (columns "
        "path, label[, domain]; matched by file name) and print the DCASE report and the "
        "official score.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    evaluate_parser.add_argument("scores", help="scores CSV of `sklasd score`")
    evaluate_parser.add_argument("ground_truth", help="CSV with path, label[, domain]")
    evaluate_parser.add_argument(
        "--year",
        type=int,
        default=None,
        choices=YEARS,
        help="DCASE rules (None: 2020 for id_XX names, else 2022)",
    )
    evaluate_parser.add_argument(
        "--output", default=None, help="also write dcase_report.csv/.md into this folder"
    )
    evaluate_parser.add_argument(
        "--overwrite", action="store_true", help="replace a previous run in OUTPUT"
    )


def _add_watch(commands) -> None:
    watch_parser = commands.add_parser(
        "watch",
        help="score recordings as they arrive in a folder",
        description="Score the .wav files that arrive in FOLDER with a model file of "
        "`sklasd fit` and append them to a results CSV; runs until interrupted (Ctrl-C).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    watch_parser.add_argument("folder", help="folder to watch (searched recursively)")
    watch_parser.add_argument("--model", required=True, help="model file of `sklasd fit`")
    watch_parser.add_argument(
        "--results", default="sklasd_scores.csv", help="results CSV, appended to"
    )
    watch_parser.add_argument("--machine-type", default=None, help="machine type of every clip")
    watch_parser.add_argument(
        "--section", type=int, default=None, help="section (machine ID) of every clip"
    )
    watch_parser.add_argument("--interval", type=float, default=5.0, help="seconds between scans")
    watch_parser.add_argument(
        "--settle", type=float, default=2.0, help="seconds a file must stay unmodified"
    )
    watch_parser.add_argument("--once", action="store_true", help="scan once and exit")
    watch_parser.add_argument(
        "--learn-normal",
        default=None,
        metavar="NORMAL_FOLDER",
        help="before each scan, teach the model the new clips of this folder of known-normal "
        "recordings (as `sklasd update`; the model file is rewritten)",
    )


def _add_update(commands) -> None:
    update_parser = commands.add_parser(
        "update",
        help="teach a model file new normal clips without refitting",
        description="Add normal clips (or every .wav under folders) to a model file of "
        "`sklasd fit` through the partial_fit of its scorer step (kNN, cosine, "
        "Mahalanobis or a fusion of them: the default and baseline detectors): their "
        "sections are refitted, new sections added, the rest kept. Clips named anomalous "
        "and clips learned before are skipped. Machine type, section and domain come from "
        "the names unless given.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    _add_model_and_clips(update_parser, "normal clips (.wav) or folders")
    update_parser.add_argument(
        "--domain", default=None, help="domain of every clip (None: from names, else source)"
    )
    update_parser.add_argument(
        "--output", default=None, help="write the updated model here (None: replace MODEL)"
    )
    _add_quiet(update_parser)


def _add_report(commands) -> None:
    report_parser = commands.add_parser(
        "report",
        help="draw the report of a run folder again",
        description="Draw the HTML report of a folder of `sklasd run` (or of `sklasd "
        "evaluate --output`) again from its scores.csv, into a folder of its own, with "
        "other options where wanted.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    report_parser.add_argument("run_folder", help="folder of a complete run")
    report_parser.add_argument("--output", default="sklasd_report", help="report folder")
    report_parser.add_argument(
        "--year", type=int, default=None, choices=YEARS, help="DCASE rules (None: the run's)"
    )
    report_parser.add_argument(
        "--n-top", type=int, default=10, help="most anomalous clips listed per machine type"
    )
    report_parser.add_argument(
        "--embedding",
        default="tsne",
        choices=("tsne", "pca", "none"),
        help="method of the embedding maps (none: no maps)",
    )
    report_parser.add_argument(
        "--explain",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="explanation maps of the most anomalous clips",
    )
    report_parser.add_argument(
        "--data", default=None, help="data folder of the training clips (None: the run's)"
    )
    report_parser.add_argument("--random-state", type=int, default=0, help="seed")
    report_parser.add_argument(
        "--overwrite", action="store_true", help="replace a previous report in OUTPUT"
    )
    _add_quiet(report_parser)


def _parser() -> argparse.ArgumentParser:
    """The command line: ``run`` (the default), ``fit``, ``score``, ``update``, ``evaluate``,
    ``report``, ``watch``."""
    from sklasd._version import __version__

    parser = argparse.ArgumentParser(
        prog="sklasd",
        description="Unsupervised anomalous sound detection on DCASE-layout folders. "
        "Without a command, `sklasd [ROOT] [--output DIR] ...` runs `sklasd run`.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_run(commands)
    _add_fit(commands)
    _add_score(commands)
    _add_update(commands)
    _add_evaluate(commands)
    _add_report(commands)
    _add_watch(commands)
    return parser


def _execute(args: argparse.Namespace, command: list[str]) -> int:
    """Carry out the parsed command; return the exit status."""
    verbose = not getattr(args, "quiet", False)
    if args.command in ("run", "fit"):
        detector, params = choose_detector(args.detector, args.params, args.config)
    if args.command == "fit":
        fit(
            args.root,
            args.model,
            detector=detector,
            params=params,
            config=args.config,
            machine_types=args.machine_types,
            overwrite=args.overwrite,
            verbose=verbose,
        )
        return 0
    if args.command == "score":
        scores = score(
            args.model,
            args.clips,
            machine_type=args.machine_type,
            section=args.section,
            explain=args.explain,
            explain_dir=args.explain_dir,
            verbose=verbose,
        )
        if args.output is None:
            scores.to_csv(sys.stdout, index=False)
        else:
            from sklasd.utils import atomic_write

            with atomic_write(args.output, encoding="utf-8", newline="") as handle:
                scores.to_csv(handle, index=False)
            print(
                f"{len(scores)} clip(s) scored, {scores['is_anomaly'].sum()} flagged: "
                f"{args.output}"
            )
        return EXIT_ANOMALY if args.fail_on_anomaly and scores["is_anomaly"].any() else 0
    if args.command == "evaluate":
        evaluate(
            args.scores,
            args.ground_truth,
            year=args.year,
            output=args.output,
            overwrite=args.overwrite,
            command=command,
        )
        return 0
    if args.command == "report":
        report(
            args.run_folder,
            args.output,
            year=args.year,
            n_top=args.n_top,
            embedding=None if args.embedding == "none" else args.embedding,
            explain=args.explain,
            data=args.data,
            random_state=args.random_state,
            overwrite=args.overwrite,
            command=command,
            verbose=verbose,
        )
        return 0
    if args.command == "watch":
        watch(
            args.folder,
            args.model,
            args.results,
            machine_type=args.machine_type,
            section=args.section,
            interval=args.interval,
            settle=args.settle,
            once=args.once,
            learn_normal=args.learn_normal,
        )
        return 0
    if args.command == "update":
        update(
            args.model,
            args.clips,
            machine_type=args.machine_type,
            section=args.section,
            domain=args.domain,
            output=args.output,
            verbose=verbose,
        )
        return 0
    if args.scorer is not None and detector != "default":
        raise ValueError(
            f"--scorer chooses the scorer step of the default detector, not of {detector!r}; "
            "set that detector's parameters with --set."
        )
    table = run(
        args.root,
        args.output,
        scorer=args.scorer or "fusion",
        detector=detector,
        params=params,
        config=args.config,
        year=args.year,
        machine_types=args.machine_types,
        n_jobs=args.n_jobs,
        duration=args.duration,
        random_state=args.random_state,
        report=args.report,
        overwrite=args.overwrite,
        command=command,
        verbose=verbose,
    )
    if failed := table.attrs["failed_machine_types"]:
        reasons = "; ".join(f"{name}: {reason}" for name, reason in failed.items())
        print(
            f"sklasd: error: machine types not scored: {reasons} (the others are written to "
            f"{args.output})",
            file=sys.stderr,
        )
        return EXIT_PARTIAL
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m sklasd`` and the ``sklasd`` console script.

    ``sklasd run`` (also without a command), ``sklasd fit``, ``sklasd score``,
    ``sklasd update``, ``sklasd evaluate``, ``sklasd report``, ``sklasd watch``; see
    ``sklasd --help``. Errors are printed as one line, ``sklasd: error: <message>``, with
    exit status 2 for bad options and data, 1 for other failures of the system (a full
    disk...) and 130 when interrupted; warnings as ``sklasd: warning: <message>``.
    ``sklasd score --fail-on-anomaly`` exits with 3 when a clip is flagged; ``sklasd run``
    with 4 when some machine types were scored and others were not (listed last).
    """
    given = list(sys.argv[1:] if argv is None else argv)
    if not given or given[0] not in (*COMMANDS, "-h", "--help", "--version"):
        given.insert(0, "run")
    parser = _parser()
    args = parser.parse_args(given)
    if args.command is None:
        parser.error("choose a command")
    command = [parser.prog, *(sys.argv[1:] if argv is None else argv)]
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        try:
            return _execute(args, command)
        except KeyboardInterrupt:
            where = getattr(args, "output", None)
            if args.command == "run":
                print(
                    f"sklasd: interrupted; {where} is as it was before the run, or marked "
                    "incomplete",
                    file=sys.stderr,
                )
            else:
                print("sklasd: interrupted", file=sys.stderr)
            return 130
        except (
            SklasdError,
            ValueError,
            FileNotFoundError,
            FileExistsError,
            NotADirectoryError,
        ) as exc:
            print(f"sklasd: error: {_one_line(exc)}", file=sys.stderr)
            return 2
        except OSError as exc:
            print(f"sklasd: error: {_one_line(exc)}", file=sys.stderr)
            return 1
