"""CentroidBCEDetector: losses, Eq. (5) scores, standardisation, known anomalies, contract."""

import pickle
from unittest import mock

import joblib
import numpy as np
import pytest
import sklearn
import torch
from sklearn.model_selection import GridSearchCV
from skorch.exceptions import DeviceWarning

from sklasd.datasets import make_machine_sounds
from sklasd.detectors import CentroidBCEDetector, make_centroid_net
from sklasd.features import LogMel
from sklasd.metrics import auc, make_asd_scorer
from sklasd.model_selection import NormalOnlyKFold
from sklasd.nn import CentroidLoss, ResNet38, centroid_score
from sklasd.training._binary import SegmentCrops
from sklasd.utils.estimator_checks import check_estimator


def make_detector(**params):
    """A tiny detector: 32 mel bands at hop 256, 32-frame segments, a narrow ResNet38.

    ``net__<name>`` parameters go to the net (``make_centroid_net``).
    """
    net = {"module__width_mult": 0.0625, "module__embedding_dim": 8, "max_epochs": 2, "lr": 3e-3}
    net |= {name[5:]: params.pop(name) for name in list(params) if name.startswith("net__")}
    params = {
        "features": LogMel(n_mels=32, hop_length=256),
        "net": make_centroid_net(**net),
        "n_frames": 32,
        "n_segments": 3,
        "batch_ratio": (4, 3, 1),
        "random_state": 0,
        **params,
    }
    return CentroidBCEDetector(**params)


@pytest.fixture(scope="module")
def bearing():
    """1 s fan clips of 2 sections (63 frames at hop 256), test anomalies of one kind.

    Returns (X, y, section, train, known): ``known`` marks 3 test anomalies per section
    that a semi-supervised fit may use; they are never evaluated.
    """
    X, frame = make_machine_sounds(
        machine_types="fan", n_sections=2, n_train=12, n_test=20, duration=1.0,
        severity=3.0, anomaly_kinds=["bearing"], domain_shift=False, random_state=0,
    )  # fmt: skip
    y = frame["label"].to_numpy(dtype=int)
    section = frame["section"].to_numpy()
    train = (frame["split"] == "train").to_numpy()
    known = np.zeros(len(y), dtype=bool)
    for s in (0, 1):
        known[np.flatnonzero(~train & (y == 1) & (section == s))[:3]] = True
    return X, y, section, train, known


def sampler_of(net):
    return net.get_params_for("iterator_train")["batch_sampler"]


def proba_distance(detector, X, section):
    """Segment-averaged p and d of every clip, recomputed from the fitted networks."""
    features = detector.features_.transform(X)
    p, d = np.empty(len(X)), np.empty(len(X))
    for index, net in enumerate(detector.nets_):
        rows = section == index
        if not rows.any():
            continue
        logit, embedding = net.forward(SegmentCrops(features[rows], n_frames=32, n_segments=3))
        p[rows] = torch.sigmoid(logit).numpy().reshape(-1, 3).mean(axis=1)
        d[rows] = net.criterion_.distance(embedding).numpy().reshape(-1, 3).mean(axis=1)
    return p, d


# -- training -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("loss", "alpha"),
    [("bce", 1.0), ("dsad", 0.0), ("ddcsad", 0.0), ("bce+dsad", 0.5), ("bce+ddcsad", 0.5)],
)
def test_every_loss_trains_and_auto_alpha_follows_it(bearing, loss, alpha):
    X, _, section, train, _ = bearing
    detector = make_detector(loss=loss, lambda_=0.5, eta=3.0, net__max_epochs=1).fit(
        X[train], section=section[train]
    )
    assert detector.alpha_.tolist() == [alpha, alpha]
    for net in detector.nets_:
        criterion = net.criterion_
        assert (criterion.loss, criterion.lambda_, criterion.eta) == (loss, 0.5, 3.0)
        assert criterion.embedding_dim == net.module_.embedding_dim == 8
    assert np.isfinite(detector.decision_function(X[~train], section=section[~train])).all()


def dead_unit_fraction(detector, X, section):
    """Share of embedding units that are exactly 0 for every segment of section 0's clips."""
    features = detector.features_.transform(X[section == 0])
    z = detector.nets_[0].embed(SegmentCrops(features, n_frames=32, n_segments=3))
    return float((z == 0).all(axis=0).mean())


