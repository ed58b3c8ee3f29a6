"""MobileNetV2, ShallowViT, the multi-label loss and loading pretrained weights."""

import pytest
import torch

from sklasd.nn import (
    MOBILENETV2_BLOCKS,
    MobileNetV2,
    MultiLabelBCELoss,
    ShallowViT,
    load_pretrained_weights,
)

TINY_V2 = {"input_size": (32, 16), "width_mult": 0.25, "depth_mult": 0.25}


# Zeng, Liu and Zhou, DCASE 2023 Task 2 technical report, Table 1, transcribed:
# Operator, t, c, n, s (the first layer of each sequence has stride s).
ZENG2023_TABLE1_STEM = (None, 32, 1, 2)  # Conv2d 3x3
ZENG2023_TABLE1_ROWS = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 2),
    (6, 160, 3, 1),
    (6, 320, 1, 1),
)
ZENG2023_EMBEDDING = 128  # "the output channel of the Conv2d 1x1 layer is set to 128"


def test_mobilenetv2_builds_zeng2023_table1():
    assert tuple(tuple(row) for row in MOBILENETV2_BLOCKS) == ZENG2023_TABLE1_ROWS
    net = MobileNetV2(n_classes=5, input_size=(64, 301), last_channels=ZENG2023_EMBEDDING)
    stem, *blocks, last = net.body
    assert stem[0].kernel_size == (3, 3)
    assert (stem[0].out_channels, stem[0].stride[0]) == ZENG2023_TABLE1_STEM[1::2]
    expected = [
        (t, c, s if index == 0 else 1) for t, c, n, s in ZENG2023_TABLE1_ROWS for index in range(n)
    ]
    assert len(blocks) == len(expected) == 17
    in_channels = stem[0].out_channels
    for block, (t, c, s) in zip(blocks, expected, strict=True):
        depthwise = next(
            m for m in block.modules() if isinstance(m, torch.nn.Conv2d) and m.groups > 1
        )
        assert depthwise.out_channels == in_channels * t and depthwise.kernel_size == (3, 3)
        assert depthwise.stride == (s, s)
        assert block.block[-1][0].out_channels == c
        in_channels = c
    assert last[0].kernel_size == (1, 1) and last[0].out_channels == ZENG2023_EMBEDDING
    assert net.embed(torch.randn(2, 1, 64, 301)).shape == (2, ZENG2023_EMBEDDING)


def test_mobilenetv2_follows_the_table_with_a_128_d_embedding():
    net = MobileNetV2(n_classes=5, input_size=(128, 94)).eval()
    assert net.blocks == MOBILENETV2_BLOCKS
    assert sum(row.repeats for row in net.blocks) == 17
    assert net.feature_size == (4, 3)  # total stride 32
    assert net.gdconv[0].in_channels == 1280
    x = torch.randn(2, 1, 128, 94)
    assert net.embed(x).shape == (2, 128) and net(x).shape == (2, 5)
    strides = [m.stride[0] for m in net.body.modules() if isinstance(m, torch.nn.Conv2d)]
    assert strides.count(2) == 5


def test_mobilenetv2_rejects_bad_tables_and_input_sizes():
    with pytest.raises(ValueError, match="stride"):
        MobileNetV2(n_classes=2, blocks=[(1, 16, 1, 3)])
    net = MobileNetV2(n_classes=2, **TINY_V2).eval()
    with pytest.raises(ValueError, match="expects input of shape"):
        net.embed(torch.zeros(1, 1, 32, 20))


def test_shallow_vit_is_one_layer_of_8_heads_over_128_d_patches():
    net = ShallowViT(n_classes=3, input_size=(32, 48))
    assert len(net.encoder.blocks.layers) == 1
    layer = net.encoder.blocks.layers[0]
    assert layer.self_attn.num_heads == 8 and layer.linear1.out_features == 4 * 128
    assert net.encoder.patch_size == (16, 16)
    x = torch.randn(4, 1, 32, 48)
    assert net.embed(x).shape == (4, 128) and net(x).shape == (4, 3)
    cosine = ShallowViT(n_classes=3, input_size=(32, 48), head="cosine")(x)
    assert cosine.abs().max() <= 1
    with pytest.raises(ValueError, match="head"):
        ShallowViT(n_classes=3, head="mlp")


@pytest.mark.parametrize(
    ("network", "params"),
    [(MobileNetV2, TINY_V2), (ShallowViT, {"input_size": (32, 32), "embedding_dim": 16})],
)
def test_a_checkpoint_with_another_head_loads_all_but_the_head(network, params, tmp_path):
    torch.manual_seed(0)
    source = network(n_classes=527, **params)
    path = tmp_path / "audioset.pth"
    torch.save({"model": source.state_dict(), "iteration": 10}, path)  # PANNs layout
    torch.manual_seed(1)
    net = network(n_classes=3, pretrained_weights=path, **params)
    for name, tensor in net.state_dict().items():
        if name.startswith("classifier."):
            assert tensor.shape[0] == 3
        else:
            assert torch.equal(tensor, source.state_dict()[name]), name


def test_partial_checkpoints_warn_and_foreign_ones_are_an_error(tmp_path):
    source = MobileNetV2(n_classes=2, **TINY_V2)
    state = {f"module.{k}": v for k, v in source.state_dict().items()}  # DataParallel
    state["module.extra.weight"] = torch.zeros(1)
    del state["module.embedding.0.weight"]
    net = MobileNetV2(n_classes=4, **TINY_V2)
    with pytest.warns(UserWarning, match=r"1 missing \(embedding.0.weight\).*1 unexpected"):
        report = load_pretrained_weights(net, state)
    assert report["missing"] == ["embedding.0.weight"]
    assert report["unexpected"] == ["extra.weight"]
    wider = MobileNetV2(n_classes=2, **{**TINY_V2, "width_mult": 0.5})
    with pytest.raises(ValueError, match="No tensor of the checkpoint matches"):
        load_pretrained_weights(net, {"stem.weight": torch.zeros(3)})
    with pytest.warns(UserWarning, match="mismatched"):
        load_pretrained_weights(wider, source.state_dict())
    with pytest.raises(FileNotFoundError, match=r"nowhere\.pth"):
        MobileNetV2(n_classes=2, pretrained_weights=tmp_path / "nowhere.pth", **TINY_V2)


def test_multilabel_bce_matches_torch_on_multi_hot_targets():
    output = torch.randn(3, 4)
    target = torch.tensor([[0, 2], [1, -1], [3, 0]])
    multi_hot = torch.tensor([[1, 0, 1, 0], [0, 1, 0, 0], [1, 0, 0, 1]], dtype=torch.float32)
    expected = torch.nn.functional.binary_cross_entropy_with_logits(output, multi_hot)
    assert torch.isclose(MultiLabelBCELoss()(output, target), expected)
    single = MultiLabelBCELoss()(output, torch.tensor([0, 1, 3]))
    assert torch.isclose(
        single,
        torch.nn.functional.binary_cross_entropy_with_logits(output, torch.eye(4)[[0, 1, 3]]),
    )
    with pytest.raises(ValueError, match="outside"):
        MultiLabelBCELoss()(output, torch.tensor([0, 1, 4]))
