"""Mixup and feature exchange: their equations, and ClassifierNet training with them and with
losses that take embeddings."""

import pickle

import numpy as np
import pytest
import torch
from torch import nn

from sklasd.embedders import NetEmbedder
from sklasd.nn import (
    AdaProjLoss,
    ArcFaceLoss,
    SubclusterAdaCosLoss,
    feature_exchange,
    mixup,
)
from sklasd.training import ClassifierNet, RandomCrops


class LinearNet(nn.Module):
    """A linear embedding of (1, 16, 16) crops with the sizes embedding criteria read."""

    def __init__(self, *, n_classes=2, in_channels=1, input_size=(16, 16), embedding_dim=8):
        super().__init__()
        self.n_classes, self.embedding_dim = n_classes, embedding_dim
        self.body = nn.Sequential(
            nn.Flatten(), nn.Linear(in_channels * input_size[0] * input_size[1], embedding_dim)
        )
        self.classifier = nn.Linear(embedding_dim, n_classes)

    def embed(self, x):
        return self.body(x)

    def forward(self, x):
        return self.classifier(self.embed(x))


class DualLinearNet(LinearNet):
    """Two branches: the first and second halves of the linear embedding."""

    def branch_embeddings(self, x):
        embedding = self.embed(x)
        half = self.embedding_dim // 2
        return embedding[:, :half], embedding[:, half:]


class RecordingLoss(nn.CrossEntropyLoss):
    """Cross-entropy that keeps the targets of its training calls."""

    def __init__(self):
        super().__init__()
        self.targets = []

    def forward(self, output, target):
        if self.training:
            self.targets.append(target.detach().clone())
        return super().forward(output, target)


# -- the equations ---------------------------------------------------------------------


def _pairs(mixed_target):
    """Weight on itself and the partner of every row of a mix of identity targets."""
    own = mixed_target.diagonal()
    other = mixed_target - torch.diag(own)
    return own, other.argmax(dim=1), other.amax(dim=1)


def test_mixup_mixes_inputs_and_targets_with_the_same_weights():
    torch.manual_seed(0)
    batch = 200
    x = torch.randn(batch, 1, 3, 5)
    mixed, target = mixup(x, torch.eye(batch), prob=0.5, alpha=1.0)
    lam, partner, rest = _pairs(target)
    torch.testing.assert_close(rest, 1 - lam)  # exactly one partner per item
    assert not (partner == torch.arange(batch))[lam < 1].any()  # never itself
    expected = lam[:, None, None, None] * x + (1 - lam[:, None, None, None]) * x[partner]
    torch.testing.assert_close(mixed, expected)
    mixed_share = (lam < 1).float().mean().item()
    assert 0.4 < mixed_share < 0.6  # prob=0.5
    assert 0.4 < lam[lam < 1].mean().item() < 0.6  # Beta(1, 1): uniform


def test_mixup_alpha_and_prob():
    torch.manual_seed(0)
    x, target = torch.randn(300, 2), torch.eye(300)
    lam = _pairs(mixup(x, target, prob=1.0, alpha=0.05)[1])[0]
    assert (torch.minimum(lam, 1 - lam) < 0.05).float().mean() > 0.7  # mostly near 0 or 1
    unchanged, same = mixup(x, target, prob=0.0)
    torch.testing.assert_close(unchanged, x)
    torch.testing.assert_close(same, target)
    with pytest.raises(ValueError, match="alpha must be"):
        mixup(x, target, alpha=0.0)
    with pytest.raises(ValueError, match="float class probabilities"):
        mixup(x, torch.zeros(300, dtype=torch.long))


def test_mixup_is_repeatable_from_torch_seed():
    x, target = torch.randn(16, 3), torch.eye(16)
    torch.manual_seed(3)
    first = mixup(x, target, prob=0.5)
    torch.manual_seed(3)
    second = mixup(x, target, prob=0.5)
    for a, b in zip(first, second, strict=True):
        torch.testing.assert_close(a, b)


def test_feature_exchange_targets_follow_the_equation():
    torch.manual_seed(0)
    batch, n_classes = 100, 4
    first, second = torch.randn(batch, 3), torch.randn(batch, 2)
    y = torch.randint(n_classes, (batch,))
    target = torch.nn.functional.one_hot(y, n_classes).float()
    embedding, featex_target = feature_exchange(first, second, target, prob=0.5)
    torch.testing.assert_close(embedding[:, :3], first)
    # the second half is some item's second-branch embedding: find which
    source = torch.cdist(embedding[:, 3:], second).argmin(dim=1)
    swapped = source != torch.arange(batch)
    assert 0.35 < swapped.float().mean().item() < 0.65
    zeros = torch.zeros_like(target)
    kept = torch.cat([target, zeros, zeros], dim=1)
    exchanged = torch.cat([zeros, target / 2, target[source] / 2], dim=1)
    expected = torch.where(swapped[:, None], exchanged, kept)
    torch.testing.assert_close(featex_target, expected)
    torch.testing.assert_close(featex_target.sum(dim=1), torch.ones(batch))


