"""Accuracy benchmark: every detector with its defaults against the reference systems.

The yardstick of the accuracy work. Every system is fitted with its defaults on the same
data, in the same run, over several seeds (each seed draws new data and new network
weights), and the tables give mean ± standard deviation over the seeds. Regimes:

- ``noisy_few``: few machines and few recordings in noise (DCASE 2020-like, no domain
  shift): 4 machine types, 2 sections each, 15 normal training clips per section, SNR
  0 to 6 dB. Mean AUC and pAUC over the sections.
- ``many_sections``: DCASE 2020 to 2022-like: 2 machine types with 6 sections each, 40
  training clips per section. Mean AUC and pAUC over the sections.
- ``domain_shift``: DCASE 2023 to 2025-like: 4 machine types, ONE section each, 60
  source and 8 target training clips, a shift of speed, load or background between the
  domains. The official DCASE 2023 score (harmonic mean of the AUCs per domain and
  pAUC), with AUC(source), AUC(target) and pAUC beside it.
- ``real_slider``: the real DCASE 2020 slider id_00 clips of ``../shared/data`` (75
  training clips, 9 test clips: a measurement on real sound, far too few clips for a
  figure to compare with a paper). Skipped when the folder is absent.
- ``real_few``: the real DCASE 2020 test clips of ``../shared/data`` of every machine
  (fan, pump, valve, slider, ToyCar, ToyConveyor ids) with at least 4 normal clips, in
  leave-one-out: each normal clip is held out in turn, the system is fitted on the
  machine's other normal clips (3 to 5) and the held-out clip is ranked against the
  machine's anomalous clips; "AUC" is the fraction of (held-out normal, anomaly) pairs
  ranked right, averaged over the machines (6 machines, 31 fits per system). Real sound
  with very few recordings; the per-machine spread is wide, so only large differences
  mean anything. Systems that need more clips than that fail there, as reported.

Every system is fitted once per regime and seed on all its training clips, with the
metadata it requests: ``section`` (a key unique over machine types, e.g. ``fan_00``),
``domain``, ``machine_type`` and ``attributes``. Systems:

- ``baseline 1-NN``: :func:`sklasd.pipelines.make_baseline_pipeline` (log-mel mean/std
  per band, standardised per section, 1-nearest-neighbour distance);
- ``DCASE AE (MSE)`` and ``DCASE AE (sel. Mahalanobis)``:
  :class:`sklasd.detectors.AutoencoderDetector`, the challenge baseline;
- ``main job default``: the pipeline the command line fits (``sklasd.cli.build_pipeline``:
  the fusion of the Mahalanobis and standardised 1-NN scorer steps), and its Mahalanobis
  step alone (the previous default);
- the baseline's features with :class:`~sklasd.scoring.KNNScorer`'s back-ends: source and
  target memory banks with SMOTE-oversampled targets, and local-density rescaling; and the
  label-free fusion (z-scores averaged, :class:`~sklasd.ensemble.ScoreEnsemble`) of the
  Mahalanobis step with the density-rescaled kNN;
- every detector of :mod:`sklasd.detectors` with its defaults;
- pyod's ``AutoEncoder`` on the pooled log-mel features, when pyod is installed.

A system that fails on a regime is reported as failed with the first line of its error.

Usage::

    python benchmarks/accuracy.py                # all regimes, 3 seeds (under an hour)
    python benchmarks/accuracy.py --quick        # shorter clips, 2 seeds, a few minutes
    python benchmarks/accuracy.py --systems "baseline 1-NN" "main job default"
    python benchmarks/accuracy.py --regimes noisy_few --seeds 0 1 2 3 4
    python benchmarks/accuracy.py --tables-from a.csv b.csv  # tables of saved runs, merged
"""

from __future__ import annotations

import argparse
import time
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
import torch
from _results import emit, machine
from sklearn.metrics import roc_auc_score
from sklearn.utils.metadata_routing import get_routing_for_object

from sklasd.cli import build_pipeline
from sklasd.datasets import load_audio, load_dcase, make_machine_sounds
from sklasd.detectors import (
    AutoencoderDetector,
    CentroidBCEDetector,
    IDClassifierDetector,
    OutlierClassifierDetector,
    RCMAEDetector,
    SoundEventDetector,
)
from sklasd.features import LogMel, TimePooling
from sklasd.metrics import official_score
from sklasd.pipelines import make_baseline_pipeline
from sklasd.scoring import KNNScorer, MahalanobisScorer

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
METADATA = ("section", "domain", "machine_type", "attributes")


# -- systems ------------------------------------------------------------------------------