def test_centroid_losses_get_a_linear_embedding_that_does_not_collapse(bearing):
    """Under DSAD, ResNet38's ReLU embedding loses units for good; the linear one does not."""
    X, _, section, train, _ = bearing
    params = {"loss": "dsad", "net__max_epochs": 2}
    linear = make_detector(**params).fit(X[train], section=section[train])
    assert all(net.module_.embedding_activation is None for net in linear.nets_)
    assert dead_unit_fraction(linear, X[train], section[train]) == 0
    assert (np.ptp(linear.distance_range_, axis=1) > 0).all()
    relu = make_detector(
        **params, net__module__embedding_activation="relu"
    ).fit(X[train], section=section[train])  # fmt: skip
    assert relu.nets_[0].module_.embedding_activation == "relu"
    # measured: 5 of the 8 units output 0 for every clip after 2 epochs
    assert dead_unit_fraction(relu, X[train], section[train]) >= 0.25
    # the classifier alone keeps PANNs' ReLU
    bce = make_detector(loss="bce")
    bce.batch_ratio_ = (4, 3, 1)
    assert bce._configure_net(sklearn.base.clone(bce.net)).module__embedding_activation == "relu"


def test_score_is_eq5_with_the_range_of_the_normal_training_clips(bearing):
    X, _, section, train, _ = bearing
    detector = make_detector(alpha=0.3).fit(X[train], section=section[train])
    p, d = proba_distance(detector, X[train], section[train])
    for index in (0, 1):
        rows = section[train] == index
        np.testing.assert_allclose(
            detector.distance_range_[index], [d[rows].min(), d[rows].max()], rtol=1e-5
        )
    p, d = proba_distance(detector, X[~train], section[~train])
    low, high = detector.distance_range_[section[~train]].T
    expected = -(0.3 * (1 - p) + 0.7 * (d - low) / (high - low))
    scores = detector.score_samples(X[~train], section=section[~train])
    np.testing.assert_allclose(scores, expected, rtol=1e-4, atol=1e-6)


def test_train_standardisation_keeps_each_clips_score_its_own(bearing):
    X, _, section, train, _ = bearing
    detector = make_detector().fit(X[train], section=section[train])
    test = np.flatnonzero(~train)
    scores = detector.score_samples(X[test], section=section[test])
    np.testing.assert_allclose(
        detector.score_samples(X[test[:3]], section=section[test[:3]]), scores[:3], rtol=1e-6
    )


def test_batch_standardisation_uses_the_scored_clips(bearing):
    X, _, section, train, _ = bearing
    detector = make_detector(standardize="batch").fit(X[train], section=section[train])
    test = np.flatnonzero(~train & (section == 0))
    p, d = proba_distance(detector, X[test], section[test])
    scores = detector.score_samples(X[test], section=section[test])
    expected = -centroid_score(p, d, alpha=0.5, d_range=(d.min(), d.max()))
    np.testing.assert_allclose(scores, expected, rtol=1e-4, atol=1e-6)
    # the same clips scored in a smaller batch get other scores ...
    assert not np.allclose(
        detector.score_samples(X[test[:3]], section=section[test[:3]]), scores[:3]
    )
    # ... and a clip scored alone has d' = 0
    alone = detector.score_samples(X[test[:1]], section=section[test[:1]])
    np.testing.assert_allclose(alone, -0.5 * (1 - p[:1]), rtol=1e-4)


def test_collapsed_embeddings_are_a_clear_error(bearing):
    X, _, section, train, _ = bearing

    def collapsed(self, index, features):
        return np.linspace(0.1, 0.9, len(features)), np.full(len(features), 0.25)

    with mock.patch.object(CentroidBCEDetector, "_proba_distance", collapsed):
        with pytest.raises(ValueError, match=r"embeddings of section 0 collapsed.*0\.25"):
            make_detector(loss="ddcsad", net__max_epochs=1).fit(X[train], section=section[train])
        # the classifier term alone does not need the distances
        detector = make_detector(loss="bce", net__max_epochs=1).fit(
            X[train], section=section[train]
        )
    np.testing.assert_array_equal(detector.distance_range_, [[0.25, 1.25], [0.25, 1.25]])


def test_network_sizes():
    cpu = CentroidBCEDetector(net=make_centroid_net(module__embedding_dim=32))
    cpu.batch_ratio_ = (32, 31, 1)
    net = cpu._configure_net(sklearn.base.clone(cpu.net))
    assert (net.module__width_mult, net.module__layers) == (0.125, (1, 1, 1, 1))
    assert net.module__embedding_dim == net.criterion__embedding_dim == 32
    assert net.batch_size == 64
    paper = CentroidBCEDetector(net=make_centroid_net(size="paper"))
    paper.batch_ratio_ = (32, 31, 1)
    net = paper._configure_net(sklearn.base.clone(paper.net))
    assert net.module is ResNet38 and "module__width_mult" not in net.get_params()
    assert net.criterion__embedding_dim == 2048
    with pytest.raises(ValueError, match="size must be one of"):
        make_centroid_net(size="large")


# -- known anomalies ------------------------------------------------------------------


