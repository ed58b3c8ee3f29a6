"""A corpus of bad inputs to the API: each gets a clear error that names the file or the
value (and the fix), or the correct result. The command line's corpus is in
tests/test_cli_bad_inputs.py."""

import pickle
import tempfile
import warnings
from pathlib import Path
from unittest import mock

import joblib
import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklasd.datasets import load_audio, load_dcase
from sklasd.datasets._dcase import MAX_SECTION
from sklasd.ensemble import ScoreEnsemble
from sklasd.exceptions import (
    DatasetError,
    ModelFileError,
    OutputFolderError,
    TruncatedAudioWarning,
)
from sklasd.features import LogMel, TimePooling
from sklasd.metrics import make_asd_scorer
from sklasd.scoring import KNNScorer
from sklasd.utils import (
    RunFolder,
    atomic_write,
    check_clips,
    check_device,
    check_metadata_array,
    check_run_folder,
    load_model,
)

SR = 16000


def noise(n_clips=4, n_samples=4000, seed=0):
    """Float waveforms well inside [-1, 1]."""
    return (0.2 * np.random.default_rng(seed).standard_normal((n_clips, n_samples))).clip(-1, 1)


# -- integer waveforms ---------------------------------------------------------------------


def pcm_u8_samples(path):
    """The raw unsigned 8-bit samples of a PCM_U8 WAV file (header of 44 bytes)."""
    return np.frombuffer(Path(path).read_bytes()[44:], dtype=np.uint8)


@pytest.mark.parametrize("subtype, dtype", [("PCM_16", "int16"), ("PCM_32", "int32")])
def test_integer_waveforms_are_scaled_as_soundfile_reads_pcm(tmp_path, subtype, dtype):
    path = tmp_path / "clip.wav"
    sf.write(path, noise(1)[0], SR, subtype=subtype)
    as_int = sf.read(path, dtype=dtype)[0][None]
    as_float = sf.read(path, dtype="float64")[0][None]
    np.testing.assert_array_equal(check_clips(as_int), as_float)


def test_unsigned_8_bit_waveforms_are_scaled_as_soundfile_reads_pcm_u8(tmp_path):
    path = tmp_path / "clip.wav"
    sf.write(path, noise(1)[0], SR, subtype="PCM_U8")
    np.testing.assert_array_equal(
        check_clips(pcm_u8_samples(path)[None]), sf.read(path, dtype="float32")[0][None]
    )


def test_signed_8_bit_waveforms_are_divided_by_128():
    X = np.array([[-128, -64, 0, 127]], dtype=np.int8)
    np.testing.assert_array_equal(check_clips(X), X / 128)


def test_int16_clips_give_the_features_and_scores_of_float_clips():
    """Before: LogMel's mean level was 66 dB instead of -24 dB, every test clip flagged."""
    X = noise(12)
    X16 = np.round(X * 2**15).astype(np.int16)
    logmel = LogMel(n_mels=32).fit(X)
    assert abs(logmel.transform(X16).mean() - logmel.transform(X).mean()) < 0.01
    pipe = make_pipeline(LogMel(n_mels=32), TimePooling(), KNNScorer()).fit(X[:8])
    np.testing.assert_allclose(
        pipe.decision_function(X16[8:]), pipe.decision_function(X[8:]), rtol=1e-3, atol=1e-4
    )


@pytest.mark.parametrize(
    "X, dtype",
    [
        (np.zeros((2, 8), dtype=np.int64), "int64"),
        (np.zeros((2, 8), dtype=np.uint16), "uint16"),
        ([[0, 1, 2], [3, 4, 5]], "int64"),  # Python ints: the scale is unknown
        (np.zeros((2, 8), dtype=bool), "bool"),
    ],
    ids=["int64", "uint16", "list-of-ints", "bool"],
)
def test_integer_waveforms_without_a_pcm_scale_are_refused(X, dtype):
    with pytest.raises(ValueError, match=rf"dtype {dtype}, which is no integer PCM .* X / 32768"):
        LogMel().fit(X)


