"""Conformance checks for sklasd estimators, on data the caller provides.

scikit-learn's :func:`~sklearn.utils.estimator_checks.check_estimator` feeds
random 2-D tables, which estimators on audio clips (paths or waveforms) cannot
take. As imbalanced-learn does for its samplers, these checks take the data from
the caller, so every public estimator is checked on input it accepts:

- scikit-learn's data-free API checks (default construction, no attributes set
  in ``__init__``, get/set params);
- ``clone``, and a ``get_params``/``set_params`` round trip;
- ``fit`` returns self and leaves the parameters unchanged;
- every output method raises ``NotFittedError`` before ``fit``;
- the outputs follow the outlier contract (detectors) or have one row per clip
  (transformers);
- a joblib round trip (in memory) gives equal outputs;
- the pickled state carries the sklasd version stamp, and loading it under another
  version warns (estimators with :class:`~sklasd.base.VersionStampMixin`);
- a fitted estimator holding skorch nets pickled as if trained on CUDA loads and
  gives equal outputs where CUDA is unavailable;
- fitting twice with ``random_state=0`` gives equal outputs, and numpy's global
  random state is left alone;
- a list and an array of the same clips give equal outputs (a float32 array
  is compared with the list of its values, which become float64: check
  estimators that compute in their input's precision on float64 clips);
- metadata (``section``, ``domain``...) is requested by default, reaches the
  estimator through a :class:`~sklearn.pipeline.Pipeline` with metadata routing,
  and ``section`` is honoured when scoring.

The output compared is ``score_samples`` for outlier detectors and ``transform``
for transformers. Use :func:`check_estimator` directly, or
:func:`parametrize_with_checks` to get one pytest test per check.
"""

from __future__ import annotations

import inspect
import io
import pickle
import warnings
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import Any
from unittest import mock

import joblib
import numpy as np
import sklearn
from sklearn.base import BaseEstimator, clone, is_outlier_detector
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.utils import estimator_checks as sk_checks

from sklasd import _version
from sklasd.base import InconsistentVersionWarning, VersionStampMixin

__all__ = ["check_estimator", "parametrize_with_checks"]

_OUTPUT_METHODS = ("score_samples", "decision_function", "predict", "transform")


# -- helpers -------------------------------------------------------------------------


def _output_method(estimator) -> str:
    """Name of the method whose output the checks compare."""
    if is_outlier_detector(estimator):
        return "score_samples"
    if hasattr(estimator, "transform"):
        return "transform"
    raise TypeError(
        f"{type(estimator).__name__} is neither an outlier detector nor a transformer; "
        "sklasd's estimator checks compare score_samples or transform."
    )


def _accepted(method: Callable, params: dict) -> dict:
    """The entries of ``params`` that ``method`` accepts as keyword arguments."""
    signature = inspect.signature(method).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.values()):
        return dict(params)
    return {name: value for name, value in params.items() if name in signature}


def _routed_method(estimator) -> str:
    """The output method a Pipeline routes metadata to (score_samples takes none)."""
    return "decision_function" if is_outlier_detector(estimator) else "transform"


def _output(estimator, X, predict_params: dict, method: str | None = None) -> np.ndarray:
    """Output of ``method`` (default: the compared output) on X."""
    method = getattr(estimator, method or _output_method(estimator))
    return np.asarray(method(X, **_accepted(method, predict_params)))


def _fit(estimator, X, y, fit_params: dict):
    return estimator.fit(X, y, **fit_params)


def _seeded(estimator):
    """A clone with ``random_state=0`` where the estimator has that parameter."""
    estimator = clone(estimator)
    if "random_state" in estimator.get_params(deep=False):
        estimator.set_params(random_state=0)
    return estimator


def _params_hash(estimator, deep: bool = False) -> str:
    return joblib.hash(estimator.get_params(deep=deep))


def _as_list(X) -> list:
    """The same clips as a (nested) Python list."""
    return X.tolist() if isinstance(X, np.ndarray) else list(X)


def _as_array(X) -> np.ndarray:
    """The same clips as a numpy array (paths become an array of str)."""
    return np.asarray(X if isinstance(X, np.ndarray) else list(X))


# -- the checks ----------------------------------------------------------------------
# Every check has the signature (estimator, X, *, y, fit_params, predict_params).


