"""Loading saved models with clear errors; saving without pickle, through skops, where it can."""

from __future__ import annotations

import importlib
import pickle
from os import PathLike
from pathlib import Path
from typing import Any

import joblib

from sklasd.exceptions import ModelFileError

__all__ = ["dump_skops", "get_skops_trusted_types", "load_model", "load_skops"]

# What unpickling a damaged file raises: an unknown opcode is a KeyError, a stream cut
# short an EOFError, IndexError or UnpicklingError, a numpy array cut short a ValueError.
_DAMAGED = (EOFError, pickle.UnpicklingError, ValueError, KeyError, IndexError, TypeError)

#: Packages whose public estimator classes load_skops trusts.
_PUBLIC_PACKAGES = (
    "sklasd.detectors",
    "sklasd.ensemble",
    "sklasd.features",
    "sklasd.scoring",
    "sklasd.training",
)
#: scikit-learn types our estimators hold that skops does not trust by default: a plain
#: container, and the neighbour trees NearestNeighbors builds (state: numpy arrays).
_SKLEARN_TYPES = (
    "sklearn.neighbors._ball_tree.BallTree",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.utils._bunch.Bunch",
)

_COVERAGE = """\
    What skops covers: estimators whose fitted state is numpy arrays, Python
    containers and scikit-learn objects, such as pipelines of
    :class:`~sklasd.features.LogMel`, :class:`~sklasd.features.TimePooling` and
    the scorer steps of :mod:`sklasd.scoring` (``KNNScorer``, ``CosineScorer``,
    ``MahalanobisScorer``, ``OneClassSVMScorer``), and
    :class:`~sklasd.ensemble.ScoreEnsemble` /
    :class:`~sklasd.ensemble.MachineTypeSelector` of such members.

    What it does not cover: anything holding a torch network, i.e. the network
    detectors (``IDClassifierDetector``, ``OutlierClassifierDetector``,
    ``CentroidBCEDetector``), :class:`~sklasd.embedders.NetEmbedder` and the skorch
    nets. skorch keeps a network's module, optimizer and criterion as
    :func:`torch.save` bytes, which are themselves a pickle, so no loader can open
    them without running pickle. Save those with :func:`joblib.dump` and load them
    only from sources you trust: loading a pickle (joblib, :mod:`pickle`,
    :func:`torch.load` with ``weights_only=False``) can run arbitrary code.
"""


def load_model(path: str | PathLike) -> Any:
    """Load a model saved with :func:`joblib.dump`, with an error that names the file.

    :func:`joblib.load` answers a damaged file with errors such as ``KeyError: 255`` or
    ``EOFError`` that name no file and do not say what is wrong; this function raises a
    :class:`~sklasd.exceptions.ModelFileError` that does. A model saved with another
    sklasd version warns :class:`~sklasd.base.InconsistentVersionWarning`; one trained
    on a GPU loads on a machine without one (on the CPU).

    Loading runs pickle, which can run arbitrary code: load only files you trust (see
    :func:`load_skops` for the models skops can save without pickle).

    Parameters
    ----------
    path : str or path-like
        The model file (e.g. ``model_fan.joblib`` written by ``python -m sklasd``).

    Returns
    -------
    model : object
        The loaded model.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ModelFileError
        If it is a folder, empty, truncated, corrupt, not a joblib file, or refers to
        code that this installation lacks (a class of another version or package).

    See Also
    --------
    joblib.load : The loader underneath.
    sklasd.utils.RunFolder.dump_joblib : Saves a model atomically.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import joblib
    >>> import numpy as np
    >>> from sklasd.scoring import KNNScorer
    >>> from sklasd.utils import load_model
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "knn.joblib"
    >>> X = np.random.default_rng(0).normal(size=(10, 2))
    >>> _ = joblib.dump(KNNScorer().fit(X), path)
    >>> load_model(path)
    KNNScorer()
    >>> _ = path.write_bytes(path.read_bytes()[:40])
    >>> load_model(path)
    Traceback (most recent call last):
        ...
    sklasd.exceptions.ModelFileError: Cannot load the model file '...knn.joblib': it is \
truncated, corrupt or not a joblib file (...). Save the model again.
    """
    path = Path(path)
    where = repr(str(path))
    if not path.exists():
        raise FileNotFoundError(f"Model file {where} does not exist.")
    if not path.is_file():
        raise ModelFileError(f"Model file {where} is not a file.")
    if path.stat().st_size == 0:
        raise ModelFileError(
            f"Model file {where} is empty (0 bytes): the run that saved it did not finish. "
            "Save the model again."
        )
    try:
        return joblib.load(path)
    except (ImportError, AttributeError) as error:
        problem = (
            "it refers to code this installation lacks, so it was saved with another "
            "version of sklasd or of a library, or needs a package not installed here"
        )
        raise ModelFileError(
            f"Cannot load the model file {where}: {problem} ({error})."
        ) from error
    except _DAMAGED as error:
        raise ModelFileError(
            f"Cannot load the model file {where}: it is truncated, corrupt or not a joblib "
            f"file ({type(error).__name__}: {error}). Save the model again."
        ) from error