# -- ClassifierNet ----------------------------------------------------------------------


def test_mixup_training_is_seeded_by_random_state_only(make_net, features):
    X, section = features

    def _embedder(random_state, **net_params):
        return NetEmbedder(net=make_net(**net_params), n_frames=16, random_state=random_state)

    torch_state = torch.random.get_rng_state()
    numpy_state = np.random.get_state()[1].copy()  # noqa: NPY002
    a = _embedder(0, mixup_prob=0.5).fit(X, section=section).transform(X)
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    assert np.array_equal(np.random.get_state()[1], numpy_state)  # noqa: NPY002
    b = _embedder(0, mixup_prob=0.5).fit(X, section=section).transform(X)
    c = _embedder(1, mixup_prob=0.5).fit(X, section=section).transform(X)
    plain = _embedder(0).fit(X, section=section).transform(X)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert not np.allclose(a, plain)


def test_mixup_gives_the_criterion_class_probabilities(make_net, features):
    X, section = features
    net = make_net(criterion=RecordingLoss, mixup_prob=1.0, max_epochs=1)
    net.fit(RandomCrops(X, section, n_frames=16), section)
    targets = torch.cat(net.criterion_.targets)
    assert targets.shape == (16, 2) and targets.is_floating_point()
    torch.testing.assert_close(targets.sum(dim=1), torch.ones(16))
    assert ((targets > 0) & (targets < 1)).any()


@pytest.mark.parametrize(
    "criterion, size",
    [
        (SubclusterAdaCosLoss, {"criterion__n_subclusters": 2}),
        (AdaProjLoss, {"criterion__subspace_dim": 2}),
    ],
)
def test_embedding_criteria_get_their_sizes_and_give_probabilities(features, criterion, size):
    X, section = features
    crops = X[..., :16]
    net = ClassifierNet(
        LinearNet, criterion=criterion, max_epochs=2, batch_size=8, mixup_prob=0.5, **size
    )
    net.fit(RandomCrops(X, section, n_frames=16), section)
    assert (net.criterion_.n_classes, net.criterion_.embedding_dim) == (2, 8)
    with torch.no_grad():
        embedding = net.module_.eval().embed(torch.from_numpy(crops))
        expected = net.criterion_.eval().logits(embedding).softmax(dim=1).numpy()
    proba = net.predict_proba(crops)
    np.testing.assert_allclose(proba, expected, rtol=1e-5)
    np.testing.assert_allclose(pickle.loads(pickle.dumps(net)).predict_proba(crops), proba)


def test_feature_exchange_trains_a_second_criterion_over_three_times_the_classes(
    features, tmp_path
):
    X, section = features
    net = ClassifierNet(
        DualLinearNet,
        criterion=SubclusterAdaCosLoss,
        criterion__n_subclusters=2,
        max_epochs=2,
        batch_size=8,
        mixup_prob=0.5,
        featex_prob=0.5,
        checkpoint_dir=tmp_path,
    )
    net.fit(RandomCrops(X, section, n_frames=16), section)
    featex = net.featex_criterion_
    assert featex.n_classes == 6 and featex.embedding_dim == 8
    assert featex.scale.item() != pytest.approx(np.sqrt(2) * np.log(6 * 2 - 1))  # it trained
    assert np.isfinite(net.history[:, "train_loss"]).all()
    assert (tmp_path / "featex_criterion.pt").exists()
    net.set_params(featex_prob=0.0).initialize()
    assert not hasattr(net, "featex_criterion_") and "featex_criterion" not in net._criteria


@pytest.mark.parametrize(
    "params, message",
    [
        ({"criterion": ArcFaceLoss, "mixup_prob": 0.5}, "takes class probabilities"),
        ({"featex_prob": 0.5}, "needs a criterion that takes embeddings"),
        (
            {"criterion": AdaProjLoss, "criterion__subspace_dim": 2, "featex_prob": 0.5},
            "branch_embeddings",
        ),
        (
            {"criterion": AdaProjLoss, "criterion__subspace_dim": 2, "triplet_weight": 1.0},
            "does not combine with a triplet",
        ),
        ({"mixup_prob": 0.5, "attribute_weight": 1.0}, "cannot mix the targets"),
        ({"mixup_prob": 2.0}, r"mixup_prob must be a number in \[0.0, 1.0\]"),
    ],
)
def test_bad_combinations_are_refused(params, message):
    net = ClassifierNet(LinearNet, **{"criterion": torch.nn.CrossEntropyLoss, **params})
    net.set_params(n_attribute_classes=[2])
    with pytest.raises(ValueError, match=message):
        net.initialize()


def test_embedding_criteria_need_the_module_sizes():
    net = ClassifierNet(
        nn.Linear, criterion=AdaProjLoss, module__in_features=4, module__out_features=3
    )
    with pytest.raises(
        ValueError, match=r"Linear does not give \['n_classes', 'embedding_dim'\]: set criterion__"
    ):
        net.initialize()
