"""The papers' protocol on a DCASE development set: per machine type, official scoring.

For a DCASE Task 2 development set laid out as the challenge ships it (``--root``, read
with :func:`sklasd.datasets.load_dcase`), fits each chosen detector on the training clips
and scores the test clips, and prints per machine type the official score and the mean AUC
and pAUC (the rules of the dataset's year), beside the figure the paper reports for that
machine type (``_paper_results.py``: the published row the detector reproduces, printed as
the paper prints it, e.g. AUC (pAUC)). Detectors that learn per machine type (section
classifiers with several sections per type, the outlier-exposure detectors, the LogMel
baseline) are fitted type by type with :func:`sklasd.detectors.fit_score_by_machine_type`;
detectors that need every machine type at once (one section per type, DCASE 2023+; the
general sound-event model; the paper presets whose outliers come from the other machine
types of the data set) are fitted once on all of them with the ``machine_type`` metadata.

The default configurations are the CPU-sized ones; on a GPU pass ``--device cuda`` and
``--paper-size`` for the papers' network sizes where a detector has them, or run a paper's
whole configuration with ``--detectors paper:<preset>``
(:func:`sklasd.detectors.make_paper_detector`; ``--fast`` and ``--paper-size`` do not apply),
e.g. ``--detectors paper:kuroyanagi2021 paper:wang2021-id --device cuda`` on the DCASE 2020
development set. On the 203 real
clips of ``../shared/data`` this runs (``--root ../shared/data/dcase2020_mini/dev_data
--fast``) but those are far too few clips for numbers to compare with a paper.

Usage: python benchmarks/dcase_protocol.py --root PATH [--detectors baseline idclassifier ...]
       [--detectors paper:wang2021-id ...] [--year 2020] [--device cuda] [--paper-size] [--fast]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sklearn
from _paper_results import paper_row
from _results import emit
from sklearn.utils.metadata_routing import get_routing_for_object

from sklasd.cli import build_pipeline
from sklasd.datasets import load_dcase
from sklasd.detectors import (
    PAPER_PRESETS,
    CentroidBCEDetector,
    IDClassifierDetector,
    OutlierClassifierDetector,
    fit_score_by_machine_type,
    make_centroid_net,
    make_id_embedder,
    make_outlier_net,
    make_paper_detector,
)
from sklasd.metrics import dcase_report, official_score

# Presets whose method trains one model over every machine type (outliers from the other
# machine types of the data set, one general model) rather than one per machine type.
_ALL_TYPES_PRESETS = {
    "wang2021-outlier",
    "kuroyanagi2021",
    "zeng2023-sec",
    "zeng2023-sed",
    "zahedi2023",
}


def _epochs(fast: bool, full: int) -> int:
    return 2 if fast else full


def registry(device: str, *, fast: bool, paper_size: bool) -> dict[str, tuple[Callable, bool]]:
    """name -> (factory of the unfitted detector from the machine type (None: all types at
    once), whether it is fitted on all types at once)."""
    width = {"module__width_mult": 1.0, "module__depth_mult": 1.0} if paper_size else {}

    def id_classifier(score_rule: str, **embedder: Any) -> IDClassifierDetector:
        return IDClassifierDetector(
            embedder=make_id_embedder(max_epochs=_epochs(fast, 40), **width, **embedder),
            score_rule=score_rule,
            device=device,
            random_state=0,
        )

    def paper(name: str) -> Callable:
        return lambda machine_type: make_paper_detector(
            name, machine_type=machine_type, device=device, random_state=0
        )

    return {
        "baseline": (lambda _: build_pipeline("mahalanobis"), False),
        "idclassifier": (lambda _: id_classifier("cosine"), False),
        "idclassifier-confidence": (lambda _: id_classifier("confidence"), False),
        "idclassifier-all-types": (lambda _: id_classifier("cosine"), True),
        "outlier-classifier": (
            lambda _: OutlierClassifierDetector(
                net=make_outlier_net(max_epochs=_epochs(fast, 20)), device=device, random_state=0
            ),
            False,
        ),
        "centroid-bce": (
            lambda _: CentroidBCEDetector(
                net=make_centroid_net(max_epochs=_epochs(fast, 20)), device=device, random_state=0
            ),
            False,
        ),
        **{f"paper:{name}": (paper(name), name in _ALL_TYPES_PRESETS) for name in PAPER_PRESETS},
    }


def fit_score_all_types(estimator: Any, frame: pd.DataFrame) -> pd.DataFrame:
    """Fit one estimator on every machine type's training clips; score all test clips."""
    train, test = frame[frame["split"] == "train"], frame[frame["split"] == "test"]
    columns = [c for c in ("section", "machine_type", "domain", "attributes") if c in train]
    wanted = get_routing_for_object(estimator).consumes("fit", columns)
    estimator.fit(train["path"].tolist(), **{c: train[c].to_numpy() for c in wanted})
    scores = -estimator.decision_function(
        test["path"].tolist(),
        section=test["section"].to_numpy(),
        machine_type=test["machine_type"].to_numpy(),
    )
    return test.assign(anomaly_score=scores)


