"""Tests of make_machine_sounds."""

import dataclasses
import re

import librosa
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklasd.datasets import _synth_machines, _synthetic, make_machine_sounds

CONTRACT = ["path", "machine_type", "section", "domain", "split", "label", "attributes"]


def _log_mel(X):
    return librosa.power_to_db(
        librosa.feature.melspectrogram(y=X, sr=16000, n_mels=32, n_fft=1024, hop_length=256)
    )


def _anomaly_scores(X, frame):
    """Z-score distance of per-band log-mel statistics from the section's training clips."""
    mel = _log_mel(X)
    features = np.concatenate(
        [mel.mean(-1), mel.std(-1), np.percentile(mel, 95, -1), np.percentile(mel, 5, -1)], 1
    )
    scores = np.full(len(frame), np.nan)
    for _, group in frame.groupby(["machine_type", "section"]):
        train = group.index[group["split"] == "train"]
        test = group.index[group["split"] == "test"]
        mean, std = features[train].mean(0), features[train].std(0) + 1e-3
        scores[test] = (((features[test] - mean) / std) ** 2).mean(1)
    return scores


# ----------------------------------------------------------------------------------------
# make_machine_sounds
# ----------------------------------------------------------------------------------------


def test_shapes_dtypes_and_schema(small):
    X, frame = small
    n_per_section = 3 + 1 + 2 * 4  # train source + train target + test of both domains
    assert X.shape == (4 * 2 * n_per_section, 8000)
    assert X.dtype == np.float32
    assert np.isfinite(X).all()
    assert np.abs(X).max() < 1.0
    rms = np.sqrt(np.mean(X.astype(np.float64) ** 2, axis=1))
    assert rms.min() > 1e-3 and rms.max() < 0.1  # about -60 to -20 dBFS, like DCASE clips

    assert list(frame.columns[: len(CONTRACT)]) == CONTRACT
    assert {"attr_spd", "attr_load", "attr_noise", "snr", "anomaly_kind"} <= set(frame)
    assert frame.index.equals(pd.RangeIndex(len(X)))
    assert frame["path"].isna().all() and frame["path"].dtype == object
    assert frame["label"].dtype == "Int64"
    assert frame["section"].dtype == np.int64 and frame["snr"].dtype == np.int64
    assert set(frame["machine_type"]) == {"fan", "pump", "slider", "valve"}
    assert set(frame["section"]) == {0, 1}
    rebuilt = "spd_" + frame["attr_spd"] + "_load_" + frame["attr_load"] + "_noise_"
    assert (frame["attributes"] == rebuilt + frame["attr_noise"]).all()
    assert ((frame["anomaly_kind"] == "") == (frame["label"] == 0)).all()


def test_split_structure(small):
    _, frame = small
    train = frame[frame["split"] == "train"]
    assert (train["label"] == 0).all()
    assert (train["domain"] == "source").sum() == 4 * 2 * 3
    assert (train["domain"] == "target").sum() == 4 * 2 * 1
    test = frame[frame["split"] == "test"]
    counts = test.groupby(["machine_type", "section", "domain", "label"]).size()
    assert len(counts) == 4 * 2 * 2 * 2  # both labels of both domains in every section
    assert (counts == 2).all()


def test_domain_shift_changes_one_attribute_per_section():
    _, frame = make_machine_sounds(
        machine_types="fan",
        n_sections=3,
        n_train=12,
        n_train_target=12,
        n_test=0,
        duration=0.2,
        random_state=1,
    )
    source, target = (frame[frame["domain"] == d] for d in ("source", "target"))

    def values(part, section, key):
        return set(part.loc[part["section"] == section, f"attr_{key}"])

    for key in ("spd", "load", "noise"):
        assert values(source, 0, key) | values(source, 1, key) <= set(
            map(str, _synthetic._SOURCE_VALUES[key])
        )
    assert values(target, 0, "spd") == {"60", "120"}  # section 0 shifts the speed
    assert values(target, 0, "load") == {"1", "2"}
    assert values(target, 1, "load") == {"0", "4"}  # section 1 shifts the load
    assert values(target, 1, "spd") == {"80", "90", "100"}
    assert values(target, 2, "noise") == {"babble", "white"}  # section 2 the background
    assert target.loc[target["section"] == 2, "snr"].max() <= 6
    assert source["snr"].min() >= 3


