"""Tests for sklasd.embedders.Wav2Vec on tiny randomly initialised wav2vec 2.0 models."""

import pickle
import sys

import librosa
import numpy as np
import pytest
import torch

from sklasd.embedders import Wav2Vec
from sklasd.features import LogMel
from sklasd.nn import wav2vec_hidden
from sklasd.utils.estimator_checks import parametrize_with_checks

transformers = pytest.importorskip("transformers")

SR = 16000


def _config(**params):
    """A wav2vec 2.0 configuration of about 60,000 weights: stride 320, receptive field 645."""
    params = {
        "hidden_size": 32,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "intermediate_size": 64,
        "conv_dim": (16, 16),
        "conv_stride": (5, 64),
        "conv_kernel": (10, 128),
        "num_conv_pos_embeddings": 16,
        "num_conv_pos_embedding_groups": 2,
        **params,
    }
    return transformers.Wav2Vec2Config(**params)


def _clips(n_per_section=3, n_samples=SR // 2, seed=0):
    rng = np.random.default_rng(seed)
    section = np.repeat([0, 1], n_per_section)
    t = np.arange(n_samples) / SR
    X = 0.05 * rng.standard_normal((len(section), n_samples))
    X += 0.5 * np.sin(2 * np.pi * np.where(section == 0, 300.0, 3000.0)[:, None] * t)
    return X.astype(np.float32), section


def _waveforms():
    return _clips()[0]


def _metadata():
    return {"section": _clips()[1]}


TINY = {"n_bands": 8, "batch_size": 4}
FINE_TUNE = {**TINY, "fine_tune": True, "n_fine_tune_layers": 1, "n_frames": 4, "max_epochs": 1}


@parametrize_with_checks(
    [
        (Wav2Vec(model=_config(), **TINY), _waveforms),
        (Wav2Vec(model=_config(), **FINE_TUNE), _waveforms, _metadata),
    ]
)
def test_sklasd_compatible(estimator, check):
    check(estimator)


@pytest.mark.parametrize(("sr", "n_samples"), [(16000, 8000), (16000, 8191), (22050, 11025)])
@pytest.mark.parametrize("hop_length", [256, 512])
def test_frames_match_logmel(sr, n_samples, hop_length):
    X = np.random.default_rng(0).standard_normal((2, n_samples)).astype(np.float32)
    wav2vec = Wav2Vec(model=_config(), sr=sr, hop_length=hop_length, random_state=0, **TINY)
    features = wav2vec.fit_transform(X)
    logmel = LogMel(sr=sr, n_mels=8, hop_length=hop_length).fit_transform(X)
    assert features.shape == logmel.shape
    assert features.dtype == np.float32 and np.isfinite(features).all()


def test_clips_at_another_rate_are_resampled_to_the_model_rate():
    X, _ = _clips()
    X32 = librosa.resample(X, orig_sr=SR, target_sr=2 * SR, axis=-1)
    X16 = librosa.resample(X32, orig_sr=2 * SR, target_sr=SR, axis=-1)
    params = {"model": _config(), "projection": "random", "random_state": 0, **TINY}
    # At 32 kHz a hop of 1024 samples is the same 32 ms as 512 samples at 16 kHz.
    at_32k = Wav2Vec(**params, sr=2 * SR, hop_length=1024).fit_transform(X32)
    np.testing.assert_allclose(at_32k, Wav2Vec(**params).fit_transform(X16), atol=1e-5)


def test_features_are_interpolated_hidden_states_at_logmel_frames():
    X, _ = _clips()
    wav2vec = Wav2Vec(model=_config(), hop_length=256, random_state=0, **TINY).fit(X)
    with torch.inference_mode():
        hidden = wav2vec_hidden(wav2vec.model_, torch.from_numpy(X)).numpy()
    # Hidden frame j is centred on sample 320 j + 322 (stride 320, receptive field 645).
    hidden_centres = 320 * np.arange(hidden.shape[1]) + 322
    frame_centres = 256 * np.arange(1 + X.shape[1] // 256)
    aligned = np.stack(
        [
            np.stack([np.interp(frame_centres, hidden_centres, h[:, d]) for d in range(32)], 1)
            for h in hidden
        ]
    )
    expected = ((aligned - wav2vec.mean_) @ wav2vec.projection_).transpose(0, 2, 1)[:, None]
    np.testing.assert_allclose(wav2vec.transform(X), expected, rtol=1e-4, atol=1e-4)


def test_pca_bands_hold_decreasing_variance():
    X, _ = _clips()
    features = Wav2Vec(model=_config(), random_state=0, **TINY).fit_transform(X)
    variance = features[:, 0].transpose(0, 2, 1).reshape(-1, 8).var(axis=0)
    assert np.all(np.diff(variance) <= 1e-6)


def test_random_projection_takes_any_number_of_bands():
    X, _ = _clips()
    features = Wav2Vec(model=_config(), n_bands=64, projection="random", random_state=0)
    assert features.fit_transform(X).shape == (6, 1, 64, 1 + X.shape[1] // 512)
    with pytest.raises(ValueError, match="projection='random'"):
        Wav2Vec(model=_config(), n_bands=64, random_state=0).fit(X)


def test_layer_truncates_a_copy_of_the_given_model():
    X, _ = _clips()
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = transformers.Wav2Vec2Model(_config())
    first = Wav2Vec(model=model, layer=1, **TINY).fit(X)
    assert len(first.model_.encoder.layers) == 1
    assert len(model.encoder.layers) == 2  # the parameter is left alone
    full = Wav2Vec(model=model, **TINY).fit(X)
    assert not np.allclose(first.transform(X), full.transform(X))
    with pytest.raises(ValueError, match="layer=3 exceeds the 2 transformer layers"):
        Wav2Vec(model=model, layer=3, **TINY).fit(X)


def test_fine_tuning_trains_only_the_top_layers():
    X, section = _clips(n_per_section=4)
    tuned = Wav2Vec(
        model=_config(), random_state=0, **{**FINE_TUNE, "max_epochs": 3, "lr": 1e-3}
    ).fit(X, section=section)
    frozen = Wav2Vec(model=_config(), random_state=0, **TINY).fit(X)
    # The same random_state builds the same random model.
    before = dict(frozen.model_.named_parameters())
    changed = {
        name for name, p in tuned.model_.named_parameters() if not torch.equal(p, before[name])
    }
    assert changed and all(name.startswith("encoder.layers.1.") for name in changed)
    assert len(tuned.fine_tune_history_) == 3
    assert not hasattr(frozen, "fine_tune_history_")
    with pytest.raises(ValueError, match="needs the section of every clip"):
        Wav2Vec(model=_config(), **FINE_TUNE).fit(X)
    with pytest.raises(ValueError, match="layer >= 1"):
        Wav2Vec(model=_config(), layer=0, **FINE_TUNE).fit(X, section=section)


def test_pickling_keeps_the_estimator_and_its_model_parameter():
    X, _ = _clips()
    model = transformers.Wav2Vec2Model(_config())
    wav2vec = Wav2Vec(model=model, layer=1, random_state=0, **TINY).fit(X)
    expected = wav2vec.transform(X)
    loaded = pickle.loads(pickle.dumps(wav2vec))
    assert isinstance(wav2vec.model_, transformers.Wav2Vec2Model)  # not replaced by dumping
    assert isinstance(loaded.model, transformers.Wav2Vec2Model)
    np.testing.assert_array_equal(loaded.transform(X), expected)
    np.testing.assert_array_equal(wav2vec.transform(X), expected)


def test_missing_transformers_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(ImportError, match=r"pip install sklasd\[wav2vec\]"):
        Wav2Vec(model="facebook/wav2vec2-base").fit(_waveforms())


def test_errors_name_the_problem(tmp_path):
    X, _ = _clips()
    with pytest.raises(OSError, match="huggingface-cli download"):
        Wav2Vec(model=str(tmp_path)).fit(X)  # an empty directory holds no model
    with pytest.raises(TypeError, match="Wav2Vec2Config, got int"):
        Wav2Vec(model=3).fit(X)
    with pytest.raises(ValueError, match="fewer than the 645"):
        Wav2Vec(model=_config(), **TINY).fit(X[:, :600])
    X_nan = X.copy()
    X_nan[0, 10] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        Wav2Vec(model=_config(), **TINY).fit(X_nan)