def evaluate(scored: pd.DataFrame, year: int) -> pd.DataFrame:
    """Official score, mean AUC and mean pAUC per machine type of the labelled test clips."""
    scored = scored[scored["label"].notna()]
    rows = []
    for machine_type, part in scored.groupby("machine_type"):
        args = dict(
            section=part["section"].to_numpy(),
            machine_type=part["machine_type"].to_numpy(),
            domain=part["domain"].to_numpy(),
            year=year,
        )
        y, score = part["label"].to_numpy(dtype=int), part["anomaly_score"].to_numpy()
        report = dcase_report(y, score, **args)
        auc_columns = [c for c in report.columns if str(c).startswith("AUC")]
        rows.append(
            {
                "machine_type": machine_type,
                "official": official_score(y, score, **args),
                "mean AUC": np.nanmean(report[auc_columns].to_numpy(dtype=float)),
                "mean pAUC": np.nanmean(report["pAUC"].to_numpy(dtype=float)),
            }
        )
    return pd.DataFrame(rows).set_index("machine_type")


def without_untrained_sections(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` without the test clips of sections that have no training clips (named)."""
    keys = list(zip(frame["machine_type"], frame["section"], strict=True))
    trained = {key for key, split in zip(keys, frame["split"], strict=True) if split == "train"}
    keep = np.array([key in trained for key in keys])
    if not keep.all():
        dropped = sorted({key for key, kept in zip(keys, keep, strict=True) if not kept})
        print(
            f"left out {int((~keep).sum())} test clips of sections without training clips: "
            f"{dropped}"
        )
    return frame[keep]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True, help="DCASE development set folder")
    parser.add_argument("--detectors", nargs="+", default=["baseline", "idclassifier"])
    parser.add_argument("--year", type=int, default=None, help="rules (default: from names)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--paper-size", action="store_true", help="the papers' network sizes")
    parser.add_argument("--fast", action="store_true", help="2 epochs: a smoke run")
    parser.add_argument("--machine-types", nargs="+", default=None)
    args = parser.parse_args()
    sklearn.set_config(enable_metadata_routing=True)

    frame = without_untrained_sections(load_dcase(args.root, machine_types=args.machine_types))
    names = frame["path"].map(lambda path: Path(path).name)
    year = args.year or (2022 if names.str.startswith("section_").any() else 2020)
    detectors = registry(args.device, fast=args.fast, paper_size=args.paper_size)
    unknown = sorted(set(args.detectors) - set(detectors))
    if unknown:
        parser.error(f"unknown detectors {unknown}; choose from {sorted(detectors)}")
    print(
        f"{args.root}: {len(frame)} clips, {frame['machine_type'].nunique()} machine types, "
        f"DCASE {year} rules"
    )

    for name in args.detectors:
        factory, all_types = detectors[name]
        start = time.perf_counter()
        if all_types:
            scored = fit_score_all_types(factory(None), frame)
        else:
            scored = pd.concat(
                [
                    fit_score_by_machine_type(factory(machine_type), part)
                    for machine_type, part in frame.groupby("machine_type")
                ]
            )
        seconds = time.perf_counter() - start
        table = evaluate(scored, year)
        published = paper_row(name, year)
        if published is not None:
            paper, figures = published
            table["paper"] = [figures.get(machine_type, "") for machine_type in table.index]
        print(f"\n{name} ({seconds:.0f} s)")
        print(table.to_string(float_format=lambda v: f"{v:.4f}"))
        if published is not None:
            average = list(figures.values())[-1]
            print(f"  paper: {paper.paper}, {paper.table} ({paper.caption}); all: {average}")
        mean = table["official"].mean()
        emit("accuracy", f"{name} on {Path(args.root).name}", mean, "official", f"DCASE {year}")


if __name__ == "__main__":
    main()
