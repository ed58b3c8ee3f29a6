"""ASDScorer: metadata requests, direct calls, and GridSearchCV / cross_validate routing."""

from typing import ClassVar

import numpy as np
import pytest
import sklearn
from sklearn.base import BaseEstimator, OutlierMixin, clone
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.neighbors import LocalOutlierFactor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.metadata_routing import get_routing_for_object

from sklasd.metrics import (
    ASDScorer,
    get_asd_scorer,
    get_asd_scorer_names,
    make_asd_scorer,
    official_score,
)
from sklasd.model_selection import NormalOnlyKFold

#: one entry per SectionMeanDetector.fit call: anomalies among y, sections received
FIT_LOG = []


@pytest.fixture(autouse=True)
def _clear_fit_log():
    FIT_LOG.clear()


class SectionMeanDetector(OutlierMixin, BaseEstimator):
    """Test double: distance to the mean of the clip's section.

    Like sklasd detectors, it leaves clips with y == 1 out of training; it logs what each
    fit call received in FIT_LOG.
    """

    __metadata_request__fit: ClassVar[dict[str, bool]] = {"section": True}
    __metadata_request__decision_function: ClassVar[dict[str, bool]] = {"section": True}

    def __init__(self, *, offset=0.0):
        self.offset = offset

    def fit(self, X, y=None, section=None):
        if section is None:
            raise ValueError("SectionMeanDetector.fit needs section")
        X, section = np.asarray(X, dtype=float), np.asarray(section)
        normal = np.ones(len(X), bool) if y is None else np.asarray(y) == 0
        FIT_LOG.append({"n_anomalies": int((~normal).sum()), "sections": np.unique(section)})
        X, section = X[normal], section[normal]
        self.fit_sections_ = np.unique(section)
        self.means_ = {s: X[section == s].mean(axis=0) for s in self.fit_sections_}
        return self

    def decision_function(self, X, section=None):
        if section is None:
            raise ValueError("SectionMeanDetector.decision_function needs section")
        X = np.asarray(X, dtype=float)
        centres = np.array([self.means_[s] for s in np.asarray(section)])
        return self.offset - np.linalg.norm(X - centres, axis=1)


class RecordingScorer(ASDScorer):
    """ASDScorer that records the metadata each call receives."""

    def __init__(self, metric="auc", **kwargs):
        super().__init__(metric, **kwargs)
        self.calls = []

    def __call__(self, estimator, X, y, **metadata):
        self.calls.append({"n": len(y), **metadata})
        return super().__call__(estimator, X, y, **metadata)


