"""Detectors for DCASE 2023-style data (one section per machine type): official 2023 score.

Data (:func:`sklasd.datasets.make_machine_sounds`): ``--types`` machine types with ONE
section each, ``--n-train`` source and ``--n-train-target`` target normal training clips
per type, ``--n-test`` test clips per domain and type (half anomalous), ``--duration`` s
at 16 kHz, with a domain shift. Every detector trains one model over all machine types:
its classes are the (machine type, section) pairs, given as the ``machine_type``
metadata. Metrics: per section, AUC of each domain (with all anomalies) and pAUC, their
arithmetic means, and the official DCASE 2023 score (harmonic mean).

A detector is one entry of :func:`detectors` (name -> unfitted detector, fitted with
the metadata its ``fit`` accepts, all with ``random_state=0`` and default networks):

- ``IDClassifierDetector()``: CPU-sized MobileNetV3 section classifier, 64-frame crops,
  cosine score_rule, and with ``score_rule="confidence"`` (40 epochs);
- ``RCMAEDetector()``: RC-MAE pre-training (``make_rcmae_net()``, 30 epochs) on the
  training clips, then fine-tuning (``make_rcmae_finetune_net()``, 20 epochs); then scorer
  steps on its embeddings per machine type, without training: the pre-trained encoder's
  with :class:`~sklasd.scoring.KNNScorer` and :class:`~sklasd.scoring.MahalanobisScorer`
  (source/target means), the fine-tuned network's with :class:`~sklasd.scoring.CosineScorer`;
- ``SoundEventDetector(mode="sec")`` and ``(mode="sed")``: CPU-sized MobileNetV2, 3 s
  windows (94 frames), inference every 0.5 s, Mahalanobis scoring with source/target
  means (40 epochs);
- ``ScoreEnsemble`` of the two SoundEventDetectors by sum (of z-scores) and by product
  (of Gaussian tail probabilities), as in Zeng et al.'s Table 3 (``--no-ensembles``
  leaves them out: they refit both members).

Usage: python benchmarks/eval_2023_detectors.py [--types fan pump slider valve]
       [--duration 4] [--n-train 60] [--n-train-target 6] [--n-test 20] [--threads 1]
"""

from __future__ import annotations

import argparse
import time

import pandas as pd
import torch
from _results import load
from sklearn.utils.metadata_routing import get_routing_for_object

from sklasd.datasets import make_machine_sounds
from sklasd.detectors import IDClassifierDetector, RCMAEDetector, SoundEventDetector
from sklasd.ensemble import ScoreEnsemble
from sklasd.metrics import dcase_report, official_score
from sklasd.scoring import CosineScorer, KNNScorer, MahalanobisScorer

METADATA = ("section", "machine_type", "domain")
YEAR = 2023


def detectors(*, ensembles: bool = True) -> dict:
    """The detectors to compare, by name (add an entry to add a detector)."""
    models = {
        "IDClassifierDetector (cosine)": IDClassifierDetector(random_state=0),
        "IDClassifierDetector (confidence)": IDClassifierDetector(
            score_rule="confidence", random_state=0
        ),
        "RCMAEDetector": RCMAEDetector(random_state=0),
        "SoundEventDetector (SEC, MobileNetV2)": SoundEventDetector(mode="sec", random_state=0),
        "SoundEventDetector (SED, MobileNetV2)": SoundEventDetector(mode="sed", random_state=0),
    }
    if ensembles:
        members = [
            ("sec", SoundEventDetector(mode="sec", random_state=0)),
            ("sed", SoundEventDetector(mode="sed", random_state=0)),
        ]
        for combine in ("sum", "product"):
            models[f"SEC + SED ({combine})"] = ScoreEnsemble(members, combine=combine)
    return models


def accepted(detector, method: str, metadata: dict) -> dict:
    """The part of ``metadata`` that ``detector.<method>`` consumes (its requests)."""
    consumed = get_routing_for_object(detector).consumes(method, list(metadata))
    return {name: metadata[name] for name in consumed}


def row(frame: pd.DataFrame, anomaly_score) -> dict:
    y = frame["label"].to_numpy(dtype=int)
    metadata = {name: frame[name].to_numpy() for name in METADATA}
    mean = dcase_report(y, anomaly_score, year=YEAR, **metadata).loc[
        ("overall", "arithmetic mean")
    ]
    values = {column: mean[column] for column in ("AUC (source)", "AUC (target)", "pAUC")}
    return {**values, "official": official_score(y, anomaly_score, year=YEAR, **metadata)}


def embedding_rows(detector: RCMAEDetector, X, frame: pd.DataFrame, train) -> dict:
    """Scorer steps per machine type on the fitted detector's embeddings."""
    features = detector.pretrained_.features_.transform(X)
    embeddings = {
        "pre-trained": detector.pretrained_.transform_features(features),
        "fine-tuned": detector.embedder_.transform(features),
    }
    group = frame["machine_type"].to_numpy()
    domain = frame["domain"].to_numpy()
    scorers = {
        ("pre-trained", "kNN"): KNNScorer(),
        ("pre-trained", "Mahalanobis"): MahalanobisScorer(),
        ("fine-tuned", "cosine"): CosineScorer(),
    }
    rows = {}
    for (which, name), scorer in scorers.items():
        Z = embeddings[which]
        metadata = {"domain": domain[train]} if name == "Mahalanobis" else {}
        scorer.fit(Z[train], section=group[train], **metadata)
        anomaly_score = -scorer.decision_function(Z[~train], section=group[~train])
        rows[f"RC-MAE {which} embeddings + {name}"] = row(frame[~train], anomaly_score)
        print(f"  RC-MAE {which} + {name}: {rows[f'RC-MAE {which} embeddings + {name}']}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--types", nargs="+", default=["fan", "pump", "slider", "valve"])
    parser.add_argument("--duration", type=float, default=4.0)
    parser.add_argument("--n-train", type=int, default=60)
    parser.add_argument("--n-train-target", type=int, default=6)
    parser.add_argument("--n-test", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-ensembles", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(load(), flush=True)
    X, frame = make_machine_sounds(
        machine_types=args.types, n_sections=1, n_train=args.n_train,
        n_train_target=args.n_train_target, n_test=args.n_test, duration=args.duration,
        domain_shift=True, random_state=0,
    )  # fmt: skip
    train = (frame["split"] == "train").to_numpy()
    metadata = {name: frame[name].to_numpy() for name in METADATA}
    print(f"{train.sum()} training clips, {(~train).sum()} test clips", flush=True)
    rows = {}
    for name, detector in detectors(ensembles=not args.no_ensembles).items():
        start = time.perf_counter()
        detector.fit(
            X[train], **accepted(detector, "fit", {k: v[train] for k, v in metadata.items()})
        )
        fit_time = time.perf_counter() - start
        score_metadata = {k: v[~train] for k, v in metadata.items() if k != "domain"}
        anomaly_score = -detector.decision_function(
            X[~train], **accepted(detector, "decision_function", score_metadata)
        )
        rows[name] = {**row(frame[~train], anomaly_score), "fit (s)": fit_time}
        print(f"  {name}: {rows[name]}", flush=True)
        if isinstance(detector, RCMAEDetector):
            rows.update(embedding_rows(detector, X, frame, train))
    print(pd.DataFrame(rows).T.round(3).to_string())
    print(load())


if __name__ == "__main__":
    main()
