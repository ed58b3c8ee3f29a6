"""IDClassifierDetector against the spine's LogMel + TimePooling + kNN: AUC and pAUC.

Every scoring mode of :class:`sklasd.detectors.IDClassifierDetector` (one network
trained per mode and model, all with ``random_state=0``), beside the pipeline
``make_pipeline(LogMel(), TimePooling(), KNNScorer())`` measured in the same run, on

(a) synthetic data with domain shift (:func:`sklasd.datasets.make_machine_sounds`:
    ``--types`` machine types, 4 sections each, 60 source and 6 target normal
    training clips per section, 20 test clips per section and domain, half of them
    anomalous, ``--duration`` s at 16 kHz). The classifier runs one model per machine
    type (``fit_score_by_machine_type``) and one model over all machine types
    (``machine_type`` metadata); both get the clips' ``attributes`` (speed, load,
    background noise), so with ``--target auto`` the network learns the (section,
    attribute) classes, with ``--target section`` the sections (per type: 4 classes,
    over all types: the 12 (machine type, section) pairs). Metrics: DCASE 2022 rules
    (per section, AUC of each domain with all anomalies, pAUC over both domains),
    averaged over sections and machine types, and the official score (harmonic
    mean).
(b) the real DCASE 2020 clips in ``<repo>/../shared/data/dcase2020_mini``
    (skipped when absent). Evaluation: the 9 test clips of slider id_00 (5 normal,
    4 anomalous), AUC and pAUC (max FPR 0.1). Training of the classifier: the 75
    normal training clips of slider id_00, plus, as further sections, the 12 test
    clips of slider id_02, id_04 and id_06 (2 normal and 2 anomalous each: all of
    them, as unlabelled clips of their section; no id_00 test clip is used), 200
    epochs (``--real-max-epochs``: 87 clips give only 3 batches per epoch). With
    ``--real-other-types``, a second variant also trains on the test clips of the
    other five machine types (their IDs as further classes, with ``machine_type``). The
    kNN pipeline trains on the 75 id_00 clips (per-section models, so the other
    sections would not change it). Clips are cut to 10 s.

Usage: python benchmarks/eval_idclassifier.py [--part synthetic|real|all]
       [--modes confidence cosine ...] [--max-epochs 40] [--real-max-epochs 200]
       [--loss ce|arcface] [--target auto|section] [--real-other-types]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
from sklearn.pipeline import make_pipeline

from sklasd.datasets import load_dcase, make_machine_sounds
from sklasd.detectors import IDClassifierDetector, fit_score_by_machine_type, make_id_embedder
from sklasd.features import LogMel, TimePooling
from sklasd.metrics import auc, dcase_report, official_score, pauc
from sklasd.scoring import KNNScorer

MODES = ("confidence", "cosine", "knn", "mahalanobis", "ocsvm")
REAL_CLIPS = Path(__file__).resolve().parents[2] / "shared" / "data" / "dcase2020_mini"
BASELINE = "LogMel + TimePooling + kNN"


def detector(
    score_rule: str, *, features=None, target="auto", **net_params
) -> IDClassifierDetector:
    return IDClassifierDetector(
        features=features,
        embedder=make_id_embedder(**net_params),
        target=target,
        score_rule=score_rule,
        random_state=0,
    )


def synthetic_row(scores: pd.DataFrame) -> dict:
    """Mean AUC per domain, mean pAUC and official score (2022 rules) of test scores."""
    y, s = scores["label"].to_numpy(dtype=int), scores["anomaly_score"].to_numpy()
    metadata = {name: scores[name].to_numpy() for name in ("machine_type", "section", "domain")}
    mean = dcase_report(y, s, year=2022, **metadata).loc[("overall", "arithmetic mean")]
    row = {column: mean[column] for column in ("AUC (source)", "AUC (target)", "pAUC")}
    return {**row, "official": official_score(y, s, year=2022, **metadata)}


def synthetic(args) -> pd.DataFrame:
    X, frame = make_machine_sounds(
        machine_types=args.types,
        n_sections=4,
        n_train=60,
        n_train_target=6,
        n_test=20,
        duration=args.duration,
        random_state=0,
    )
    net_params = {"max_epochs": args.max_epochs, "loss": args.loss, "target": args.target}
    rows = {}
    start = time.perf_counter()
    baseline = make_pipeline(LogMel(), TimePooling(), KNNScorer())
    rows[BASELINE] = synthetic_row(fit_score_by_machine_type(baseline, frame, X=X))
    print(f"  {BASELINE}: {time.perf_counter() - start:.0f} s", flush=True)
    for mode in args.modes:
        start = time.perf_counter()
        scores = fit_score_by_machine_type(detector(mode, **net_params), frame, X=X)
        rows[f"per type, {mode}"] = synthetic_row(scores)
        print(f"  per type, {mode}: {time.perf_counter() - start:.0f} s", flush=True)
    train = (frame["split"] == "train").to_numpy()
    metadata = {name: frame[name].to_numpy() for name in ("section", "machine_type")}
    labels = {name: frame[name].to_numpy()[train] for name in ("domain", "attributes")}
    for mode in args.modes:
        start = time.perf_counter()
        model = detector(mode, **net_params).fit(
            X[train], **labels, **{k: v[train] for k, v in metadata.items()}
        )
        decision = model.decision_function(
            X[~train], **{k: v[~train] for k, v in metadata.items()}
        )
        scores = frame[~train].assign(anomaly_score=-decision)
        rows[f"all types, {mode}"] = synthetic_row(scores)
        print(f"  all types, {mode}: {time.perf_counter() - start:.0f} s", flush=True)
    return pd.DataFrame(rows).T


def real(args) -> pd.DataFrame:
    frame = load_dcase(REAL_CLIPS / "dev_data")
    slider = (frame["machine_type"] == "slider").to_numpy()
    test = frame["split"].eq("test").to_numpy()
    section = frame["section"].to_numpy()
    id00_train = slider & ~test & (section == 0)
    id00_test = slider & test & (section == 0)
    other_ids = slider & test & (section != 0)
    other_types = ~slider & test
    features = LogMel(duration=10.0)
    clips = features.fit_transform(frame["path"].tolist())  # once, for the baseline
    y = frame["label"].to_numpy()[id00_test].astype(int)
    zeros = np.zeros(id00_test.sum(), dtype=int)

    rows = {}
    baseline = make_pipeline(TimePooling(), KNNScorer()).fit(clips[id00_train])
    score = -baseline.decision_function(clips[id00_test])
    rows[BASELINE] = {"AUC": auc(y, score), "pAUC": pauc(y, score)}
    paths = frame["path"].to_numpy()
    machine_type = frame["machine_type"].to_numpy()
    variants = {"slider ids": id00_train | other_ids}
    if args.real_other_types:
        variants["+ other types"] = id00_train | other_ids | other_types
    for variant, train in variants.items():
        for mode in args.modes:
            start = time.perf_counter()
            model = detector(
                mode, features=features, max_epochs=args.real_max_epochs, loss=args.loss
            ).fit(paths[train], section=section[train], machine_type=machine_type[train])
            score = -model.decision_function(
                paths[id00_test], section=zeros, machine_type=machine_type[id00_test]
            )
            rows[f"{variant}, {mode}"] = {"AUC": auc(y, score), "pAUC": pauc(y, score)}
            n_classes = len(model.classes_)
            print(
                f"  {variant}, {mode}: {train.sum()} clips, {n_classes} classes, "
                f"{time.perf_counter() - start:.0f} s",
                flush=True,
            )
    return pd.DataFrame(rows).T


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["synthetic", "real", "all"], default="all")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--types", nargs="+", default=["fan", "pump", "valve"])
    parser.add_argument("--duration", type=float, default=4.0, help="synthetic clip length")
    parser.add_argument("--max-epochs", type=int, default=40, help="synthetic part")
    parser.add_argument("--real-max-epochs", type=int, default=200, help="real part")
    parser.add_argument("--loss", choices=["arcface", "ce"], default="ce")
    parser.add_argument(
        "--target",
        choices=["auto", "section"],
        default="auto",
        help="synthetic part: auto = (section, attribute) classes, section = sections",
    )
    parser.add_argument(
        "--real-other-types",
        action="store_true",
        help="real part: also train with the other machine types' clips as classes",
    )
    args = parser.parse_args()
    print(
        f"scikit-learn {sklearn.__version__}, {os.cpu_count()} CPUs, load average "
        + " ".join(f"{v:.2f}" for v in os.getloadavg())
    )
    pd.set_option("display.width", 120)
    if args.part in ("synthetic", "all"):
        print(
            f"\n(a) synthetic, {args.types}, 4 sections, {args.duration:g} s clips, "
            f"{args.loss}, target {args.target}, {args.max_epochs} epochs (DCASE 2022 rules)"
        )
        print(synthetic(args).to_string(float_format=lambda v: f"{v:.3f}"))
    if args.part in ("real", "all"):
        if not (REAL_CLIPS / "dev_data").is_dir():
            print(f"\n(b) skipped: no real clips at {REAL_CLIPS}")
        else:
            print(
                f"\n(b) real DCASE 2020 slider id_00 test clips, {args.loss}, "
                f"{args.real_max_epochs} epochs"
            )
            print(real(args).to_string(float_format=lambda v: f"{v:.3f}"))
    print("load average " + " ".join(f"{v:.2f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()
