"""Synthetic machine sounds with DCASE-like sections, domains and anomalies.

:func:`make_machine_sounds` is to anomalous sound detection what
:func:`sklearn.datasets.make_blobs` is to clustering: a fast, seeded generator of
plausible data with known ground truth. :func:`write_dcase_folder` writes such
clips (or any clips with the shared metadata frame) as WAV files in the DCASE
Task 2 folder layout, so the whole file-based tool chain can run on them.

How a clip is made
------------------
Every clip is the sum of a *machine* signal and a *background* noise, both built
with vectorised numpy/scipy operations:

* stationary noise of any spectral shape is one inverse real FFT of a
  random-phase spectrum weighted by the summed power spectra of all stationary
  parts (a random-phase multisine: Gaussian by the central limit theorem);
* phase-locked harmonics (a shaft rotating at a slightly jittering speed) are one
  look-up in a wavetable that holds two revolutions of the harmonic waveform;
* transients (valve clicks, end stops, bearing impacts) are copies of the
  impulse response of a resonant structure (a sum of damped sinusoids) added at
  the event times;
* modulated noise (slider strokes, valve flow, babble, friction bursts) is
  colored noise times a piecewise-linear envelope (one ``np.interp``).

Seeds
-----
``random_state`` gives one root entropy. Each machine instance (machine type and
section) and each clip draws from its own :class:`numpy.random.SeedSequence`
keyed by (machine type, section, block, index within block), so a clip does not
depend on how many other clips are made, nor on chunking: clip ``j`` of a block is
the same whether 10 or 1000 clips are requested. Anomalies draw from a stream of
their own and are exact no-ops at ``severity=0``: an anomalous clip at severity 0
is the normal clip its seed would give.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
from scipy import fft as sp_fft
from scipy import signal
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from sklasd.utils import atomic_write

__all__ = ["make_machine_sounds", "write_dcase_folder"]

# ---------------------------------------------------------------------------
# Contract constants: attribute values of the two domains
# ---------------------------------------------------------------------------

#: Attribute values of the source domain (``spd`` in percent of the rated speed).
_SOURCE_VALUES = {"spd": (80, 90, 100), "load": (1, 2), "noise": ("factory", "pink")}
#: Values the shifted attribute takes in the target domain.
_TARGET_VALUES = {"spd": (60, 120), "load": (0, 4), "noise": ("babble", "white")}
#: Attribute shifted between the domains of section ``s``: ``_SHIFTS[s % 3]``.
_SHIFTS = ("spd", "load", "noise")
#: Signal-to-background ratio (dB, inclusive integer range); lower in noise-shifted targets.
_SNR_DB = (3, 12)
_SNR_DB_NOISE_SHIFT = (-3, 6)

#: (split, domain, label) of the blocks a section's clips come in, in frame order.
_BLOCKS = (
    ("train", "source", 0),
    ("train", "target", 0),
    ("test", "source", 0),
    ("test", "source", 1),
    ("test", "target", 0),
    ("test", "target", 1),
)

_TABLE = 4096  # wavetable length: two shaft revolutions
_CTRL = 160  # samples between control points of the speed fluctuation
_PEAK = 0.99  # clips never exceed this peak amplitude


# ---------------------------------------------------------------------------
# Signal building blocks
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# Machines: one instance per (machine type, section)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Clip:
    """What the synthesiser needs to know about one clip."""

    machine_type: str
    section: int
    domain: str
    split: str
    label: int
    spd: int
    load: int
    noise: str
    snr: int
    kind: str
    severity: float
    seed: np.random.SeedSequence  # the normal sound
    anomaly_seed: np.random.SeedSequence  # the anomaly (a stream of its own)


class _Machine:
    """A machine instance; subclasses draw their parameters and render clips."""

    kinds: tuple[str, ...] = ()

    def __init__(self, rng: np.random.Generator):
        self.level = rng.uniform(0.006, 0.018)  # reference RMS (-44 to -35 dBFS)

    def render(self, clip: _Clip, mix: _Mix, rng, arng) -> float:
        """Add the machine sound to ``mix``; return the reference level for the SNR."""
        raise NotImplementedError


class _Rotating(_Machine):
    """Shaft harmonics with a blade/vane/mesh pattern plus broadband machine noise."""

    kinds = ("bearing", "imbalance", "harmonic_shift", "friction")
    rate_range: tuple[float, float]  # rated shaft rate, Hz
    hnr_range: tuple[float, float]  # harmonic-to-noise ratio, dB

    def __init__(self, rng):
        super().__init__(rng)
        self.rate = rng.uniform(*self.rate_range)
        self.jitter = rng.uniform(0.001, 0.004)
        self.hnr = 10 ** (rng.uniform(*self.hnr_range) / 10)
        self.load_tilt = rng.uniform(0.1, 0.3)
        amp = self._orders(rng)
        self.orders = np.arange(amp.size)
        self.amp = amp * np.exp(1j * rng.uniform(0, 2 * np.pi, amp.size))
        self.amp[0] = 0.0

    def _orders(self, rng) -> np.ndarray:
        """Magnitudes of orders 0..K (index = order)."""
        raise NotImplementedError

    def _noise(self, f: np.ndarray, speed: float, load: int) -> np.ndarray:
        """Power-spectrum shape of the broadband machine noise."""
        raise NotImplementedError

    def render(self, clip, mix, rng, arng):
        speed, sev = clip.spd / 100, clip.severity
        level = self.level * speed * (1 + 0.1 * clip.load)
        rate = self.rate * speed * (1 + 0.005 * rng.standard_normal())
        rotor = _Rotor(mix, rate, self.jitter, rng)

        audible = self.orders * rate * 1.02 < 0.45 * mix.sr
        amp = np.where(audible, self.amp, 0) * (np.maximum(self.orders, 1) / 10.0) ** (
            self.load_tilt * (clip.load - 1.5)
        )
        h_rms = level / np.sqrt(1 + 1 / self.hnr)
        amp *= h_rms / np.sqrt(np.sum(np.abs(amp) ** 2) / 2)
        coef = np.zeros(2 * amp.size, dtype=complex)
        coef[::2] = amp
        if clip.kind == "harmonic_shift":  # changed order ratios, half orders (looseness)
            coef[::2] *= np.exp(0.7 * sev * arng.standard_normal(amp.size))
            half = 0.2 * sev * np.abs(amp) * np.exp(1j * arng.uniform(0, 2 * np.pi, amp.size))
            coef[1::2] = np.where(audible, half, 0)
        if clip.kind == "imbalance":  # stronger first and second orders
            boost = sev * np.abs(amp).max() * np.exp(1j * arng.uniform(0, 2 * np.pi, 2))
            coef[2:5:2] += boost * [1.0, 0.5]
        harmonics = rotor.lookup(_wavetable(coef))
        if clip.kind == "imbalance":  # once-per-revolution amplitude modulation
            harmonics *= 1 + min(0.9, 0.4 * sev) * rotor.lookup(_SINE_TABLE)
        self._modify(harmonics, rotor, clip, arng)
        mix.wave += harmonics
        mix.add_stationary(
            self._noise(mix.f, speed, clip.load), h_rms / np.sqrt(self.hnr) * (1 + 0.1 * clip.load)
        )

        if clip.kind == "bearing":  # resonant impacts at a non-integer fault order
            order = arng.uniform(2.8, 5.6)
            cycles = np.arange(rotor.cycles[0], rotor.cycles[-1], 1 / order)
            cycles += arng.normal(0, 0.01 / order, cycles.size)  # rolling-element slip
            inner = arng.uniform() < 0.5  # inner-race faults are modulated by the shaft
            amps = 1 + inner * 0.6 * np.sin(2 * np.pi * cycles)
            ring = _ring([arng.uniform(2000, 6000)], [arng.uniform(4e-4, 1.5e-3)], [1.0], mix.sr)
            impacts = _events(mix.n, mix.sr, rotor.times_of(cycles), amps, ring)
            mix.wave += impacts * (0.3 * sev * level / max(_rms(impacts), 1e-12))
        if clip.kind == "friction":  # rubbing: band-limited bursts synchronous with the shaft
            band = _band(mix.f, arng.uniform(1500, 5000), arng.uniform(100, 500))
            rub = mix.colored(band, 1.0, arng) * _bursts(mix.t, arng, arng.uniform(1, 3))
            rub *= 1 + rotor.lookup(_SINE_TABLE)
            mix.wave += rub * (0.4 * sev * level / max(_rms(rub), 1e-12))
        return level

    def _modify(self, harmonics, rotor, clip, arng) -> None:
        """Machine-specific anomalies acting on the harmonic waveform (in place)."""


class _Fan(_Rotating):
    rate_range = (20.0, 45.0)
    hnr_range = (-3.0, 3.0)

    def __init__(self, rng):
        self.blades = int(rng.integers(3, 10))
        self.air = (rng.uniform(300, 1200), rng.uniform(400, 1500))
        self.modes = (
            rng.uniform(1000, 6000, 2),
            rng.uniform(100, 300, 2),
            rng.uniform(0.1, 0.5, 2),
        )
        super().__init__(rng)

    def _orders(self, rng):
        k = np.arange(61.0)
        amp = np.maximum(k, 1) ** -rng.uniform(0.8, 1.6) * rng.lognormal(0, 0.5, k.size)
        blade_pass = k[self.blades :: self.blades].astype(int)
        amp[blade_pass] *= rng.uniform(3, 8) * (blade_pass / self.blades) ** -0.5
        return amp

    def _noise(self, f, speed, load):
        center, width = self.air
        power = _band(f, center * speed, width * speed) + 0.1 * _tilt(f, 1.0) * center
        for fc, bw, gain in zip(*self.modes, strict=True):
            power += gain * _band(f, fc, bw)
        return power


class _Pump(_Rotating):
    rate_range = (24.0, 50.0)
    hnr_range = (-3.0, 3.0)

    def __init__(self, rng):
        self.vanes = int(rng.integers(4, 9))
        self.fluid = rng.uniform(200, 800)
        self.modes = (
            rng.uniform(800, 5000, 3),
            rng.uniform(100, 400, 3),
            rng.uniform(0.05, 0.3, 3),
        )
        super().__init__(rng)

    def _orders(self, rng):
        k = np.arange(41.0)
        amp = np.maximum(k, 1) ** -rng.uniform(0.7, 1.4) * rng.lognormal(0, 0.5, k.size)
        vane_pass = k[self.vanes :: self.vanes].astype(int)
        amp[vane_pass] *= rng.uniform(2, 5)
        return amp

    def _noise(self, f, speed, load):
        cutoff = self.fluid * speed * (1 + 0.2 * load)
        power = 1.0 / (1.0 + (f / cutoff) ** 4) + 0.02 * _tilt(f, 1.0, 100.0) * 100
        for fc, bw, gain in zip(*self.modes, strict=True):
            power += gain * _band(f, fc, bw)
        return power


class _Gearbox(_Rotating):
    kinds = ("bearing", "imbalance", "harmonic_shift", "tooth_damage")
    rate_range = (10.0, 30.0)
    hnr_range = (3.0, 9.0)

    def __init__(self, rng):
        self.teeth = int(rng.integers(17, 42))
        self.modes = (
            rng.uniform(500, 5000, 3),
            rng.uniform(50, 300, 3),
            rng.uniform(0.1, 1.0, 3),
        )
        super().__init__(rng)

    def _orders(self, rng):
        k = np.arange(3.0 * self.teeth + 3)
        amp = 0.3 * np.maximum(k, 1) ** -1.0 * rng.lognormal(0, 0.5, k.size)
        for m in (1, 2, 3):  # gear-mesh harmonics with shaft-rate sidebands
            mesh = m * self.teeth
            amp[mesh] = rng.uniform(3, 10) / m
            amp[[mesh - 1, mesh + 1]] = amp[mesh] * rng.uniform(0.1, 0.4, 2)
            amp[[mesh - 2, mesh + 2]] = amp[mesh] * rng.uniform(0.02, 0.1, 2)
        return amp

    def _noise(self, f, speed, load):
        power = _tilt(f, 1.0) * 100
        for fc, bw, gain in zip(*self.modes, strict=True):
            power += gain * _band(f, fc, bw)
        return power

    def _modify(self, harmonics, rotor, clip, arng):
        if clip.kind == "tooth_damage":  # a once-per-revolution mesh disturbance
            where = arng.uniform()
            u = np.linspace(0, 2, _TABLE + 1)
            distance = np.abs((u - where + 0.5) % 1 - 0.5)  # in revolutions
            bump = np.exp(-0.5 * (distance / 0.02) ** 2)
            harmonics *= 1 + 1.5 * clip.severity * rotor.lookup(bump)


class _Slider(_Machine):
    """A linear slide moving back and forth: motion noise, servo whine, end stops."""

    kinds = ("friction", "rail_damage", "stick_slip")

    def __init__(self, rng):
        super().__init__(rng)
        self.period = rng.uniform(0.8, 2.0)  # back-and-forth cycle at rated speed, s
        self.duty = rng.uniform(0.6, 0.85)  # moving fraction of each stroke
        self.ramp = rng.uniform(0.1, 0.25)  # acceleration fraction of each move
        self.back_gain = rng.uniform(0.6, 1.0)
        self.rail = (rng.uniform(400, 6000, 3), rng.uniform(100, 800, 3), rng.lognormal(0, 0.7, 3))
        self.whine = (rng.uniform(150, 500), 10 ** (rng.uniform(-12, -4) / 20))
        self.stop_freqs = rng.uniform(600, 3000, 2)
        self.stop_decays = rng.uniform(3e-3, 1.2e-2, 2)
        self.stop_gain = rng.uniform(1.5, 4.0)

    def render(self, clip, mix, rng, arng):
        speed, sev = clip.spd / 100, clip.severity
        level = self.level * speed * (1 + 0.15 * clip.load)
        half = self.period / speed * (1 + 0.01 * rng.standard_normal()) / 2
        move = self.duty * half
        k = np.arange(-2, int(mix.t[-1] / half) + 2)
        starts = rng.uniform(0, half) + k * half + rng.normal(0, 0.01 * half, k.size)
        gains = np.where(k % 2 == 0, 1.0, self.back_gain) * rng.lognormal(0, 0.05, k.size)
        velocity = _trapezoids(mix.t, starts, starts + move, self.ramp * move, gains)

        motion = velocity
        if clip.kind == "stick_slip":  # jerky motion: sawtooth velocity ripple, a tick per slip
            slips = np.arange(arng.uniform(-0.1, 0), mix.t[-1], 1 / arng.uniform(5, 15))
            sawtooth = np.interp(mix.t, slips, np.arange(slips.size))
            ripple = (2 * (sawtooth - np.floor(sawtooth)) - 1).astype(np.float32)
            motion = velocity * (1 + min(0.9, 0.6 * sev) * ripple)
            tick = _ring([arng.uniform(3000, 6000)], [1e-3], [1.0], mix.sr)
            ticks = np.interp(slips, mix.t, velocity) * (sev * level * self.stop_gain)
            mix.wave += _events(mix.n, mix.sr, slips, ticks, tick)
        centers, widths, weights = self.rail
        shape = _tilt(mix.f, 1.0 + 0.2 * clip.load) * 500
        for fc, bw, gain in zip(centers, widths, weights, strict=True):
            shape += gain * _band(mix.f, fc, bw)
        mix.wave += mix.colored(shape, level, rng) * motion
        whine_freq, whine_gain = self.whine
        cycles = np.cumsum(velocity, dtype=np.float64) * (whine_freq * speed / mix.sr)
        phase = (cycles - np.floor(cycles)).astype(np.float32) * np.float32(2 * np.pi)
        whine = np.sin(phase) + 0.5 * np.sin(2 * phase)
        mix.wave += whine * motion * (level * whine_gain * (1 + 0.2 * clip.load))
        stop = _ring(self.stop_freqs, self.stop_decays, [1.0, 0.5], mix.sr)
        mix.wave += _events(mix.n, mix.sr, starts + move, gains, stop) * (self.stop_gain * level)
        mix.add_stationary(_tilt(mix.f, 1.0), 0.05 * level)

        if clip.kind == "friction":  # squeal: narrow-band noise during some strokes
            band = _band(mix.f, arng.uniform(1500, 6000), arng.uniform(50, 300))
            squeal = mix.colored(band, 1.0, arng) * velocity
            squeal *= _trapezoids(
                mix.t, starts, starts + move, 0.02, arng.uniform(size=k.size) < 0.6
            )
            mix.wave += squeal * (0.5 * sev * level / max(_rms(squeal), 1e-12))
        if clip.kind == "rail_damage":  # an impact at the same rail position on every pass
            position = arng.uniform(0.3, 0.7)
            ring = _ring(
                arng.uniform(1500, 5000, 2), arng.uniform(4e-3, 1.2e-2, 2), [1, 0.7], mix.sr
            )
            hits = _events(mix.n, mix.sr, starts + position * move, gains, ring)
            mix.wave += hits * (4.0 * sev * level)
        return level


class _Valve(_Machine):
    """A solenoid valve cycling open/closed: two clicks per cycle and gated flow noise."""

    kinds = ("missing_click", "extra_click", "leak", "sticking")

    def __init__(self, rng):
        super().__init__(rng)
        self.period = rng.uniform(0.4, 1.2)  # actuation cycle at rated speed, s
        self.open_frac = rng.uniform(0.3, 0.6)
        self.open_modes = (rng.uniform(1500, 4000, 2), rng.uniform(3e-3, 1.2e-2, 2))
        self.close_modes = (rng.uniform(2500, 7000, 2), rng.uniform(2e-3, 8e-3, 2))
        self.close_gain = rng.uniform(0.5, 1.2)
        self.click_gain = rng.uniform(6, 12)
        self.flow = (rng.uniform(800, 4000), rng.uniform(500, 2000), rng.uniform(0.1, 0.4))
        self.rig = (rng.uniform(150, 3000, 3), rng.uniform(20, 200, 3), rng.lognormal(0, 0.5, 3))

    def render(self, clip, mix, rng, arng):
        speed, sev, sr = clip.spd / 100, clip.severity, mix.sr
        level = self.level
        period = self.period / speed * (1 + 0.01 * rng.standard_normal())
        k = np.arange(-1, int(mix.t[-1] / period) + 2)
        opens = rng.uniform(0, period) + k * period + rng.normal(0, 0.003, k.size)
        durations = self.open_frac * period * rng.lognormal(0, 0.03, k.size)
        strength = (1 + 0.1 * clip.load) * self.click_gain * level
        open_amps = strength * rng.lognormal(0, 0.1, k.size)
        close_amps = strength * self.close_gain * rng.lognormal(0, 0.1, k.size)

        if clip.kind == "sticking":  # late or irregular actuation
            durations = durations * (1 + 0.3 * sev * np.abs(arng.standard_normal(k.size)))
            opens = opens + 0.05 * sev * period * arng.standard_normal(k.size)
        closes = opens + durations
        if clip.kind == "missing_click":
            p = min(1.0, 0.3 * sev)
            open_amps = open_amps * (arng.uniform(size=k.size) >= p)
            close_amps = close_amps * (arng.uniform(size=k.size) >= p)
        open_click = _ring(*self.open_modes, [1.0, 0.6], sr)
        close_click = _ring(*self.close_modes, [1.0, 0.6], sr)
        mix.wave += _events(mix.n, sr, opens, open_amps, open_click)
        mix.wave += _events(mix.n, sr, closes, close_amps, close_click)
        if clip.kind == "extra_click":  # armature bounce after closing, spurious actuations
            bounce = close_amps * 0.8 * (arng.uniform(size=k.size) < min(1.0, 0.4 * sev))
            delays = arng.uniform(0.01, 0.04, k.size)
            mix.wave += _events(mix.n, sr, closes + delays, bounce, close_click)
            duration = mix.n / sr
            spurious = arng.uniform(0, duration, arng.poisson(0.5 * sev * duration))
            amps = strength * arng.lognormal(0, 0.1, spurious.size)
            mix.wave += _events(mix.n, sr, spurious, amps, open_click)

        center, width, gain = self.flow
        flow = _band(mix.f, center, width) + 0.1 * _tilt(mix.f, 1.0) * center
        gate = _trapezoids(mix.t, opens, closes, 0.005, 1.0)
        mix.wave += mix.colored(flow, gain * level * (1 + 0.3 * clip.load), rng) * gate
        rig = 0.01 * _tilt(mix.f, 1.0) * self.rig[0].min()  # the rig's supply: pipe resonances
        for fc, bw, weight in zip(*self.rig, strict=True):
            rig += weight * _band(mix.f, fc, bw)
        mix.add_stationary(rig, 0.3 * level)
        if clip.kind == "leak":  # hiss that goes on while the valve is closed
            mix.add_stationary(_band(mix.f, arng.uniform(3000, 7000), 1000.0), 0.3 * sev * level)
        return level


_MACHINES: dict[str, type[_Machine]] = {
    "fan": _Fan,
    "pump": _Pump,
    "gearbox": _Gearbox,
    "slider": _Slider,
    "valve": _Valve,
}


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def _add_background(mix: _Mix, kind: str, rms: float, rng: np.random.Generator) -> None:
    """Background noise of the given kind and RMS."""
    f = mix.f
    if kind == "white":
        mix.add_stationary(np.ones_like(f), rms)
    elif kind == "pink":
        mix.add_stationary(_tilt(f, 1.0), rms)
    elif kind == "factory":  # rumble, mains hum and distant impacts
        mix.add_stationary(_tilt(f, 1.5, 30.0), 0.8 * rms)
        mains = rng.choice([50.0, 60.0])
        harmonics = mains * np.arange(1, 9)
        hum = _lines(f, harmonics[harmonics < 0.45 * mix.sr], 1.0 / np.arange(1, 9), 0.5)
        mix.add_stationary(hum, 0.5 * rms)
        duration = mix.t[-1] + mix.t[1]
        times = rng.uniform(0, duration, rng.poisson(0.5 * duration))
        clank = _ring(rng.uniform(300, 1500, 2), rng.uniform(0.02, 0.06, 2), [1, 0.5], mix.sr)
        mix.wave += _events(mix.n, mix.sr, times, rng.uniform(1, 3, times.size) * rms, clank)
    else:  # babble: speech-shaped noise with syllabic (2-6 Hz) level changes
        shape = _band(f, 500, 300) + 0.6 * _band(f, 1500, 500) + 0.3 * _band(f, 2500, 700)
        shape /= 1 + (100 / np.maximum(f, 1)) ** 4
        talk = mix.colored(shape, rms, rng)
        points = np.arange(-0.25, mix.t[-1] + 0.5, 0.25 / rng.uniform(1, 3))
        envelope = np.interp(mix.t, points, rng.gamma(2.0, 0.5, points.size))
        mix.wave += talk * (envelope / _rms(envelope)).astype(np.float32)


def _synthesize(clip: _Clip, machine: _Machine, n: int, sr: int) -> np.ndarray:
    """One float32 waveform of ``n`` samples."""
    rng, arng = np.random.default_rng(clip.seed), np.random.default_rng(clip.anomaly_seed)
    mix = _Mix(n, sr)
    level = machine.render(clip, mix, rng, arng)
    _add_background(mix, clip.noise, level * 10 ** (-clip.snr / 20), rng)
    return mix.render(rng)


# ---------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------


def _root_entropy(random_state) -> int | list[int]:
    """Entropy for all seed sequences, drawn without touching numpy's global state."""
    if random_state is None:
        return np.random.SeedSequence().entropy
    if isinstance(random_state, Integral):
        return int(random_state)
    if isinstance(random_state, np.random.Generator):
        return [int(v) for v in random_state.integers(0, 2**32, size=4)]
    return [int(v) for v in random_state.randint(0, 2**32, size=4, dtype=np.int64)]


