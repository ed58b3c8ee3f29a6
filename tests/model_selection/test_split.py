"""NormalOnlyKFold and DCASESplit: fold contents, errors, and use in scikit-learn searches."""

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.neighbors import LocalOutlierFactor
from sklearn.utils.metadata_routing import get_routing_for_object

from sklasd.metrics import make_asd_scorer
from sklasd.model_selection import DCASESplit, NormalOnlyKFold


def _labels(n_sections=3, n_normal=11, n_anomalous=7):
    y = np.tile(np.r_[np.zeros(n_normal, int), np.ones(n_anomalous, int)], n_sections)
    section = np.repeat(np.arange(n_sections), n_normal + n_anomalous)
    return y, section


@pytest.mark.parametrize("shuffle", [False, True])
def test_normal_only_kfold_partitions_and_stratifies(shuffle):
    y, section = _labels()
    X = np.zeros((len(y), 2))
    cv = NormalOnlyKFold(3, shuffle=shuffle, random_state=0 if shuffle else None)
    folds = list(cv.split(X, y, section=section))
    assert len(folds) == cv.get_n_splits() == 3
    tests = np.concatenate([test for _, test in folds])
    np.testing.assert_array_equal(np.sort(tests), np.arange(len(y)))  # each clip tested once
    for train, test in folds:
        assert np.all(y[train] == 0)  # no anomaly in training
        np.testing.assert_array_equal(  # training = all normals outside the test fold
            np.sort(train), np.setdiff1d(np.flatnonzero(y == 0), test)
        )
        for s in range(3):
            in_section = y[test][section[test] == s]
            assert 3 <= np.sum(in_section == 0) <= 4  # 11 normals in 3 parts
            assert 2 <= np.sum(in_section == 1) <= 3  # 7 anomalies in 3 parts


def test_normal_only_kfold_shuffle_is_seeded():
    y, section = _labels()
    X = np.zeros((len(y), 1))

    def folds(seed):
        cv = NormalOnlyKFold(3, shuffle=True, random_state=seed)
        return [test.tolist() for _, test in cv.split(X, y, section=section)]

    assert folds(0) == folds(0)
    assert folds(0) != folds(1)
    unshuffled = [t.tolist() for _, t in NormalOnlyKFold(3).split(X, y, section=section)]
    assert folds(0) != unshuffled


def test_normal_only_kfold_without_section_is_one_group():
    y = np.r_[np.zeros(6, int), np.ones(4, int)]
    folds = list(NormalOnlyKFold(2).split(np.zeros((10, 1)), y))
    assert [test.tolist() for _, test in folds] == [[0, 1, 2, 6, 7], [3, 4, 5, 8, 9]]
    assert [train.tolist() for train, _ in folds] == [[3, 4, 5], [0, 1, 2]]


def test_normal_only_kfold_accepts_string_sections_and_nullable_labels():
    y = pd.Series([0, 0, 1, 1, 0, 0, 1, 1], dtype="Int64")
    section = np.array(["a", "a", "a", "a", "b", "b", "b", "b"])
    folds = list(NormalOnlyKFold(2).split(list("abcdefgh"), y, section=section))
    assert [test.tolist() for _, test in folds] == [[0, 2, 4, 6], [1, 3, 5, 7]]


def test_normal_only_kfold_errors():
    y, section = _labels(n_anomalous=2)
    X = np.zeros((len(y), 1))
    with pytest.raises(ValueError, match="Section 0 has 2 anomalous clips, fewer than n_splits=3"):
        list(NormalOnlyKFold(3).split(X, y, section=section))
    with pytest.raises(ValueError, match="needs y"):
        list(NormalOnlyKFold(2).split(X))
    with pytest.raises(ValueError, match="section must have shape"):
        list(NormalOnlyKFold(2).split(X, y, section=section[:-1]))
    with pytest.raises(ValueError, match="X has"):
        list(NormalOnlyKFold(2).split(X[:-1], y))
    with pytest.raises(ValueError, match=r"must hold 0 \(normal\) and 1"):
        list(NormalOnlyKFold(2).split(X, y + 1))
    with pytest.raises(ValueError, match="n_splits must be an int >= 2"):
        NormalOnlyKFold(1)
    with pytest.raises(ValueError, match="n_splits must be an int >= 2"):
        NormalOnlyKFold(2.5)
    with pytest.raises(ValueError, match="random_state only has an effect with shuffle"):
        NormalOnlyKFold(2, random_state=0)


