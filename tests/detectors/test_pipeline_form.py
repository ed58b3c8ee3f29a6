"""Every detector as the last step of a Pipeline after its feature step; cached grids.

``make_pipeline(features, Detector(features="passthrough"))`` gives the same scores as
``Detector(features=features)`` on raw clips, under the same random_state.
"""

import warnings

import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline, make_pipeline
from skorch import NeuralNetRegressor

from sklasd.detectors import (
    AutoencoderDetector,
    CentroidBCEDetector,
    IDClassifierDetector,
    OutlierClassifierDetector,
    RCMAEDetector,
    SoundEventDetector,
    _groups,
    make_centroid_net,
    make_outlier_net,
    make_rcmae_finetune_net,
)
from sklasd.embedders import NetEmbedder, RCMAEPretrainer, make_rcmae_net
from sklasd.exceptions import FewTrainingClipsWarning
from sklasd.features import LogMel
from sklasd.metrics import make_asd_scorer
from sklasd.model_selection import NormalOnlyKFold
from sklasd.nn import DenseAutoencoder, MobileNetV2
from sklasd.scoring import ConfidenceScorer, CosineScorer, KNNScorer, MahalanobisScorer
from sklasd.training import ClassifierNet

LOGMEL = LogMel(n_mels=32, hop_length=256)  # 32 frames per 0.5 s clip


def _id_classifier(features, tiny_net):
    net = ClassifierNet(tiny_net, max_epochs=2, batch_size=16, lr=1e-2)
    embedder = NetEmbedder(net=net, n_frames=8)
    return IDClassifierDetector(features=features, embedder=embedder, random_state=0)


def _sound_event(features, tiny_net):
    net = ClassifierNet(
        MobileNetV2, module__width_mult=0.25, module__depth_mult=0.25, max_epochs=1,
        batch_size=16,
    )  # fmt: skip
    return SoundEventDetector(
        features=features, net=net, window_seconds=0.25, stride_seconds=0.25,
        frame_rate=16000 / 256, random_state=0,
    )  # fmt: skip


def _outlier_classifier(features, tiny_net):
    return OutlierClassifierDetector(
        features=features, n_frames=16, random_state=0,
        net=make_outlier_net(module__width=4, max_epochs=1, batch_size=8),
    )  # fmt: skip


def _centroid_bce(features, tiny_net):
    return CentroidBCEDetector(
        features=features, n_frames=32, n_segments=2, batch_ratio=(4, 3, 1), random_state=0,
        net=make_centroid_net(module__width_mult=0.0625, module__embedding_dim=8, max_epochs=1),
    )  # fmt: skip


def _rcmae(features, tiny_net):
    pretrain = make_rcmae_net(
        module__patch_size=8, module__embed_dim=16, module__depth=1, module__n_heads=2,
        module__projection_dim=8, module__decoder_dim=8, module__decoder_heads=2,
        max_epochs=1, batch_size=16,
    )  # fmt: skip
    pretrainer = RCMAEPretrainer(features=features, net=pretrain, n_frames=16)
    finetune = make_rcmae_finetune_net(module__projection_dim=8, max_epochs=1, batch_size=16)
    return RCMAEDetector(pretrained=pretrainer, net=finetune, random_state=0)


def _autoencoder(features, tiny_net):
    net = NeuralNetRegressor(
        DenseAutoencoder, module__hidden=16, module__bottleneck=4, module__n_layers=2,
        max_epochs=2, batch_size=64, train_split=None, verbose=0,
    )  # fmt: skip
    return AutoencoderDetector(features=features, net=net, random_state=0)


DETECTORS = {
    "IDClassifierDetector": _id_classifier,
    "SoundEventDetector": _sound_event,
    "OutlierClassifierDetector": _outlier_classifier,
    "CentroidBCEDetector": _centroid_bce,
    "RCMAEDetector": _rcmae,
    "AutoencoderDetector": _autoencoder,
}


