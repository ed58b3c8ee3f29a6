"""Sub-cluster AdaCos and AdaProj against their equations on hand-computed cases."""

import math

import pytest
import torch
import torch.nn.functional as F

from sklasd.nn import AdaProjLoss, SubclusterAdaCosLoss, adacos_scale


def _with(loss, centres, scale):
    """``loss`` with these centres and this scale."""
    with torch.no_grad():
        loss.centres.copy_(torch.as_tensor(centres, dtype=torch.float32))
        loss.scale.fill_(scale)
    return loss


@pytest.fixture
def subcluster():
    # Class 0: centres e1, e2; class 1: -e1, -e2.
    centres = [[[1.0, 0.0], [0.0, 1.0]], [[-1.0, 0.0], [0.0, -1.0]]]
    loss = SubclusterAdaCosLoss(2, 2, n_subclusters=2)
    return _with(loss, centres, 2.0)


@pytest.fixture
def adaproj():
    # Class 0 spans e1, e2; class 1 spans e2, e3.
    centres = [[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]]
    loss = AdaProjLoss(2, 3, subspace_dim=2)
    return _with(loss, centres, 2.0)


def test_subcluster_loss_is_the_cross_entropy_of_summed_subcluster_softmax(subcluster):
    subcluster.eval()  # keeps the scale at 2
    x = torch.tensor([[3.0, 0.0]])  # cosines: class 0 (1, 0), class 1 (-1, 0)
    s = 2.0
    p0 = (math.exp(s) + 1.0) / (math.exp(s) + 1.0 + math.exp(-s) + 1.0)
    assert subcluster(x, torch.tensor([0])).item() == pytest.approx(-math.log(p0), rel=1e-6)
    assert subcluster(x, torch.tensor([1])).item() == pytest.approx(-math.log(1 - p0), rel=1e-6)
    logits = subcluster.logits(x)
    assert logits[0].tolist() == pytest.approx(
        [math.log(math.exp(s) + 1.0), math.log(math.exp(-s) + 1.0)], rel=1e-6
    )


def test_one_subcluster_is_the_cross_entropy_of_scaled_cosines():
    torch.manual_seed(0)
    loss = SubclusterAdaCosLoss(4, 5, n_subclusters=1).eval()
    x = torch.randn(6, 5)
    target = torch.tensor([0, 1, 2, 3, 0, 1])
    cosine = F.normalize(x) @ loss.centres[:, 0].T
    expected = F.cross_entropy(loss.scale * cosine, target)
    assert loss(x, target).item() == pytest.approx(expected.item(), rel=1e-5)


def test_subcluster_scale_follows_the_adacos_rule_over_all_subclusters(subcluster):
    subcluster.train()
    # Clip 1 on centre e1 (angle 0 to class 0); clip 2 at 60 degrees from e1 and
    # 30 degrees from e2 (angle pi/6 to class 0's closest centre).
    x = torch.tensor([[1.0, 0.0], [0.5, math.sqrt(3) / 2]])
    target = torch.tensor([0, 0])
    s = 2.0
    cosines = [[1.0, 0.0, -1.0, 0.0], [0.5, math.sqrt(3) / 2, -0.5, -math.sqrt(3) / 2]]
    b_avg = sum(sum(math.exp(s * c) for c in row) for row in cosines) / 2
    theta_med = (0.0 + math.pi / 6) / 2  # median of two angles: their mean
    expected_scale = math.log(b_avg) / math.cos(theta_med)
    value = subcluster(x, target)
    assert subcluster.scale.item() == pytest.approx(expected_scale, rel=1e-5)
    # The loss of the batch uses the new scale.
    subcluster.eval()
    assert subcluster(x, target).item() == pytest.approx(value.item(), rel=1e-6)


def test_adaproj_cosine_is_that_of_the_projection_on_the_class_subspace(adaproj):
    adaproj.eval()
    x = torch.tensor([[2.0, 1.0, 0.0]])  # in class 0's subspace; 1/sqrt(5) from class 1's
    s = 2.0
    cos1 = 1 / math.sqrt(5)
    assert (adaproj.logits(x)[0] / s).tolist() == pytest.approx([1.0, cos1], rel=1e-6)
    p0 = math.exp(s) / (math.exp(s) + math.exp(s * cos1))
    assert adaproj(x, torch.tensor([0])).item() == pytest.approx(-math.log(p0), rel=1e-6)
    diagonal = torch.tensor([[1.0, 1.0, 1.0]])  # |P_c x| / |x| = sqrt(2/3) for both
    assert (adaproj.logits(diagonal)[0] / s).tolist() == pytest.approx(
        [math.sqrt(2 / 3)] * 2, rel=1e-6
    )


