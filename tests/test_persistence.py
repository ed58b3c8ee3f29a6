"""Persistence guarantees: version stamps, checks on every public estimator, skops loading."""

import ast
import importlib
import inspect
import pickle
import pkgutil
import warnings
from pathlib import Path
from unittest import mock

import joblib
import numpy as np
import pytest
import sklearn
from sklearn.base import BaseEstimator, OutlierMixin, TransformerMixin
from sklearn.pipeline import make_pipeline

import sklasd
from sklasd import _version
from sklasd.base import InconsistentVersionWarning, VersionStampMixin
from sklasd.datasets import make_machine_sounds
from sklasd.ensemble import ScoreEnsemble
from sklasd.features import LogMel, TimePooling
from sklasd.scoring import CosineScorer, KNNScorer, MahalanobisScorer
from sklasd.utils import dump_skops, get_skops_trusted_types, load_skops

skops_io = pytest.importorskip("skops.io")

TESTS = Path(__file__).parent
CHECK_RUNNERS = {"check_estimator", "parametrize_with_checks"}


def public_estimator_classes() -> dict[str, type]:
    """The concrete detectors and transformers in the ``__all__`` of the sklasd subpackages.

    Not the skorch nets and augmentations: they are parameters of these estimators
    (pickled, checked and stamped with them), not models users save on their own.
    """
    classes = {}
    for info in pkgutil.iter_modules(sklasd.__path__, "sklasd."):
        if not info.ispkg:  # sklasd.base (abstract), sklasd.cli, sklasd.__main__
            continue
        module = importlib.import_module(info.name)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if (
                isinstance(obj, type)
                and issubclass(obj, BaseEstimator)
                and (issubclass(obj, OutlierMixin) or hasattr(obj, "transform"))
                and not inspect.isabstract(obj)
            ):
                classes[name] = obj
    return classes


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | {
        n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)
    }


def _functions(tree: ast.Module) -> dict[str, ast.AST]:
    return {
        node.name: node
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    }


def names_in_estimator_checks() -> set[str]:
    """Names reachable from the check_estimator / parametrize_with_checks calls of the tests.

    The arguments of every such call, and, transitively, the bodies of the module's
    own functions and of its conftest fixtures (``make_detector(...)``) they call.
    """
    found = set()
    for path in TESTS.rglob("test_*.py"):
        tree = ast.parse(path.read_text())
        functions = {}
        for conftest in [*path.parent.glob("conftest.py"), TESTS / "conftest.py"]:
            functions.update(_functions(ast.parse(conftest.read_text())))
        functions.update(_functions(tree))
        pending = [
            argument
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and _names(node.func) & CHECK_RUNNERS
            for argument in [*node.args, *(k.value for k in node.keywords)]
        ]
        seen = set()
        while pending:
            names = _names(pending.pop()) - seen
            seen |= names
            pending.extend(functions[name] for name in names if name in functions)
        found |= seen
    return found


def test_every_public_estimator_runs_the_sklasd_checks_somewhere_in_the_tests():
    """The checks include the joblib round trip, version stamp and CUDA -> CPU loading."""
    checked = names_in_estimator_checks()
    estimators = set(public_estimator_classes())
    assert {"KNNScorer", "ScoreEnsemble", "IDClassifierDetector", "LogMel"} <= estimators
    missing = sorted(estimators - checked)
    assert not missing, (
        f"public estimators never given to check_estimator / parametrize_with_checks in "
        f"the tests: {missing}"
    )


def test_every_public_estimator_stamps_its_version():
    unstamped = sorted(
        f"{cls.__module__}.{name}"
        for name, cls in public_estimator_classes().items()
        if not issubclass(cls, VersionStampMixin)
    )
    assert not unstamped, f"add sklasd.base.VersionStampMixin as the first base of: {unstamped}"


# -- the version stamp -----------------------------------------------------------------


@pytest.fixture
def fitted_pipeline():
    X, meta = make_machine_sounds(
        machine_types="fan", n_train=6, n_test=2, duration=1.0, random_state=0
    )
    section = meta["section"].to_numpy()
    pipe = make_pipeline(LogMel(n_mels=16), TimePooling(), KNNScorer())
    with sklearn.config_context(enable_metadata_routing=True):
        pipe.fit(X, section=section)
    return pipe, X, section