def _check_machine_types(machine_types) -> tuple[str, ...]:
    types = (machine_types,) if isinstance(machine_types, str) else tuple(machine_types)
    if not types:
        raise ValueError("machine_types is empty; name at least one machine type.")
    unknown = [m for m in types if m not in _MACHINES]
    if unknown:
        raise ValueError(
            f"Unknown machine type(s) {unknown} in machine_types; choose from {list(_MACHINES)}."
        )
    if len(set(types)) < len(types):
        raise ValueError(f"machine_types {list(types)} names a machine type twice.")
    return types


def _check_kinds(types: tuple[str, ...], anomaly_kinds) -> dict[str, tuple[str, ...]]:
    """Anomaly kinds to use per machine type."""
    if isinstance(anomaly_kinds, str):  # "auto" (the only string validate_params lets in)
        return {m: _MACHINES[m].kinds for m in types}
    if isinstance(anomaly_kinds, Mapping):
        extra = sorted(set(anomaly_kinds) - set(types))
        if extra:
            raise ValueError(
                f"anomaly_kinds has keys {extra} that are not in machine_types {list(types)}."
            )
        chosen = {}
        for m in types:
            kinds = anomaly_kinds.get(m, _MACHINES[m].kinds)
            kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)
            wrong = [k for k in kinds if k not in _MACHINES[m].kinds]
            if wrong or not kinds:
                raise ValueError(
                    f"anomaly_kinds[{m!r}] = {list(kinds)} is not a non-empty list of kinds of "
                    f"machine type {m!r}; {m} kinds: {list(_MACHINES[m].kinds)}."
                )
            chosen[m] = kinds
        return chosen
    kinds = tuple(anomaly_kinds)
    every = {k for cls in _MACHINES.values() for k in cls.kinds}
    unknown = [k for k in kinds if k not in every]
    if unknown:
        raise ValueError(f"Unknown anomaly kind(s) {unknown}; known kinds: {sorted(every)}.")
    chosen = {m: tuple(k for k in kinds if k in _MACHINES[m].kinds) for m in types}
    for m, use in chosen.items():
        if not use:
            raise ValueError(
                f"None of anomaly_kinds {list(kinds)} applies to machine type {m!r}; "
                f"its kinds are {list(_MACHINES[m].kinds)}."
            )
    return chosen


