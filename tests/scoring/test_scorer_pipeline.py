"""Scorer steps at the end of a Pipeline: metadata routing, GridSearchCV, joblib."""

import io

import joblib
import numpy as np
import pytest
import sklearn
from numpy.testing import assert_array_equal
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.metadata_routing import _MetadataRequester

from sklasd.scoring import CosineScorer, KNNScorer, MahalanobisScorer, OneClassSVMScorer


@pytest.fixture
def clips():
    """Two sections of normal clips, and a test set with anomalies in both."""
    rng = np.random.default_rng(0)
    centres = {0: np.zeros(5), 1: np.full(5, 4.0)}
    section = np.repeat([0, 1], 40)
    X = np.stack([centres[s] + rng.normal(size=5) for s in section])
    y = np.tile([0] * 30 + [1] * 10, 2)
    X[y == 1] += rng.choice([-3.0, 3.0], size=(20, 5))  # anomalies are off-centre
    domain = np.tile(["source", "target"], 40)
    return X, y, section, domain


SCORERS = [CosineScorer(), KNNScorer(n_neighbors=2), MahalanobisScorer(), OneClassSVMScorer()]


@pytest.mark.parametrize("scorer", SCORERS)
def test_pipeline_routes_section_to_the_scorer_step(clips, scorer):
    X, y, section, domain = clips
    train = y == 0
    direct = make_pipeline(StandardScaler(), scorer)
    metadata = {"section": section[train]}
    if isinstance(scorer, MahalanobisScorer):  # the only step here that requests domain
        metadata["domain"] = domain[train]
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_pipeline(StandardScaler(), scorer).fit(X[train], **metadata)
        routed = pipe.decision_function(X, section=section)
        routed_labels = pipe.predict(X, section=section)
    step = pipe[-1]
    assert_array_equal(step.sections_, [0, 1])
    Xt = pipe[0].transform(X)
    assert_array_equal(routed, step.decision_function(Xt, section=section))
    assert_array_equal(routed_labels, step.predict(Xt, section=section))
    # the routed scores separate the anomalies
    assert roc_auc_score(y, -routed) > 0.9
    if isinstance(scorer, MahalanobisScorer):  # domain reached fit
        assert_array_equal(step.domains_[0], ["source", "target"])
    # without routing, the metadata has no way in
    with pytest.raises(ValueError, match="does not accept the section"):
        direct.fit(X[train], section=section[train])


@pytest.mark.parametrize("scorer", SCORERS)
def test_joblib_round_trip_gives_identical_scores(clips, scorer):
    X, y, section, _ = clips
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_pipeline(StandardScaler(), scorer).fit(X[y == 0], section=section[y == 0])
        buffer = io.BytesIO()
        joblib.dump(pipe, buffer)
        buffer.seek(0)
        loaded = joblib.load(buffer)
        assert_array_equal(
            loaded.decision_function(X, section=section),
            pipe.decision_function(X, section=section),
        )


class SectionAUC(_MetadataRequester):
    """Minimal scorer: AUC of -decision_function, computed with the clips' sections."""

    __metadata_request__score = {"section": True}  # noqa: RUF012

    def score(self, estimator, X, y, section=None):
        return roc_auc_score(y, -estimator.decision_function(X, section=section))

    __call__ = score


def test_grid_search_routes_section_to_fit_and_scorer(clips):
    X, y, section, _ = clips
    # normal-only training folds, test folds with both classes and both sections
    normal, anomalous = np.flatnonzero(y == 0), np.flatnonzero(y == 1)
    folds = [
        (np.setdiff1d(normal, normal[k::3]), np.concatenate([normal[k::3], anomalous]))
        for k in range(3)
    ]
    pipe = make_pipeline(StandardScaler(), KNNScorer())
    search = GridSearchCV(
        pipe, {"knnscorer__n_neighbors": [1, 3]}, scoring=SectionAUC(), cv=folds, refit=False
    )
    with sklearn.config_context(enable_metadata_routing=True):
        search.fit(X, y, section=section)
    assert np.all(search.cv_results_["mean_test_score"] > 0.9)
    # the sections were used: scoring every clip as section 0 changes the fold scores
    shuffled = GridSearchCV(
        pipe, {"knnscorer__n_neighbors": [1, 3]}, scoring=SectionAUC(), cv=folds, refit=False
    )
    with sklearn.config_context(enable_metadata_routing=True):
        shuffled.fit(X, y, section=np.zeros_like(section))
    assert not np.allclose(
        shuffled.cv_results_["mean_test_score"], search.cv_results_["mean_test_score"]
    )


def test_pipeline_fit_predict_routes_metadata(clips):
    X, y, section, domain = clips
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_pipeline(StandardScaler(), MahalanobisScorer(contamination=0.1))
        labels = pipe.fit_predict(X[y == 0], section=section[y == 0], domain=domain[y == 0])
    assert_array_equal(pipe[-1].domains_[1], ["source", "target"])
    assert (labels[section[y == 0] == 0] == -1).sum() == 3  # 10 % of each section
    assert (labels[section[y == 0] == 1] == -1).sum() == 3
