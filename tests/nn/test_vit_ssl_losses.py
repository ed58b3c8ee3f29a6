"""Tests of the ViT encoder, the MAE parts, RCMAENet and the self-supervised losses."""

import math

import pytest
import torch
import torch.nn.functional as F

from sklasd.nn import (
    InfoNCELoss,
    MAEDecoder,
    RCMAELoss,
    RCMAENet,
    SupConCELoss,
    SupConLoss,
    VarianceCovarianceLoss,
    ViTClassifier,
    ViTEncoder,
    masked_mse,
    patchify,
    random_masking,
    sincos_pos_embed,
)

TINY = {"input_size": (16, 16), "patch_size": 4, "embed_dim": 16, "depth": 1, "n_heads": 2}


@pytest.fixture(autouse=True)
def _seeded():
    with torch.random.fork_rng():
        torch.manual_seed(0)
        yield


# -- encoder and MAE parts -------------------------------------------------------------


def test_patchify_orders_patches_rows_first_as_the_patch_embedding():
    x = torch.arange(2 * 8 * 12, dtype=torch.float32).reshape(1, 2, 8, 12)
    patches = patchify(x, (4, 6))
    assert patches.shape == (1, 4, 2 * 4 * 6)
    # Patch 1 is the first row of patches, second column: bands 0-3, frames 6-11.
    torch.testing.assert_close(patches[0, 1], x[0, :, :4, 6:].reshape(-1))
    # The convolution of the encoder sees the same patches in the same order. In float64:
    # in float32 the convolution and the matrix product sum 48 products of inputs up to 191
    # in different orders, so they differ by up to ~1e-5 (seen: 2.26e-5) for random weights.
    encoder = ViTEncoder(in_channels=2, input_size=(8, 12), patch_size=(4, 6), embed_dim=8,
                         depth=1, n_heads=2).double()  # fmt: skip
    x, patches = x.double(), patches.double()
    weight = encoder.patch_embed.weight.reshape(8, -1)
    tokens = encoder.patch_embed(x).flatten(2).transpose(1, 2)
    torch.testing.assert_close(tokens[0], patches[0] @ weight.T + encoder.patch_embed.bias)


def test_random_masking_keeps_a_random_subset_and_restores_the_order():
    tokens = torch.arange(2 * 10, dtype=torch.float32).reshape(2, 10, 1).expand(-1, -1, 3)
    visible, mask, ids_restore = random_masking(tokens, 0.7)
    assert visible.shape == (2, 3, 3)
    assert mask.sum(dim=1).tolist() == [7.0, 7.0]
    for row in range(2):
        kept = set(visible[row, :, 0].tolist())
        assert kept == set(tokens[row, mask[row] == 0, 0].tolist())
    # Visible tokens followed by the masked ones, gathered with ids_restore, are the input.
    masked = torch.full((2, 7, 3), -1.0)
    restored = torch.cat([visible, masked], 1).gather(1, ids_restore[..., None].expand(-1, -1, 3))
    torch.testing.assert_close(restored[mask == 0], tokens[mask == 0])
    assert (restored[mask == 1] == -1).all()


def test_random_masking_follows_the_generator_and_rejects_bad_ratios():
    tokens = torch.randn(3, 12, 4)
    first = random_masking(tokens, 0.5, generator=torch.Generator().manual_seed(1))[1]
    second = random_masking(tokens, 0.5, generator=torch.Generator().manual_seed(1))[1]
    torch.testing.assert_close(first, second)
    for ratio in (1.0, -0.1, 1.5):
        with pytest.raises(ValueError, match="mask_ratio"):
            random_masking(tokens, ratio)


def test_sincos_positions_are_distinct_and_bounded():
    table = sincos_pos_embed((4, 8), 16)
    assert table.shape == (32, 16)
    assert table.abs().max() <= 1.0
    assert torch.cdist(table, table).add(torch.eye(32)).min() > 0
    with pytest.raises(ValueError, match="multiple of 4"):
        sincos_pos_embed((2, 2), 6)


