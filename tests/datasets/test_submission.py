"""Tests for sklasd.datasets.write_challenge_csvs."""

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sklasd.datasets import load_dcase, write_challenge_csvs


def read_rows(path):
    with open(path, newline="") as handle:
        return list(csv.reader(handle))


@pytest.fixture
def evaluation_frame(tmp_path):
    """Metadata of a small 2022+-style evaluation test set, read by load_dcase."""
    names = [
        "fan/test/section_00_0001.wav",
        "fan/test/section_00_0000.wav",
        "fan/test/section_01_0000.wav",
        "ToyCar/test/section_00_0000.wav",
    ]
    for name in names:
        path = tmp_path / "eval_data" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    return load_dcase(tmp_path / "eval_data")


def test_writes_one_file_per_machine_type_and_section(tmp_path, evaluation_frame):
    frame = evaluation_frame  # rows: ToyCar 00_0000, fan 00_0000, fan 00_0001, fan 01_0000
    score = np.array([0.5, 2.0, -1.25, 1e-7])
    decision = np.array([False, True, False, True])
    out = tmp_path / "results" / "team"
    paths = write_challenge_csvs(out, frame, score, decision)

    assert out.is_dir()
    assert paths == sorted(paths)
    assert [path.name for path in paths] == [
        "anomaly_score_ToyCar_section_00_test.csv",
        "anomaly_score_fan_section_00_test.csv",
        "anomaly_score_fan_section_01_test.csv",
        "decision_result_ToyCar_section_00_test.csv",
        "decision_result_fan_section_00_test.csv",
        "decision_result_fan_section_01_test.csv",
    ]
    assert all(path.parent == out for path in paths)
    # no header, base names, sorted by name, scores round-trip exactly
    assert read_rows(out / "anomaly_score_fan_section_00_test.csv") == [
        ["section_00_0000.wav", "2.0"],
        ["section_00_0001.wav", "-1.25"],
    ]
    assert float(read_rows(out / "anomaly_score_fan_section_01_test.csv")[0][1]) == 1e-7
    assert read_rows(out / "decision_result_fan_section_00_test.csv") == [
        ["section_00_0000.wav", "1"],
        ["section_00_0001.wav", "0"],
    ]
    assert read_rows(out / "decision_result_ToyCar_section_00_test.csv") == [
        ["section_00_0000.wav", "0"]
    ]
    # files end with a newline and use \n, as the official baselines write them
    assert (
        out / "decision_result_fan_section_01_test.csv"
    ).read_bytes() == b"section_01_0000.wav,1\n"


def test_scores_only_and_integer_decisions(tmp_path, evaluation_frame):
    paths = write_challenge_csvs(tmp_path, evaluation_frame, [1, 2, 3, 4])
    assert all(path.name.startswith("anomaly_score_") for path in paths)
    assert len(paths) == 3
    paths = write_challenge_csvs(
        tmp_path / "b", evaluation_frame, [1, 2, 3, 4], decision=[0, 1, 1, 0]
    )
    assert read_rows(tmp_path / "b" / "decision_result_fan_section_00_test.csv") == [
        ["section_00_0000.wav", "1"],
        ["section_00_0001.wav", "1"],
    ]


def test_overwrites_existing_files(tmp_path, evaluation_frame):
    write_challenge_csvs(tmp_path, evaluation_frame, [1, 2, 3, 4])
    write_challenge_csvs(tmp_path, evaluation_frame, [5, 6, 7, 8])
    assert read_rows(tmp_path / "anomaly_score_ToyCar_section_00_test.csv") == [
        ["section_00_0000.wav", "5.0"]
    ]


@pytest.mark.parametrize(
    ("naming", "names"),
    [
        (
            "section_domain",
            [
                "anomaly_score_pump_section_03_source_test.csv",
                "anomaly_score_pump_section_03_target_test.csv",
            ],
        ),
        ("id", ["anomaly_score_pump_id_03.csv"]),
    ],
)
def test_naming_schemes(tmp_path, naming, names):
    frame = pd.DataFrame(
        {
            "path": [
                "pump/test/section_03_source_test_0000.wav",
                "pump/test/section_03_target_test_0000.wav",
            ],
            "machine_type": ["pump", "pump"],
            "section": [3, 3],
            "domain": ["source", "target"],
        }
    )
    paths = write_challenge_csvs(tmp_path, frame, [0.1, 0.2], naming=naming)
    assert [path.name for path in paths] == names
    assert sum(len(read_rows(path)) for path in paths) == 2