@validate_params(
    {
        "machine_types": [str, "array-like"],
        "n_sections": [Interval(Integral, 1, None, closed="left")],
        "n_train": [Interval(Integral, 0, None, closed="left")],
        "n_train_target": [Interval(Integral, 0, None, closed="left")],
        "n_test": [Interval(Integral, 0, None, closed="left")],
        "duration": [Interval(Real, 0.1, None, closed="left")],
        "sr": [Interval(Integral, 8000, None, closed="left")],
        "anomaly_kinds": [StrOptions({"auto"}), "array-like", dict],
        "severity": [Interval(Real, 0, None, closed="left")],
        "domain_shift": ["boolean"],
        "chunk_size": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state", np.random.Generator],
    },
    prefer_skip_nested_validation=True,
)
def make_machine_sounds(
    *,
    machine_types: str | Sequence[str] = ("fan", "pump", "slider", "valve"),
    n_sections: int = 3,
    n_train: int = 30,
    n_train_target: int = 3,
    n_test: int = 10,
    duration: float = 2.0,
    sr: int = 16000,
    anomaly_kinds: str | Sequence[str] | Mapping[str, Sequence[str]] = "auto",
    severity: float = 1.0,
    domain_shift: bool = True,
    snr_db: tuple[int, int] | None = None,
    chunk_size: int | None = None,
    random_state: int | np.random.RandomState | np.random.Generator | None = None,
) -> tuple[np.ndarray | Iterator[np.ndarray], pd.DataFrame]:
    """Generate machine sounds with sections, domains and labelled anomalies.

    Like :func:`sklearn.datasets.make_blobs` for anomalous sound detection: a
    seeded, fast generator of single-channel machine recordings laid out like a
    DCASE Task 2 development set. Each section is a distinct machine instance
    (its own rated speed, harmonic profile, resonances and noise spectrum, so a
    section classifier can tell them apart). The training split holds normal
    clips only, most of them from the source domain; the test split holds normal
    and anomalous clips of both domains. Clips are float32 at plausible levels
    (machine RMS about -44 to -35 dBFS and crest factors like the DCASE
    recordings') and never clip: a clip whose peak would pass 0.99 is scaled
    down to 0.99 (only at extreme severities).

    Parameters
    ----------
    machine_types : str or sequence of str, default=("fan", "pump", "slider", "valve")
        Machine types to generate, in frame order. Available:

        - ``"fan"``: shaft harmonics with a strong blade-pass series, broadband
          airflow noise whose spectrum scales with the speed, structural resonances;
        - ``"pump"``: shaft harmonics with a vane-pass series, low-pass fluid noise,
          casing resonances;
        - ``"gearbox"``: weak shaft harmonics and gear-mesh harmonics with
          shaft-rate sidebands, housing resonances;
        - ``"slider"``: a slide moving back and forth: broadband motion noise under
          a trapezoidal velocity profile, servo whine whose pitch follows the
          velocity, end-stop knocks;
        - ``"valve"``: a solenoid valve cycling open and closed: a click at each
          opening and closing (resonant transients, timing jitter of a few ms),
          flow noise while open, and the steady sound of the rig's supply lines.

        Rotating machines turn at a slowly fluctuating speed (0.1-0.4 % random
        drift) and all machine types have a small random clip-to-clip spread.
    n_sections : int, default=3
        Sections (machine instances) per machine type, numbered 0 to
        ``n_sections - 1``. ``n_sections=1`` gives DCASE 2023-style data.
    n_train : int, default=30
        Normal source-domain training clips per section.
    n_train_target : int, default=3
        Normal target-domain training clips per section (DCASE 2022 has 990
        source and 10 target clips per section). Ignored when
        ``domain_shift=False``.
    n_test : int, default=10
        Test clips per section and domain; ``n_test // 2`` of them are anomalous
        and the rest normal.
    duration : float, default=2.0
        Clip length in seconds (at least 0.1); DCASE clips last 6 to 18 s.
    sr : int, default=16000
        Sample rate in Hz (at least 8000).
    anomaly_kinds : "auto", sequence of str or dict, default="auto"
        Kinds of anomaly to draw from. "auto" uses all kinds of each machine type;
        a sequence uses, for each machine type, the listed kinds that apply to it
        (each machine type needs at least one); a dict maps machine types to their
        kinds (types left out use all of theirs). Anomalous clips of a section
        cycle through its kinds in order. Kinds per machine type, with what a
        severity of 1 means:

        ================  ===========================================================
        machine types     kind
        ================  ===========================================================
        fan, pump,        ``"bearing"``: resonant impacts (2-6 kHz ring) at a
        gearbox           non-integer fault order of 2.8-5.6 with slip, half of
                          them modulated by the shaft (inner race); RMS 0.3 x level
        fan, pump,        ``"imbalance"``: first and second orders raised by 1 and
        gearbox           0.5 x the largest order, harmonics amplitude-modulated at
                          the shaft rate (depth 0.4, at most 0.9)
        fan, pump,        ``"harmonic_shift"``: order amplitudes scaled by
        gearbox           log-normal factors (sigma 0.7) and half orders at 0.2 of
                          their neighbours (looseness)
        fan, pump         ``"friction"``: rubbing, band-limited noise bursts
                          (1.5-5 kHz) pulsing with the shaft; RMS 0.4 x level
        gearbox           ``"tooth_damage"``: once-per-revolution burst of the mesh
                          harmonics (amplitude x 2.5 at the damaged tooth)
        slider            ``"friction"``: narrow-band squeal (1.5-6 kHz) during
                          about 60 % of the strokes; RMS 0.5 x level
        slider            ``"rail_damage"``: an impact at the same rail position on
                          every stroke, peak 4 x level
        slider            ``"stick_slip"``: sawtooth velocity ripple at 5-15 Hz
                          (depth 0.6, at most 0.9) with a tick at each slip
        valve             ``"missing_click"``: each click dropped with probability
                          0.3 (all clicks at severity >= 3.3)
        valve             ``"extra_click"``: armature bounce (0.8 x the closing
                          click) 10-40 ms after a closing click with probability
                          0.4, and spurious opening clicks at random times (0.5/s)
        valve             ``"leak"``: hiss (3-7 kHz) also while the valve is closed;
                          RMS 0.3 x level
        valve             ``"sticking"``: late closing (open time up to 30 % longer)
                          and irregular opening (5 % of the cycle)
        ================  ===========================================================

        "level" is the machine's reference RMS, the level the background SNR
        refers to.
    severity : float, default=1.0
        Scale of every anomaly; each anomalous clip draws its own severity
        uniformly in ``[0.5, 1.5] * severity``. Effects grow linearly with it
        (saturating where noted above). ``severity=0`` makes anomalous clips exact
        normal clips (still labelled 1). At 1, a crude detector (z-scores of
        per-band log-mel statistics) reaches an AUC of about 0.55-0.75 per machine
        type, 0.75-0.95 at 3: some kinds (friction, leak, bearing) are obvious,
        timing anomalies (extra_click, sticking) stay subtle.
    domain_shift : bool, default=True
        If True, every section has a target domain whose operating conditions
        differ from the source domain's in one attribute: section ``s`` shifts
        the speed (``s % 3 == 0``), the load (``s % 3 == 1``) or the background
        noise, kind and level (``s % 3 == 2``). If False, all clips are "source"
        (DCASE 2020-style) and ``n_train_target`` is ignored.
    snr_db : tuple of (int, int) or None, default=None
        Inclusive range of the machine-to-background ratio in dB that each clip
        draws its SNR from, e.g. ``(0, 6)`` for a noisy factory floor. None uses
        3 to 12 dB. Noise-shifted target clips draw from the same range moved
        6 dB lower (-3 to 6 dB by default).
    chunk_size : int or None, default=None
        If None, return all waveforms as one array. If an int, return instead a
        generator that synthesises the clips lazily in frame order, yielding
        float32 arrays of at most ``chunk_size`` clips, so that large data sets
        never have to fit in memory (pass it on to :func:`write_dcase_folder`,
        or to a feature transformer chunk by chunk). The clips are the same as
        with ``chunk_size=None``.
    random_state : int, RandomState instance, Generator or None, default=None
        Seeds everything. The same int gives the same waveforms and frame; a
        RandomState or Generator is drawn from once. None uses fresh operating
        system entropy (numpy's global random state is never used). Clips are
        seeded one by one (see Notes), so changing ``n_train`` or ``n_test`` does
        not change the clips the smaller setting also makes.

    Returns
    -------
    X : ndarray of shape (n_clips, n_samples) of float32, or generator
        The waveforms, ``n_samples = round(duration * sr)``; a generator of
        arrays of shape (at most chunk_size, n_samples) when ``chunk_size`` is set.
    frame : pandas.DataFrame of n_clips rows
        The metadata of the shared contract, as :func:`~sklasd.datasets.load_dcase`
        returns it: ``path`` (None until written), ``machine_type``, ``section``,
        ``domain``, ``split``, ``label`` (Int64), ``attributes`` (e.g.
        ``"spd_90_load_1_noise_factory"``) and ``attr_spd`` (speed in percent of
        the rated speed), ``attr_load`` (0-4), ``attr_noise`` (background kind:
        factory, pink, babble or white). Two more columns: ``snr`` (machine level
        over background in dB, int) and ``anomaly_kind`` ("" for normal clips).
        Rows run per machine type and section through the blocks train/source,
        train/target, then test normals and anomalies of the source and target
        domains.

    See Also
    --------
    write_dcase_folder : Write the clips as WAV files in the DCASE layout.
    sklearn.datasets.make_blobs : The clustering counterpart.

    Notes
    -----
    Source-domain attributes: speed 80, 90 or 100 %, load 1 or 2, background
    noise "factory" (rumble, 50/60 Hz hum, distant impacts) or "pink", SNR 3 to
    12 dB. The target domain replaces the shifted attribute by speed 60 or 120 %,
    load 0 or 4, or noise "babble" (speech-shaped, syllabic level changes) or
    "white" at an SNR of -3 to 6 dB.

    A clip's operating conditions, normal sound and anomaly come from
    ``SeedSequence(root, spawn_key=(1, type, section, block, index, stream))``
    with streams 0, 1 and 2; a section's machine from ``spawn_key=(0, type,
    section)``. Hence clips are independent of each other and of chunking, and
    an anomaly at severity 0 leaves its clip's normal sound untouched.

    A 10 s clip takes 10-15 ms of CPU time (measured on a busy 2-core machine):
    stationary noise is one inverse FFT, harmonics one wavetable look-up,
    transients a few kernel copies. Two thousand 10 s clips take about half a
    minute; with ``chunk_size`` they need no more memory than one chunk.

    Examples
    --------
    >>> from sklasd.datasets import make_machine_sounds
    >>> X, frame = make_machine_sounds(
    ...     machine_types=["fan", "valve"], n_sections=2, n_train=4, n_train_target=1,
    ...     n_test=4, duration=1.0, random_state=0)
    >>> X.shape, X.dtype
    ((52, 16000), dtype('float32'))
    >>> frame.groupby("split")["label"].agg(["size", "sum"]).to_dict("index")
    {'test': {'size': 32, 'sum': 16}, 'train': {'size': 20, 'sum': 0}}
    >>> frame["domain"].value_counts().to_dict()
    {'source': 32, 'target': 20}
    >>> print(frame.loc[0, "machine_type"], frame.loc[0, "section"], frame.loc[0, "attributes"])
    fan 0 spd_90_load_2_noise_factory
    """
    types = _check_machine_types(machine_types)
    kinds = _check_kinds(types, anomaly_kinds)
    snr_range = _check_snr(snr_db)
    n_samples = round(float(duration) * sr)
    entropy = _root_entropy(random_state)
    n_anomalies = n_test // 2
    counts = {
        ("train", "source", 0): n_train,
        ("train", "target", 0): n_train_target if domain_shift else 0,
        ("test", "source", 0): n_test - n_anomalies,
        ("test", "source", 1): n_anomalies,
        ("test", "target", 0): (n_test - n_anomalies) if domain_shift else 0,
        ("test", "target", 1): n_anomalies if domain_shift else 0,
    }
    if sum(counts.values()) == 0:
        raise ValueError(
            "make_machine_sounds would make no clips: n_train, n_test"
            + (" and n_train_target" if domain_shift else "")
            + " are all 0."
        )

    machines, clips = _plan(types, kinds, n_sections, counts, severity, snr_range, entropy)
    frame = _frame(clips)
    if chunk_size is not None:
        return _chunks(clips, machines, n_samples, sr, chunk_size), frame
    return _render(clips, machines, n_samples, sr), frame