@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_encoder_embeds_any_size_of_whole_patches(pooling):
    encoder = ViTEncoder(**TINY, pooling=pooling).eval()
    x = torch.randn(2, 1, 16, 16)
    assert encoder(x).shape == (2, 17, 16)
    assert encoder.embed(x).shape == (2, 16)
    # Longer inputs get interpolated positions; frames beyond the last patch are ignored.
    assert encoder.embed(torch.randn(2, 1, 16, 40)).shape == (2, 16)
    torch.testing.assert_close(encoder.embed(x), encoder.embed(F.pad(x, (0, 3))))
    expected = encoder(x)[:, 0] if pooling == "cls" else encoder(x)[:, 1:].mean(1)
    torch.testing.assert_close(encoder.embed(x), expected)


def test_encoder_positional_embeddings_make_patch_order_matter():
    encoder = ViTEncoder(**TINY, pooling="mean").eval()
    x = torch.randn(1, 1, 16, 16)
    swapped = torch.cat([x[..., 8:], x[..., :8]], dim=-1)
    assert not torch.allclose(encoder.embed(x), encoder.embed(swapped))


def test_input_norm_standardises_dB_spectrograms_for_the_encoder_and_the_mae_targets():
    encoder = ViTEncoder(**TINY)  # training mode: batch statistics
    x = torch.randn(4, 1, 16, 16)
    torch.testing.assert_close(encoder.embed(x), encoder.embed(10 * x - 60), atol=1e-4, rtol=0)
    plain = ViTEncoder(**TINY, input_norm=False)
    assert not torch.allclose(plain.embed(x), plain.embed(10 * x - 60))
    net = RCMAENet(**TINY, decoder_dim=8, decoder_depth=1, decoder_heads=2, projection_dim=8)
    target = net(10 * x - 60)[1]
    assert abs(target.mean().item()) < 1e-5 and abs(target.std().item() - 1) < 0.01


def test_encoder_validates_its_configuration_and_input():
    with pytest.raises(ValueError, match="smaller than one patch"):
        ViTEncoder(input_size=(8, 8), patch_size=16)
    with pytest.raises(ValueError, match="multiple of 4 and of n_heads"):
        ViTEncoder(embed_dim=18, n_heads=4)
    with pytest.raises(ValueError, match="pooling"):
        ViTEncoder(**TINY, pooling="max")
    with pytest.raises(ValueError, match="at least one patch"):
        ViTEncoder(**TINY)(torch.zeros(1, 1, 2, 16))
    assert ViTEncoder(**TINY).config["patch_size"] == (4, 4)
    assert ViTEncoder(**{**ViTEncoder(**TINY).config}).grid == (4, 4)


def test_decoder_predicts_every_patch_and_the_mask_token_fills_the_gaps():
    encoder = ViTEncoder(**TINY)
    decoder = MAEDecoder(16, encoder.patch_dim, decoder_dim=8, depth=1, n_heads=2)
    x = torch.randn(3, 1, 16, 16)
    visible, _, ids_restore = random_masking(encoder.patch_tokens(x), 0.5)
    predicted = decoder(encoder.encode(visible), ids_restore, encoder.grid_of(x))
    assert predicted.shape == patchify(x, encoder.patch_size).shape
    predicted.sum().backward()
    assert decoder.mask_token.grad.abs().sum() > 0


