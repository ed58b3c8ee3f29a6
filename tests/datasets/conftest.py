"""Synthetic clips shared by the dataset tests."""

import pytest

from sklasd.datasets import make_machine_sounds


@pytest.fixture(scope="module")
def small_params():
    """make_machine_sounds parameters of a small dataset (2 sections, 0.5 s clips)."""
    return dict(n_sections=2, n_train=3, n_train_target=1, n_test=4, duration=0.5)


@pytest.fixture(scope="module")
def small(small_params):
    """A small synthetic dataset: (X, frame) of make_machine_sounds."""
    return make_machine_sounds(**small_params, random_state=0)
