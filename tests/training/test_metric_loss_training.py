"""Training with the triplet and attribute losses: tuple outputs, balanced batches, targets."""

import joblib
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skorch.callbacks import Callback

from sklasd.embedders import NetEmbedder
from sklasd.nn import (
    TDNN,
    ArcFaceLoss,
    AttributeLoss,
    BatchHardTripletLoss,
    ClassificationTripletAttributeLoss,
    MobileFaceNet,
    MobileNetV3IDNet,
)
from sklasd.nn._multitask import MultiTaskOutputs
from sklasd.training import ClassifierNet, RandomCrops

NETWORKS = {
    "tdnn": (TDNN, {"module__width_mult": 0.05, "module__embedding_dim": 8}),
    "mobilenetv3": (MobileNetV3IDNet, {"module__width_mult": 0.25, "module__depth_mult": 0.5}),
    "mobilefacenet": (MobileFaceNet, {"module__width_mult": 0.25, "module__depth_mult": 0.5}),
}


@pytest.fixture(autouse=True)
def one_torch_thread():
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n_threads)


class RecordBatches(Callback):
    """Keeps the targets of every training batch, epoch by epoch."""

    def initialize(self):
        self.epochs = []
        return self

    def on_epoch_begin(self, net, **kwargs):
        self.epochs.append([])

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if training:
            self.epochs[-1].append(batch[1].numpy().copy())


def tdnn_net(**params):
    params = {
        "max_epochs": 2,
        "batch_size": 8,
        "triplet_weight": 1.0,
        "attribute_weight": 0.5,
        **NETWORKS["tdnn"][1],
        **params,
    }
    return ClassifierNet(TDNN, **params)


