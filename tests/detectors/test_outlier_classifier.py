"""OutlierClassifierDetector: per-section binary CNNs against outliers, stage weights, contract."""

import joblib
import numpy as np
import pytest
import sklearn
import torch
from sklearn.model_selection import GridSearchCV

from sklasd.datasets import make_machine_sounds
from sklasd.detectors import OutlierClassifierDetector, make_outlier_net
from sklasd.detectors._outlier_exposure import _data_set_of
from sklasd.features import LogMel
from sklasd.metrics import auc, make_asd_scorer
from sklasd.model_selection import NormalOnlyKFold
from sklasd.nn import RFRCNN, combine_stages
from sklasd.training import SlidingCrops
from sklasd.utils.estimator_checks import check_estimator


def make_detector(**params):
    """A tiny detector: 32 mel bands at hop 256 (32 frames per 0.5 s clip), 16-frame crops.

    ``net__<name>`` parameters go to the net (``make_outlier_net``).
    """
    net = {"module__width": 4, "max_epochs": 3, "batch_size": 8, "lr": 1e-2}
    net |= {name[5:]: params.pop(name) for name in list(params) if name.startswith("net__")}
    params = {
        "features": LogMel(n_mels=32, hop_length=256),
        "net": make_outlier_net(**net),
        "n_frames": 16,
        "random_state": 0,
        **params,
    }
    return OutlierClassifierDetector(**params)


def split(data):
    """(X_train, section_train, X_test, section_test, y_test) of a data fixture."""
    X, frame, train = data
    section = frame["section"].to_numpy()
    y = frame["label"].to_numpy(dtype=int)
    return X[train], section[train], X[~train], section[~train], y[~train]


def sampler_of(net):
    return net.get_params_for("iterator_train")["batch_sampler"]


# -- training -------------------------------------------------------------------------


def test_one_network_per_section_against_the_other_sections(fan):
    X, frame, _ = fan
    y = frame["label"].to_numpy(dtype=int)
    section = frame["section"].to_numpy()
    detector = make_detector(net__batch_size=7).fit(X, y, section=section)

    assert detector.sections_.tolist() == [0, 1, 2] and len(detector.nets_) == 3
    assert detector.machine_types_ is None
    for index, net in enumerate(detector.nets_):
        assert isinstance(net.module_, RFRCNN) and net.module_.width == 4
        assert len(net.history) == 3
        sampler = sampler_of(net)
        assert sampler.counts == {0: 4, 1: 3}  # positives first, then outliers
        own = section == index
        kinds = np.bincount(sampler.labels, minlength=3).tolist()
        # known anomalies are left out: normal clips of the section vs the others' normals
        assert kinds == [(own & (y == 0)).sum(), (~own & (y == 0)).sum(), 0]


def test_known_anomalies_are_left_out_of_training(fan):
    X, frame, _ = fan
    y = frame["label"].to_numpy(dtype=int)
    section = frame["section"].to_numpy()
    with_anomalies = make_detector(net__max_epochs=2).fit(X, y, section=section)
    normal_only = make_detector(net__max_epochs=2).fit(X[y == 0], section=section[y == 0])
    np.testing.assert_array_equal(
        with_anomalies.score_samples(X, section=section),
        normal_only.score_samples(X, section=section),
    )
    # the training scores are computed in other batches: equal up to rounding
    np.testing.assert_allclose(with_anomalies.offset_, normal_only.offset_, rtol=1e-6)


def test_score_is_the_crop_averaged_weighted_stage_probability(fan):
    X_train, s_train, X_test, s_test, _ = split(fan)
    weights = (0.2, 0.3, 0.5)
    detector = make_detector(stage_weights=list(weights), inference_hop=8).fit(
        X_train, section=s_train
    )
    assert detector.stage_weights_ == weights
    features = detector.features_.transform(X_test)
    crops = SlidingCrops(features, n_frames=16, hop=8)
    assert crops.n_crops == 3
    expected = np.empty(len(X_test))
    for index, net in enumerate(detector.nets_):
        rows = s_test == index
        stage_logits = net.forward(SlidingCrops(features[rows], n_frames=16, hop=8))
        p = combine_stages(stage_logits, weights).numpy().reshape(-1, 3).mean(axis=1)
        expected[rows] = p
    scores = detector.score_samples(X_test, section=s_test)
    np.testing.assert_allclose(scores, expected, rtol=1e-5)
    assert ((scores >= 0) & (scores <= 1)).all()