def _skops_io():
    try:
        return importlib.import_module("skops.io")
    except ImportError as error:
        raise ImportError(
            "Saving and loading with skops needs the skops package: pip install 'sklasd[skops]'."
        ) from error


def get_skops_trusted_types() -> list[str]:
    """Names of the sklasd types that :func:`load_skops` trusts, beyond skops' defaults.

    They are the public estimator classes of :mod:`sklasd.detectors`,
    :mod:`sklasd.ensemble`, :mod:`sklasd.features`, :mod:`sklasd.scoring` and
    :mod:`sklasd.training` (not the skorch nets, whose state is a pickle), plus
    scikit-learn types they hold that skops does not trust by default:
    :class:`sklearn.utils.Bunch`, and the ``KDTree``/``BallTree`` and distance
    metrics (``EuclideanDistance64``...) of fitted
    :class:`~sklearn.neighbors.NearestNeighbors`, whose state is numpy arrays
    (a Python callable ``metric`` stays untrusted). Loading such an object only creates it and sets
    its attributes (no ``__init__``, no pickle); what an object holds is checked
    type by type, so trusting a detector class does not trust a torch network
    inside it.

    Returns
    -------
    names : list of str
        Fully qualified type names, sorted, as
        :func:`skops.io.get_untrusted_types` reports them.

    See Also
    --------
    load_skops : Loads with these types trusted.

    Examples
    --------
    >>> from sklasd.utils import get_skops_trusted_types
    >>> "sklasd.scoring._neighbors.KNNScorer" in get_skops_trusted_types()
    True
    >>> "sklasd.training._net.ClassifierNet" in get_skops_trusted_types()
    False
    """
    from sklearn.base import BaseEstimator
    from sklearn.metrics._dist_metrics import DistanceMetric32, DistanceMetric64
    from skorch import NeuralNet

    names = set(_SKLEARN_TYPES)
    for metric in (DistanceMetric32, DistanceMetric64):
        names.update(f"{c.__module__}.{c.__qualname__}" for c in metric.__subclasses__())
    for package in _PUBLIC_PACKAGES:
        module = importlib.import_module(package)
        for name in module.__all__:
            obj = getattr(module, name)
            if (
                isinstance(obj, type)
                and issubclass(obj, BaseEstimator)
                and not issubclass(obj, NeuralNet)
            ):
                names.add(f"{obj.__module__}.{obj.__qualname__}")
    return sorted(names)


def _untrusted(found: list[str], trusted: list[str]) -> list[str]:
    return [name for name in found if name not in set(trusted)]


