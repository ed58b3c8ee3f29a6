"""Tests for sklasd.features.LogMel."""

import librosa
import numpy as np
import pytest
import soundfile as sf
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.utils._param_validation import InvalidParameterError

from sklasd.features import LogMel, TimePooling

SR = 16000
TOLERANCE_DB = 1e-3
BACKENDS = ["torch", "librosa"]


def _reference(clip, *, top_db=80.0, **params):
    """The definition LogMel must match: librosa on one clip (LogMel's defaults)."""
    params = {"sr": SR, "n_fft": 1024, "hop_length": 512, "n_mels": 128, **params}
    spec = librosa.feature.melspectrogram(y=clip, **params)
    return librosa.power_to_db(spec, ref=1.0, amin=1e-10, top_db=top_db)


def _signals(n_samples=SR, seed=0):
    """Noise, tones and a tone in noise at very different levels, float32."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_samples) / SR
    return np.stack(
        [
            0.1 * rng.standard_normal(n_samples),
            0.5 * np.sin(2 * np.pi * 440 * t),
            0.3 * np.sin(2 * np.pi * 1000 * t) + 1e-3 * rng.standard_normal(n_samples),
            0.9 * np.sin(2 * np.pi * 5000 * t) * np.sin(2 * np.pi * 3 * t),
            1e-4 * rng.standard_normal(n_samples),
        ]
    ).astype(np.float32)


def _write_clips(folder, X, sr=SR):
    paths = []
    for i, clip in enumerate(X):
        path = folder / f"clip{i}.wav"
        sf.write(path, clip, sr, subtype="FLOAT")
        paths.append(str(path))
    return paths


@pytest.mark.parametrize("backend", BACKENDS)
def test_matches_librosa_on_synthetic_clips(backend):
    X = _signals()
    features = LogMel(backend=backend).fit_transform(X)
    assert features.shape == (5, 1, 128, 1 + SR // 512)
    assert features.dtype == np.float32
    for clip, feature in zip(X, features, strict=True):
        np.testing.assert_allclose(feature[0], _reference(clip), rtol=0, atol=TOLERANCE_DB)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "params",
    [
        {"n_fft": 512, "hop_length": 160, "n_mels": 64},
        {"fmin": 50.0, "fmax": 7000.0, "n_mels": 40},
        {"power": 1.0, "top_db": 60.0},
        {"n_fft": 400, "hop_length": 333, "top_db": None},
    ],
)
def test_matches_librosa_with_other_parameters(backend, params):
    X = _signals(n_samples=SR // 2)
    features = LogMel(backend=backend, **params).fit_transform(X)
    for clip, feature in zip(X, features, strict=True):
        np.testing.assert_allclose(
            feature[0], _reference(clip, **params), rtol=0, atol=TOLERANCE_DB
        )


@pytest.mark.realdata
def test_matches_librosa_on_real_clips(dcase2020_mini):
    n_checked = 0
    for machine_dir in sorted(p for p in dcase2020_mini.iterdir() if p.is_dir()):
        # Two clips from each split: clip lengths differ between machine types.
        paths = [
            str(path)
            for split in ("train", "test")
            for path in sorted((machine_dir / split).glob("*.wav"))[:2]
        ]
        features = LogMel().fit_transform(paths)
        for path, feature in zip(paths, features, strict=True):
            clip, sr = sf.read(path, dtype="float32")
            assert sr == SR
            np.testing.assert_allclose(feature[0], _reference(clip), rtol=0, atol=TOLERANCE_DB)
            n_checked += 1
    assert n_checked >= 12


def test_top_db_floor_is_per_clip():
    X = _signals()  # clip 4 is noise 60 dB below clip 1, a tone
    together = LogMel().fit_transform(X)
    # A floor shared by the batch would cut the quiet clip at the tone's peak - 80 dB.
    assert together[4].min() < together[1].max() - 80.0
    np.testing.assert_array_equal(together[4], LogMel().fit_transform(X[4:])[0])


def test_paths_and_waveforms_agree(tmp_path):
    X = _signals(n_samples=SR // 2)
    paths = _write_clips(tmp_path, X)
    np.testing.assert_array_equal(LogMel().fit_transform(paths), LogMel().fit_transform(X))


def test_batching_and_threads_do_not_change_result(tmp_path):
    X = _signals(n_samples=SR // 2)
    paths = _write_clips(tmp_path, X)
    expected = LogMel(batch_size=64).fit_transform(paths)
    np.testing.assert_array_equal(LogMel(batch_size=2, n_jobs=2).fit_transform(paths), expected)
    np.testing.assert_array_equal(LogMel(batch_size=1).fit_transform(X), expected)


def test_float64_waveforms_are_processed_in_float32():
    X = _signals(n_samples=SR // 4)
    np.testing.assert_array_equal(
        LogMel().fit_transform(X.astype(np.float64)), LogMel().fit_transform(X)
    )


def test_audio_options_reach_the_reader(tmp_path):
    stereo = np.stack([_signals(SR)[0], _signals(SR)[1]], axis=1)
    path = tmp_path / "stereo.wav"
    sf.write(path, stereo, SR, subtype="FLOAT")
    features = LogMel(channel=1, duration=0.5).fit_transform([str(path)])
    expected = LogMel().fit_transform(stereo[: SR // 2, 1][np.newaxis].astype(np.float32))
    np.testing.assert_array_equal(features, expected)


def test_files_of_unequal_length_raise_naming_the_file(tmp_path):
    paths = _write_clips(tmp_path, _signals(n_samples=SR // 2))
    sf.write(tmp_path / "longer.wav", np.zeros(SR), SR)
    with pytest.raises(ValueError, match=r"longer\.wav"):
        LogMel(batch_size=2).fit_transform([*paths, str(tmp_path / "longer.wav")])


def test_clip_shorter_than_one_fft_frame(tmp_path):
    with pytest.raises(ValueError, match="1000 samples, fewer than the 1024 that LogMel needs"):
        LogMel().fit_transform(np.zeros((2, 1000), dtype=np.float32))
    sf.write(tmp_path / "short.wav", np.zeros(1000), SR)
    with pytest.raises(ValueError, match=r"short\.wav' holds 1000 samples.*min_samples=1024"):
        LogMel().fit_transform([str(tmp_path / "short.wav")])


def test_bad_input_raises():
    with pytest.raises(ValueError, match="NaN"):
        LogMel().fit_transform(np.full((1, 2048), np.nan))
    with pytest.raises(ValueError, match="2D"):
        LogMel().fit_transform(np.zeros(2048))
    with pytest.raises(TypeError, match="single path"):
        LogMel().fit_transform("clip.wav")


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"fmax": 9000.0}, "fmax=9000.0 exceeds the Nyquist"),
        ({"fmin": 4000.0, "fmax": 3000.0}, "fmin=4000.0 must be below fmax"),
    ],
)
def test_inconsistent_frequency_range_raises(params, match):
    with pytest.raises(ValueError, match=match):
        LogMel(**params).fit(np.zeros((1, 2048), dtype=np.float32))


@pytest.mark.parametrize(
    "params", [{"n_mels": 0}, {"backend": "scipy"}, {"channel": -1}, {"power": 0}]
)
def test_invalid_parameters_raise(params):
    with pytest.raises(InvalidParameterError, match=next(iter(params))):
        LogMel(**params).fit(np.zeros((1, 2048), dtype=np.float32))


def test_fit_reads_no_audio_and_builds_the_filterbank():
    logmel = LogMel(n_mels=32, fmin=20.0, fmax=6000.0).fit(["never_read.wav"])
    expected = librosa.filters.mel(sr=SR, n_fft=1024, n_mels=32, fmin=20.0, fmax=6000.0)
    np.testing.assert_array_equal(logmel.mel_basis_, expected)
    with pytest.raises(NotFittedError):
        LogMel().transform(np.zeros((1, 2048), dtype=np.float32))


def test_verbose_shows_progress_bar(capsys):
    X = np.zeros((3, 2048), dtype=np.float32)
    LogMel(batch_size=2).fit_transform(X)
    assert "LogMel" not in capsys.readouterr().err
    LogMel(batch_size=2, verbose=True).fit_transform(X)
    assert "3/3" in capsys.readouterr().err


def test_pipeline_with_time_pooling(tmp_path):
    X = _signals(n_samples=SR // 2)
    paths = _write_clips(tmp_path, X)
    pipe = make_pipeline(LogMel(n_mels=16), TimePooling(stats=("mean", "max")))
    pooled = pipe.fit_transform(paths)
    assert pooled.shape == (5, 16 * 2)
    features = LogMel(n_mels=16).fit_transform(X)[:, 0]
    np.testing.assert_allclose(pooled[:, :16], features.mean(axis=-1), rtol=1e-6)
    np.testing.assert_array_equal(pooled[:, 16:], features.max(axis=-1))