def check_sklearn_api(estimator, X, *, y, fit_params, predict_params) -> None:
    """scikit-learn's data-free API checks (construction and get/set params)."""
    name = type(estimator).__name__
    for check in (
        sk_checks.check_parameters_default_constructible,
        sk_checks.check_no_attributes_set_in_init,
        sk_checks.check_get_params_invariance,
        sk_checks.check_set_params,
    ):
        check(name, estimator)


def check_clone(estimator, X, *, y, fit_params, predict_params) -> None:
    """clone gives an equal, distinct, unfitted estimator (also of a fitted one)."""
    cloned = clone(estimator)
    assert type(cloned) is type(estimator) and cloned is not estimator
    assert _params_hash(cloned, deep=True) == _params_hash(estimator, deep=True), (
        "clone(estimator).get_params() differs from estimator.get_params()"
    )
    fitted = _fit(clone(estimator), X, y, fit_params)
    try:
        _output(clone(fitted), X, predict_params)
    except NotFittedError:
        return
    raise AssertionError("the clone of a fitted estimator is fitted: clone must drop fitted state")


def check_get_set_params_round_trip(estimator, X, *, y, fit_params, predict_params) -> None:
    """set_params(**get_params()) on a default instance reproduces the estimator."""
    params = estimator.get_params(deep=False)
    blank = type(estimator)(**_required_params(estimator, params))
    assert blank.set_params(**params) is blank, "set_params must return self"
    assert _params_hash(blank) == joblib.hash(params), (
        "type(estimator)().set_params(**estimator.get_params()) gives other parameters"
    )
    deep = clone(estimator)
    deep.set_params(**estimator.get_params(deep=True))
    assert _params_hash(deep, deep=True) == _params_hash(estimator, deep=True), (
        "set_params(**get_params(deep=True)) changes the parameters"
    )


def _required_params(estimator, params: dict) -> dict:
    """The values in ``params`` of the __init__ parameters without a default."""
    signature = inspect.signature(type(estimator).__init__).parameters
    return {
        name: params[name]
        for name, parameter in signature.items()
        if name in params and parameter.default is inspect.Parameter.empty
    }


def check_fit_returns_self(estimator, X, *, y, fit_params, predict_params) -> None:
    """fit returns the estimator itself and leaves its parameters unchanged."""
    estimator = clone(estimator)
    before = _params_hash(estimator, deep=True)
    assert _fit(estimator, X, y, fit_params) is estimator, "fit must return self"
    assert _params_hash(estimator, deep=True) == before, "fit changed the parameters"


def check_not_fitted(estimator, X, *, y, fit_params, predict_params) -> None:
    """Every output method raises NotFittedError before fit."""
    estimator = clone(estimator)
    for name in _OUTPUT_METHODS:
        if not hasattr(estimator, name):
            continue
        try:
            _output(estimator, X, predict_params, method=name)
        except NotFittedError:
            continue
        raise AssertionError(f"{name} before fit must raise NotFittedError")


def check_outputs(estimator, X, *, y, fit_params, predict_params) -> None:
    """Outlier contract for detectors; one output row per clip for transformers."""
    estimator = _fit(clone(estimator), X, y, fit_params)
    output = _output(estimator, X, predict_params)
    n_samples = len(X)
    assert output.shape[0] == n_samples, f"output has {output.shape[0]} rows for {n_samples} clips"
    if not is_outlier_detector(estimator):
        return
    assert output.shape == (n_samples,) and output.dtype.kind == "f", (
        f"score_samples must be floats of shape ({n_samples},), got {output.dtype} {output.shape}"
    )
    decision = _output(estimator, X, predict_params, method="decision_function")
    labels = _output(estimator, X, predict_params, method="predict")
    offsets = output - decision
    assert np.all(np.isin(np.unique(labels), [-1, 1])) and labels.dtype.kind == "i", (
        "predict must return integers +1 / -1"
    )
    np.testing.assert_array_equal(
        labels, np.where(decision < 0, -1, 1), err_msg="predict disagrees with decision_function"
    )
    np.testing.assert_allclose(
        offsets,
        np.atleast_1d(estimator.offset_)[_offset_index(estimator, predict_params, n_samples)],
        err_msg="decision_function is not score_samples minus the section's offset_",
    )


