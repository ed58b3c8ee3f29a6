"""Shared fixtures: the real DCASE 2020 clips beside the repository, when present."""

from pathlib import Path

import pytest
import torch

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DCASE2020_MINI = SHARED_DATA / "dcase2020_mini"


@pytest.fixture(scope="session")
def dcase2020_mini() -> Path:
    """Root of the real DCASE 2020 development clips; skips the test when absent."""
    root = DCASE2020_MINI / "dev_data"
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