# -- audio files ---------------------------------------------------------------------------


def test_truncated_wav_warns_naming_the_file(tmp_path):
    path = tmp_path / "cut.wav"
    sf.write(path, noise(1, 16000)[0], SR, subtype="PCM_16")
    with open(path, "r+b") as handle:
        handle.truncate(44 + 2 * 5000)  # cut mid-data: 5000 of 16000 samples left
    with pytest.warns(TruncatedAudioWarning, match=r"cut\.wav' is truncated.*16000.*5000"):
        X = load_audio([path])
    assert X.shape == (1, 5000)


@pytest.mark.parametrize(
    "content, error, message",
    [
        (b"", ValueError, "Could not decode"),
        (b"hello, not audio", ValueError, "Could not decode"),
        (None, FileNotFoundError, "not found"),
    ],
    ids=["empty-file", "not-audio", "missing"],
)
def test_unreadable_audio_files_are_named(tmp_path, content, error, message):
    path = tmp_path / "bad.wav"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(error, match=rf"{message}.*bad\.wav"):
        LogMel().fit_transform([str(path)])


def test_nan_samples_in_a_file_are_named(tmp_path):
    path = tmp_path / "nan.wav"
    sf.write(path, np.full(4000, np.nan), SR, subtype="FLOAT")
    with pytest.raises(ValueError, match=r"nan\.wav' contains NaN"):
        load_audio([path])


# -- clip names ----------------------------------------------------------------------------


