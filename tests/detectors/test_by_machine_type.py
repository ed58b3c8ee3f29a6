"""fit_score_by_machine_type: one model per machine type, metadata routed as consumed."""

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.pipeline import make_pipeline

from sklasd.datasets import load_dcase, make_machine_sounds, write_dcase_folder
from sklasd.detectors import fit_score_by_machine_type
from sklasd.features import LogMel, TimePooling
from sklasd.metrics import official_score
from sklasd.scoring import KNNScorer, MahalanobisScorer


@pytest.fixture(scope="module")
def two_types():
    return make_machine_sounds(
        machine_types=["fan", "valve"], n_sections=2, n_train=6, n_test=4, duration=0.5,
        random_state=0,
    )  # fmt: skip


def pooled_knn():
    return make_pipeline(LogMel(n_mels=32), TimePooling(), KNNScorer())


def test_scores_every_test_clip_with_its_machine_types_model(two_types):
    X, frame = two_types
    scores, models = fit_score_by_machine_type(pooled_knn(), frame, X=X, return_estimators=True)

    test = frame.index[frame["split"] == "test"]
    assert sorted(scores.index) == sorted(test)
    pd.testing.assert_frame_equal(scores[frame.columns], frame.loc[scores.index])
    assert sorted(models) == ["fan", "valve"]
    for machine_type, model in models.items():
        rows = scores.index[scores["machine_type"] == machine_type]
        with sklearn.config_context(enable_metadata_routing=True):
            decision = model.decision_function(X[rows], section=frame.loc[rows, "section"])
        np.testing.assert_array_equal(scores.loc[rows, "anomaly_score"], -decision)
        np.testing.assert_array_equal(scores.loc[rows, "is_anomaly"], (decision < 0).astype(int))
        assert model[-1].sections_.tolist() == [0, 1]
    official = official_score(
        scores["label"].astype(int), scores["anomaly_score"], year=2022,
        **{name: scores[name] for name in ("machine_type", "section", "domain")},
    )  # fmt: skip
    assert 0.0 <= official <= 1.0


def test_routes_the_metadata_each_model_consumes(two_types, make_detector):
    X, frame = two_types
    detector = make_detector(score_rule=MahalanobisScorer())
    _, models = fit_score_by_machine_type(detector, frame, X=X, return_estimators=True)
    fan = models["fan"]
    # domain reached the scorer step, attributes the network's target (auto)
    assert fan.scorer_.domains_[0].tolist() == ["source", "target"]
    assert fan.embedder_.target == "section_attributes"
    assert fan.machine_types_ is None  # one machine type per model


def test_reads_paths_and_skips_machine_types_without_test_clips(tmp_path, two_types, capsys):
    X, frame = two_types
    write_dcase_folder(tmp_path, X, frame)
    loaded = load_dcase(tmp_path)
    keep = (loaded["machine_type"] == "fan") | (loaded["split"] == "train")
    with pytest.warns(UserWarning, match="machine types not scored: valve: no test clips"):
        scores = fit_score_by_machine_type(pooled_knn(), loaded[keep], verbose=True)
    assert set(scores["machine_type"]) == {"fan"}
    assert scores.attrs["failed_machine_types"] == {"valve": "no test clips"}
    printed = capsys.readouterr().out
    assert "valve: skipped (no test clips)" in printed
    assert "fan: fitting on 18 training clips" in printed
    assert "fan: fitted and scored 16 test clips" in printed


def test_errors_name_the_problem(two_types):
    X, frame = two_types
    with pytest.raises(ValueError, match=r"lacks the column\(s\) \['split'\]"):
        fit_score_by_machine_type(pooled_knn(), frame.drop(columns="split"), X=X)
    with pytest.raises(ValueError, match="X has 3 clips but frame has"):
        fit_score_by_machine_type(pooled_knn(), frame, X=X[:3])
    with pytest.raises(ValueError, match="no 'path' column"):
        fit_score_by_machine_type(pooled_knn(), frame.drop(columns="path"))
    train_only = frame[frame["split"] == "train"]
    with pytest.raises(ValueError, match=r"no machine type could be scored \(fan: no test clips"):
        fit_score_by_machine_type(pooled_knn(), train_only, X=X[train_only.index])
    with pytest.raises(ValueError, match="on_error must be"):
        fit_score_by_machine_type(pooled_knn(), frame, X=X, on_error="ignore")


def test_a_failing_machine_type_does_not_discard_the_others(two_types):
    """on_error="warn": the machine type whose fit raises is named; the others are scored."""
    X, frame = two_types
    failing = pooled_knn().set_params(knnscorer__n_neighbors=10_000)  # more than its clips
    estimators = {"fan": pooled_knn(), "valve": failing}
    with pytest.raises(ValueError, match="n_neighbors"):
        fit_score_by_machine_type(estimators, frame, X=X)
    with pytest.warns(UserWarning, match=r"machine types not scored: valve: ValueError: .*"):
        scores, models = fit_score_by_machine_type(
            estimators, frame, X=X, on_error="warn", return_estimators=True
        )
    assert set(scores["machine_type"]) == set(models) == {"fan"}
    assert list(scores.attrs["failed_machine_types"]) == ["valve"]
    fan = (frame["machine_type"] == "fan").to_numpy()
    expected = fit_score_by_machine_type(pooled_knn(), frame[fan], X=X[fan])
    np.testing.assert_allclose(scores["anomaly_score"], expected["anomaly_score"])


def test_a_machine_type_whose_test_sections_all_lack_training_clips_is_named(two_types):
    """valve trains on section 0 only and is tested on section 1 only: nothing to score."""
    X, frame = two_types
    valve, split, section = (frame["machine_type"] == "valve"), frame["split"], frame["section"]
    drop = valve & (((split == "train") & (section == 1)) | ((split == "test") & (section == 0)))
    kept = (~drop).to_numpy()
    with pytest.warns(UserWarning, match="not scored: valve section"):
        scores = fit_score_by_machine_type(pooled_knn(), frame[kept], X=X[kept])
    assert set(scores["machine_type"]) == {"fan"}
    assert scores.attrs["failed_machine_types"] == {
        "valve": "no test clips of a section with training clips"
    }
    assert scores.attrs["unscored_sections"] == ["valve section(s) [1]"]
