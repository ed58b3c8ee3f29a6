"""GridSearchCV on a local Dask cluster against n_jobs=1: wall times and speed-up.

Runs ``examples/dask_gridsearch.py`` in its full mode (a TDNN section classifier in a
``LogMel -> NetEmbedder -> CosineScorer`` pipeline with a feature cache, 4 grid points x 2
folds on synthetic 4 s clips) twice: serially with ``n_jobs=1`` and on a ``LocalCluster``
of ``--workers`` single-threaded worker processes on the loopback interface, and prints
both wall times, the speed-up and whether the cross-validation scores agree. The serial
search runs torch on ``--serial-threads`` threads (default 1, as each worker does, so that
the two searches compute the same numbers; with 2 threads on a busy 2-core machine torch's
thread pool can slow down many times over); the load average before and after is printed
since other processes sharing the CPU slow every figure down.

Usage: python benchmarks/bench_dask_search.py [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import runpy
from pathlib import Path

import numpy as np
import torch
from _results import emit

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "dask_gridsearch.py"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="local cluster workers")
    parser.add_argument("--fast", action="store_true", help="the example's fast mode")
    parser.add_argument("--serial-threads", type=int, default=1, help="torch threads, n_jobs=1")
    args = parser.parse_args()
    torch.set_num_threads(args.serial_threads)

    print(f"load average before: {os.getloadavg()[0]:.2f}, cores: {os.cpu_count()}")
    results = runpy.run_path(str(EXAMPLE))["main"](fast=args.fast, n_workers=args.workers)
    speed_up = results["serial_seconds"] / results["dask_seconds"]
    gap = np.abs(np.asarray(results["dask"]) - np.asarray(results["serial"])).max()
    print()
    print("| search | wall time (s) | speed-up |")
    print("|---|---|---|")
    serial = f"n_jobs=1 ({args.serial_threads} torch thread(s))"
    print(f"| {serial} | {results['serial_seconds']:.1f} | 1.00x |")
    print(f"| dask, {args.workers} workers | {results['dask_seconds']:.1f} | {speed_up:.2f}x |")
    emit(
        "model selection",
        f"GridSearchCV on dask ({args.workers} workers) vs n_jobs=1",
        speed_up,
        "x",
        f"{results['n_candidates']} grid points x {results['n_splits']} folds",
    )
    print(f"largest difference of mean test AUC between the two: {gap:.4f}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
