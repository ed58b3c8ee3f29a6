"""Outlier-exposure detectors, laid out like Table II of Kuroyanagi et al. (EUSIPCO 2021).

One run fits, with ``random_state=0`` and the same features, and prints AUC and pAUC
(max FPR 0.1) per machine type and their mean, one row per model:

- :class:`sklasd.detectors.CentroidBCEDetector` with each of its five losses ("bce",
  "dsad", "ddcsad", "bce+dsad", "bce+ddcsad"; ``alpha="auto"``: 1, 0, 0, 0.5, 0.5);
- :class:`sklasd.detectors.OutlierClassifierDetector` (stage weights 0.1, 0.3, 0.6);
- :class:`sklasd.detectors.IDClassifierDetector` with its default embedder
  (:func:`sklasd.detectors.make_id_embedder`, cross-entropy) and cosine score_rule,

on

(a) synthetic data with domain shift (:func:`sklasd.datasets.make_machine_sounds`,
    ``--types`` machine types, 3 sections each, ``--n-train`` source and 4 target
    normal training clips per section, 10 test clips per section and domain, half
    of them anomalous, 2 s clips). Every model is fitted once on all machine types
    (``section`` and ``machine_type`` metadata); the outliers of a section are the
    other sections of its machine type. AUC and pAUC per section over both domains
    (the DCASE 2020 rules: :func:`sklasd.metrics.dcase_report` with ``year=2020``),
    averaged over the sections of a machine type.
(b) the real DCASE 2020 clips in ``<repo>/../shared/data/dcase2020_mini`` (skipped
    when absent). Only slider id_00 has training clips (75 normal); the 12 test clips
    of slider id_02, id_04 and id_06 (2 normal and 2 anomalous each, used unlabelled)
    are the further sections, so the outliers of id_00. Evaluation: the 9 test clips
    of slider id_00 (5 normal, 4 anomalous), never trained on. Nine clips are far too
    few for a figure comparable with the paper: the row only shows whether a model
    separates real anomalies at all.

Small configurations, so that the whole run takes about 15-20 minutes on one thread:
64 mel bands at hop 256, 64-frame crops (the paper: 128 bands, 256 frames),
ResNet38's CPU variant (0.85 M weights), ``--max-epochs`` epochs (synthetic) and
``--real-max-epochs`` (real) for the binary networks (the ID classifier: 40 and 200,
as in ``benchmarks/eval_idclassifier.py``; 87 real clips make only 3 batches an epoch),
batches of 8 normal : 7 outlier : 1 anomaly crops (the paper: 32:31:1), 5 segments per
2 s clip and 10 per 10 s clip.

Usage: python benchmarks/eval_outlier_exposure.py [--part synthetic|real|all]
       [--types fan slider valve] [--n-train 40] [--max-epochs 20] [--real-max-epochs 20]
       [--models bce dsad ... outlier-classifier id-classifier]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
import torch

from sklasd.datasets import load_dcase, make_machine_sounds
from sklasd.detectors import (
    CentroidBCEDetector,
    IDClassifierDetector,
    OutlierClassifierDetector,
    make_centroid_net,
    make_id_embedder,
    make_outlier_net,
)
from sklasd.features import LogMel
from sklasd.metrics import auc, dcase_report, pauc
from sklasd.nn import CENTROID_LOSSES

REAL_CLIPS = Path(__file__).resolve().parents[2] / "shared" / "data" / "dcase2020_mini"
OUTLIER_CLASSIFIER, ID_CLASSIFIER = "outlier-classifier", "id-classifier"
MODELS = (*CENTROID_LOSSES, OUTLIER_CLASSIFIER, ID_CLASSIFIER)


def make_model(name: str, *, features: LogMel, max_epochs: int, id_epochs: int, n_segments: int):
    """The detector of a table row, in the small configuration of this script."""
    if name == OUTLIER_CLASSIFIER:
        return OutlierClassifierDetector(
            features=features,
            net=make_outlier_net(max_epochs=max_epochs, batch_size=16),
            random_state=0,
        )
    if name == ID_CLASSIFIER:
        return IDClassifierDetector(
            features=features,
            embedder=make_id_embedder(max_epochs=id_epochs),
            target="section",
            score_rule="cosine",
            random_state=0,
        )
    return CentroidBCEDetector(
        features=features,
        loss=name,
        n_segments=n_segments,
        net=make_centroid_net(max_epochs=max_epochs),
        batch_ratio=(8, 7, 1),
        random_state=0,
    )


def fit_score(name: str, model, X, train, test, section, machine_type) -> np.ndarray:
    """Anomaly scores (higher = more anomalous) of the test clips; prints the fit time."""
    start = time.perf_counter()
    model.fit(X[train], section=section[train], machine_type=machine_type[train])
    score = -model.decision_function(
        X[test], section=section[test], machine_type=machine_type[test]
    )
    print(f"  {name}: {time.perf_counter() - start:.0f} s", flush=True)
    return score


def synthetic(args) -> pd.DataFrame:
    X, frame = make_machine_sounds(
        machine_types=args.types,
        n_sections=3,
        n_train=args.n_train,
        n_train_target=4,
        n_test=10,
        duration=2.0,
        random_state=0,
    )
    train = (frame["split"] == "train").to_numpy()
    section, machine_type = frame["section"].to_numpy(), frame["machine_type"].to_numpy()
    y = frame["label"].to_numpy(dtype=int)[~train]
    features = LogMel(n_mels=64, hop_length=256)
    rows = {}
    for name in args.models:
        model = make_model(
            name,
            features=features,
            max_epochs=args.max_epochs,
            id_epochs=args.id_max_epochs,
            n_segments=5,
        )
        score = fit_score(name, model, X, train, ~train, section, machine_type)
        report = dcase_report(
            y, score, section=section[~train], machine_type=machine_type[~train], year=2020
        )
        means = report.xs("arithmetic mean", level="section")
        rows[name] = {
            (group if group != "overall" else "mean", metric): means.loc[group, metric]
            for group in means.index
            for metric in ("AUC", "pAUC")
        }
    return pd.DataFrame(rows).T


def real(args) -> pd.DataFrame:
    frame = load_dcase(REAL_CLIPS / "dev_data", machine_types="slider")
    test = frame["split"].eq("test").to_numpy()
    section = frame["section"].to_numpy()
    train = (~test & (section == 0)) | (test & (section != 0))
    evaluate = test & (section == 0)
    y = frame["label"].to_numpy()[evaluate].astype(int)
    paths = frame["path"].to_numpy()
    machine_type = frame["machine_type"].to_numpy()
    features = LogMel(n_mels=64, hop_length=256, duration=10.0)
    rows = {}
    for name in args.models:
        model = make_model(
            name,
            features=features,
            max_epochs=args.real_max_epochs,
            id_epochs=args.id_real_max_epochs,
            n_segments=10,
        )
        score = fit_score(name, model, paths, train, evaluate, section, machine_type)
        rows[name] = {
            ("slider id_00", "AUC"): auc(y, score),
            ("slider id_00", "pAUC"): pauc(y, score),
        }
    return pd.DataFrame(rows).T


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["synthetic", "real", "all"], default="all")
    parser.add_argument("--types", nargs="+", default=["fan", "slider", "valve"])
    parser.add_argument("--n-train", type=int, default=40, help="synthetic clips per section")
    parser.add_argument("--max-epochs", type=int, default=20, help="synthetic part")
    parser.add_argument("--real-max-epochs", type=int, default=20, help="real part")
    parser.add_argument("--id-max-epochs", type=int, default=40, help="id-classifier, synthetic")
    parser.add_argument("--id-real-max-epochs", type=int, default=200, help="id-classifier, real")
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(
        f"scikit-learn {sklearn.__version__}, torch {torch.__version__} (1 thread), "
        f"{os.cpu_count()} CPUs, load average " + " ".join(f"{v:.2f}" for v in os.getloadavg())
    )
    pd.set_option("display.width", 140)

    def show(table: pd.DataFrame) -> None:
        print((100 * table).to_string(float_format=lambda v: f"{v:.1f}"))

    start = time.perf_counter()
    if args.part in ("synthetic", "all"):
        print(
            f"\n(a) synthetic with domain shift, {args.types}, 3 sections, 2 s clips, "
            f"{args.n_train} + 4 training clips per section, {args.max_epochs} epochs "
            "(AUC/pAUC in %, DCASE 2020 rules)"
        )
        show(synthetic(args))
    if args.part in ("real", "all"):
        if not (REAL_CLIPS / "dev_data").is_dir():
            print(f"\n(b) skipped: no real clips at {REAL_CLIPS}")
        else:
            print(
                f"\n(b) real DCASE 2020 slider id_00 test clips (5 normal, 4 anomalous: too "
                f"few to compare with the paper), {args.real_max_epochs} epochs"
            )
            show(real(args))
    print(
        f"total {time.perf_counter() - start:.0f} s; load average "
        + " ".join(f"{v:.2f}" for v in os.getloadavg())
    )


if __name__ == "__main__":
    main()