def _check_snr(snr_db) -> tuple[int, int]:
    """The inclusive (low, high) SNR range in dB of the source-like clips."""
    if snr_db is None:
        return _SNR_DB
    try:
        low, high = (int(value) for value in snr_db)
    except (TypeError, ValueError):
        raise ValueError(
            f"snr_db must be a pair of integers (low, high) in dB or None, got {snr_db!r}."
        ) from None
    if low > high:
        raise ValueError(f"snr_db must have low <= high, got {snr_db!r}.")
    return low, high


def _plan(types, kinds, n_sections, counts, severity, snr_range, entropy):
    """Machine instances per (type, section) and the list of clips, in frame order."""
    machines, clips = {}, []
    for machine_type in types:
        type_id = list(_MACHINES).index(machine_type)  # seeds: new types go last
        for section in range(n_sections):
            seed = np.random.SeedSequence(entropy, spawn_key=(0, type_id, section))
            machines[machine_type, section] = _MACHINES[machine_type](np.random.default_rng(seed))
            for block_id, (split, domain, label) in enumerate(_BLOCKS):
                for j in range(counts[split, domain, label]):
                    meta, seed, anomaly_seed = (
                        np.random.SeedSequence(
                            entropy, spawn_key=(1, type_id, section, block_id, j, stream)
                        )
                        for stream in range(3)
                    )
                    kind = kinds[machine_type][j % len(kinds[machine_type])] if label else ""
                    clips.append(
                        _draw_clip(
                            np.random.default_rng(meta),
                            (machine_type, section, domain, split, label),
                            kind,
                            severity * label,
                            snr_range,
                            (seed, anomaly_seed),
                        )
                    )
    return machines, clips


