"""IDClassifierDetector: training, scoring modes, targets, model selection, persistence."""

import pickle
from unittest import mock

import joblib
import numpy as np
import pytest
import sklearn
import torch
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from skorch.exceptions import DeviceWarning

from sklasd.datasets import make_machine_sounds
from sklasd.detectors import IDClassifierDetector, make_id_embedder
from sklasd.features import LogMel
from sklasd.metrics import auc, make_asd_scorer
from sklasd.model_selection import NormalOnlyKFold
from sklasd.nn import ArcFaceLoss, CrossEntropyLoss, MobileFaceNet, MobileNetV3IDNet
from sklasd.scoring import (
    ConfidenceScorer,
    CosineScorer,
    KNNScorer,
    MahalanobisScorer,
    OneClassSVMScorer,
)
from sklasd.utils.estimator_checks import check_estimator

SCORERS = {
    "confidence": ConfidenceScorer,
    "cosine": CosineScorer,
    "knn": KNNScorer,
    "mahalanobis": MahalanobisScorer,
    "ocsvm": OneClassSVMScorer,
}


def split(data):
    """(X_train, section_train, X_test, section_test, y_test) of a data fixture."""
    X, frame, train = data
    section = frame["section"].to_numpy()
    y = frame["label"].to_numpy(dtype=int)
    return X[train], section[train], X[~train], section[~train], y[~train]


# -- training and scoring -------------------------------------------------------------


@pytest.mark.parametrize("score_rule", SCORERS)
def test_every_scoring_mode_trains_and_finds_anomalies(make_detector, fan, score_rule):
    _, frame, train = fan
    X_train, s_train, X_test, s_test, y_test = split(fan)
    domain = frame["domain"].to_numpy()[train]
    detector = make_detector(score_rule=score_rule).fit(X_train, section=s_train, domain=domain)

    assert detector.sections_.tolist() == [0, 1, 2]
    assert detector.classes_.tolist() == [0, 1, 2]
    np.testing.assert_array_equal(detector.class_groups_, np.eye(3, dtype=bool))
    assert len(detector.embedder_.net_.history) == 10
    assert type(detector.scorer_) is SCORERS[score_rule]
    assert detector.scorer_.sections_.tolist() == [0, 1, 2]
    np.testing.assert_array_equal(detector.offset_, detector.scorer_.offset_)
    scores = detector.score_samples(X_test, section=s_test)
    decision = detector.decision_function(X_test, section=s_test)
    assert scores.shape == (len(X_test),) and np.isfinite(scores).all()
    np.testing.assert_allclose(scores - decision, detector.offset_[s_test])
    np.testing.assert_array_equal(
        detector.predict(X_test, section=s_test), np.where(decision < 0, -1, 1)
    )
    # severe anomalies on a few clips: every mode ranks them above chance
    assert auc(y_test, -decision) > 0.55


def test_embedding_scores_are_the_scorer_step_on_the_embeddings(make_detector, fan):
    X_train, s_train, X_test, s_test, _ = split(fan)
    detector = make_detector(score_rule=KNNScorer(n_neighbors=2)).fit(X_train, section=s_train)
    embeddings = detector.embedder_.transform(detector.features_.transform(X_test))
    expected = KNNScorer(n_neighbors=2).fit(
        detector.embedder_.transform(detector.features_.transform(X_train)), section=s_train
    )
    np.testing.assert_array_equal(
        detector.score_samples(X_test, section=s_test),
        expected.score_samples(embeddings, section=s_test),
    )
    # The detector's thresholds come from the scorer's training decisions plus its
    # offsets, which can round differently in the last bit.
    np.testing.assert_allclose(
        detector.decision_function(X_test, section=s_test),
        expected.decision_function(embeddings, section=s_test),
        rtol=1e-12,
    )
    assert detector.scorer_.n_neighbors == 2


def test_confidence_is_minus_the_crop_averaged_log_odds_of_the_own_section(make_detector, fan):
    X_train, s_train, X_test, s_test, _ = split(fan)
    detector = make_detector(score_rule="confidence").fit(X_train, section=s_train)
    proba = detector.embedder_.predict_crop_proba(detector.features_.transform(X_test))
    p = proba[np.arange(len(X_test)), :, s_test].astype(float)
    expected = -np.log((1 - p) / p).mean(axis=1)
    np.testing.assert_allclose(detector.score_samples(X_test, section=s_test), expected, rtol=1e-4)