def test_networks_recognise_their_section_and_find_anomalies(fan):
    X_train, s_train, X_test, s_test, y_test = split(fan)
    detector = make_detector(net__module__width=8, net__max_epochs=10).fit(
        X_train, section=s_train
    )
    own = detector.score_samples(X_test, section=s_test)
    other = detector.score_samples(X_test, section=(s_test + 1) % 3)
    normal = y_test == 0
    # a section's network calls its own normal clips normal, other sections' outliers
    assert own[normal].mean() > other[normal].mean() + 0.2
    assert auc(y_test, -detector.decision_function(X_test, section=s_test)) > 0.55


# -- groups and outliers --------------------------------------------------------------


def test_outliers_of_every_machine_type(one_section):
    X, frame, train = one_section
    section = frame["section"].to_numpy()
    machine_type = frame["machine_type"].to_numpy()
    fit = {"section": section[train], "machine_type": machine_type[train]}
    # one section per machine type: the default takes the other types' clips, as "all" does
    for outliers in ("machine_type", "all"):
        detector = make_detector(outliers=outliers, net__max_epochs=1).fit(X[train], **fit)
        assert len(detector.nets_) == 2
    with pytest.raises(ValueError, match=r"at least two sections"):
        fan = machine_type[train] == "fan"
        make_detector().fit(X[train][fan], section=section[train][fan])
    assert detector.sections_.tolist() == [("fan", 0), ("valve", 0)]
    assert detector.machine_types_.tolist() == ["fan", "valve"]
    for net, own_type in zip(detector.nets_, ["fan", "valve"], strict=True):
        n_own = (machine_type[train] == own_type).sum()
        assert np.bincount(sampler_of(net).labels).tolist() == [n_own, train.sum() - n_own]
    scores = detector.decision_function(
        X[~train], section=section[~train], machine_type=machine_type[~train]
    )
    assert np.isfinite(scores).all()
    with pytest.raises(ValueError, match="pass machine_type"):
        detector.decision_function(X[~train], section=section[~train])


def test_outliers_of_the_same_data_set():
    X, frame = make_machine_sounds(
        machine_types=["fan", "pump", "valve"], n_sections=2, n_train=4, n_test=0,
        duration=0.5, domain_shift=False, random_state=0,
    )  # fmt: skip
    section = frame["section"].to_numpy()
    # stand-in for a ToyADMOS machine: the pump clips are labelled ToyCar
    machine_type = frame["machine_type"].replace({"pump": "ToyCar"}).to_numpy()
    detector = make_detector(outliers="dataset", net__max_epochs=1).fit(
        X, section=section, machine_type=machine_type
    )
    assert [group[0] for group in detector.sections_] == ["ToyCar"] * 2 + ["fan"] * 2 + [
        "valve"
    ] * 2
    for group, net in zip(detector.sections_, detector.nets_, strict=True):
        n_normal, n_outlier = np.bincount(sampler_of(net).labels).tolist()
        assert n_normal == 4
        # ToyADMOS: the other ToyCar section; MIMII: the other section and the other type
        assert n_outlier == (4 if group[0] == "ToyCar" else 3 * 4)
    with pytest.raises(ValueError, match="outliers='dataset' takes the outliers"):
        make_detector(outliers="dataset").fit(X, section=section)


@pytest.mark.parametrize(
    ("machine_type", "data_set"),
    [("ToyCar", "ToyADMOS"), ("ToyConveyor", "ToyADMOS"), ("ToyTrain", "ToyADMOS"),
     ("fan", "MIMII"), ("valve", "MIMII"), ("gearbox", "MIMII")],
)  # fmt: skip
def test_data_set_of_a_machine_type(machine_type, data_set):
    assert _data_set_of(machine_type) == data_set


def test_outliers_all_needs_machine_type(fan):
    X_train, s_train, *_ = split(fan)
    with pytest.raises(ValueError, match=r"outliers=.all.*pass machine_type"):
        make_detector(outliers="all").fit(X_train, section=s_train)


