"""SoundEventDetector: SEC/SED training, Mahalanobis scores, pretrained weights, selection."""

import joblib
import numpy as np
import pytest
import sklearn
import torch
from sklearn.model_selection import GridSearchCV

from sklasd.datasets import make_machine_sounds
from sklasd.detectors import SoundEventDetector
from sklasd.ensemble import ScoreEnsemble
from sklasd.features import LogMel
from sklasd.metrics import auc, make_asd_scorer
from sklasd.model_selection import NormalOnlyKFold
from sklasd.nn import CrossEntropyLoss, MobileNetV2, MultiLabelBCELoss, ShallowViT
from sklasd.scoring import MahalanobisScorer
from sklasd.training import ClassifierNet, EventMixing
from sklasd.utils.estimator_checks import check_estimator

TINY = {"module__width_mult": 0.25, "module__depth_mult": 0.25, "module__embedding_dim": 16}


@pytest.fixture(scope="module")
def types():
    """1 s clips of 3 machine types with one section each, both domains (DCASE 2023)."""
    X, frame = make_machine_sounds(
        machine_types=["fan", "valve", "pump"], n_sections=1, n_train=10, n_train_target=3,
        n_test=4, duration=1.0, severity=3.0, random_state=0,
    )  # fmt: skip
    train = (frame["split"] == "train").to_numpy()
    meta = {name: frame[name].to_numpy() for name in ("section", "machine_type", "domain")}
    return X, meta, frame["label"].to_numpy(dtype=int), train


def make_detector(**params):
    net = ClassifierNet(MobileNetV2, max_epochs=4, batch_size=16, lr=1e-2, **TINY)
    params = {
        "features": LogMel(n_mels=32),
        "net": net,
        "window_seconds": 0.5,
        "stride_seconds": 0.25,
        "random_state": 0,
        **params,
    }
    nested = {name: params.pop(name) for name in list(params) if "__" in name}
    return SoundEventDetector(**params).set_params(**nested)


def rows(meta, mask, *names):
    return {name: meta[name][mask] for name in names}


@pytest.mark.parametrize("mode", ["sec", "sed"])
def test_both_modes_train_one_model_over_machine_types_and_score_by_mahalanobis(types, mode):
    X, meta, y, train = types
    detector = make_detector(mode=mode).fit(X[train], **rows(meta, train, *meta))
    assert detector.classes_.tolist() == [("fan", 0), ("pump", 0), ("valve", 0)]
    assert detector.sections_.tolist() == detector.classes_.tolist()
    assert (detector.embedder_.n_frames, detector.embedder_.inference_hop) == (16, 8)
    net = detector.embedder_.net_
    assert type(net.criterion_) is {"sec": CrossEntropyLoss, "sed": MultiLabelBCELoss}[mode]
    if mode == "sed":
        assert isinstance(net.iterator_train__collate_fn, EventMixing)
    scorer = detector.scorer_
    assert type(scorer) is MahalanobisScorer
    assert [d.tolist() for d in scorer.domains_] == [["source", "target"]] * 3
    test = ~train
    scoring_meta = rows(meta, test, "section", "machine_type")
    scores = detector.score_samples(X[test], **scoring_meta)
    decision = detector.decision_function(X[test], **scoring_meta)
    groups = detector._groups(X[test], **scoring_meta)[1]  # (machine type, section) pairs
    np.testing.assert_allclose(
        scores - decision, detector.offset_[detector._section_indices(groups, len(groups))]
    )
    np.testing.assert_array_equal(
        detector.predict(X[test], **scoring_meta), np.where(decision < 0, -1, 1)
    )
    # the scores are the Mahalanobis scorer on the embeddings (domain means, one covariance)
    embed = detector.embedder_.transform(detector.features_.transform(X[test]))
    np.testing.assert_allclose(scores, scorer.score_samples(embed, section=groups))
    # Detection quality is the benchmark's job: with 4 epochs and 8 test clips per type the
    # mean AUC is seed noise (0.44 to 0.79 over random_state 0 to 3 in both modes), so the
    # test only asks for scores that tell clips apart.
    types_test = meta["machine_type"][test]
    aucs = [
        auc(y[test][types_test == t], -decision[types_test == t]) for t in ("fan", "pump", "valve")
    ]
    assert np.isfinite(aucs).all() and np.unique(decision).size > len(decision) // 2