def test_confidence_stays_finite_and_ordered_when_the_network_is_certain(make_detector, fan):
    X_train, s_train, X_test, *_ = split(fan)
    detector = make_detector(score_rule="confidence").fit(X_train, section=s_train)
    proba = np.zeros((2, 1, 3), dtype=np.float32)
    proba[:, 0, 0] = 1.0  # p rounds to 1 in float32 ...
    proba[0, 0, 1], proba[1, 0, 1] = 1e-30, 1e-20  # ... but the others are still told apart
    with mock.patch.object(type(detector.embedder_), "predict_crop_proba", return_value=proba):
        scores = detector.score_samples(X_test[:2], section=[0, 0])
    np.testing.assert_allclose(scores, [30 * np.log(10), 20 * np.log(10)], rtol=1e-5)


def test_known_anomalies_are_left_out_of_training(make_detector, fan):
    X, frame, _ = fan
    y = frame["label"].to_numpy(dtype=int)
    section = frame["section"].to_numpy()
    with_anomalies = make_detector().fit(X, y, section=section)
    normal_only = make_detector().fit(X[y == 0], section=section[y == 0])
    np.testing.assert_array_equal(
        with_anomalies.score_samples(X, section=section),
        normal_only.score_samples(X, section=section),
    )
    np.testing.assert_array_equal(with_anomalies.offset_, normal_only.offset_)


def test_fit_predict_gives_the_training_labels_behind_the_thresholds(make_detector, fan):
    X_train, s_train, *_ = split(fan)
    labels = make_detector(contamination=0.2).fit_predict(X_train, section=s_train)
    assert set(np.unique(labels)) == {-1, 1}
    # leave-one-out cosine scores: about 20 % of every section is flagged
    assert 0.1 <= np.mean(labels == -1) <= 0.3


# -- targets --------------------------------------------------------------------------


def test_one_section_per_machine_type_trains_on_machine_type_section_pairs(
    make_detector, one_section
):
    X, frame, train = one_section
    section = frame["section"].to_numpy()
    machine_type = frame["machine_type"].to_numpy()
    detector = make_detector(score_rule="confidence").fit(
        X[train], section=section[train], machine_type=machine_type[train]
    )
    assert detector.sections_.tolist() == [("fan", 0), ("valve", 0)]
    assert detector.classes_.tolist() == [("fan", 0), ("valve", 0)]
    assert detector.machine_types_.tolist() == ["fan", "valve"]
    assert detector.offset_.shape == (2,)
    scores = detector.decision_function(
        X[~train], section=section[~train], machine_type=machine_type[~train]
    )
    assert np.isfinite(scores).all()
    with pytest.raises(ValueError, match="pass machine_type"):
        detector.decision_function(X[~train], section=section[~train])
    swapped = np.where(machine_type[~train] == "fan", "valve", "fan")
    assert not np.allclose(
        detector.decision_function(X[~train], section=section[~train], machine_type=swapped),
        scores,
    )
    with pytest.raises(ValueError, match="without section"):
        make_detector().fit(X[train], machine_type=machine_type[train])


def test_one_section_with_attributes_trains_on_attribute_classes(make_detector, one_section):
    X, frame, train = one_section
    fan = train & (frame["machine_type"] == "fan").to_numpy()
    attributes = frame["attributes"].to_numpy()[fan]
    detector = make_detector(score_rule="cosine").fit(
        X[fan], section=[0] * fan.sum(), attributes=attributes
    )
    assert detector.embedder_.target == "section_attributes"
    assert [label for _, label in detector.classes_] == sorted(set(attributes))
    assert detector.class_groups_.all()
    assert np.isfinite(detector.decision_function(X[~train], section=[0] * (~train).sum())).all()
    # the own section holds every class: the confidence would always be 1
    with pytest.raises(ValueError, match="confidence is undefined"):
        make_detector(score_rule="confidence").fit(
            X[fan], section=[0] * fan.sum(), attributes=attributes
        )


