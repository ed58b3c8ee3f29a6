"""ScoreEnsemble: normalisation on training scores, combination rules, routing, search."""

import numpy as np
import pytest
import scipy.stats
import sklearn
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklasd.ensemble import ScoreEnsemble
from sklasd.metrics import make_asd_scorer
from sklasd.model_selection import NormalOnlyKFold
from sklasd.scoring import CosineScorer, KNNScorer, MahalanobisScorer, OneClassSVMScorer
from sklasd.utils.estimator_checks import parametrize_with_checks

SECTION = np.repeat([0, 1], 15)
TYPES = np.tile(np.repeat(["fan", "pump"], 5), 3)


def embeddings():
    rng = np.random.default_rng(0)
    return rng.normal(size=(30, 3)) * (1 + SECTION[:, None]) + 4 * SECTION[:, None]


def members():
    return [("knn", KNNScorer(n_neighbors=2)), ("maha", MahalanobisScorer())]


@parametrize_with_checks(
    [
        (ScoreEnsemble(members()), embeddings, {"section": SECTION}),
        (ScoreEnsemble(members(), combine="product", weights=[2, 1]), embeddings),
        (
            ScoreEnsemble(members(), combine="rank", contamination=0.1),
            embeddings,
            {"section": SECTION},
        ),
    ]
)
def test_sklasd_compatible(estimator, check):
    check(estimator)