def _draw_clip(rng, where, kind, severity, snr_range, seeds) -> _Clip:
    """Operating conditions of one clip, drawn from its metadata stream.

    ``where`` is (machine_type, section, domain, split, label).
    """
    section, domain = where[1], where[2]
    shift = _SHIFTS[section % len(_SHIFTS)]
    values = dict(_SOURCE_VALUES)
    if domain == "target":
        values[shift] = _TARGET_VALUES[shift]
    noisy = domain == "target" and shift == "noise"
    low, high = snr_range
    if noisy:  # the noise-shifted target domain is as much noisier as the defaults say
        drop = _SNR_DB[0] - _SNR_DB_NOISE_SHIFT[0]
        low, high = low - drop, high - drop
    spd, load, noise = (values[key][rng.integers(len(values[key]))] for key in _SHIFTS)
    snr = int(rng.integers(low, high + 1))
    severity *= rng.uniform(0.5, 1.5)
    return _Clip(*where, spd, load, noise, snr, kind, severity, *seeds)


def _frame(clips: list[_Clip]) -> pd.DataFrame:
    """The metadata frame (shared contract plus ``snr`` and ``anomaly_kind``)."""

    def text(values):
        return pd.Series(values, dtype=object)

    attrs = {key: [str(getattr(clip, key)) for clip in clips] for key in _SHIFTS}
    return pd.DataFrame(
        {
            "path": text([None] * len(clips)),
            "machine_type": text([clip.machine_type for clip in clips]),
            "section": np.array([clip.section for clip in clips], dtype=np.int64),
            "domain": text([clip.domain for clip in clips]),
            "split": text([clip.split for clip in clips]),
            "label": pd.array([clip.label for clip in clips], dtype="Int64"),
            "attributes": text(
                ["_".join(f"{key}_{getattr(clip, key)}" for key in _SHIFTS) for clip in clips]
            ),
            **{f"attr_{key}": text(values) for key, values in attrs.items()},
            "snr": np.array([clip.snr for clip in clips], dtype=np.int64),
            "anomaly_kind": text([clip.kind for clip in clips]),
        }
    )


