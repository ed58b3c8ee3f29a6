"""The main job end to end on the real DCASE clips of ``../shared/data`` (skipped without)."""

import json

import pandas as pd
import pytest

from sklasd.cli import main


def test_run_on_the_real_2020_clips_skips_sections_without_training_clips(
    dcase2020_mini, tmp_path, capsys
):
    output = tmp_path / "out"
    assert main(["run", str(dcase2020_mini), "--output", str(output), "--quiet",
                 "--machine-types", "slider"]) == 0  # fmt: skip
    err = capsys.readouterr().err
    # ids 02, 04 and 06 have test clips but train elsewhere in the 2020 development set
    assert "sections without training clips are not scored: slider section(s) [2, 4, 6]" in err
    scored = pd.read_csv(output / "scores.csv")
    assert set(scored["section"]) == {0}
    assert scored["anomaly_score"].notna().all()
    assert (output / "anomaly_score_slider_id_00.csv").is_file()
    assert "not scored (no training clips)" in (output / "index.html").read_text()
    manifest = json.loads((output / "sklasd_run.json").read_text())
    assert manifest["options"]["scorer"] == "fusion"


def test_run_on_the_whole_real_2020_folder_scores_the_one_machine_type_with_training_clips(
    dcase2020_mini, tmp_path, capsys
):
    """The issue's first command: fan, pump, valve, ToyCar and ToyConveyor have test clips
    only; slider is scored and written, the others are named last, with exit status 4."""
    output = tmp_path / "out"
    assert main(["run", str(dcase2020_mini), "--output", str(output), "--quiet",
                 "--no-report"]) == 4  # fmt: skip
    last = capsys.readouterr().err.splitlines()[-1]
    for machine_type in ("ToyCar", "ToyConveyor", "fan", "pump", "valve"):
        assert f"{machine_type}: no training clips" in last
    assert set(pd.read_csv(output / "scores.csv")["machine_type"]) == {"slider"}
    assert (output / "anomaly_score_slider_id_00.csv").is_file()


def test_run_on_the_real_2023_clips_with_two_training_clips_per_machine(
    dcase2023_mini, tmp_path, capsys
):
    output = tmp_path / "out"
    assert main(["run", str(dcase2023_mini), "--output", str(output), "--quiet"]) == 0
    err = capsys.readouterr().err
    # two clips per section: the 1-NN step alone, thresholds at the lowest training score
    assert "use the 1-NN scorer step alone" in err
    assert "2 distinct training scores" in err
    # sections whose test clips are all normal cannot be evaluated, but are scored
    assert "ToyCar section 0 (machine type 'ToyCar', section 0 has no anomalous" in err
    scored = pd.read_csv(output / "scores.csv")
    assert len(scored) == 14 and scored["anomaly_score"].notna().all()
    assert len(list(output.glob("anomaly_score_*_section_00_test.csv"))) == 7
    assert (output / "index.html").is_file()


@pytest.mark.parametrize("detector", ["default", "baseline"])
def test_fit_and_score_the_real_2023_clips(dcase2023_mini, tmp_path, detector):
    model = tmp_path / "model.joblib"
    assert main(["fit", str(dcase2023_mini), "--model", str(model), "--detector", detector,
                 "--quiet"]) == 0  # fmt: skip
    scores = tmp_path / "scores.csv"
    test_clips = sorted(dcase2023_mini.glob("*/test/*.wav"))
    assert main(["score", str(model), *map(str, test_clips), "--output", str(scores)]) == 0
    assert len(pd.read_csv(scores)) == len(test_clips) == 14
