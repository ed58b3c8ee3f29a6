"""Tests of RCMAEPretrainer, RCMAEDetector and the pre-training dataset, on tiny configurations."""

from unittest import mock

import joblib
import numpy as np
import pytest
import sklearn
import torch
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import GridSearchCV

from sklasd.detectors import RCMAEDetector, make_rcmae_finetune_net
from sklasd.embedders import RCMAEPretrainer, make_rcmae_net
from sklasd.features import Gain, LogMel
from sklasd.metrics import make_asd_scorer
from sklasd.model_selection import NormalOnlyKFold
from sklasd.training._rcmae import PairedCrops
from sklasd.utils.estimator_checks import parametrize_with_checks

N_MELS, N_FRAMES = 16, 16  # 0.5 s clips at hop 512 have 16 frames
TINY_ENCODER = {
    "module__patch_size": 8,
    "module__embed_dim": 16,
    "module__depth": 1,
    "module__n_heads": 2,
    "module__projection_dim": 8,
}


def make_pretrainer(**params):
    net = make_rcmae_net(
        **TINY_ENCODER, module__decoder_dim=8, module__decoder_heads=2, max_epochs=2,
        batch_size=16,
    )  # fmt: skip
    params = {"features": LogMel(n_mels=N_MELS), "net": net, "n_frames": N_FRAMES,
              "random_state": 0, **params}  # fmt: skip
    return RCMAEPretrainer(**params)


def make_detector(**params):
    net = make_rcmae_finetune_net(module__projection_dim=8, max_epochs=3, batch_size=16, lr=3e-3)
    params = {"pretrained": make_pretrainer(), "net": net, "random_state": 0, **params}
    return RCMAEDetector(**params)


def split(data):
    X, frame, train = data
    section = frame["section"].to_numpy()
    return X[train], section[train], X[~train], section[~train]


@pytest.fixture(scope="module")
def fitted_pretrainer(fan):
    X_train, *_ = split(fan)
    return make_pretrainer().fit(X_train)


# -- the pre-training dataset ----------------------------------------------------------


def test_paired_crops_align_views_and_augment_them_per_epoch():
    X = np.arange(2 * 1 * 2 * 30, dtype=np.float32).reshape(2, 1, 2, 30)
    views = -X
    dataset = PairedCrops(X, views, n_frames=8, seed=0, epoch=0)
    (crop, view), _ = dataset[1]
    torch.testing.assert_close(view, -crop)  # the same frames of the view
    noisy = PairedCrops(X, n_frames=8, augmentation=lambda v, rng: v + rng.normal(size=v.shape))
    noisy.set_epoch(0)
    (crop0, view0), _ = noisy[0]
    (_, view_again), _ = noisy[0]
    torch.testing.assert_close(view0, view_again)  # seeded by (seed, epoch, item)
    assert view0.dtype == torch.float32 and not torch.equal(view0, crop0)
    noisy.set_epoch(1)
    assert not torch.equal(noisy[0][0][1] - noisy[0][0][0], view0 - crop0)
    with pytest.raises(ValueError, match="shape of X"):
        PairedCrops(X, views[:1], n_frames=8)


# -- stage 1 ---------------------------------------------------------------------------


def test_pretrainer_embeds_clips_and_trains_the_rcmae_loss(fitted_pretrainer, fan):
    *_, X_test, _ = split(fan)
    embeddings = fitted_pretrainer.transform(X_test)
    assert embeddings.shape == (len(X_test), 16) and np.isfinite(embeddings).all()
    assert fitted_pretrainer.get_feature_names_out()[0] == "rcmaepretrainer0"
    net = fitted_pretrainer.net_
    assert len(net.history) == 2 and np.isfinite(net.history[:, "train_loss"]).all()
    assert type(net.criterion_).__name__ == "RCMAELoss"
    assert net.module_.encoder.config["input_size"] == (N_MELS, N_FRAMES)