def test_shallow_vit_network_and_window_conversion(types):
    X, meta, _, train = types
    detector = SoundEventDetector(
        features=LogMel(n_mels=32), network="shallow_vit", window_seconds=1.0,
        stride_seconds=0.5, random_state=0,
    )  # fmt: skip
    embedder = detector._make_embedder()
    assert embedder.net.module is ShallowViT and embedder.net.max_epochs == 40
    assert (embedder.n_frames, embedder.inference_hop) == (31, 16)  # 16000 / 512 frames/s
    net = ClassifierNet(ShallowViT, max_epochs=2, batch_size=16, module__embedding_dim=16)
    detector.set_params(network=None, net=net, window_seconds=0.5, stride_seconds=0.5)
    detector.fit(X[train][::2], **{k: v[train][::2] for k, v in meta.items()})
    assert detector.embedder_.transform(detector.features_.transform(X[:2])).shape == (2, 16)


def test_pretrained_weights_initialise_all_but_the_head(types, tmp_path):
    X, meta, _, train = types
    torch.manual_seed(0)
    source = MobileNetV2(
        n_classes=527, input_size=(32, 16), width_mult=0.25, depth_mult=0.25, embedding_dim=16
    )
    torch.save({"model": source.state_dict()}, tmp_path / "audioset.pth")
    detector = make_detector(pretrained_weights=str(tmp_path / "audioset.pth"))
    detector.set_params(net__lr=0.0)  # no training step moves the weights
    detector.fit(X[train], **rows(meta, train, *meta))
    trained = dict(detector.embedder_.net_.module_.named_parameters())
    for name, parameter in source.named_parameters():
        if name.startswith("classifier."):
            assert trained[name].shape[0] == 3
        else:
            assert torch.equal(trained[name], parameter), name
    torch.save({"stem.weight": torch.zeros(2)}, tmp_path / "other.pth")
    with pytest.raises(ValueError, match=r"other\.pth"):
        make_detector(pretrained_weights=str(tmp_path / "other.pth")).fit(
            X[train], **rows(meta, train, *meta)
        )


def test_configuration_errors_are_clear(types):
    X, meta, _, train = types
    with pytest.raises(ValueError, match="network='shallow_vit' configures the default net"):
        make_detector(network="shallow_vit").fit(X[train], **rows(meta, train, *meta))

    class Features(LogMel):
        def get_params(self, deep=True):
            return {}

    with pytest.raises(ValueError, match="sr and hop_length"):
        make_detector(features=Features()).fit(X[train], **rows(meta, train, *meta))


def test_grid_search_over_mode(types):
    X, meta, y, _ = types
    with sklearn.config_context(enable_metadata_routing=True):
        scorer = make_asd_scorer("auc").set_score_request(machine_type=True)
        search = GridSearchCV(
            make_detector(net__max_epochs=2),
            {"mode": ["sec", "sed"]},
            scoring=scorer,
            cv=NormalOnlyKFold(n_splits=2, shuffle=True, random_state=0),
        ).fit(X, y, **meta)
    assert [p["mode"] for p in search.cv_results_["params"]] == ["sec", "sed"]
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_estimator_.mode == search.best_params_["mode"]


def test_joblib_round_trip_gives_identical_scores(types, tmp_path):
    X, meta, _, train = types
    detector = make_detector(mode="sed").fit(X[train], **rows(meta, train, *meta))
    joblib.dump(detector, tmp_path / "detector.joblib")
    loaded = joblib.load(tmp_path / "detector.joblib")
    scoring_meta = rows(meta, ~train, "section", "machine_type")
    np.testing.assert_array_equal(
        loaded.decision_function(X[~train], **scoring_meta),
        detector.decision_function(X[~train], **scoring_meta),
    )


def test_sec_and_sed_members_combine_by_sum_and_product(types):
    X, meta, y, train = types
    members = [("sec", make_detector(mode="sec")), ("sed", make_detector(mode="sed"))]
    scoring_meta = rows(meta, ~train, "section", "machine_type")
    for combine in ("sum", "product"):
        ensemble = ScoreEnsemble(members, combine=combine).fit(
            X[train], **rows(meta, train, *meta)
        )
        anomaly = -ensemble.decision_function(X[~train], **scoring_meta)
        per_member = ensemble.member_scores(X[~train], **scoring_meta)
        assert per_member.shape == (int((~train).sum()), 2)
        assert np.isfinite(anomaly).all() and auc(y[~train], anomaly) > 0.5


def test_sklasd_estimator_checks(types):
    X, meta, _, train = types
    keep = np.flatnonzero(train)[::2]
    # the machine types as sections: the checks group clips by section only
    section = np.unique(meta["machine_type"], return_inverse=True)[1][keep]
    check_estimator(
        make_detector(mode="sed", contamination=0.1, net__max_epochs=1),
        X[keep].astype(np.float64),
        fit_params={"section": section},
    )
