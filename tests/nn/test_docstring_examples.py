"""The Examples sections of sklasd.nn run as written."""

import doctest
import importlib

import pytest

MODULES = [
    "sklasd.nn._layers",
    "sklasd.nn._losses",
    "sklasd.nn._mobilefacenet",
    "sklasd.nn._mobilenetv3",
]


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