def test_pretrainer_default_features_follow_the_paper():
    clips = np.random.default_rng(0).normal(size=(2, 16000))
    pretrainer = RCMAEPretrainer(net=make_rcmae_net(max_epochs=0), n_frames=16).fit(clips)
    features = pretrainer.features_
    assert (features.n_fft, features.hop_length, features.n_mels) == (1024, 512, 128)
    assert (features.fmin, features.fmax) == (50.0, 8000.0)
    assert pretrainer.net_.module_.encoder.grid == (8, 1)  # 16 x 16 patches


def test_pretrainer_leaves_out_anomalous_clips_and_needs_two(fan):
    X_train, *_ = split(fan)
    y = np.ones(len(X_train), dtype=int)
    y[:1] = 0
    with pytest.raises(ValueError, match="at least 2 normal clips"):
        make_pretrainer().fit(X_train, y)


def test_pretrainer_views_come_from_the_waveform_augmentation(fan):
    X_train, *_ = split(fan)
    gain = Gain(min_db=-20.0, max_db=-20.0)
    with mock.patch.object(Gain, "augment", autospec=True, side_effect=Gain.augment) as spy:
        make_pretrainer(waveform_augmentation=gain, augmentation=None).fit(X_train[:4])
    assert spy.call_count == 1
    assert spy.call_args.args[1].shape == X_train[:4].shape


# -- stage 2 ---------------------------------------------------------------------------


def test_detector_scores_the_mean_log_probability_of_the_own_section(fitted_pretrainer, fan):
    X_train, s_train, X_test, s_test = split(fan)
    detector = make_detector(pretrained=FrozenEstimator(fitted_pretrainer)).fit(
        X_train, section=s_train
    )
    assert detector.pretrained_ is fitted_pretrainer
    np.testing.assert_array_equal(detector.classes_, [0, 1, 2])
    proba = detector.embedder_.predict_crop_proba(
        fitted_pretrainer.features_.transform(X_test)
    ).astype(np.float64)
    expected = np.log(proba[np.arange(len(X_test)), :, s_test]).mean(axis=1)
    scores = detector.score_samples(X_test, section=s_test)
    np.testing.assert_allclose(scores, expected, rtol=1e-6)
    assert (scores <= 0).all()
    decision = detector.decision_function(X_test, section=s_test)
    np.testing.assert_allclose(decision, scores - detector.offset_[s_test])
    net = detector.embedder_.net_
    assert type(net.module_).__name__ == "ViTClassifier"
    assert type(net.criterion_).__name__ == "SupConCELoss"


def test_fine_tuning_starts_from_the_pretrained_encoder(fitted_pretrainer, fan):
    X_train, s_train, *_ = split(fan)
    frozen = FrozenEstimator(fitted_pretrainer)
    untrained = make_detector(
        pretrained=frozen, net=make_rcmae_finetune_net(module__projection_dim=8, max_epochs=0)
    ).fit(X_train, section=s_train)
    pretrained = fitted_pretrainer.net_.module_.encoder.state_dict()
    # Weights, not the batch-norm statistics NetEmbedder recomputes on the training crops.
    for name, value in untrained.embedder_.net_.module_.encoder.named_parameters():
        torch.testing.assert_close(value, pretrained[name])
    trained = make_detector(pretrained=frozen).fit(X_train, section=s_train)
    weights = trained.embedder_.net_.module_.encoder.state_dict()
    assert not torch.equal(weights["cls_token"], pretrained["cls_token"])
    # Fine-tuning changed a copy: the frozen pretrainer's encoder is untouched.
    assert (
        fitted_pretrainer.net_.module_.encoder.state_dict()["cls_token"]
        is not (weights["cls_token"])
    )
    torch.testing.assert_close(
        fitted_pretrainer.net_.module_.encoder.state_dict()["cls_token"],
        untrained.embedder_.net_.module_.encoder.state_dict()["cls_token"],
    )