@pytest.mark.parametrize("name", DETECTORS)
def test_pipeline_form_gives_the_raw_clip_scores(name, fan, tiny_net):
    X, frame, train = fan
    section = frame["section"].to_numpy()
    make = DETECTORS[name]
    raw = make(LOGMEL, tiny_net).fit(X[train], section=section[train])
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_pipeline(LOGMEL, make("passthrough", tiny_net))
        pipe.fit(X[train], section=section[train])
        piped = pipe.decision_function(X[~train], section=section[~train])
    expected = raw.decision_function(X[~train], section=section[~train])
    np.testing.assert_allclose(piped, expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(pipe[-1].offset_, raw.offset_, rtol=1e-6, atol=1e-6)


def test_passthrough_detectors_take_features_only(fan, tiny_net):
    X, frame, train = fan
    detector = _id_classifier("passthrough", tiny_net)
    with pytest.raises(ValueError, match="4-D"):
        detector.fit(X[train], section=frame["section"].to_numpy()[train])


def test_pipeline_form_of_the_confidence_score_rule(fan, tiny_net):
    """LogMel, NetEmbedder(output="crop_proba"), ConfidenceScorer: score_rule="confidence"."""
    X, frame, train = fan
    X, section = X[train], frame["section"].to_numpy()[train]
    detector = _id_classifier(LOGMEL, tiny_net).set_params(score_rule="confidence")
    detector.fit(X, section=section)
    embedder = clone(detector.embedder).set_params(random_state=0, output="crop_proba")
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_pipeline(LOGMEL, embedder, ConfidenceScorer()).fit(X, section=section)
        expected = pipe.decision_function(X, section=section)
    np.testing.assert_allclose(detector.decision_function(X, section=section), expected)
    np.testing.assert_allclose(detector.training_decision_, pipe[-1].training_decision_)


class _CountingNetEmbedder(NetEmbedder):
    """A NetEmbedder that counts its trainings (in a class attribute: clones share it)."""

    n_trainings = 0

    def _train(self, X, y, **params):
        type(self).n_trainings += 1
        return super()._train(X, y, **params)


@pytest.mark.parametrize(
    "rules",
    [
        # the embedding scorer steps: the Pipeline's memory alone shares the network
        [("embedding", CosineScorer()), ("embedding", KNNScorer()),
         ("embedding", MahalanobisScorer())],
        # confidence reads the class probabilities: the embedder's memory shares it
        [("crop_proba", ConfidenceScorer()), ("embedding", CosineScorer())],
    ],
    ids=["embedding-rules", "confidence-and-cosine"],
)  # fmt: skip
def test_a_cached_grid_over_the_score_rule_trains_the_network_once_per_fold(
    fan, tiny_net, tmp_path, rules
):
    X, frame, _ = fan
    y = frame["label"].to_numpy(dtype=int)
    net = ClassifierNet(tiny_net, max_epochs=2, batch_size=16, lr=1e-2)
    embedder = _CountingNetEmbedder(
        net=net, n_frames=8, random_state=0, memory=str(tmp_path / "nets")
    )
    pipe = Pipeline(
        [("features", LOGMEL), ("embedder", embedder), ("scorer", CosineScorer())],
        memory=str(tmp_path / "steps"),
    )
    grid = [{"embedder__output": [output], "scorer": [rule]} for output, rule in rules]
    _CountingNetEmbedder.n_trainings = 0
    with sklearn.config_context(enable_metadata_routing=True):
        search = GridSearchCV(
            pipe,
            grid,
            scoring=make_asd_scorer("auc"),
            cv=NormalOnlyKFold(n_splits=2, shuffle=True, random_state=0),
            refit=False,
        ).fit(X, y, section=frame["section"].to_numpy())
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    # len(rules) score rules x 2 folds, but one network per fold
    assert _CountingNetEmbedder.n_trainings == 2


def test_the_embedder_memory_gives_the_uncached_fit(fan, tiny_net, tmp_path):
    """A cached training gives the same embedder as an uncached one, for either output."""
    X, frame, train = fan
    features = LOGMEL.fit_transform(X[train])
    section = frame["section"].to_numpy()[train]
    net = ClassifierNet(tiny_net, max_epochs=2, batch_size=16, lr=1e-2)
    plain = NetEmbedder(net=net, n_frames=8, random_state=0).fit(features, section=section)
    cached = NetEmbedder(net=net, n_frames=8, random_state=0, memory=str(tmp_path))
    proba = clone(cached).set_params(output="crop_proba").fit(features, section=section)
    cached.fit(features, section=section)  # from the cache
    np.testing.assert_allclose(cached.transform(features), plain.transform(features))
    np.testing.assert_allclose(proba.transform(features), plain.predict_crop_proba(features))
    assert cached.net_ is not proba.net_


@pytest.mark.parametrize("name", ["IDClassifierDetector", "OutlierClassifierDetector"])
def test_network_detectors_warn_on_few_training_clips(name, fan, tiny_net, monkeypatch):
    """Both bases (section classifier, binary per section) warn, naming the fewest group."""
    X, frame, train = fan
    section = frame["section"].to_numpy()[train]
    fewest = min(np.unique(section, return_counts=True)[1])
    detector = DETECTORS[name](LOGMEL, tiny_net)
    with pytest.warns(FewTrainingClipsWarning, match=rf"{name} is trained on {fewest} normal"):
        detector.fit(X[train], section=section)
    monkeypatch.setattr(_groups, "FEW_CLIPS_PER_GROUP", fewest)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FewTrainingClipsWarning)
        detector.fit(X[train], section=section)
