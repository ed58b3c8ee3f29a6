"""Data augmentation of waveforms and log-mel spectrograms, seeded by explicit generators.

An augmenter is a scikit-learn-style object (its parameters are reachable with
``get_params``/``set_params``, e.g. ``augmentation__steps`` in a grid search)
that is called on ONE example and a :class:`numpy.random.Generator`:
``augmenter(x, rng)`` returns an augmented copy of ``x`` of the same shape.
Time is the last axis of ``x`` (samples of a waveform, frames of a spectrogram),
frequency the second to last (bands of a spectrogram). :meth:`Augmenter.augment`
augments every row of a batch with generators derived from ``random_state``.

Built in: :class:`TimeMask`, :class:`FrequencyMask`, :class:`Gain`,
:class:`TimeShift`, :class:`NoiseMix` (noise from a bank the user gives, at a
random signal-to-noise ratio), their composition :class:`Compose`, and
:class:`AudioLDMAugmenter`, the diffusion-based augmentation of Zahedi et al.
(Algorithms 2023) on an AudioLDM pipeline of ``diffusers`` (optional extra
``sklasd[diffusion]``).
"""

from __future__ import annotations

import os
from abc import abstractmethod
from collections.abc import Sequence
from functools import lru_cache
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions

from sklasd.utils import check_device, draw_seed

__all__ = [
    "FACTORY_NOISE_PROMPTS",
    "AudioLDMAugmenter",
    "Augmenter",
    "Compose",
    "FrequencyMask",
    "Gain",
    "NoiseMix",
    "TimeMask",
    "TimeShift",
]


