"""The synthetic machines (fan, pump, gearbox, slider, valve) and their backgrounds.

One instance per (machine type, section) draws its own parameters; :func:`_synthesize`
renders one clip of it (machine sound, anomaly and background noise at the clip's
signal-to-background ratio) from the clip's seeds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sklasd.datasets._synth_signal import (
    _SINE_TABLE,
    _TABLE,
    _band,
    _bursts,
    _events,
    _lines,
    _Mix,
    _ring,
    _Rotor,
    _tilt,
    _trapezoids,
    _wavetable,
)


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
