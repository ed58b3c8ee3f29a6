"""NetEmbedder: training on sections, crop-averaged outputs, seeding, resuming, pickling."""

import io
import pickle
from unittest import mock

import joblib
import numpy as np
import pytest
import sklearn
import torch
import torch.serialization
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import InvalidParameterError
from skorch.callbacks import Callback
from skorch.exceptions import DeviceWarning

from sklasd.embedders import NetEmbedder
from sklasd.metrics import make_asd_scorer
from sklasd.model_selection import NormalOnlyKFold
from sklasd.nn import ArcFaceLoss, CrossEntropyLoss, MobileFaceNet, MobileNetV3IDNet
from sklasd.scoring import CosineScorer
from sklasd.training import ClassifierNet
from sklasd.utils.estimator_checks import check_estimator


@pytest.fixture
def make_embedder(make_net):
    """``make_embedder(net_params={...}, **params)``: a NetEmbedder on TinyNet."""

    def make(net_params=None, **params):
        params = {"n_frames": 16, "random_state": 0, **params}
        return NetEmbedder(net=make_net(**(net_params or {})), **params)

    return make


# -- fitting and outputs ---------------------------------------------------------------


def test_fit_builds_the_module_from_the_data(make_embedder, make_features):
    X, section = make_features(n_sections=4)
    embedder = make_embedder(n_frames=12).fit(X, section=section)
    np.testing.assert_array_equal(embedder.classes_, [0, 1, 2, 3])
    assert (embedder.n_channels_in_, embedder.n_bands_in_, embedder.n_features_out_) == (1, 16, 8)
    params = embedder.net_.get_params()
    assert params["module__n_classes"] == 4
    assert params["module__in_channels"] == 1
    assert params["module__input_size"] == (16, 12)
    assert len(embedder.net_.history) == 3
    assert embedder.net is not embedder.net_ and not hasattr(embedder.net, "module_")
    names = embedder.get_feature_names_out()
    assert names.tolist() == [f"netembedder{i}" for i in range(8)]


def test_outputs_average_over_crops_covering_the_clip(make_embedder, features):
    X, section = features  # 40 frames: crops start at 0, 12, 24 with hop 12
    embedder = make_embedder(inference_hop=12).fit(X, section=section)
    crops = np.stack([X[..., start : start + 16] for start in (0, 12, 24)], axis=1)
    flat = crops.reshape(-1, *crops.shape[2:])
    expected = embedder.net_.embed(flat).reshape(16, 3, -1).mean(axis=1)
    embedding = embedder.transform(X)
    assert embedding.dtype == np.float32 and embedding.shape == (16, 8)
    np.testing.assert_allclose(embedding, expected, rtol=1e-5, atol=1e-6)
    crop_proba = embedder.predict_crop_proba(X)
    assert crop_proba.shape == (16, 3, 2)
    np.testing.assert_allclose(
        crop_proba, embedder.net_.predict_proba(flat).reshape(16, 3, 2), rtol=1e-5, atol=1e-7
    )
    proba = embedder.predict_proba(X)
    np.testing.assert_allclose(proba, crop_proba.mean(axis=1), rtol=1e-6)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)


def test_default_inference_hop_tiles_the_clip(make_embedder, features):
    X, section = features  # 40 frames, n_frames 16: crops at 0, 16, 24
    embedder = make_embedder().fit(X, section=section)
    assert embedder.predict_crop_proba(X).shape[1] == 3
    assert make_embedder(n_frames=40).fit(X, section=section).predict_crop_proba(X).shape[1] == 1


def test_predict_proba_uses_the_criterion_logits(make_embedder, features):
    X, section = features
    embedder = make_embedder(n_frames=40).fit(X, section=section)  # one crop per clip
    output = embedder.net_.forward(X)
    np.testing.assert_allclose(
        embedder.predict_proba(X), torch.softmax(2.0 * output, -1).numpy(), rtol=1e-5
    )


def test_the_net_learns_the_sections(make_embedder, make_features):
    X, section = make_features(n_clips=24, n_sections=3)
    embedder = make_embedder(net_params={"max_epochs": 30, "lr": 0.01}).fit(X, section=section)
    predicted = embedder.classes_[embedder.predict_proba(X).argmax(axis=1)]
    assert (predicted == section).mean() >= 0.9
    assert embedder.net_.history[-1, "train_loss"] < embedder.net_.history[0, "train_loss"]


# -- targets ---------------------------------------------------------------------------