def test_confidence_sums_the_attribute_classes_of_the_own_section(make_detector, one_section):
    X, frame, train = one_section
    rows = {name: frame[name].to_numpy()[train] for name in ("section", "machine_type")}
    attributes = frame["attributes"].to_numpy()[train]
    detector = make_detector(score_rule="confidence").fit(X[train], attributes=attributes, **rows)
    fan_classes = np.array([key == ("fan", 0) for key, _ in detector.classes_])
    np.testing.assert_array_equal(detector.class_groups_, [fan_classes, ~fan_classes])
    proba = detector.embedder_.predict_crop_proba(detector.features_.transform(X[:3]))
    p = proba[..., fan_classes].sum(axis=-1).astype(float)
    np.testing.assert_allclose(
        detector.score_samples(X[:3], section=[0] * 3, machine_type=["fan"] * 3),
        -np.log((1 - p) / p).mean(axis=1),
        rtol=1e-4,
    )


def test_attributes_target_keys_attributes_by_machine_type(make_detector, one_section):
    X, frame, train = one_section
    detector = make_detector(target="attributes").fit(
        X[train],
        section=frame["section"][train],
        machine_type=frame["machine_type"][train],
        attributes=np.full(train.sum(), "noAttribute"),
    )
    assert detector.classes_.tolist() == [("fan", "noAttribute"), ("valve", "noAttribute")]


def test_a_single_class_is_a_clear_error(make_detector, one_section):
    X, frame, train = one_section
    fan = train & (frame["machine_type"] == "fan").to_numpy()
    with pytest.raises(ValueError, match="all lie in section 0: pass machine_type"):
        make_detector().fit(X[fan], section=frame["section"][fan])


# -- the default embedder -------------------------------------------------------------


def test_network_and_loss_configure_the_default_embedder():
    net = make_id_embedder(network="mobilefacenet", loss="arcface", max_epochs=7).net
    assert net.module is MobileFaceNet and net.criterion is ArcFaceLoss
    assert (net.module__head, net.module__width_mult, net.max_epochs) == ("cosine", 0.5, 7)
    default = IDClassifierDetector(random_state=3, device="cpu")._make_embedder()
    assert default.net.module is MobileNetV3IDNet and default.net.criterion is CrossEntropyLoss
    assert default.net.module__head == "linear" and default.net.module__depth_mult == 0.5
    chosen = IDClassifierDetector(network="mobilefacenet", loss="arcface")._make_embedder()
    assert chosen.net.module is MobileFaceNet and chosen.net.criterion is ArcFaceLoss
    assert (default.random_state, default.device, default.n_frames) == (3, "cpu", 64)
    assert default.net.max_epochs == 40
    with pytest.raises(ValueError, match="loss must be one of"):
        make_id_embedder(loss="hinge")


def test_network_class_trains_with_its_own_defaults(tiny_net):
    X, frame = make_machine_sounds(
        machine_types="fan", n_sections=2, n_train=4, n_test=0, duration=2.1, random_state=0
    )
    detector = IDClassifierDetector(
        features=LogMel(n_mels=32), network=tiny_net, loss="ce", random_state=0
    ).fit(X, section=frame["section"])
    net = detector.embedder_.net_
    assert isinstance(net.module_, tiny_net) and isinstance(net.criterion_, CrossEntropyLoss)
    assert net.module__head == "linear" and "module__width_mult" not in net.get_params()
    assert len(net.history) == 40 and detector.embedder_.n_frames == 64


def test_embedder_and_network_together_is_an_error(make_detector, fan):
    X_train, s_train, *_ = split(fan)
    with pytest.raises(ValueError, match="network='mobilenetv3' and loss=None"):
        make_detector(network="mobilenetv3").fit(X_train, section=s_train)


# -- the pipeline form ----------------------------------------------------------------


def test_pipeline_form_gives_the_same_scores(make_detector, make_embedder, fan):
    X_train, s_train, X_test, s_test, _ = split(fan)
    detector = make_detector(score_rule="cosine").fit(X_train, section=s_train)
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_pipeline(LogMel(n_mels=32), make_embedder(random_state=0), CosineScorer()).fit(
            X_train, section=s_train
        )
        expected = pipe.decision_function(X_test, section=s_test)
    np.testing.assert_array_equal(detector.decision_function(X_test, section=s_test), expected)
    np.testing.assert_array_equal(detector.offset_, pipe[-1].offset_)


# -- model selection ------------------------------------------------------------------


