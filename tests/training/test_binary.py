"""Tests of the binary training machinery: RatioBatchSampler, SegmentCrops and BinaryNet."""

import math
from typing import ClassVar

import numpy as np
import pytest
import torch
from sklearn.base import clone
from skorch.callbacks import Callback
from skorch.dataset import ValidSplit
from skorch.utils import to_device
from torch import nn

from sklasd.nn import BinaryOutput, CentroidLoss, StageBCELoss, class_centroids, combine_stages
from sklasd.training import RandomCrops
from sklasd.training._binary import BinaryNet, RatioBatchSampler, SegmentCrops

# 0 normal, 1 outlier, 2 anomaly: unbalanced, as in outlier-exposure training
KIND = np.repeat([0, 1, 2], [10, 25, 3])


def kind_counts(labels, batch):
    values, counts = np.unique(labels[batch], return_counts=True)
    return dict(zip(values.tolist(), counts.tolist(), strict=True))


# -- RatioBatchSampler ----------------------------------------------------------------


@pytest.mark.parametrize("counts", [{0: 4, 1: 3, 2: 1}, {0: 3, 1: 5, 2: 2}, {0: 10, 1: 1, 2: 1}])
def test_every_batch_has_the_counts_of_every_class(counts):
    sampler = RatioBatchSampler(KIND, counts, seed=0)
    batches = list(sampler)
    assert len(batches) == len(sampler) == math.ceil(10 / counts[0])
    for batch in batches:
        assert len(batch) == sampler.batch_size == sum(counts.values())
        assert kind_counts(KIND, batch) == counts


def test_an_epoch_deals_out_every_item_of_the_first_class():
    sampler = RatioBatchSampler(KIND, {0: 4, 1: 3, 2: 1})
    for epoch in range(3):
        sampler.set_epoch(epoch)
        seen = np.concatenate(list(sampler))
        assert set(seen[KIND[seen] == 0].tolist()) == set(range(10))
    # the first key sets the epoch: with the outliers first, all 25 outliers are dealt
    outliers_first = RatioBatchSampler(KIND, {1: 5, 0: 2, 2: 1})
    assert len(outliers_first) == 5
    seen = np.concatenate(list(outliers_first))
    assert set(seen[KIND[seen] == 1].tolist()) == set(np.flatnonzero(KIND == 1).tolist())


def test_a_class_smaller_than_its_count_repeats_items():
    batch = next(iter(RatioBatchSampler(KIND, {0: 2, 2: 5, 1: 1})))
    anomalies = [i for i in batch if KIND[i] == 2]
    assert len(anomalies) == 5 and set(anomalies) == {35, 36, 37}


def test_batches_are_deterministic_per_seed_and_epoch():
    def batches(seed, epoch):
        return list(RatioBatchSampler(KIND, {0: 4, 1: 3, 2: 1}, seed=seed, epoch=epoch))

    assert batches(0, 0) == batches(0, 0)
    assert batches(0, 0) != batches(0, 1)
    assert batches(0, 0) != batches(1, 0)
    sampler = RatioBatchSampler(KIND, {0: 4, 1: 3, 2: 1}, seed=0)
    sampler.set_epoch(1)
    assert list(sampler) == batches(0, 1)


def test_sampler_uses_no_global_random_state():
    state = torch.get_rng_state()
    numpy_state = np.random.get_state()[1].copy()  # noqa: NPY002
    list(RatioBatchSampler(KIND, {0: 4, 1: 3, 2: 1}, seed=3))
    assert torch.equal(torch.get_rng_state(), state)
    assert np.array_equal(np.random.get_state()[1], numpy_state)  # noqa: NPY002


def test_string_labels_work():
    labels = np.array(["normal", "outlier"] * 4)
    batch = next(iter(RatioBatchSampler(labels, {"normal": 2, "outlier": 1})))
    assert kind_counts(labels, batch) == {"normal": 2, "outlier": 1}


