"""Peak memory of LogMel feature extraction from 500, 1,000 and 2,000 files.

Writes 2,000 synthetic 10 s clips at 16 kHz (16-bit WAV, 640 MB) once into a
temporary folder, then extracts log-mel features from the first 500, 1,000 and
2,000 of them, each run in a fresh subprocess whose peak resident memory
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) is reported. The folder is
removed at the end.

How the features are kept (the ``--modes``):

- ``pooled``: ``make_pipeline(LogMel(), TimePooling())``, fitted on one path
  (fitting reads no audio), transforms 256 paths at a time; the pooled features
  (mean, std and max of each mel band, 1.5 kB per clip) are kept in RAM.
- ``memmap``: a fitted ``LogMel`` transforms 256 paths at a time, each block written into
  a ``.npy`` file on disk (``np.lib.format.open_memmap``, re-opened per block so
  written pages leave the process) that can later be read with
  ``np.load(..., mmap_mode="r")``: the full (n, 1, 128, 313) float32 features,
  160 kB per clip.
- ``in_ram``: a fitted ``LogMel`` transforms all paths at once: the full
  features held in RAM, for comparison. LogMel still streams the audio, so
  memory grows only by the features themselves.

Usage: python benchmarks/bench_memory.py [--sizes 500 1000 2000] [--modes ...]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _results import emit

CHUNK = 256  # paths per transform call in the streaming modes
MODES = ("pooled", "memmap", "in_ram")


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(paths_file: str, n: int, mode: str, folder: str) -> None:
    """Extract features of the first ``n`` paths and print peak memory as JSON."""
    from sklearn.pipeline import make_pipeline
    from sklearn.utils import gen_batches

    from sklasd.features import LogMel, TimePooling

    paths = Path(paths_file).read_text().splitlines()[:n]
    logmel = LogMel().fit(paths)
    baseline = peak_rss_mb()  # interpreter, numpy, torch, librosa, sklasd
    if mode == "pooled":
        # Fitting reads no audio; TimePooling only records the number of mel bands.
        pipe = make_pipeline(LogMel(), TimePooling()).fit(paths[:1])
        features = np.empty((n, pipe[-1].n_features_out_), dtype=np.float32)
        for rows in gen_batches(n, CHUNK):
            features[rows] = pipe.transform(paths[rows])
    elif mode == "memmap":
        target = Path(folder) / f"logmel_{n}.npy"
        for rows in gen_batches(n, CHUNK):
            block = logmel.transform(paths[rows])
            if rows.start == 0:
                shape = (n, *block.shape[1:])
                out = np.lib.format.open_memmap(target, "w+", np.float32, shape)
            else:
                out = np.lib.format.open_memmap(target, "r+")
            out[rows] = block
            out.flush()
            del out
        features = np.load(target, mmap_mode="r")
    else:
        features = logmel.transform(paths)
    result = {
        "baseline_mb": baseline,
        "peak_mb": peak_rss_mb(),
        "features_mb": features.nbytes / 2**20,
    }
    print(json.dumps(result))


def write_clips(folder: Path, n: int) -> list[str]:
    """Synthesise ``n`` 10 s clips and write them as WAVs, 100 at a time."""
    from sklasd.datasets import make_machine_sounds, write_dcase_folder

    chunks, frame = make_machine_sounds(
        machine_types=("fan",),
        n_sections=1,
        n_train=n,
        n_test=0,
        domain_shift=False,
        duration=10.0,
        chunk_size=100,
        random_state=0,
    )
    return write_dcase_folder(folder, chunks, frame)["path"].tolist()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 1000, 2000])
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--worker", nargs=4, metavar=("PATHS", "N", "MODE", "DIR"))
    args = parser.parse_args()
    if args.worker:
        paths_file, n, mode, folder = args.worker
        worker(paths_file, int(n), mode, folder)
        return

    folder = Path(tempfile.mkdtemp(prefix="sklasd_bench_memory_"))
    try:
        start = time.perf_counter()
        paths = write_clips(folder / "clips", max(args.sizes))
        paths_file = folder / "paths.txt"
        paths_file.write_text("\n".join(paths))
        os.sync()  # write the files out before measuring
        print(f"Wrote {len(paths)} clips of 10 s in {time.perf_counter() - start:.0f} s")
        print(
            f"\n{'mode':<8}{'files':>7}{'baseline MB':>13}{'peak MB':>9}"
            f"{'peak - base':>13}{'features MB':>13}"
        )
        for mode in args.modes:
            for n in args.sizes:
                command = [sys.executable, __file__, "--worker", str(paths_file), str(n), mode]
                output = subprocess.run(
                    [*command, str(folder)], capture_output=True, text=True, check=True
                ).stdout
                r = json.loads(output.strip().splitlines()[-1])
                print(
                    f"{mode:<8}{n:>7}{r['baseline_mb']:>13.0f}{r['peak_mb']:>9.0f}"
                    f"{r['peak_mb'] - r['baseline_mb']:>13.0f}{r['features_mb']:>13.1f}",
                    flush=True,
                )
                emit(
                    "memory",
                    f"LogMel {mode}, {n} files: peak RSS above baseline",
                    r["peak_mb"] - r["baseline_mb"],
                    "MB",
                )
                for npy in folder.glob("*.npy"):
                    npy.unlink()
    finally:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
