"""IDClassifierDetector: fit time, training throughput and scoring throughput on a CPU.

Prints, for synthetic 10 s clips at 16 kHz (:func:`sklasd.datasets.make_machine_sounds`,
one machine type with 4 sections, written as WAV files):

- the wall time to fit the default ``IDClassifierDetector()`` on ``--n-train`` clips
  from their WAV paths (reading and log-mel features, training, embedding the
  training clips, the scorer step and the thresholds), with the time of each part;
- the training throughput of the default CPU configuration (clips/s: clips per epoch
  over the mean epoch time from the training history; one random 64-frame crop per
  clip and epoch);
- the scoring throughput from WAV paths to scores (``decision_function`` on
  ``--n-score`` unseen clips: reading, log-mel, the network on the crops covering
  every clip, the scorer step), best of ``--repeats`` runs;
- the load average of the machine before and after, since other processes sharing
  the CPU slow every figure down.

Targets (issue 3): the fit on 1,000 clips under 10 minutes, scoring at 50 clips/s or
more.

Usage: python benchmarks/bench_idclassifier.py [--n-train 1000] [--n-score 200]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
from _results import emit, load, machine

from sklasd.datasets import make_machine_sounds, write_dcase_folder
from sklasd.detectors import IDClassifierDetector


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=1000, help="training clips (4 sections)")
    parser.add_argument("--n-score", type=int, default=200, help="clips to score")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--score-rule", default="cosine")
    args = parser.parse_args()
    print(machine())
    n_sections = 4
    X, frame = make_machine_sounds(
        machine_types=["fan"],
        n_sections=n_sections,
        n_train=args.n_train // n_sections,
        n_test=2 * (args.n_score // (2 * n_sections)),
        domain_shift=False,
        duration=10.0,
        random_state=0,
    )
    with tempfile.TemporaryDirectory() as folder:
        frame = write_dcase_folder(folder, X, frame)
        del X
        train = frame[frame["split"] == "train"]
        test = frame[frame["split"] == "test"]
        detector = IDClassifierDetector(score_rule=args.score_rule, random_state=0)

        start = time.perf_counter()
        detector.fit(train["path"].tolist(), section=train["section"].to_numpy())
        fit_time = time.perf_counter() - start
        history = detector.embedder_.net_.history
        epoch_time = np.array(history[:, "dur"])
        train_time = epoch_time.sum()
        net = detector.embedder_.net_
        print(
            f"\nfit of IDClassifierDetector(score_rule={args.score_rule!r}) on {len(train)} clips "
            f"of 10 s ({n_sections} sections) from WAV paths: {fit_time:.1f} s "
            f"({fit_time / 60:.1f} min; target < 10 min)"
        )
        print(
            f"  network training: {train_time:.1f} s, {len(history)} epochs of "
            f"{net.module.__name__}(width_mult={net.module__width_mult}, "
            f"depth_mult={net.module__depth_mult}) on {detector.embedder_.n_frames}-frame "
            f"crops; everything else (reading, log-mel, embeddings, scorer): "
            f"{fit_time - train_time:.1f} s"
        )
        print(
            f"training throughput: {len(train) / epoch_time.mean():.0f} clips/s "
            f"(fastest epoch {len(train) / epoch_time.min():.0f} clips/s)"
        )

        paths, section = test["path"].tolist(), test["section"].to_numpy()
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            scores = -detector.decision_function(paths, section=section)
            times.append(time.perf_counter() - start)
        assert np.isfinite(scores).all()
        emit("training", "IDClassifierDetector fit", fit_time, "s", f"{len(train)} 10-s clips")
        emit(
            "training", "IDClassifierDetector training", len(train) / epoch_time.mean(), "clips/s"
        )
        emit(
            "inference",
            "IDClassifierDetector scoring from WAV paths",
            len(paths) / min(times),
            "clips/s",
        )
        print(
            f"scoring throughput from WAV paths: {len(paths) / min(times):.0f} clips/s "
            f"({len(paths)} clips, best of {args.repeats}; target >= 50 clips/s)"
        )
    print(load())


if __name__ == "__main__":
    main()