def _render(clips, machines, n_samples, sr) -> np.ndarray:
    X = np.empty((len(clips), n_samples), dtype=np.float32)
    for i, clip in enumerate(clips):
        X[i] = _synthesize(clip, machines[clip.machine_type, clip.section], n_samples, sr)
    return X


def _chunks(clips, machines, n_samples, sr, size) -> Iterator[np.ndarray]:
    for start in range(0, len(clips), size):
        yield _render(clips[start : start + size], machines, n_samples, sr)


_NAME_COLUMNS = ("machine_type", "section", "domain", "split", "label", "attributes")


def _file_names(frame: pd.DataFrame, naming: str) -> list[str]:
    """Relative file names (``<machine_type>/<split>/<name>.wav``) of the frame's rows."""
    missing = [c for c in _NAME_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"frame lacks the column(s) {missing} needed to name the files.")
    allowed = {"domain": ("source", "target"), "split": ("train", "test"), "label": (0, 1)}
    for column, values in allowed.items():
        bad = frame.index[~frame[column].isin(values).to_numpy(dtype=bool)]
        if len(bad):
            raise ValueError(
                f"frame[{column!r}] must be one of {list(values)} to name a file; row "
                f"{bad[0]!r} has {frame.at[bad[0], column]!r}."
            )
    for column in ("machine_type", "attributes"):
        text = frame[column].fillna("").astype(str)
        bad = frame.index[text.str.contains(r"[/\\\s]", regex=True).to_numpy(dtype=bool)]
        if column == "machine_type":
            bad = bad.union(frame.index[(text == "").to_numpy()])
        if len(bad):
            raise ValueError(
                f"frame[{column!r}] of row {bad[0]!r} is {frame.at[bad[0], column]!r}, which "
                "cannot be part of a file name (empty, or with a separator or blank)."
            )
    section = pd.to_numeric(frame["section"], errors="coerce")
    bad = frame.index[
        ~(section.notna() & (section >= 0) & (section % 1 == 0)).to_numpy(dtype=bool)
    ]
    if len(bad):
        raise ValueError(
            f"frame['section'] must hold non-negative integers; row {bad[0]!r} has "
            f"{frame.at[bad[0], 'section']!r}."
        )
    if naming == "dcase2020" and (frame["domain"] == "target").any():
        row = frame.index[(frame["domain"] == "target").to_numpy()][0]
        raise ValueError(
            f"naming='dcase2020' cannot store the domain, but row {row!r} is a target-domain "
            "clip; use naming='dcase2022'."
        )

    keys = ["machine_type", "section", "split", "label"]
    if naming == "dcase2022":
        keys.insert(2, "domain")
    table = frame[keys].assign(section=section.astype(np.int64))
    index = table.groupby(keys, sort=False).cumcount().to_numpy()
    attributes = frame["attributes"].fillna("").astype(str).to_numpy()
    names = []
    for i, (machine_type, sec, *rest) in enumerate(table.itertuples(index=False)):
        state = "anomaly" if rest[-1] == 1 else "normal"
        split = rest[-2]
        if naming == "dcase2022":
            tail = f"_{attributes[i]}" if attributes[i] else ""
            name = f"section_{sec:02d}_{rest[0]}_{split}_{state}_{index[i]:04d}{tail}.wav"
        else:
            name = f"{state}_id_{sec:02d}_{index[i]:08d}.wav"
        names.append(f"{machine_type}/{split}/{name}")
    return names