def _offset_index(estimator, predict_params: dict, n_samples: int) -> np.ndarray:
    """Index into offset_ of every clip: the clip's section where there are sections."""
    sections = getattr(estimator, "sections_", None)
    if sections is None or predict_params.get("section") is None:
        return np.zeros(n_samples, dtype=int)
    return np.searchsorted(sections, np.asarray(predict_params["section"]))


def check_pickle(estimator, X, *, y, fit_params, predict_params) -> None:
    """A joblib dump/load round trip (in memory) gives equal outputs."""
    estimator = _fit(_seeded(estimator), X, y, fit_params)
    expected = _output(estimator, X, predict_params)
    buffer = io.BytesIO()
    joblib.dump(estimator, buffer)
    buffer.seek(0)
    loaded = joblib.load(buffer)
    np.testing.assert_array_equal(
        _output(loaded, X, predict_params), expected, err_msg="outputs differ after joblib load"
    )


def check_version_stamp(estimator, X, *, y, fit_params, predict_params) -> None:
    """The pickle holds the sklasd version; another version warns when loading it."""
    if not isinstance(estimator, VersionStampMixin):
        return
    fitted = _fit(_seeded(estimator), X, y, fit_params)
    payload = pickle.dumps(fitted)
    with warnings.catch_warnings():
        warnings.simplefilter("error", InconsistentVersionWarning)
        pickle.loads(payload)  # the same version: no warning
    with mock.patch.object(_version, "__version__", "0.0.0-other"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            pickle.loads(payload)
    stamps = [w.message for w in caught if issubclass(w.category, InconsistentVersionWarning)]
    assert stamps and stamps[0].original_sklasd_version == _version.__version__, (
        "loading a pickle under another sklasd version must warn InconsistentVersionWarning "
        "naming the version that saved it"
    )


def _skorch_nets(obj, seen: set[int]) -> Iterator[Any]:
    """The skorch nets reachable from ``obj`` through attributes and containers."""
    from skorch import NeuralNet

    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, NeuralNet):
        yield obj
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            yield from _skorch_nets(item, seen)
    elif isinstance(obj, dict):
        for item in obj.values():
            yield from _skorch_nets(item, seen)
    elif isinstance(obj, BaseEstimator):
        yield from _skorch_nets(vars(obj), seen)


def check_cuda_pickle_loads_on_cpu(estimator, X, *, y, fit_params, predict_params) -> None:
    """Nets pickled as if trained on CUDA load on a machine without CUDA, same outputs.

    Every skorch net of the fitted estimator gets ``device="cuda"`` and is pickled
    with its tensors tagged ``"cuda:0"`` (the bytes a CUDA-trained model gives);
    loading with CUDA unavailable must move the nets to the CPU and score the same.
    Estimators without skorch nets pass.
    """
    import torch

    fitted = _fit(_seeded(estimator), X, y, fit_params)
    nets = [net for net in _skorch_nets(fitted, set()) if getattr(net, "initialized_", False)]
    if not nets:
        return
    expected = _output(fitted, X, predict_params)
    for net in nets:
        net.device = "cuda"
    with mock.patch.object(torch.serialization, "location_tag", return_value="cuda:0"):
        payload = pickle.dumps(fitted)
    with mock.patch("torch.cuda.is_available", return_value=False):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # skorch's DeviceWarning: moved to the CPU
            loaded = pickle.loads(payload)
    devices = {
        str(net.device)
        for net in _skorch_nets(loaded, set())
        if getattr(net, "initialized_", False)
    }
    assert devices == {"cpu"}, f"nets saved on CUDA load on devices {sorted(devices)}"
    np.testing.assert_array_equal(
        _output(loaded, X, predict_params),
        expected,
        err_msg="outputs differ after loading a CUDA-saved model on the CPU",
    )


def check_random_state(estimator, X, *, y, fit_params, predict_params) -> None:
    """random_state=0 makes fit deterministic; numpy's global random state is untouched."""
    # Reading the legacy global state is the point: sklasd code must not draw from it.
    global_state = joblib.hash(np.random.get_state())  # noqa: NPY002
    first = _output(_fit(_seeded(estimator), X, y, fit_params), X, predict_params)
    assert joblib.hash(np.random.get_state()) == global_state, (  # noqa: NPY002
        "fit or scoring used numpy's global random state; draw from random_state instead"
    )
    if "random_state" not in estimator.get_params(deep=False):
        return
    second = _output(_fit(_seeded(estimator), X, y, fit_params), X, predict_params)
    np.testing.assert_array_equal(
        first, second, err_msg="two fits with random_state=0 give different outputs"
    )