def test_rcmae_net_learns_to_reconstruct_masked_patches():
    net = RCMAENet(**TINY, decoder_dim=32, decoder_depth=1, decoder_heads=2, projection_dim=8)
    criterion = RCMAELoss(contrastive_weight=0.0, vcr_weight=0.0, mae_weight=1.0)
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    template = torch.randn(1, 1, 16, 16)
    x = template + 0.05 * torch.randn(8, 1, 16, 16)  # every masked patch is predictable
    losses = []
    for _ in range(40):
        optimizer.zero_grad()
        loss = criterion(net(x))
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_rcmae_net_output_and_views():
    net = RCMAENet(**TINY, mask_ratio=0.5, decoder_dim=8, decoder_depth=1, decoder_heads=2,
                   projection_dim=8).eval()  # fmt: skip
    x = torch.randn(2, 1, 16, 16)
    predicted, target, mask, z, z_view = net((x, x.flip(-1)))
    assert predicted.shape == target.shape == (2, 16, 16)
    assert mask.sum(1).tolist() == [8.0, 8.0]
    assert not torch.allclose(z, z_view)
    # a single tensor is its own view; both branches see masked input
    unmasked = RCMAENet(**TINY, mask_ratio=0.0, decoder_dim=8, decoder_depth=1,
                        decoder_heads=2, projection_dim=8).eval()  # fmt: skip
    torch.testing.assert_close(unmasked(x)[3], unmasked(x)[4])
    torch.testing.assert_close(unmasked(x)[3], unmasked.projector(unmasked.embed(x)))
    _, _, mask, z, _ = net((x, x))
    tokens = net.encoder.patch_tokens(x)
    # the patches the masking kept, in patch order
    visible = torch.stack([tokens[i][mask[i] == 0] for i in range(len(x))])
    encoded = net.encoder.encode(visible)
    # the class token pooling does not depend on the order of the visible patches
    torch.testing.assert_close(z, net.projector(net.encoder.pool(encoded)), atol=1e-5, rtol=1e-4)
    with pytest.raises(ValueError, match="mask_ratio"):
        RCMAENet(**TINY, mask_ratio=1.0)


def test_vit_classifier_gives_logits_and_unit_projections():
    net = ViTClassifier(n_classes=3, **TINY, projection_dim=8)
    logits, projection = net(torch.randn(4, 1, 16, 16))
    assert logits.shape == (4, 3)
    torch.testing.assert_close(projection.norm(dim=1), torch.ones(4))
    assert net.embed(torch.randn(4, 1, 16, 16)).shape == (4, 16)


# -- losses ----------------------------------------------------------------------------


def test_info_nce_matches_its_definition():
    z1, z2 = torch.randn(4, 6), torch.randn(4, 6)
    temperature = 0.5
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    expected = 0.0
    for i in range(8):
        positive = (i + 4) % 8
        logits = torch.tensor([z[i] @ z[j] / temperature for j in range(8) if j != i])
        others = [j for j in range(8) if j != i]
        expected += -F.log_softmax(logits, 0)[others.index(positive)] / 8
    torch.testing.assert_close(InfoNCELoss(temperature=temperature)(z1, z2), expected)


def test_info_nce_rewards_matching_views_and_validates():
    z = torch.randn(6, 8)
    loss = InfoNCELoss()
    assert loss(z, z + 0.01 * torch.randn(6, 8)) < loss(z, torch.randn(6, 8))
    with pytest.raises(ValueError, match="equal shape"):
        loss(z, z[:3])
    with pytest.raises(ValueError, match="temperature"):
        InfoNCELoss(temperature=0.0)


def test_vcr_terms():
    rng = torch.Generator().manual_seed(0)
    wide = torch.randn(256, 4, generator=rng) * 1.2
    vcr = VarianceCovarianceLoss()
    assert vcr(wide) < 0.1  # spread and nearly uncorrelated
    narrow = wide / 12  # std 0.1: hinge 0.9 per dimension
    variance_only = VarianceCovarianceLoss(variance_weight=1.0, covariance_weight=0.0)
    assert abs(variance_only(narrow).item() - 0.9) < 0.02
    correlated = torch.cat([wide[:, :1]] * 4, dim=1)
    covariance_only = VarianceCovarianceLoss(variance_weight=0.0, covariance_weight=1.0)
    var = correlated[:, 0].var()
    expected = 12 * var**2 / 4  # 12 off-diagonal entries equal to the variance, over d=4
    torch.testing.assert_close(covariance_only(correlated), expected, rtol=1e-4, atol=1e-4)
    # Eq. (7): L_VCR = (v(Z) + c(Z)) / 2
    z = torch.randn(16, 4, generator=rng)
    torch.testing.assert_close(vcr(z), (variance_only(z) + covariance_only(z)) / 2)
    with pytest.raises(ValueError, match="batch >= 2"):
        vcr(torch.randn(1, 4))


