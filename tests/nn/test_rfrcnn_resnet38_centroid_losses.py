"""Tests of the issue-5 building blocks: RFRCNN with CBAM and stage classifiers, ResNet38,
the BCE / DSAD / DDCSAD centroid losses and the Eq. (5) score."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sklasd.nn import _centroid_losses, _resnet38, _rfr_cnn
from sklasd.nn._centroid_losses import (
    CENTROID_ALPHA,
    CENTROID_LOSSES,
    CentroidLoss,
    centroid_score,
    class_centroids,
)
from sklasd.nn._resnet38 import BinaryOutput, ResNet38, _ResidualBlock
from sklasd.nn._rfr_cnn import CBAM, RFRCNN, StageBCELoss, combine_stages

MODULES = [_resnet38, _rfr_cnn, _centroid_losses]


@pytest.fixture(autouse=True)
def _seeded():
    with torch.random.fork_rng():
        torch.manual_seed(0)
        yield


def tiny_resnet(**kwargs) -> ResNet38:
    params = dict(
        input_size=(32, 32),
        width_mult=0.125,
        layers=(1, 1, 1, 1),
        embedding_dim=16,
        dropout=0.0,
        head_dropout=0.0,
    )
    return ResNet38(**{**params, **kwargs})


def random_batch(n: int = 8, size: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.randn(n, 1, size, size)
    target = torch.arange(n) % 2
    return x, target


# ----------------------------------------------------------------------------- CBAM


def test_cbam_keeps_shape_and_gates_lie_in_unit_interval():
    cbam = CBAM(16, reduction=4)
    x = torch.randn(3, 16, 5, 7) * 10
    assert cbam(x).shape == x.shape
    channel_gate = cbam.channel_attention.gate(x)
    spatial_gate = cbam.spatial_attention.gate(x)
    assert channel_gate.shape == (3, 16, 1, 1)
    assert spatial_gate.shape == (3, 1, 5, 7)
    for gate in (channel_gate, spatial_gate):
        assert ((gate >= 0) & (gate <= 1)).all()
    assert cbam.spatial_attention.conv.weight.shape == (1, 2, 7, 7)


def test_cbam_applies_channel_then_spatial_attention():
    cbam = CBAM(8, reduction=2)
    x = torch.randn(2, 8, 6, 6)
    channel, spatial = cbam.channel_attention, cbam.spatial_attention
    torch.testing.assert_close(cbam(x), spatial(channel(x)))
    after_channel = x * channel.gate(x)
    torch.testing.assert_close(cbam(x), after_channel * spatial.gate(after_channel))
    assert not torch.allclose(cbam(x), channel(spatial(x)))


def test_channel_attention_sums_shared_mlp_of_average_and_max_pooling():
    cbam = CBAM(8, reduction=4)
    x = torch.randn(2, 8, 4, 5)
    mlp = cbam.channel_attention.mlp
    assert mlp[0].out_channels == 2  # 8 // 4
    expected = torch.sigmoid(mlp(x.mean(dim=(2, 3), keepdim=True)) + mlp(x.amax((2, 3), True)))
    torch.testing.assert_close(cbam.channel_attention.gate(x), expected)


def test_spatial_attention_reads_channel_average_and_max():
    cbam = CBAM(4)
    x = torch.randn(2, 4, 6, 6)
    stacked = torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], dim=1)
    expected = torch.sigmoid(cbam.spatial_attention.conv(stacked))
    torch.testing.assert_close(cbam.spatial_attention.gate(x), expected)


def test_cbam_rejects_even_kernel():
    with pytest.raises(ValueError, match="kernel_size must be odd"):
        CBAM(8, kernel_size=6)


# ----------------------------------------------------------------------------- RFRCNN


def test_rfrcnn_shapes_and_three_auxiliary_classifiers():
    net = RFRCNN(input_size=(32, 32), width=8).eval()
    x, _ = random_batch(4)
    assert net(x).shape == (4, 3)
    assert net.embed(x).shape == (4, net.embedding_dim) == (4, 32)
    assert net.n_stages == len(net.classifiers) == len(net.stages) == 3
    widths = [head.in_features for head in net.classifiers]
    assert widths == list(net.stage_channels) == [8, 16, 32]
    assert all(head.out_features == 1 for head in net.classifiers)
    assert isinstance(net.stages[2][-1], CBAM)
    assert not any(isinstance(m, CBAM) for stage in net.stages[:2] for m in stage.modules())


def test_rfrcnn_stage_classifier_reads_its_own_stage():
    net = RFRCNN(input_size=(32, 32), width=8).eval()
    x, _ = random_batch(4)
    before = net(x)
    with torch.no_grad():
        for parameter in net.stages[2].parameters():
            parameter.add_(torch.randn_like(parameter))
    after = net(x)
    torch.testing.assert_close(after[:, :2], before[:, :2])
    assert not torch.allclose(after[:, 2], before[:, 2])
    # the last classifier is a linear map of embed(x)
    torch.testing.assert_close(after[:, 2:], net.classifiers[2](net.embed(x)))


def test_rfrcnn_kernels_and_pooling_shrink_with_depth():
    net = RFRCNN(width=8)

    def kernels(stage):
        return {m.kernel_size[0] for m in stage.modules() if isinstance(m, torch.nn.Conv2d)}

    def pools(stage):
        return sum(isinstance(m, torch.nn.MaxPool2d) for m in stage.modules())

    assert net.stem[0].kernel_size == (5, 5)
    assert kernels(net.stages[0]) == {3}
    assert kernels(net.stages[1]) == {3, 1}
    assert kernels(net.stages[2][:2]) == {1}  # the residual blocks, before the CBAM
    assert [pools(stage) for stage in net.stages] == [2, 1, 0]


def test_rfrcnn_rejects_wrong_input():
    net = RFRCNN(input_size=(32, 32), width=8)
    with pytest.raises(ValueError, match=r"expects input of shape \(batch, 1, 32, 32\)"):
        net(torch.randn(2, 1, 32, 16))
    with pytest.raises(ValueError, match="input_size"):
        RFRCNN(input_size=(8, 32))


def test_combine_stages_is_the_weighted_sum_of_stage_probabilities():
    logits = torch.randn(5, 3)
    p = combine_stages(logits, (0.1, 0.3, 0.6))
    expected = 0.1 * torch.sigmoid(logits[:, 0]) + 0.3 * torch.sigmoid(logits[:, 1])
    torch.testing.assert_close(p, expected + 0.6 * torch.sigmoid(logits[:, 2]))
    torch.testing.assert_close(combine_stages(logits, (0, 0, 1)), torch.sigmoid(logits[:, 2]))


@pytest.mark.parametrize("weights", [(0.5, 0.5), (0.2, 0.2, 0.2), (-0.1, 0.5, 0.6), "abc"])
def test_combine_stages_rejects_bad_weights(weights):
    with pytest.raises(ValueError, match="weights must be 3 non-negative numbers"):
        combine_stages(torch.zeros(2, 3), weights)


def test_stage_bce_loss_averages_the_stage_losses_and_trains():
    stage_logits = torch.randn(6, 3)
    target = torch.tensor([1, 0, 1, 1, 0, 0])
    per_stage = [
        F.binary_cross_entropy_with_logits(stage_logits[:, s], target.float()) for s in range(3)
    ]
    torch.testing.assert_close(StageBCELoss()(stage_logits, target), torch.stack(per_stage).mean())

    net = RFRCNN(input_size=(32, 32), width=8)
    x, target = random_batch(8)
    losses = train_steps(net, StageBCELoss(), x, target, steps=8)
    assert losses[-1] < 0.7 * losses[0]


def test_stage_bce_loss_rejects_non_binary_target():
    with pytest.raises(ValueError, match="1 \\(normal\\) and 0 \\(outlier\\) only"):
        StageBCELoss()(torch.zeros(2, 3), torch.tensor([0, 2]))


# ----------------------------------------------------------------------------- ResNet38


def test_resnet38_output_and_embedding():
    net = tiny_resnet().eval()
    x, _ = random_batch(4)
    output = net(x)
    assert isinstance(output, BinaryOutput)
    assert output.logit.shape == (4,) and output.embedding.shape == (4, 16)
    torch.testing.assert_close(net.embed(x), output.embedding)
    assert (output.embedding >= 0).all()  # ReLU embedding
    torch.testing.assert_close(output.logit, net.head(output.embedding).squeeze(1))
    assert net.feature_size == (1, 1)
    half = output._replace(logit=output.logit.half(), embedding=output.embedding.half())
    assert half.float().logit.dtype == half.float().embedding.dtype == torch.float32


def test_resnet38_layers_and_width():
    net = ResNet38(input_size=(32, 64), width_mult=0.25, layers=(2, 1, 3, 1), embedding_dim=8)
    blocks = [sum(isinstance(m, _ResidualBlock) for m in stage.modules()) for stage in net.stages]
    assert blocks[:4] == [2, 1, 3, 1]
    widths = [stage[-1].conv2[0].out_channels for stage in net.stages[:4]]
    assert widths == [16, 32, 64, 128]
    assert net.wide[0][0].out_channels == 512
    # stages 2-4 halve the resolution, then one more pooling: 32-fold in all
    assert net.feature_size == (1, 2)
    x = torch.randn(2, 1, 32, 64)
    assert net.eval()(x).embedding.shape == (2, 8)


def test_resnet38_default_is_panns_resnet38():
    net = ResNet38()
    assert net.layers == (3, 4, 6, 3)
    blocks = sum(isinstance(m, _ResidualBlock) for m in net.modules())
    convs_3x3 = sum(
        isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3) for m in net.modules()
    )
    # 16 basic blocks of two 3x3 convolutions + 2 in the stem + 2 after the stages
    assert blocks == 16 and convs_3x3 == 36
    assert net.wide[1][0].out_channels == 2048 and net.embedding_dim == 2048


def test_resnet38_linear_embedding_option():
    x, _ = random_batch(4)
    relu = tiny_resnet().eval()
    linear = tiny_resnet(embedding_activation=None).eval()
    linear.load_state_dict(relu.state_dict())  # the same weights, only the activation differs
    z = linear.embed(x)
    assert (z < 0).any()
    torch.testing.assert_close(relu.embed(x), torch.relu(z))
    torch.testing.assert_close(linear(x).logit, linear.head(z).squeeze(1))


def test_resnet38_pooling_options_differ():
    x = torch.randn(3, 1, 32, 64)
    mean_max = ResNet38(input_size=(32, 64), width_mult=0.125, layers=(1, 1, 1, 1)).eval()
    mean = ResNet38(
        input_size=(32, 64), width_mult=0.125, layers=(1, 1, 1, 1), pooling="mean"
    ).eval()
    mean.load_state_dict(mean_max.state_dict())
    assert not torch.allclose(mean.embed(x), mean_max.embed(x))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"input_size": (16, 64)}, "input_size"),
        ({"layers": (1, 1, 1)}, "layers must be a sequence of 4"),
        ({"layers": (1, 0, 1, 1)}, "layers\\[1\\]"),
        ({"pooling": "max"}, "pooling must be one of"),
        ({"dropout": 1.0}, "dropout must be a number in"),
        ({"width_mult": 0}, "width_mult"),
        ({"embedding_activation": "gelu"}, "embedding_activation must be one of"),
    ],
)
def test_resnet38_rejects_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ResNet38(**kwargs)


def test_resnet38_rejects_wrong_input():
    net = tiny_resnet()
    with pytest.raises(ValueError, match=r"expects input of shape \(batch, 1, 32, 32\)"):
        net(torch.randn(2, 1, 40, 32))


# ----------------------------------------------------------------------------- losses


def manual_loss(logit, z, target, c_p, c_n, name, lambda_, eta, eps):
    """Eqs. (1)-(4) of Kuroyanagi et al. with y = +1 / -1 written as powers of distances."""
    n_plus_m = len(target)
    sign = torch.where(target == 1, 1.0, -1.0).double()  # y~ = +1, y = -1, y~ = -1
    weight = torch.where(target == 0, 1.0, eta).double()  # eta on the target machine's clips
    d_p = ((z - c_p) ** 2).sum(1) + eps * (sign < 0)
    d_n = ((z - c_n) ** 2).sum(1) + eps * (sign > 0)
    u = (sign > 0).double()
    p = torch.sigmoid(logit)
    bce = -(u * torch.log(p) + (1 - u) * torch.log(1 - p)).sum() / n_plus_m
    dsad = (weight * d_p**sign).sum() / n_plus_m
    ddcsad = (weight * (d_p**sign + d_n ** (-sign))).sum() / n_plus_m
    return {
        "bce": bce,
        "dsad": dsad,
        "ddcsad": ddcsad,
        "bce+dsad": bce + lambda_ * dsad,
        "bce+ddcsad": bce + lambda_ * ddcsad,
    }[name]


@pytest.mark.parametrize("name", CENTROID_LOSSES)
def test_centroid_loss_formulas(name):
    logit, z = torch.randn(10, dtype=torch.float64), torch.randn(10, 4, dtype=torch.float64)
    y = torch.tensor([1, 0, -1, 1, 0] * 2)
    criterion = CentroidLoss(embedding_dim=4, loss=name, lambda_=0.7, eta=1.5, eps=1e-3)
    c_p, c_n = torch.randn(4), torch.randn(4)
    criterion.set_centroids(c_p, c_n)
    expected = manual_loss(logit, z, y, c_p.double(), c_n.double(), name, 0.7, 1.5, 1e-3)
    torch.testing.assert_close(criterion((logit, z), y), expected)


def train_steps(net, criterion, x, target, *, steps, lr=1e-2) -> list[float]:
    """Loss on one fixed batch over ``steps`` Adam steps (train mode, no dropout)."""
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = criterion(net(x), target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("name", CENTROID_LOSSES)
def test_each_centroid_loss_decreases_when_training_resnet38(name):
    net = tiny_resnet()
    x, target = random_batch(8)
    criterion = CentroidLoss(embedding_dim=16, loss=name)  # random centroids, as the paper starts
    losses = train_steps(net, criterion, x, target, steps=8, lr=3e-3)
    assert losses[-1] < 0.7 * losses[0]


def optimise_embeddings(criterion, z, y, steps=50, lr=0.05):
    z = z.clone().requires_grad_(True)
    optimizer = torch.optim.SGD([z], lr=lr)
    logit = torch.zeros(len(z))
    for _ in range(steps):
        optimizer.zero_grad()
        criterion((logit, z), y).backward()
        optimizer.step()
    return z.detach()


def test_dsad_pulls_normals_to_the_centroid_and_pushes_outliers_away():
    criterion = CentroidLoss(embedding_dim=3, loss="dsad", eta=1.0)
    criterion.set_centroids(torch.zeros(3), torch.full((3,), 9.0))
    z = torch.randn(12, 3)
    y = torch.tensor([1, 0] * 6)
    moved = optimise_embeddings(criterion, z, y)
    before, after = criterion.distance(z), criterion.distance(moved)
    assert (after[y == 1] < before[y == 1]).all()
    assert (after[y == 0] > before[y == 0]).all()
    # c_n plays no part in DSAD
    loss = criterion((torch.zeros(12), z), y)
    criterion.set_centroids(torch.zeros(3), torch.zeros(3))
    torch.testing.assert_close(criterion((torch.zeros(12), z), y), loss)


def test_ddcsad_pulls_each_class_to_its_centroid_and_away_from_the_other():
    criterion = CentroidLoss(embedding_dim=3, loss="ddcsad", eta=1.0)
    c_p, c_n = torch.zeros(3), torch.ones(3)
    criterion.set_centroids(c_p, c_n)
    z = torch.rand(12, 3)  # between the centroids
    y = torch.tensor([1, 0] * 6)
    moved = optimise_embeddings(criterion, z, y, steps=30, lr=0.02)

    def dist(a, c):
        return ((a - c) ** 2).sum(1)

    normal, outlier = y == 1, y == 0
    assert (dist(moved, c_p)[normal] < dist(z, c_p)[normal]).all()
    assert (dist(moved, c_n)[normal] > dist(z, c_n)[normal]).all()
    assert (dist(moved, c_n)[outlier] < dist(z, c_n)[outlier]).all()
    assert (dist(moved, c_p)[outlier] > dist(z, c_p)[outlier]).all()
    # both centroids enter the loss
    loss = criterion((torch.zeros(12), z), y)
    criterion.set_centroids(c_p, torch.full((3,), 5.0))
    assert not torch.isclose(criterion((torch.zeros(12), z), y), loss)


@pytest.mark.parametrize(
    ("name", "expected"),
    # 1-D embeddings z = 1 (normal), 3 (outlier), 0.5 (known anomaly); c_p = 0, c_n = 2;
    # eta = 2, so d_p = 1, 9, 0.25 and d_n = 1, 1, 2.25:
    # Eq. (2): (2 * 1 + 1 / 9 + 2 / 0.25) / 3
    # Eq. (3): (2 * (1 + 1 / 1) + (1 + 1 / 9) + 2 * (2.25 + 1 / 0.25)) / 3
    [("dsad", (2 + 1 / 9 + 8) / 3), ("ddcsad", (4 + (1 + 1 / 9) + 12.5) / 3)],
)
def test_centroid_losses_on_a_hand_computed_case(name, expected):
    criterion = CentroidLoss(embedding_dim=1, loss=name, eta=2.0, eps=1e-12)
    criterion.set_centroids(torch.zeros(1), torch.full((1,), 2.0))
    z = torch.tensor([[1.0], [3.0], [0.5]], dtype=torch.float64)
    loss = criterion((torch.zeros(3), z), torch.tensor([1, 0, -1]))
    assert loss.item() == pytest.approx(expected, rel=1e-9)


def test_eta_weighs_the_target_machine_clips_not_the_outliers():
    z = torch.randn(6, 4, requires_grad=True)
    y = torch.tensor([0, 0, 1, 1, -1, -1])  # outliers, normal, known anomalies
    grads = {}
    for eta in (0.0, 1.0, 3.0):
        criterion = CentroidLoss(embedding_dim=4, loss="dsad", eta=eta)
        criterion.set_centroids(torch.zeros(4), torch.zeros(4))
        (grad,) = torch.autograd.grad(criterion((torch.zeros(6), z), y), z)
        grads[eta] = grad
    torch.testing.assert_close(grads[3.0][:2], grads[0.0][:2])  # outliers ignore eta
    assert bool(grads[0.0][:2].abs().sum() > 0)  # ... and are still pushed away
    assert torch.equal(grads[0.0][2:], torch.zeros(4, 4))  # target clips weigh eta
    torch.testing.assert_close(grads[3.0][2:], 3 * grads[1.0][2:])


def test_dsad_keeps_its_centroid_and_ddcsad_updates_both():
    assert not CentroidLoss(embedding_dim=2, loss="dsad").updates_centroids
    assert not CentroidLoss(embedding_dim=2, loss="bce+dsad").updates_centroids
    assert CentroidLoss(embedding_dim=2, loss="ddcsad").updates_centroids
    assert CentroidLoss(embedding_dim=2, loss="bce+ddcsad").updates_centroids


def test_alpha_table_is_kuroyanagi_table_i():
    # Kuroyanagi et al. (EUSIPCO 2021), Table I, transcribed:
    # Method  fan  pump  slider  ToyCar  ToyConv.  valve
    table = {
        "bce+dsad": (0.1, 0.2, 0.0, 0.0, 0.0, 0.0),
        "bce+ddcsad": (0.1, 1.0, 1.0, 0.1, 0.0, 1.0),
    }
    machine_types = ("fan", "pump", "slider", "ToyCar", "ToyConveyor", "valve")
    assert {
        loss: tuple(CENTROID_ALPHA[loss][machine] for machine in machine_types)
        for loss in CENTROID_ALPHA
    } == table
    assert all(set(row) == set(machine_types) for row in CENTROID_ALPHA.values())


@pytest.mark.parametrize("centroid", ["dsad", "ddcsad"])
def test_lambda_weighs_the_centroid_loss_against_bce(centroid):
    logit, z = torch.randn(8), torch.randn(8, 4)
    y = torch.tensor([1, 0] * 4)
    c_p, c_n = torch.randn(4), torch.randn(4)

    def loss(name, **kwargs):
        criterion = CentroidLoss(embedding_dim=4, loss=name, **kwargs)
        criterion.set_centroids(c_p, c_n)
        return criterion((logit, z), y)

    bce, centroid_loss = loss("bce"), loss(centroid)
    for lambda_ in (0.0, 0.5, 3.0):
        torch.testing.assert_close(
            loss(f"bce+{centroid}", lambda_=lambda_), bce + lambda_ * centroid_loss
        )


def test_centroids_are_buffers_set_in_place():
    criterion = CentroidLoss(embedding_dim=3)
    assert list(criterion.parameters()) == []
    assert set(criterion.state_dict()) == {"c_p", "c_n"}
    buffer = criterion.c_p
    criterion.set_centroids(torch.arange(3.0), torch.ones(3, dtype=torch.float64))
    assert criterion.c_p is buffer and torch.equal(buffer, torch.arange(3.0))
    assert criterion.c_n.dtype == torch.float32
    with pytest.raises(ValueError, match=r"c_n must be a finite tensor of shape \(3,\)"):
        criterion.set_centroids(torch.zeros(3), torch.zeros(4))
    with pytest.raises(ValueError, match="c_p must be a finite"):
        criterion.set_centroids(torch.tensor([0.0, float("nan"), 0.0]), torch.zeros(3))


def test_random_centroids_follow_torch_seed():
    torch.manual_seed(3)
    first = CentroidLoss(embedding_dim=5)
    torch.manual_seed(3)
    second = CentroidLoss(embedding_dim=5)
    assert torch.equal(first.c_p, second.c_p) and torch.equal(first.c_n, second.c_n)
    assert not torch.equal(first.c_p, first.c_n)


def test_class_centroids():
    z = torch.tensor([[1.0, 1.0], [3.0, 1.0], [0.0, -4.0]])
    c_p, c_n = class_centroids(z, torch.tensor([1, 1, 0]))
    assert torch.equal(c_p, torch.tensor([2.0, 1.0])) and torch.equal(c_n, z[2])
    with pytest.raises(ValueError, match="at least one outlier"):
        class_centroids(z, torch.tensor([1, 1, 1]))
    # known anomalies (-1) join the outlier centroid
    c_p, c_n = class_centroids(z, torch.tensor([1, 0, -1]))
    assert torch.equal(c_p, z[0]) and torch.equal(c_n, z[1:].mean(0))


def test_centroid_loss_logits_and_input_checks():
    criterion = CentroidLoss(embedding_dim=2)
    logit, z, y = torch.randn(3, 1), torch.randn(3, 2), torch.tensor([1, 0, 1])
    assert criterion.logits((logit, z)).shape == (3,)
    assert criterion.logits(BinaryOutput(logit[:, 0], z)) is not None
    with pytest.raises(ValueError, match="\\(logit, embedding\\) pair"):
        criterion(logit, y)
    with pytest.raises(ValueError, match=r"embedding must have shape \(batch, 2\)"):
        criterion((logit, torch.randn(3, 5)), y)
    with pytest.raises(ValueError, match="1 \\(normal\\), 0 \\(outlier\\) and -1"):
        criterion((logit, z), torch.tensor([1, 2, 0]))
    with pytest.raises(ValueError, match="loss must be one of"):
        CentroidLoss(embedding_dim=2, loss="svdd")
    with pytest.raises(ValueError, match="eta"):
        CentroidLoss(embedding_dim=2, eta=-1.0)


# ----------------------------------------------------------------------------- Eq. (5)


def test_centroid_score_bounds_and_extremes():
    rng = np.random.default_rng(0)
    p, d = rng.uniform(size=50), rng.uniform(2.0, 7.0, size=50)
    for alpha in (0.0, 0.3, 1.0):
        s = centroid_score(p, d, alpha=alpha, d_range=(2.0, 7.0))
        assert s.shape == (50,) and ((s >= 0) & (s <= 1)).all()
    ends = centroid_score([1.0, 0.0], [2.0, 7.0], alpha=0.4, d_range=(2.0, 7.0))
    np.testing.assert_allclose(ends, [0.0, 1.0])
    np.testing.assert_allclose(centroid_score(p, d, alpha=1.0, d_range=(2.0, 7.0)), 1 - p)
    np.testing.assert_allclose(
        centroid_score(p, d, alpha=0.0, d_range=(2.0, 7.0)), (d - 2.0) / 5.0
    )


def test_centroid_score_keeps_ranking_outside_the_range():
    s = centroid_score([0.5, 0.5, 0.5], [1.0, 10.0, 20.0], alpha=0.5, d_range=(2.0, 7.0))
    assert s[0] < 0.25 and 1 < s[1] < s[2]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"p": [1.2, 0.0]}, "p must hold probabilities"),
        ({"d": [-1.0, 0.0]}, "d must hold finite"),
        ({"d": [0.0]}, "same length"),
        ({"alpha": 1.5}, "alpha must be a number in"),
        ({"d_range": (3.0, 3.0)}, "d_min < d_max"),
        ({"d_range": (1.0,)}, "pair"),
    ],
)
def test_centroid_score_rejects_bad_input(kwargs, match):
    args = {"p": [0.5, 0.5], "d": [1.0, 2.0], "alpha": 0.5, "d_range": (0.0, 1.0)} | kwargs
    with pytest.raises(ValueError, match=match):
        centroid_score(args.pop("p"), args.pop("d"), **args)