def make_dataset(root, *names, machine_type="fan"):
    """A DCASE folder with one valid training and test clip besides the given names."""
    for name in (
        "train/section_00_source_train_normal_0000.wav",
        "test/section_00_source_test_anomaly_0000.wav",
        *names,
    ):
        path = Path(root, machine_type, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    return Path(root)


@pytest.mark.parametrize(
    "name, message",
    [
        ("train/section_\uff10\uff11_source_train_normal_0000.wav", "Cannot parse"),
        ("test/section_01_source_test_normal_\u0660\u0660\u0660\u0661.wav", "Cannot parse"),
        ("train/section_99999999999999999999_source_train_normal_0000.wav", "out of range"),
        (f"train/section_{MAX_SECTION + 1}_source_train_normal_0000.wav", "out of range"),
        ("test/section_00_0000_source_test_anomaly.wav", r"\['anomaly', 'source', 'test'\]"),
        ("train/section_00_source_train_0001.wav", "Training clip .* no label"),
        ("train/noise.wav", "Cannot parse"),
    ],
    ids=[
        "full-width-digits",
        "arabic-indic-digits",
        "section-beyond-int64",
        "section-out-of-range",
        "label-after-clip-number",
        "training-clip-without-label",
        "unparsable",
    ],
)
def test_bad_dcase2021_names_raise_dataset_error_naming_the_file(tmp_path, name, message):
    make_dataset(tmp_path, name)
    with pytest.raises(DatasetError, match=message) as caught:
        load_dcase(tmp_path)
    assert Path(name).name in str(caught.value)


@pytest.mark.parametrize(
    "name, message",
    [
        ("train/normal_id_\uff10\uff11_00000000.wav", "Cannot parse"),
        ("train/id_01_00000000.wav", "Training clip .* no label"),
    ],
    ids=["full-width-id", "training-clip-without-label"],
)
def test_bad_dcase2020_names_raise_dataset_error_naming_the_file(tmp_path, name, message):
    for clip in ("fan/train/normal_id_00_00000000.wav", f"fan/{name}"):
        Path(tmp_path, clip).parent.mkdir(parents=True, exist_ok=True)
        Path(tmp_path, clip).touch()
    with pytest.raises(DatasetError, match=message) as caught:
        load_dcase(tmp_path)
    assert Path(name).name in str(caught.value)


def test_mimii_machine_id_out_of_range_names_the_folder(tmp_path):
    clip = tmp_path / "0_dB_fan" / "fan" / "id_123456" / "normal" / "00000000.wav"
    clip.parent.mkdir(parents=True)
    clip.touch()
    with pytest.raises(DatasetError, match=r"id_123456.* out of range"):
        load_dcase(tmp_path)


def test_appledouble_files_are_skipped_with_a_warning(tmp_path):
    make_dataset(tmp_path, "train/._section_00_source_train_normal_0000.wav")
    with pytest.warns(UserWarning, match=r"Skipped 1 macOS AppleDouble .*\._section_00"):
        frame = load_dcase(tmp_path)
    assert len(frame) == 2


@pytest.mark.parametrize(
    "name, domain",
    [("section_00_0001.wav", None), ("section_00_source_test_0001.wav", "source")],
    ids=["dcase2022-evaluation", "dcase2021-evaluation"],
)
def test_evaluation_names_without_label_still_load(tmp_path, name, domain):
    make_dataset(tmp_path, f"test/{name}")
    row = load_dcase(tmp_path).set_index("path").loc[str(tmp_path / "fan" / "test" / name)]
    assert pd.isna(row["label"]) and row["domain"] == domain


# Names built from the fields of real names, each field valid or not (odd digits, huge
# numbers, fields missing or out of order, stray text), so that the fuzzer reaches every
# branch of the parser rather than failing at the first character.
STRAY = st.text(st.characters(exclude_categories=("Cs",)), max_size=3)


def field(*values):
    """One of ``values`` (about 7 times in 8) or stray text."""
    choice = st.tuples(st.sampled_from(range(8)), st.sampled_from(values), STRAY)
    return choice.map(lambda drawn: drawn[2] if drawn[0] == 0 else drawn[1])


DIGITS = field(
    "0", "00", "01", "02", "0000", "0001", "00000000", "99999999999999999999", "10000",
    "\uff10\uff11", "\u0663\u0660",
)  # fmt: skip
NAMES = st.one_of(
    st.tuples(
        field("section_", "._section_", ""),
        DIGITS,
        field("_source", "_target", ""),
        field("_train", "_test", ""),
        field("_normal", "_anomaly", ""),
        field("_"),
        DIGITS,
        field("", "_car_A1_spd_28V", "_source_test_anomaly", "_noAttribute", "_normal"),
    ),
    st.tuples(field("normal_", "anomaly_", ""), field("id_"), DIGITS, field("_"), DIGITS),
).map("".join)


@settings(max_examples=300, deadline=None, database=None)
@given(
    name=NAMES,
    split=st.sampled_from(["train", "test", "source_test"]),
    layout=st.sampled_from(["auto", "dcase2020", "dcase2021+"]),
)
def test_fuzzed_clip_names_load_or_raise_dataset_error(name, split, layout):
    """No exception but sklasd's DatasetError (naming the folder or file) escapes."""
    assume("/" not in name and "\0" not in name and len(name.encode()) < 200)
    with tempfile.TemporaryDirectory() as root, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # AppleDouble names are skipped
        path = Path(root, "fan", split, f"{name}.wav")
        path.parent.mkdir(parents=True)
        path.touch()
        try:
            frame = load_dcase(root, layout=layout)
        except DatasetError as error:
            assert root in str(error)
            return
    (section,) = frame["section"]
    assert 0 <= section <= MAX_SECTION
    if split == "train":
        assert frame["label"].notna().all()


# -- metadata ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "section, message",
    [
        ([0, 0, "01", "01"] * 3, r"section mixes numbers and strings \(e\.g\. 0 .* '01'"),
        ([0, 1, None, 1] * 3, r"section has missing values at positions \[2, 6, 10\]"),
    ],
    ids=["ints-and-strings", "missing"],
)
def test_bad_sections_are_refused_with_the_values(section, message):
    X = noise(12, 8)
    with pytest.raises(ValueError, match=message):
        KNNScorer().fit(X, section=section)


