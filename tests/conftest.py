"""Shared fixtures: the real DCASE 2020 clips beside the repository, when present."""

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DCASE2020_MINI = SHARED_DATA / "dcase2020_mini"


@pytest.fixture(scope="session")
def dcase2020_mini() -> Path:
    """Root of the real DCASE 2020 development clips; skips the test when absent."""
    root = DCASE2020_MINI / "dev_data"
    if not root.is_dir():
        pytest.skip(f"real clips not found at {root}")
    return root
