"""The examples' fast modes run in the test suite, and what they show holds."""

import runpy
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.slow
def test_gridsearch_logmel_pipeline(tmp_path):
    main = runpy.run_path(str(EXAMPLES / "gridsearch_logmel_pipeline.py"))["main"]
    results = main(fast=True, workdir=tmp_path)

    # every grid point was scored by both scorers on every fold
    cv = results["cv_results"]
    assert len(cv["params"]) == 4
    for name in ("pauc", "official"):
        scores = np.array([cv[f"split{k}_test_{name}"] for k in range(3)])
        assert np.isfinite(scores).all()
        assert ((scores >= 0) & (scores <= 1)).all()
    assert results["best_params"] == cv["params"][int(np.argmax(cv["mean_test_pauc"]))]
    # the pipeline found anomalies on clips it never saw, and the saved model agrees exactly
    assert results["official_score"] > 0.55
    np.testing.assert_array_equal(results["scores"], results["reloaded_scores"])
    assert (tmp_path / "fan_pipeline.joblib").is_file()