def test_known_anomalies_join_their_sections_batches(bearing):
    X, y, section, train, known = bearing
    rows = train | known
    detector = make_detector(net__max_epochs=1).fit(X[rows], y[rows], section=section[rows])
    for index, net in enumerate(detector.nets_):
        sampler = sampler_of(net)
        assert sampler.counts == {0: 4, 1: 3, 2: 1}
        own = section[rows] == index
        normal = y[rows] == 0
        # normal clips of the section, other sections' normal clips, its own anomalies
        expected = [(own & normal).sum(), (~own & normal).sum(), (own & ~normal).sum()]
        assert np.bincount(sampler.labels).tolist() == expected == [12, 12, 3]
    assert sampler_of(
        make_detector(net__max_epochs=1).fit(X[train], section=section[train]).nets_[0]
    ).counts == {0: 4, 1: 4}
    pooled = make_detector(net__max_epochs=1, batch_ratio=(4, 3, 0))
    sampler = sampler_of(pooled.fit(X[rows], y[rows], section=section[rows]).nets_[0])
    assert sampler.counts == {0: 4, 1: 3}
    assert np.bincount(sampler.labels).tolist() == [12, 15]


def test_known_anomalies_are_target_machine_clips_of_the_loss(bearing):
    X, y, section, train, known = bearing
    rows = train | known
    seen = []
    forward = CentroidLoss.forward

    def record(criterion, output, target):
        seen.append(target.tolist())
        return forward(criterion, output, target)

    with mock.patch.object(CentroidLoss, "forward", autospec=True, side_effect=record):
        make_detector(net__max_epochs=1).fit(X[rows], y[rows], section=section[rows])
    # batches of 4 normal (1), 3 outlier (0) and 1 known anomaly (-1) crops
    assert seen and all(sorted(batch) == [-1, 0, 0, 0, 1, 1, 1, 1] for batch in seen)


@pytest.fixture(scope="module")
def two_types():
    """0.5 s clips of one section of fan and of pump."""
    X, frame = make_machine_sounds(
        machine_types=["fan", "pump"], n_sections=1, n_train=8, n_test=4, duration=1.0,
        domain_shift=False, random_state=0,
    )  # fmt: skip
    train = (frame["split"] == "train").to_numpy()
    meta = {name: frame[name].to_numpy()[train] for name in ("section", "machine_type")}
    return X[train], meta


@pytest.mark.parametrize(
    ("loss", "alpha"),
    # Table I: fan 0.1 / 0.1, pump 0.2 / 1.0; no table for the losses alone
    [("bce+dsad", [0.1, 0.2]), ("bce+ddcsad", [0.1, 1.0]), ("bce", [1.0, 1.0])],
)
def test_auto_alpha_takes_table_i_per_machine_type(two_types, loss, alpha):
    X, meta = two_types
    detector = make_detector(
        loss=loss, outliers="dataset", net__max_epochs=1, batch_ratio=(2, 2, 0)
    )
    detector.fit(X, **meta)
    assert detector.sections_.tolist() == [("fan", 0), ("pump", 0)]
    assert detector.alpha_.tolist() == alpha
    fixed = make_detector(loss=loss, outliers="dataset", alpha=0.3, net__max_epochs=1)
    assert fixed.set_params(batch_ratio=(2, 2, 0)).fit(X, **meta).alpha_.tolist() == [0.3, 0.3]


def test_warm_start_continues_the_model_trained_without_anomalies(bearing):
    X, y, section, train, known = bearing
    rows = train | known
    unsupervised = make_detector().fit(X[train], section=section[train])
    warm = make_detector(warm_start=True).fit(X[rows], y[rows], section=section[rows])
    for first, second in zip(unsupervised.nets_, warm.nets_, strict=True):
        assert len(second.history) == 4
        np.testing.assert_allclose(
            second.history[:2, "train_loss"], first.history[:, "train_loss"], rtol=1e-5
        )
    without = make_detector(warm_start=True).fit(X[train], section=section[train])
    assert len(without.nets_[0].history) == 2


@pytest.mark.slow
def test_a_few_known_anomalies_raise_auc(bearing):
    X, y, section, train, known = bearing
    evaluate = ~train & ~known
    params = {
        "loss": "bce",
        "net__module__embedding_dim": 16,
        "n_segments": 4,
        "net__max_epochs": 10,
        "contamination": 0.1,
    }
    rows = train | known

    def test_auc(**fit_options):
        aucs = []
        for seed in (0, 1):
            detector = make_detector(random_state=seed, **params, **fit_options.pop("params", {}))
            detector.fit(*fit_options["data"], section=fit_options["section"])
            scores = detector.decision_function(X[evaluate], section=section[evaluate])
            aucs.append(auc(y[evaluate], -scores))
        return np.mean(aucs)

    unsupervised = test_auc(data=(X[train],), section=section[train])
    with_anomalies = test_auc(data=(X[rows], y[rows]), section=section[rows])
    warm = test_auc(data=(X[rows], y[rows]), section=section[rows], params={"warm_start": True})
    # 3 known anomalies per section; measured: 0.46 -> 0.84, 0.96 with warm_start
    assert with_anomalies > unsupervised + 0.15
    assert warm > unsupervised + 0.15


