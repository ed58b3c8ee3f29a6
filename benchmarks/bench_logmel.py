"""LogMel throughput and agreement with librosa.

Prints, for 10 s clips at 16 kHz:

- the throughput (clips/s) of ``LogMel`` (both backends) from waveform arrays and
  from WAV paths, next to librosa's batched call on the same clips
  (``librosa.feature.melspectrogram(y=batch_2d, ...)`` then ``power_to_db`` per
  clip; from paths, each file read with ``librosa.load`` first), with ratios;
- the largest deviation (dB) of ``LogMel`` from the per-clip librosa reference
  ``power_to_db(melspectrogram(y=clip))`` on the real DCASE 2020 clips in
  ``<repo>/../shared/data/dcase2020_mini`` (skipped when the folder is absent).

Timings are the best of ``--repeats`` runs, the contenders interleaved so that
load from other processes affects them alike.

Usage: python benchmarks/bench_logmel.py [--n-clips 128] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import librosa
import numpy as np
import torch
from _results import emit
from sklearn.utils import gen_batches

from sklasd.datasets import make_machine_sounds, write_dcase_folder
from sklasd.features import LogMel

SR = 16000
MEL = {"sr": SR, "n_fft": 1024, "hop_length": 512, "n_mels": 128}
REAL_CLIPS = Path(__file__).resolve().parents[2] / "shared" / "data" / "dcase2020_mini"


def librosa_batched(X: np.ndarray, batch_size: int) -> np.ndarray:
    """librosa's batched mel spectrogram, then power_to_db clip by clip."""
    out = []
    for rows in gen_batches(X.shape[0], batch_size):
        spec = librosa.feature.melspectrogram(y=X[rows], **MEL)
        out.extend(librosa.power_to_db(s) for s in spec)
    return np.stack(out)


def librosa_from_paths(paths: list[str], batch_size: int) -> np.ndarray:
    """librosa.load per file, then the batched call batch by batch."""
    out = []
    for rows in gen_batches(len(paths), batch_size):
        X = np.stack([librosa.load(path, sr=SR)[0] for path in paths[rows]])
        out.append(librosa_batched(X, batch_size))
    return np.concatenate(out)


def reference(clip: np.ndarray) -> np.ndarray:
    """The per-clip definition LogMel must match."""
    return librosa.power_to_db(librosa.feature.melspectrogram(y=clip, **MEL))


def throughput(X: np.ndarray, paths: list[str], batch_size: int, repeats: int) -> None:
    contenders = {
        ("LogMel torch", "arrays"): lambda: LogMel(batch_size=batch_size).fit_transform(X),
        ("LogMel librosa", "arrays"): lambda: LogMel(
            backend="librosa", batch_size=batch_size
        ).fit_transform(X),
        ("librosa batched", "arrays"): lambda: librosa_batched(X, batch_size),
        ("LogMel torch", "paths"): lambda: LogMel(batch_size=batch_size).fit_transform(paths),
        ("LogMel librosa", "paths"): lambda: LogMel(
            backend="librosa", batch_size=batch_size
        ).fit_transform(paths),
        ("librosa batched", "paths"): lambda: librosa_from_paths(paths, batch_size),
    }
    for run in contenders.values():  # warm up: imports, thread pools, page cache
        run()
    best = defaultdict(lambda: float("inf"))
    for _ in range(repeats):
        for key, run in contenders.items():
            start = time.perf_counter()
            run()
            best[key] = min(best[key], time.perf_counter() - start)
    n = X.shape[0]
    print(f"\nThroughput, {n} clips of 10 s, batch_size={batch_size}, best of {repeats}")
    print(f"{'implementation':<18}{'input':<8}{'clips/s':>9}{'vs librosa':>12}")
    for (name, source), seconds in best.items():
        ratio = best[("librosa batched", source)] / seconds
        print(f"{name:<18}{source:<8}{n / seconds:>9.1f}{ratio:>11.2f}x")
        if name == "LogMel torch":
            emit(
                "features",
                f"LogMel from {source}",
                n / seconds,
                "clips/s",
                f"10 s clips, batch {batch_size}; {ratio:.2f}x batched librosa",
            )


def deviation_on_real_clips() -> None:
    root = REAL_CLIPS / "dev_data"
    if not root.is_dir():
        print(f"\nReal clips not found at {root}: deviation check skipped.")
        return
    worst = {"torch": 0.0, "librosa": 0.0}
    n_clips = 0
    for machine_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        paths = sorted(str(p) for p in machine_dir.glob("*/*.wav"))
        expected = np.stack([reference(librosa.load(path, sr=SR)[0]) for path in paths])
        n_clips += len(paths)
        for backend in worst:
            features = LogMel(backend=backend).fit_transform(paths)[:, 0]
            worst[backend] = max(worst[backend], float(np.abs(features - expected).max()))
    print(f"\nLargest deviation from per-clip librosa on {n_clips} real DCASE 2020 clips:")
    for backend, dev in worst.items():
        print(f"  LogMel(backend={backend!r}): {dev:.2e} dB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-clips", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"torch {torch.__version__} ({torch.get_num_threads()} threads), "
        f"librosa {librosa.__version__}, numpy {np.__version__}"
    )
    X, frame = make_machine_sounds(
        machine_types=("fan",),
        n_sections=1,
        n_train=args.n_clips,
        n_test=0,
        domain_shift=False,
        duration=10.0,
        random_state=0,
    )
    with tempfile.TemporaryDirectory() as folder:
        paths = write_dcase_folder(folder, X, frame)["path"].tolist()
        throughput(X, paths, args.batch_size, args.repeats)
    deviation_on_real_clips()


if __name__ == "__main__":
    main()
