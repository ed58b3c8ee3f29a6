"""MachineTypeSelector: the best member per machine type on labelled development clips."""

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline

from sklasd.ensemble import MachineTypeSelector
from sklasd.metrics import make_asd_scorer
from sklasd.model_selection import DCASESplit
from sklasd.scoring import KNNScorer, MahalanobisScorer
from sklasd.utils.estimator_checks import parametrize_with_checks


def development(seed=0):
    """fan anomalies differ in feature 0 only, pump anomalies in feature 1 only."""
    rng = np.random.default_rng(seed)
    machine_type = np.repeat(["fan", "pump"], 40)
    section = np.tile(np.repeat([0, 1], 20), 2)
    y = np.tile(np.r_[np.zeros(14, int), np.ones(6, int)], 4)
    X = rng.normal(size=(80, 2))
    X[(machine_type == "fan") & (y == 1), 0] += 4.0
    X[(machine_type == "pump") & (y == 1), 1] += 4.0
    return X, y, section, machine_type


def on_feature(column):
    """A member that only looks at one feature."""
    return make_pipeline(
        ColumnTransformer([("keep", "passthrough", [column])]), KNNScorer(n_neighbors=2)
    )


def test_each_machine_type_gets_the_member_that_sees_its_anomalies():
    X, y, section, machine_type = development()
    selector = MachineTypeSelector([("f0", on_feature(0)), ("f1", on_feature(1))], scoring="auc")
    with sklearn.config_context(enable_metadata_routing=True):
        selector.fit(X, y, section=section, machine_type=machine_type)
        decision = selector.decision_function(X, section=section, machine_type=machine_type)
    assert selector.selected_ == {"fan": "f0", "pump": "f1"}
    table = pd.DataFrame.from_dict(selector.cv_scores_, orient="index")
    assert table.shape == (2, 2)
    assert table.loc["fan", "f0"] > 0.9 > table.loc["fan", "f1"]
    assert table.loc["pump", "f1"] > 0.9 > table.loc["pump", "f0"]
    # every clip is scored by its type's selected member, refitted on the normal clips
    fan = machine_type == "fan"
    best = selector.best_estimators_["fan"]
    assert best[-1].banks_[0]["all"][0].shape[0] == 14  # the normal clips of fan, section 0
    with sklearn.config_context(enable_metadata_routing=True):
        member_scores = best.decision_function(X[fan], section=section[fan])
    np.testing.assert_allclose(
        decision[fan], member_scores - selector.offset_[np.searchsorted([0, 1], section[fan])]
    )


def test_dcase_split_selects_on_the_test_split():
    X, y, section, machine_type = development()
    subset = np.where(y == 1, "test", np.where(np.arange(80) % 20 < 9, "train", "test"))
    selector = MachineTypeSelector(
        [("f0", on_feature(0)), ("f1", on_feature(1))], cv=DCASESplit(subset), scoring="dcase2022"
    )
    domain = np.full(80, "source")
    with sklearn.config_context(enable_metadata_routing=True):
        selector.fit(X, y, section=section, machine_type=machine_type, domain=domain)
    assert selector.selected_ == {"fan": "f0", "pump": "f1"}


def test_without_machine_type_it_picks_the_single_best_member():
    X, y, section, _ = development()
    X[y == 1, 1] = X[y == 1, 0] = 0.0  # no member sees these: any choice, but one
    selector = MachineTypeSelector(
        [("knn", KNNScorer()), ("maha", MahalanobisScorer())], cv=2, scoring=make_asd_scorer("auc")
    ).fit(X, y, section=section)
    assert list(selector.selected_) == ["all"] and selector.machine_types_ is None
    assert selector.decision_function(X, section=section).shape == (80,)


def test_selection_needs_labelled_clips_of_both_classes():
    X, y, section, machine_type = development()
    selector = MachineTypeSelector([("knn", KNNScorer())])
    with pytest.raises(ValueError, match="labelled development clips"):
        selector.fit(X, section=section, machine_type=machine_type)
    with pytest.raises(ValueError, match=r"Scoring member 'knn', machine type 'fan', fold 0"):
        MachineTypeSelector(
            [("knn", KNNScorer())], cv=DCASESplit(np.where(y == 1, "test", "train")), scoring="auc"
        ).fit(X, y, section=section, machine_type=machine_type)


X_DEV, Y_DEV, SECTION_DEV, TYPES_DEV = development()


@parametrize_with_checks(
    [
        (
            MachineTypeSelector(
                [("knn", KNNScorer(n_neighbors=2)), ("maha", MahalanobisScorer())],
                cv=2,
                scoring="auc",
            ),
            X_DEV,
            {"section": SECTION_DEV},
            Y_DEV,
        )
    ]
)
def test_sklasd_compatible(estimator, check):
    check(estimator)


def test_grid_search_over_the_selector_with_labelled_training_splits():
    """Selection needs labels in fit: the outer training parts keep their anomalies."""
    X, y, section, machine_type = development()
    group = pd.factorize(pd.Series(list(zip(machine_type, section, y, strict=True))))[0]
    outer = list(StratifiedKFold(2).split(X, group))
    with sklearn.config_context(enable_metadata_routing=True):
        search = GridSearchCV(
            MachineTypeSelector(
                [("f0", on_feature(0)), ("f1", on_feature(1))], cv=2, scoring="auc"
            ),
            {"f0__knnscorer__n_neighbors": [1, 2], "f1": ["drop", on_feature(1)]},
            scoring=make_asd_scorer("auc").set_score_request(machine_type=True),
            cv=outer,
        )
        search.fit(X, y, section=section, machine_type=machine_type)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_params_["f1"] != "drop"  # pump anomalies need member f1
    assert search.best_estimator_.selected_ == {"fan": "f0", "pump": "f1"}
