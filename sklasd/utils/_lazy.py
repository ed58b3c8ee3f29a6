"""Package attributes imported on first use, so that importing a package stays cheap."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Module-level ``__getattr__`` and ``__dir__`` that import names on first use (PEP 562).

    A package whose modules import torch (or another slow dependency) lists their public
    names here instead of importing them in its ``__init__``: ``import package`` then
    costs nothing, and ``from package import name`` (or ``package.name``) imports only
    the module that defines ``name``, once; the object is then cached in the package.

    Parameters
    ----------
    package : str
        ``__name__`` of the package.
    exports : mapping of str to str
        Public name -> module that defines it.

    Returns
    -------
    getattr : callable
        The package's ``__getattr__``.
    dir : callable
        The package's ``__dir__``: its attributes and the lazy names.

    Examples
    --------
    >>> import sys, types
    >>> from sklasd.utils._lazy import lazy_exports
    >>> package = types.ModuleType("demo")
    >>> sys.modules["demo"] = package
    >>> package.__getattr__, package.__dir__ = lazy_exports("demo", {"sqrt": "math"})
    >>> "sqrt" in vars(package)
    False
    >>> package.sqrt(4.0), "sqrt" in vars(package)
    (2.0, True)
    >>> del sys.modules["demo"]
    """

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(exports[name]), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *exports})

    return __getattr__, __dir__
