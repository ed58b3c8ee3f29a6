"""The Dask grid search example: same results as n_jobs=1, features cached once per fold."""

import runpy
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("distributed")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.slow
def test_dask_search_matches_serial_search_and_shares_features():
    main = runpy.run_path(str(EXAMPLES / "dask_gridsearch.py"))["main"]
    results = main(fast=True, n_workers=2)

    # the cluster's workers computed exactly what the serial search computed (one torch
    # thread here and in the workers, so even the floating-point sums agree)
    assert results["n_candidates"] == 2
    np.testing.assert_array_equal(results["dask"], results["serial"])
    # LogMel ran once per fold and once for the refit, not once per grid point and fold
    assert results["n_cached_fits"] == results["n_splits"] + 1
    assert results["serial_seconds"] > 0 and results["dask_seconds"] > 0