def test_dcase2023_and_dcase2020_styles():
    _, frame = make_machine_sounds(n_sections=1, n_train=2, n_test=2, duration=0.2, random_state=0)
    assert set(frame["section"]) == {0}
    assert set(frame["domain"]) == {"source", "target"}

    X, frame = make_machine_sounds(
        machine_types=["pump"],
        n_train=2,
        n_train_target=5,
        n_test=3,
        duration=0.2,
        domain_shift=False,
        random_state=0,
    )
    assert set(frame["domain"]) == {"source"}
    assert len(X) == len(frame) == 3 * (2 + 3)  # n_train_target ignored
    assert frame.groupby("section")["label"].sum().eq(1).all()  # n_test // 2 anomalies


def test_deterministic_and_seed_dependent(small_params):
    X1, f1 = make_machine_sounds(**small_params, random_state=7)
    X2, f2 = make_machine_sounds(**small_params, random_state=7)
    X3, f3 = make_machine_sounds(**small_params, random_state=8)
    np.testing.assert_array_equal(X1, X2)
    pd.testing.assert_frame_equal(f1, f2)
    assert not np.allclose(X1, X3)
    assert not f1["attributes"].equals(f3["attributes"])


@pytest.mark.parametrize("make_rng", [np.random.RandomState, np.random.default_rng])
def test_random_state_instances(make_rng):
    params = dict(machine_types="valve", n_sections=1, n_train=2, n_test=2, duration=0.2)
    X1, _ = make_machine_sounds(**params, random_state=make_rng(3))
    X2, _ = make_machine_sounds(**params, random_state=make_rng(3))
    np.testing.assert_array_equal(X1, X2)


def test_global_random_state_untouched(small_params):
    before = np.random.get_state()  # noqa: NPY002 (numpy's global state is what is checked)
    make_machine_sounds(machine_types="fan", n_sections=1, n_train=1, n_test=0, duration=0.2)
    make_machine_sounds(**small_params, random_state=1)
    after = np.random.get_state()  # noqa: NPY002
    assert before[0] == after[0] and before[2:] == after[2:]
    np.testing.assert_array_equal(before[1], after[1])


def test_clips_do_not_depend_on_counts_or_chunking():
    params = dict(machine_types=["slider", "fan"], n_sections=2, duration=0.3, random_state=4)
    X_small, f_small = make_machine_sounds(**params, n_train=2, n_train_target=1, n_test=2)
    X_big, f_big = make_machine_sounds(**params, n_train=5, n_train_target=2, n_test=6)
    keys = ["machine_type", "section", "domain", "split", "label"]
    f_small = f_small.assign(j=f_small.groupby(keys).cumcount())
    f_big = f_big.assign(j=f_big.groupby(keys).cumcount())
    rows = f_small.reset_index().merge(f_big.reset_index(), on=[*keys, "j"])
    assert len(rows) == len(f_small)
    np.testing.assert_array_equal(X_small[rows["index_x"]], X_big[rows["index_y"]])
    assert (rows["attributes_x"] == rows["attributes_y"]).all()

    chunks, f_chunked = make_machine_sounds(
        **params, n_train=5, n_train_target=2, n_test=6, chunk_size=7
    )
    chunks = list(chunks)
    assert all(len(chunk) <= 7 for chunk in chunks)
    np.testing.assert_array_equal(np.concatenate(chunks), X_big)
    pd.testing.assert_frame_equal(f_chunked, f_big.drop(columns="j"))


def test_anomaly_kinds_selection():
    _, frame = make_machine_sounds(
        machine_types=["fan", "valve"],
        n_sections=1,
        n_train=0,
        n_test=8,
        anomaly_kinds=["bearing", "leak"],
        random_state=0,
        duration=0.2,
    )
    kinds = frame[frame["label"] == 1].groupby("machine_type")["anomaly_kind"].unique()
    assert list(kinds["fan"]) == ["bearing"] and list(kinds["valve"]) == ["leak"]

    _, frame = make_machine_sounds(
        machine_types=["gearbox", "slider"],
        n_sections=1,
        n_train=0,
        n_test=16,
        anomaly_kinds={"slider": ["stick_slip"]},
        random_state=0,
        duration=0.2,
    )
    anomalies = frame[frame["label"] == 1]
    by_type = anomalies.groupby("machine_type")["anomaly_kind"]
    assert set(by_type.unique()["slider"]) == {"stick_slip"}
    assert set(by_type.unique()["gearbox"]) == set(_synth_machines._Gearbox.kinds)


