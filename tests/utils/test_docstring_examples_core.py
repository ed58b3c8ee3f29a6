"""The Examples sections of the base class, scorer steps and utilities run as written."""

import doctest
import importlib

import pytest

MODULES = [
    "sklasd.base",
    "sklasd.scoring._mahalanobis",
    "sklasd.scoring._neighbors",
    "sklasd.scoring._svm",
    "sklasd.utils._validation",
    "sklasd.utils.estimator_checks",
]


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