class Augmenter(BaseEstimator):
    """Base class of the augmenters: ``augmenter(x, rng)`` augments one example.

    Subclasses implement ``_augment(x, rng)`` on a float array and declare
    ``_parameter_constraints``; :meth:`__call__` validates the parameters and
    the input, and returns a new array of the same shape and dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from sklasd.features import Augmenter
    >>> class Flip(Augmenter):
    ...     _parameter_constraints = {}
    ...     def _augment(self, x, rng):
    ...         return -x if rng.random() < 0.5 else x.copy()
    >>> flipped = Flip().augment(np.ones((8, 3)), random_state=0)
    >>> sorted(set(flipped[:, 0].tolist()))  # each row flipped or not, on its own
    [-1.0, 1.0]
    """

    _parameter_constraints: ClassVar[dict] = {}

    @abstractmethod
    def _augment(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Augmented copy of the validated example ``x``."""

    def __call__(self, x: Any, rng: np.random.Generator) -> np.ndarray:
        """Augment one example.

        Parameters
        ----------
        x : array-like of shape (..., n_times)
            A waveform (n_samples,) or a spectrogram (..., n_bands, n_frames).
        rng : numpy.random.Generator
            Source of all randomness.

        Returns
        -------
        augmented : ndarray of the shape of ``x``
            A new array (float32 stays float32, other dtypes become float64).
        """
        self._validate_params()
        if not isinstance(rng, np.random.Generator):
            raise TypeError(
                f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), got "
                f"{type(rng).__name__}."
            )
        x = np.asarray(x)
        x = x.astype(x.dtype if x.dtype == np.float32 else np.float64)
        if x.ndim < 1 or x.shape[-1] < 1 or not np.isfinite(x).all():
            raise ValueError(
                f"{type(self).__name__} expects a finite array with a time axis, got an array "
                f"of shape {x.shape}."
            )
        return np.asarray(self._augment(x, rng), dtype=x.dtype)

    def augment(self, X: Any, *, random_state: Any = None) -> np.ndarray:
        """Augment every example of a batch, each with its own generator.

        Parameters
        ----------
        X : array-like of shape (n_examples, ...)
            Waveforms (n_examples, n_samples) or spectrograms.
        random_state : int, RandomState instance or None, default=None
            Seed of the generators; an int makes the result repeatable.

        Returns
        -------
        augmented : ndarray of the shape of ``X``
        """
        X = np.asarray(X)
        if X.ndim < 2:
            raise ValueError(f"X must hold one example per row, got shape {X.shape}.")
        sequence = np.random.SeedSequence(draw_seed(random_state))
        return np.stack(
            [
                self(x, np.random.default_rng(s))
                for x, s in zip(X, sequence.spawn(len(X)), strict=True)
            ]
        )


def _width(width: float, size: int) -> int:
    """A width given as a fraction of ``size`` (float) or as a count (int)."""
    if isinstance(width, Integral):
        return min(int(width), size)
    return int(width * size)


class _Mask(Augmenter):
    """Masks ``n_masks`` random bands of up to ``max_width`` along ``_axis``."""

    _axis: ClassVar[int]
    _parameter_constraints: ClassVar[dict] = {
        "max_width": [
            Interval(Integral, 0, None, closed="left"),
            Interval(Real, 0, 1, closed="both"),
        ],
        "n_masks": [Interval(Integral, 0, None, closed="left")],
        "fill": [StrOptions({"mean"}), Real],
    }

    def __init__(self, *, max_width: float = 0.2, n_masks: int = 1, fill: str | float = "mean"):
        self.max_width = max_width
        self.n_masks = n_masks
        self.fill = fill

    def _augment(self, x, rng):
        if x.ndim < -self._axis:
            raise ValueError(
                f"{type(self).__name__} needs an array with {-self._axis} axes or more "
                f"(..., n_bands, n_frames), got shape {x.shape}."
            )
        out = x.copy()
        size = x.shape[self._axis]
        fill = x.mean() if self.fill == "mean" else self.fill
        view = np.moveaxis(out, self._axis, -1)
        for _ in range(self.n_masks):
            width = int(rng.integers(_width(self.max_width, size) + 1))
            start = int(rng.integers(size - width + 1))
            view[..., start : start + width] = fill
        return out


class TimeMask(_Mask):
    """Set up to ``n_masks`` random stretches of time to a fill value (SpecAugment).

    Parameters
    ----------
    max_width : float or int, default=0.2
        Longest stretch: a fraction of the length (float in [0, 1]) or a number
        of frames/samples (int). Each width is drawn uniformly from 0 to it.
    n_masks : int, default=1
        Number of stretches (they may overlap).
    fill : "mean" or float, default="mean"
        The value masked stretches get: the example's mean, or a number.

    See Also
    --------
    FrequencyMask : The same along the frequency axis.

    Examples
    --------
    >>> import numpy as np
    >>> from sklasd.features import TimeMask
    >>> x = np.ones((1, 4, 10))
    >>> masked = TimeMask(max_width=5, fill=0.0)(x, np.random.default_rng(1))
    >>> masked.shape, int((masked == 0).any(axis=(0, 1)).sum()) <= 5
    ((1, 4, 10), True)
    """

    _axis = -1


class FrequencyMask(_Mask):
    """Set up to ``n_masks`` random bands of a spectrogram to a fill value (SpecAugment).

    Parameters
    ----------
    max_width : float or int, default=0.2
        Widest band: a fraction of the bands (float in [0, 1]) or a number of
        bands (int). Each width is drawn uniformly from 0 to it.
    n_masks : int, default=1
        Number of bands masked (they may overlap).
    fill : "mean" or float, default="mean"
        The value masked bands get: the example's mean, or a number.

    See Also
    --------
    TimeMask : The same along time.

    Examples
    --------
    >>> import numpy as np
    >>> from sklasd.features import FrequencyMask
    >>> x = np.arange(8.0).reshape(1, 8, 1) * np.ones((1, 8, 6))
    >>> masked = FrequencyMask(max_width=1.0, fill=-1.0)(x, np.random.default_rng(0))
    >>> bool(((masked == -1).all(axis=-1) | (masked == x).all(axis=-1)).all())  # whole bands
    True
    """

    _axis = -2


class Gain(Augmenter):
    """Change the level by a random gain, uniform in decibels.

    Parameters
    ----------
    min_db, max_db : float, default=-6.0, 6.0
        Range of the gain in dB.
    domain : {"waveform", "db"}, default="waveform"
        What the examples are: waveforms (multiplied by ``10 ** (gain / 20)``) or
        spectrograms in dB, e.g. :class:`LogMel` output (the gain is added).

    Examples
    --------
    >>> import numpy as np
    >>> from sklasd.features import Gain
    >>> louder = Gain(min_db=20.0, max_db=20.0)(np.ones(3), np.random.default_rng(0))
    >>> louder.tolist()
    [10.0, 10.0, 10.0]
    >>> Gain(min_db=3.0, max_db=3.0, domain="db")(np.zeros(2), np.random.default_rng(0)).tolist()
    [3.0, 3.0]
    """

    _parameter_constraints: ClassVar[dict] = {
        "min_db": [Real],
        "max_db": [Real],
        "domain": [StrOptions({"waveform", "db"})],
    }

    def __init__(self, *, min_db: float = -6.0, max_db: float = 6.0, domain: str = "waveform"):
        self.min_db = min_db
        self.max_db = max_db
        self.domain = domain

    def _augment(self, x, rng):
        if self.min_db > self.max_db:
            raise ValueError(f"min_db={self.min_db} must not exceed max_db={self.max_db}.")
        gain = rng.uniform(self.min_db, self.max_db)
        return x + gain if self.domain == "db" else x * 10 ** (gain / 20)


class TimeShift(Augmenter):
    """Shift an example in time by a random amount, circularly.

    Parameters
    ----------
    max_shift : float or int, default=0.5
        Largest shift either way: a fraction of the length (float in [0, 1]) or a
        number of frames/samples (int); the shift is uniform over the integers
        from ``-max_shift`` to ``max_shift``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklasd.features import TimeShift
    >>> shifted = TimeShift(max_shift=2)(np.arange(6.0), np.random.default_rng(0))
    >>> sorted(shifted.tolist()) == list(range(6)) and bool(np.all(np.diff(shifted) % 6 == 1))
    True
    """

    _parameter_constraints: ClassVar[dict] = {
        "max_shift": [
            Interval(Integral, 0, None, closed="left"),
            Interval(Real, 0, 1, closed="both"),
        ],
    }

    def __init__(self, *, max_shift: float = 0.5):
        self.max_shift = max_shift

    def _augment(self, x, rng):
        limit = _width(self.max_shift, x.shape[-1])
        return np.roll(x, int(rng.integers(-limit, limit + 1)), axis=-1)


@lru_cache(maxsize=4)
def _read_noise_bank(paths: tuple[str, ...], sr: int) -> tuple[np.ndarray, ...]:
    """The noise files of a bank, read once per (paths, sr)."""
    from sklasd.datasets import load_audio

    return tuple(load_audio([path], sr=sr)[0] for path in paths)


class NoiseMix(Augmenter):
    """Add a random excerpt of a noise recording at a random signal-to-noise ratio.

    A noise of the bank is drawn, a random excerpt of the waveform's length is
    cut from it (noises shorter than the waveform are repeated), and it is
    scaled so that the ratio of the waveform's power to the noise's is a random
    SNR, uniform in decibels in ``snr_db``. For waveforms only.

    Parameters
    ----------
    noise : sequence of array-like or of str / path-like
        The noise bank: 1-D noise waveforms (of any lengths) or audio files
        (read with :func:`~sklasd.datasets.load_audio` at ``sr``, once).
    snr_db : tuple of float, default=(0.0, 20.0)
        (lowest, highest) signal-to-noise ratio in dB.
    sr : int, default=16000
        Sampling rate the noise files are read at (that of the waveforms).

    Examples
    --------
    >>> import numpy as np
    >>> from sklasd.features import NoiseMix
    >>> rng = np.random.default_rng(0)
    >>> signal, hum = np.sin(np.arange(1000) / 5), rng.standard_normal(300)
    >>> mixed = NoiseMix(noise=[hum], snr_db=(10.0, 10.0))(signal, rng)
    >>> snr = 10 * np.log10(np.mean(signal ** 2) / np.mean((mixed - signal) ** 2))
    >>> round(float(snr), 6)
    10.0
    """

    _parameter_constraints: ClassVar[dict] = {
        "noise": ["array-like"],
        "snr_db": [tuple, list],
        "sr": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, *, noise: Sequence, snr_db: tuple = (0.0, 20.0), sr: int = 16000):
        self.noise = noise
        self.snr_db = snr_db
        self.sr = sr

    def _bank(self) -> Sequence[np.ndarray]:
        if len(self.noise) == 0:
            raise ValueError("The noise bank is empty: give noise waveforms or audio files.")
        if all(isinstance(item, str | os.PathLike) for item in self.noise):
            return _read_noise_bank(tuple(os.fspath(item) for item in self.noise), self.sr)
        bank = []
        for index, item in enumerate(self.noise):
            item = np.asarray(item, dtype=np.float64)
            if item.ndim != 1 or item.size == 0 or not np.isfinite(item).all():
                raise ValueError(
                    f"noise[{index}] must be a finite non-empty 1-D waveform or a file path, "
                    f"got an array of shape {item.shape}."
                )
            bank.append(item)
        return bank

    def _augment(self, x, rng):
        low, high = self.snr_db
        if low > high:
            raise ValueError(f"snr_db={self.snr_db!r} must be (lowest, highest).")
        bank = self._bank()
        noise = bank[int(rng.integers(len(bank)))]
        n = x.shape[-1]
        start = int(rng.integers(noise.size))
        excerpt = np.resize(np.roll(noise, -start), n)
        power_noise = np.mean(excerpt**2)
        if power_noise == 0:
            return x.copy()
        snr = rng.uniform(low, high)
        scale = np.sqrt(np.mean(x**2) / (power_noise * 10 ** (snr / 10)))
        return x + scale * excerpt


class Compose(Augmenter):
    """Apply several augmenters one after the other.

    Parameters
    ----------
    steps : sequence of Augmenter
        The augmenters, in order; each draws from the same generator.

    Examples
    --------
    >>> import numpy as np
    >>> from sklasd.features import Compose, FrequencyMask, TimeMask
    >>> augment = Compose(steps=[TimeMask(n_masks=2), FrequencyMask(n_masks=2)])
    >>> augment.augment(np.zeros((3, 1, 16, 32)), random_state=0).shape
    (3, 1, 16, 32)
    >>> augment.get_params()["steps"][0].n_masks
    2
    """

    _parameter_constraints: ClassVar[dict] = {"steps": [list, tuple]}

    def __init__(self, *, steps: Sequence[Augmenter]):
        self.steps = steps

    def _augment(self, x, rng):
        for index, step in enumerate(self.steps):
            if not callable(step):
                raise TypeError(f"steps[{index}] is not an augmenter: {step!r}.")
            x = step(x, rng)
        return x


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