def test_detector_without_pretrained_pretrains_itself_once(fan):
    X_train, s_train, *_ = split(fan)
    with mock.patch.object(
        RCMAEPretrainer, "fit", autospec=True, side_effect=RCMAEPretrainer.fit
    ) as spy:
        detector = make_detector().fit(X_train, section=s_train)
    assert spy.call_count == 1
    assert isinstance(detector.pretrained_, RCMAEPretrainer)
    assert detector.pretrained_ is not detector.pretrained  # a fitted clone


def test_grid_search_shares_one_frozen_pretrainer(fitted_pretrainer, fan):
    X, frame, _ = fan
    y = frame["label"].to_numpy(dtype=int)
    grid = {"net__lr": [1e-3, 1e-2]}
    with (
        sklearn.config_context(enable_metadata_routing=True),
        mock.patch.object(RCMAEPretrainer, "fit", autospec=True) as fit,
    ):
        search = GridSearchCV(
            make_detector(pretrained=FrozenEstimator(fitted_pretrainer)),
            grid,
            scoring=make_asd_scorer("auc"),
            cv=NormalOnlyKFold(n_splits=2, shuffle=True, random_state=0),
        ).fit(X, y, section=frame["section"].to_numpy())
    assert fit.call_count == 0  # 2 candidates x 2 folds + refit, no pre-training
    assert search.best_estimator_.pretrained_ is fitted_pretrainer
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_machine_type_pairs_are_the_classes_for_one_section_per_type(one_section):
    X, frame, train = one_section
    X_train, frame_train = X[train], frame[train]
    detector = make_detector().fit(
        X_train,
        section=frame_train["section"].to_numpy(),
        machine_type=frame_train["machine_type"].to_numpy(),
    )
    assert detector.classes_.tolist() == [("fan", 0), ("valve", 0)]
    scores = detector.decision_function(
        X[~train],
        section=frame["section"].to_numpy()[~train],
        machine_type=frame["machine_type"].to_numpy()[~train],
    )
    assert scores.shape == ((~train).sum(),) and np.isfinite(scores).all()
    with pytest.raises(ValueError, match="all lie in section 0: pass machine_type"):
        make_detector().fit(X_train, section=frame_train["section"].to_numpy())


def test_detector_needs_sections_and_a_fitted_frozen_pretrainer(fan):
    X_train, s_train, *_ = split(fan)
    with pytest.raises(ValueError, match="fine-tunes on sections"):
        make_detector().fit(X_train)
    with pytest.raises(sklearn.exceptions.NotFittedError):
        make_detector(pretrained=FrozenEstimator(make_pretrainer())).fit(X_train, section=s_train)


def test_joblib_round_trip_gives_identical_scores(fitted_pretrainer, fan, tmp_path):
    X_train, s_train, X_test, s_test = split(fan)
    detector = make_detector(pretrained=FrozenEstimator(fitted_pretrainer)).fit(
        X_train, section=s_train
    )
    joblib.dump(detector, tmp_path / "rcmae.joblib")
    loaded = joblib.load(tmp_path / "rcmae.joblib")
    np.testing.assert_array_equal(
        loaded.decision_function(X_test, section=s_test),
        detector.decision_function(X_test, section=s_test),
    )


# -- sklasd's estimator checks ---------------------------------------------------------


def _clips():
    from sklasd.datasets import make_machine_sounds

    X, frame = make_machine_sounds(
        machine_types="fan", n_sections=2, n_train=4, n_test=0, duration=0.5, random_state=0
    )
    train = (frame["split"] == "train").to_numpy() & (frame["domain"] == "source").to_numpy()
    return X[train].astype(np.float64), frame["section"].to_numpy()[train]


@parametrize_with_checks(
    [
        (make_detector(contamination=0.1), lambda: _clips()[0], lambda: {"section": _clips()[1]}),
        (make_pretrainer(), lambda: _clips()[0]),
    ]
)
def test_sklasd_estimator_checks(estimator, check):
    check(estimator)
