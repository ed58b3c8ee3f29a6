"""``sklasd update`` and ``sklasd watch --learn-normal``: new normal clips without refitting."""

import shutil

import joblib
import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.base import clone
from sklearn.pipeline import make_pipeline

from sklasd.cli import main, score
from sklasd.datasets import load_dcase, make_machine_sounds, write_dcase_folder
from sklasd.features import LogMel, TimePooling
from sklasd.scoring import OneClassSVMScorer


def _folder(root, random_state, n_sections=2):
    X, frame = make_machine_sounds(
        machine_types=["fan"], n_sections=n_sections, n_train=5, n_test=2, duration=1.0,
        random_state=random_state,
    )  # fmt: skip
    write_dcase_folder(root, X, frame)
    return root


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return _folder(tmp_path_factory.mktemp("data"), random_state=0)


@pytest.fixture(scope="module")
def fitted(data, tmp_path_factory):
    """A model file of the default detector (the fused Mahalanobis and 1-NN steps) on ``data``."""
    path = tmp_path_factory.mktemp("model") / "model.joblib"
    assert (
        main(
            [
                "fit",
                str(data),
                "--model",
                str(path),
                "--set",
                "scoreensemble__mahalanobis__n_threshold_folds=2",
            ]
        )
        == 0
    )
    return path


@pytest.fixture
def model(fitted, tmp_path):
    path = tmp_path / "model.joblib"
    shutil.copy(fitted, path)
    return path


def test_update_equals_a_fit_on_all_the_clips(model, data, tmp_path, capsys):
    new = _folder(tmp_path / "new", random_state=3, n_sections=3)  # sections 0, 1 and a new 2
    assert main(["update", str(model), str(new / "fan" / "train")]) == 0
    n_new = len(list((new / "fan" / "train").glob("*.wav")))
    assert f"{n_new} normal clip(s) learned" in capsys.readouterr().out
    saved = joblib.load(model)
    assert saved["updates"][-1]["clips"] == n_new
    updated = saved["models"]["fan"]
    assert updated[-1].sections_.tolist() == [0, 1, 2]
    # the same clips through fit, in the order partial_fit saw them per section
    old = load_dcase(data, splits="train")
    both = pd.concat([old, load_dcase(new, splits="train")], ignore_index=True)
    both = both.sort_values("section", kind="stable")
    reference = clone(updated).set_params(scoreensemble__mahalanobis__n_threshold_folds=2)
    with sklearn.config_context(enable_metadata_routing=True):
        reference.fit(
            both["path"].to_numpy(), section=both["section"].to_numpy(),
            domain=both["domain"].to_numpy(),
        )  # fmt: skip
    np.testing.assert_allclose(updated[-1].offset_, reference[-1].offset_, rtol=1e-10)
    scores = score(model, [new / "fan" / "test"])
    with sklearn.config_context(enable_metadata_routing=True):
        expected = -reference.decision_function(
            scores["path"].to_numpy(), section=scores["section"].to_numpy(dtype=int)
        )
    np.testing.assert_allclose(scores["anomaly_score"], expected, rtol=1e-8)
    # the same clips again: nothing new, nothing written
    before = model.read_bytes()
    assert main(["update", str(model), str(new / "fan" / "train")]) == 0
    assert "learned before" in capsys.readouterr().out
    assert model.read_bytes() == before


def test_update_leaves_out_clips_named_anomalous_and_training_clips(model, data, capsys):
    test = sorted((data / "fan" / "test").glob("*.wav"))
    anomalous = [path for path in test if "_anomaly_" in path.name]
    training = sorted((data / "fan" / "train").glob("*.wav"))[:2]
    before = joblib.load(model)["models"]["fan"][-1].offset_
    argv = ["update", str(model), *map(str, anomalous), *map(str, training)]
    assert main(argv) == 0
    assert "0 normal clip(s) learned" in capsys.readouterr().out
    np.testing.assert_array_equal(joblib.load(model)["models"]["fan"][-1].offset_, before)


def test_update_refuses_a_detector_without_partial_fit(data, tmp_path, capsys):
    path = tmp_path / "ocsvm.joblib"
    train = load_dcase(data, splits="train")
    pipeline = make_pipeline(LogMel(), TimePooling(), OneClassSVMScorer())
    pipeline.fit(train["path"].to_numpy())
    joblib.dump({"models": {"fan": pipeline}}, path)
    assert main(["update", str(path), train["path"].iloc[0]]) == 2
    assert "(OneClassSVMScorer) cannot take new clips without refitting" in capsys.readouterr().err


def test_watch_learns_normal_clips_before_scoring(model, tmp_path, capsys):
    new = _folder(tmp_path / "new", random_state=4, n_sections=3)
    incoming, results = tmp_path / "incoming" / "fan", tmp_path / "results.csv"
    incoming.mkdir(parents=True)
    clip = next((new / "fan" / "test").glob("section_02_*.wav"))
    shutil.copy(clip, incoming)
    argv = ["watch", str(incoming.parent), "--model", str(model), "--results", str(results)]
    assert main([*argv, "--once", "--settle", "0"]) == 2  # section 2 is not in the model yet
    assert "section values [2] were not seen in fit" in capsys.readouterr().err
    normal = ["--learn-normal", str(new / "fan" / "train")]
    assert main([*argv, *normal, "--once", "--settle", "0"]) == 0
    out = capsys.readouterr().out
    assert "normal clip(s) learned" in out and f"{incoming / clip.name}: " in out
    assert len(pd.read_csv(results)) == 1
    assert joblib.load(model)["models"]["fan"][-1].sections_.tolist() == [0, 1, 2]