def test_targets_section_attributes_and_pairs(make_embedder, features):
    X, section = features
    attributes = np.array(["a", "b", "c", "d"] * 4)
    by_attribute = make_embedder(target="attributes").fit(X, attributes=attributes)
    np.testing.assert_array_equal(by_attribute.classes_, ["a", "b", "c", "d"])
    assert by_attribute.predict_proba(X).shape == (16, 4)
    np.testing.assert_array_equal(by_attribute.class_index(attributes=["d", "a"]), [3, 0])

    by_pair = make_embedder(target="section_attributes").fit(
        X, section=section, attributes=attributes
    )
    assert by_pair.classes_.dtype == object
    assert by_pair.classes_.tolist() == [(0, "a"), (0, "c"), (1, "b"), (1, "d")]
    np.testing.assert_array_equal(
        by_pair.class_index(section=[1, 0], attributes=["b", "c"]), [2, 1]
    )
    with pytest.raises(ValueError, match=r"\(0, 'b'\)"):
        by_pair.class_index(section=[0], attributes=["b"])
    with pytest.raises(ValueError, match="needs the attributes"):
        by_pair.class_index(section=[0])

    by_section = make_embedder().fit(X, section=section, attributes=attributes)
    np.testing.assert_array_equal(by_section.classes_, [0, 1])
    np.testing.assert_array_equal(by_section.class_index(section=[1, 1, 0]), [1, 1, 0])
    with pytest.raises(ValueError, match=r"\[7\]"):
        by_section.class_index(section=[0, 7])


def test_anomalous_clips_are_left_out(make_embedder, make_features):
    X, section = make_features(n_clips=18, n_sections=3)
    y = (section == 2).astype(int)
    embedder = make_embedder().fit(X, y, section=section)
    np.testing.assert_array_equal(embedder.classes_, [0, 1])
    assert embedder.predict_proba(X).shape == (18, 2)


def test_invalid_input(make_embedder, features):
    X, section = features
    with pytest.raises(ValueError, match="needs the section"):
        make_embedder().fit(X)
    with pytest.raises(ValueError, match="needs the attributes"):
        make_embedder(target="attributes").fit(X, section=section)
    with pytest.raises(ValueError, match=r"at least two classes.*\[0\]"):
        make_embedder().fit(X, section=np.zeros(16, int))
    with pytest.raises(ValueError, match="section has 3 values but X has 16 clips"):
        make_embedder().fit(X, section=[0, 1, 0])
    short_clips = make_embedder(n_frames=64).fit(X, section=section)
    assert short_clips.n_frames_ == 40  # clips shorter than n_frames train whole
    with pytest.raises(ValueError, match=r"20 frames, fewer than n_frames=40"):
        short_clips.transform(X[..., :20])
    with pytest.raises(ValueError, match="anomaly labels"):
        make_embedder().fit(X, section * 2, section=section)
    with pytest.raises(InvalidParameterError, match="target"):
        make_embedder(target="machine").fit(X, section=section)
    with pytest.raises(InvalidParameterError, match="net"):
        NetEmbedder(net="tiny").fit(X, section=section)
    with pytest.raises(ValueError, match="callbacks='disable'"):
        make_embedder(net_params={"callbacks": "disable"}).fit(X, section=section)
    embedder = make_embedder().fit(X, section=section)
    with pytest.raises(ValueError, match=r"8 band\(s\).*16 band\(s\)"):
        embedder.transform(X[:, :, :8])
    with pytest.raises(ValueError, match="fewer than n_frames=16"):
        embedder.transform(X[..., :10])


# -- randomness ------------------------------------------------------------------------


def test_random_state_repeats_fits_without_touching_global_state(make_embedder, features):
    X, section = features
    torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()  # noqa: NPY002
    first = make_embedder(random_state=0).fit(X, section=section)
    embedding = first.transform(X)
    first.predict_proba(X)
    assert torch.equal(torch.get_rng_state(), torch_state)
    after = np.random.get_state()  # noqa: NPY002
    assert after[0] == numpy_state[0] and np.array_equal(after[1], numpy_state[1])
    assert after[2:] == numpy_state[2:]

    unseeded = [make_embedder(random_state=None).fit(X, section=section) for _ in range(2)]
    assert not np.allclose(unseeded[0].transform(X), unseeded[1].transform(X))
    after = np.random.get_state()  # noqa: NPY002
    assert np.array_equal(after[1], numpy_state[1]) and after[2:] == numpy_state[2:]

    np.testing.assert_array_equal(
        make_embedder(random_state=0).fit(X, section=section).transform(X), embedding
    )
    assert not np.allclose(
        make_embedder(random_state=1).fit(X, section=section).transform(X), embedding
    )