def test_adaproj_scale_counts_full_targets_as_one(adaproj):
    adaproj.train()
    x = torch.tensor([[2.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    target = torch.tensor([0, 1])
    s = 2.0
    # Clip 1: class 0 is the target (counts 1), class 1 at cos 1/sqrt(5);
    # clip 2: class 0 at cos 0, class 1 the target (counts 1). Both target angles 0.
    b_avg = ((1.0 + math.exp(s / math.sqrt(5))) + (math.exp(0.0) + 1.0)) / 2
    adaproj(x, target)
    assert adaproj.scale.item() == pytest.approx(math.log(b_avg), rel=1e-5)


@pytest.mark.parametrize(
    "make",
    [
        lambda: SubclusterAdaCosLoss(3, 4, n_subclusters=2),
        lambda: AdaProjLoss(3, 4, subspace_dim=2),
    ],
)
def test_soft_targets_mix_the_losses_linearly(make):
    torch.manual_seed(0)
    loss = make().eval()
    x = torch.randn(5, 4)
    a, b = torch.tensor([0, 1, 2, 0, 1]), torch.tensor([2, 2, 0, 1, 1])
    lam = torch.tensor([0.3, 0.5, 0.9, 1.0, 0.2])
    soft = lam[:, None] * F.one_hot(a, 3) + (1 - lam[:, None]) * F.one_hot(b, 3)
    logp = loss.logits(x).log_softmax(dim=1)
    expected = -(lam * logp[range(5), a] + (1 - lam) * logp[range(5), b]).mean()
    assert loss(x, soft).item() == pytest.approx(expected.item(), rel=1e-5)
    assert loss(x, F.one_hot(a, 3).float()).item() == pytest.approx(loss(x, a).item(), rel=1e-6)


def test_soft_target_angle_is_the_weighted_class_angle(subcluster):
    subcluster.train()
    x = torch.tensor([[1.0, 0.0]])  # angle 0 to class 0, pi/2 to class 1 (-e2 at 90 degrees)
    soft = torch.tensor([[0.75, 0.25]])
    s = 2.0
    b_avg = math.exp(s) + 1.0 + math.exp(-s) + 1.0
    subcluster(x, soft)
    expected = math.log(b_avg) / math.cos(min(math.pi / 4, 0.25 * math.pi / 2))
    assert subcluster.scale.item() == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("trainable", [False, True])
@pytest.mark.parametrize(
    "cls, size", [(SubclusterAdaCosLoss, "n_subclusters"), (AdaProjLoss, "subspace_dim")]
)
def test_gradients_reach_the_embeddings_and_trainable_centres(cls, size, trainable):
    torch.manual_seed(0)
    loss = cls(3, 6, **{size: 2}, trainable=trainable)
    x = torch.randn(4, 6, requires_grad=True)
    loss(x, torch.tensor([0, 1, 2, 1])).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert [name for name, _ in loss.named_parameters()] == (["centres"] if trainable else [])
    if trainable:
        assert loss.centres.grad.abs().sum() > 0
    assert "centres" in loss.state_dict() and "scale" in loss.state_dict()


def test_evaluation_mode_keeps_the_scale():
    torch.manual_seed(0)
    loss = SubclusterAdaCosLoss(2, 4, n_subclusters=3)
    initial = loss.scale.item()
    assert initial == pytest.approx(math.sqrt(2) * math.log(2 * 3 - 1))
    loss.eval()(torch.randn(4, 4), torch.tensor([0, 1, 0, 1]))
    assert loss.scale.item() == initial
    loss.train()(torch.randn(4, 4), torch.tensor([0, 1, 0, 1]))
    assert loss.scale.item() != initial


def test_two_logits_start_at_a_positive_scale():
    loss = SubclusterAdaCosLoss(2, 4, n_subclusters=1)
    assert loss.scale.item() == pytest.approx(math.sqrt(2))


def test_adacos_scale_uses_a_stable_log_sum_exp():
    big = torch.full((2, 3), 1000.0)  # exp(1000) overflows float32
    scale = adacos_scale(big, torch.zeros(2))
    assert scale.item() == pytest.approx(1000.0 + math.log(3), rel=1e-6)


def test_bad_inputs_are_refused_with_the_fix():
    loss = SubclusterAdaCosLoss(3, 4, n_subclusters=2)
    with pytest.raises(ValueError, match=r"embeddings of shape \(batch, 4\)"):
        loss(torch.randn(2, 5), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match=r"outside \[0, 3\)"):
        loss(torch.randn(2, 4), torch.tensor([0, 3]))
    with pytest.raises(ValueError, match=r"class probabilities, shape \(2, 3\)"):
        loss(torch.randn(2, 4), torch.ones(2, 2))
    with pytest.raises(ValueError, match="subspace_dim must be less than embedding_dim"):
        AdaProjLoss(3, 4, subspace_dim=4)
    with pytest.raises(ValueError, match="n_classes >= 2"):
        AdaProjLoss(1, 4, subspace_dim=2)
    with pytest.raises(ValueError, match="at least two centres"):
        SubclusterAdaCosLoss(1, 4, n_subclusters=1)
    with pytest.raises(ValueError, match="trainable must be a bool"):
        SubclusterAdaCosLoss(2, 4, trainable=1)
