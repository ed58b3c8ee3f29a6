"""``sklasd report``, ``--config``, ``score --explain`` and the progress output (``--quiet``)."""

import json
import re
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from sklasd.cli import main
from sklasd.datasets import make_machine_sounds, write_dcase_folder
from sklasd.inspection._explain import _DASH
from sklasd.utils import check_run_folder

SR = 16000


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """fan, two sections, 1-s clips, in a DCASE folder."""
    root = tmp_path_factory.mktemp("data")
    X, frame = make_machine_sounds(
        machine_types=["fan"], n_sections=2, n_train=6, n_test=3, duration=1.0, random_state=0
    )
    write_dcase_folder(root, X, frame, sr=SR)
    return root


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    """Where the first test runs `sklasd run`; the next one reads it."""
    return tmp_path_factory.mktemp("run") / "out"


def test_run_prints_progress_and_report_redraws_it(data, run_folder, tmp_path, capfd):
    assert main(["run", str(data), "--output", str(run_folder), "--scorer", "knn"]) == 0
    out, err = capfd.readouterr()
    assert "fan: fitting on 18 training clips" in out and "[Pipeline]" not in out
    assert "report: fan: ROC curves and score histograms" in out
    assert "report: fan: explaining the 10 most anomalous clips" in out
    assert "clip/s" in err or "clip" in err  # tqdm bars of the feature extraction
    scores = pd.read_csv(run_folder / "scores.csv")
    assert len(scores) == 12 and {"label", "domain", "is_anomaly"} <= set(scores.columns)
    redrawn = tmp_path / "report"
    argv = ["report", str(run_folder), "--output", str(redrawn), "--n-top", "3"]
    assert main([*argv, "--embedding", "pca", "--quiet"]) == 0
    out, err = capfd.readouterr()
    assert out.strip() == f"report: {redrawn / 'index.html'}" and err == ""
    assert check_run_folder(redrawn)["command"][:2] == ["sklasd", "report"]
    page = (redrawn / "index.html").read_text(encoding="utf-8")
    assert str(run_folder.resolve()) in page and "The 3 most anomalous fan clips" in page
    assert {"roc_fan.png", "embedding_fan.png", "explain_fan.png"} <= {
        path.name for path in redrawn.iterdir()
    }
    pd.testing.assert_frame_equal(
        pd.read_csv(redrawn / "dcase_report.csv"), pd.read_csv(run_folder / "dcase_report.csv")
    )
    # other rules; no maps
    assert (
        main([*argv, "--overwrite", "--year", "2021", "--embedding", "none", "--no-explain"]) == 0
    )
    assert not (redrawn / "embedding_fan.png").exists()
    assert "2021" in (redrawn / "dcase_report.md").read_text(encoding="utf-8")


def test_report_refuses_bad_folders(run_folder, tmp_path, capsys):
    assert main(["report", str(run_folder), "--output", str(run_folder / "again")]) == 2
    assert "inside each other" in capsys.readouterr().err
    assert main(["report", str(tmp_path), "--output", str(tmp_path / "r")]) == 2
    assert "sklasd: error:" in capsys.readouterr().err