def test_severity_zero_anomalies_are_their_normal_sound():
    kinds = {m: cls.kinds for m, cls in _synth_machines._MACHINES.items()}
    counts = {block: 0 for block in _synthetic._BLOCKS}
    counts["test", "source", 1] = 8
    for severity in (0.0, 10.0):
        machines, clips = _synthetic._plan(
            tuple(kinds), kinds, 1, counts, severity, _synthetic._SNR_DB, entropy=5
        )
        assert {clip.kind for clip in clips} == {k for ks in kinds.values() for k in ks}
        for clip in clips:
            machine = machines[clip.machine_type, clip.section]
            anomalous = _synth_machines._synthesize(clip, machine, 32000, 16000)
            normal = dataclasses.replace(clip, kind="")
            normal = _synth_machines._synthesize(normal, machine, 32000, 16000)
            assert np.array_equal(anomalous, normal) == (severity == 0), clip.kind


def test_anomalies_measurable_at_high_severity_only():
    params = dict(
        n_sections=2, n_train=12, n_test=24, duration=1.0, domain_shift=False, random_state=0
    )
    auc = {}
    for severity in (0.0, 8.0):
        X, frame = make_machine_sounds(**params, severity=severity)
        scores = _anomaly_scores(X, frame)
        test = (frame["split"] == "test").to_numpy()
        auc[severity] = roc_auc_score(frame["label"][test].astype(int), scores[test])
    assert auc[8.0] > 0.8
    assert 0.35 < auc[0.0] < 0.65
    assert auc[8.0] - auc[0.0] > 0.3


def test_sections_are_distinguishable():
    X, frame = make_machine_sounds(
        n_sections=3, n_train=12, n_train_target=0, n_test=0, duration=1.0, random_state=2
    )
    features = _log_mel(X).mean(-1)  # mean log-mel spectrum of each clip
    classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    for machine_type, group in frame.groupby("machine_type"):
        fit = group.groupby("section").head(6).index
        held_out = group.index.difference(fit)
        classifier.fit(features[fit], frame["section"][fit])
        accuracy = classifier.score(features[held_out], frame["section"][held_out])
        assert accuracy >= 0.9, machine_type


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"n_sections": 0}, "n_sections"),
        ({"machine_types": ["fan", "drill"]}, "drill"),
        ({"machine_types": ["fan", "fan"]}, "twice"),
        ({"machine_types": []}, "empty"),
        ({"anomaly_kinds": ["bearing", "meltdown"]}, "meltdown"),
        ({"machine_types": ["fan", "valve"], "anomaly_kinds": ["bearing"]}, "'valve'"),
        ({"machine_types": ["fan"], "anomaly_kinds": {"pump": ["bearing"]}}, "pump"),
        ({"machine_types": ["fan"], "anomaly_kinds": {"fan": ["leak"]}}, "leak"),
        ({"anomaly_kinds": "everything"}, "anomaly_kinds"),
        ({"severity": -1.0}, "severity"),
        ({"duration": 0.01}, "duration"),
        ({"sr": 4000}, "sr"),
        ({"n_train": -1}, "n_train"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"random_state": "seed"}, "random_state"),
        ({"n_train": 0, "n_train_target": 0, "n_test": 0}, "no clips"),
    ],
)
def test_bad_parameters(params, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        make_machine_sounds(**{"n_train": 1, "n_test": 1, "duration": 0.2, **params})


def test_snr_db_sets_the_range_of_every_clip_and_keeps_the_noise_shift_lower():
    _, frame = make_machine_sounds(
        machine_types=["fan"], n_sections=3, n_train=6, n_train_target=2, n_test=4,
        duration=0.1, snr_db=(0, 2), random_state=0,
    )  # fmt: skip
    noise_shifted = (frame["section"] == 2) & (frame["domain"] == "target")
    assert frame.loc[~noise_shifted, "snr"].between(0, 2).all()
    assert frame.loc[noise_shifted, "snr"].between(-6, -4).all()
    with pytest.raises(ValueError, match="low <= high"):
        make_machine_sounds(machine_types=["fan"], snr_db=(6, 0), duration=0.1)
