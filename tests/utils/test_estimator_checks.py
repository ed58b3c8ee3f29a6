"""sklasd's own estimator checks: a sound detector passes, each broken one fails its check."""

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.utils import check_random_state

from sklasd.base import BaseDetector
from sklasd.scoring import KNNScorer
from sklasd.utils import estimator_checks as ec
from sklasd.utils.estimator_checks import check_estimator, parametrize_with_checks


class Projection(BaseDetector):
    """Sound toy detector: distance of a random projection to its section's mean."""

    def __init__(self, *, scale=1.0, random_state=None, contamination=0.1, gamma_quantile=0.9):
        super().__init__(contamination=contamination, gamma_quantile=gamma_quantile)
        self.scale = scale
        self.random_state = random_state

    def _draw(self, n_features):
        return check_random_state(self.random_state).normal(size=n_features)

    def _fit(self, X, y, *, section):
        self.w_ = self._draw(X.shape[1])
        index = self._section_indices(section, X.shape[0])
        self.means_ = np.array([(X[index == i] @ self.w_).mean() for i in range(index.max() + 1)])
        return self._score_samples(X, section=section)

    def _score_samples(self, X, *, section):
        index = self._section_indices(section, X.shape[0])
        return -self.scale * np.abs(X @ self.w_ - self.means_[index])


class FitReturnsNone(Projection):
    def fit(self, X, y=None, *, section=None):
        super().fit(X, y, section=section)


class ChangesParamInFit(Projection):
    def _fit(self, X, y, *, section):
        self.scale = self.scale * 2
        return super()._fit(X, y, section=section)


class ScoresBeforeFit(Projection):
    def score_samples(self, X, *, section=None):
        return -np.abs(np.asarray(X, dtype=float)[:, 0])


class UsesGlobalRandomState(Projection):
    def _draw(self, n_features):
        return np.random.normal(size=n_features)  # noqa: NPY002


class IgnoresRandomState(Projection):
    def _draw(self, n_features):
        return np.random.default_rng().normal(size=n_features)


class LosesStateWhenPickled(Projection):
    def __getstate__(self):
        state = super().__getstate__()
        state["w_"] = np.ones_like(state["w_"])
        return state


class ListsBecomeFloat32(Projection):
    def _validate_X(self, X, *, reset):
        if isinstance(X, list):
            X = np.asarray(X, dtype=np.float32)
        return super()._validate_X(X, reset=reset)


class IgnoresSectionWhenScoring(Projection):
    def _score_samples(self, X, *, section):
        return -self.scale * np.abs(X @ self.w_ - self.means_.mean())


class DoesNotRequestSection(Projection):
    __metadata_request__decision_function = {"section": False}  # noqa: RUF012


class IgnoresOffset(Projection):
    def decision_function(self, X, *, section=None):
        return self.score_samples(X, section=section)


class SetParamsIgnoresValues(Projection):
    def set_params(self, **params):
        return self


class ChangesParamInInit(Projection):
    def __init__(self, *, scale=1.0, random_state=None, contamination=0.1, gamma_quantile=0.9):
        super().__init__(
            scale=float(scale) + 1,
            random_state=random_state,
            contamination=contamination,
            gamma_quantile=gamma_quantile,
        )


X = np.random.default_rng(0).normal(size=(24, 3))
SECTION = np.repeat([3, 5], 12)


def run(check, estimator):
    check(
        estimator, X, y=None, fit_params={"section": SECTION}, predict_params={"section": SECTION}
    )


def test_a_sound_detector_passes_every_check():
    check_estimator(Projection(scale=2.0, random_state=0), X, fit_params={"section": SECTION})
    check_estimator(Projection(), X)  # without metadata


def test_scorer_steps_pass_every_check():
    check_estimator(KNNScorer(n_neighbors=2), X, fit_params={"section": SECTION})


@pytest.mark.parametrize(
    "check, estimator, message",
    [
        (ec.check_fit_returns_self, FitReturnsNone(), "fit must return self"),
        (ec.check_fit_returns_self, ChangesParamInFit(), "fit changed the parameters"),
        (ec.check_not_fitted, ScoresBeforeFit(), "score_samples before fit"),
        (ec.check_random_state, UsesGlobalRandomState(), "numpy's global random state"),
        (ec.check_random_state, IgnoresRandomState(), "random_state=0 give different"),
        (ec.check_pickle, LosesStateWhenPickled(random_state=0), "differ after joblib load"),
        (ec.check_list_input, ListsBecomeFloat32(random_state=0), "list input"),
        (ec.check_metadata, IgnoresSectionWhenScoring(random_state=0), "section is ignored"),
        (ec.check_metadata, DoesNotRequestSection(), "'section' is not requested by default"),
        (ec.check_outputs, IgnoresOffset(random_state=0), "score_samples minus the section"),
        (
            ec.check_get_set_params_round_trip,
            SetParamsIgnoresValues(scale=3.0),
            "gives other parameters",
        ),
    ],
)
def test_a_broken_estimator_fails_the_relevant_check(check, estimator, message):
    with pytest.raises(AssertionError, match=message):
        run(check, estimator)


