"""The Examples sections of sklasd.training run as written."""

import doctest
import importlib

import pytest

MODULES = ["sklasd.training._data", "sklasd.training._embedder", "sklasd.training._net"]


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
