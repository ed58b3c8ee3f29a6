"""Shared parameter descriptions: substituted everywhere they are asked for, and only there."""

import importlib
import inspect
import pkgutil
import re

import pytest

import sklasd
from sklasd.utils._docstrings import DOC_FRAGMENTS, fill_doc

MODULES = [
    importlib.import_module(info.name)
    for info in pkgutil.walk_packages(sklasd.__path__, prefix="sklasd.")
    if info.name != "sklasd.__main__"
]


def test_no_placeholder_is_left_in_any_docstring():
    left = [
        f"{module.__name__}.{name}"
        for module in MODULES
        for name, obj in vars(module).items()
        if (inspect.isclass(obj) or inspect.isfunction(obj))
        and obj.__module__ == module.__name__
        and re.search(r"^\s*%\(\w+\)s\s*$", obj.__doc__ or "", re.MULTILINE)
    ]
    assert not left, f"docstrings with a placeholder that fill_doc did not replace: {left}"


def test_a_fragment_reads_the_same_on_every_page():
    from sklasd.base import BaseDetector
    from sklasd.ensemble import ScoreEnsemble
    from sklasd.scoring import KNNScorer, OneClassSVMScorer

    first_line = DOC_FRAGMENTS["contamination"].splitlines()[1].strip()
    for cls in (BaseDetector, ScoreEnsemble, KNNScorer, OneClassSVMScorer):
        assert first_line in cls.__doc__
        assert "    gamma_quantile : float, default=0.9\n" in cls.__doc__


def test_fragments_keep_the_indent_and_the_other_percent_signs():
    @fill_doc
    def f():
        """Parameters
        ----------
        %(clip_sr)s
        rate : 90% of the rest, %(not a placeholder)s here.
        """

    lines = f.__doc__.splitlines()
    assert lines[2] == "        sr : int, default=16000"
    assert lines[3].startswith("            Sampling rate in Hz.")
    assert "rate : 90% of the rest, %(not a placeholder)s here." in f.__doc__


def test_an_unknown_fragment_is_named():
    def g():
        """Parameters
        ----------
        %(no_such_fragment)s
        """

    with pytest.raises(KeyError, match="no_such_fragment"):
        fill_doc(g)