def test_domain_mixing_numbers_and_strings_is_refused():
    with pytest.raises(ValueError, match="domain mixes numbers and strings"):
        check_metadata_array(np.array(["source", 1], dtype=object), 2, name="domain")


def test_section_for_a_pipeline_in_an_ensemble_while_routing_is_off_names_the_fix():
    X = noise(12, 8)
    ensemble = ScoreEnsemble([("scaled", make_pipeline(StandardScaler(), KNNScorer()))])
    with pytest.raises(ValueError, match=r"routing is off.*set_config\(enable_metadata_routing"):
        ensemble.fit(X, section=[0, 1] * 6)


def test_section_for_a_pipeline_in_the_asd_scorer_while_routing_is_off_names_the_fix():
    X = noise(12, 8)
    pipe = make_pipeline(StandardScaler(), KNNScorer()).fit(X)
    with pytest.raises(ValueError, match=r"routing is off.*set_config\(enable_metadata_routing"):
        make_asd_scorer("auc")(pipe, X, [0, 1] * 6, section=[0] * 12)


# -- saved models --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model_bytes():
    return pickle.dumps(KNNScorer().fit(noise(10, 3)))


@pytest.mark.parametrize(
    "corrupt, message",
    [
        (lambda data: b"\xff" * 100, r"corrupt or not a joblib file \(KeyError: 255\)"),
        (lambda data: data[: len(data) // 2], "truncated, corrupt"),
        (lambda data: data[:30], "truncated, corrupt"),
        (lambda data: b"", r"is empty \(0 bytes\)"),
        (lambda data: b"hello world", "not a joblib file"),
        (
            lambda data: data.replace(b"sklasd.scoring._neighbors", b"sklasd.scoring._missing_x"),
            "refers to code this installation lacks",
        ),
    ],
    ids=["random-bytes", "half", "header-only", "empty", "text", "unknown-module"],
)
def test_damaged_model_files_raise_model_file_error_naming_them(
    tmp_path, model_bytes, corrupt, message
):
    path = tmp_path / "model_fan.joblib"
    path.write_bytes(corrupt(model_bytes))
    with pytest.raises(ModelFileError, match=message) as caught:
        load_model(path)
    assert "model_fan.joblib" in str(caught.value)


def test_a_model_that_is_a_folder_or_missing_is_named(tmp_path):
    with pytest.raises(ModelFileError, match="is not a file"):
        load_model(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"nothing\.joblib' does not exist"):
        load_model(tmp_path / "nothing.joblib")


def test_load_model_returns_the_model(tmp_path, model_bytes):
    model = pickle.loads(model_bytes)
    joblib.dump(model, tmp_path / "model.joblib")
    X = noise(5, 3, seed=1)
    np.testing.assert_array_equal(
        load_model(tmp_path / "model.joblib").score_samples(X), model.score_samples(X)
    )


# -- devices -------------------------------------------------------------------------------


def test_cuda_without_a_gpu_falls_back_to_the_cpu_with_a_warning():
    with mock.patch("torch.cuda.is_available", return_value=False):
        with pytest.warns(UserWarning, match=r"device='cuda:1' .* running on the CPU"):
            assert check_device("cuda:1") == "cpu"


def test_a_device_name_torch_does_not_know_is_refused():
    with pytest.raises(ValueError, match=r"device='gpu' is not a torch device; use 'cpu'"):
        check_device("gpu")


# -- output folders ------------------------------------------------------------------------


def complete_run(folder, **files):
    """A folder holding a complete run of ``files`` (name=text)."""
    with RunFolder(folder, command=["test"]) as run:
        for name, text in files.items():
            run.write_text(name, text)
    return check_run_folder(folder)


def test_a_folder_of_other_files_is_refused_and_kept_even_with_overwrite(tmp_path):
    (tmp_path / "thesis.tex").write_text("years of work")
    for overwrite in (False, True):
        with pytest.raises(OutputFolderError, match=r"holds files that no sklasd run wrote"):
            RunFolder(tmp_path, overwrite=overwrite).__enter__()
    assert (tmp_path / "thesis.tex").read_text() == "years of work"


@pytest.mark.parametrize("where", ["a-file", "under-a-file"])
def test_an_output_path_that_cannot_be_a_folder_is_refused_before_any_work(tmp_path, where):
    (tmp_path / "file").write_text("")
    path = tmp_path / "file" if where == "a-file" else tmp_path / "file" / "out"
    with pytest.raises(OutputFolderError, match=r"Cannot write into the output folder .*file"):
        RunFolder(path).__enter__()


def test_a_complete_run_is_refused_without_overwrite(tmp_path):
    before = complete_run(tmp_path, **{"a.csv": "1\n"})
    with pytest.raises(OutputFolderError, match=r"results of a complete run .*--overwrite"):
        RunFolder(tmp_path).__enter__()
    assert check_run_folder(tmp_path) == before


def test_a_second_run_into_a_locked_folder_fails_at_once(tmp_path):
    with RunFolder(tmp_path):
        with pytest.raises(OutputFolderError, match=r"Another run is writing .*by process \d+"):
            RunFolder(tmp_path, overwrite=True).__enter__()


def test_a_failed_run_puts_the_previous_complete_run_back(tmp_path):
    before = complete_run(tmp_path, **{"a.csv": "1\n", "b.csv": "2\n"})
    with pytest.raises(KeyboardInterrupt):
        with RunFolder(tmp_path, overwrite=True) as run:
            run.write_text("a.csv", "new\n")
            raise KeyboardInterrupt
    assert check_run_folder(tmp_path) == before


def test_a_manifest_that_cannot_be_written_puts_the_previous_run_back(tmp_path):
    before = complete_run(tmp_path, **{"a.csv": "1\n"})
    full = OSError(28, "No space left on device")
    with mock.patch.object(RunFolder, "_write_manifest", side_effect=full):
        with pytest.raises(OSError, match="No space"):
            with RunFolder(tmp_path, overwrite=True) as run:
                run.write_text("a.csv", "new\n")
    assert check_run_folder(tmp_path) == before


def test_a_failed_first_run_leaves_a_folder_marked_incomplete(tmp_path):
    with pytest.raises(OSError, match="No space"):
        with RunFolder(tmp_path) as run:
            run.write_text("a.csv", "1\n")
            raise OSError(28, "No space left on device")
    marker = (tmp_path / "RUN_INCOMPLETE.txt").read_text()
    assert "failed: " in marker and "No space left on device" in marker
    with pytest.raises(OutputFolderError, match="incomplete run"):
        check_run_folder(tmp_path)
    with pytest.raises(OutputFolderError, match=r"incomplete run \(started .* by process \d+"):
        RunFolder(tmp_path).__enter__()


@pytest.mark.parametrize(
    "tamper, message",
    [
        (lambda folder: (folder / "a.csv").write_text("9\n"), "'a.csv' differs"),
        (lambda folder: (folder / "a.csv").unlink(), "'a.csv' is listed .* but missing"),
        (lambda folder: (folder / "extra.csv").write_text(""), "'extra.csv' is not in"),
        (lambda folder: (folder / "sklasd_run.json").write_text("{"), "no readable run manifest"),
    ],
    ids=["changed", "missing", "added", "bad-manifest"],
)
def test_check_run_folder_names_what_changed_after_the_run(tmp_path, tamper, message):
    complete_run(tmp_path, **{"a.csv": "1\n"})
    tamper(tmp_path)
    with pytest.raises(OutputFolderError, match=message):
        check_run_folder(tmp_path)


def test_an_interrupted_atomic_write_leaves_the_old_file(tmp_path):
    path = tmp_path / "scores.csv"
    path.write_text("old\n")
    with pytest.raises(KeyboardInterrupt), atomic_write(path) as handle:
        handle.write("half of the ne")
        raise KeyboardInterrupt
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["scores.csv"]