def attributes_of(n_clips, n_values=4):
    return np.array([f"spd_{10 * v}" for v in range(n_values)])[np.arange(n_clips) % n_values]


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_every_network_trains_on_the_total_loss(name, make_features):
    module, params = NETWORKS[name]
    X, section = make_features(n_clips=24, n_sections=3)
    attributes = attributes_of(24)
    net = ClassifierNet(
        module, max_epochs=2, batch_size=8, triplet_weight=1.0, attribute_weight=0.5, **params
    )
    embedder = NetEmbedder(net=net, n_frames=16, random_state=0)
    embedder.fit(X, section=section, attributes=attributes)

    net_ = embedder.net_
    assert isinstance(net_.module_, MultiTaskOutputs)
    assert isinstance(net_.module_.network, module)
    assert net_.module_.attribute_heads.n_classes_per_head == (4,)
    assert isinstance(net_.criterion_, ClassificationTripletAttributeLoss)
    assert (net_.criterion_.triplet_weight, net_.criterion_.attribute_weight) == (1.0, 0.5)
    assert np.isfinite(net_.history[:, "train_loss"]).all()
    proba = embedder.predict_proba(X)
    assert proba.shape == (24, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    # probabilities are the softmax of the wrapped network's own class output
    crops = torch.from_numpy(X[:4, ..., :16])
    with torch.no_grad():
        expected = F.softmax(net_.module_.network.eval()(crops), dim=1).numpy()
    np.testing.assert_allclose(net_.predict_proba(crops), expected, rtol=1e-4, atol=1e-6)
    assert embedder.transform(X).shape == (24, net_.module_.network.embedding_dim)


def test_loss_is_classification_plus_weighted_triplet_and_attribute_terms(make_features):
    X, section = make_features(n_clips=16, n_sections=2)
    attributes = attributes_of(16, n_values=3)
    net = tdnn_net(triplet_weight=0.7, attribute_weight=0.3)
    embedder = NetEmbedder(net=net, n_frames=16, random_state=0)
    embedder.fit(X, section=section, attributes=attributes)
    net_ = embedder.net_

    codes = np.unique(attributes, return_inverse=True)[1]
    target = torch.as_tensor(np.column_stack([section, codes]), dtype=torch.int64)
    with torch.no_grad():
        output = net_.infer(torch.from_numpy(X[..., :16]))
        loss = net_.get_loss(output, target)
    class_output, embedding, attribute_output = output
    expected = (
        F.cross_entropy(class_output, target[:, 0])
        + 0.7 * BatchHardTripletLoss()(embedding, target[:, 0])
        + 0.3 * AttributeLoss()(attribute_output, target[:, 1:])
    )
    torch.testing.assert_close(loss, expected)


def test_triplet_batches_hold_several_clips_of_each_section(make_features):
    X, section = make_features(n_clips=30, n_sections=3)
    net = tdnn_net(
        max_epochs=3,
        n_clips_per_class=4,
        attribute_weight=0.0,
        callbacks=[("rec", RecordBatches())],
    )
    embedder = NetEmbedder(net=net, n_frames=16, random_state=0).fit(X, section=section)
    recorder = dict(embedder.net_.callbacks_)["rec"]
    assert len(recorder.epochs) == 3
    for batches in recorder.epochs:
        assert len(batches) >= 30 // 8
        for target in batches:
            # 1-D targets without the attribute term; P = 8 // 4 = 2 sections x K = 4 clips
            values, counts = np.unique(target, return_counts=True)
            assert len(values) == 2 and counts.tolist() == [4, 4]
    # the batches change from epoch to epoch
    assert any(
        not np.array_equal(a, b)
        for a, b in zip(recorder.epochs[0], recorder.epochs[1], strict=False)
    )


def test_plain_training_keeps_shuffled_batches(make_features):
    X, section = make_features(n_clips=30, n_sections=3)
    net = tdnn_net(triplet_weight=0.0, attribute_weight=0.0, callbacks=[("rec", RecordBatches())])
    embedder = NetEmbedder(net=net, n_frames=16, random_state=0).fit(X, section=section)
    recorder = dict(embedder.net_.callbacks_)["rec"]
    assert [len(b) for b in recorder.epochs[0]] == [8, 8, 8, 6]  # 30 clips, batches of 8
    assert isinstance(embedder.net_.module_, TDNN)
    assert isinstance(embedder.net_.criterion_, torch.nn.CrossEntropyLoss)
    assert embedder.attribute_classes_ is None


def test_triplet_batches_and_fits_repeat_under_random_state(make_features):
    X, section = make_features(n_clips=24, n_sections=3)

    def fit(random_state):
        net = tdnn_net(attribute_weight=0.0, callbacks=[("rec", RecordBatches())])
        embedder = NetEmbedder(net=net, n_frames=16, random_state=random_state)
        return embedder.fit(X, section=section)

    rng_state = torch.random.get_rng_state()
    first, second, other = fit(0), fit(0), fit(1)
    assert torch.equal(torch.random.get_rng_state(), rng_state)
    np.testing.assert_array_equal(first.transform(X), second.transform(X))
    batches = [np.concatenate(dict(e.net_.callbacks_)["rec"].epochs[0]) for e in (first, other)]
    assert not np.array_equal(*batches)


def test_attribute_heads_of_the_normal_clips(make_features):
    X, section = make_features(n_clips=18, n_sections=2)
    attributes = attributes_of(18, n_values=3)
    y = np.zeros(18, dtype=int)
    y[0], attributes[0] = 1, "only_in_an_anomaly"
    recorder = RecordBatches()
    net = tdnn_net(triplet_weight=0.0, max_epochs=1, batch_size=32, callbacks=[("rec", recorder)])
    embedder = NetEmbedder(net=net, n_frames=16, random_state=0)
    embedder.fit(X, y, section=section, attributes=attributes)

    assert [c.tolist() for c in embedder.attribute_classes_] == [["spd_0", "spd_10", "spd_20"]]
    assert embedder.net_.n_attribute_classes == [3]
    targets = np.concatenate(dict(embedder.net_.callbacks_)["rec"].epochs[0])
    assert targets.shape == (17, 2)  # the anomalous clip is left out
    assert set(targets[:, 0].tolist()) == {0, 1} and set(targets[:, 1].tolist()) == {0, 1, 2}


def test_machine_type_attribute_pairs_get_one_head_per_machine_type(make_features):
    X, section = make_features(n_clips=16, n_sections=2)
    machine = np.where(np.arange(16) < 8, "fan", "valve")
    labels = np.where(machine == "fan", attributes_of(16, 3), attributes_of(16, 2))
    pairs = np.empty(16, dtype=object)
    pairs[:] = list(zip(machine.tolist(), labels.tolist(), strict=True))
    recorder = RecordBatches()
    net = tdnn_net(triplet_weight=0.0, max_epochs=1, batch_size=16, callbacks=[("r", recorder)])
    embedder = NetEmbedder(net=net, n_frames=16, random_state=0)
    embedder.fit(X, section=section, attributes=pairs)

    heads = embedder.attribute_classes_
    assert [len(h) for h in heads] == [3, 2]
    assert {m for m, _ in heads[0].tolist()} == {"fan"}
    assert embedder.net_.module_.attribute_heads.n_classes_per_head == (3, 2)
    targets = dict(embedder.net_.callbacks_)["r"].epochs[0][0]
    assert targets.shape == (16, 3)
    # each clip has a label in its own machine type's head only
    assert ((targets[:, 1] >= 0) != (targets[:, 2] >= 0)).all()


def test_attribute_loss_needs_attributes(make_features):
    X, section = make_features()
    with pytest.raises(ValueError, match=r"attribute_weight=0\.5 needs the attributes"):
        NetEmbedder(net=tdnn_net(), n_frames=16).fit(X, section=section)


def test_criterion_parameters_reach_the_classification_term(make_features):
    X, section = make_features(n_clips=16)
    net = tdnn_net(
        criterion=ArcFaceLoss, criterion__margin=0.2, module__head="cosine", attribute_weight=0
    )
    embedder = NetEmbedder(net=net, n_frames=16, random_state=0).fit(X, section=section)
    criterion = embedder.net_.criterion_
    assert isinstance(criterion.classifier_loss, ArcFaceLoss)
    assert criterion.classifier_loss.margin == 0.2
    assert criterion.attribute_weight == 0.0
    assert embedder.net_.module_.attribute_heads is None
    np.testing.assert_allclose(embedder.predict_proba(X).sum(axis=1), 1.0, rtol=1e-5)


def test_attribute_heads_train(make_features):
    X, section = make_features(n_clips=16)
    attributes = attributes_of(16, n_values=2)

    def heads(max_epochs):
        embedder = NetEmbedder(net=tdnn_net(max_epochs=max_epochs), n_frames=16, random_state=0)
        embedder.fit(X, section=section, attributes=attributes)
        return embedder.net_.module_.attribute_heads.linear.weight.detach()

    initial, trained = heads(0), heads(1)
    assert torch.equal(initial, heads(0))  # same random_state, same initial weights
    assert (trained != initial).all()  # the attribute loss reaches every weight of the heads


def test_multi_task_training_with_early_stopping_and_amp(make_features):
    X, section = make_features(n_clips=30, n_sections=3)
    attributes = attributes_of(30)
    net = tdnn_net(max_epochs=3, amp=True, batch_size=12, n_clips_per_class=3)
    embedder = NetEmbedder(
        net=net, n_frames=16, random_state=0, early_stopping=True, validation_fraction=0.3
    )
    embedder.fit(X, section=section, attributes=attributes)
    assert np.isfinite(embedder.net_.history[:, "valid_loss"]).all()
    # validation accuracy of the classes, the first column of the 2-D targets
    accuracy = np.array(embedder.net_.history[:, "valid_acc"])
    assert ((accuracy >= 0) & (accuracy <= 1)).all()
    assert embedder.transform(X).dtype == np.float32


def test_joblib_round_trip_of_a_multi_task_embedder(make_features, tmp_path):
    X, section = make_features(n_clips=16)
    embedder = NetEmbedder(net=tdnn_net(), n_frames=16, random_state=0)
    embedder.fit(X, section=section, attributes=attributes_of(16))
    joblib.dump(embedder, tmp_path / "embedder.joblib")
    loaded = joblib.load(tmp_path / "embedder.joblib")
    np.testing.assert_array_equal(loaded.transform(X), embedder.transform(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), embedder.predict_proba(X))


def test_triplet_batches_need_the_dataset_classes():
    class Unlabelled(torch.utils.data.Dataset):
        def __len__(self):
            return 8

        def __getitem__(self, i):
            return torch.zeros(1, 16, 16), 0

    net = tdnn_net(attribute_weight=0.0, module__n_classes=2, module__input_size=(16, 16))
    net.initialize()
    with pytest.raises(ValueError, match="Unlabelled has none"):
        net.get_iterator(Unlabelled(), training=True)
    labelled = RandomCrops(np.zeros((8, 1, 16, 16), np.float32), np.arange(8) % 2, n_frames=16)
    batches = list(net.get_iterator(labelled, training=True))
    assert all(sorted(np.bincount(b[1].numpy()).tolist()) == [4, 4] for b in batches)


def test_multi_task_outputs_need_the_network_interface():
    with pytest.raises(ValueError, match=r"lacks \['embed', 'embedding_dim', 'classifier'\]"):
        MultiTaskOutputs(torch.nn.Linear(2, 2))


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"triplet_weight": -1.0}, "triplet_weight must be"),
        ({"attribute_weight": float("nan")}, "attribute_weight must be a finite number"),
        ({"triplet_weight": None}, "triplet_weight must be"),
    ],
)
def test_invalid_loss_weights(make_features, params, match):
    X, section = make_features()
    with pytest.raises(ValueError, match=match):
        NetEmbedder(net=tdnn_net(**params), n_frames=16).fit(X, section=section)


def test_balanced_batches_validate_the_clips_per_class(make_features):
    X, section = make_features()
    net = tdnn_net(attribute_weight=0.0, n_clips_per_class=1)
    with pytest.raises(ValueError, match="n_clips_per_class must be an integer >= 2"):
        NetEmbedder(net=net, n_frames=16).fit(X, section=section)