def test_masked_mse_ignores_visible_patches_and_normalises_targets():
    target = torch.randn(2, 5, 6)
    predicted = target.clone()
    predicted[:, 0] += 2.0
    mask = torch.zeros(2, 5)
    assert masked_mse(predicted, target, mask) == 0  # the wrong patch is visible
    mask[:, 0] = 1
    torch.testing.assert_close(masked_mse(predicted, target, mask), torch.tensor(4.0))
    normalized = (target - target.mean(-1, keepdim=True)) / (
        target.var(-1, keepdim=True) + 1e-6
    ).sqrt()
    assert masked_mse(normalized, target, torch.ones(2, 5), normalize_target=True) < 1e-10
    with pytest.raises(ValueError, match="equal shape"):
        masked_mse(predicted, target[:, :4], mask)


def test_rcmae_loss_is_the_weighted_sum():
    predicted, patches = torch.randn(4, 6, 5), torch.randn(4, 6, 5)
    mask, z, z_view = (torch.rand(4, 6) > 0.5).float(), torch.randn(4, 8), torch.randn(4, 8)
    loss = RCMAELoss(contrastive_weight=0.2, vcr_weight=0.5, mae_weight=0.3, temperature=0.1)
    expected = (
        0.2 * InfoNCELoss(temperature=0.1)(z, z_view)
        + 0.5 * (VarianceCovarianceLoss()(z) + VarianceCovarianceLoss()(z_view)) / 2
        + 0.3 * masked_mse(predicted, patches, mask)
    )
    torch.testing.assert_close(loss((predicted, patches, mask, z, z_view)), expected)
    default = RCMAELoss()
    assert (default.contrastive_weight, default.vcr_weight, default.mae_weight) == (0.3, 0.3, 0.4)
    assert default.contrastive.temperature == 0.05
    with pytest.raises(ValueError, match="RCMAENet"):
        default(predicted)
    with pytest.raises(ValueError, match="vcr_weight"):
        RCMAELoss(vcr_weight=-1.0)


def test_supcon_matches_its_definition_and_skips_anchors_without_positives():
    z, labels = torch.randn(5, 4), torch.tensor([0, 0, 1, 1, 2])
    temperature = 0.5
    zn = F.normalize(z, dim=1)
    losses = []
    for i in range(4):  # anchor 4 has no positive
        others = [j for j in range(5) if j != i]
        log_prob = F.log_softmax(torch.stack([zn[i] @ zn[j] for j in others]) / temperature, 0)
        positives = [k for k, j in enumerate(others) if labels[j] == labels[i]]
        losses.append(-log_prob[positives].mean())
    expected = torch.stack(losses).mean()
    torch.testing.assert_close(SupConLoss(temperature=temperature)(z, labels), expected)
    lonely = SupConLoss()(z[:3].requires_grad_(), torch.tensor([0, 1, 2]))
    assert lonely.item() == 0.0
    lonely.backward()


def test_supcon_ce_loss_weights_and_logits():
    logits, projection = torch.randn(6, 3), F.normalize(torch.randn(6, 4), dim=1)
    target = torch.tensor([0, 0, 1, 1, 2, 2])
    loss = SupConCELoss(supcon_weight=0.25, ce_weight=2.0, temperature=0.2)
    expected = 2.0 * F.cross_entropy(logits, target) + 0.25 * SupConLoss(temperature=0.2)(
        projection, target
    )
    torch.testing.assert_close(loss((logits, projection), target), expected)
    assert loss.logits((logits, projection)) is logits
    assert loss.logits(logits) is logits
    assert math.isclose(
        SupConCELoss(supcon_weight=0.0)((logits, projection), target).item(),
        F.cross_entropy(logits, target).item(),
        rel_tol=1e-6,
    )