def decision(pipe, X, section):
    with sklearn.config_context(enable_metadata_routing=True):
        return pipe.decision_function(X, section=section)


def test_loading_under_another_version_warns_with_both_versions(tmp_path):
    scorer = KNNScorer().fit(np.random.default_rng(0).normal(size=(10, 2)))
    joblib.dump(scorer, tmp_path / "scorer.joblib")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        joblib.load(tmp_path / "scorer.joblib")
    with mock.patch.object(_version, "__version__", "9.9"):
        with pytest.warns(InconsistentVersionWarning) as caught:
            loaded = joblib.load(tmp_path / "scorer.joblib")
    warning = caught[0].message
    assert (warning.original_sklasd_version, warning.current_sklasd_version) == (
        sklasd.__version__,
        "9.9",
    )
    assert "KNNScorer" in str(warning) and "refit" in str(warning)
    assert "_sklasd_version" not in vars(loaded)


def test_a_pickle_without_stamp_warns_unknown_version():
    scorer = KNNScorer()
    state = {k: v for k, v in scorer.__getstate__().items() if k != "_sklasd_version"}
    with pytest.warns(InconsistentVersionWarning, match="version unknown"):
        KNNScorer.__new__(KNNScorer).__setstate__(state)


# -- skops -----------------------------------------------------------------------------


def test_skops_round_trip_of_a_scorer_pipeline(fitted_pipeline, tmp_path):
    pipe, X, section = fitted_pipeline
    dump_skops(pipe, tmp_path / "pipe.skops")
    loaded = load_skops(tmp_path / "pipe.skops")
    np.testing.assert_array_equal(decision(loaded, X, section), decision(pipe, X, section))
    with mock.patch.object(_version, "__version__", "9.9"):
        with pytest.warns(InconsistentVersionWarning):
            load_skops(tmp_path / "pipe.skops")


def test_skops_round_trip_of_an_ensemble(tmp_path):
    rng = np.random.default_rng(0)
    X, section = rng.normal(size=(40, 3)), np.repeat([0, 1], 20)
    ensemble = ScoreEnsemble(
        [("knn", KNNScorer()), ("cos", CosineScorer()), ("maha", MahalanobisScorer())],
        combine="product",
    ).fit(X, section=section)
    dump_skops(ensemble, tmp_path / "ensemble.skops")
    loaded = load_skops(tmp_path / "ensemble.skops")
    np.testing.assert_array_equal(
        loaded.decision_function(X, section=section),
        ensemble.decision_function(X, section=section),
    )


class Unknown(TransformerMixin, BaseEstimator):
    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return X


def test_load_skops_refuses_untrusted_types_unless_named(tmp_path):
    path = tmp_path / "unknown.skops"
    skops_io.dump(make_pipeline(Unknown(), KNNScorer()), path)
    name = f"{__name__}.Unknown"
    with pytest.raises(TypeError, match=r"not trusted: \[.*Unknown"):
        load_skops(path)
    assert type(load_skops(path, trusted=[name])[0]).__name__ == "Unknown"


def test_dump_skops_refuses_torch_networks_before_writing(tmp_path):
    from sklasd.embedders import NetEmbedder
    from sklasd.training import ClassifierNet

    embedder = NetEmbedder(net=ClassifierNet(torch_module()))
    with pytest.raises(TypeError, match=r"ClassifierNet.*torch networks are not covered"):
        dump_skops(embedder, tmp_path / "net.skops")
    assert not (tmp_path / "net.skops").exists()


def torch_module():
    import torch

    return torch.nn.Linear


def test_trusted_types_are_sklasd_estimators_but_not_skorch_nets():
    trusted = get_skops_trusted_types()
    assert "sklasd.features._logmel.LogMel" in trusted
    assert "sklasd.ensemble._score.ScoreEnsemble" in trusted
    assert not [name for name in trusted if name.endswith(("ClassifierNet", "BinaryNet"))]
    assert all(name.startswith(("sklasd.", "sklearn.")) for name in trusted)


def test_pickled_detectors_keep_their_scores_with_the_stamp(fitted_pipeline):
    pipe, X, section = fitted_pipeline
    loaded = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(decision(loaded, X, section), decision(pipe, X, section))