# -- validation -----------------------------------------------------------------------


@pytest.mark.parametrize("ratio", [(4, 3), (0, 3, 1), (4, 0, 1), (4, 3, -1), (4.0, 3, 1), "431"])
def test_invalid_batch_ratio(bearing, ratio):
    X, _, section, train, _ = bearing
    with pytest.raises(ValueError, match="batch_ratio"):
        make_detector(batch_ratio=ratio).fit(X[train], section=section[train])


# -- model selection, persistence, randomness, conformance ------------------------------


def test_grid_search_over_loss_alpha_and_lambda(bearing):
    X, y, section, train, known = bearing
    rows = train | (~known & ~train)  # anomalies only in the test folds
    grid = [
        {"loss": ["bce"], "alpha": [1.0]},
        {"loss": ["bce+ddcsad"], "alpha": [0.5], "lambda_": [0.5, 2.0]},
    ]
    with sklearn.config_context(enable_metadata_routing=True):
        search = GridSearchCV(
            make_detector(net__max_epochs=1),
            grid,
            scoring=make_asd_scorer("auc"),
            cv=NormalOnlyKFold(n_splits=2, shuffle=True, random_state=0),
        ).fit(X[rows], y[rows], section=section[rows])
    results = search.cv_results_
    assert [(p["loss"], p.get("lambda_")) for p in results["params"]] == [
        ("bce", None),
        ("bce+ddcsad", 0.5),
        ("bce+ddcsad", 2.0),
    ]
    assert np.isfinite(results["mean_test_score"]).all()
    assert len(set(np.round(results["mean_test_score"], 6))) > 1
    best = search.best_estimator_
    assert best.nets_[0].criterion_.loss == search.best_params_["loss"]
    assert (best.alpha_ == search.best_params_["alpha"]).all()


def test_joblib_round_trip_gives_identical_scores(bearing, tmp_path):
    X, _, section, train, _ = bearing
    detector = make_detector().fit(X[train], section=section[train])
    joblib.dump(detector, tmp_path / "detector.joblib")
    loaded = joblib.load(tmp_path / "detector.joblib")
    np.testing.assert_array_equal(
        loaded.decision_function(X[~train], section=section[~train]),
        detector.decision_function(X[~train], section=section[~train]),
    )
    torch.testing.assert_close(loaded.nets_[1].criterion_.c_p, detector.nets_[1].criterion_.c_p)


def test_a_model_trained_on_cuda_loads_and_scores_on_cpu(bearing):
    """Pickle the nets as if they lived on CUDA (storages tagged "cuda:0", device "cuda").

    Loading needs skorch's map-location handling of the modules and of the criteria,
    whose centroid buffers the scores use.
    """
    X, _, section, train, _ = bearing
    detector = make_detector().fit(X[train], section=section[train])
    expected = detector.decision_function(X[~train], section=section[~train])
    for net in detector.nets_:
        net.device = "cuda"
    with mock.patch.object(torch.serialization, "location_tag", return_value="cuda:0"):
        payload = pickle.dumps(detector)
    with mock.patch("torch.cuda.is_available", return_value=False):
        with pytest.warns(DeviceWarning):
            loaded = pickle.loads(payload)
    assert all(torch.device(net.device).type == "cpu" for net in loaded.nets_)
    np.testing.assert_array_equal(
        loaded.decision_function(X[~train], section=section[~train]), expected
    )


def test_random_state_makes_fits_repeatable_without_touching_global_rngs(bearing):
    X, _, section, train, _ = bearing
    torch_state = torch.get_rng_state()
    first, second, other = (
        make_detector(random_state=seed).fit(X[train], section=section[train])
        for seed in (0, 0, 1)
    )
    scores = first.score_samples(X[~train], section=section[~train])
    assert torch.equal(torch.get_rng_state(), torch_state)
    np.testing.assert_array_equal(second.score_samples(X[~train], section=section[~train]), scores)
    assert not np.allclose(other.score_samples(X[~train], section=section[~train]), scores)


def test_sklasd_estimator_checks(bearing):
    X, _, section, train, _ = bearing
    rows = np.flatnonzero(train)[::2]  # 12 clips of 2 sections
    check_estimator(
        make_detector(net__max_epochs=1, contamination=0.1),
        X[rows].astype(np.float64),
        fit_params={"section": section[rows]},
    )
