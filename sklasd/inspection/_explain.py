"""Where a clip departs from normal: its log-mel against the section's normal statistics."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any, ClassVar

import librosa
import numpy as np
from numpy.typing import ArrayLike
from scipy.ndimage import uniform_filter
from sklearn.base import BaseEstimator, _fit_context, clone
from sklearn.utils import _safe_indexing, check_random_state, gen_batches
from sklearn.utils._optional_dependencies import check_matplotlib_support
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from sklasd.base import VersionStampMixin
from sklasd.features import LogMel
from sklasd.utils import check_clips, check_section

__all__ = ["Explanation", "ExplanationDisplay", "LogMelExplainer"]

# Window sizes (bands, frames) over which the mean z of a clip is compared: a tone is narrow
# and long, a click broad and short, a raised band both. Single cells are left out: the
# log-power of noise has a long lower tail, so some cell of every clip lies far below its
# band's mean.
_WINDOWS = [(b, f) for b in (1, 4, 16) for f in (1, 4, 16) if (b, f) != (1, 1)]
# A window's strength is |mean z| * cells ** _SIZE_WEIGHT: the mean of more cells is less
# likely by chance (0.5 would treat cells as independent, which neighbouring STFT frames
# and mel bands are not, and would let faint broad shifts outweigh clear local events).
_SIZE_WEIGHT = 0.25
# From the best window, the region extends along time, then along frequency, while the
# deviation stays above this share of the window's mean.
_GROW = 0.5
# Ranges in words use an en dash, "1.0–1.3 s".
_DASH = "\u2013"


def _grow(profile: np.ndarray, inside: slice, level: float) -> tuple[int, int]:
    """The run of ``profile >= _GROW * level`` around the largest value in ``inside``."""
    keep = profile >= _GROW * level
    peak = inside.start + int(np.argmax(profile[inside]))
    start, stop = peak, peak
    while start > 0 and keep[start - 1]:
        start -= 1
    while stop < len(profile) - 1 and keep[stop + 1]:
        stop += 1
    return start, stop


def _window(centre: int, size: int, length: int) -> slice:
    """The ``size`` indices that uniform_filter averages around ``centre``, clipped."""
    start = centre - size // 2
    return slice(max(0, start), min(length, start + size))


def _most_deviant_region(z: np.ndarray, edge: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """Frames and bands of the most deviant region of a z map (bands x frames).

    The ``edge`` first and last frames (their STFT windows reach past the clip) are left
    out. The window of :data:`_WINDOWS` with the largest ``|mean z| * cells ** 0.25``
    gives the place and the sign; the region then grows along time over the frames where the
    window's bands deviate by at least half the window's mean, and along frequency over
    the bands where those frames do.
    """
    search = z.copy()
    edge = edge if z.shape[1] > 2 * edge else 0
    if edge:
        search[:, :edge] = search[:, -edge:] = 0.0
    best = (-1.0, None, None)
    for size in _WINDOWS:
        size = (min(size[0], z.shape[0]), min(size[1], z.shape[1]))
        strength = uniform_filter(search, size=size, mode="constant") * np.prod(size) ** (
            _SIZE_WEIGHT
        )
        peak = np.unravel_index(np.argmax(np.abs(strength)), strength.shape)
        if abs(strength[peak]) > best[0]:
            best = (abs(strength[peak]), size, peak)
    _, size, (peak_band, peak_frame) = best
    bands = _window(peak_band, size[0], z.shape[0])
    frames = _window(peak_frame, size[1], z.shape[1])
    deviation = np.sign(search[bands, frames].mean()) * search
    profile = uniform_filter(deviation[bands].mean(axis=0), size=3, mode="constant")
    level = profile[frames].mean()
    if edge:
        profile[:edge] = profile[-edge:] = -np.inf
    first, last = _grow(profile, frames, level)
    profile = deviation[:, first : last + 1].mean(axis=1)
    return (first, last), _grow(profile, bands, profile[bands].mean())


def _colour_limit(explanations: list[Explanation]) -> float:
    """dB limit of a colour scale for these maps: the 99th percentile of their |excess|, at
    least 10 dB (the largest values lie at a clip's ``top_db`` floor, in its quiet
    stretches, and would wash out everything else)."""
    excess = np.concatenate([np.abs(e.excess_db).ravel() for e in explanations])
    return max(10.0, float(np.percentile(excess, 99)))


def _format_seconds(start: float, stop: float) -> str:
    decimals = 1 if round(start, 1) != round(stop, 1) else 2
    return f"{start:.{decimals}f}{_DASH}{stop:.{decimals}f} s"


def _format_hz(value: float, *, unit: bool = True) -> str:
    if value >= 1000:
        return f"{value / 1000:.1f}" + (" kHz" if unit else "")
    return f"{value:.0f}" + (" Hz" if unit else "")


def _format_band(low: float, high: float) -> str:
    if (low >= 1000) == (high >= 1000):  # one unit for both ends
        return f"{_format_hz(low, unit=False)}{_DASH}{_format_hz(high)}"
    return f"{_format_hz(low)}{_DASH}{_format_hz(high)}"


@dataclass(frozen=True, eq=False)
class Explanation:
    """Where one clip departs from the normal clips of its section, in time and frequency.

    Returned by :meth:`LogMelExplainer.explain`, one per clip. The map is the clip's
    log-mel spectrogram minus the mean log-mel of the section's normal training clips,
    band by band (``excess_db``), and the same divided by the bands' standard deviations
    (``z``). The *region* is the most deviant time span and band range: among windows of
    1, 4 or 16 bands by 1, 4 or 16 frames, the one with the largest ``|mean z|`` times
    the fourth root of its number of cells (so that a long faint shift and a short loud
    click can be compared), grown along time and then along frequency while the
    deviation stays above half the window's mean. The first and last frame (whose
    STFT windows reach past the clip and hold zero padding) never belong to it.

    Parameters
    ----------
    excess_db : ndarray of shape (n_mels, n_frames)
        Log-mel of the clip minus the section's mean log-mel of every band, in dB.
    z : ndarray of shape (n_mels, n_frames)
        ``excess_db`` divided by the section's standard deviation of every band.
    times : ndarray of shape (n_frames,)
        Centre of every frame, in seconds from the start of the clip.
    frequencies : ndarray of shape (n_mels,)
        Centre frequency of every mel band, in Hz.
    band_edges : ndarray of shape (n_mels + 1,)
        Where neighbouring mel bands cross, in Hz (the first and last are the
        filterbank's ``fmin`` and ``fmax`` side): band ``b`` covers
        ``band_edges[b]`` to ``band_edges[b + 1]``.
    frames : tuple of (int, int)
        First and last frame of the region.
    bands : tuple of (int, int)
        First and last mel band of the region.
    section : object
        The section whose statistics the clip was compared with (None when the explainer
        was fitted without sections).
    clip : str or int
        The clip's file path, or its row in the waveform array.
    duration : float
        Length of the clip in seconds (from its frames).

    Attributes
    ----------
    span : tuple of (float, float)
        Start and end of the region, in seconds.
    band : tuple of (float, float)
        Lowest and highest frequency of the region, in Hz.
    level_db : float
        Mean of ``excess_db`` over the region: positive where the clip is louder than
        normal there, negative where it is quieter.
    mean_z : float
        Mean of ``z`` over the region.
    text : str
        The region in words, e.g. ``"1.0–1.3 s, 3.4–3.7 kHz, +15 dB over normal"``.

    See Also
    --------
    LogMelExplainer : Computes explanations.
    ExplanationDisplay : Draws one.

    Examples
    --------
    >>> import numpy as np
    >>> from sklasd.inspection import LogMelExplainer
    >>> rng = np.random.default_rng(0)
    >>> normal = 0.1 * rng.standard_normal((4, 16000)).astype(np.float32)
    >>> clip = normal[:1].copy()
    >>> clip[0, 8000:12000] += 0.3 * np.sin(2 * np.pi * 1000 * np.arange(4000) / 16000)
    >>> explanation = LogMelExplainer().fit(normal).explain(clip)[0]
    >>> explanation.excess_db.shape == explanation.z.shape
    True
    >>> explanation.text
    '0.5–0.8 s, 970 Hz–1.0 kHz, +24 dB over normal'
    """

    excess_db: np.ndarray
    z: np.ndarray
    times: np.ndarray
    frequencies: np.ndarray
    band_edges: np.ndarray
    frames: tuple[int, int]
    bands: tuple[int, int]
    section: Any
    clip: str | int
    duration: float

    @property
    def span(self) -> tuple[float, float]:
        hop = self.times[1] - self.times[0] if len(self.times) > 1 else self.duration
        start = max(0.0, float(self.times[self.frames[0]] - hop / 2))
        stop = min(self.duration, float(self.times[self.frames[1]] + hop / 2))
        return start, stop

    @property
    def band(self) -> tuple[float, float]:
        return float(self.band_edges[self.bands[0]]), float(self.band_edges[self.bands[1] + 1])

    def _region(self, values: np.ndarray) -> np.ndarray:
        return values[self.bands[0] : self.bands[1] + 1, self.frames[0] : self.frames[1] + 1]

    @property
    def level_db(self) -> float:
        return float(self._region(self.excess_db).mean())

    @property
    def mean_z(self) -> float:
        return float(self._region(self.z).mean())

    @property
    def text(self) -> str:
        level = self.level_db
        relation = f"+{level:.0f} dB over" if level >= 0 else f"{-level:.0f} dB below"
        return f"{_format_seconds(*self.span)}, {_format_band(*self.band)}, {relation} normal"


class LogMelExplainer(VersionStampMixin, BaseEstimator):
    """Explain clips by where their log-mel departs from the normal clips of their section.

    ``fit`` learns, for every section, the mean and standard deviation of every mel band's
    log-mel values over all frames of its normal training clips. ``explain`` gives, for
    every clip, a time x frequency map of how far its log-mel lies from those statistics
    (in dB and in standard deviations) and names the most deviant time span and band in
    words, e.g. "2.1–2.4 s, 3.4–3.9 kHz, +14 dB over normal" (see :class:`Explanation`).
    The map does not depend on a detector: it says where a clip sounds unusual for its
    section, which is where a clip-level detector's high score most likely comes from.

    Parameters
    ----------
    logmel : LogMel, default=None
        The log-mel transformer (cloned in ``fit``); None means
        :class:`~sklasd.features.LogMel` with its defaults. Its ``channel`` chooses the
        microphone of multi-channel recordings.
    min_std : float, default=1.0
        Floor of the bands' standard deviations in dB, so that a band that is constant in
        the training clips (e.g. at the ``top_db`` floor) does not turn a small change
        into a huge z-score.
    max_clips : int, default=None
        Fit on at most this many clips per section, drawn at random (the statistics settle
        after a few dozen clips; reading every training clip twice, once for the detector
        and once here, costs time). None uses every clip.
    random_state : int, RandomState instance or None, default=None
        Seed of the draw of ``max_clips``.

    Attributes
    ----------
    logmel_ : LogMel
        The fitted log-mel transformer.
    sections_ : ndarray of shape (n_sections,) or None
        Sections seen in ``fit``, sorted; None when fitted without sections.
    mean_ : ndarray of shape (n_sections, n_mels)
        Mean log-mel of every band per section, in dB (one row when fitted without
        sections).
    std_ : ndarray of shape (n_sections, n_mels)
        Standard deviation of every band per section, at least ``min_std``, in dB.
    n_clips_ : ndarray of shape (n_sections,)
        Number of clips the statistics of every section come from.
    frequencies_ : ndarray of shape (n_mels,)
        Centre frequency of every mel band, in Hz.
    band_edges_ : ndarray of shape (n_mels + 1,)
        Where neighbouring mel bands cross, in Hz.

    See Also
    --------
    ExplanationDisplay : Draw an explanation.
    sklasd.features.LogMel : The features compared.
    sklasd.inspection.write_run_report : Shows the explanations of the most anomalous
        clips.

    Notes
    -----
    The statistics are per band over frames, so they describe a section's steady sound.
    For machines with a cycle (a valve's clicks, a slider's strokes), the loud moments of
    the cycle stand out a little in every clip; compare a clip's map with a normal
    clip's before reading much into a deviation of a few dB.

    Examples
    --------
    >>> import numpy as np
    >>> import sklearn
    >>> from sklasd.datasets import make_machine_sounds
    >>> from sklasd.features import LogMel
    >>> from sklasd.inspection import LogMelExplainer
    >>> X, meta = make_machine_sounds(machine_types="fan", n_sections=2, n_train=5,
    ...                               n_test=2, duration=1.0, random_state=0)
    >>> train = (meta["split"] == "train").to_numpy()
    >>> explainer = LogMelExplainer(logmel=LogMel(n_mels=64))
    >>> explainer.fit(X[train], section=meta["section"][train]).mean_.shape
    (2, 64)
    >>> clip = X[~train][:1].copy()
    >>> t = np.arange(1600) / 16000
    >>> clip[0, 8000:9600] += 0.05 * np.sin(2 * np.pi * 3500 * t)  # 0.5-0.6 s, 3.5 kHz
    >>> explanation = explainer.explain(clip, section=meta["section"][~train][:1])[0]
    >>> low, high = explanation.band
    >>> bool(low <= 3500 <= high)
    True
    >>> explanation.text
    '0.5–0.6 s, 3.3–3.6 kHz, +24 dB over normal'
    """

    __metadata_request__fit: ClassVar[dict] = {"section": True}

    _parameter_constraints: ClassVar[dict] = {
        "logmel": [LogMel, None],
        "min_std": [Interval(Real, 0, None, closed="neither")],
        "max_clips": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
    }

    def __init__(self, *, logmel=None, min_std=1.0, max_clips=None, random_state=None):
        self.logmel = logmel
        self.min_std = min_std
        self.max_clips = max_clips
        self.random_state = random_state

    def _edge_frames(self) -> int:
        """Frames at each end whose STFT window reaches past the clip (zero padding)."""
        return math.ceil(self.logmel_.n_fft / 2 / self.logmel_.hop_length)

    def _features(self, X: list[str] | np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Log-mel of the clips at ``rows``, shape (n_rows, n_mels, n_frames), float64."""
        features = self.logmel_.transform(_safe_indexing(X, rows))
        return np.asarray(features, dtype=np.float64)[:, 0]

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X: Any, y: None = None, *, section: ArrayLike | None = None) -> LogMelExplainer:
        """Learn the per-band log-mel statistics of every section's normal clips.

        Parameters
        ----------
        X : sequence of str of length n_clips, or array-like of shape (n_clips, n_samples)
            Normal clips: audio file paths or waveforms.
        y : None
            Ignored (the clips are taken to be normal).
        section : array-like of shape (n_clips,), default=None
            Section of every clip; None: one set of statistics for all clips.

        Returns
        -------
        self : LogMelExplainer
            The fitted explainer.
        """
        X = check_clips(X)
        n_clips = len(X)
        section = check_section(section, n_clips)
        self.logmel_ = clone(LogMel() if self.logmel is None else self.logmel).fit(X)
        groups = np.zeros(n_clips, dtype=int) if section is None else None
        if section is None:
            self.sections_ = None
        else:
            self.sections_, groups = np.unique(section, return_inverse=True)
        rng = check_random_state(self.random_state)
        n_groups = groups.max() + 1
        sums = np.zeros((n_groups, self.logmel_.n_mels))
        squares = np.zeros_like(sums)
        counts = np.zeros(n_groups)
        self.n_clips_ = np.zeros(n_groups, dtype=int)
        rows, edge = np.arange(n_clips), self._edge_frames()
        for group in range(n_groups):
            own = rows[groups == group]
            if self.max_clips is not None and own.size > self.max_clips:
                own = np.sort(rng.choice(own, self.max_clips, replace=False))
            self.n_clips_[group] = own.size
            for batch in gen_batches(own.size, self.logmel_.batch_size):
                features = self._features(X, own[batch])
                if features.shape[2] > 2 * edge:
                    features = features[:, :, edge : features.shape[2] - edge]
                sums[group] += features.sum(axis=(0, 2))
                squares[group] += (features**2).sum(axis=(0, 2))
                counts[group] += features.shape[0] * features.shape[2]
        self.mean_ = sums / counts[:, None]
        variance = np.maximum(squares / counts[:, None] - self.mean_**2, 0.0)
        self.std_ = np.maximum(np.sqrt(variance), self.min_std)
        fmax = self.logmel_._check_fmax()
        points = librosa.mel_frequencies(
            n_mels=self.logmel_.n_mels + 2, fmin=self.logmel_.fmin, fmax=fmax
        )
        self.frequencies_ = points[1:-1]
        self.band_edges_ = np.concatenate(
            [[points[0]], (points[1:-2] + points[2:-1]) / 2, [points[-1]]]
        )
        return self

    def _groups(self, section: ArrayLike | None, n_clips: int) -> tuple[np.ndarray, list]:
        """Row of ``mean_`` of every clip, and the section of every clip."""
        section = check_section(section, n_clips)
        if self.sections_ is None:
            return np.zeros(n_clips, dtype=int), [None] * n_clips
        if section is None:
            raise ValueError(
                "This LogMelExplainer was fitted with sections "
                f"{self.sections_.tolist()}; pass section= to explain."
            )
        unknown = sorted(set(section.tolist()) - set(self.sections_.tolist()), key=str)
        if unknown:
            raise ValueError(
                f"section values {unknown} were not seen in fit (seen: "
                f"{self.sections_.tolist()}); fit the explainer on normal clips of them."
            )
        return np.searchsorted(self.sections_, section), section.tolist()

    def explain(self, X: Any, *, section: ArrayLike | None = None) -> list[Explanation]:
        """Map where every clip departs from its section's normal clips.

        Parameters
        ----------
        X : sequence of str of length n_clips, or array-like of shape (n_clips, n_samples)
            Clips to explain: audio file paths or waveforms.
        section : array-like of shape (n_clips,), default=None
            Section of every clip; needed when the explainer was fitted with sections.

        Returns
        -------
        explanations : list of Explanation of length n_clips
            One :class:`Explanation` per clip, in order.

        Raises
        ------
        ValueError
            If ``section`` is missing or names a section not seen in ``fit``.
        """
        check_is_fitted(self)
        X = check_clips(X)
        groups, sections = self._groups(section, len(X))
        hop_seconds = self.logmel_.hop_length / self.logmel_.sr
        explanations = []
        for batch in gen_batches(len(X), self.logmel_.batch_size):
            rows = np.arange(len(X))[batch]
            features = self._features(X, rows)
            n_frames = features.shape[2]
            times = np.arange(n_frames) * hop_seconds
            for row, spectrogram in zip(rows, features, strict=True):
                mean, std = self.mean_[groups[row]], self.std_[groups[row]]
                excess = spectrogram - mean[:, None]
                z = excess / std[:, None]
                frames, bands = _most_deviant_region(z, self._edge_frames())
                explanations.append(
                    Explanation(
                        excess_db=excess,
                        z=z,
                        times=times,
                        frequencies=self.frequencies_,
                        band_edges=self.band_edges_,
                        frames=frames,
                        bands=bands,
                        section=sections[row],
                        clip=X[row] if isinstance(X, list) else int(row),
                        duration=(n_frames - 1) * hop_seconds,
                    )
                )
        return explanations


