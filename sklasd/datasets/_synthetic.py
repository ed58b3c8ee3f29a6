"""Synthetic machine sounds with DCASE-like sections, domains and anomalies.

:func:`make_machine_sounds` is to anomalous sound detection what
:func:`sklearn.datasets.make_blobs` is to clustering: a fast, seeded generator of
plausible data with known ground truth; :func:`~sklasd.datasets.write_dcase_folder`
writes its clips as WAV files in the DCASE Task 2 folder layout. The signal building
blocks are in ``_synth_signal.py``, the machines in ``_synth_machines.py``.

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

from collections.abc import Iterator, Mapping, Sequence
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from sklasd.datasets._synth_machines import _MACHINES, _Clip, _synthesize

__all__ = ["make_machine_sounds"]

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
        normal clips (still labelled 1). Some kinds (friction, leak, bearing) are
        obvious at 1, timing anomalies (extra_click, sticking) stay subtle; the
        user guide gives the AUC a crude detector reaches.
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

    Stationary noise is one inverse FFT, harmonics one wavetable look-up,
    transients a few kernel copies (the user guide gives the time per clip);
    with ``chunk_size`` the clips need no more memory than one chunk.

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
