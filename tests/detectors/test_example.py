"""The fast mode of examples/id_classifier.py runs, and what it shows holds."""

import runpy
from pathlib import Path

import numpy as np
import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "id_classifier.py"


@pytest.mark.slow
def test_id_classifier_example(tmp_path):
    results = runpy.run_path(str(EXAMPLE))["main"](fast=True, workdir=tmp_path)

    assert set(results["official"]) == {
        "IDClassifier, confidence",
        "IDClassifier, cosine",
        "LogMel + TimePooling + kNN",
    }
    assert all(0.0 <= score <= 1.0 for score in results["official"].values())
    assert results["joint_sections"] == [("fan", 0), ("valve", 0)]
    assert np.isfinite(results["joint_scores"]).all()
    np.testing.assert_array_equal(results["scores"], results["reloaded_scores"])
    assert (tmp_path / "id_classifier.joblib").is_file()