@pytest.mark.parametrize(
    ("labels", "counts", "match"),
    [
        (KIND, {0: 4, 1: 3}, r"classes \[2\] that counts does not mention"),
        (KIND[KIND < 2], {0: 4, 1: 3, 2: 1}, r"classes \[2\], which have none"),
        (KIND, {0: 4, 1: 0, 2: 1}, r"counts\[1\] must be an integer >= 1, got 0"),
        (KIND, {0: 4, 1: 2.5, 2: 1}, r"counts\[1\] must be an integer"),
        (KIND, {}, "non-empty dict"),
        (KIND.reshape(2, -1), {0: 1}, "non-empty 1-D array"),
    ],
)
def test_invalid_arguments_are_clear_errors(labels, counts, match):
    with pytest.raises(ValueError, match=match):
        RatioBatchSampler(labels, counts)


# -- SegmentCrops ---------------------------------------------------------------------


def test_segments_are_evenly_spread_from_start_to_end():
    X = np.arange(2 * 30, dtype=np.float32).reshape(2, 1, 1, 30)
    crops = SegmentCrops(X, n_frames=8, n_segments=4)
    assert crops.starts.tolist() == [0, 7, 15, 22]  # round(k * 22 / 3)
    assert len(crops) == 8 and crops.n_crops == 4
    crop, target = crops[5]  # clip 1, segment 1
    np.testing.assert_array_equal(crop.numpy(), X[1, :, :, 7:15])
    assert target == 0
    assert SegmentCrops(X, n_frames=8, n_segments=1).starts.tolist() == [0]


def test_coinciding_segments_are_kept_once():
    X = np.zeros((1, 1, 2, 10), dtype=np.float32)
    assert SegmentCrops(X, n_frames=8, n_segments=10).starts.tolist() == [0, 1, 2]
    assert SegmentCrops(X, n_frames=10, n_segments=3).starts.tolist() == [0]


@pytest.mark.parametrize("n_segments", [0, 2.0, True])
def test_invalid_n_segments(n_segments):
    with pytest.raises(ValueError, match="n_segments must be an integer >= 1"):
        SegmentCrops(np.zeros((1, 1, 2, 10), dtype=np.float32), n_frames=4, n_segments=n_segments)


# -- BinaryNet ------------------------------------------------------------------------


class TinyStageNet(nn.Module):
    """Three stage logits from a tiny convolution, with the keyword interface of RFRCNN."""

    def __init__(self, *, in_channels=1, input_size=(8, 8), n_stages=3):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(in_channels, 4, 3, padding=1), nn.ReLU())
        self.proj = nn.Linear(4 * input_size[0], 6)
        self.heads = nn.Linear(6, n_stages)

    def embed(self, x):
        return self.proj(self.conv(x).mean(-1).flatten(1))

    def forward(self, x):
        return self.heads(self.embed(x))


class TinyBinaryNet(TinyStageNet):
    """One logit and the embedding (BinaryOutput), as ResNet38."""

    embedding_dim = 6

    def forward(self, x):
        embedding = self.embed(x)
        return BinaryOutput(self.heads(embedding)[:, 0], embedding)


class RecordingStageBCE(StageBCELoss):
    """StageBCELoss that records the targets of every training batch."""

    targets: ClassVar[list] = []

    def forward(self, stage_logits, target):
        if torch.is_grad_enabled():
            type(self).targets.append(target.tolist())
        return super().forward(stage_logits, target)


def make_data(n_normal=6, n_outlier=10, n_frames=12, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_normal + n_outlier, 1, 8, n_frames)).astype(np.float32)
    y = np.r_[np.ones(n_normal), np.zeros(n_outlier)].astype(np.int64)
    X[y == 1, :, :3] += 1.5
    return X, y


def make_net(module=TinyStageNet, **params):
    return BinaryNet(module, **{"module__input_size": (8, 8), "max_epochs": 3, **params})


def test_training_batches_come_from_the_batch_sampler():
    X, y = make_data()
    RecordingStageBCE.targets = []
    sampler = RatioBatchSampler(1 - y, {0: 2, 1: 3}, seed=0)  # kind 0: normal (target 1)
    torch.manual_seed(0)
    net = make_net(criterion=RecordingStageBCE, iterator_train__batch_sampler=sampler)
    net.fit(RandomCrops(X, y, n_frames=8), y)
    assert len(RecordingStageBCE.targets) == 3 * len(sampler) == 9
    assert all(sorted(targets) == [0, 0, 0, 1, 1] for targets in RecordingStageBCE.targets)
    assert sampler.epoch == 3  # set_epoch was called at every epoch start