@pytest.fixture(scope="module")
def data():
    """Two sections far apart; anomalies sit 2.5 away from their section mean, normals ~1."""
    rng = np.random.default_rng(0)
    centres = {0: np.array([0.0, 0.0]), 1: np.array([6.0, 6.0])}
    X, y, section, domain = [], [], [], []
    for sec, centre in centres.items():
        for label, n in ((0, 30), (1, 9)):
            angle = rng.uniform(0, 2 * np.pi, n)
            radius = rng.uniform(0, 1.2, n) if label == 0 else rng.uniform(2.0, 3.0, n)
            X.append(centre + np.c_[np.cos(angle), np.sin(angle)] * radius[:, None])
            y += [label] * n
            section += [sec] * n
            domain += ["source", "target"] * (n // 2) + ["source"] * (n % 2)
    return np.vstack(X), np.array(y), np.array(section), np.array(domain)


def test_default_requests_and_set_score_request_on_fresh_instances():
    with sklearn.config_context(enable_metadata_routing=True):
        scorer = make_asd_scorer("auc")
        assert get_routing_for_object(scorer).score.requests == {
            "section": True,
            "domain": True,
            "machine_type": None,
        }
        scorer.set_score_request(domain=False, machine_type=True)
        assert get_routing_for_object(scorer).score.requests == {
            "section": True,
            "domain": False,
            "machine_type": True,
        }
        other = get_asd_scorer("auc")
        assert get_routing_for_object(other).score.requests["domain"] is True


def test_set_score_request_needs_routing():
    with sklearn.config_context(enable_metadata_routing=False):
        with pytest.raises(RuntimeError, match="enable_metadata_routing=True"):
            make_asd_scorer().set_score_request(section=False)


def test_direct_call_scores_each_section_with_section_aware_scores(data):
    X, y, section, _ = data
    detector = SectionMeanDetector().fit(X[y == 0], section=section[y == 0])
    anomaly = -detector.decision_function(X, section=section)
    expected = np.mean([roc_auc_score(y[section == s], anomaly[section == s]) for s in (0, 1)])
    assert make_asd_scorer("auc")(detector, X, y, section=section) == pytest.approx(expected)
    assert expected > 0.99
    expected_pauc = np.mean(
        [roc_auc_score(y[section == s], anomaly[section == s], max_fpr=0.2) for s in (0, 1)]
    )
    scorer = make_asd_scorer("pauc", max_fpr=0.2)
    assert scorer(detector, X, y, section=section) == pytest.approx(expected_pauc)


def test_official_scorer_equals_official_score(data):
    X, y, section, domain = data
    detector = SectionMeanDetector().fit(X[y == 0], section=section[y == 0])
    anomaly = -detector.decision_function(X, section=section)
    for year in (2020, 2021, 2023):
        scorer = make_asd_scorer("official", year=year)
        assert scorer(detector, X, y, section=section, domain=domain) == pytest.approx(
            official_score(y, anomaly, section=section, domain=domain, year=year)
        )


def test_callable_metric_is_averaged_over_sections(data):
    X, y, section, _ = data
    detector = SectionMeanDetector().fit(X[y == 0], section=section[y == 0])
    anomaly = -detector.decision_function(X, section=section)
    expected = np.mean(
        [average_precision_score(y[section == s], anomaly[section == s]) for s in (0, 1)]
    )
    scorer = make_asd_scorer(average_precision_score)
    assert scorer(detector, X, y, section=section) == pytest.approx(expected)


def test_without_section_one_group():
    rng = np.random.default_rng(1)
    X = np.r_[rng.normal(size=(30, 2)), rng.normal(3, 1, size=(8, 2))]
    y = np.r_[np.zeros(30, int), np.ones(8, int)]
    detector = LocalOutlierFactor(novelty=True).fit(X[y == 0])
    expected = roc_auc_score(y, -detector.decision_function(X))
    assert make_asd_scorer("auc")(detector, X, y) == pytest.approx(expected)


def test_machine_type_groups_sections_of_each_type(data):
    X, y, section, _ = data
    detector = SectionMeanDetector().fit(X[y == 0], section=section[y == 0])
    anomaly = -detector.decision_function(X, section=section)
    machine_type = np.where(np.arange(len(y)) % 2 == 0, "fan", "pump")
    groups = [(m, s) for m in ("fan", "pump") for s in (0, 1)]
    expected = np.mean(
        [
            roc_auc_score(y[mask], anomaly[mask])
            for m, s in groups
            if (mask := (machine_type == m) & (section == s)).any()
        ]
    )
    scorer = make_asd_scorer("auc")
    value = scorer(detector, X, y, section=section, machine_type=machine_type)
    assert value == pytest.approx(expected)


def test_scorer_errors(data):
    X, y, section, _ = data
    detector = SectionMeanDetector().fit(X[y == 0], section=section[y == 0])
    with pytest.raises(ValueError, match="needs the anomaly labels"):
        make_asd_scorer()(detector, X, None, section=section)
    with pytest.raises(TypeError, match="StandardScaler has no decision_function"):
        make_asd_scorer()(StandardScaler().fit(X), X, y)
    with pytest.raises(ValueError, match="section 1 has no anomalous"):
        only_normals_in_1 = (section == 0) | (y == 0)
        make_asd_scorer()(
            detector, X[only_normals_in_1], y[only_normals_in_1],
            section=section[only_normals_in_1],
        )  # fmt: skip
    with pytest.raises(ValueError, match="metric must be one of"):
        make_asd_scorer("roc")
    with pytest.raises(ValueError, match="year must be one of"):
        make_asd_scorer("official", year=2019)
    with pytest.raises(ValueError, match="max_fpr"):
        make_asd_scorer(max_fpr=2.0)
    with pytest.raises(ValueError, match="valid names"):
        get_asd_scorer("official")


def test_named_scorers_are_fresh_objects():
    assert get_asd_scorer_names() == [
        "auc",
        "pauc",
        "dcase2020",
        "dcase2021",
        "dcase2022",
        "dcase2023",
        "dcase2024",
        "dcase2025",
    ]
    assert get_asd_scorer("dcase2021").year == 2021
    assert get_asd_scorer("pauc") is not get_asd_scorer("pauc")
    assert repr(get_asd_scorer("pauc")) == "ASDScorer(metric='pauc', year=2022, max_fpr=0.1)"


def test_grid_search_routes_section_to_fit_splitter_and_scorer(data):
    X, y, section, domain = data
    scorer = RecordingScorer("auc")
    cv = NormalOnlyKFold(3, shuffle=True, random_state=0)
    with sklearn.config_context(enable_metadata_routing=True):
        search = GridSearchCV(
            SectionMeanDetector(),
            {"offset": [0.0, 1.0]},
            scoring=scorer,
            cv=cv,
            error_score="raise",
        ).fit(X, y, section=section, domain=domain)
        folds = list(cv.split(X, y, section=section))
    # 2 candidates x 3 folds, then the refit on all clips (which hands over all labels:
    # the detector itself must leave the anomalies out, as sklasd detectors do)
    assert len(FIT_LOG) == 2 * 3 + 1
    assert [entry["n_anomalies"] for entry in FIT_LOG[:-1]] == [0] * 6
    assert FIT_LOG[-1]["n_anomalies"] == int(y.sum())
    for entry in FIT_LOG:
        np.testing.assert_array_equal(entry["sections"], [0, 1])
    assert len(scorer.calls) == 2 * 3
    for call, (_, test) in zip(scorer.calls, folds * 2, strict=True):
        assert call["n"] == len(test)
        np.testing.assert_array_equal(call["section"], section[test])
        np.testing.assert_array_equal(call["domain"], domain[test])
    np.testing.assert_array_equal(search.best_estimator_.fit_sections_, [0, 1])
    assert search.best_score_ > 0.99


def test_pipeline_gets_only_the_metadata_its_detector_requests(data):
    X, y, section, domain = data
    pipe = make_pipeline(StandardScaler(), SectionMeanDetector())
    with sklearn.config_context(enable_metadata_routing=True):
        search = GridSearchCV(
            pipe,
            {"sectionmeandetector__offset": [0.0]},
            scoring=make_asd_scorer("official"),
            cv=NormalOnlyKFold(3),
            error_score="raise",
        ).fit(X, y, section=section, domain=domain)
        direct = make_asd_scorer("official")(
            search.best_estimator_, X, y, section=section, domain=domain
        )
    assert search.best_score_ > 0.9
    assert direct > 0.9


def test_multimetric_matches_manual_fold_scores(data):
    X, y, section, domain = data
    cv = NormalOnlyKFold(3)
    scoring = {
        "auc": make_asd_scorer("auc"),
        "official": make_asd_scorer("official", year=2022),
    }
    with sklearn.config_context(enable_metadata_routing=True):
        search = GridSearchCV(
            SectionMeanDetector(),
            {"offset": [0.0]},
            scoring=scoring,
            refit="official",
            cv=cv,
            error_score="raise",
        ).fit(X, y, section=section, domain=domain)
    train, test = next(cv.split(X, y, section=section))
    fitted = clone(SectionMeanDetector()).fit(X[train], y[train], section=section[train])
    anomaly = -fitted.decision_function(X[test], section=section[test])
    expected_official = official_score(
        y[test], anomaly, section=section[test], domain=domain[test], year=2022
    )
    expected_auc = np.mean(
        [roc_auc_score(y[test][section[test] == s], anomaly[section[test] == s]) for s in (0, 1)]
    )
    assert search.cv_results_["split0_test_official"][0] == pytest.approx(expected_official)
    assert search.cv_results_["split0_test_auc"][0] == pytest.approx(expected_auc)
    assert search.best_score_ == pytest.approx(search.cv_results_["mean_test_official"][0])


def test_cross_validate_with_routing(data):
    X, y, section, domain = data
    with sklearn.config_context(enable_metadata_routing=True):
        result = cross_validate(
            SectionMeanDetector(),
            X,
            y,
            scoring={"pauc": make_asd_scorer("pauc"), "auc": make_asd_scorer("auc")},
            cv=NormalOnlyKFold(3),
            params={"section": section, "domain": domain},
            error_score="raise",
        )
    assert result["test_auc"].shape == (3,)
    assert np.all(result["test_auc"] > 0.95)


def test_routing_off_scorer_gets_no_metadata():
    # without routing, GridSearchCV gives the scorer no metadata and the splitter no
    # section: scoring is over one group, decision_function is called without metadata
    rng = np.random.default_rng(2)
    X = np.r_[rng.normal(size=(40, 2)), rng.normal(4, 1, size=(10, 2))]
    y = np.r_[np.zeros(40, int), np.ones(10, int)]
    section = np.arange(50) % 2
    scorer = RecordingScorer("auc")
    with sklearn.config_context(enable_metadata_routing=False):
        search = GridSearchCV(
            LocalOutlierFactor(novelty=True),
            {"n_neighbors": [5]},
            scoring=scorer,
            cv=NormalOnlyKFold(2),
            error_score="raise",
        ).fit(X, y)
    assert [call.keys() for call in scorer.calls] == [{"n"}, {"n"}]
    train, test = next(NormalOnlyKFold(2).split(X, y))
    lof = LocalOutlierFactor(n_neighbors=5, novelty=True).fit(X[train])
    expected = roc_auc_score(y[test], -lof.decision_function(X[test]))
    assert search.cv_results_["split0_test_score"][0] == pytest.approx(expected)
    # the splitter ignored the (unrouted) section: fold 0 holds the first normals in order
    assert not np.array_equal(test, next(NormalOnlyKFold(2).split(X, y, section=section))[1])