def _write_config(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_config_file_chooses_the_detector_and_set_overrides_it(data, tmp_path, capsys):
    config = _write_config(
        tmp_path / "detector.toml",
        'detector = "baseline"\n[params.knnscorer]\nn_neighbors = 3\nstandardize = false\n',
    )
    model = tmp_path / "model.joblib"
    argv = ["fit", str(data), "--model", str(model), "--config", str(config), "--quiet"]
    assert main([*argv, "--set", "knnscorer__n_neighbors=2"]) == 0
    assert capsys.readouterr().out == ""  # --quiet
    saved = joblib.load(model)
    assert saved["detector"] == "baseline" and saved["config"] == str(config.resolve())
    assert saved["params"] == {"knnscorer__n_neighbors": 2, "knnscorer__standardize": False}
    scorer = saved["models"]["fan"][-1]
    assert (scorer.n_neighbors, scorer.standardize) == (2, False)
    # run records the choice in its manifest and its report's "what ran"
    as_json = _write_config(
        tmp_path / "detector.json",
        json.dumps({"detector": "default", "params": {"logmel": "LogMel(n_mels=32)"}}),
    )
    out = tmp_path / "out"
    argv = ["run", str(data), "--output", str(out), "--config", str(as_json), "--no-report"]
    assert main([*argv, "--quiet"]) == 0
    options = check_run_folder(out)["options"]
    assert options["detector"] == "default" and options["config"] == str(as_json.resolve())
    assert options["params"] == {"logmel": "LogMel(n_mels=32)"}
    assert "config file" in (out / "dcase_report.md").read_text(encoding="utf-8")
    assert joblib.load(out / "model_fan.joblib")[0].n_mels == 32


@pytest.mark.parametrize(
    "text, message",
    [
        ('detector = "baseline"\nscorer = "knn"\n', r"may hold only \['detector', 'params'\]"),
        ("detector = [1]\n", "must be a name"),
        ("detector = \n", "Cannot read the config file"),
        ('[params]\nfeatures = "os.system(1)"\n', "only the public classes and functions"),
    ],
)
def test_bad_config_files(data, tmp_path, text, message, capsys):
    config = _write_config(tmp_path / "bad.toml", text)
    model = tmp_path / "model.joblib"
    assert main(["fit", str(data), "--model", str(model), "--config", str(config)]) == 2
    assert re.search(message, capsys.readouterr().err)
    assert not model.exists()


def test_scorer_option_only_for_the_default_detector(data, tmp_path, capsys):
    argv = ["run", str(data), "--output", str(tmp_path / "o"), "--detector", "baseline"]
    assert main([*argv, "--scorer", "knn"]) == 2
    assert "--scorer chooses the scorer step of the default detector" in capsys.readouterr().err


def _band(text):
    """(low, high) in Hz of an explanation's band, e.g. '2.9-3.1 kHz' or '970 Hz-1.0 kHz'
    (with an en dash)."""
    low, high = text.split(_DASH)
    scale = 1000.0 if high.endswith("kHz") else 1.0
    low_scale = 1.0 if low.endswith(" Hz") else 1000.0 if low.endswith("kHz") else scale
    number = lambda part: float(part.split()[0])  # noqa: E731
    return number(low) * low_scale, number(high) * scale


def test_score_explain_names_a_planted_tone(data, tmp_path, capsys):
    model = tmp_path / "model.joblib"
    assert (
        main(["fit", str(data), "--model", str(model), "--detector", "baseline", "--quiet"]) == 0
    )
    clip = next((data / "fan" / "test").glob("section_01_*normal*.wav"))
    wave, sr = sf.read(clip, dtype="float32")
    t = np.arange(wave.size) / sr
    during = (t >= 0.4) & (t < 0.6)
    wave[during] += 0.5 * np.sqrt(np.mean(wave**2)) * 30 * np.sin(2 * np.pi * 3000 * t[during])
    planted = tmp_path / "new" / "fan" / "section_01_target_test_normal_9999.wav"
    planted.parent.mkdir(parents=True)
    sf.write(planted, wave, sr)
    (planted.parent / clip.name).write_bytes(clip.read_bytes())  # and the clip as it was
    maps, out = tmp_path / "maps", tmp_path / "scores.csv"
    argv = ["score", str(model), str(planted.parent), "--output", str(out), "--quiet"]
    assert main([*argv, "--explain", "all", "--explain-dir", str(maps)]) == 0
    scores = pd.read_csv(out).set_index("path")
    row = scores.loc[str(planted)]
    assert row["is_anomaly"] == 1
    span, band, level = row["explanation"].split(", ")
    start, stop = (float(v) for v in span.removesuffix(" s").split(_DASH))
    assert 0.35 <= start <= 0.45 and 0.55 <= stop <= 0.65, row["explanation"]
    low, high = _band(band)
    assert low <= 3000 <= high and high - low < 600, row["explanation"]
    assert level.startswith("+") and level.endswith("dB over normal")
    assert Path(row["explanation_map"]).is_file() and Path(row["explanation_map"]).parent == maps
    # --explain alone explains the flagged clips only
    assert main([*argv, "--explain", "--explain-dir", str(maps)]) == 0
    flagged = pd.read_csv(out)
    assert flagged["explanation"].notna().tolist() == (flagged["is_anomaly"] == 1).tolist()