def test_checkpoint_resumes_an_interrupted_fit(make_embedder, features, tmp_path):
    X, section = features
    common = {"lr": 0.01, "callbacks__lr_scheduler__T_0": 2}
    uninterrupted = make_embedder(net_params={"max_epochs": 4, **common}).fit(X, section=section)

    interrupted = make_embedder(
        net_params={"max_epochs": 2, "checkpoint_dir": tmp_path, **common}
    ).fit(X, section=section)
    assert interrupted.net_.history[:, "epoch"] == [1, 2]
    assert {"params.pt", "optimizer.pt", "history.json"} <= {p.name for p in tmp_path.iterdir()}

    resumed = make_embedder(net_params={"max_epochs": 4, "checkpoint_dir": tmp_path, **common})
    resumed.fit(X, section=section)
    history = resumed.net_.history
    assert history[:, "epoch"] == [1, 2, 3, 4]
    assert history[:2, "train_loss"] == interrupted.net_.history[:, "train_loss"]
    # Same learning rates, crops, shuffling and dropout: the same model.
    np.testing.assert_allclose(history[:, "event_lr"], [0.01, 0.005, 0.01, 0.005])
    np.testing.assert_allclose(
        history[:, "train_loss"], uninterrupted.net_.history[:, "train_loss"]
    )
    np.testing.assert_array_equal(resumed.transform(X), uninterrupted.transform(X))


class RecordValidClasses(Callback):
    """Records the class labels of the validation clips."""

    def on_epoch_begin(self, net, dataset_valid=None, **kwargs):
        self.classes_ = sorted(set(dataset_valid.dataset.y[dataset_valid.indices].tolist()))
        self.n_valid_ = len(dataset_valid)


def test_early_stopping_on_a_stratified_validation_split(make_embedder, make_features):
    X, section = make_features(n_clips=32, n_sections=4)
    embedder = make_embedder(
        net_params={"lr": 0.0, "max_epochs": 20, "callbacks": [("record", RecordValidClasses())]},
        early_stopping=True,
        validation_fraction=0.125,
        n_iter_no_change=3,
    ).fit(X, section=section)
    record = dict(embedder.net_.callbacks_)["record"]
    assert record.n_valid_ == 4 and record.classes_ == [0, 1, 2, 3]
    history = embedder.net_.history
    # lr=0: the loss never improves after epoch 1, so training stops after 1 + 3 epochs;
    # validation clips keep their crops, so the validation loss stays the same.
    assert len(history) == 4
    assert len(set(history[:, "valid_loss"])) == 1
    without = make_embedder(net_params={"max_epochs": 2}).fit(X, section=section)
    assert "valid_loss" not in without.net_.history[-1]


# -- persistence -----------------------------------------------------------------------


def test_joblib_round_trip_gives_identical_outputs(make_embedder, features):
    X, section = features
    embedder = make_embedder().fit(X, section=section)
    buffer = io.BytesIO()
    joblib.dump(embedder, buffer)
    buffer.seek(0)
    loaded = joblib.load(buffer)
    np.testing.assert_array_equal(loaded.transform(X), embedder.transform(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), embedder.predict_proba(X))


def test_a_model_saved_on_cuda_loads_and_scores_on_cpu(make_embedder, features):
    """Pickle the net as if it lived on CUDA: tensors tagged "cuda:0", device "cuda".

    torch records a tensor's device with ``torch.serialization.location_tag``; tagging
    every storage "cuda:0" gives the bytes a CUDA-trained model pickles to. Loading
    them needs skorch's map-location handling in ``NeuralNet.__setstate__``.
    """
    X, section = features
    embedder = make_embedder().fit(X, section=section)
    expected = embedder.transform(X)
    embedder.net_.device = "cuda"
    with mock.patch.object(torch.serialization, "location_tag", return_value="cuda:0"):
        payload = pickle.dumps(embedder)
        bare_module = pickle.dumps(embedder.net_.module_)
    embedder.net_.device = "cpu"

    with mock.patch("torch.cuda.is_available", return_value=False):
        # The payload really holds CUDA tensors: without a map location they fail.
        with pytest.raises(RuntimeError, match="CUDA"):
            pickle.loads(bare_module)
        with pytest.warns(DeviceWarning, match="(?i)cuda") as warned:
            loaded = pickle.loads(payload)
    assert all(issubclass(w.category, DeviceWarning) for w in warned)
    assert torch.device(loaded.net_.device).type == "cpu"
    assert next(loaded.net_.module_.parameters()).device.type == "cpu"
    # The scheduler's optimizer (training state held by a callback) came along.
    scheduler = dict(loaded.net_.callbacks_)["lr_scheduler"].lr_scheduler_
    assert scheduler.optimizer is loaded.net_.optimizer_
    np.testing.assert_array_equal(loaded.transform(X), expected)


