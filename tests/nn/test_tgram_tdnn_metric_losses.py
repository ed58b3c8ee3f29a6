"""Tests of TgramNet, TDNN and the metric losses (batch-hard triplet, attribute, combined)."""

import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from sklasd.features import LogMel
from sklasd.nn import ArcFaceLoss, CosineHead, CrossEntropyLoss
from sklasd.nn._metric_losses import (
    AttributeHeads,
    AttributeLoss,
    BatchHardTripletLoss,
    ClassificationTripletAttributeLoss,
)
from sklasd.nn._tdnn import TDNN, TDNN_FRAME_LAYERS, TDNNRow
from sklasd.nn._tgram import TgramNet


@pytest.fixture(autouse=True)
def _seeded():
    """Seed torch for each test without leaking the global RNG state."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        yield


def n_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# ----------------------------------------------------------------------------- TgramNet


@pytest.mark.parametrize(
    ("n_samples", "n_fft", "hop"),
    [(8000, 1024, 512), (16000, 1024, 512), (20800, 1024, 512), (16001, 400, 160)],
)
def test_tgram_frames_align_with_logmel(n_samples, n_fft, hop):
    waves = np.random.default_rng(0).standard_normal((2, n_samples)).astype(np.float32)
    logmel = LogMel(sr=16000, n_fft=n_fft, hop_length=hop, n_mels=16).fit_transform(waves)
    tgram = TgramNet(n_mels=16, win_length=n_fft, hop_length=hop, n_blocks=1)
    with torch.no_grad():
        out = tgram(torch.from_numpy(waves))
    assert out.shape == logmel.shape == (2, 1, 16, tgram.n_frames(n_samples))
    # stacked as channels, as STgram-MFN feeds its classifier
    assert np.concatenate([logmel, out.numpy()], axis=1).shape == (2, 2, 16, logmel.shape[-1])


@pytest.mark.parametrize(("win", "hop"), [(1024, 512), (401, 160)])
def test_tgram_frames_cover_the_samples_of_centred_stft_frames(win, hop):
    # With all-ones filters the strided convolution sums each window, which is the
    # DC bin of a rectangular-window centred STFT with zero padding: same frames.
    tgram = TgramNet(n_mels=1, win_length=win, hop_length=hop, n_blocks=0)
    with torch.no_grad():
        tgram.extractor.weight.fill_(1.0)
        wave = torch.randn(1, 5000, dtype=torch.float64)
        out = tgram.double()(wave)[0, 0, 0]
    spec = torch.stft(
        wave[0],
        win,
        hop,
        window=torch.ones(win, dtype=torch.float64),
        center=True,
        pad_mode="constant",
        return_complex=True,
    )
    torch.testing.assert_close(out, spec[0].real)


def test_tgram_architecture():
    tgram = TgramNet()
    conv = tgram.extractor
    assert (conv.in_channels, conv.out_channels) == (1, 128)
    assert conv.kernel_size == (1024,) and conv.stride == (512,) and conv.padding == (512,)
    assert conv.bias is None
    assert len(tgram.blocks) == 3
    for norm, activation, block_conv in tgram.blocks:
        assert isinstance(norm, nn.GroupNorm) and norm.num_groups == norm.num_channels == 128
        assert isinstance(activation, nn.LeakyReLU) and activation.negative_slope == 0.2
        assert block_conv.kernel_size == (3,) and block_conv.padding == (1,)
    # filter bank 128 x 1024, three blocks of norm (2 x 128) and conv (128 x 128 x 3)
    assert n_parameters(tgram) == 128 * 1024 + 3 * (2 * 128 + 128 * 128 * 3)


def test_tgram_normalises_each_channel_over_time_whatever_the_length():
    tgram = TgramNet(n_mels=8, n_blocks=1)
    norm = tgram.blocks[0][0]
    for n_samples in (3000, 9000):
        features = tgram.extractor(torch.randn(2, 1, n_samples))
        normed = norm(features)
        torch.testing.assert_close(normed.mean(dim=2), torch.zeros(2, 8), atol=1e-5, rtol=0)
        torch.testing.assert_close(
            normed.var(dim=2, correction=0), torch.ones(2, 8), atol=1e-3, rtol=0
        )


def test_tgram_accepts_both_input_layouts():
    tgram = TgramNet(n_mels=8, n_blocks=2).eval()
    wave = torch.randn(3, 4000)
    torch.testing.assert_close(tgram(wave), tgram(wave.unsqueeze(1)))
    with pytest.raises(ValueError, match=r"\(batch, n_samples\).*got \(3, 2, 4000\)"):
        tgram(torch.randn(3, 2, 4000))
    with pytest.raises(ValueError, match=r"got \(4000,\)"):
        tgram(torch.randn(4000))


def test_tgram_learns():
    tgram = TgramNet(n_mels=8, n_blocks=2)
    before = {name: p.detach().clone() for name, p in tgram.named_parameters()}
    optimizer = torch.optim.SGD(tgram.parameters(), lr=0.1)
    wave = torch.randn(4, 4000)
    target = torch.randn(4, 1, 8, tgram.n_frames(4000))
    loss = F.mse_loss(tgram(wave), target)
    loss.backward()
    assert tgram.extractor.weight.grad.abs().sum() > 0  # gradients reach the first conv
    optimizer.step()
    for name, p in tgram.named_parameters():
        assert not torch.equal(p, before[name]), f"{name} did not change"


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"n_mels": 0}, "n_mels"),
        ({"win_length": 1.5}, "win_length"),
        ({"hop_length": True}, "hop_length"),
        ({"n_blocks": -1}, "n_blocks"),
    ],
)
def test_tgram_invalid_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        TgramNet(**params)


def test_tgram_n_frames():
    tgram = TgramNet()
    assert [tgram.n_frames(n) for n in (1, 511, 512, 160000)] == [1, 1, 2, 313]
    with pytest.raises(ValueError, match="n_samples"):
        tgram.n_frames(0)


# ----------------------------------------------------------------------------- TDNN

TINY_TDNN = {"width_mult": 0.0625, "embedding_dim": 8}


def test_tdnn_follows_the_xvector_table():
    assert tuple(tuple(row) for row in TDNN_FRAME_LAYERS) == (
        (5, 1, 512),
        (3, 2, 512),
        (3, 3, 512),
        (1, 1, 512),
        (1, 1, 1500),
    )
    net = TDNN(n_classes=4)
    assert net.receptive_field == 15
    in_channels = 128
    for layer, row in zip(net.frames, TDNN_FRAME_LAYERS, strict=True):
        conv, relu, norm = layer
        assert conv.in_channels == in_channels and conv.out_channels == row.out_channels
        assert conv.kernel_size == (row.kernel_size,) and conv.dilation == (row.dilation,)
        assert conv.padding == (0,)
        assert isinstance(relu, nn.ReLU) and isinstance(norm, nn.BatchNorm1d)
        in_channels = row.out_channels
    assert net.segment[0].in_features == 3000  # mean and std of 1500 channels
    assert net.segment[0].out_features == 512 and net.embedding[0].out_features == 128
    # counts derived in the class docstring
    assert n_parameters(net) == 4_544_788 + 129 * 4
    assert n_parameters(TDNN(n_classes=4, head="cosine")) == 4_544_788 + 128 * 4
    assert n_parameters(TDNN(n_classes=4, in_channels=3)) == 4_544_788 + 129 * 4 + 2 * 327_680


@pytest.mark.parametrize("head", ["linear", "cosine"])
def test_tdnn_shapes_and_heads(head):
    net = TDNN(n_classes=3, in_channels=2, input_size=(16, 20), head=head, **TINY_TDNN).eval()
    x = torch.randn(4, 2, 16, 20)
    assert net.embed(x).shape == (4, 8)
    out = net(x)
    assert out.shape == (4, 3)
    if head == "cosine":
        assert isinstance(net.classifier, CosineHead) and out.abs().max() <= 1
    else:
        torch.testing.assert_close(out, net.classifier(net.embed(x)))


def test_tdnn_takes_any_length_from_its_receptive_field():
    net = TDNN(n_classes=2, input_size=(16, 32), **TINY_TDNN).eval()
    for n_frames in (15, 32, 100):
        assert net.embed(torch.randn(2, 1, 16, n_frames)).shape == (2, 8)
    with pytest.raises(ValueError, match=r"n_frames >= 15.*got \(2, 1, 16, 14\)"):
        net.embed(torch.randn(2, 1, 16, 14))
    with pytest.raises(ValueError, match=r"\(batch, 1, 16, n_frames\).*got \(2, 1, 20, 32\)"):
        net.embed(torch.randn(2, 1, 20, 32))


def test_tdnn_statistics_pooling_ignores_frame_order():
    # The frame layers are time-equivariant and the pooling takes mean and std over
    # time: with kernel-1 layers only, shuffling the frames changes nothing.
    net = TDNN(n_classes=2, input_size=(8, 4), layers=[(1, 1, 16), (1, 1, 32)], embedding_dim=4)
    net.eval()
    x = torch.randn(3, 1, 8, 10)
    torch.testing.assert_close(net.embed(x), net.embed(x[..., torch.randperm(10)]))
    assert net.receptive_field == 1 and net.segment[0].in_features == 64


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"n_classes": 1}, "n_classes"),
        ({"input_size": (16, 14)}, r"input_size\[1\] must be an integer >= 15"),
        ({"input_size": 16}, "input_size"),
        ({"width_mult": 0}, "width_mult"),
        ({"layers": [(3, 0, 8)]}, "layers"),
        ({"layers": []}, "layers"),
        ({"head": "arcface"}, "head"),
        ({"dropout": 1.0}, "dropout"),
    ],
)
def test_tdnn_invalid_parameters(params, match):
    kwargs = {"n_classes": 2, "input_size": (16, 20), **params}
    with pytest.raises(ValueError, match=match):
        TDNN(**kwargs)


def test_tdnn_accepts_rows_as_tuples():
    net = TDNN(n_classes=2, input_size=(8, 10), layers=[(3, 2, 16)])
    assert net.layers == (TDNNRow(3, 2, 16),) and net.receptive_field == 5


@pytest.mark.parametrize(
    ("head", "criterion"), [("linear", CrossEntropyLoss()), ("cosine", ArcFaceLoss(scale=16.0))]
)
def test_tdnn_a_few_steps_reduce_the_loss(head, criterion):
    net = TDNN(n_classes=3, input_size=(16, 20), head=head, **TINY_TDNN)
    x = torch.randn(12, 1, 16, 20)
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


# ----------------------------------------------------------------------------- triplet


def reference_triplet(embeddings, labels, margin, *, squared, normalize):
    """Batch-hard triplet loss by loops over anchors, positives and negatives."""
    x = F.normalize(embeddings, dim=1) if normalize else embeddings
    losses = []
    for a in range(len(x)):

        def dist(j, a=a):
            d = (x[a] - x[j]).square().sum()
            return d if squared else d.sqrt()

        positives = [dist(j) for j in range(len(x)) if j != a and labels[j] == labels[a]]
        negatives = [dist(j) for j in range(len(x)) if labels[j] != labels[a]]
        if positives and negatives:
            gap = max(positives) - min(negatives)
            losses.append(F.softplus(gap) if margin == "soft" else F.relu(gap + margin))
    return torch.stack(losses).mean()


def test_triplet_picks_the_hardest_positive_and_negative_by_hand():
    x = torch.tensor([[0.0], [1.0], [4.0], [6.0], [2.5], [10.0]])
    labels = torch.tensor([0, 0, 0, 1, 1, 1])
    # (hardest positive, hardest negative) distances per anchor, worked out by hand
    hardest = [(4, 2.5), (3, 1.5), (4, 1.5), (4, 2), (7.5, 1.5), (7.5, 6)]
    expected = np.mean([0.5 + p - n for p, n in hardest])
    assert expected == 3.0
    loss = BatchHardTripletLoss(margin=0.5, normalize=False)(x, labels)
    assert loss.item() == pytest.approx(expected)


@pytest.mark.parametrize(
    ("margin", "squared", "normalize"),
    list(itertools.product([0.3, "soft"], [False, True], [False, True])),
)
def test_triplet_matches_loop_reference(margin, squared, normalize):
    x = torch.randn(10, 5, dtype=torch.float64)
    labels = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 2, 3])  # class 3 has no positive
    loss = BatchHardTripletLoss(margin=margin, squared=squared, normalize=normalize)(x, labels)
    expected = reference_triplet(x, labels, margin, squared=squared, normalize=normalize)
    torch.testing.assert_close(loss, expected)


def test_triplet_is_zero_when_classes_are_separated_beyond_the_margin():
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    centres = torch.eye(3)[labels]  # normalised distance between classes: sqrt(2)
    near = centres + 0.01 * torch.randn(6, 3)
    triplet = BatchHardTripletLoss(margin=0.3)
    assert triplet(near, labels).item() == 0.0
    # the same points, but the positive gap now exceeds the negative one minus the margin
    assert BatchHardTripletLoss(margin=1.5)(near, labels).item() > 0
    assert triplet(torch.randn(6, 3), labels).item() > 0


def test_triplet_skips_anchors_without_positive_or_negative():
    x = torch.tensor([[0.0], [1.0], [5.0]], requires_grad=True)
    triplet = BatchHardTripletLoss(margin=1.0, normalize=False)
    # anchor 2 is alone in its class: only anchors 0 and 1 count (1 + 1 - 5 < 0, 1 + 1 - 4 < 0)
    assert triplet(x, torch.tensor([0, 0, 1])).item() == 0.0
    assert triplet(x, torch.tensor([0, 1, 1])).item() == pytest.approx((1 + 4 - 1) / 2)
    for labels in ([0, 1, 2], [0, 0, 0]):  # no anchor has both
        loss = triplet(x, torch.tensor(labels))
        loss.backward()
        assert loss.item() == 0.0 and torch.equal(x.grad, torch.zeros_like(x))


def test_triplet_gradients_are_finite_for_identical_embeddings():
    x = torch.ones(4, 3, requires_grad=True)
    loss = BatchHardTripletLoss()(x, torch.tensor([0, 0, 1, 1]))
    loss.backward()
    assert loss.item() == pytest.approx(0.3) and torch.isfinite(x.grad).all()


def test_triplet_computes_half_precision_in_float32():
    x = torch.randn(6, 4)
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    loss = BatchHardTripletLoss()(x.half(), labels)
    assert loss.dtype == torch.float32
    torch.testing.assert_close(loss, BatchHardTripletLoss()(x.half().float(), labels))


@pytest.mark.parametrize(
    ("params", "match"),
    [({"margin": -0.1}, "margin"), ({"margin": "hard"}, "margin"), ({"squared": 1}, "squared")],
)
def test_triplet_invalid_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        BatchHardTripletLoss(**params)


def test_triplet_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"got \(4,\) and \(4,\)"):
        BatchHardTripletLoss()(torch.randn(4), torch.zeros(4))
    with pytest.raises(ValueError, match=r"got \(4, 2\) and \(3,\)"):
        BatchHardTripletLoss()(torch.randn(4, 2), torch.zeros(3))


# ----------------------------------------------------------------------------- attributes


def test_attribute_heads_are_the_split_linear_layer_padded_with_minus_inf():
    heads = AttributeHeads(6, [3, 1, 2])
    embedding = torch.randn(4, 6)
    out = heads(embedding)
    assert out.shape == (4, 3, 3)
    flat = heads.linear(embedding)
    torch.testing.assert_close(out[:, 0], flat[:, :3])
    torch.testing.assert_close(out[:, 1, :1], flat[:, 3:4])
    torch.testing.assert_close(out[:, 2, :2], flat[:, 4:])
    assert torch.isneginf(out[:, 1, 1:]).all() and torch.isneginf(out[:, 2, 2]).all()
    assert heads.n_classes_per_head == (3, 1, 2)


@pytest.mark.parametrize("value", [[], [2, 0], 3, "12"])
def test_attribute_heads_invalid_classes(value):
    with pytest.raises(ValueError, match="n_classes_per_head"):
        AttributeHeads(4, value)


def test_attribute_loss_ignores_missing_labels():
    heads = AttributeHeads(5, [3, 2])
    embedding = torch.randn(4, 5, requires_grad=True)
    target = torch.tensor([[2, -1], [-1, 1], [0, -1], [-1, -1]])
    loss = AttributeLoss()(heads(embedding), target)
    out = heads(embedding)
    expected = (
        F.cross_entropy(out[[0, 2], 0, :3], torch.tensor([2, 0]), reduction="sum")
        + F.cross_entropy(out[[1], 1, :2], torch.tensor([1]), reduction="sum")
    ) / 3
    torch.testing.assert_close(loss, expected)
    loss.backward()
    # clip 3 has no label: no gradient reaches it; the -inf padding keeps gradients finite
    assert torch.equal(embedding.grad[3], torch.zeros(5))
    assert torch.isfinite(embedding.grad).all() and embedding.grad[:3].abs().sum() > 0
    # changing the logits of unlabelled (clip, head) pairs leaves the loss unchanged
    changed = out.detach().clone()
    changed[0, 1, :2] += 10.0
    changed[3] = torch.where(torch.isneginf(changed[3]), changed[3], changed[3] + 5.0)
    torch.testing.assert_close(AttributeLoss()(changed, target), expected.detach())


def test_attribute_loss_with_one_head_is_cross_entropy_ignoring_minus_one():
    logits = torch.randn(6, 4)
    target = torch.tensor([0, -1, 3, 2, -1, 1])
    torch.testing.assert_close(
        AttributeLoss()(logits, target), F.cross_entropy(logits, target, ignore_index=-1)
    )


def test_attribute_loss_without_labels_is_zero():
    logits = AttributeHeads(3, [2, 2])(torch.randn(2, 3))
    loss = AttributeLoss()(logits, torch.full((2, 2), -1))
    loss.backward()
    assert loss.item() == 0.0


@pytest.mark.parametrize(
    ("target", "match"),
    [
        ([[0, 2], [1, 0]], "label 2 of clip 0 is not a class of head 1"),
        ([[3, 0], [0, 0]], "label 3 of clip 0 is not a class of head 0"),
        ([[0, 0], [-2, 0]], "label -2 of clip 1"),
    ],
)
def test_attribute_loss_rejects_labels_outside_a_head(target, match):
    logits = AttributeHeads(3, [3, 2])(torch.randn(2, 3))
    with pytest.raises(ValueError, match=match):
        AttributeLoss()(logits, torch.tensor(target))


def test_attribute_loss_rejects_bad_shapes_and_float_targets():
    with pytest.raises(ValueError, match=r"got \(2, 2, 3\) and \(2, 3\)"):
        AttributeLoss()(torch.randn(2, 2, 3), torch.zeros(2, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="integer targets"):
        AttributeLoss()(torch.randn(2, 3), torch.zeros(2))


# ----------------------------------------------------------------------------- combined


def make_outputs(batch=6, n_classes=3):
    class_output = torch.randn(batch, n_classes)
    embedding = torch.randn(batch, 8)
    attribute_output = AttributeHeads(8, [3, 2])(embedding).detach()
    section = torch.arange(batch) % n_classes
    attributes = torch.tensor([[i % 3, -1] if i % 2 else [-1, i % 2] for i in range(batch)])
    return (class_output, embedding, attribute_output), torch.cat(
        [section[:, None], attributes], 1
    )


def test_combined_loss_is_the_weighted_sum():
    output, target = make_outputs()
    criterion = ClassificationTripletAttributeLoss(triplet_weight=0.7, attribute_weight=0.2)
    expected = (
        F.cross_entropy(output[0], target[:, 0])
        + 0.7 * BatchHardTripletLoss()(output[1], target[:, 0])
        + 0.2 * AttributeLoss()(output[2], target[:, 1:])
    )
    torch.testing.assert_close(criterion(output, target), expected)


def test_combined_loss_with_zero_weights_needs_only_the_class_output():
    output, target = make_outputs()
    criterion = ClassificationTripletAttributeLoss(triplet_weight=0, attribute_weight=0)
    expected = F.cross_entropy(output[0], target[:, 0])
    torch.testing.assert_close(criterion(output, target), expected)
    torch.testing.assert_close(criterion(output[0], target[:, 0]), expected)
    triplet_only = ClassificationTripletAttributeLoss(attribute_weight=0)
    torch.testing.assert_close(
        triplet_only(output[:2], target[:, 0]),
        expected + BatchHardTripletLoss()(output[1], target[:, 0]),
    )


def test_combined_loss_says_what_is_missing():
    output, target = make_outputs()
    with pytest.raises(ValueError, match=r"triplet_weight=1\.0 needs the embedding"):
        ClassificationTripletAttributeLoss()(output[0], target)
    with pytest.raises(ValueError, match=r"attribute_weight=1\.0 needs attribute_output.*\(6,\)"):
        ClassificationTripletAttributeLoss()(output, target[:, 0])
    with pytest.raises(ValueError, match="4 parts"):
        ClassificationTripletAttributeLoss()((*output, output[0]), target)
    with pytest.raises(ValueError, match=r"for 6 outputs, got \(5, 3\)"):
        ClassificationTripletAttributeLoss()(output, target[:5])
    with pytest.raises(ValueError, match="triplet_weight"):
        ClassificationTripletAttributeLoss(triplet_weight=-1)
    with pytest.raises(ValueError, match="attribute_weight"):
        ClassificationTripletAttributeLoss(attribute_weight=math.nan)


def test_combined_loss_uses_the_classifier_loss_and_its_logits():
    output, target = make_outputs()
    cosine = torch.tanh(output[0])
    arcface = ArcFaceLoss(scale=10.0)
    criterion = ClassificationTripletAttributeLoss(
        classifier_loss=arcface,
        triplet_loss=BatchHardTripletLoss(margin=0.5),
        attribute_weight=0,
    )
    expected = arcface(cosine, target[:, 0]) + BatchHardTripletLoss(margin=0.5)(
        output[1], target[:, 0]
    )
    torch.testing.assert_close(criterion((cosine, output[1]), target), expected)
    torch.testing.assert_close(criterion.logits((cosine, output[1])), 10.0 * cosine)
    torch.testing.assert_close(criterion.logits(cosine), 10.0 * cosine)
    plain = ClassificationTripletAttributeLoss(classifier_loss=nn.CrossEntropyLoss())
    assert plain.logits(output) is output[0]


class _MultiTaskTDNN(nn.Module):
    """A TDNN that returns (class output, embedding, attribute output)."""

    def __init__(self):
        super().__init__()
        self.net = TDNN(n_classes=2, input_size=(16, 16), **TINY_TDNN)
        self.heads = AttributeHeads(8, [3])

    def forward(self, x):
        embedding = self.net.embed(x)
        return self.net.classifier(embedding), embedding, self.heads(embedding)


def test_a_stacked_tgram_tdnn_trains_end_to_end_with_the_combined_loss():
    tgram = TgramNet(n_mels=16, n_blocks=1)
    model = _MultiTaskTDNN()
    wave = torch.randn(8, 16 * 512 - 1)  # 16 frames
    section = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    attribute = torch.tensor([0, 1, 2, -1, 0, 1, 2, -1])
    wave = wave + 0.5 * torch.sin(torch.arange(wave.shape[1]) * (0.1 + 0.3 * section[:, None]))
    target = torch.stack([section, attribute], dim=1)
    criterion = ClassificationTripletAttributeLoss()
    first_conv = tgram.extractor.weight.detach().clone()
    optimizer = torch.optim.Adam([*tgram.parameters(), *model.parameters()], lr=3e-3)
    losses = []
    for _ in range(10):
        optimizer.zero_grad()
        loss = criterion(model(tgram(wave)), target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    assert not torch.equal(tgram.extractor.weight, first_conv)