def test_normal_only_kfold_requests_section():
    with sklearn.config_context(enable_metadata_routing=True):
        requests = get_routing_for_object(NormalOnlyKFold()).split.requests
    assert requests == {"section": True}
    assert (
        repr(NormalOnlyKFold(4)) == "NormalOnlyKFold(n_splits=4, random_state=None, shuffle=False)"
    )


def _blobs():
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(size=(40, 2)), rng.normal(4, 1, size=(12, 2))]
    y = np.r_[np.zeros(40, int), np.ones(12, int)]
    section = np.r_[np.arange(40) % 2, np.arange(12) % 2]
    return X, y, section


def test_normal_only_kfold_in_grid_search_gets_section_through_routing():
    X, y, section = _blobs()
    cv = NormalOnlyKFold(3)
    with sklearn.config_context(enable_metadata_routing=True):
        search = GridSearchCV(
            LocalOutlierFactor(novelty=True),
            {"n_neighbors": [3, 8]},
            scoring=make_asd_scorer("auc"),
            cv=cv,
            refit=False,
            error_score="raise",
        ).fit(X, y, section=section)
    assert search.n_splits_ == 3
    # the split used is the per-section one (its fold sizes differ from the one-group split)
    routed = [len(t) for _, t in cv.split(X, y, section=section)]
    unrouted = [len(t) for _, t in cv.split(X, y)]
    assert routed != unrouted
    assert search.cv_results_["mean_test_score"].min() > 0.9


def test_dcase_split():
    subset = np.array(["train"] * 5 + ["test"] * 4)
    y = [0, 0, 0, 0, 0, 0, 1, 0, 1]
    [(train, test)] = list(DCASESplit(subset).split(np.zeros((9, 1)), y))
    assert train.tolist() == [0, 1, 2, 3, 4]
    assert test.tolist() == [5, 6, 7, 8]
    assert DCASESplit(subset).get_n_splits() == 1


def test_dcase_split_training_anomalies():
    subset = ["train", "train", "train", "test", "test"]
    y = pd.Series([0, 1, 0, 0, 1], dtype="Int64")
    X = np.zeros((5, 1))
    with pytest.raises(
        ValueError, match=r"1 training clips are labelled anomalous \(positions \[1\]"
    ):
        list(DCASESplit(subset).split(X, y))
    [(train, test)] = list(DCASESplit(subset, train_anomalies="drop").split(X, y))
    assert train.tolist() == [0, 2]
    assert test.tolist() == [3, 4]


def test_dcase_split_errors():
    X = np.zeros((3, 1))
    with pytest.raises(ValueError, match=r"subset must have shape \(3,\)"):
        list(DCASESplit(["train", "test"]).split(X))
    with pytest.raises(ValueError, match=r"got \['dev'\]"):
        list(DCASESplit(["train", "dev", "test"]).split(X))
    with pytest.raises(ValueError, match="no test clips"):
        list(DCASESplit(["train"] * 3).split(X))
    with pytest.raises(ValueError, match="train_anomalies must be"):
        DCASESplit(["train"], train_anomalies="keep")


def test_dcase_split_in_cross_validate_and_grid_search():
    X, y, section = _blobs()
    # training rows: the first 30 normals; test rows: 10 normals + all anomalies
    subset = np.where(np.arange(len(y)) < 30, "train", "test")
    lof = LocalOutlierFactor(n_neighbors=5, novelty=True).fit(X[:30])
    test = subset == "test"
    expected = make_asd_scorer("auc")(lof, X[test], y[test], section=section[test])
    with sklearn.config_context(enable_metadata_routing=True):
        result = cross_validate(
            LocalOutlierFactor(n_neighbors=5, novelty=True),
            X,
            y,
            cv=DCASESplit(subset),
            scoring=make_asd_scorer("auc"),
            params={"section": section},
            error_score="raise",
        )
    assert result["test_score"].tolist() == pytest.approx([expected])
    with sklearn.config_context(enable_metadata_routing=False):
        search = GridSearchCV(
            LocalOutlierFactor(novelty=True),
            {"n_neighbors": [5, 10]},
            cv=DCASESplit(subset),
            scoring=make_asd_scorer("auc"),
            refit=False,
            error_score="raise",
        ).fit(X, y)
    assert search.n_splits_ == 1
    assert search.cv_results_["split0_test_score"].shape == (2,)