def dump_skops(estimator: Any, file: str | PathLike) -> None:
    """Save a fitted estimator with :mod:`skops.io`, refusing what it cannot load safely.

        The estimator is serialised with :func:`skops.io.dumps`; if the result holds
        a type that :func:`load_skops` would not trust (neither a skops default nor
        one of :func:`get_skops_trusted_types`), nothing is written and a TypeError
        names the types, so an unloadable file is never produced.

        Parameters
        ----------
        estimator : object
            The fitted estimator or Pipeline.
        file : str or path-like
            Destination file (conventionally ``*.skops``).

        Raises
        ------
        TypeError
            If the estimator holds types ``load_skops`` does not trust, e.g. a torch
            network (see the notes).
        ImportError
            If skops is not installed.

        See Also
        --------
        load_skops : Load the file.
        joblib.dump : Pickle-based saving, for estimators with torch networks.

        Notes
        -----
    {coverage}
        Examples
        --------
        >>> import tempfile, pathlib
        >>> import numpy as np
        >>> from sklasd.scoring import KNNScorer
        >>> from sklasd.utils import dump_skops, load_skops
        >>> X = np.random.default_rng(0).normal(size=(20, 3))
        >>> scorer = KNNScorer().fit(X)
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "scorer.skops"
        >>> dump_skops(scorer, path)
        >>> bool(np.array_equal(load_skops(path).score_samples(X), scorer.score_samples(X)))
        True
    """
    sio = _skops_io()
    data = sio.dumps(estimator)
    untrusted = _untrusted(sio.get_untrusted_types(data=data), get_skops_trusted_types())
    if untrusted:
        raise TypeError(
            f"{type(estimator).__name__} holds types that load_skops would not trust: "
            f"{untrusted}. Estimators with torch networks are not covered by skops (their "
            "state is a pickle): save them with joblib.dump and load them only from trusted "
            "sources."
        )
    Path(file).write_bytes(data)


def load_skops(file: str | PathLike, *, trusted: list[str] | None = None) -> Any:
    """Load an estimator saved by :func:`dump_skops` (or :func:`skops.io.dump`), without pickle.

        The file is checked before anything is built: every type it holds must be
        trusted by skops by default (numpy, scikit-learn...), be one of
        :func:`get_skops_trusted_types`, or be listed in ``trusted``; otherwise a
        TypeError names the untrusted types and the file. The loaded estimator warns
        with :class:`~sklasd.base.InconsistentVersionWarning` when another sklasd
        version saved it.

        Parameters
        ----------
        file : str or path-like
            The file to load.
        trusted : list of str, default=None
            Further type names to trust (as :func:`skops.io.get_untrusted_types`
            reports them), e.g. of your own estimator classes. Check a file's types
            before trusting them.

        Returns
        -------
        estimator : object
            The loaded estimator.

        Raises
        ------
        TypeError
            If the file holds untrusted types.
        ImportError
            If skops is not installed.

        See Also
        --------
        dump_skops : Save an estimator.
        skops.io.get_untrusted_types : The types of a file.

        Notes
        -----
    {coverage}
        Examples
        --------
        >>> import tempfile, pathlib
        >>> import numpy as np
        >>> from sklearn.pipeline import make_pipeline
        >>> from sklearn.preprocessing import StandardScaler
        >>> from sklasd.scoring import CosineScorer
        >>> from sklasd.utils import dump_skops, load_skops
        >>> X = np.random.default_rng(0).normal(size=(20, 3))
        >>> pipe = make_pipeline(StandardScaler(), CosineScorer()).fit(X)
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "pipe.skops"
        >>> dump_skops(pipe, path)
        >>> loaded = load_skops(path)
        >>> bool(np.array_equal(loaded.decision_function(X), pipe.decision_function(X)))
        True
    """
    sio = _skops_io()
    allowed = get_skops_trusted_types() + list(trusted or [])
    found = sio.get_untrusted_types(file=file)
    untrusted = _untrusted(found, allowed)
    if untrusted:
        raise TypeError(
            f"{file} holds types that are not trusted: {untrusted}. Pass them as trusted=[...] "
            "only if you know what they are; files holding torch networks cannot be loaded "
            "with skops."
        )
    return sio.load(file, trusted=[name for name in found if name in set(allowed)])


# The placeholder sits indented in the docstrings (ruff format keeps it so): the
# coverage text goes in without its own first indent.
dump_skops.__doc__ = dump_skops.__doc__.format(coverage=_COVERAGE.lstrip())
load_skops.__doc__ = load_skops.__doc__.format(coverage=_COVERAGE.lstrip())
