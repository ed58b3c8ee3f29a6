"""Every public name is documented with a runnable Examples section, and every example runs."""

import doctest
import importlib
import inspect
import pkgutil

import pytest

import sklasd

MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(sklasd.__path__, prefix="sklasd.")
    if info.name not in {"sklasd.__main__"}
)
PACKAGES = [name for name in MODULES if importlib.import_module(name).__dict__.get("__all__")]


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert result.failed == 0


@pytest.mark.parametrize("name", PACKAGES)
def test_public_names_have_examples(name):
    module = importlib.import_module(name)
    missing = [
        public
        for public in module.__all__
        if (inspect.isclass(obj := getattr(module, public)) or inspect.isfunction(obj))
        and not issubclass(obj if inspect.isclass(obj) else object, tuple)  # table rows
        and "Examples\n" not in (inspect.getdoc(obj) or "")
    ]
    assert not missing, f"{name}: public names without an Examples section: {missing}"


def test_nan_is_refused_by_network_parameter_checks():
    from sklasd.nn import ArcFaceLoss

    with pytest.raises(ValueError, match="nan"):
        ArcFaceLoss(margin=float("nan"))