def test_section_domain_needs_known_domains(tmp_path, evaluation_frame):
    with pytest.raises(ValueError, match=r"section_domain.*section_00_0000\.wav"):
        write_challenge_csvs(tmp_path, evaluation_frame, [1, 2, 3, 4], naming="section_domain")


def test_bad_naming(tmp_path, evaluation_frame):
    with pytest.raises(ValueError, match="naming"):
        write_challenge_csvs(tmp_path, evaluation_frame, [1, 2, 3, 4], naming="year")


def test_non_finite_score_names_the_clip(tmp_path, evaluation_frame):
    out = tmp_path / "out"
    for bad in (np.nan, np.inf):
        with pytest.raises(ValueError, match=r"fan/test/section_00_0000\.wav"):
            write_challenge_csvs(out, evaluation_frame, [0.0, bad, 1.0, 2.0])
    assert not out.exists()


def test_length_and_shape_mismatch(tmp_path, evaluation_frame):
    with pytest.raises(ValueError, match=r"anomaly_score must have shape \(4,\)"):
        write_challenge_csvs(tmp_path, evaluation_frame, [1.0, 2.0])
    with pytest.raises(ValueError, match="anomaly_score must have shape"):
        write_challenge_csvs(tmp_path, evaluation_frame, np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"decision must have shape \(4,\)"):
        write_challenge_csvs(tmp_path, evaluation_frame, [1, 2, 3, 4], decision=[1, 0])


def test_predict_output_is_refused_with_a_hint(tmp_path, evaluation_frame):
    with pytest.raises(ValueError, match=r"ToyCar/test/section_00_0000\.wav.*predict\(X\) == -1"):
        write_challenge_csvs(tmp_path, evaluation_frame, [1, 2, 3, 4], decision=[-1, 1, 1, -1])
    with pytest.raises(ValueError, match="decision of"):
        write_challenge_csvs(tmp_path, evaluation_frame, [1, 2, 3, 4], decision=[0, np.nan, 1, 0])


def test_only_test_clips(tmp_path):
    frame = pd.DataFrame(
        {
            "path": ["fan/train/a.wav", "fan/test/b.wav"],
            "machine_type": ["fan", "fan"],
            "section": [0, 0],
            "split": ["train", "test"],
        }
    )
    with pytest.raises(ValueError, match=r"test clips only.*fan/train/a\.wav"):
        write_challenge_csvs(tmp_path, frame, [0.0, 1.0])


def test_frame_validation(tmp_path):
    frame = pd.DataFrame({"path": ["a.wav"], "machine_type": ["fan"]})
    with pytest.raises(ValueError, match=r"\['section'\]"):
        write_challenge_csvs(tmp_path, frame, [0.0])
    with pytest.raises(TypeError, match="DataFrame"):
        write_challenge_csvs(tmp_path, {"path": ["a.wav"]}, [0.0])
    frame = pd.DataFrame({"path": [None], "machine_type": ["fan"], "section": [0]})
    with pytest.raises(ValueError, match="file path"):
        write_challenge_csvs(tmp_path, frame, [0.0])


def test_duplicate_file_names_are_refused_before_writing(tmp_path):
    frame = pd.DataFrame(
        {
            "path": [
                "dev/fan/test/section_00_0000.wav",
                "eval/fan/test/section_00_0000.wav",
                "dev/pump/test/x.wav",
            ],
            "machine_type": ["fan", "fan", "pump"],
            "section": [0, 0, 0],
        }
    )
    out = tmp_path / "out"
    with pytest.raises(ValueError, match=r"dev/fan/test/section_00_0000\.wav.*eval/fan"):
        write_challenge_csvs(out, frame, [0.0, 1.0, 2.0])
    assert not out.exists()


def test_accepts_path_objects(tmp_path):
    frame = pd.DataFrame(
        {"path": [Path("x/fan/test/section_00_0000.wav")], "machine_type": ["fan"], "section": [0]}
    )
    (path,) = write_challenge_csvs(tmp_path, frame, [3.5])
    assert read_rows(path) == [["section_00_0000.wav", "3.5"]]
