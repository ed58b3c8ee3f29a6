"""Tests of the embedding networks MobileNetV3IDNet and MobileFaceNet."""

import math
import pickle

import pytest
import torch
from torch import nn

from sklasd.nn import (
    MOBILEFACENET_BLOCKS,
    MOBILENETV3_ID_BLOCKS,
    BneckRow,
    BottleneckRow,
    CosineHead,
    MobileFaceNet,
    MobileNetV3IDNet,
)
from sklasd.nn._layers import InvertedResidual, SqueezeExcite

NETWORKS = [MobileNetV3IDNet, MobileFaceNet]
TOTAL_STRIDE = {MobileNetV3IDNet: 32, MobileFaceNet: 16}
TINY = {"width_mult": 0.25, "depth_mult": 0.5, "embedding_dim": 8}


def n_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.fixture(autouse=True)
def _seeded():
    """Seed torch for each test without leaking the global RNG state."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        yield


# Wang et al., Applied Sciences 11(23):11128 (2021), Table 1, transcribed row by row:
# Operator, Exp Size, #out, SE, NL, s. Every bneck is "bneck3 x 3".
WANG2021_TABLE1_STEM = ("conv3x3", None, 32, False, "HS", 2)
WANG2021_TABLE1_BNECKS = (
    (3, 64, 32, False, "RE", 1),
    (3, 64, 32, False, "RE", 2),
    (3, 64, 32, False, "RE", 1),
    (3, 64, 32, True, "RE", 2),
    (3, 64, 32, True, "RE", 1),
    (3, 128, 64, True, "RE", 1),
    (3, 128, 64, False, "HS", 2),
    (3, 128, 64, False, "HS", 1),
    (3, 128, 64, False, "HS", 1),
    (3, 128, 64, False, "HS", 1),
    (3, 256, 128, True, "HS", 1),
    (3, 256, 128, True, "HS", 1),
    (3, 256, 128, True, "HS", 1),
    (3, 256, 128, True, "HS", 2),
    (3, 256, 128, True, "HS", 1),
)
# conv1x1 512 HS; GDConv (linear); conv1x1 128 (linear)
WANG2021_TABLE1_TAIL = (512, 128)


def test_tables_as_data():
    assert tuple(tuple(row) for row in MOBILENETV3_ID_BLOCKS) == WANG2021_TABLE1_BNECKS
    assert all(isinstance(row, BneckRow) for row in MOBILENETV3_ID_BLOCKS)
    # STgram-MFN's Mobilefacenet_bottleneck_setting (t, c, n, s)
    assert tuple(tuple(row) for row in MOBILEFACENET_BLOCKS) == (
        (2, 128, 2, 2),
        (4, 128, 2, 2),
        (4, 128, 2, 2),
    )
    assert all(isinstance(row, BottleneckRow) for row in MOBILEFACENET_BLOCKS)


def _depthwise(block: InvertedResidual) -> nn.Conv2d:
    return next(m for m in block.modules() if isinstance(m, nn.Conv2d) and m.groups > 1)


def test_mobilenetv3_body_follows_wang2021_table1():
    net = MobileNetV3IDNet(n_classes=3)
    stem, *bnecks, last = net.body
    _, _, stem_out, _, _, stem_stride = WANG2021_TABLE1_STEM
    assert stem[0].kernel_size == (3, 3)
    assert stem[0].out_channels == stem_out and stem[0].stride == (stem_stride, stem_stride)
    assert isinstance(stem[2], nn.Hardswish)
    assert len(bnecks) == len(WANG2021_TABLE1_BNECKS) == 15
    in_channels = stem_out
    for block, row in zip(bnecks, map(BneckRow._make, WANG2021_TABLE1_BNECKS), strict=True):
        depthwise = _depthwise(block)
        assert depthwise.kernel_size == (row.kernel_size, row.kernel_size)
        assert depthwise.stride == (row.stride, row.stride)
        assert depthwise.out_channels == row.expansion
        assert block.block[-1][0].out_channels == row.out_channels
        assert any(isinstance(m, SqueezeExcite) for m in block.modules()) == row.se
        activation = nn.ReLU if row.activation == "RE" else nn.Hardswish
        other = nn.Hardswish if row.activation == "RE" else nn.ReLU
        assert any(isinstance(m, activation) for m in block.modules())
        # the SE block's inner ReLU is functional, so no other module nonlinearity
        assert not any(isinstance(m, other) for m in block.modules())
        assert block.residual == (row.stride == 1 and in_channels == row.out_channels)
        in_channels = row.out_channels
    wide, embedding = WANG2021_TABLE1_TAIL
    assert last[0].kernel_size == (1, 1) and last[0].out_channels == wide
    assert isinstance(last[2], nn.Hardswish)
    assert net.gdconv[0].kernel_size == (4, 2) and net.gdconv[0].groups == wide
    assert len(net.gdconv) == 2  # linear
    assert net.embedding[0].out_channels == embedding and len(net.embedding) == 2  # linear
    assert MobileNetV3IDNet(n_classes=3, stem_channels=16).body[0][0].out_channels == 16


def test_mobilefacenet_body_follows_the_table():
    net = MobileFaceNet(n_classes=3)
    stem, stem_dw, *bottlenecks, last = net.body
    assert stem[0].out_channels == 64 and stem[0].stride == (2, 2)
    assert stem_dw[0].groups == 64 and isinstance(stem_dw[2], nn.PReLU)
    expected = [
        (row.expansion_factor, row.out_channels, row.stride if i == 0 else 1)
        for row in MOBILEFACENET_BLOCKS
        for i in range(row.repeats)
    ]
    assert len(bottlenecks) == len(expected) == 6
    in_channels = 64
    for block, (t, c, s) in zip(bottlenecks, expected, strict=True):
        depthwise = _depthwise(block)
        assert depthwise.out_channels == in_channels * t
        assert depthwise.stride == (s, s) and depthwise.kernel_size == (3, 3)
        assert block.residual == (s == 1 and in_channels == c)
        in_channels = c
    assert last[0].out_channels == 512 and isinstance(last[2], nn.PReLU)
    assert net.gdconv[0].kernel_size == (8, 4)


@pytest.mark.parametrize(
    ("cls", "n_params", "feature_size"),
    [(MobileNetV3IDNet, 757_348, (4, 2)), (MobileFaceNet, 804_740, (8, 4))],
)
def test_paper_configuration(cls, n_params, feature_size):
    # counts derived by hand per layer in the class docstrings (4 classes, linear head)
    net = cls(n_classes=4)
    assert n_parameters(net) == n_params
    assert n_parameters(net.classifier) == 129 * 4
    assert net.feature_size == feature_size
    # GDConv: one weight per channel and map position, plus batch norm
    assert n_parameters(net.gdconv) == 512 * math.prod(feature_size) + 2 * 512
    cosine = cls(n_classes=4, head="cosine")
    assert n_parameters(cosine) == n_params - 4
    net.eval()
    with torch.no_grad():
        out = net(torch.randn(2, 1, 128, 64))
    assert out.shape == (2, 4) and torch.isfinite(out).all()


@pytest.mark.parametrize("cls", NETWORKS)
@pytest.mark.parametrize("input_size", [(32, 16), (40, 33), (17, 5), (1, 1)])
def test_output_shapes_for_input_sizes(cls, input_size):
    net = cls(n_classes=3, in_channels=2, input_size=input_size, **TINY).eval()
    stride = TOTAL_STRIDE[cls]
    assert net.feature_size == tuple(math.ceil(n / stride) for n in input_size)
    x = torch.randn(2, 2, *input_size)
    with torch.no_grad():
        assert net.embed(x).shape == (2, 8)
        assert net(x).shape == (2, 3)


@pytest.mark.parametrize("cls", NETWORKS)
def test_inputs_of_another_size_are_rejected(cls):
    net = cls(n_classes=3, input_size=(32, 16), **TINY)
    with pytest.raises(ValueError, match=r"\(batch, 1, 32, 16\).*got \(2, 1, 32, 20\)"):
        net(torch.randn(2, 1, 32, 20))
    with pytest.raises(ValueError, match="expects input of shape"):
        net.embed(torch.randn(2, 32, 16))


@pytest.mark.parametrize("cls", NETWORKS)
def test_multipliers_shrink_parameter_counts(cls):
    full = n_parameters(cls(n_classes=4))
    narrow = n_parameters(cls(n_classes=4, width_mult=0.5))
    shallow = n_parameters(cls(n_classes=4, depth_mult=0.5))
    both = n_parameters(cls(n_classes=4, width_mult=0.5, depth_mult=0.5))
    assert both < narrow < full
    assert both < shallow < full


def test_depth_mult_keeps_every_downsampling():
    net = MobileNetV3IDNet(n_classes=2, depth_mult=0.5)
    # stages of 1, 2, 3, 7 and 2 rows keep 1, 1, 2, 4 and 1 rows
    kept = (0, 1, 3, 4, 6, 7, 8, 9, 13)
    assert net.blocks == tuple(MOBILENETV3_ID_BLOCKS[i] for i in kept)
    assert net.feature_size == (4, 2)
    net = MobileNetV3IDNet(n_classes=2, depth_mult=0.01)
    assert [row.stride for row in net.blocks] == [1, 2, 2, 2, 2]
    mfn = MobileFaceNet(n_classes=2, depth_mult=0.5)
    assert [row.repeats for row in mfn.blocks] == [1, 1, 1]
    assert mfn.feature_size == (8, 4)


def test_width_mult_rounds_channels_to_multiples_of_eight():
    net = MobileNetV3IDNet(n_classes=2, width_mult=0.5)
    channels = [m.out_channels for m in net.body.modules() if isinstance(m, nn.Conv2d)]
    assert all(c % 8 == 0 for c in channels)
    assert net.body[-1][0].out_channels == 256
    assert net.embedding[0].out_channels == 128  # the embedding is not scaled


@pytest.mark.parametrize("cls", NETWORKS)
def test_custom_blocks(cls):
    rows = (
        [(3, 24, 16, False, "HS", 2), (3, 48, 16, True, "RE", 1)]
        if cls is MobileNetV3IDNet
        else [(2, 16, 1, 2), (2, 16, 2, 1)]
    )
    net = cls(n_classes=2, input_size=(16, 16), blocks=rows, embedding_dim=4)
    assert [tuple(row) for row in net.blocks] == rows
    assert net.feature_size == (4, 4)
    bad = [(*rows[0][:-1], 3)]  # stride 3
    with pytest.raises(ValueError, match=r"blocks\[0\] has an invalid stride"):
        cls(n_classes=2, blocks=bad)
    with pytest.raises(ValueError, match=r"blocks\[0\] must have the"):
        cls(n_classes=2, blocks=[rows[0][:-1]])
    with pytest.raises(ValueError, match="non-empty sequence"):
        cls(n_classes=2, blocks=[])


@pytest.mark.parametrize("cls", NETWORKS)
@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"n_classes": 1}, "n_classes must be an integer >= 2"),
        ({"n_classes": 2.0}, "n_classes must be an integer"),
        ({"n_classes": 2, "in_channels": 0}, "in_channels"),
        ({"n_classes": 2, "embedding_dim": 0}, "embedding_dim"),
        ({"n_classes": 2, "input_size": 64}, "input_size must be a pair"),
        ({"n_classes": 2, "input_size": (128, 0)}, r"input_size\[1\]"),
        ({"n_classes": 2, "width_mult": 0}, "width_mult"),
        ({"n_classes": 2, "depth_mult": 1.5}, "depth_mult"),
        ({"n_classes": 2, "head": "arcface"}, "head must be 'linear' or 'cosine'"),
        ({"n_classes": 2, "dropout": 1.0}, "dropout"),
    ],
)
def test_invalid_parameters(cls, params, match):
    with pytest.raises(ValueError, match=match):
        cls(**params)


@pytest.mark.parametrize("cls", NETWORKS)
def test_cosine_head_outputs_cosines(cls):
    net = cls(n_classes=5, input_size=(32, 16), head="cosine", **TINY).eval()
    assert isinstance(net.classifier, CosineHead)
    x = 100 * torch.randn(4, 1, 32, 16)
    with torch.no_grad():
        cosine = net(x)
        embedding = net.embed(x)
    assert cosine.shape == (4, 5)
    assert cosine.abs().max() <= 1
    expected = nn.functional.cosine_similarity(
        embedding[:, None, :], net.classifier.weight[None, :, :], dim=2
    )
    torch.testing.assert_close(cosine, expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize("cls", NETWORKS)
@pytest.mark.parametrize("head", ["linear", "cosine"])
def test_embed_is_the_input_of_the_head(cls, head):
    net = cls(n_classes=3, input_size=(32, 16), head=head, dropout=0.3, **TINY).eval()
    seen = []
    net.classifier.register_forward_hook(lambda module, args, output: seen.append(args[0]))
    x = torch.randn(3, 1, 32, 16)
    with torch.no_grad():
        out = net(x)
        embedding = net.embed(x)
    torch.testing.assert_close(seen[0], embedding)
    torch.testing.assert_close(out, net.classifier(embedding))


@pytest.mark.parametrize("cls", NETWORKS)
def test_eval_mode_takes_a_batch_of_one(cls):
    net = cls(n_classes=3, input_size=(32, 16), **TINY)
    net.train()
    net(torch.randn(4, 1, 32, 16))  # update the running statistics once
    net.eval()
    with torch.no_grad():
        single = net(torch.randn(1, 1, 32, 16))
    assert single.shape == (1, 3) and torch.isfinite(single).all()


@pytest.mark.parametrize("cls", NETWORKS)
def test_same_seed_same_network_and_pickle_round_trip(cls):
    torch.manual_seed(7)
    first = cls(n_classes=3, input_size=(32, 16), **TINY).eval()
    torch.manual_seed(7)
    second = cls(n_classes=3, input_size=(32, 16), **TINY).eval()
    for a, b in zip(first.state_dict().values(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    x = torch.randn(2, 1, 32, 16)
    restored = pickle.loads(pickle.dumps(first))
    with torch.no_grad():
        torch.testing.assert_close(restored(x), first(x), rtol=0, atol=0)
