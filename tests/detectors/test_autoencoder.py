"""AutoencoderDetector: the DCASE challenge baseline (MSE or selective Mahalanobis)."""

import numpy as np
import pytest
import torch
from skorch import NeuralNetRegressor

from sklasd.datasets import make_machine_sounds
from sklasd.detectors import AutoencoderDetector
from sklasd.detectors._autoencoder import _context_vectors
from sklasd.features import LogMel
from sklasd.nn import DenseAutoencoder
from sklasd.utils.estimator_checks import check_estimator


def tiny_net(**params):
    return NeuralNetRegressor(
        DenseAutoencoder, module__hidden=16, module__bottleneck=4, module__n_layers=2,
        max_epochs=3, batch_size=64, train_split=None, verbose=0, **params,
    )  # fmt: skip


def make_detector(**params):
    return AutoencoderDetector(
        features=LogMel(n_mels=16, hop_length=256), net=tiny_net(), random_state=0, **params
    )


@pytest.fixture(scope="module")
def clips():
    X, frame = make_machine_sounds(
        machine_types=["fan"], n_sections=2, n_train=6, n_train_target=2, n_test=4,
        duration=0.5, random_state=0,
    )  # fmt: skip
    return X, frame


def test_context_vectors_stack_consecutive_frames_frame_by_frame():
    features = np.arange(2 * 1 * 3 * 4, dtype=np.float32).reshape(2, 1, 3, 4)
    vectors = _context_vectors(features, 2)
    assert vectors.shape == (2, 3, 6)
    # vector 1 of clip 0: frame 1 (bands 0-2), then frame 2
    np.testing.assert_array_equal(vectors[0, 1], [1, 5, 9, 2, 6, 10])


def test_dense_autoencoder_layout_matches_the_challenge_baseline():
    model = DenseAutoencoder()
    linear = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    widths = [(m.in_features, m.out_features) for m in linear]
    assert widths == [(640, 128), *[(128, 128)] * 3, (128, 8), (8, 128), *[(128, 128)] * 3,
                      (128, 640)]  # fmt: skip
    assert sum(isinstance(m, torch.nn.BatchNorm1d) for m in model.modules()) == 9


def test_mse_score_is_the_mean_squared_reconstruction_error(clips):
    X, frame = clips
    train = (frame["split"] == "train").to_numpy()
    detector = make_detector(score="mse").fit(X[train])
    vectors = _context_vectors(detector.features_.transform(X[~train]), 5)
    flat = vectors.reshape(-1, vectors.shape[-1])
    reconstruction = detector.net_.predict(flat).reshape(vectors.shape)
    expected = -np.mean((vectors - reconstruction).astype(np.float64) ** 2, axis=(1, 2))
    np.testing.assert_allclose(detector.score_samples(X[~train]), expected, rtol=1e-5)
    assert detector.precisions_ == [[]]


def test_selective_mahalanobis_takes_the_nearer_domain_per_section(clips):
    X, frame = clips
    train = (frame["split"] == "train").to_numpy()
    section, domain = frame["section"].to_numpy(), frame["domain"].to_numpy()
    detector = make_detector().fit(X[train], section=section[train], domain=domain[train])
    assert [len(p) for p in detector.precisions_] == [2, 2]  # source and target per section
    assert detector.precisions_[0][0].shape == (80, 80)  # 16 bands x 5 frames
    scores = detector.score_samples(X[~train], section=section[~train])
    assert scores.shape == (int((~train).sum()),) and np.all(scores < 0)


def test_anomalies_in_fit_are_left_out_and_training_is_seeded(clips):
    X, frame = clips
    y = frame["label"].to_numpy(dtype=int)
    a = make_detector(score="mse").fit(X, y)
    b = make_detector(score="mse").fit(X[y == 0])
    np.testing.assert_allclose(a.score_samples(X), b.score_samples(X), rtol=1e-5)


def test_clips_shorter_than_the_context_are_a_clear_error():
    with pytest.raises(ValueError, match=r"5 feature frames, fewer than n_context=6"):
        make_detector(n_context=6).fit(np.full((4, 1024), 0.01, dtype=np.float32))


def test_sklasd_estimator_checks(clips):
    X, frame = clips
    train = (frame["split"] == "train").to_numpy()
    check_estimator(make_detector(contamination=0.1), X[train].astype(np.float64))