class ExplanationDisplay:
    """A clip's departure from normal as a time x frequency map, its region boxed.

    Draws ``excess_db`` of an :class:`Explanation` (the clip's log-mel minus its
    section's mean, in dB) on a diverging colour scale centred at 0 (red: louder than
    normal, blue: quieter), mel bands on the vertical axis labelled in Hz, and a box
    around the most deviant region; the title is the clip's name over the region's
    description.

    Build it with :meth:`from_explanation` or :meth:`from_estimator`; all parameters are
    stored as attributes.

    Parameters
    ----------
    explanation : Explanation
        The explanation to draw.
    name : str, default=None
        Name of the clip, shown in the title; None uses the clip's file name (or its
        row).

    Attributes
    ----------
    image_ : matplotlib AxesImage
        The map.
    box_ : matplotlib Rectangle
        The box around the region.
    colorbar_ : matplotlib Colorbar or None
        The colour bar (None with ``colorbar=False``).
    ax_ : matplotlib Axes
        Axes holding the map.
    figure_ : matplotlib Figure
        Figure holding the Axes.

    See Also
    --------
    LogMelExplainer : Computes explanations.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from sklasd.inspection import ExplanationDisplay, LogMelExplainer
    >>> rng = np.random.default_rng(0)
    >>> normal = 0.1 * rng.standard_normal((4, 16000)).astype(np.float32)
    >>> explainer = LogMelExplainer().fit(normal)
    >>> display = ExplanationDisplay.from_estimator(explainer, normal[:1], name="clip 0")
    >>> display.ax_.get_xlabel(), display.ax_.get_ylabel()
    ('Time (s)', 'Frequency (Hz)')
    >>> plt.close(display.figure_)
    """

    def __init__(self, *, explanation: Explanation, name: str | None = None) -> None:
        self.explanation = explanation
        self.name = name

    def plot(
        self,
        ax: Any = None,
        *,
        name: str | None = None,
        vmax: float | None = None,
        colorbar: bool = True,
        cmap: str = "RdBu_r",
    ) -> ExplanationDisplay:
        """Draw the map.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; None creates a figure.
        name : str, default=None
            Name of the clip in the title; None uses ``self.name``.
        vmax : float, default=None
            Colour scale limit in dB (the scale runs from ``-vmax`` to ``vmax``); None
            uses the 99th percentile of the clip's ``|excess_db|``, at least 10 dB.
        colorbar : bool, default=True
            Draw a colour bar.
        cmap : str, default="RdBu_r"
            Diverging matplotlib colour map.

        Returns
        -------
        display : ExplanationDisplay
            The display, with ``image_``, ``box_``, ``ax_`` and ``figure_`` set.
        """
        check_matplotlib_support(f"{type(self).__name__}.plot")
        from matplotlib.patches import Rectangle

        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots(figsize=(6.4, 3.6), layout="constrained")
        e = self.explanation
        name = self.name if name is None else name
        if name is None:
            name = os.path.basename(e.clip) if isinstance(e.clip, str) else f"clip {e.clip}"
        if vmax is None:
            vmax = _colour_limit([e])
        hop = e.times[1] - e.times[0] if len(e.times) > 1 else e.duration
        time_edges = np.concatenate([e.times - hop / 2, [e.times[-1] + hop / 2]])
        # a raster (fast to draw for long clips) on a grid of frames x mel-band indices
        self.image_ = ax.imshow(
            e.excess_db,
            cmap=cmap,
            vmin=-vmax,
            vmax=vmax,
            origin="lower",
            aspect="auto",
            interpolation="nearest",
            extent=(time_edges[0], time_edges[-1], 0, len(e.frequencies)),
        )
        (first_frame, last_frame), (first_band, last_band) = e.frames, e.bands
        self.box_ = ax.add_patch(
            Rectangle(
                (time_edges[first_frame], first_band),
                time_edges[last_frame + 1] - time_edges[first_frame],
                last_band + 1 - first_band,
                fill=False,
                edgecolor="k",
                linewidth=1.5,
            )
        )
        ticks = np.unique(np.linspace(0, len(e.frequencies), 6).round().astype(int))
        ax.set_yticks(ticks, [f"{e.band_edges[tick]:.0f}" for tick in ticks])
        ax.set(
            xlim=(max(0.0, time_edges[0]), time_edges[-1]),
            xlabel="Time (s)",
            ylabel="Frequency (Hz)",
            title=f"{name}\n{e.text}",
        )
        ax.title.set_fontsize("small")
        self.colorbar_ = (
            ax.figure.colorbar(self.image_, ax=ax, label="dB over normal") if colorbar else None
        )
        self.ax_, self.figure_ = ax, ax.figure
        return self

    @classmethod
    def from_explanation(
        cls, explanation: Explanation, *, name: str | None = None, ax: Any = None, **kwargs: Any
    ) -> ExplanationDisplay:
        """Draw an explanation.

        Parameters
        ----------
        explanation : Explanation
            One item of :meth:`LogMelExplainer.explain`.
        name : str, default=None
            Name of the clip in the title; None uses its file name.
        ax : matplotlib Axes, default=None
            Axes to draw on; None creates a figure.
        **kwargs : dict
            ``vmax``, ``colorbar`` and ``cmap`` of :meth:`plot`.

        Returns
        -------
        display : ExplanationDisplay
            The plotted display.
        """
        check_matplotlib_support(f"{cls.__name__}.from_explanation")
        return cls(explanation=explanation, name=name).plot(ax=ax, **kwargs)

    @classmethod
    def from_estimator(
        cls,
        explainer: LogMelExplainer,
        X: Any,
        *,
        section: ArrayLike | None = None,
        name: str | None = None,
        ax: Any = None,
        **kwargs: Any,
    ) -> ExplanationDisplay:
        """Explain one clip with a fitted explainer and draw it.

        Parameters
        ----------
        explainer : LogMelExplainer
            A fitted explainer.
        X : sequence of one path, or array-like of shape (1, n_samples)
            The clip.
        section : array-like of shape (1,), default=None
            Its section (needed when the explainer was fitted with sections).
        name : str, default=None
            Name of the clip in the title; None uses its file name.
        ax : matplotlib Axes, default=None
            Axes to draw on; None creates a figure.
        **kwargs : dict
            ``vmax``, ``colorbar`` and ``cmap`` of :meth:`plot`.

        Returns
        -------
        display : ExplanationDisplay
            The plotted display.
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        explanations = explainer.explain(X, section=section)
        if len(explanations) != 1:
            raise ValueError(
                f"from_estimator draws one clip; X holds {len(explanations)}. Pass X[:1], "
                "or explain them all and draw each with from_explanation."
            )
        return cls.from_explanation(explanations[0], name=name, ax=ax, **kwargs)