def test_modifying_init_fails_the_clone_checks():
    with pytest.raises((AssertionError, RuntimeError)):
        run(ec.check_sklearn_api, ChangesParamInInit(scale=2.0))
    with pytest.raises(RuntimeError, match="Cannot clone"):
        run(ec.check_clone, ChangesParamInInit(scale=2.0))


def test_check_estimator_names_the_failed_check_and_chains_errors():
    with pytest.raises(AssertionError, match=r"check_pickle failed for LosesStateWhenPickled"):
        check_estimator(LosesStateWhenPickled(random_state=0), X)
    with pytest.raises(
        AssertionError, match=r"check_sklearn_api failed.*RuntimeError: Cannot clone"
    ):
        check_estimator(ChangesParamInInit(), X, fit_params={"section": SECTION})


def test_predict_params_default_to_the_fit_metadata_the_method_takes():
    # Projection's decision_function takes section: scoring then needs it
    check_estimator(Projection(random_state=0), X, fit_params={"section": SECTION})
    # explicitly no predict metadata: scoring a detector fitted with sections fails
    with pytest.raises(AssertionError, match="ValueError: Projection was fitted with sections"):
        check_estimator(Projection(), X, fit_params={"section": SECTION}, predict_params={})


def test_estimators_other_than_detectors_and_transformers_are_refused():
    from sklearn.linear_model import LinearRegression

    with pytest.raises(TypeError, match="neither an outlier detector nor a transformer"):
        check_estimator(LinearRegression(), X)


def test_parametrize_with_checks_builds_one_lazy_test_per_check():
    calls = []

    def data():
        calls.append(1)
        return X

    mark = parametrize_with_checks([(Projection(random_state=0), data, {"section": SECTION})])
    argnames, params = mark.args
    assert argnames == "estimator, check"
    assert [p.id.split("-")[-1] for p in params] == [c.__name__ for c in ec._CHECKS]
    assert params[0].id.startswith("Projection-")
    assert calls == []  # nothing built at collection time
    estimator, check = params[-1].values
    check(estimator)
    assert calls == [1]
    broken, broken_check = parametrize_with_checks([(FitReturnsNone(), X)]).args[1][3].values
    with pytest.raises(AssertionError, match="check_fit_returns_self failed"):
        broken_check(broken)


def test_not_fitted_error_is_what_base_detectors_raise():
    with pytest.raises(NotFittedError):
        Projection().decision_function(X, section=SECTION)


# -- persistence checks ---------------------------------------------------------------


class ForgetsVersionCheck(Projection):
    def __setstate__(self, state):
        state.pop("_sklasd_version", None)
        self.__dict__.update(state)


def test_a_loader_that_skips_the_version_check_fails_check_version_stamp():
    run(ec.check_version_stamp, Projection(random_state=0))
    with pytest.raises(AssertionError, match="must warn InconsistentVersionWarning"):
        run(ec.check_version_stamp, ForgetsVersionCheck(random_state=0))


def test_required_init_parameters_are_kept_in_the_round_trip_check():
    from sklasd.ensemble import ScoreEnsemble

    run(ec.check_get_set_params_round_trip, ScoreEnsemble([("p", Projection())]))


class TinyEmbeddingNet(torch.nn.Module):
    def __init__(self, *, n_classes=2, in_channels=1, input_size=(8, 8), embedding_dim=4):
        super().__init__()
        self.embedding = torch.nn.Linear(
            in_channels * input_size[0] * input_size[1], embedding_dim
        )
        self.head = torch.nn.Linear(embedding_dim, n_classes)

    def embed(self, x):
        return self.embedding(x.flatten(1))

    def forward(self, x):
        return self.head(self.embed(x))


def test_cuda_saved_nets_are_found_and_load_on_the_cpu():
    from sklasd.embedders import NetEmbedder
    from sklasd.training import ClassifierNet

    features = np.random.default_rng(0).normal(size=(8, 1, 8, 12)).astype(np.float32)
    section = np.arange(8) % 2
    embedder = NetEmbedder(
        net=ClassifierNet(TinyEmbeddingNet, max_epochs=1, batch_size=4), n_frames=8, random_state=0
    )
    fitted = embedder.fit(features, section=section)
    nets = list(ec._skorch_nets(fitted, set()))
    assert fitted.net_ in nets
    ec.check_cuda_pickle_loads_on_cpu(
        embedder, features, y=None, fit_params={"section": section}, predict_params={}
    )
    # a detector without nets passes without pickling anything special
    run(ec.check_cuda_pickle_loads_on_cpu, Projection(random_state=0))