def data(n_train=40, n_test=30, seed=0):
    """Two sections; test clips: normals like training and anomalies shifted by 3."""
    rng = np.random.default_rng(seed)
    X_train = rng.normal(size=(n_train, 4))
    y_test = np.r_[np.zeros(n_test // 2, int), np.ones(n_test - n_test // 2, int)]
    X_test = rng.normal(size=(n_test, 4)) + 3.0 * y_test[:, None]
    return X_train, np.arange(n_train) % 2, X_test, np.arange(n_test) % 2, y_test


def test_normalisation_is_fitted_on_the_members_leave_one_out_training_scores():
    X, s, X_test, s_test, _ = data()
    ensemble = ScoreEnsemble(members(), combine="sum").fit(X, section=s)
    knn = KNNScorer(n_neighbors=2).fit(X, section=s)
    loo = ensemble.training_scores_[:, 0]  # rows: normal training clips in order
    # leave-one-out: not the in-sample scores (each clip would be its own neighbour)
    assert not np.allclose(loo, -knn.decision_function(X, section=s))
    for group in (0, 1):
        rows = ensemble.training_groups_ == group
        z = (-knn.decision_function(X_test, section=s_test) - loo[rows].mean()) / loo[rows].std()
        np.testing.assert_allclose(
            ensemble.member_scores(X_test, section=s_test)[s_test == group, 0], z[s_test == group]
        )


@pytest.mark.parametrize("combine", ["sum", "mean", "rank", "product"])
def test_each_combination_rule_matches_its_formula(combine):
    X, s, X_test, s_test, y_test = data()
    weights = [3.0, 1.0]
    ensemble = ScoreEnsemble(members(), combine=combine, weights=weights).fit(X, section=s)
    raw = np.column_stack(
        [-m.decision_function(X_test, section=s_test) for m in ensemble.estimators_]
    )
    values = np.empty_like(raw)
    for group in (0, 1):
        reference = ensemble.training_scores_[ensemble.training_groups_ == group]
        rows = s_test == group
        if combine == "rank":
            values[rows] = np.column_stack(
                [
                    scipy.stats.percentileofscore(reference[:, m], raw[rows, m], kind="mean") / 100
                    for m in range(2)
                ]
            )
        else:
            z = (raw[rows] - reference.mean(0)) / reference.std(0)
            values[rows] = -scipy.stats.norm.logsf(z) if combine == "product" else z
    expected = values @ weights
    if combine in ("mean", "rank"):
        expected /= sum(weights)
    np.testing.assert_allclose(-ensemble.score_samples(X_test, section=s_test), expected)
    np.testing.assert_allclose(ensemble.member_scores(X_test, section=s_test), values)
    # the anomalies (shifted) get higher ensemble anomaly scores
    assert expected[y_test == 1].mean() > expected[y_test == 0].mean()


def test_product_is_finite_far_in_the_tail():
    X, s, X_test, s_test, _ = data()
    ensemble = ScoreEnsemble(members(), combine="product").fit(X, section=s)
    far = ensemble.score_samples(X_test + 100.0, section=s_test)
    assert np.isfinite(far).all() and (far < ensemble.score_samples(X_test, section=s_test)).all()


@pytest.mark.parametrize("normalize", ["minmax", None])
def test_minmax_and_raw_normalisations(normalize):
    X, s, X_test, s_test, _ = data()
    ensemble = ScoreEnsemble(members(), combine="sum", normalize=normalize).fit(X, section=s)
    raw = np.column_stack(
        [-m.decision_function(X_test, section=s_test) for m in ensemble.estimators_]
    )
    values = ensemble.member_scores(X_test, section=s_test)
    if normalize is None:
        np.testing.assert_allclose(values, raw)
        return
    reference = ensemble.training_scores_[ensemble.training_groups_ == 0]
    low, high = reference.min(0), reference.max(0)
    np.testing.assert_allclose(values[s_test == 0], (raw[s_test == 0] - low) / (high - low))


def test_a_clip_scores_the_same_alone_or_in_a_batch():
    X, s, X_test, s_test, _ = data()
    ensemble = ScoreEnsemble(members(), combine="rank").fit(X, section=s)
    batch = ensemble.decision_function(X_test, section=s_test)
    alone = [
        ensemble.decision_function(X_test[i : i + 1], section=s_test[i : i + 1])[0]
        for i in range(3)
    ]
    np.testing.assert_allclose(alone, batch[:3])


def test_anomalous_training_clips_are_left_out_of_the_normalisation():
    X, s, X_test, s_test, y_test = data()
    X_all, s_all = np.r_[X, X_test], np.r_[s, s_test]
    y_all = np.r_[np.zeros(len(X), int), y_test]
    ensemble = ScoreEnsemble(members()).fit(X_all, y_all, section=s_all)
    assert ensemble.training_scores_.shape == ((y_all == 0).sum(), 2)


def test_pipeline_members_get_metadata_through_routing():
    X, s, X_test, s_test, _ = data()
    pipe = make_pipeline(StandardScaler(), CosineScorer())
    ensemble = ScoreEnsemble([("cos", pipe), ("knn", KNNScorer())])
    with sklearn.config_context(enable_metadata_routing=True):
        ensemble.fit(X, section=s)
        decision = ensemble.decision_function(X_test, section=s_test)
    assert ensemble.named_estimators_["cos"][-1].sections_.tolist() == [0, 1]
    assert decision.shape == (len(X_test),)


def test_machine_type_groups_the_normalisation_and_the_thresholds():
    X, s, X_test, s_test, _ = data()
    types = np.where(np.arange(len(X)) < 20, "fan", "pump")
    ensemble = ScoreEnsemble(members()).fit(X, section=s, machine_type=types)
    assert ensemble.sections_.tolist() == [("fan", 0), ("fan", 1), ("pump", 0), ("pump", 1)]
    assert ensemble.machine_types_.tolist() == ["fan", "pump"]
    with pytest.raises(ValueError, match="pass machine_type"):
        ensemble.decision_function(X_test, section=s_test)
    test_types = np.full(len(X_test), "pump")
    assert ensemble.decision_function(X_test, section=s_test, machine_type=test_types).shape == (
        len(X_test),
    )


def test_predict_with_machine_type():
    X, s, X_test, s_test, _ = data()
    types = np.where(np.arange(len(X)) < 20, "fan", "pump")
    ensemble = ScoreEnsemble(members()).fit(X, section=s, machine_type=types)
    test_types = np.full(len(X_test), "pump")
    labels = ensemble.predict(X_test, section=s_test, machine_type=test_types)
    decision = ensemble.decision_function(X_test, section=s_test, machine_type=test_types)
    np.testing.assert_array_equal(labels, np.where(decision < 0, -1, 1))


def test_grid_search_tunes_the_rule_weights_member_params_and_drops_members():
    X, s, X_test, s_test, y_test = data(n_train=24, n_test=24)
    X_all, s_all = np.r_[X, X_test], np.r_[s, s_test]
    y_all = np.r_[np.zeros(len(X), int), y_test]
    grid = {
        "combine": ["mean", "product"],
        "weights": [None, [1, 2]],
        "knn__n_neighbors": [1, 3],
        "maha": ["drop", MahalanobisScorer()],
    }
    with sklearn.config_context(enable_metadata_routing=True):
        search = GridSearchCV(
            ScoreEnsemble(members()), grid, scoring=make_asd_scorer("auc"), cv=NormalOnlyKFold(2)
        ).fit(X_all, y_all, section=s_all)
    assert len(search.cv_results_["params"]) == 16
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    dropped = ScoreEnsemble(members(), weights=[1, 5]).set_params(maha="drop").fit(X, section=s)
    assert list(dropped.named_estimators_) == ["knn"] and dropped.weights_.tolist() == [1.0]


@pytest.mark.parametrize(
    "params, error, message",
    [
        ({"estimators": [("a", StandardScaler())]}, TypeError, "must be a sklasd detector"),
        ({"estimators": [("a", "drop")]}, ValueError, "keep at least one"),
        ({"estimators": [*members(), ("knn", KNNScorer())]}, ValueError, "not unique"),
        ({"weights": [1.0]}, ValueError, "one entry per member"),
        ({"weights": [1.0, -1.0]}, ValueError, "non-negative"),
        ({"combine": "max"}, ValueError, "combine"),
    ],
)
def test_bad_parameters_are_named(params, error, message):
    X, s, *_ = data()
    with pytest.raises(error, match=message):
        ScoreEnsemble(**{"estimators": members(), **params}).fit(X, section=s)


def test_constant_member_scores_and_unknown_metadata_are_errors():
    X, s, *_ = data()
    constant = [("knn", KNNScorer(contamination=0.1)), ("cos", CosineScorer(contamination=0.1))]
    with pytest.raises(ValueError, match="Member 'knn' gives fewer than 2 distinct"):
        ScoreEnsemble(constant).fit(np.ones_like(X), section=s)
    with pytest.raises(TypeError, match="colour"):
        ScoreEnsemble(members()).fit(X, section=s, colour=s)


def _fusion():
    return ScoreEnsemble(
        [
            ("maha", MahalanobisScorer(n_threshold_folds=2)),
            ("knn", KNNScorer(n_neighbors=1, standardize=True)),
        ]
    )


def test_partial_fit_in_parts_equals_a_fit_on_all_the_clips():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 5))
    section = np.repeat([0, 1, 2], 20)
    domain = np.tile(["source"] * 8 + ["target"] * 2, 6)
    # Sections 0 and 1 in two parts (their clips in the same order), then a new section 2.
    first = np.r_[0:12, 20:32]
    second = np.setdiff1d(np.arange(40), first)
    X_test, section_test = rng.normal(size=(9, 5)), np.repeat([0, 1, 2], 3)
    with sklearn.config_context(enable_metadata_routing=True):
        whole = _fusion().fit(X, section=section, domain=domain)
        parts = _fusion().partial_fit(X[first], section=section[first], domain=domain[first])
        parts.partial_fit(X[second], section=section[second], domain=domain[second])
        parts.partial_fit(X[40:], section=section[40:], domain=domain[40:])
        np.testing.assert_allclose(
            parts.decision_function(X_test, section=section_test),
            whole.decision_function(X_test, section=section_test),
        )
    np.testing.assert_array_equal(parts.sections_, [0, 1, 2])
    np.testing.assert_allclose(parts.offset_, whole.offset_)


def test_partial_fit_leaves_the_other_sections_alone():
    rng = np.random.default_rng(1)
    X, section = rng.normal(size=(40, 4)), np.repeat([0, 1], 20)
    X_test, section_test = rng.normal(size=(6, 4)), np.repeat([0, 1], 3)
    with sklearn.config_context(enable_metadata_routing=True):
        ensemble = _fusion().fit(X, section=section)
        before = ensemble.decision_function(X_test, section=section_test)
        ensemble.partial_fit(rng.normal(size=(5, 4)) + 3, section=np.ones(5, dtype=int))
        after = ensemble.decision_function(X_test, section=section_test)
    np.testing.assert_allclose(after[:3], before[:3])
    assert not np.allclose(after[3:], before[3:])


def test_partial_fit_needs_members_that_offer_it():
    X, section = embeddings(), SECTION
    with sklearn.config_context(enable_metadata_routing=True):
        ensemble = ScoreEnsemble([("svm", OneClassSVMScorer()), ("maha", MahalanobisScorer())])
        ensemble.fit(X, section=section)
        with pytest.raises(TypeError, match=r"'svm'.*cannot take new clips"):
            ensemble.partial_fit(X[:3], section=section[:3])
