"""Signal building blocks of the synthetic machine sounds: spectra, resonances, envelopes, a mix.

Stationary noise of any spectral shape is one inverse real FFT of a random-phase
spectrum weighted by the summed power spectra of all stationary parts; phase-locked
harmonics are one look-up in a wavetable of two shaft revolutions; transients are
copies of a resonant impulse response added at event times; modulated noise is colored
noise times a piecewise-linear envelope. :mod:`sklasd.datasets._synth_machines` builds
the machines from these.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
from scipy import fft as sp_fft
from scipy import signal

_TABLE = 4096  # wavetable length: two shaft revolutions
_CTRL = 160  # samples between control points of the speed fluctuation
_PEAK = 0.99  # clips never exceed this peak amplitude


@functools.lru_cache(maxsize=8)
def _time(n: int, sr: int) -> np.ndarray:
    t = np.arange(n) / sr
    t.flags.writeable = False
    return t


@functools.lru_cache(maxsize=8)
def _freqs(n: int, sr: int) -> np.ndarray:
    f = sp_fft.rfftfreq(n, 1 / sr).astype(np.float32)
    f.flags.writeable = False
    return f


def _band(f: np.ndarray, center: float, width: float) -> np.ndarray:
    """Lorentzian power bump (a resonance) of half width ``width`` Hz."""
    return 1.0 / (1.0 + ((f - center) / width) ** 2)


def _tilt(f: np.ndarray, exponent: float, f_low: float = 20.0) -> np.ndarray:
    """Power falling as ``f ** -exponent`` above ``f_low`` (pink for 1, brown for 2)."""
    return _cached_tilt(f.size, float(f[1]), exponent, f_low)


@functools.lru_cache(maxsize=32)
def _cached_tilt(size: int, df: float, exponent: float, f_low: float) -> np.ndarray:
    power = np.maximum(np.arange(size, dtype=np.float32) * np.float32(df), f_low) ** -exponent
    power.flags.writeable = False
    return power


def _lines(f: np.ndarray, centers: np.ndarray, gains: np.ndarray, width: float) -> np.ndarray:
    """Narrow spectral lines (tones with a slight wander) as a power spectrum."""
    power = np.zeros_like(f)
    df = float(f[1] - f[0])
    half = max(2, int(8 * width / df))
    for center, gain in zip(centers, gains, strict=True):
        k = round(float(center) / df)
        lo, hi = max(k - half, 1), min(k + half + 1, f.size)
        power[lo:hi] += gain * _band(f[lo:hi], center, width)
    return power


def _ring(
    freqs: Sequence[float], decays: Sequence[float], gains: Sequence[float], sr: int
) -> np.ndarray:
    """Impulse response of a resonant structure: a sum of damped sinusoids.

    Mode ``i`` rings at ``freqs[i]`` Hz (capped below Nyquist), decays with time
    constant ``decays[i]`` seconds and starts with amplitude ``gains[i]``; the
    response is cut where it has decayed by 60 dB.
    """
    t = np.arange(int(np.ceil(7 * max(decays) * sr))) / sr
    kernel = sum(
        gain * np.exp(-t / decay) * np.sin(2 * np.pi * min(freq, 0.45 * sr) * t)
        for freq, decay, gain in zip(freqs, decays, gains, strict=True)
    )
    return kernel


def _events(n: int, sr: int, times, amps, kernel: np.ndarray) -> np.ndarray:
    """Copies of ``kernel`` starting at ``times`` (s), scaled by ``amps``, summed."""
    start = np.round(np.asarray(times) * sr).astype(np.int64)
    keep = (start > -kernel.size) & (start < n)
    index = start[keep, None] + np.arange(kernel.size)
    values = np.asarray(amps, dtype=float)[keep, None] * kernel
    inside = (index >= 0) & (index < n)
    return np.bincount(index[inside], weights=values[inside], minlength=n).astype(np.float32)


def _trapezoids(
    t: np.ndarray, starts: np.ndarray, stops: np.ndarray, ramp: float | np.ndarray, gains
) -> np.ndarray:
    """Piecewise-linear envelope: 0 outside [start, stop], ``gain`` inside, linear ramps."""
    starts = np.asarray(starts, dtype=float)
    ramp = np.minimum(ramp, (np.asarray(stops) - starts) / 2)
    gains = np.broadcast_to(np.asarray(gains, dtype=float), starts.shape)
    zero = np.zeros_like(starts)
    xp = np.column_stack([starts, starts + ramp, stops - ramp, stops]).ravel()
    fp = np.column_stack([zero, gains, gains, zero]).ravel()
    return np.interp(t, np.maximum.accumulate(xp), fp).astype(np.float32)


def _bursts(t: np.ndarray, rng: np.random.Generator, rate: float) -> np.ndarray:
    """Random bursts (at least one; 50-300 ms, 20 ms ramps) as a 0..1 envelope."""
    duration = t[-1] + t[1]
    starts = np.sort(rng.uniform(0, duration, size=max(1, rng.poisson(rate * duration))))
    return _trapezoids(t, starts, starts + rng.uniform(0.05, 0.3, starts.size), 0.02, 1.0)


class _Mix:
    """Accumulates one clip: time-domain parts plus the power spectrum of stationary noise."""

    def __init__(self, n: int, sr: int):
        self.n, self.sr = n, sr
        self.t = _time(n, sr)
        self.f = _freqs(n, sr)
        self.wave = np.zeros(n, dtype=np.float32)
        self.power = np.zeros(self.f.size, dtype=np.float32)

    def add_stationary(self, shape: np.ndarray, rms: float) -> None:
        """Add stationary Gaussian noise with power-spectrum shape ``shape`` and RMS ``rms``."""
        self.power += (rms * rms / shape[1:].sum()) * shape
        self.power[0] = 0.0

    def _noise(self, power: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        magnitude = np.sqrt(power, dtype=np.float32) * np.float32(self.n / np.sqrt(2))
        phase = rng.random(power.size, dtype=np.float32) * np.float32(2 * np.pi)
        spectrum = np.empty(power.size, dtype=np.complex64)
        np.multiply(magnitude, np.cos(phase), out=spectrum.real)
        np.multiply(magnitude, np.sin(phase), out=spectrum.imag)
        return sp_fft.irfft(spectrum, self.n)

    def colored(self, shape: np.ndarray, rms: float, rng: np.random.Generator) -> np.ndarray:
        """A separate colored-noise waveform (to be modulated) of RMS ``rms``."""
        power = (rms * rms / shape[1:].sum()) * shape
        power[0] = 0.0
        return self._noise(power, rng)

    def render(self, rng: np.random.Generator) -> np.ndarray:
        """Sum of all parts, attenuated (never clipped) to a peak of at most 0.99."""
        x = self.wave + self._noise(self.power, rng)
        peak = float(np.abs(x).max())
        if peak > _PEAK:
            x *= _PEAK / peak
        return x


class _Rotor:
    """Shaft phase of one clip: a rated rate with slow random speed fluctuation."""

    def __init__(self, mix: _Mix, rate: float, jitter: float, rng: np.random.Generator):
        n_ctrl = mix.n // _CTRL + 2
        step = _CTRL / mix.sr
        self.t_ctrl = np.arange(n_ctrl) * step
        a = np.exp(-step / 0.3)  # AR(1) speed deviation, 0.3 s correlation time
        drive = rng.standard_normal(n_ctrl) * jitter
        drive[1:] *= np.sqrt(1 - a * a)
        speed = rate * (1 + signal.lfilter([1.0], [1.0, -a], drive))
        self.cycles = rng.uniform() + np.concatenate([[0.0], np.cumsum(speed[:-1]) * step])
        u = np.interp(mix.t, self.t_ctrl, self.cycles) * (_TABLE / 2)
        index = u.astype(np.int64)
        self.frac = (u - index).astype(np.float32)
        self.index = index & (_TABLE - 1)

    def lookup(self, table: np.ndarray) -> np.ndarray:
        """Play a wavetable of two revolutions (length ``_TABLE + 1``, wrapped)."""
        out = np.diff(table).astype(np.float32).take(self.index)
        out *= self.frac
        out += table.astype(np.float32).take(self.index)
        return out

    def times_of(self, cycles: np.ndarray) -> np.ndarray:
        """Times (s) at which the shaft reaches the given revolution counts."""
        return np.interp(cycles, self.cycles, self.t_ctrl)


def _wavetable(coef: np.ndarray) -> np.ndarray:
    """Wrapped wavetable ``sum_k |coef_k| cos(pi k u + angle coef_k)`` over two revolutions.

    ``coef[k]`` is the complex amplitude of order ``k / 2`` (odd k: half orders).
    """
    spectrum = np.zeros(_TABLE // 2 + 1, dtype=complex)
    spectrum[: coef.size] = coef * (_TABLE / 2)
    table = sp_fft.irfft(spectrum, _TABLE)
    return np.append(table, table[0])


_SINE_TABLE = _wavetable(np.array([0, 0, -1j]))  # sin(2 pi * revolutions)