def _pyod_autoencoder(seed: int):
    """pyod's AutoEncoder on the pooled log-mel features, one model per section."""
    from pyod.models.auto_encoder import AutoEncoder

    class _PyodPerSection(sklearn.base.BaseEstimator):
        def __init__(self, seed: int = 0):
            self.seed = seed

        def fit(self, X, y=None, *, section):
            self.features_ = sklearn.pipeline.make_pipeline(LogMel(), TimePooling())
            Z = self.features_.fit_transform(X)
            self.models_ = {}
            for key in np.unique(section):
                rows = Z[section == key]  # pyod drops the last incomplete batch
                model = AutoEncoder(
                    random_state=self.seed, verbose=0, batch_size=min(32, max(2, len(rows) // 2))
                )
                self.models_[key] = model.fit(rows)
            return self

        def decision_function(self, X, *, section):
            Z = self.features_.transform(X)
            scores = np.empty(len(Z))
            for key, model in self.models_.items():
                rows = section == key
                if rows.any():
                    scores[rows] = -model.decision_function(Z[rows])
            return scores

    model = _PyodPerSection(seed=seed)
    model.set_fit_request(section=True)
    model.set_decision_function_request(section=True)
    return model


def _density_knn() -> KNNScorer:
    return KNNScorer(n_neighbors=2, standardize=True, density_rescaling=True)


def systems() -> dict[str, Callable[[int], object]]:
    """Name -> factory of the unfitted system for one seed (add an entry to add one)."""
    entries = {
        "baseline 1-NN": lambda seed: make_baseline_pipeline(),
        "DCASE AE (MSE)": lambda seed: AutoencoderDetector(score="mse", random_state=seed),
        "DCASE AE (sel. Mahalanobis)": lambda seed: AutoencoderDetector(random_state=seed),
        "main job default": lambda seed: build_pipeline(),
        "stats kNN + source/target banks, SMOTE": lambda seed: make_baseline_pipeline(
            domain_banks=True
        ).set_params(knnscorer__oversample_domains=True, knnscorer__random_state=seed),
        "stats kNN + density rescaling (k=2)": lambda seed: make_baseline_pipeline().set_params(
            knnscorer=_density_knn()
        ),
        "Mahalanobis alone (previous main job default)": lambda seed: build_pipeline(
            "mahalanobis"
        ),
        # One LogMel and pooling for both members (the same scores as fusing two pipelines).
        "fusion: Mahalanobis + density kNN": lambda seed: build_pipeline().set_params(
            scoreensemble__estimators=[
                ("mahalanobis", MahalanobisScorer()),
                ("knn", _density_knn()),
            ]
        ),
        "IDClassifierDetector": lambda seed: IDClassifierDetector(random_state=seed),
        "OutlierClassifierDetector": lambda seed: OutlierClassifierDetector(random_state=seed),
        "CentroidBCEDetector": lambda seed: CentroidBCEDetector(random_state=seed),
        "RCMAEDetector": lambda seed: RCMAEDetector(random_state=seed),
        "SoundEventDetector": lambda seed: SoundEventDetector(random_state=seed),
    }
    try:
        import pyod  # noqa: F401

        entries["pyod AutoEncoder (peer)"] = _pyod_autoencoder
    except ImportError:
        pass
    return entries


# -- regimes ------------------------------------------------------------------------------


def _synthetic(seed: int, quick: bool, **params) -> tuple[np.ndarray, pd.DataFrame]:
    duration = params.pop("duration")
    return make_machine_sounds(
        duration=min(duration, 2.0) if quick else duration, random_state=seed, **params
    )


def regimes(quick: bool) -> dict[str, Callable[[int], tuple]]:
    """Name -> data of one seed: (clips, frame, metric) with metric "auc" or "official"."""
    n_test = 10 if quick else 20
    return {
        "noisy_few": lambda seed: (
            *_synthetic(
                seed, quick, machine_types=["fan", "pump", "slider", "valve"], n_sections=2,
                n_train=15, n_test=n_test, duration=6.0, snr_db=(0, 6), domain_shift=False,
            ),
            "auc",
        ),
        "many_sections": lambda seed: (
            *_synthetic(
                seed, quick, machine_types=["fan", "valve"], n_sections=6, n_train=40,
                n_test=n_test // 2, duration=4.0, domain_shift=False,
            ),
            "auc",
        ),
        "domain_shift": lambda seed: (
            *_synthetic(
                seed, quick, machine_types=["fan", "gearbox", "slider", "valve"],
                n_sections=1, n_train=60, n_train_target=8, n_test=n_test, duration=4.0,
            ),
            "official",
        ),
        "real_slider": _real_slider,
        "real_few": _real_few,
    }  # fmt: skip


def _real_slider(seed: int) -> tuple:
    root = SHARED_DATA / "dcase2020_mini" / "dev_data"
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is absent")
    frame = load_dcase(root, machine_types=["slider"])
    frame = frame[frame["section"] == 0].reset_index(drop=True)
    return frame["path"].tolist(), frame, "auc"


def _real_few(seed: int) -> tuple:
    root = SHARED_DATA / "dcase2020_mini" / "dev_data"
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is absent")
    frame = load_dcase(root, splits="test")
    counts = frame[frame["label"] == 0].groupby(["machine_type", "section"]).size()
    kept = counts[counts >= 4].index
    keys = pd.MultiIndex.from_frame(frame[["machine_type", "section"]])
    frame = frame[keys.isin(kept)].reset_index(drop=True)
    # ToyCar clips are 11 s, the others 10 s: every clip cut to 10 s.
    return load_audio(frame["path"].tolist(), duration=10.0), frame, "leave_one_out"


# -- running ------------------------------------------------------------------------------


def _accepted(estimator, method: str, metadata: dict) -> dict:
    consumed = get_routing_for_object(estimator).consumes(method, list(metadata))
    return {name: metadata[name] for name in consumed}


def _metadata(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    key = (
        frame["machine_type"].astype(str) + "_" + frame["section"].astype(int).map("{:02d}".format)
    )
    values = {"section": key.to_numpy(), "machine_type": frame["machine_type"].to_numpy()}
    for name in ("domain", "attributes"):
        if name in frame:
            values[name] = frame[name].fillna("").astype(str).to_numpy()
    return values


def _evaluate(frame: pd.DataFrame, anomaly_score: np.ndarray, metric: str) -> dict[str, float]:
    y = frame["label"].to_numpy(dtype=int)
    if metric == "official":
        official = official_score(
            y, anomaly_score, year=2023, machine_type=frame["machine_type"].to_numpy(),
            section=frame["section"].to_numpy(), domain=frame["domain"].to_numpy(),
        )  # fmt: skip
        source = frame["domain"].to_numpy() == "source"
        return {
            "official": official,
            "AUC src": float(np.mean(_per_type_domain_auc(frame, y, anomaly_score, source))),
            "AUC tgt": float(np.mean(_per_type_domain_auc(frame, y, anomaly_score, ~source))),
        }
    keys = _metadata(frame)["section"]
    aucs, paucs = [], []
    for key in np.unique(keys):
        rows = keys == key
        aucs.append(roc_auc_score(y[rows], anomaly_score[rows]))
        paucs.append(roc_auc_score(y[rows], anomaly_score[rows], max_fpr=0.1))
    return {"AUC": float(np.mean(aucs)), "pAUC": float(np.mean(paucs))}


def _per_type_domain_auc(frame, y, anomaly_score, domain_rows) -> list[float]:
    """AUC per machine type of one domain's normals against all anomalies (DCASE 2022+)."""
    aucs = []
    for machine_type in frame["machine_type"].unique():
        rows = (frame["machine_type"] == machine_type).to_numpy() & (domain_rows | (y == 1))
        aucs.append(roc_auc_score(y[rows], anomaly_score[rows]))
    return aucs


def _leave_one_out(factory, seed: int, X, frame: pd.DataFrame) -> dict:
    """Pairwise AUC of held-out normal clips against anomalies, averaged over machines."""
    metadata = _metadata(frame)
    y = frame["label"].to_numpy(dtype=int)
    aucs, start = [], time.perf_counter()
    for key in np.unique(metadata["section"]):
        normal = np.flatnonzero((metadata["section"] == key) & (y == 0))
        anomalous = np.flatnonzero((metadata["section"] == key) & (y == 1))
        pairs = []
        for held_out in normal:
            train = np.setdiff1d(normal, held_out)
            test = np.r_[held_out, anomalous]
            score, _ = _fit_score(factory(seed), X, metadata, train, test)
            pairs.append(np.mean((score[1:] > score[0]) + 0.5 * (score[1:] == score[0])))
        aucs.append(np.mean(pairs))
    return {"AUC": float(np.mean(aucs)), "AUC worst machine": float(np.min(aucs)),
            "fit s": (time.perf_counter() - start) / len(np.flatnonzero(y == 0))}  # fmt: skip


def _fit_score(model, X, metadata: dict, train: np.ndarray, test: np.ndarray):
    """Fit on the rows ``train`` and return (anomaly scores of the rows ``test``, fit time)."""

    def rows(index):
        index = np.flatnonzero(index) if index.dtype == bool else index
        clips = [X[i] for i in index] if isinstance(X, list) else X[index]
        return clips, {name: value[index] for name, value in metadata.items()}

    (X_train, fit_metadata), (X_test, test_metadata) = rows(train), rows(test)
    start = time.perf_counter()
    model.fit(X_train, **_accepted(model, "fit", fit_metadata))
    fit_time = time.perf_counter() - start
    score = model.decision_function(X_test, **_accepted(model, "decision_function", test_metadata))
    return -np.asarray(score, dtype=float), fit_time


def run_one(factory, seed: int, X, frame: pd.DataFrame, metric: str) -> dict:
    if metric == "leave_one_out":
        return _leave_one_out(factory, seed, X, frame)
    train = (frame["split"] == "train").to_numpy()
    score, fit_time = _fit_score(factory(seed), X, _metadata(frame), train, ~train)
    return {**_evaluate(frame[~train], score, metric), "fit s": fit_time}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="2 s clips, fewer test clips, 2 seeds"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=None)
    parser.add_argument("--regimes", nargs="+", default=None)
    parser.add_argument("--systems", nargs="+", default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--csv", type=Path, default=None, help="also write every run here")
    parser.add_argument(
        "--tables-from", type=Path, nargs="+", default=None,
        help="print the tables of runs saved with --csv (several files are merged) and exit",
    )  # fmt: skip
    args = parser.parse_args()
    if args.tables_from:
        saved = pd.concat([pd.read_csv(path) for path in args.tables_from])
        saved["failed"] = saved["failed"].astype(object).where(saved["failed"].notna(), "")
        _print_tables(saved)
        return
    torch.set_num_threads(args.threads)
    sklearn.set_config(enable_metadata_routing=True)
    warnings.filterwarnings("ignore", category=UserWarning)
    seeds = args.seeds or ([0, 1] if args.quick else [0, 1, 2])
    all_systems = systems()
    chosen = {name: all_systems[name] for name in (args.systems or all_systems)}
    all_regimes = regimes(args.quick)
    print(machine(), flush=True)
    print(f"seeds {seeds}; quick={args.quick}", flush=True)
    rows = []
    for regime in args.regimes or all_regimes:
        for seed in seeds:
            try:
                X, frame, metric = all_regimes[regime](seed)
            except FileNotFoundError as error:
                print(f"[{regime}] skipped: {error}", flush=True)
                break
            for name, factory in chosen.items():
                try:
                    result = run_one(factory, seed, X, frame, metric)
                    status = ""
                except Exception as error:  # a failing system is a result too
                    result, status = {}, str(error).splitlines()[0][:120]
                    if args.systems:
                        traceback.print_exc()
                rows.append({"regime": regime, "seed": seed, "system": name, **result,
                             "failed": status})  # fmt: skip
                print(f"[{regime} seed {seed}] {name}: "
                      + (status or ", ".join(f"{k} {v:.3f}" for k, v in result.items())),
                      flush=True)  # fmt: skip
            if regime.startswith("real_"):
                break  # the real data do not change with the seed; networks would
    table = pd.DataFrame(rows)
    if args.csv:
        table.to_csv(args.csv, index=False)
    _print_tables(table)


def _print_tables(table: pd.DataFrame) -> None:
    figures = []
    for regime, part in table.groupby("regime", sort=False):
        main_metric = (
            "official" if "official" in part and part["official"].notna().any() else "AUC"
        )
        columns = [
            c
            for c in ("official", "AUC src", "AUC tgt", "AUC", "pAUC", "fit s")
            if c in part and part[c].notna().any()
        ]
        if not columns:  # every system failed on this regime
            print(f"\n## {regime}: every system failed ({'; '.join(set(part['failed']))})")
            continue
        summary = part.groupby("system", sort=False)[columns].agg(["mean", "std"])
        baseline = (
            summary.loc["baseline 1-NN", (main_metric, "mean")]
            if "baseline 1-NN" in summary.index
            else np.nan
        )
        print(f"\n## {regime} ({part['seed'].nunique()} seed(s)); main metric: {main_metric}\n")
        header = "| system | seeds | " + " | ".join(columns) + " | vs baseline | failed |"
        print(header)
        print("|" + "---|" * (len(columns) + 4))
        n_seeds = part.dropna(subset=[main_metric]).groupby("system")["seed"].nunique()
        for system, values in summary.iterrows():
            cells = [
                f"{values[(c, 'mean')]:.3f} ± {np.nan_to_num(values[(c, 'std')]):.3f}"
                for c in columns
            ]
            delta = values[(main_metric, "mean")] - baseline
            failed = "; ".join(sorted(set(part.loc[part["system"] == system, "failed"]) - {""}))
            n = int(n_seeds.get(system, 0))
            print(f"| {system} | {n} | " + " | ".join(cells) + f" | {delta:+.3f} | {failed} |")
            if not np.isnan(values[(main_metric, "mean")]):
                figures.append((f"{regime}: {system}", values[(main_metric, "mean")], main_metric))
    print()
    for measurement, value, unit in figures:  # for run_all.py, after the tables
        emit("accuracy", measurement, value, unit)


if __name__ == "__main__":
    main()
