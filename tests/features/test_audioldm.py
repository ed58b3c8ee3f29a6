"""Tests of AudioLDMAugmenter on a tiny random AudioLDM pipeline."""

import json

import numpy as np
import pytest

from sklasd.features import FACTORY_NOISE_PROMPTS, AudioLDMAugmenter


def rng(seed=0):
    return np.random.default_rng(seed)


@pytest.fixture(scope="module")
def tiny_audioldm(tmp_path_factory):
    """A randomly initialised AudioLDM pipeline of a few thousand weights (no download)."""
    diffusers = pytest.importorskip("diffusers")
    transformers = pytest.importorskip("transformers")
    import torch

    with torch.random.fork_rng():
        torch.manual_seed(0)
        unet = diffusers.UNet2DConditionModel(
            block_out_channels=(8, 16), layers_per_block=1, norm_num_groups=4, sample_size=8,
            in_channels=4, out_channels=4, attention_head_dim=2,
            down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
            up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=(8, 16),
            class_embed_type="simple_projection", projection_class_embeddings_input_dim=8,
            class_embeddings_concat=True,
        )  # fmt: skip
        vae = diffusers.AutoencoderKL(
            block_out_channels=[8, 16], in_channels=1, out_channels=1, norm_num_groups=4,
            down_block_types=["DownEncoderBlock2D"] * 2, up_block_types=["UpDecoderBlock2D"] * 2,
            latent_channels=4,
        )  # fmt: skip
        text_encoder = transformers.ClapTextModelWithProjection(
            transformers.ClapTextConfig(
                bos_token_id=0, eos_token_id=2, pad_token_id=1, hidden_size=8,
                intermediate_size=16, num_attention_heads=2, num_hidden_layers=1,
                vocab_size=20, projection_dim=8,
            )
        )  # fmt: skip
        vocoder = transformers.SpeechT5HifiGan(
            transformers.SpeechT5HifiGanConfig(
                model_in_dim=8, sampling_rate=16000, upsample_initial_channel=8,
                upsample_rates=[4, 4], upsample_kernel_sizes=[8, 8], resblock_kernel_sizes=[3],
                resblock_dilation_sizes=[[1, 3]], normalize_before=False,
            )
        )  # fmt: skip
    folder = tmp_path_factory.mktemp("tokenizer")
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "<mask>": 4}
    vocab.update({letter: 5 + i for i, letter in enumerate("abcdefghijklmno")})
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = transformers.RobertaTokenizer(
        str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=16
    )
    scheduler = diffusers.DDIMScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
        set_alpha_to_one=False,
    )  # fmt: skip
    pipeline = diffusers.AudioLDMPipeline(
        vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
        scheduler=scheduler, vocoder=vocoder,
    )  # fmt: skip
    for module in (vae, text_encoder, unet, vocoder):
        module.eval()  # as from_pretrained leaves them: no dropout
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


@pytest.mark.slow
def test_audioldm_variations_start_from_the_clip_and_are_seeded(tiny_audioldm, monkeypatch):
    x = np.sin(np.arange(4000) / 5.0)
    augmenter = AudioLDMAugmenter(
        pipeline=tiny_audioldm, prompts=["a fan", "a loose fan"], num_inference_steps=4,
        strength=0.5, guidance_scale=2.0,
    )  # fmt: skip
    # Record what the UNet sees: the steps after t0, with guidance (a doubled batch).
    calls = []
    forward = tiny_audioldm.unet.forward
    monkeypatch.setattr(
        tiny_audioldm.unet,
        "forward",
        lambda sample, t, **kw: (
            calls.append((int(t), sample.shape[0])) or forward(sample, t, **kw)
        ),
    )
    variations = augmenter.variations(x, rng(0))
    assert variations.shape == (2, 4000) and np.isfinite(variations).all()
    tiny_audioldm.scheduler.set_timesteps(4)
    assert [t for t, _ in calls] == tiny_audioldm.scheduler.timesteps[2:].tolist()
    assert {batch for _, batch in calls} == {4}  # 2 prompts x (conditional, unconditional)
    np.testing.assert_array_equal(augmenter.variations(x, rng(0)), variations)
    assert not np.array_equal(augmenter.variations(x, rng(1)), variations)
    # The latents start from the clip: the VAE encodes its mel spectrogram.
    seen = []
    encode = tiny_audioldm.vae.encode
    monkeypatch.setattr(tiny_audioldm.vae, "encode", lambda mel: seen.append(mel) or encode(mel))
    one = augmenter(x, rng(2))
    assert one.shape == (4000,)
    mel = seen[0][0, 0].numpy()
    assert mel.shape[1] == 8 and mel.shape[0] % 2 == 0  # vocoder bands; padded frames
    quiet = augmenter._mel(np.zeros(4000) + 1e-9, tiny_audioldm)[0, 0].numpy()
    assert mel.max() > quiet.max() + 5  # the sine's energy, in natural-log units


def test_audioldm_draws_the_ddim_steps_of_each_variation_from_a_range():
    augmenter = AudioLDMAugmenter(pipeline="/no/such/audioldm", num_inference_steps=(10, 50))
    draws = [augmenter._n_inference_steps(rng(seed)) for seed in range(200)]
    assert min(draws) == 10 and max(draws) == 50  # the paper's Table 2: random in (10, 50)
    assert AudioLDMAugmenter(pipeline="x", num_inference_steps=7)._n_inference_steps(rng(0)) == 7
    for bad in [(50, 10), (0, 5), (1.5, 3), (1, 2, 3)]:
        with pytest.raises(ValueError, match="range \\(low, high\\)"):
            AudioLDMAugmenter(pipeline="x", num_inference_steps=bad)._n_inference_steps(rng(0))
    assert len(FACTORY_NOISE_PROMPTS) == 6
    assert all(prompt.startswith("add ") for prompt in FACTORY_NOISE_PROMPTS)


def test_audioldm_reports_a_missing_model_or_package(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "diffusers", None)  # as if not installed
    from sklasd.features import _audioldm

    _audioldm._load_audioldm.cache_clear()
    augmenter = AudioLDMAugmenter(pipeline="/no/such/audioldm")
    with pytest.raises(ImportError, match=r"sklasd\[diffusion\]"):
        augmenter(np.zeros(2048), rng())
    with pytest.raises(ValueError, match="prompts is empty"):
        AudioLDMAugmenter(pipeline="x", prompts=[])(np.zeros(2048), rng())
