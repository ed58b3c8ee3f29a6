"""Tests for sklasd.datasets.load_audio and iter_audio_batches."""

from pathlib import Path

import librosa
import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from sklasd.datasets import load_audio
from sklasd.datasets._audio import iter_audio_batches

SR = 16000
# librosa.load imports audioread, which imports modules deprecated in Python 3.11.
ignore_audioread = pytest.mark.filterwarnings("ignore::DeprecationWarning:audioread.*")


def _write(path: Path, data: np.ndarray, sr: int = SR, subtype: str = "PCM_16") -> str:
    sf.write(path, data, sr, subtype=subtype)
    return str(path)


def _noise(n: int, seed: int = 0, channels: int | None = None) -> np.ndarray:
    shape = (n,) if channels is None else (n, channels)
    return 0.1 * np.random.default_rng(seed).standard_normal(shape)


@pytest.fixture
def mono_paths(tmp_path):
    return [_write(tmp_path / f"clip{i}.wav", _noise(SR // 2, seed=i)) for i in range(5)]


@ignore_audioread
def test_reads_pcm_as_soundfile_and_librosa_do(mono_paths):
    X = load_audio(mono_paths)
    assert X.shape == (5, SR // 2)
    assert X.dtype == np.float32
    for row, path in zip(X, mono_paths, strict=True):
        np.testing.assert_array_equal(row, sf.read(path, dtype="float32")[0])
        np.testing.assert_array_equal(row, librosa.load(path, sr=None)[0])


def test_accepts_paths_series_and_pathlib(mono_paths):
    expected = load_audio(mono_paths)
    np.testing.assert_array_equal(load_audio(pd.Series(mono_paths, index=range(10, 15))), expected)
    np.testing.assert_array_equal(load_audio([Path(p) for p in mono_paths]), expected)


@ignore_audioread
def test_resamples_like_librosa_load(tmp_path):
    path = _write(tmp_path / "8k.wav", _noise(8000), sr=8000)
    X = load_audio([path], sr=SR)
    assert X.shape == (1, 16000)
    np.testing.assert_allclose(X[0], librosa.load(path, sr=SR)[0], atol=1e-6)


def test_channel_mix_and_selection(tmp_path):
    data = np.stack([np.full(800, 0.1), np.full(800, 0.2), np.full(800, 0.6)], axis=1)
    path = _write(tmp_path / "three.wav", data, subtype="FLOAT")
    np.testing.assert_allclose(load_audio([path])[0], 0.3, rtol=1e-6)
    np.testing.assert_allclose(load_audio([path], channel=2)[0], 0.6, rtol=1e-6)
    with pytest.raises(ValueError, match=r"channel=3 .*three\.wav.* 3 channel"):
        load_audio([path], channel=3)


def test_duration_crops_to_leading_samples(tmp_path):
    data = _noise(SR)
    path = _write(tmp_path / "one_second.wav", data)
    full = load_audio([path])
    np.testing.assert_array_equal(load_audio([path], duration=0.25), full[:, : SR // 4])
    # With resampling the crop is applied at the target rate.
    path8k = _write(tmp_path / "8k.wav", _noise(8000), sr=8000)
    assert load_audio([path8k], sr=SR, duration=0.5).shape == (1, 8000)


def test_duration_makes_unequal_clips_equal(tmp_path):
    paths = [_write(tmp_path / f"{n}.wav", _noise(n)) for n in (SR, SR + 1600)]
    X = load_audio(paths, duration=1.0)
    assert X.shape == (2, SR)


def test_clip_shorter_than_duration_raises(tmp_path):
    paths = [
        _write(tmp_path / "long.wav", _noise(SR)),
        _write(tmp_path / "short.wav", _noise(SR // 2)),
    ]
    with pytest.raises(ValueError, match=r"short\.wav.*8000 samples.*fewer than the 16000"):
        load_audio(paths, duration=1.0)


def test_unequal_lengths_name_first_differing_file(tmp_path):
    lengths = {"a": 1000, "b": 1000, "c": 900, "d": 800}
    paths = [_write(tmp_path / f"{k}.wav", _noise(n)) for k, n in lengths.items()]
    with pytest.raises(ValueError, match=r"c\.wav' holds 900 samples.*a\.wav' holds 1000"):
        load_audio(paths)


def test_n_jobs_gives_same_result(mono_paths):
    np.testing.assert_array_equal(load_audio(mono_paths, n_jobs=2), load_audio(mono_paths))


def test_missing_file(tmp_path, mono_paths):
    missing = str(tmp_path / "nope.wav")
    with pytest.raises(FileNotFoundError, match=r"nope\.wav"):
        load_audio([*mono_paths, missing])


def test_corrupt_file(tmp_path):
    path = tmp_path / "corrupt.wav"
    path.write_bytes(np.random.default_rng(0).bytes(2000))
    with pytest.raises(ValueError, match=r"Could not decode audio file .*corrupt\.wav"):
        load_audio([str(path)])


def test_empty_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.touch()
    with pytest.raises(ValueError, match=r"Could not decode audio file .*empty\.wav"):
        load_audio([str(path)])


def test_zero_length_audio(tmp_path):
    path = _write(tmp_path / "zero.wav", np.zeros(0))
    assert sf.info(path).frames == 0
    with pytest.raises(ValueError, match=r"zero\.wav' contains no samples"):
        load_audio([path])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_samples(tmp_path, bad):
    data = _noise(1000)
    data[500] = bad
    path = _write(tmp_path / "nonfinite.wav", data, subtype="FLOAT")
    with pytest.raises(ValueError, match=r"nonfinite\.wav' contains NaN or infinite"):
        load_audio([path])


def test_too_short_clip(tmp_path):
    path = _write(tmp_path / "tiny.wav", _noise(100))
    with pytest.raises(ValueError, match=r"tiny\.wav' holds 100 samples.*min_samples=1024"):
        load_audio([path], min_samples=1024)
    assert load_audio([path], min_samples=100).shape == (1, 100)


def test_rejects_single_path_and_waveforms(mono_paths):
    with pytest.raises(ValueError, match="paths"):
        load_audio(mono_paths[0])
    with pytest.raises(TypeError, match="sequence of audio file paths"):
        load_audio(np.zeros((2, 100)))


def test_rejects_bad_parameters(mono_paths):
    with pytest.raises(ValueError, match="channel"):
        load_audio(mono_paths, channel="left")
    with pytest.raises(ValueError, match="duration"):
        load_audio(mono_paths, duration=0.0)


def test_batches_concatenate_to_load_audio(mono_paths):
    batches = list(iter_audio_batches(mono_paths, batch_size=2))
    assert [b.shape[0] for b in batches] == [2, 2, 1]
    np.testing.assert_array_equal(np.concatenate(batches), load_audio(mono_paths))


def test_batches_are_read_lazily(tmp_path, mono_paths):
    paths = [*mono_paths[:2], str(tmp_path / "later.wav")]
    batches = iter_audio_batches(paths, batch_size=2)
    assert next(batches).shape == (2, SR // 2)
    with pytest.raises(FileNotFoundError, match=r"later\.wav"):
        next(batches)


def test_batches_keep_the_first_clip_length(tmp_path, mono_paths):
    odd = _write(tmp_path / "odd.wav", _noise(SR // 4))
    batches = iter_audio_batches([*mono_paths[:2], odd], batch_size=2)
    next(batches)
    with pytest.raises(ValueError, match=r"odd\.wav' holds 4000 samples.*clip0\.wav"):
        next(batches)


def test_batches_check_parameters_at_call(mono_paths):
    with pytest.raises(ValueError, match="batch_size"):
        iter_audio_batches(mono_paths, batch_size=0)
