"""Tests for sklasd.datasets.load_dcase on generated folders of every naming scheme, and for
write_dcase_folder."""

import csv
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from sklasd.datasets import load_dcase, make_machine_sounds, write_dcase_folder
from sklasd.features import LogMel, StackFeatures

REAL_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "dcase2020_mini"
BASE_COLUMNS = ["path", "machine_type", "section", "domain", "split", "label", "attributes"]


def touch(root, *relative_paths):
    """Create empty files: the loader reads names only, never audio."""
    for relative in relative_paths:
        path = Path(root, relative)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    return Path(root)


def write_rows(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        csv.writer(handle).writerows(rows)


def row_of(frame, name):
    """The single row whose file name is ``name``, as a dict."""
    rows = frame[frame["path"].map(lambda p: Path(p).name) == name]
    assert len(rows) == 1, name
    return rows.iloc[0].to_dict()


def test_dcase2020_dev_layout(tmp_path):
    touch(
        tmp_path,
        "fan/train/normal_id_00_00000000.wav",
        "fan/train/normal_id_02_00000001.wav",
        "fan/test/normal_id_00_00000000.wav",
        "fan/test/anomaly_id_00_00000000.wav",
        "ToyCar/test/anomaly_id_05_00000003.wav",
    )
    frame = load_dcase(tmp_path)

    assert list(frame.columns) == BASE_COLUMNS
    assert frame["section"].dtype == np.int64
    assert frame["label"].dtype == "Int64"
    for column in ["path", "machine_type", "domain", "split", "attributes"]:
        assert frame[column].dtype == object
    assert frame.index.tolist() == list(range(5))
    # sorted by machine type, split, path
    assert frame["machine_type"].tolist() == ["ToyCar", "fan", "fan", "fan", "fan"]
    assert frame["split"].tolist() == ["test", "test", "test", "train", "train"]
    assert frame["label"].tolist() == [1, 1, 0, 0, 0]
    assert frame["section"].tolist() == [5, 0, 0, 0, 2]
    assert set(frame["domain"]) == {"source"}
    assert set(frame["attributes"]) == {""}
    assert all(Path(p).is_absolute() and Path(p).exists() for p in frame["path"])


def test_dcase2020_eval_test_names_without_label(tmp_path):
    touch(
        tmp_path,
        "eval_data/pump/train/normal_id_01_00000000.wav",
        "eval_data/pump/test/id_01_00000000.wav",
        "eval_data/pump/test/id_03_00000007.wav",
    )
    frame = load_dcase(tmp_path)
    test = frame[frame["split"] == "test"]
    assert test["label"].isna().all()
    assert test["section"].tolist() == [1, 3]
    assert frame.loc[frame["split"] == "train", "label"].tolist() == [0]


def test_dcase2021_plus_names_and_attributes(tmp_path):
    touch(
        tmp_path,
        "ToyCar/train/section_00_source_train_normal_0000_car_A1_spd_28V_mic_1.wav",
        "ToyCar/train/section_01_target_train_normal_0003_car_B2_spd_31V_mic_2.wav",
        "ToyCar/test/section_00_target_test_anomaly_0012_car_C1_spd_1_mic_2.wav",
        "fan/train/section_00_source_train_normal_0000_strength_1_ambient.wav",
        "gearbox/train/section_00_source_train_normal_0000_0_g_25_mm_2000_mV_none.wav",
        "slider/train/section_00_source_train_normal_0000_noAttribute.wav",
        "valve/test/section_02_source_test_normal_0001.wav",
    )
    frame = load_dcase(tmp_path)

    assert list(frame.columns) == [
        *BASE_COLUMNS,
        "attr_car",
        "attr_mic",
        "attr_spd",
        "attr_strength",
    ]
    toy = row_of(frame, "section_01_target_train_normal_0003_car_B2_spd_31V_mic_2.wav")
    assert toy["section"] == 1
    assert toy["domain"] == "target"
    assert toy["split"] == "train"
    assert toy["label"] == 0
    assert toy["attributes"] == "car_B2_spd_31V_mic_2"
    assert (toy["attr_car"], toy["attr_spd"], toy["attr_mic"]) == ("B2", "31V", "2")
    assert toy["attr_strength"] is None

    anomaly = row_of(frame, "section_00_target_test_anomaly_0012_car_C1_spd_1_mic_2.wav")
    assert (anomaly["split"], anomaly["label"], anomaly["domain"]) == ("test", 1, "target")

    # 2021 tail with an unpaired token: the clean pair is parsed, the raw tail kept
    fan = row_of(frame, "section_00_source_train_normal_0000_strength_1_ambient.wav")
    assert fan["attributes"] == "strength_1_ambient"
    assert fan["attr_strength"] == "1"
    # value/unit tails are not key/value pairs: raw string only
    gearbox = row_of(frame, "section_00_source_train_normal_0000_0_g_25_mm_2000_mV_none.wav")
    assert gearbox["attributes"] == "0_g_25_mm_2000_mV_none"
    assert all(gearbox[f"attr_{key}"] is None for key in ["car", "mic", "spd", "strength"])
    slider = row_of(frame, "section_00_source_train_normal_0000_noAttribute.wav")
    assert slider["attributes"] == "noAttribute"
    valve = row_of(frame, "section_02_source_test_normal_0001.wav")
    assert (valve["attributes"], valve["section"], valve["label"]) == ("", 2, 0)


def test_dcase2021_domain_test_folders(tmp_path):
    touch(
        tmp_path,
        "pump/source_test/section_00_source_test_anomaly_0000.wav",
        "pump/target_test/section_00_target_test_normal_0000.wav",
    )
    frame = load_dcase(tmp_path)
    assert frame["split"].tolist() == ["test", "test"]
    assert frame["domain"].tolist() == ["source", "target"]
    assert frame["label"].tolist() == [1, 0]


@pytest.mark.parametrize(
    "relative",
    [
        "pump/target_test/section_00_source_test_normal_0000.wav",
        "pump/train/section_00_source_test_normal_0000.wav",
    ],
)
def test_name_contradicting_folder_is_an_error(tmp_path, relative):
    touch(tmp_path, relative)
    with pytest.raises(ValueError, match=r"section_00_source_test_normal_0000\.wav"):
        load_dcase(tmp_path)


def test_anonymised_evaluation_names(tmp_path):
    touch(
        tmp_path,
        "ToyDrone/train/section_00_source_train_normal_0000_car_A1_spd_3_mic_1.wav",
        "ToyDrone/test/section_00_0000.wav",
        "fan/test/section_03_target_test_0007.wav",  # DCASE 2021 evaluation name
    )
    frame = load_dcase(tmp_path)
    drone = row_of(frame, "section_00_0000.wav")
    assert drone["domain"] is None
    assert pd.isna(drone["label"])
    assert drone["attributes"] == ""
    assert drone["attr_car"] is None
    fan = row_of(frame, "section_03_target_test_0007.wav")
    assert (fan["domain"], fan["section"]) == ("target", 3)
    assert pd.isna(fan["label"])


def test_attribute_csv(tmp_path):
    touch(
        tmp_path,
        "bearing/train/section_00_source_train_normal_0000_vel_6_loc_A.wav",
        "bearing/train/section_00_source_train_normal_0001_noAttribute.wav",
        "bearing/test/section_00_0000.wav",
        "bearing/test/section_00_0001.wav",
    )
    write_rows(
        tmp_path / "bearing" / "attributes_00.csv",
        [
            ["file_name", "d1p", "d1v", "d2p", "d2v"],
            [
                "bearing/train/section_00_source_train_normal_0000_vel_6_loc_A.wav",
                "vel",
                "6",
                "loc",
                "A",
            ],
            [
                "bearing/train/section_00_source_train_normal_0001_noAttribute.wav",
                "vel",
                "8",
                "",
                "",
            ],
            ["bearing/test/section_00_0000.wav", "vel", "06", "loc", "B"],
            ["bearing/test/section_00_0001.wav", "noAttribute", "", "", ""],
        ],
    )
    frame = load_dcase(tmp_path)
    assert {"attr_vel", "attr_loc"} <= set(frame.columns)
    named = row_of(frame, "section_00_source_train_normal_0000_vel_6_loc_A.wav")
    assert (named["attr_vel"], named["attr_loc"], named["attributes"]) == ("6", "A", "vel_6_loc_A")
    hidden = row_of(frame, "section_00_source_train_normal_0001_noAttribute.wav")
    assert (hidden["attributes"], hidden["attr_vel"], hidden["attr_loc"]) == (
        "noAttribute",
        "8",
        None,
    )
    anonymous = row_of(frame, "section_00_0000.wav")
    assert anonymous["attr_vel"] == "06"  # read as text: leading zeros kept
    assert anonymous["attributes"] == "vel_06_loc_B"
    no_attribute = row_of(frame, "section_00_0001.wav")
    assert (no_attribute["attributes"], no_attribute["attr_vel"]) == ("", None)


def test_attribute_csv_contradicting_name(tmp_path):
    touch(tmp_path, "bearing/train/section_00_source_train_normal_0000_vel_6.wav")
    write_rows(
        tmp_path / "bearing" / "attributes_00.csv",
        [
            ["file_name", "d1p", "d1v"],
            ["bearing/train/section_00_source_train_normal_0000_vel_6.wav", "vel", "8"],
        ],
    )
    with pytest.raises(ValueError, match=r"section_00_source_train_normal_0000_vel_6\.wav.*vel"):
        load_dcase(tmp_path)


def test_attribute_csv_without_file_name_column(tmp_path):
    touch(tmp_path, "bearing/train/section_00_source_train_normal_0000_vel_6.wav")
    write_rows(tmp_path / "bearing" / "attributes_00.csv", [["name", "d1p", "d1v"]])
    with pytest.raises(ValueError, match=r"attributes_00\.csv.*file_name"):
        load_dcase(tmp_path)


def make_evaluation_set(root):
    """A 2023-style evaluation set and its evaluator ground truth (as the evaluator ships it)."""
    touch(
        root,
        "eval_data/ToyDrone/train/section_00_source_train_normal_0000_car_A1_spd_3_mic_1.wav",
        "eval_data/ToyDrone/test/section_00_0000.wav",
        "eval_data/ToyDrone/test/section_00_0001.wav",
        "eval_data/ToyDrone/test/section_00_0002.wav",
    )
    truth = root / "evaluator"
    name = "ground_truth_ToyDrone_section_00_test.csv"
    write_rows(
        truth / "ground_truth_data" / name,
        [["section_00_0000.wav", 1], ["section_00_0001.wav", 0], ["section_00_0002.wav", 0]],
    )
    write_rows(
        truth / "ground_truth_domain" / name,
        [["section_00_0000.wav", 1], ["section_00_0001.wav", 1], ["section_00_0002.wav", 0]],
    )
    write_rows(
        truth / "ground_truth_attributes" / name,
        [
            ["section_00_0000.wav", "section_00_target_test_anomaly_0012_car_C1_spd_1_mic_2"],
            ["section_00_0001.wav", "section_00_target_test_normal_0031_car_C1_spd_1_mic_2"],
            [
                "section_00_0002.wav",
                "section_00_source_test_normal_0031_car_B2_spd_2_mic_1",
                "hidden.wav",
            ],
        ],
    )
    return root / "eval_data", truth


def test_ground_truth_folder(tmp_path):
    data, truth = make_evaluation_set(tmp_path)
    without = load_dcase(data, splits="test")
    assert without["label"].isna().all()
    assert without["domain"].isna().all()

    frame = load_dcase(data, splits="test", ground_truth=truth)
    assert frame["label"].tolist() == [1, 0, 0]
    assert frame["domain"].tolist() == ["target", "target", "source"]
    assert frame["attributes"].tolist() == [
        "car_C1_spd_1_mic_2",
        "car_C1_spd_1_mic_2",
        "car_B2_spd_2_mic_1",
    ]
    assert frame["attr_car"].tolist() == ["C1", "C1", "B2"]
    assert frame["label"].dtype == "Int64"


def test_ground_truth_labels_only(tmp_path):
    data, truth = make_evaluation_set(tmp_path)
    for folder in ["ground_truth_domain", "ground_truth_attributes"]:
        for path in (truth / folder).iterdir():
            path.unlink()
    frame = load_dcase(data, splits="test", ground_truth=truth)
    assert frame["label"].tolist() == [1, 0, 0]
    assert frame["domain"].isna().all()
    assert "attr_car" not in frame.columns


def test_ground_truth_dcase2021_domain_files(tmp_path):
    touch(
        tmp_path,
        "eval/fan/test/section_03_source_test_0000.wav",
        "eval/fan/test/section_03_target_test_0000.wav",
    )
    for domain, label in [("source", 1), ("target", 0)]:
        write_rows(
            tmp_path
            / "gt"
            / "ground_truth_data"
            / f"ground_truth_fan_section_03_{domain}_test.csv",
            [[f"section_03_{domain}_test_0000.wav", label]],
        )
    frame = load_dcase(tmp_path / "eval", ground_truth=tmp_path / "gt")
    assert frame["domain"].tolist() == ["source", "target"]
    assert frame["label"].tolist() == [1, 0]


def test_ground_truth_dcase2020_eval_data_list(tmp_path):
    touch(
        tmp_path,
        "eval/valve/test/id_01_00000000.wav",
        "eval/valve/test/id_01_00000001.wav",
        "eval/fan/test/id_01_00000000.wav",
    )
    write_rows(
        tmp_path / "eval_data_list.csv",
        [
            ["valve"],
            ["id_01_00000000.wav", "anomaly_id_01_00000004.wav", 1],
            ["id_01_00000001.wav", "normal_id_01_00000009.wav", 0],
            ["fan"],
            ["id_01_00000000.wav", "normal_id_01_00000002.wav"],  # label from the name
        ],
    )
    frame = load_dcase(tmp_path / "eval", ground_truth=tmp_path / "eval_data_list.csv")
    assert frame["machine_type"].tolist() == ["fan", "valve", "valve"]
    assert frame["label"].tolist() == [0, 1, 0]


def test_ground_truth_missing_clip_is_an_error(tmp_path):
    data, truth = make_evaluation_set(tmp_path)
    touch(data, "ToyDrone/test/section_00_0099.wav")
    with pytest.raises(ValueError, match=r"section_00_0099\.wav"):
        load_dcase(data, ground_truth=truth)


def test_ground_truth_contradiction_is_an_error(tmp_path):
    data, truth = make_evaluation_set(tmp_path)
    write_rows(
        truth / "ground_truth_data" / "ground_truth_ToyDrone_section_00_test.csv",
        [["section_00_0000.wav", 0], ["section_00_0001.wav", 0], ["section_00_0002.wav", 0]],
    )
    with pytest.raises(ValueError, match=r"section_00_0000\.wav.*label"):
        load_dcase(data, ground_truth=truth)


def test_ground_truth_bad_inputs(tmp_path):
    data, truth = make_evaluation_set(tmp_path)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_dcase(data, ground_truth=tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="ground_truth_data"):
        load_dcase(data, ground_truth=data)
    write_rows(
        truth / "ground_truth_data" / "ground_truth_ToyDrone_section_00_test.csv",
        [["section_00_0000.wav", "yes"]],
    )
    with pytest.raises(ValueError, match=r"ground_truth_ToyDrone_section_00_test\.csv.*'yes'"):
        load_dcase(data, ground_truth=truth)


def make_mimii(root):
    return touch(
        root,
        "-6_dB_fan/fan/id_00/normal/00000000.wav",
        "-6_dB_fan/fan/id_00/abnormal/00000000.wav",
        "6_dB_fan/fan/id_02/normal/00000000.wav",
        "0_dB_valve/valve/id_04/abnormal/00000011.wav",
    )


def test_mimii_layout(tmp_path):
    frame = load_dcase(make_mimii(tmp_path))
    assert list(frame.columns) == [*BASE_COLUMNS, "snr"]
    assert frame["snr"].dtype == "Int64"
    assert set(frame["split"]) == {"unsplit"}
    assert set(frame["domain"]) == {"source"}
    fan = frame[frame["machine_type"] == "fan"]
    assert sorted(zip(fan["snr"], fan["section"], fan["label"], strict=True)) == [
        (-6, 0, 0),
        (-6, 0, 1),
        (6, 2, 0),
    ]
    valve = frame[frame["machine_type"] == "valve"].iloc[0]
    assert (valve["snr"], valve["section"], valve["label"]) == (0, 4, 1)
    assert len(load_dcase(tmp_path, splits="unsplit")) == 4


def test_mimii_without_snr_folder(tmp_path):
    touch(tmp_path, "pump/id_06/normal/00000000.wav")
    frame = load_dcase(tmp_path / "pump", layout="mimii")
    assert frame["snr"].isna().all()
    assert frame["section"].tolist() == [6]


def test_mimii_bad_name(tmp_path):
    touch(tmp_path, "0_dB_fan/fan/id_00/normal/clip.wav")
    with pytest.raises(ValueError, match=r"clip\.wav"):
        load_dcase(tmp_path)


def test_filters(tmp_path):
    touch(
        tmp_path,
        "fan/train/normal_id_00_00000000.wav",
        "fan/test/anomaly_id_00_00000000.wav",
        "pump/test/anomaly_id_00_00000000.wav",
        "slider/test/broken_name.wav",  # never parsed: filtered out by machine type
    )
    frame = load_dcase(tmp_path, machine_types="fan")
    assert frame["machine_type"].tolist() == ["fan", "fan"]
    frame = load_dcase(tmp_path, machine_types=["fan", "pump"], splits=["test"])
    assert frame["machine_type"].tolist() == ["fan", "pump"]
    assert set(frame["split"]) == {"test"}
    with pytest.raises(ValueError, match=r"'valve'.*found"):
        load_dcase(tmp_path, machine_types=["fan", "valve"])
    with pytest.raises(ValueError, match="splits"):
        load_dcase(tmp_path, machine_types="fan", splits="validation")
    with pytest.raises(ValueError, match="machine_types"):
        load_dcase(tmp_path, machine_types=[])
    with pytest.raises(ValueError, match="No clips found"):
        load_dcase(tmp_path, machine_types="pump", splits="train")


def test_missing_root(tmp_path):
    with pytest.raises(FileNotFoundError, match="not_here"):
        load_dcase(tmp_path / "not_here")
    touch(tmp_path, "file.wav")
    with pytest.raises(NotADirectoryError, match=r"file\.wav"):
        load_dcase(tmp_path / "file.wav")


def test_unparsable_name_is_named(tmp_path):
    touch(tmp_path, "fan/train/normal_id_00_00000000.wav", "fan/train/normal_00_00000001.wav")
    with pytest.raises(ValueError, match=r"normal_00_00000001\.wav"):
        load_dcase(tmp_path)


def test_non_wav_files_ignored_and_upper_case_extension(tmp_path):
    touch(
        tmp_path,
        "fan/train/normal_id_00_00000000.WAV",
        "fan/train/notes.txt",
        "fan/train/normal_id_00_00000001.flac",
        "fan/readme.wav",  # not in a split folder
    )
    frame = load_dcase(tmp_path)
    assert [Path(p).name for p in frame["path"]] == ["normal_id_00_00000000.WAV"]


def test_dcase2025_supplemental_clips_are_a_split_of_their_own(tmp_path):
    touch(
        tmp_path,
        "ToyCar/train/section_00_source_train_normal_0000_car_A1_spd_28V.wav",
        "ToyCar/test/section_00_target_test_anomaly_0000_car_B2_spd_31V.wav",
        "ToyCar/supplemental/section_00_source_supplemental_noise_0000.wav",
        "ToyCar/supplemental/section_00_source_supplemental_clean_0001_car_A1_spd_28V.wav",
        "ToyCar/supplemental/section_00_supplemental_0002.wav",
    )
    frame = load_dcase(tmp_path)
    assert list(frame.columns)[:8] == [*BASE_COLUMNS, "content"]
    supplemental = frame[frame["split"] == "supplemental"]
    assert len(supplemental) == 3 and supplemental["label"].isna().all()
    noise = row_of(frame, "section_00_source_supplemental_noise_0000.wav")
    assert (noise["content"], noise["domain"], noise["section"]) == ("noise", "source", 0)
    clean = row_of(frame, "section_00_source_supplemental_clean_0001_car_A1_spd_28V.wav")
    assert clean["content"] == "machine" and clean["attributes"] == "car_A1_spd_28V"
    assert (clean["attr_car"], clean["attr_spd"]) == ("A1", "28V")
    unknown = row_of(frame, "section_00_supplemental_0002.wav")
    assert unknown["content"] is None and unknown["domain"] is None
    assert frame.loc[frame["split"] != "supplemental", "content"].isna().all()
    # never mixed into the training clips
    assert load_dcase(tmp_path, splits="train")["path"].map(lambda p: Path(p).name).tolist() == [
        "section_00_source_train_normal_0000_car_A1_spd_28V.wav"
    ]
    assert "content" not in load_dcase(tmp_path, splits="train").columns
    assert len(load_dcase(tmp_path, splits="supplemental")) == 3
    assert len(load_dcase(tmp_path, layout="dcase2021+")) == 5


def test_supplemental_clip_without_section_is_named(tmp_path):
    touch(
        tmp_path,
        "fan/train/section_00_source_train_normal_0000.wav",
        "fan/supplemental/noise_0000.wav",
    )
    with pytest.raises(ValueError, match=r"supplemental clip .*noise_0000\.wav"):
        load_dcase(tmp_path)


def test_dcase2026_two_channel_clips_choose_a_microphone_or_stack_both(tmp_path):
    sr = 16000
    t = np.arange(sr // 2) / sr
    rng = np.random.default_rng(0)
    clips = {}
    for split, name in [
        ("train", "section_00_source_train_normal_0000_noAttribute.wav"),
        ("test", "section_00_source_test_anomaly_0000_noAttribute.wav"),
    ]:
        near = 0.5 * np.sin(2 * np.pi * 1000 * t)  # the machine, loud near it
        far = 0.05 * near + 0.2 * rng.standard_normal(t.size)  # mostly room noise
        path = tmp_path / "ToyDrone" / split / name
        path.parent.mkdir(parents=True)
        sf.write(path, np.stack([near, far], axis=1), sr, subtype="FLOAT")
        clips[name] = (near, far)
    frame = load_dcase(tmp_path)
    assert frame["split"].tolist() == ["test", "train"]
    paths = frame["path"].tolist()
    waves = [clips[Path(p).name] for p in paths]
    for channel in (0, 1):
        from_files = LogMel(n_mels=32, channel=channel).fit_transform(paths)
        mono = np.stack([w[channel] for w in waves]).astype(np.float32)
        np.testing.assert_allclose(from_files, LogMel(n_mels=32).fit_transform(mono), atol=1e-3)
    both = StackFeatures(
        transformer_list=[
            ("near", LogMel(n_mels=32, channel=0)),
            ("far", LogMel(n_mels=32, channel=1)),
        ]
    ).fit_transform(paths)
    assert both.shape[:3] == (2, 2, 32)
    assert not np.allclose(both[:, 0], both[:, 1])


def test_no_clips(tmp_path):
    touch(tmp_path, "fan/train/notes.txt")
    with pytest.raises(ValueError, match="No clips found"):
        load_dcase(tmp_path)


def test_layout_argument(tmp_path):
    touch(tmp_path, "dcase/fan/train/section_00_source_train_normal_0000_m-n_W.wav")
    make_mimii(tmp_path / "mimii")
    with pytest.raises(ValueError, match="mixes clip layouts"):
        load_dcase(tmp_path)
    assert set(load_dcase(tmp_path, layout="mimii")["split"]) == {"unsplit"}
    frame = load_dcase(tmp_path, layout="dcase2021+")
    assert frame["attr_m-n"].tolist() == ["W"]
    with pytest.raises(
        ValueError, match=r"section_00_source_train_normal_0000_m-n_W\.wav.*dcase2020"
    ):
        load_dcase(tmp_path, layout="dcase2020")
    with pytest.raises(ValueError, match="layout must be"):
        load_dcase(tmp_path, layout="dcase2019")


def test_mixed_dcase_years_are_refused(tmp_path):
    touch(
        tmp_path,
        "2020/fan/train/normal_id_00_00000000.wav",
        "2021/fan/train/section_00_source_train_normal_0000.wav",
    )
    with pytest.raises(ValueError, match=r"dcase2020.*dcase2021"):
        load_dcase(tmp_path)


def test_duplicate_clips_are_refused(tmp_path):
    touch(
        tmp_path,
        "copy1/fan/train/normal_id_00_00000000.wav",
        "copy2/fan/train/normal_id_00_00000000.wav",
    )
    with pytest.raises(ValueError, match="duplicates"):
        load_dcase(tmp_path)


def test_root_may_be_a_machine_or_split_folder(tmp_path):
    touch(tmp_path, "fan/train/normal_id_00_00000000.wav", "fan/test/anomaly_id_02_00000000.wav")
    assert load_dcase(tmp_path / "fan")["split"].tolist() == ["test", "train"]
    frame = load_dcase(tmp_path / "fan" / "test")
    assert frame[["machine_type", "section"]].values.tolist() == [["fan", 2]]


@pytest.mark.realdata
@pytest.mark.skipif(not REAL_DATA.is_dir(), reason="shared DCASE 2020 clips not available")
def test_real_dcase2020_clips():
    frame = load_dcase(REAL_DATA)
    manifest = pd.read_csv(REAL_DATA / "manifest.csv", dtype=str)

    assert len(frame) == len(manifest) == 203
    assert sorted(frame["machine_type"].unique()) == [
        "ToyCar",
        "ToyConveyor",
        "fan",
        "pump",
        "slider",
        "valve",
    ]
    expected = manifest.assign(
        label=manifest["label"].map({"normal": 0, "anomaly": 1}),
        section=manifest["machine_id"].astype(int),
    )
    keys = ["machine_type", "split", "section", "label"]
    assert (
        frame.groupby(keys).size().sort_index().to_dict()
        == expected.groupby(keys).size().sort_index().to_dict()
    )
    relative = sorted(str(Path(p).relative_to(REAL_DATA.resolve())) for p in frame["path"])
    assert relative == sorted(manifest["path"])
    slider = frame[(frame["machine_type"] == "slider") & (frame["split"] == "train")]
    assert len(slider) == 75
    assert set(slider["section"]) == {0}


# ----------------------------------------------------------------------------------------
# write_dcase_folder
# ----------------------------------------------------------------------------------------


NAME_2022 = re.compile(
    r"(?P<type>\w+)/(?P<split>train|test)/section_(?P<section>\d{2})_(?P<domain>source|target)"
    r"_(?P=split)_(?P<state>normal|anomaly)_(?P<index>\d{4})_(?P<attributes>.+)\.wav"
)


def test_write_dcase2022_names_and_audio(tmp_path, small):
    X, frame = small
    written = write_dcase_folder(tmp_path, X, frame)
    pd.testing.assert_frame_equal(written.drop(columns="path"), frame.drop(columns="path"))
    assert frame["path"].isna().all()  # the input is not modified
    names = [Path(p).relative_to(tmp_path).as_posix() for p in written["path"]]
    parsed = pd.DataFrame([NAME_2022.fullmatch(name).groupdict() for name in names])
    assert (parsed["type"] == frame["machine_type"]).all()
    assert (parsed["section"].astype(int) == frame["section"]).all()
    assert (parsed["domain"] == frame["domain"]).all()
    assert (parsed["split"] == frame["split"]).all()
    assert (parsed["state"].eq("anomaly") == frame["label"].eq(1)).all()
    assert (parsed["attributes"] == frame["attributes"]).all()
    keys = ["machine_type", "section", "domain", "split", "label"]
    assert (parsed["index"].astype(int) == frame.groupby(keys).cumcount()).all()
    assert len(set(names)) == len(names)

    for i in (0, len(X) - 1):
        audio, sr = sf.read(written.loc[i, "path"], dtype="float32")
        assert sr == 16000 and sf.info(written.loc[i, "path"]).subtype == "PCM_16"
        np.testing.assert_allclose(audio, X[i], rtol=0, atol=1.01 / 32768)


def test_write_dcase2020_names(tmp_path):
    X, frame = make_machine_sounds(
        machine_types="valve",
        n_sections=2,
        n_train=2,
        n_test=3,
        duration=0.2,
        domain_shift=False,
        random_state=0,
    )
    written = write_dcase_folder(tmp_path, X, frame, naming="dcase2020")
    names = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.wav"))
    assert names == sorted(
        [f"valve/train/normal_id_{s:02d}_{j:08d}.wav" for s in (0, 1) for j in (0, 1)]
        + [f"valve/test/normal_id_{s:02d}_{j:08d}.wav" for s in (0, 1) for j in (0, 1)]
        + [f"valve/test/anomaly_id_{s:02d}_00000000.wav" for s in (0, 1)]
    )
    assert sorted(map(str, written["path"])) == sorted(str(tmp_path / n) for n in names)

    _, shifted = make_machine_sounds(
        machine_types="valve", n_sections=1, n_train=1, n_test=2, duration=0.2, random_state=0
    )
    with pytest.raises(ValueError, match=r"dcase2020.*target"):
        write_dcase_folder(
            tmp_path / "other", np.zeros((len(shifted), 10)), shifted, naming="dcase2020"
        )


def test_write_float_is_lossless_and_streams_chunks(tmp_path):
    params = dict(machine_types="fan", n_sections=1, n_train=3, n_test=2, duration=0.2)
    X, frame = make_machine_sounds(**params, random_state=3)
    chunks, _ = make_machine_sounds(**params, random_state=3, chunk_size=2)
    written = write_dcase_folder(tmp_path, chunks, frame, subtype="FLOAT")
    for i, path in enumerate(written["path"]):
        audio, _ = sf.read(path, dtype="float32")
        np.testing.assert_array_equal(audio, X[i])


def test_write_round_trip_with_load_dcase(tmp_path, small):
    X, frame = small
    written = write_dcase_folder(tmp_path, X, frame)
    loaded = load_dcase(tmp_path)
    columns = [*BASE_COLUMNS, "attr_spd", "attr_load", "attr_noise"]
    expected = written[columns].sort_values("path", ignore_index=True)
    pd.testing.assert_frame_equal(loaded[columns].sort_values("path", ignore_index=True), expected)


def test_write_errors(tmp_path, small):
    X, frame = small
    write_dcase_folder(tmp_path, X[:2], frame.iloc[:2])
    with pytest.raises(FileExistsError, match="section_00_source_train_normal_0000"):
        write_dcase_folder(tmp_path, X[:2], frame.iloc[:2])
    write_dcase_folder(tmp_path, X[:2], frame.iloc[:2], overwrite=True)

    with pytest.raises(ValueError, match="3 clips but frame has 2 rows"):
        write_dcase_folder(tmp_path / "a", X[:3], frame.iloc[:2])
    with pytest.raises(ValueError, match="1 clips but frame has 2 rows"):
        write_dcase_folder(tmp_path / "b", iter([X[0]]), frame.iloc[:2])
    with pytest.raises(ValueError, match=r"row 1 exceeds \[-1, 1\]"):
        write_dcase_folder(tmp_path / "c", X[:2] * [[1], [100]], frame.iloc[:2])
    with pytest.raises(ValueError, match="lacks the column"):
        write_dcase_folder(tmp_path / "d", X[:2], frame.iloc[:2].drop(columns="attributes"))
    unlabelled = frame.iloc[:2].assign(label=pd.array([0, None], dtype="Int64"))
    with pytest.raises(ValueError, match="label"):
        write_dcase_folder(tmp_path / "e", X[:2], unlabelled)
    with pytest.raises(ValueError, match="naming"):
        write_dcase_folder(tmp_path / "f", X[:2], frame.iloc[:2], naming="dcase2019")