def test_a_net_set_to_cuda_trains_on_the_cpu_without_a_gpu(make_embedder, features):
    """device=None keeps the net's device: the net's "cuda" falls back as well."""
    X, section = features
    with mock.patch("torch.cuda.is_available", return_value=False):
        for params in ({"device": "cuda"}, {"net_params": {"device": "cuda"}}):
            with pytest.warns(UserWarning, match="running on the CPU"):
                embedder = make_embedder(**params).fit(X, section=section)
            assert torch.device(embedder.net_.device).type == "cpu"
    with pytest.raises(ValueError, match="not a torch device"):
        make_embedder(device="gpu").fit(X, section=section)


# -- scikit-learn integration ----------------------------------------------------------


def mean_confidence(estimator, X, y=None):
    """A trivial scorer: the mean largest class probability."""
    return float(estimator.predict_proba(X).max(axis=1).mean())


def test_grid_search_reaches_the_net_parameters(make_embedder, features):
    X, section = features
    with sklearn.config_context(enable_metadata_routing=True):
        search = GridSearchCV(
            make_embedder(),
            {"net__lr": [1e-3, 3e-2]},
            scoring=mean_confidence,
            cv=KFold(2, shuffle=True, random_state=0),
        ).fit(X, section=section)
    assert list(search.cv_results_["param_net__lr"]) == [1e-3, 3e-2]
    best = search.best_estimator_
    assert best.net_.lr == search.best_params_["net__lr"]
    assert best.net_.optimizer_.param_groups[0]["initial_lr"] == search.best_params_["net__lr"]


def test_pipeline_grid_search_over_module_and_epochs(make_embedder, make_features):
    X, section = make_features(n_clips=32, n_sections=2)
    y = np.zeros(32, int)
    y[[0, 1, 2, 3, 4, 5, 6, 7]] = 1
    X[y == 1] += np.random.default_rng(1).normal(scale=2.0, size=X[y == 1].shape)
    pipe = Pipeline([("embedder", make_embedder()), ("scorer", CosineScorer())])
    with sklearn.config_context(enable_metadata_routing=True):
        search = GridSearchCV(
            pipe,
            {"embedder__net__module__width": [2, 3], "embedder__net__max_epochs": [1, 2]},
            scoring=make_asd_scorer("auc"),
            cv=NormalOnlyKFold(2),
        ).fit(X, y, section=section)
        scores = search.best_estimator_.decision_function(X, section=section)
    best = search.best_estimator_.named_steps["embedder"].net_
    assert best.module_.conv[0].out_channels == search.best_params_["embedder__net__module__width"]
    assert len(best.history) == search.best_params_["embedder__net__max_epochs"]
    assert scores.shape == (32,)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_sklasd_estimator_checks(make_embedder, features):
    X, section = features
    check_estimator(
        make_embedder(net_params={"max_epochs": 2}), X, fit_params={"section": section}
    )


