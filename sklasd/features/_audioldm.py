"""AudioLDMAugmenter: diffusion-based variations of clips (Zahedi et al., Algorithms 2023).

An :class:`~sklasd.features.Augmenter` on an AudioLDM pipeline of ``diffusers``
(optional extra ``sklasd[diffusion]``), with the paper's factory-noise prompts.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from sklearn.utils._param_validation import Interval

from sklasd.features._augment import Augmenter
from sklasd.utils import check_device

__all__ = ["FACTORY_NOISE_PROMPTS", "AudioLDMAugmenter"]

#: The text prompts of Zahedi et al. (Algorithms 2023, Table 1: "Samples of retrieved
#: prompts from ChatGPT", different factory noises), for :class:`AudioLDMAugmenter`.
FACTORY_NOISE_PROMPTS: tuple[str, ...] = (
    "add sharp and metallic screeching sound created by metal-cutting saws in a fabrication "
    "workshop as they cut through various metal materials",
    "add rhythmic and pulsating buzzing sound produced by printing presses in a publishing "
    "house as they rapidly print and collate pages of books and magazines",
    "add continuous and powerful rumbling noise accompanied by the grinding and crushing of "
    "rocks in a mining quarry as large crushers pulverize rocks into smaller fragments",
    "add continuous and rhythmic clicking noise produced by injection molding machines in a "
    "plastic manufacturing facility as they shape molten plastic into various products",
    "add rhythmic and repetitive whirring noise accompanied by the sound of cutting tools in a "
    "woodworking shop as they shape and carve wood materials",
    "add continuous and powerful whirring noise accompanied by the sound of pneumatic tools in "
    "an automobile assembly line as vehicle parts are fastened",
)


class AudioLDMAugmenter(Augmenter):
    """Variations of a clip from a text-conditioned latent diffusion model (AudioLDM).

    The diffusion-based augmentation of Zahedi et al. (Algorithms 2023), as
    image-to-image diffusion on the mel spectrogram: the clip (resampled to the
    vocoder's rate) becomes AudioLDM's log-mel spectrogram (magnitude STFT of
    ``n_fft`` samples at the vocoder's hop, the vocoder's number of Slaney mel
    bands between ``fmin`` and ``fmax``, ``log(max(mel, 1e-5))``), the VAE
    encodes it to latents, the scheduler adds the noise of the diffusion step
    at fraction ``strength`` of the schedule (t0), and the UNet denoises from
    there, guided by a text prompt (classifier-free guidance with
    ``guidance_scale``); the VAE decodes the latents and the vocoder turns them
    into a waveform, resampled to ``sr`` and cut to the clip's length.
    ``strength`` near 0 keeps the clip, near 1 generates from the prompt alone.

    ``augmenter(x, rng)`` makes one variation with a prompt drawn from
    ``prompts``; :meth:`variations` makes one per prompt ("one text prompt per
    variation").

    **Requirements.** ``pip install sklasd[diffusion]`` (``diffusers`` and
    ``transformers``) and the weights of an AudioLDM pipeline, e.g. a local copy
    of ``cvssp/audioldm-s-full-v2``. It runs the UNet ``strength *
    num_inference_steps`` times (twice with guidance) per variation: use a GPU
    (``device="cuda"``). sklasd's tests run it on a tiny randomly initialised
    AudioLDM pipeline assembled from ``diffusers`` and ``transformers`` classes
    (no weights exist offline), which checks the mechanics, not the sound.

    Parameters
    ----------
    pipeline : str, path-like or diffusers.AudioLDMPipeline
        The pipeline, or where :meth:`diffusers.AudioLDMPipeline.from_pretrained`
        loads it from (loaded once per process, on first use). Prefer the path
        where the augmenter is a parameter of an estimator: scikit-learn's
        ``clone`` deep-copies a pipeline object, weights included.
    prompts : sequence of str, default=("the sound of a machine",)
        Text prompts, one per variation; :data:`FACTORY_NOISE_PROMPTS` are
        the paper's (its Table 1).
    strength : float, default=0.3
        Diffusion step t0 the clip starts from, as a fraction in (0, 1] of the
        ``num_inference_steps`` steps (the img2img "strength").
    num_inference_steps : int or tuple of (int, int), default=50
        Steps of the full (DDIM) schedule, or a range ``(low, high)`` from
        which each variation draws its number uniformly (both included; the
        paper's Table 2: random in (10, 50)).
    guidance_scale : float, default=2.5
        Classifier-free guidance weight; <= 1 disables guidance (the paper's
        Table 2: 2.5).
    negative_prompt : str or None, default=None
        Prompt to steer away from (with guidance).
    sr : int, default=16000
        Sampling rate of the clips.
    n_fft : int, default=1024
        STFT size of AudioLDM's mel spectrogram.
    fmin, fmax : float, default=0.0, 8000.0
        Band of the mel filterbank (AudioLDM's).
    device : str or None, default=None
        Torch device to run the pipeline on; None leaves it where it is.

    See Also
    --------
    NoiseMix : A cheap waveform augmentation.

    Examples
    --------
    Configuration only (the pipeline loads on first use; sklasd's tests run a
    tiny random pipeline):

    >>> from sklasd.features import AudioLDMAugmenter
    >>> augmenter = AudioLDMAugmenter(pipeline="/no/such/audioldm",
    ...                               prompts=["a fan with a loose blade"], strength=0.5)
    >>> augmenter.get_params()["strength"]
    0.5
    """

    _parameter_constraints: ClassVar[dict] = {
        "pipeline": "no_validation",
        "prompts": [list, tuple],
        "strength": [Interval(Real, 0, 1, closed="right")],
        "num_inference_steps": [Interval(Integral, 1, None, closed="left"), tuple],
        "guidance_scale": [Real],
        "negative_prompt": [str, None],
        "sr": [Interval(Integral, 1, None, closed="left")],
        "n_fft": [Interval(Integral, 2, None, closed="left")],
        "fmin": [Interval(Real, 0, None, closed="left")],
        "fmax": [Interval(Real, 0, None, closed="neither")],
        "device": [str, None],
    }

    def __init__(
        self,
        *,
        pipeline: Any,
        prompts: Sequence[str] = ("the sound of a machine",),
        strength: float = 0.3,
        num_inference_steps: int | tuple[int, int] = 50,
        guidance_scale: float = 2.5,
        negative_prompt: str | None = None,
        sr: int = 16000,
        n_fft: int = 1024,
        fmin: float = 0.0,
        fmax: float = 8000.0,
        device: str | None = None,
    ):
        self.pipeline = pipeline
        self.prompts = prompts
        self.strength = strength
        self.num_inference_steps = num_inference_steps
        self.guidance_scale = guidance_scale
        self.negative_prompt = negative_prompt
        self.sr = sr
        self.n_fft = n_fft
        self.fmin = fmin
        self.fmax = fmax
        self.device = device

    def _pipeline(self):
        pipeline = self.pipeline
        if isinstance(pipeline, str | os.PathLike):
            pipeline = _load_audioldm(os.fspath(pipeline))
        if self.device is not None:
            pipeline = pipeline.to(check_device(self.device))
        return pipeline

    def _augment(self, x, rng):
        if len(self.prompts) == 0:
            raise ValueError("prompts is empty: give at least one text prompt.")
        prompt = self.prompts[int(rng.integers(len(self.prompts)))]
        return self._generate(x, [prompt], rng)[0]

    def variations(self, x: Any, rng: np.random.Generator) -> np.ndarray:
        """One variation of the waveform ``x`` per prompt.

        Parameters
        ----------
        x : array-like of shape (n_samples,)
            A waveform at ``sr``.
        rng : numpy.random.Generator
            Seeds the diffusion noise.

        Returns
        -------
        variations : ndarray of shape (len(prompts), n_samples)
        """
        self._validate_params()
        x = np.asarray(x, dtype=np.float64)
        if len(self.prompts) == 0:
            raise ValueError("prompts is empty: give at least one text prompt.")
        return self._generate(x, list(self.prompts), rng)

    def _generate(self, x: np.ndarray, prompts: list[str], rng) -> np.ndarray:
        import torch

        if x.ndim != 1:
            raise ValueError(f"AudioLDMAugmenter takes one waveform (n_samples,), got {x.shape}.")
        n_inference_steps = self._n_inference_steps(rng)
        pipe = self._pipeline()
        device = pipe.device
        generator = torch.Generator(device=device).manual_seed(int(rng.integers(2**31 - 1)))
        mel = self._mel(x, pipe).to(device=device, dtype=pipe.vae.dtype)
        guided = self.guidance_scale > 1.0
        with torch.no_grad():
            embeds = pipe._encode_prompt(
                prompts,
                device,
                1,
                guided,
                None if self.negative_prompt is None else [self.negative_prompt] * len(prompts),
            )
            latents = pipe.vae.encode(mel).latent_dist.sample(generator)
            latents = latents * pipe.vae.config.scaling_factor
            latents = latents.expand(len(prompts), -1, -1, -1)
            scheduler = pipe.scheduler
            scheduler.set_timesteps(n_inference_steps, device=device)
            n_steps = max(1, round(self.strength * n_inference_steps))
            start = (n_inference_steps - n_steps) * scheduler.order
            timesteps = scheduler.timesteps[start:]
            if hasattr(scheduler, "set_begin_index"):
                scheduler.set_begin_index(start)
            noise = torch.randn(
                latents.shape, generator=generator, device=device, dtype=latents.dtype
            )
            latents = scheduler.add_noise(latents, noise, timesteps[:1])
            for t in timesteps:
                model_input = torch.cat([latents] * 2) if guided else latents
                model_input = scheduler.scale_model_input(model_input, t)
                noise_pred = pipe.unet(
                    model_input, t, encoder_hidden_states=None, class_labels=embeds
                ).sample
                if guided:
                    uncond, text = noise_pred.chunk(2)
                    noise_pred = uncond + self.guidance_scale * (text - uncond)
                latents = scheduler.step(noise_pred, t, latents).prev_sample
            audio = pipe.mel_spectrogram_to_waveform(pipe.decode_latents(latents))
        return self._from_vocoder(audio.numpy(), pipe, x.size)

    def _n_inference_steps(self, rng: np.random.Generator) -> int:
        """``num_inference_steps``, or a draw from its range ``(low, high)``."""
        steps = self.num_inference_steps
        if not isinstance(steps, tuple):
            return int(steps)
        if (
            len(steps) != 2
            or not all(isinstance(n, Integral) and not isinstance(n, bool) for n in steps)
            or not 1 <= steps[0] <= steps[1]
        ):
            raise ValueError(
                "num_inference_steps must be an int >= 1 or a range (low, high) of ints with "
                f"1 <= low <= high, e.g. (10, 50); got {steps!r}."
            )
        return int(rng.integers(steps[0], steps[1] + 1))

    def _mel(self, x: np.ndarray, pipe):
        """AudioLDM's log-mel spectrogram of ``x``, (1, 1, n_frames, n_mels), padded."""
        import librosa
        import torch

        config = pipe.vocoder.config
        hop = int(np.prod(config.upsample_rates))
        waveform = librosa.resample(x, orig_sr=self.sr, target_sr=config.sampling_rate)
        if waveform.size < self.n_fft:
            raise ValueError(
                f"The clip has {x.size} samples; AudioLDMAugmenter needs at least n_fft="
                f"{self.n_fft} at the vocoder's rate {config.sampling_rate} Hz."
            )
        magnitude = np.abs(
            librosa.stft(waveform, n_fft=self.n_fft, hop_length=hop, window="hann", center=True)
        )
        basis = librosa.filters.mel(
            sr=config.sampling_rate,
            n_fft=self.n_fft,
            n_mels=config.model_in_dim,
            fmin=self.fmin,
            fmax=self.fmax,
        )
        mel = np.log(np.maximum(basis @ magnitude, 1e-5)).T
        factor = pipe.vae_scale_factor
        n_frames = -(-mel.shape[0] // factor) * factor
        mel = np.pad(mel, ((0, n_frames - mel.shape[0]), (0, 0)), constant_values=np.log(1e-5))
        return torch.from_numpy(mel.astype(np.float32))[None, None]

    def _from_vocoder(self, audio: np.ndarray, pipe, n_samples: int) -> np.ndarray:
        """Vocoder output resampled to ``sr`` and cut or zero-padded to ``n_samples``."""
        import librosa

        audio = librosa.resample(
            audio.astype(np.float64), orig_sr=pipe.vocoder.config.sampling_rate, target_sr=self.sr
        )[:, :n_samples]
        return np.pad(audio, ((0, 0), (0, n_samples - audio.shape[1])))


@lru_cache(maxsize=1)
def _load_audioldm(path: str):
    """``diffusers.AudioLDMPipeline.from_pretrained(path)``, with a clear error without it."""
    try:
        from diffusers import AudioLDMPipeline
    except ImportError as error:
        raise ImportError(
            "AudioLDMAugmenter needs diffusers and transformers: pip install 'sklasd[diffusion]'."
        ) from error
    try:
        return AudioLDMPipeline.from_pretrained(path)
    except (OSError, ValueError) as error:
        raise ValueError(
            f"Could not load an AudioLDM pipeline from {path!r} (a local folder of "
            "AudioLDMPipeline.save_pretrained, or a model name in the Hugging Face cache)."
        ) from error