def test_without_a_batch_sampler_training_batches_follow_batch_size():
    X, y = make_data()
    RecordingStageBCE.targets = []
    torch.manual_seed(0)
    make_net(criterion=RecordingStageBCE, batch_size=4, max_epochs=1).fit(
        RandomCrops(X, y, n_frames=8), y
    )
    assert [len(targets) for targets in RecordingStageBCE.targets] == [4, 4, 4, 4]


def test_a_batch_sampler_with_a_train_split_is_an_error():
    X, y = make_data()
    net = make_net(
        iterator_train__batch_sampler=RatioBatchSampler(y, {1: 2, 0: 2}), train_split=ValidSplit(4)
    )
    with pytest.raises(ValueError, match="cannot be combined with train_split"):
        net.fit(RandomCrops(X, y, n_frames=8), y)


def test_predict_proba_of_stage_logits_uses_the_stage_weights():
    X, y = make_data()
    torch.manual_seed(0)
    net = make_net(stage_weights=(0.2, 0.3, 0.5)).fit(RandomCrops(X, y, n_frames=8), y)
    crops = X[:, :, :, :8]
    p = combine_stages(net.forward(crops), (0.2, 0.3, 0.5)).numpy()
    proba = net.predict_proba(crops)
    np.testing.assert_allclose(proba, np.c_[1 - p, p], rtol=1e-6)
    net.set_params(stage_weights=None)  # DEFAULT_STAGE_WEIGHTS
    p = combine_stages(net.forward(crops)).numpy()
    np.testing.assert_allclose(net.predict_proba(crops)[:, 1], p, rtol=1e-6)


def test_binary_output_networks_predict_and_forward():
    X, y = make_data()
    torch.manual_seed(0)
    net = make_net(
        TinyBinaryNet, criterion=CentroidLoss, criterion__embedding_dim=6, criterion__loss="bce"
    ).fit(RandomCrops(X, y, n_frames=8), y)
    logit, embedding = net.forward(X[:, :, :, :8])
    assert logit.shape == (16,) and embedding.shape == (16, 6)
    np.testing.assert_allclose(
        net.predict_proba(X[:, :, :, :8])[:, 1], torch.sigmoid(logit).numpy(), rtol=1e-6
    )
    assert set(net.predict(X[:, :, :, :8]).tolist()) <= {0, 1}


def test_centroids_are_the_class_means_of_the_last_epochs_embeddings():
    X, y = make_data()
    torch.manual_seed(0)
    net = make_net(TinyBinaryNet, criterion=CentroidLoss, criterion__embedding_dim=6)
    net.initialize()
    initial = net.criterion_.c_p.clone()
    crops = RandomCrops(X, y, n_frames=8, seed=0)
    net.fit(crops, y)
    assert not torch.allclose(net.criterion_.c_p, initial)
    # the dataset still holds the crops of the last epoch
    assert crops.epoch == 3
    c_p, c_n = class_centroids(torch.from_numpy(net.embed(crops)), torch.from_numpy(y))
    torch.testing.assert_close(net.criterion_.c_p, c_p)
    torch.testing.assert_close(net.criterion_.c_n, c_n)


def test_centroids_are_updated_after_every_epoch_before_the_callbacks():
    X, y = make_data()
    seen = []

    class RecordCentroid(Callback):
        def on_epoch_end(self, net, **kwargs):
            seen.append(net.criterion_.c_p.clone())

    torch.manual_seed(0)
    net = make_net(
        TinyBinaryNet,
        criterion=CentroidLoss,
        criterion__embedding_dim=6,
        callbacks=[("record", RecordCentroid())],
    ).fit(RandomCrops(X, y, n_frames=8), y)
    assert len(seen) == 3
    assert not torch.allclose(seen[0], seen[1]) and not torch.allclose(seen[1], seen[2])
    torch.testing.assert_close(seen[-1], net.criterion_.c_p)


