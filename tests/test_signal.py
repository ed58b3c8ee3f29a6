"""Tests for sklasd.signal: the log-mel computation shared by LogMel and the networks."""

import numpy as np
import torch

from sklasd.features import LogMel
from sklasd.signal import log_mel_spectrogram


def test_log_mel_spectrogram_equals_logmel():
    X = np.random.default_rng(0).standard_normal((3, 4000)).astype(np.float32)
    logmel = LogMel(n_mels=16).fit(X)
    spec = log_mel_spectrogram(
        torch.from_numpy(X).double(),
        torch.from_numpy(logmel.mel_basis_),
        n_fft=1024,
        hop_length=512,
    )
    np.testing.assert_allclose(spec.numpy(), logmel.transform(X)[:, 0], atol=1e-5)