def check_list_input(estimator, X, *, y, fit_params, predict_params) -> None:
    """A list and an array of the same clips give equal outputs, in fit and in scoring."""
    as_array, as_list = _as_array(X), _as_list(X)
    fitted = _fit(_seeded(estimator), as_array, y, fit_params)
    expected = _output(fitted, as_array, predict_params)
    np.testing.assert_array_equal(
        _output(fitted, as_list, predict_params), expected, err_msg="list input scores differently"
    )
    fitted_on_list = _fit(_seeded(estimator), as_list, y, fit_params)
    np.testing.assert_array_equal(
        _output(fitted_on_list, as_array, predict_params),
        expected,
        err_msg="fitting on a list gives other outputs than fitting on an array",
    )


def check_metadata(estimator, X, *, y, fit_params, predict_params) -> None:
    """Metadata is requested by default, routed by a Pipeline, and section is honoured."""
    if not fit_params and not predict_params:
        return
    routed_method = _routed_method(estimator)
    routing = estimator.get_metadata_routing()
    for method, params in (("fit", fit_params), (routed_method, predict_params)):
        consumed = routing.consumes(method, list(params))  # routers: self or a child
        for key in params:
            assert key in consumed, (
                f"{key!r} is not requested by default in {method} "
                f"(set __metadata_request__{method} = {{{key!r}: True}})"
            )
    direct = _fit(_seeded(estimator), X, y, fit_params)
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = Pipeline([("estimator", _seeded(estimator))]).fit(X, y, **fit_params)
        routed = getattr(pipe, routed_method)(X, **predict_params)
    np.testing.assert_array_equal(
        routed,
        _output(direct, X, predict_params, method=routed_method),
        err_msg=f"Pipeline with metadata routing gives other {routed_method} outputs",
    )
    if "section" in fit_params and "section" in predict_params:
        _check_section_honoured(direct, X, predict_params)


def _check_section_honoured(estimator, X, predict_params: dict) -> None:
    section = np.asarray(predict_params["section"])
    distinct = np.unique(section)
    others = {k: v for k, v in predict_params.items() if k != "section"}
    for bad_section, problem in (
        (None, "scoring without section after fitting with sections"),
        (np.full(len(section), _unseen(distinct)), "scoring a section not seen in fit"),
    ):
        try:
            _output(estimator, X, {**others, "section": bad_section})
        except ValueError as error:
            if bad_section is not None:
                assert str(bad_section[0]) in str(error), (
                    f"the error for an unseen section does not name it: {error}"
                )
            continue
        raise AssertionError(f"{problem} must raise ValueError")
    if len(distinct) < 2:
        return
    shifted = distinct[(np.searchsorted(distinct, section) + 1) % len(distinct)]
    assert not np.allclose(
        _output(estimator, X, {**others, "section": shifted}),
        _output(estimator, X, predict_params),
    ), "outputs do not change when the clips' sections change: section is ignored"


def _unseen(sections: np.ndarray) -> Any:
    """A section value of the same kind as ``sections`` that is not among them."""
    if sections.dtype.kind in "iuf":
        return sections.max() + 1
    return "unseen_section"


_CHECKS = (
    check_sklearn_api,
    check_clone,
    check_get_set_params_round_trip,
    check_fit_returns_self,
    check_not_fitted,
    check_outputs,
    check_pickle,
    check_version_stamp,
    check_cuda_pickle_loads_on_cpu,
    check_random_state,
    check_list_input,
    check_metadata,
)


# -- runners -------------------------------------------------------------------------


def _yield_checks(estimator) -> Iterator[Callable]:
    """The checks that apply to ``estimator``."""
    _output_method(estimator)  # fails early for unsupported estimators
    yield from _CHECKS