def test_a_new_batch_sampler_can_be_set_before_partial_fit():
    """skorch quirk: set_params(iterator_train__...) raises on an initialised net."""
    X, y = make_data()
    torch.manual_seed(0)
    net = make_net(iterator_train__batch_sampler=RatioBatchSampler(y, {1: 2, 0: 2}))
    net.fit(RandomCrops(X, y, n_frames=8), y)
    module = net.module_
    second = RatioBatchSampler(y, {1: 3, 0: 1})
    net.set_params(iterator_train__batch_sampler=second, max_epochs=2)
    assert net.module_ is module  # no re-initialisation
    net.partial_fit(RandomCrops(X, y, n_frames=8), y)
    assert len(net.history) == 5 and second.epoch == 5
    assert net.max_epochs == 2


def test_component_parameters_ending_in_underscore_survive_get_params_clone_and_set_params():
    """skorch quirk: get_params drops, and set_params rejects, criterion__lambda_."""
    net = make_net(
        TinyBinaryNet,
        criterion=CentroidLoss,
        criterion__embedding_dim=6,
        criterion__loss="bce+dsad",
        criterion__lambda_=0.25,
    )
    assert net.get_params()["criterion__lambda_"] == 0.25
    assert clone(net).criterion__lambda_ == 0.25
    net.initialize()
    module = net.module_
    net.set_params(criterion__lambda_=0.5)
    assert net.criterion_.lambda_ == 0.5 and net.criterion__lambda_ == 0.5
    assert net.module_ is module  # a criterion parameter re-initialises the criterion only
    assert not any(name.endswith("_") and "__" not in name for name in net.get_params())


def test_named_tuple_outputs_survive_skorchs_device_transfer():
    """skorch quirk: to_device rebuilds tuples with type(output)(generator)."""
    output = BinaryOutput(torch.zeros(2), torch.zeros(2, 6))
    with pytest.raises(TypeError):
        to_device(output, "cpu")  # what BinaryNet.evaluation_step works around
    X, y = make_data()
    torch.manual_seed(0)
    net = make_net(
        TinyBinaryNet, criterion=CentroidLoss, criterion__embedding_dim=6, max_epochs=1
    ).fit(RandomCrops(X, y, n_frames=8), y)
    logit, embedding = net.forward(X[:, :, :, :8], device="cpu")
    assert logit.shape == (16,) and embedding.shape == (16, 6)


def test_centroids_start_at_the_initial_networks_class_means():
    X, y = make_data()
    seen = []

    class RecordAtStart(Callback):
        def on_train_begin(self, net, X=None, y=None, **kwargs):
            seen.append((net.criterion_.c_p.clone(), net.criterion_.c_n.clone()))

    torch.manual_seed(0)
    net = make_net(
        TinyBinaryNet,
        criterion=CentroidLoss,
        criterion__embedding_dim=6,
        max_epochs=1,
        callbacks=[("record", RecordAtStart())],
    )
    net.initialize()
    crops = RandomCrops(X, y, n_frames=8, seed=0)
    expected = class_centroids(torch.from_numpy(net.embed(crops)), torch.from_numpy(y))
    net.partial_fit(crops, y)
    torch.testing.assert_close(seen[0][0], expected[0])
    torch.testing.assert_close(seen[0][1], expected[1])


@pytest.mark.parametrize("loss", ["dsad", "bce+dsad"])
def test_the_dsad_centroid_stays_where_training_started(loss):
    X, y = make_data()
    torch.manual_seed(0)
    net = make_net(
        TinyBinaryNet, criterion=CentroidLoss, criterion__embedding_dim=6, criterion__loss=loss
    )
    net.initialize()
    crops = RandomCrops(X, y, n_frames=8, seed=0)
    start = class_centroids(torch.from_numpy(net.embed(crops)), torch.from_numpy(y))[0]
    net.partial_fit(crops, y)
    assert len(net.history) == 3
    torch.testing.assert_close(net.criterion_.c_p, start)
