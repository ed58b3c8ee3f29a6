"""Tests of ArcFaceLoss and CrossEntropyLoss, alone and training the networks."""

import math

import pytest
import torch
import torch.nn.functional as F

from sklasd.nn import ArcFaceLoss, CrossEntropyLoss, MobileFaceNet, MobileNetV3IDNet


@pytest.fixture(autouse=True)
def _seeded():
    with torch.random.fork_rng():
        torch.manual_seed(0)
        yield


def random_cosine(n: int = 16, n_classes: int = 4) -> torch.Tensor:
    return torch.rand(n, n_classes, dtype=torch.float64) * 2 - 1


def test_zero_margin_is_cross_entropy_of_scaled_cosines():
    cosine = random_cosine()
    target = torch.randint(0, 4, (16,))
    loss = ArcFaceLoss(margin=0.0, scale=16.0)(cosine, target)
    torch.testing.assert_close(loss, F.cross_entropy(16.0 * cosine, target))


def test_margin_penalises_only_the_target_class():
    cosine = torch.tensor([[0.8, 0.3, -0.2]], dtype=torch.float64)
    target = torch.tensor([0])
    arcface = ArcFaceLoss(margin=0.3, scale=10.0)
    theta = math.acos(0.8)
    expected_logits = 10.0 * torch.tensor([[math.cos(theta + 0.3), 0.3, -0.2]])
    expected = F.cross_entropy(expected_logits.double(), target)
    torch.testing.assert_close(arcface(cosine, target), expected)


def target_logit_curve(arcface: ArcFaceLoss, grid: torch.Tensor) -> torch.Tensor:
    """Loss of one clip per target cosine in grid, the other class at cosine 0."""
    cosine = torch.stack([grid, torch.zeros_like(grid)], dim=1)
    target = torch.zeros(len(grid), dtype=torch.long)
    return torch.stack([arcface(cosine[i : i + 1], target[i : i + 1]) for i in range(len(grid))])


def test_fallback_keeps_the_loss_monotone_beyond_pi_minus_margin():
    margin = 0.5
    arcface = ArcFaceLoss(margin=margin, scale=2.0)
    grid = torch.linspace(-1, 1, 401, dtype=torch.float64)
    losses = target_logit_curve(arcface, grid)
    # the closer to the class (higher cosine), the lower the loss, over all of [-1, 1]
    assert (losses.diff() <= 1e-12).all()
    # below cos(pi - m) the target logit is cos(theta) - m sin(m) (the "th/mm" fallback)
    cos_t = torch.tensor([[-0.95, 0.0]], dtype=torch.float64)
    assert -0.95 < math.cos(math.pi - margin)
    expected = F.cross_entropy(
        2.0 * torch.tensor([[-0.95 - margin * math.sin(margin), 0.0]], dtype=torch.float64),
        torch.tensor([0]),
    )
    torch.testing.assert_close(arcface(cos_t, torch.tensor([0])), expected)
    # cos(theta + m) alone would rise again there: the fallback is what keeps it monotone
    theta = torch.arccos(grid[grid < math.cos(math.pi - margin)])
    assert (torch.cos(theta + margin).diff() < 0).any()


def test_easy_margin_leaves_negative_target_cosines_alone():
    arcface = ArcFaceLoss(margin=0.4, scale=8.0, easy_margin=True)
    cosine = torch.tensor([[-0.3, 0.2], [0.6, 0.1]], dtype=torch.float64)
    target = torch.tensor([0, 0])
    logits = 8.0 * torch.tensor([[-0.3, 0.2], [math.cos(math.acos(0.6) + 0.4), 0.1]])
    torch.testing.assert_close(arcface(cosine, target), F.cross_entropy(logits.double(), target))


def test_gradients_are_finite_at_the_ends():
    cosine = torch.tensor([[1.0, -1.0], [-1.0, 1.0]], requires_grad=True)
    loss = ArcFaceLoss()(cosine, torch.tensor([0, 0]))
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(cosine.grad).all()


def test_half_precision_input_is_computed_in_float32():
    cosine = random_cosine().half()
    target = torch.randint(0, 4, (16,))
    loss = ArcFaceLoss()(cosine, target)
    assert loss.dtype == torch.float32
    torch.testing.assert_close(loss, ArcFaceLoss()(cosine.float(), target))


def test_logits_methods():
    cosine = random_cosine()
    torch.testing.assert_close(ArcFaceLoss(scale=12.0).logits(cosine), 12.0 * cosine)
    output = torch.randn(3, 4)
    assert CrossEntropyLoss().logits(output) is output
    target = torch.tensor([0, 1, 3])
    torch.testing.assert_close(CrossEntropyLoss()(output, target), F.cross_entropy(output, target))


def test_arcface_rejects_logits_and_bad_shapes():
    arcface = ArcFaceLoss()
    with pytest.raises(ValueError, match=r"cosine similarities in \[-1, 1\]"):
        arcface(torch.tensor([[3.0, -2.0]]), torch.tensor([0]))
    with pytest.raises(ValueError, match=r"\(batch, n_classes\).*got \(4,\) and \(4,\)"):
        arcface(torch.zeros(4), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="got \\(2, 3\\) and \\(3,\\)"):
        arcface(torch.zeros(2, 3), torch.zeros(3, dtype=torch.long))


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"margin": -0.1}, "margin"),
        ({"margin": 2.0}, "margin"),
        ({"scale": 0}, "scale"),
        ({"easy_margin": 1}, "easy_margin"),
    ],
)
def test_arcface_invalid_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        ArcFaceLoss(**params)


@pytest.mark.parametrize("cls", [MobileNetV3IDNet, MobileFaceNet])
@pytest.mark.parametrize(
    ("head", "criterion"), [("linear", CrossEntropyLoss()), ("cosine", ArcFaceLoss(scale=16.0))]
)
def test_a_few_steps_reduce_the_loss(cls, head, criterion):
    net = cls(
        n_classes=3,
        input_size=(16, 16),
        width_mult=0.25,
        depth_mult=0.5,
        embedding_dim=16,
        head=head,
    )
    x = torch.randn(12, 1, 16, 16)
    y = torch.arange(12) % 3
    x += y[:, None, None, None].float()  # separable classes
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    losses = []
    for _ in range(15):
        optimizer.zero_grad()
        loss = criterion(net(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