def test_sections_are_required(fan, one_section):
    X_train, *_ = split(fan)
    with pytest.raises(ValueError, match="pass section="):
        make_detector().fit(X_train)
    X, frame, train = one_section
    fan_rows = train & (frame["machine_type"] == "fan").to_numpy()
    with pytest.raises(ValueError, match=r"at least two sections.*section 0"):
        make_detector().fit(X[fan_rows], section=frame["section"][fan_rows])


def test_a_section_without_normal_clips_is_an_error(fan):
    X, frame, _ = fan
    y = frame["label"].to_numpy(dtype=int)
    section = frame["section"].to_numpy()
    rows = (y == 0) | (section == 2)
    y_rows = np.where(section[rows] == 2, 1, y[rows])
    with pytest.raises(ValueError, match=r"No normal clip .* in section 2"):
        make_detector().fit(X[rows], y_rows, section=section[rows])


@pytest.mark.parametrize(
    "weights",
    [
        (0.3, 0.3, 0.4),
        (0.6, 0.3, 0.1),
        (0.1, 0.2, 0.3),
        (0.5, 0.5),
        (-0.1, 0.5, 0.6),
        ("a", "b", "c"),
    ],
)
def test_stage_weights_must_grow_and_sum_to_one(fan, weights):
    X_train, s_train, *_ = split(fan)
    with pytest.raises(ValueError, match="stage_weights must be 3 weights w1 < w2 < w3"):
        make_detector(stage_weights=weights).fit(X_train, section=s_train)


# -- model selection, persistence, randomness, conformance ------------------------------


def test_grid_search_over_stage_weights(fan):
    X, frame, _ = fan
    y = frame["label"].to_numpy(dtype=int)
    grid = {"stage_weights": [(0.1, 0.3, 0.6), (0.0, 0.2, 0.8)]}
    with sklearn.config_context(enable_metadata_routing=True):
        search = GridSearchCV(
            make_detector(net__max_epochs=2),
            grid,
            scoring=make_asd_scorer("auc"),
            cv=NormalOnlyKFold(n_splits=2, shuffle=True, random_state=0),
        ).fit(X, y, section=frame["section"].to_numpy())
    results = search.cv_results_
    assert [p["stage_weights"] for p in results["params"]] == grid["stage_weights"]
    assert np.isfinite(results["mean_test_score"]).all()
    assert len(set(np.round(results["mean_test_score"], 6))) > 1
    best = search.best_estimator_
    assert best.stage_weights_ == search.best_params_["stage_weights"]
    assert best.nets_[0].stage_weights == search.best_params_["stage_weights"]


def test_joblib_round_trip_gives_identical_scores(fan, tmp_path):
    X_train, s_train, X_test, s_test, _ = split(fan)
    detector = make_detector().fit(X_train, section=s_train)
    joblib.dump(detector, tmp_path / "detector.joblib")
    loaded = joblib.load(tmp_path / "detector.joblib")
    np.testing.assert_array_equal(
        loaded.decision_function(X_test, section=s_test),
        detector.decision_function(X_test, section=s_test),
    )


def test_random_state_makes_fits_repeatable_without_touching_global_rngs(fan):
    X_train, s_train, X_test, s_test, _ = split(fan)
    torch_state = torch.get_rng_state()
    first, second, other = (
        make_detector(random_state=seed).fit(X_train, section=s_train) for seed in (0, 0, 1)
    )
    scores = first.score_samples(X_test, section=s_test)
    assert torch.equal(torch.get_rng_state(), torch_state)
    np.testing.assert_array_equal(second.score_samples(X_test, section=s_test), scores)
    assert not np.allclose(other.score_samples(X_test, section=s_test), scores)


def test_unseen_section_is_an_error(fan):
    X_train, s_train, X_test, *_ = split(fan)
    detector = make_detector(net__max_epochs=1).fit(X_train, section=s_train)
    with pytest.raises(ValueError, match=r"section values \[7\] were not seen in fit"):
        detector.score_samples(X_test[:2], section=[7, 7])


def test_sklasd_estimator_checks(fan):
    X, frame, train = fan
    rows = np.flatnonzero(train)[::2]  # 18 clips of 3 sections
    check_estimator(
        make_detector(net__max_epochs=1, contamination=0.1),
        X[rows].astype(np.float64),
        fit_params={"section": frame["section"].to_numpy()[rows]},
    )
