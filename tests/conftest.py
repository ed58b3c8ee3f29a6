"""Shared fixtures: the real DCASE 2020 and 2023 clips beside the repository, when present; tiny
networks and features for the training and embedder tests (the interface of sklasd.nn)."""

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from sklasd.training import ClassifierNet

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DCASE2020_MINI = SHARED_DATA / "dcase2020_mini"
DCASE2023_MINI = SHARED_DATA / "dcase2023_mini"


@pytest.fixture(scope="session")
def dcase2020_mini() -> Path:
    """Root of the real DCASE 2020 development clips; skips the test when absent."""
    root = DCASE2020_MINI / "dev_data"
    if not root.is_dir():
        pytest.skip(f"real clips not found at {root}")
    return root


@pytest.fixture(scope="session")
def dcase2023_mini() -> Path:
    """Root of the real DCASE 2023 development clips (2-clip sections); skips when absent."""
    root = DCASE2023_MINI / "dev_data" / "raw"
    if not root.is_dir():
        pytest.skip(f"real clips not found at {root}")
    return root


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One torch thread per test process: the suite runs two processes on two cores, and
    small networks and transforms run faster single-threaded than with a contended pool."""
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n_threads)


class TinyNet(nn.Module):
    """A few hundred weights with the sklasd.nn interface: forward and embed."""

    def __init__(
        self,
        *,
        n_classes=2,
        in_channels=1,
        embedding_dim=8,
        input_size=(16, 16),
        head="linear",
        width=4,
        dropout=0.1,
    ):
        super().__init__()
        self.input_size = tuple(input_size)
        self.conv = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1), nn.ReLU(), nn.Dropout(dropout)
        )
        self.proj = nn.Linear(width * self.input_size[0], embedding_dim)
        self.head = nn.Linear(embedding_dim, n_classes)
        self.last_dtype = None

    def embed(self, x):
        if tuple(x.shape[-2:]) != self.input_size:
            raise ValueError(f"crop of shape {tuple(x.shape)}, built for {self.input_size}")
        embedding = self.proj(self.conv(x).mean(-1).flatten(1))
        self.last_dtype = embedding.dtype
        return embedding

    def forward(self, x):
        return self.head(self.embed(x))


class TinyLoss(nn.CrossEntropyLoss):
    """Cross-entropy whose inference logits are twice the outputs (as ArcFace scales)."""

    def logits(self, output):
        return 2.0 * output


@pytest.fixture
def make_net():
    """``make_net(**params)``: an unfitted ClassifierNet on TinyNet with small defaults."""

    def make(**params):
        params = {"criterion": TinyLoss, "max_epochs": 3, "batch_size": 8, **params}
        return ClassifierNet(TinyNet, **params)

    return make


def _make_features(n_clips=16, n_sections=2, n_bands=16, n_frames=40, seed=0):
    """Random features whose sections raise different bands, and the sections."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_clips, 1, n_bands, n_frames)).astype(np.float32)
    section = np.arange(n_clips) % n_sections
    for s in range(n_sections):
        X[section == s, :, 4 * s : 4 * s + 4] += 2.0
    return X, section


@pytest.fixture
def make_features():
    """``make_features(n_clips=16, n_sections=2, ...) -> (X, section)``."""
    return _make_features


@pytest.fixture
def features():
    """16 clips of shape (1, 16, 40) in 2 sections."""
    return _make_features()
