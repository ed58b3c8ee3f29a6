"""A tiny network, short synthetic clips and a detector factory for the detector tests."""

import pytest
import torch
from torch import nn

from sklasd.datasets import make_machine_sounds
from sklasd.detectors import IDClassifierDetector
from sklasd.embedders import NetEmbedder
from sklasd.features import LogMel
from sklasd.nn import CosineHead
from sklasd.training import ClassifierNet

N_MELS = 32
N_FRAMES = 8


class TinyIDNet(nn.Module):
    """A few hundred weights with the keyword interface of the sklasd.nn networks."""

    def __init__(
        self, *, n_classes=2, in_channels=1, embedding_dim=8, input_size=(32, 8), head="linear"
    ):
        super().__init__()
        self.body = nn.Sequential(
            nn.BatchNorm2d(in_channels), nn.Conv2d(in_channels, 4, 3, padding=1), nn.ReLU()
        )
        self.embedding = nn.Linear(4 * input_size[0], embedding_dim)
        if head == "linear":
            self.head = nn.Linear(embedding_dim, n_classes)
        else:
            self.head = CosineHead(embedding_dim, n_classes)

    def embed(self, x):
        return self.embedding(self.body(x).mean(-1).flatten(1))

    def forward(self, x):
        return self.head(self.embed(x))


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One torch thread per test process: tiny networks train faster than with a pool."""
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n_threads)


def _make_net(**params):
    return ClassifierNet(TinyIDNet, **{"max_epochs": 10, "batch_size": 16, "lr": 1e-2, **params})


def _make_embedder(**params):
    return NetEmbedder(net=_make_net(), n_frames=N_FRAMES, **params)


def _make_detector(**params):
    params = {
        "features": LogMel(n_mels=N_MELS),
        "embedder": _make_embedder(),
        "random_state": 0,
        **params,
    }
    return IDClassifierDetector(**params)


@pytest.fixture
def tiny_net():
    """The TinyIDNet class (a network class with the sklasd.nn keyword interface)."""
    return TinyIDNet


@pytest.fixture
def make_net():
    """``make_net(**params)``: an unfitted ClassifierNet on TinyIDNet (trains in ~0.1 s)."""
    return _make_net


@pytest.fixture
def make_embedder():
    """``make_embedder(**params)``: a NetEmbedder of the tiny net on 8-frame crops."""
    return _make_embedder


@pytest.fixture
def make_detector():
    """``make_detector(**params)``: a tiny IDClassifierDetector (32 mel bands, random_state=0)."""
    return _make_detector


@pytest.fixture(scope="session")
def fan():
    """0.5 s clips of 3 fan sections (both domains): (X, frame, train mask)."""
    X, frame = make_machine_sounds(
        machine_types="fan", n_sections=3, n_train=10, n_train_target=2, n_test=6,
        duration=0.5, severity=3.0, random_state=0,
    )  # fmt: skip
    return X, frame, (frame["split"] == "train").to_numpy()


@pytest.fixture(scope="session")
def one_section():
    """0.5 s clips of 2 machine types with a single section each (DCASE 2023 style)."""
    X, frame = make_machine_sounds(
        machine_types=["fan", "valve"], n_sections=1, n_train=12, n_train_target=2, n_test=4,
        duration=0.5, random_state=1,
    )  # fmt: skip
    return X, frame, (frame["split"] == "train").to_numpy()