def test_grid_search_over_network_and_scoring_parameters(make_detector, fan):
    X, frame, _ = fan
    y = frame["label"].to_numpy(dtype=int)
    grid = {"embedder__net__lr": [1e-3, 1e-2], "score_rule": ["confidence", "cosine"]}
    with sklearn.config_context(enable_metadata_routing=True):
        search = GridSearchCV(
            make_detector(),
            grid,
            scoring=make_asd_scorer("auc"),
            cv=NormalOnlyKFold(n_splits=2, shuffle=True, random_state=0),
        ).fit(X, y, section=frame["section"].to_numpy())
    results = search.cv_results_
    assert [params["embedder__net__lr"] for params in results["params"]] == [
        1e-3,
        1e-3,
        1e-2,
        1e-2,
    ]
    assert np.isfinite(results["mean_test_score"]).all()
    assert len(set(np.round(results["mean_test_score"], 6))) > 1
    best = search.best_estimator_
    assert best.embedder_.net_.lr == search.best_params_["embedder__net__lr"]
    assert best.score_rule == search.best_params_["score_rule"]


# -- persistence and randomness -------------------------------------------------------


def test_joblib_round_trip_gives_identical_scores(make_detector, fan, tmp_path):
    X_train, s_train, X_test, s_test, _ = split(fan)
    detector = make_detector(score_rule="mahalanobis").fit(X_train, section=s_train)
    joblib.dump(detector, tmp_path / "detector.joblib")
    loaded = joblib.load(tmp_path / "detector.joblib")
    np.testing.assert_array_equal(
        loaded.decision_function(X_test, section=s_test),
        detector.decision_function(X_test, section=s_test),
    )


def test_a_model_trained_on_cuda_loads_and_scores_on_cpu(make_detector, fan):
    """Pickle the net as if it lived on CUDA (storages tagged "cuda:0", device "cuda").

    As in the NetEmbedder tests: loading these bytes needs skorch's map-location
    handling, here reached through the detector's pickled state.
    """
    X_train, s_train, X_test, s_test, _ = split(fan)
    detector = make_detector(score_rule="confidence").fit(X_train, section=s_train)
    expected = detector.decision_function(X_test, section=s_test)
    detector.embedder_.net_.device = "cuda"
    with mock.patch.object(torch.serialization, "location_tag", return_value="cuda:0"):
        payload = pickle.dumps(detector)
    with mock.patch("torch.cuda.is_available", return_value=False):
        with pytest.warns(DeviceWarning):
            loaded = pickle.loads(payload)
    assert torch.device(loaded.embedder_.net_.device).type == "cpu"
    np.testing.assert_array_equal(loaded.decision_function(X_test, section=s_test), expected)


def test_device_cuda_falls_back_to_the_cpu_for_scoring_and_refitting(make_detector, fan):
    """A detector saved with device="cuda" scores and refits on a machine without a GPU."""
    X_train, s_train, X_test, s_test, _ = split(fan)
    with mock.patch("torch.cuda.is_available", return_value=False):
        with pytest.warns(UserWarning, match=r"device='cuda' .* running on the CPU"):
            detector = make_detector(device="cuda").fit(X_train, section=s_train)
        assert torch.device(detector.embedder_.net_.device).type == "cpu"
        expected = detector.decision_function(X_test, section=s_test)
        loaded = pickle.loads(pickle.dumps(detector))
        assert loaded.device == "cuda"  # the parameter stays as given
        np.testing.assert_array_equal(loaded.decision_function(X_test, section=s_test), expected)
        with pytest.warns(UserWarning, match="running on the CPU"):
            loaded.fit(X_train, section=s_train)
    np.testing.assert_array_equal(loaded.decision_function(X_test, section=s_test), expected)


def test_random_state_makes_fits_repeatable(make_detector, fan):
    X_train, s_train, X_test, s_test, _ = split(fan)
    first, second, other = (
        make_detector(random_state=seed).fit(X_train, section=s_train) for seed in (0, 0, 1)
    )
    scores = first.score_samples(X_test, section=s_test)
    np.testing.assert_array_equal(second.score_samples(X_test, section=s_test), scores)
    assert not np.allclose(other.score_samples(X_test, section=s_test), scores)


@pytest.mark.parametrize("score_rule", ["confidence", "cosine"])
def test_sklasd_estimator_checks(make_detector, fan, score_rule):
    X, frame, train = fan
    rows = np.flatnonzero(train)[::2]  # 12 clips of 3 sections
    check_estimator(
        make_detector(score_rule=score_rule, contamination=0.1),
        X[rows].astype(np.float64),
        fit_params={"section": frame["section"].to_numpy()[rows]},
    )