def check_estimator(
    estimator: Any,
    X: Any,
    *,
    y: Any = None,
    fit_params: dict | None = None,
    predict_params: dict | None = None,
) -> None:
    """Run all sklasd conformance checks on ``estimator`` with the given data.

    Parameters
    ----------
    estimator : estimator instance
        An outlier detector (its ``score_samples`` is compared) or a transformer
        (its ``transform`` is compared). It is cloned, never modified.
    X : array-like or sequence of paths
        Clips the estimator accepts, small enough to fit in a second.
    y : array-like of shape (n_clips,), default=None
        Passed to ``fit``.
    fit_params : dict, default=None
        Metadata passed to ``fit`` (e.g. ``{"section": section}``).
    predict_params : dict, default=None
        Metadata passed to the output methods; None means the entries of
        ``fit_params`` that each method accepts.

    Raises
    ------
    AssertionError
        Naming the failed check and what went wrong (also for errors the
        estimator raised during a check, which are chained).

    See Also
    --------
    parametrize_with_checks : One pytest test per check and estimator.

    Examples
    --------
    >>> import numpy as np
    >>> from sklasd.scoring import KNNScorer
    >>> from sklasd.utils.estimator_checks import check_estimator
    >>> X = np.random.default_rng(0).normal(size=(20, 3))
    >>> check_estimator(KNNScorer(), X, fit_params={"section": np.repeat([0, 1], 10)})
    """
    for check in _yield_checks(estimator):
        _run(check, estimator, X, y=y, fit_params=fit_params, predict_params=predict_params)


def _run(check, estimator, X, *, y, fit_params, predict_params) -> None:
    fit_params = dict(fit_params or {})
    if predict_params is None:
        predict_params = _accepted(getattr(estimator, _routed_method(estimator)), fit_params)
    try:
        check(estimator, X, y=y, fit_params=fit_params, predict_params=predict_params)
    except Exception as error:
        raise AssertionError(
            f"{check.__name__} failed for {estimator!r}: {type(error).__name__}: {error}"
        ) from error


def _resolve(data):
    return data() if callable(data) else data


def _run_case(estimator, *, check, data, y, metadata) -> None:
    """Run one check of one case, building the data lazily (at test time)."""
    _run(
        check,
        estimator,
        _resolve(data),
        y=_resolve(y),
        fit_params=_resolve(metadata),
        predict_params=None,
    )


def parametrize_with_checks(cases: Iterable[tuple]) -> Any:
    """Pytest decorator running every check on every case, one test each.

    Parameters
    ----------
    cases : iterable of tuple
        Each case is ``(estimator, X)``, ``(estimator, X, metadata)`` or
        ``(estimator, X, metadata, y)``. ``X`` (and ``metadata``, ``y``) may be
        zero-argument callables, called when the test runs so that collecting
        tests stays cheap. ``metadata`` is a dict of per-clip arrays passed to
        ``fit``; the output methods get the entries they accept.

    Returns
    -------
    decorator : pytest.mark.parametrize
        Parametrizes the arguments ``estimator`` and ``check``; the test calls
        ``check(estimator)``.

    See Also
    --------
    check_estimator : Run all checks at once.

    Examples
    --------
    >>> import numpy as np
    >>> from sklasd.scoring import CosineScorer
    >>> from sklasd.utils.estimator_checks import parametrize_with_checks
    >>> def data():
    ...     return np.random.default_rng(0).normal(size=(20, 3))
    >>> @parametrize_with_checks([(CosineScorer(), data, {"section": [0, 1] * 10})])
    ... def test_sklasd_compatible(estimator, check):
    ...     check(estimator)
    """
    import pytest

    params = []
    cases = list(cases)
    names = [type(case[0]).__name__ for case in cases]
    for index, case in enumerate(cases):
        estimator, data, metadata, y = (*case, None, None)[:4]
        # Ids name the class (and the case's position when a class recurs), not the
        # repr: a skorch net's repr shows a set whose order changes from process to
        # process, and pytest-xdist needs the same ids in every worker.
        name = names[index] if names.count(names[index]) == 1 else f"{names[index]}{index}"
        for check in _yield_checks(estimator):
            bound = partial(_run_case, check=check, data=data, y=y, metadata=metadata)
            params.append(pytest.param(estimator, bound, id=f"{name}-{check.__name__}"))
    return pytest.mark.parametrize("estimator, check", params)