# -- the networks of sklasd.nn ---------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "criterion", "module_params"),
    [
        (
            MobileNetV3IDNet,
            ArcFaceLoss,
            {"width_mult": 0.25, "depth_mult": 0.5, "embedding_dim": 16, "head": "cosine"},
        ),
        (MobileFaceNet, CrossEntropyLoss, {"width_mult": 0.25, "embedding_dim": 16}),
    ],
)
def test_sklasd_networks(make_features, module, criterion, module_params):
    # 17 clips in batches of 8: the batch of one left over is dropped, as batch
    # normalisation requires.
    X, section = make_features(n_clips=17, n_sections=3, n_bands=32)
    net = ClassifierNet(
        module,
        criterion=criterion,
        max_epochs=2,
        batch_size=8,
        **{f"module__{name}": value for name, value in module_params.items()},
    )
    embedder = NetEmbedder(net=net, n_frames=32, random_state=0).fit(X, section=section)
    assert embedder.transform(X).shape == (17, 16)
    proba = embedder.predict_proba(X)
    assert proba.shape == (17, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    crop = X[:, :, :, :32]
    expected = torch.softmax(embedder.net_.criterion_.logits(embedder.net_.forward(crop)), -1)
    np.testing.assert_allclose(
        embedder.net_.predict_proba(crop), expected.numpy(), rtol=1e-4, atol=1e-6
    )


def test_default_net_is_the_mobilenetv3_id_classifier_with_arcface():
    net = NetEmbedder()._make_net()
    assert isinstance(net, ClassifierNet)
    assert net.module is MobileNetV3IDNet and net.criterion is ArcFaceLoss
    assert net.get_params()["module__head"] == "cosine"


# -- batch-normalisation statistics recomputed after training ----------------------------


def test_recomputed_bn_statistics_rescue_a_short_fit(make_features):
    # Two epochs of batches of 16 (4 steps): the running statistics still hold their
    # initial values, and the embeddings computed with them collapse.
    X, section = make_features(n_clips=24, n_sections=3, n_bands=32)

    def fit(recompute_bn):
        net = ClassifierNet(
            MobileNetV3IDNet,
            module__width_mult=0.25,
            module__depth_mult=0.5,
            module__embedding_dim=16,
            max_epochs=2,
            batch_size=16,
        )
        embedder = NetEmbedder(net=net, n_frames=16, random_state=0, recompute_bn=recompute_bn)
        embedder.fit(X, section=section)
        embeddings, proba = embedder.transform(X), embedder.predict_proba(X)
        return embeddings.std(axis=0).mean() / np.abs(embeddings).mean(), proba.std(axis=0)

    stale_spread, stale_proba = fit(False)
    spread, proba = fit(True)
    assert stale_spread < 1e-3 and stale_proba.max() < 1e-3  # every clip alike
    # clips differ, and so do their classes (by far more than with the stale statistics)
    assert spread > 0.1 and proba.max() > max(2e-3, 5 * stale_proba.max())


class InputBatchNorm(torch.nn.Module):
    """Batch normalisation of the input channels, then the TinyNet-like rest."""

    def __init__(self, *, n_classes=2, in_channels=1, input_size=(16, 16), head="linear"):
        super().__init__()
        self.bn = torch.nn.BatchNorm2d(in_channels)
        self.embedding = torch.nn.Linear(in_channels * input_size[0], 4)
        self.head = torch.nn.Linear(4, n_classes)

    def embed(self, x):
        return self.embedding(self.bn(x).mean(-1).flatten(1))

    def forward(self, x):
        return self.head(self.embed(x))


def test_bn_statistics_are_the_average_over_the_inference_crops(make_features):
    X, section = make_features(n_clips=16)
    X = np.concatenate([X, 3.0 * X + 1.0], axis=1)  # two channels of different statistics
    net = ClassifierNet(InputBatchNorm, max_epochs=1, batch_size=8)
    embedder = NetEmbedder(net=net, n_frames=16, random_state=0).fit(X, section=section)
    # 16 clips x 3 crops (starts 0, 16, 24) in 6 batches of 8
    crops = np.stack([X[..., s : s + 16] for s in (0, 16, 24)], axis=1)
    bn = embedder.net_.module_.bn
    np.testing.assert_allclose(bn.running_mean.numpy(), crops.mean(axis=(0, 1, 3, 4)), rtol=1e-5)
    assert bn.momentum == 0.1  # the module's own momentum is restored
    stale = NetEmbedder(net=net, n_frames=16, random_state=0, recompute_bn=False)
    stale_mean = stale.fit(X, section=section).net_.module_.bn.running_mean.numpy()
    assert not np.allclose(stale_mean, bn.running_mean.numpy(), rtol=1e-2)


def test_bn_statistics_hold_the_variance_between_sections_of_ordered_clips(make_features):
    # Clips in file order, section by section, whose sections differ in level:
    # batches of one section would see only the variance within a section.
    X, _ = make_features(n_clips=32)
    section = np.repeat([0, 1], 16)
    X[section == 1] += 4.0
    net = ClassifierNet(InputBatchNorm, max_epochs=1, batch_size=8)
    embedder = NetEmbedder(net=net, n_frames=16, random_state=0).fit(X, section=section)
    crops = np.stack([X[..., s : s + 16] for s in (0, 16, 24)], axis=1)
    total = crops.var(axis=(0, 1, 3, 4))
    ratio = embedder.net_.module_.bn.running_var.numpy() / total
    assert np.all((ratio > 0.8) & (ratio < 1.25)), ratio


def test_recompute_bn_is_a_no_op_without_batch_norm(make_embedder, features):
    X, section = features
    with_pass = make_embedder(recompute_bn=True).fit(X, section=section)
    without = make_embedder(recompute_bn=False).fit(X, section=section)
    np.testing.assert_array_equal(with_pass.transform(X), without.transform(X))
    np.testing.assert_array_equal(with_pass.predict_proba(X), without.predict_proba(X))
