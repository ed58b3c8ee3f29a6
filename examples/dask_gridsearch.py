"""GridSearchCV on a Dask cluster, with the log-mel features computed once per fold.
===================================================================================

Model selection over a network pipeline spread over the workers of a Dask cluster
(``dask.distributed``) through joblib's ``dask`` backend:

1. a ``LogMel -> NetEmbedder -> CosineScorer`` pipeline with a ``memory`` cache: each
   fold's log-mel features are computed once and read from the cache by every grid point
   (a cache folder that all workers see: a local folder here, a shared file system on
   several machines);
2. ``GridSearchCV(..., n_jobs=-1)`` inside ``joblib.parallel_config(backend="dask")``
   sends the (grid point, fold) fits to the cluster's workers; metadata routing
   (``section``) travels with them;
3. the same search with ``n_jobs=1`` gives the same cross-validation scores (exactly, when
   torch runs one thread per process as in the workers; with more threads, up to
   floating-point differences in training), and the wall times of both are printed.

Here the cluster is a ``LocalCluster`` on the loopback interface with one single-threaded
worker per core. On several machines, start a scheduler and workers from the shell and
connect with ``Client("tcp://scheduler:8786")`` instead (see the distributed computing page of
the documentation, which also covers one worker per GPU).

Run ``python examples/dask_gridsearch.py`` (``--fast`` for a small grid on short clips).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import joblib
import numpy as np
import sklearn
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from sklasd.datasets import make_machine_sounds
from sklasd.embedders import NetEmbedder
from sklasd.features import LogMel
from sklasd.metrics import make_asd_scorer
from sklasd.model_selection import NormalOnlyKFold
from sklasd.nn import TDNN
from sklasd.scoring import CosineScorer
from sklasd.training import ClassifierNet


def make_search(cache: str | Path, *, fast: bool) -> GridSearchCV:
    """The search: a small TDNN section classifier, its learning rate and epochs tuned."""
    net = ClassifierNet(
        TDNN,
        max_epochs=2 if fast else 40,
        batch_size=16,
        module__embedding_dim=16 if fast else 64,
        module__width_mult=0.03 if fast else 0.25,
    )
    pipe = Pipeline(
        [
            ("logmel", LogMel(n_mels=32 if fast else 64)),
            ("embedder", NetEmbedder(net=net, n_frames=16 if fast else 32, random_state=0)),
            ("scorer", CosineScorer()),
        ],
        memory=str(cache),
    )
    grid = {"embedder__net__lr": [1e-3, 3e-3]}
    if not fast:
        grid["embedder__net__max_epochs"] = [40, 80]
    return GridSearchCV(pipe, grid, scoring=make_asd_scorer("auc"), cv=NormalOnlyKFold(n_splits=2))


def n_cached_fits(cache: str | Path, transformer: str) -> int:
    """How many fits of ``transformer`` (a class name) the pipeline's cache holds.

    joblib's cache keeps one folder per distinct call, with the call's arguments in its
    ``metadata.json``.
    """
    calls = (json.loads(path.read_text()) for path in Path(cache).rglob("metadata.json"))
    return sum(call["input_args"]["transformer"].startswith(f"{transformer}(") for call in calls)


def main(*, fast: bool = False, n_workers: int = 2) -> dict:
    """Run the example; returns what it printed, for the test suite.

    Parameters
    ----------
    fast : bool, default=False
        Short clips, a tiny network and two grid points.
    n_workers : int, default=2
        Workers of the local cluster (one thread each).

    Returns
    -------
    results : dict
        ``serial`` and ``dask`` cross-validation scores (mean test score per grid point),
        their wall times ``serial_seconds`` and ``dask_seconds``, ``n_candidates``,
        ``n_splits`` and ``n_cached_fits`` (LogMel fits held by the cache).
    """
    with sklearn.config_context(enable_metadata_routing=True):
        return _compare(fast=fast, n_workers=n_workers)


def _compare(*, fast: bool, n_workers: int) -> dict:
    """The two searches of :func:`main`, with metadata routing on."""
    from distributed import Client, LocalCluster

    X, meta = make_machine_sounds(
        machine_types=["fan"],
        n_sections=3,
        n_train=12 if fast else 40,
        n_test=6 if fast else 12,
        duration=1.0 if fast else 4.0,
        random_state=0,
    )
    y = meta["label"].to_numpy(dtype=int)
    section = meta["section"].to_numpy()

    results: dict = {}
    with tempfile.TemporaryDirectory() as serial_cache, tempfile.TemporaryDirectory() as cache:
        search = make_search(serial_cache, fast=fast)
        start = time.perf_counter()
        search.fit(X, y, section=section)
        results["serial_seconds"] = time.perf_counter() - start
        results["serial"] = search.cv_results_["mean_test_score"]

        dask_search = clone(make_search(cache, fast=fast)).set_params(n_jobs=-1)
        with (
            LocalCluster(
                n_workers=n_workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
            ) as cluster,
            Client(cluster),
        ):
            start = time.perf_counter()
            with joblib.parallel_config(backend="dask"):
                dask_search.fit(X, y, section=section)
            results["dask_seconds"] = time.perf_counter() - start
        results["dask"] = dask_search.cv_results_["mean_test_score"]
        results["n_cached_fits"] = n_cached_fits(cache, "LogMel")
    results["n_candidates"] = len(results["dask"])
    results["n_splits"] = dask_search.n_splits_

    print(f"{results['n_candidates']} grid points x {results['n_splits']} folds")
    print("mean test AUC, n_jobs=1:", np.round(results["serial"], 4))
    print("mean test AUC, dask:    ", np.round(results["dask"], 4))
    print(
        f"wall time: n_jobs=1 {results['serial_seconds']:.1f} s, dask ({n_workers} workers) "
        f"{results['dask_seconds']:.1f} s, speed-up "
        f"{results['serial_seconds'] / results['dask_seconds']:.2f}x"
    )
    print(
        f"log-mel fits in the cache: {results['n_cached_fits']} "
        f"(one per fold and one for the refit, not one per grid point)"
    )
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="small grid on short clips")
    parser.add_argument("--workers", type=int, default=2, help="local cluster workers")
    args = parser.parse_args()
    main(fast=args.fast, n_workers=args.workers)
