"""Outlier-exposure detectors: fit time of the default configurations on a CPU.

Fits the default ``OutlierClassifierDetector()`` and ``CentroidBCEDetector()`` (only
``random_state=0`` set) on ``--n-train`` synthetic 10 s clips at 16 kHz of one machine
type with 4 sections (:func:`sklasd.datasets.make_machine_sounds`, written as WAV files),
from their paths, and prints for each:

- the wall time of ``fit`` (reading and log-mel features, one network per section
  trained against the other sections' clips, the scores of the training clips and the
  thresholds);
- the part spent in the networks' epochs (from their training histories; for
  CentroidBCEDetector this includes the centroid update after every epoch, which embeds
  every training clip once) and the time per epoch, summed over the sections;
- the load average before and after, since other processes sharing the CPU slow every
  figure down.

Usage: python benchmarks/bench_outlier_exposure.py [--n-train 1000] [--threads 1]
       [--detectors outlier-classifier centroid-bce]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
import torch
from _results import emit, load, machine

from sklasd.datasets import make_machine_sounds, write_dcase_folder
from sklasd.detectors import CentroidBCEDetector, OutlierClassifierDetector

DETECTORS = {
    "outlier-classifier": OutlierClassifierDetector,
    "centroid-bce": CentroidBCEDetector,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=1000, help="training clips (4 sections)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--detectors", nargs="+", choices=list(DETECTORS), default=list(DETECTORS))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(machine())
    n_sections = 4
    X, frame = make_machine_sounds(
        machine_types=["fan"],
        n_sections=n_sections,
        n_train=args.n_train // n_sections,
        n_test=2,
        domain_shift=False,
        duration=10.0,
        random_state=0,
    )
    with tempfile.TemporaryDirectory() as folder:
        frame = write_dcase_folder(folder, X, frame)
        del X
        train = frame[frame["split"] == "train"]
        paths, section = train["path"].tolist(), train["section"].to_numpy()
        for name in args.detectors:
            detector = DETECTORS[name](random_state=0)
            start = time.perf_counter()
            detector.fit(paths, section=section)
            fit_time = time.perf_counter() - start
            epochs = np.concatenate([net.history[:, "dur"] for net in detector.nets_])
            per_epoch = epochs.sum() / detector.nets_[0].max_epochs
            print(
                f"\nfit of {type(detector).__name__}() on {len(paths)} clips of 10 s "
                f"({n_sections} sections) from WAV paths: {fit_time:.1f} s "
                f"({fit_time / 60:.1f} min)"
            )
            print(
                f"  {len(detector.nets_)} networks x {detector.nets_[0].max_epochs} epochs: "
                f"{epochs.sum():.1f} s ({per_epoch:.1f} s per epoch over all sections); "
                f"everything else (reading, log-mel, training scores): "
                f"{fit_time - epochs.sum():.1f} s"
            )
            note = f"{len(paths)} 10-s clips, 4 sections, {torch.get_num_threads()} thread(s)"
            emit("training", f"{type(detector).__name__} fit", fit_time, "s", note)
    print(load())


if __name__ == "__main__":
    main()
