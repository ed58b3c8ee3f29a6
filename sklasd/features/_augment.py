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
random signal-to-noise ratio) and their composition :class:`Compose`. The
diffusion-based :class:`~sklasd.features.AudioLDMAugmenter` has a module of its own.
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

from sklasd.utils import draw_seed

__all__ = [
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
