"""The subcommands: ``run`` (also without a command), ``--version``, ``fit`` and ``score``."""

import shutil
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import sklearn

import sklasd
from sklasd.cli import SCORE_COLUMNS, main, score
from sklasd.datasets import load_dcase, make_machine_sounds, write_dcase_folder
from sklasd.metrics import dcase_report
from sklasd.utils import check_run_folder


def _dcase_folder(root, random_state):
    X, frame = make_machine_sounds(
        machine_types=["fan", "valve"], n_sections=2, n_train=4, n_test=2, duration=1.0,
        random_state=random_state,
    )  # fmt: skip
    write_dcase_folder(root, X, frame)
    return root


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Training data: fan and valve, two sections, 1-s clips."""
    return _dcase_folder(tmp_path_factory.mktemp("data"), random_state=0)


@pytest.fixture(scope="module")
def model(data, tmp_path_factory):
    """A model file of `sklasd fit` on ``data``: the baseline with 2 neighbours."""
    path = tmp_path_factory.mktemp("model") / "model.joblib"
    argv = ["fit", str(data), "--model", str(path), "--detector", "baseline"]
    assert main([*argv, "--set", "knnscorer__n_neighbors=2"]) == 0
    return path


def error_line(capsys):
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("sklasd: error: "), lines
    return lines[0]


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"sklasd {sklasd.__version__}"


def test_run_command_is_the_default_job(data, tmp_path):
    out = tmp_path / "out"
    argv = ["run", str(data), "--output", str(out), "--scorer", "knn", "--no-report"]
    assert main(argv) == 0
    assert check_run_folder(out)["command"] == ["sklasd", *argv]
    assert (out / "anomaly_score_valve_section_01_test.csv").is_file()
    assert (out / "dcase_report.csv").is_file()


def test_fit_saves_the_models_and_what_ran(model, data):
    saved = joblib.load(model)
    assert sorted(saved["models"]) == ["fan", "valve"]
    assert saved["detector"] == "baseline"
    assert saved["params"] == {"knnscorer__n_neighbors": 2}
    assert saved["sklasd_version"] == sklasd.__version__
    assert saved["data_folder"] == str(data.resolve())
    assert all(m[-1].n_neighbors == 2 for m in saved["models"].values())


def test_score_matches_the_python_api(model, tmp_path):
    new = _dcase_folder(tmp_path / "new", random_state=5)
    out = tmp_path / "scores.csv"
    status = main(["score", str(model), str(new), "--output", str(out), "--fail-on-anomaly"])
    scores = pd.read_csv(out)
    assert list(scores.columns) == list(SCORE_COLUMNS)
    assert len(scores) == len(list(new.rglob("*.wav")))
    assert status == (3 if scores["is_anomaly"].any() else 0)
    models = joblib.load(model)["models"]
    with sklearn.config_context(enable_metadata_routing=True):
        for (machine_type, section), clips in scores.groupby(["machine_type", "section"]):
            assert all(f"/{machine_type}/" in path for path in clips["path"])
            assert all(f"section_{section:02d}_" in path for path in clips["path"])
            expected = -models[machine_type].decision_function(
                clips["path"].to_numpy(), section=np.full(len(clips), section)
            )
            np.testing.assert_allclose(clips["anomaly_score"], expected, rtol=1e-6)
            np.testing.assert_array_equal(clips["is_anomaly"], (expected > 0).astype(int))


def test_score_takes_machine_type_and_section_from_options(model, data, tmp_path, capsys):
    clip = tmp_path / "recording.wav"
    shutil.copy(next((data / "valve" / "test").glob("section_01_*.wav")), clip)
    assert main(["score", str(model), str(clip)]) == 2
    assert "machine type" in error_line(capsys)
    assert main(["score", str(model), str(clip), "--machine-type", "valve"]) == 2
    assert "--section" in error_line(capsys)
    assert main(["score", str(model), str(clip), "--machine-type", "valve", "--section", "1"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == ",".join(SCORE_COLUMNS)
    assert printed[1].startswith(f"{clip},valve,1,")


@pytest.mark.parametrize(
    "more, named",
    [
        (["--detector", "baseline", "--set", "knnscorer__bogus=1"], "bogus"),
        (["--set", "no_equals_sign"], "no_equals_sign"),
    ],
)
def test_fit_bad_options(data, tmp_path, more, named, capsys):
    path = tmp_path / "model.joblib"
    assert main(["fit", str(data), "--model", str(path), *more]) == 2
    assert named in error_line(capsys)
    assert not path.exists()


def test_fit_keeps_an_existing_model(model, data, capsys):
    before = model.read_bytes()
    assert main(["fit", str(data), "--model", str(model)]) == 2
    assert "--overwrite" in error_line(capsys)
    assert model.read_bytes() == before


def test_score_bad_model_file(tmp_path, capsys):
    path = tmp_path / "other.joblib"
    joblib.dump([1, 2], path)
    assert main(["score", str(path), str(tmp_path)]) == 2
    assert "sklasd fit" in error_line(capsys)


def test_watch_scores_new_clips_once(model, data, tmp_path, capsys):
    watched, results = tmp_path / "incoming" / "valve", tmp_path / "results.csv"
    watched.mkdir(parents=True)
    clips = sorted((data / "valve" / "test").glob("*.wav"))
    for clip in clips[:2]:
        shutil.copy(clip, watched)
    argv = ["watch", str(watched.parent), "--model", str(model), "--results", str(results)]
    assert main([*argv, "--once", "--settle", "3600"]) == 0
    assert not results.exists()  # files modified within the last hour wait
    assert main([*argv, "--once", "--settle", "0"]) == 0
    first = pd.read_csv(results)
    assert len(first) == 2
    shutil.copy(clips[2], watched)
    assert main([*argv, "--once", "--settle", "0"]) == 0
    both = pd.read_csv(results)
    pd.testing.assert_frame_equal(both.iloc[:2], first)
    assert both["path"].iloc[2] == str(watched / clips[2].name)
    again = score(model, both["path"].tolist())
    np.testing.assert_allclose(both["anomaly_score"], again["anomaly_score"], rtol=1e-6)
    assert f"{watched / clips[2].name}: " in capsys.readouterr().out


def test_evaluate_gives_the_official_report(model, data, tmp_path, capsys):
    scores_csv, truth_csv, out = tmp_path / "scores.csv", tmp_path / "truth.csv", tmp_path / "out"
    test = load_dcase(data, splits="test")
    argv = ["score", str(model), *sorted({str(Path(p).parent) for p in test["path"]})]
    assert main([*argv, "--output", str(scores_csv)]) in (0, 3)
    test[["path", "label"]].to_csv(truth_csv, index=False)  # domains from the names
    capsys.readouterr()
    assert main(["evaluate", str(scores_csv), str(truth_csv), "--output", str(out)]) == 0
    assert "official score (2022 rules)" in capsys.readouterr().out
    scores = pd.read_csv(scores_csv).merge(test[["path", "label", "domain"]], on="path")
    assert len(scores) == len(test)
    expected = dcase_report(
        scores["label"].astype(int), scores["anomaly_score"], year=2022,
        machine_type=scores["machine_type"], section=scores["section"], domain=scores["domain"],
    )  # fmt: skip
    written = pd.read_csv(out / "dcase_report.csv", index_col=[0, 1])
    np.testing.assert_allclose(written.to_numpy(), expected.to_numpy())
    assert check_run_folder(out)["command"][:2] == ["sklasd", "evaluate"]
    # the full report of those scores: no detectors or data folder there, so no maps
    redrawn = tmp_path / "redrawn"
    assert main(["report", str(out), "--output", str(redrawn), "--quiet"]) == 0
    warned = capsys.readouterr().err
    assert "no embedding maps" in warned and "no explanation maps" in warned
    assert "most anomalous fan clips" in (redrawn / "index.html").read_text(encoding="utf-8")
    # bare file names, told apart by machine type, as in the DCASE ground-truth lists
    names = test.assign(path=test["path"].map(lambda path: Path(path).name))
    names[["machine_type", "path", "label"]].to_csv(truth_csv, index=False)
    argv = ["evaluate", str(scores_csv), str(truth_csv), "--output", str(out), "--overwrite"]
    assert main(argv) == 0
    again = pd.read_csv(out / "dcase_report.csv", index_col=[0, 1])
    np.testing.assert_allclose(again.to_numpy(), expected.to_numpy())
    test.iloc[1:][["path", "label"]].to_csv(truth_csv, index=False)
    assert main(["evaluate", str(scores_csv), str(truth_csv)]) == 2
    assert Path(test["path"].iloc[0]).name in error_line(capsys)