def _iter_clips(X) -> Iterator[np.ndarray]:
    """Clips one by one from a 2-D array or an iterable of clips / 2-D chunks."""
    if isinstance(X, np.ndarray):
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D (n_clips, n_samples), got shape {X.shape}.")
        yield from X
        return
    for item in X:
        item = np.asarray(item)
        if item.ndim == 1:
            yield item
        elif item.ndim == 2:
            yield from item
        else:
            raise ValueError(f"X yields an array of shape {item.shape}; expected 1-D or 2-D.")


@validate_params(
    {
        "root": [str, os.PathLike],
        "X": ["array-like", Iterable],
        "frame": [pd.DataFrame],
        "sr": [Interval(Integral, 1, None, closed="left")],
        "naming": [StrOptions({"dcase2022", "dcase2020"})],
        "subtype": [StrOptions({"PCM_16", "PCM_24", "FLOAT"})],
        "overwrite": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def write_dcase_folder(
    root: str | os.PathLike,
    X: np.ndarray | Iterable[np.ndarray],
    frame: pd.DataFrame,
    *,
    sr: int = 16000,
    naming: str = "dcase2022",
    subtype: str = "PCM_16",
    overwrite: bool = False,
) -> pd.DataFrame:
    """Write clips as WAV files in the DCASE Task 2 folder layout.

    Parameters
    ----------
    root : str or os.PathLike
        Folder to write into (created if needed); files go to
        ``<root>/<machine_type>/<split>/``.
    X : array-like of shape (n_clips, n_samples), or iterable of arrays
        The waveforms in frame order, in [-1, 1] for PCM subtypes. Instead of one
        array, an iterable of 1-D clips or 2-D chunks (such as the generator
        :func:`make_machine_sounds` returns with ``chunk_size``) is written as it
        comes, holding only one chunk in memory.
    frame : pandas.DataFrame of n_clips rows
        Metadata of the shared contract; the columns ``machine_type``,
        ``section`` (non-negative int), ``domain`` ("source"/"target"),
        ``split`` ("train"/"test"), ``label`` (0/1, no missing values) and
        ``attributes`` (str, "" for none) name the files.
    sr : int, default=16000
        Sample rate written into the files.
    naming : {"dcase2022", "dcase2020"}, default="dcase2022"
        File-name scheme. "dcase2022" (DCASE 2021-2025):
        ``section_XX_<domain>_<split>_<normal|anomaly>_NNNN[_<attributes>].wav``,
        NNNN counting within (machine type, section, domain, split, label).
        "dcase2020": ``<normal|anomaly>_id_XX_NNNNNNNN.wav``, NNNNNNNN counting
        within (machine type, section, split, label); it has no place for the
        domain (target-domain rows raise an error) nor the attributes (dropped).
    subtype : {"PCM_16", "PCM_24", "FLOAT"}, default="PCM_16"
        Sample format. "PCM_16" is what the DCASE data sets ship; it quantises
        to steps of 1/32768. "FLOAT" stores float32 losslessly.
    overwrite : bool, default=False
        Whether existing files of the same names may be replaced.

    Returns
    -------
    frame : pandas.DataFrame
        A copy of ``frame`` (same index and columns) with ``path`` set to the
        written files (str, under ``root`` as given).

    Raises
    ------
    ValueError
        If a row cannot be named (the message names the row and value), the
        number of clips differs from the number of rows, a clip is not 1-D or
        holds NaN/infinity, or (PCM) a sample lies outside [-1, 1]. With an
        iterable ``X``, files before the offending clip are already written.
    FileExistsError
        If a target file exists and ``overwrite`` is False (checked before
        anything is written).

    See Also
    --------
    make_machine_sounds : Synthetic clips with a frame to write.
    load_dcase : Read such a folder back into a frame.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from sklasd.datasets import make_machine_sounds, write_dcase_folder
    >>> X, frame = make_machine_sounds(
    ...     machine_types="valve", n_sections=1, n_train=2, n_train_target=1, n_test=2,
    ...     duration=0.5, random_state=0)
    >>> with tempfile.TemporaryDirectory() as root:
    ...     written = write_dcase_folder(root, X, frame)
    ...     names = [Path(p).relative_to(root).as_posix() for p in written["path"]]
    >>> print("\\n".join(names[:3]))
    valve/train/section_00_source_train_normal_0000_spd_100_load_2_noise_pink.wav
    valve/train/section_00_source_train_normal_0001_spd_90_load_1_noise_pink.wav
    valve/train/section_00_target_train_normal_0000_spd_120_load_1_noise_pink.wav
    """
    names = _file_names(frame, naming)
    if isinstance(X, np.ndarray) and X.ndim == 2 and X.shape[0] != len(frame):
        raise ValueError(f"X has {X.shape[0]} clips but frame has {len(frame)} rows.")
    root = Path(root)
    paths = [root / name for name in names]
    if not overwrite:
        existing = next((p for p in paths if p.exists()), None)
        if existing is not None:
            raise FileExistsError(
                f"{existing} exists; pass overwrite=True to replace existing files."
            )
    pcm = subtype != "FLOAT"
    count = 0
    for count, clip in enumerate(_iter_clips(X), start=1):
        if count > len(paths):
            raise ValueError(f"X has more clips than frame has rows ({len(frame)}).")
        row = frame.index[count - 1]
        if clip.ndim != 1 or not np.all(np.isfinite(clip)):
            raise ValueError(f"Clip of row {row!r} must be 1-D and finite.")
        if pcm and clip.size and np.abs(clip).max() > 1:
            raise ValueError(
                f"Clip of row {row!r} exceeds [-1, 1] (peak {np.abs(clip).max():.3g}); "
                f"{subtype} would clip it. Scale it down or use subtype='FLOAT'."
            )
        paths[count - 1].parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(paths[count - 1], "wb") as handle:
            sf.write(handle, clip, sr, subtype=subtype, format="WAV")
    if count != len(paths):
        raise ValueError(f"X has {count} clips but frame has {len(frame)} rows.")
    written = frame.copy()
    written["path"] = pd.Series([str(p) for p in paths], index=frame.index, dtype=object)
    return written
