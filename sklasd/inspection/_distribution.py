"""Histograms of the anomaly scores of normal and anomalous clips, per section."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.ticker import MaxNLocator
from numpy.typing import ArrayLike
from sklearn.base import is_outlier_detector
from sklearn.utils._optional_dependencies import check_matplotlib_support

from sklasd.inspection._base import _panel_axes, _panel_title
from sklasd.metrics import anomaly_score
from sklasd.metrics._official import _clip_frame

__all__ = ["ScoreDistributionDisplay"]

_LABELS = {0: "normal", 1: "anomalous"}
_COLORS = {
    "normal": "C0",
    "normal (source)": "C0",
    "normal (target)": "C9",
    "anomalous": "C3",
    "anomalous (source)": "C3",
    "anomalous (target)": "C1",
}


class ScoreDistributionDisplay:
    """Histograms of the anomaly scores of normal and anomalous clips, one Axes per section.

    The view of Fig. 4 of Wang et al., "Unsupervised anomalous sound detection for machine
    condition monitoring using classification-based methods" (Applied Sciences 11(23),
    2021): how far apart the scores of a section's normal and anomalous clips lie, and
    where the decision threshold cuts them. The groups' bars stand side by side on bins
    shared within each section; with ``domain``, normal and anomalous clips are split by
    domain too.

    Build it with :meth:`from_estimator` or :meth:`from_predictions`; all parameters are
    stored as attributes.

    Parameters
    ----------
    y_true : ndarray of shape (n_clips,)
        0 for normal and 1 for anomalous clips.
    anomaly_score : ndarray of shape (n_clips,)
        Anomaly scores, higher = more anomalous.
    section : ndarray of shape (n_clips,)
        Panel of each clip: its section, or a ``(machine_type, section)`` tuple; panels
        are drawn in sorted order.
    domain : ndarray of shape (n_clips,), default=None
        ``"source"`` or ``"target"`` per clip; None: groups by label only.
    threshold : float, dict or None, default=None
        Decision threshold in anomaly-score units: one value for all sections, or a
        mapping from section (panel) to its threshold; None draws none.
    name : str, default=None
        Name of the detector, shown in the panel titles.

    Attributes
    ----------
    bars_ : dict
        ``(section, group) -> matplotlib BarContainer`` of every histogram drawn (groups:
        ``"normal"``, ``"anomalous"``, or with the domain, e.g. ``"normal (target)"``);
        the bar heights are clip counts.
    threshold_lines_ : list of matplotlib Line2D or None
        The threshold line of each panel (None where no threshold is known).
    axes_ : ndarray of matplotlib Axes
        One Axes per section.
    figure_ : matplotlib Figure
        Figure holding the Axes.

    See Also
    --------
    ASDRocCurveDisplay : ROC curves per section and domain.
    sklasd.base.BaseDetector : Where the per-section thresholds come from.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from sklasd.inspection import ScoreDistributionDisplay
    >>> y = [0, 0, 0, 1, 1, 0, 0, 1]
    >>> score = [0.1, 0.2, -0.3, 0.9, 1.1, -0.5, 0.4, 0.7]
    >>> section = [0, 0, 0, 0, 0, 1, 1, 1]
    >>> display = ScoreDistributionDisplay.from_predictions(
    ...     y, score, section=section, threshold=0.0, bins=4
    ... )
    >>> sorted(display.bars_)
    [(0, 'anomalous'), (0, 'normal'), (1, 'anomalous'), (1, 'normal')]
    >>> [int(sum(display.bars_[0, group].datavalues)) for group in ("normal", "anomalous")]
    [3, 2]
    >>> plt.close(display.figure_)
    """

    def __init__(
        self,
        *,
        y_true: np.ndarray,
        anomaly_score: np.ndarray,
        section: np.ndarray,
        domain: np.ndarray | None = None,
        threshold: float | Mapping[Any, float] | None = None,
        name: str | None = None,
    ) -> None:
        self.y_true = y_true
        self.anomaly_score = anomaly_score
        self.section = section
        self.domain = domain
        self.threshold = threshold
        self.name = name

    def _panel_threshold(self, panel: object) -> float | None:
        if self.threshold is None or not isinstance(self.threshold, Mapping):
            return self.threshold
        if panel not in self.threshold:
            raise ValueError(
                f"threshold has no value for section {panel!r}; it covers "
                f"{sorted(self.threshold, key=str)}."
            )
        return float(self.threshold[panel])

    def plot(
        self,
        ax: Any = None,
        *,
        name: str | None = None,
        bins: int | str = "auto",
        hist_kwargs: dict | None = None,
        threshold_kw: dict | None = None,
    ) -> ScoreDistributionDisplay:
        """Plot the histograms, one Axes per section.

        Parameters
        ----------
        ax : matplotlib Axes or array-like of Axes, default=None
            One Axes per section; None creates a figure with up to three panels a row.
        name : str, default=None
            Name shown in the panel titles; None uses ``self.name``.
        bins : int or str, default="auto"
            Bins of each section's histogram (:func:`numpy.histogram_bin_edges` over
            all its clips' scores), shared by its groups.
        hist_kwargs : dict, default=None
            Further keyword arguments of matplotlib's ``hist``.
        threshold_kw : dict, default=None
            Keyword arguments of the threshold's ``axvline``.

        Returns
        -------
        display : ScoreDistributionDisplay
            The display, with ``bars_``, ``axes_`` and ``figure_`` set.
        """
        check_matplotlib_support(f"{type(self).__name__}.plot")
        name = self.name if name is None else name
        y = np.asarray(self.y_true)
        score = np.asarray(self.anomaly_score, dtype=float)
        section = np.asarray(self.section, dtype=object)
        groups = np.array([_LABELS[int(label)] for label in y], dtype=object)
        if self.domain is not None:
            groups = groups + " (" + np.asarray(self.domain, dtype=object) + ")"
        panels = sorted(set(section.tolist()))
        self.axes_ = _panel_axes(ax, len(panels), type(self).__name__)
        self.figure_ = self.axes_[0].figure
        self.bars_, self.threshold_lines_ = {}, []
        line_kw = {"color": "k", "linestyle": "--", "label": "decision threshold"}
        line_kw.update(threshold_kw or {})
        for panel, axes in zip(panels, self.axes_, strict=True):
            own = np.array([value == panel for value in section.tolist()])
            present = [g for g in _COLORS if (groups[own] == g).any()]
            edges = np.histogram_bin_edges(score[own], bins=bins)
            data = [score[own & (groups == g)] for g in present]
            _, _, containers = axes.hist(
                data,
                bins=edges,
                label=present,
                color=[_COLORS[g] for g in present],
                **(hist_kwargs or {}),
            )
            if len(present) == 1:
                containers = [containers]
            self.bars_.update({(panel, g): c for g, c in zip(present, containers, strict=True)})
            threshold = self._panel_threshold(panel)
            self.threshold_lines_.append(
                None if threshold is None else axes.axvline(threshold, **line_kw)
            )
            title = _panel_title(panel)
            axes.set(
                title=f"{name}: {title}" if name else title,
                xlabel="Anomaly score",
                ylabel="Clips",
            )
            axes.yaxis.set_major_locator(MaxNLocator(integer=True))
            # below the x axis label, where it cannot cover bars
            axes.legend(
                fontsize="small",
                loc="upper center",
                bbox_to_anchor=(0.5, -0.2),
                ncol=2,
                frameon=False,
            )
        return self

    @classmethod
    def from_predictions(
        cls,
        y_true: ArrayLike,
        anomaly_score: ArrayLike,
        *,
        section: ArrayLike | None,
        domain: ArrayLike | None = None,
        machine_type: ArrayLike | str | None = None,
        threshold: float | Mapping[Any, float] | None = None,
        name: str | None = None,
        ax: Any = None,
        **plot_kwargs: Any,
    ) -> ScoreDistributionDisplay:
        """Plot the score histograms of labelled clips.

        Parameters
        ----------
        y_true : array-like of shape (n_clips,)
            0 for normal and 1 for anomalous clips.
        anomaly_score : array-like of shape (n_clips,)
            Anomaly scores, higher = more anomalous (``-decision_function(X)``).
        section : array-like of shape (n_clips,) or None
            Section of every clip; None treats all clips as section 0.
        domain : array-like of shape (n_clips,), default=None
            ``"source"`` or ``"target"`` per clip, to split the groups by domain.
        machine_type : array-like of shape (n_clips,) or str, default=None
            Machine type of every clip; given, the panels are (machine type, section)
            pairs (and ``threshold`` mappings are keyed by them).
        threshold : float, dict or None, default=None
            Decision threshold in anomaly-score units (see the class). For
            ``-decision_function`` scores of an outlier detector it is 0.
        name : str, default=None
            Name shown in the panel titles.
        ax : matplotlib Axes or array-like of Axes, default=None
            One Axes per section; None creates a figure.
        **plot_kwargs : dict
            ``bins``, ``hist_kwargs``, ``threshold_kw`` of :meth:`plot`.

        Returns
        -------
        display : ScoreDistributionDisplay
            The plotted display.
        """
        check_matplotlib_support(f"{cls.__name__}.from_predictions")
        frame = _clip_frame(
            y_true, anomaly_score, section=section, machine_type=machine_type, domain=domain
        )
        if machine_type is None:
            panel = frame["section"].to_numpy()
        else:
            panel = np.empty(len(frame), dtype=object)
            panel[:] = list(zip(frame["machine_type"], frame["section"], strict=True))
        display = cls(
            y_true=frame["y"].to_numpy(),
            anomaly_score=frame["score"].to_numpy(),
            section=panel,
            domain=None if domain is None else frame["domain"].to_numpy(),
            threshold=threshold,
            name=name,
        )
        return display.plot(ax=ax, **plot_kwargs)

    @classmethod
    def from_estimator(
        cls,
        estimator: Any,
        X: Any,
        y: ArrayLike,
        *,
        section: ArrayLike | None = None,
        domain: ArrayLike | None = None,
        machine_type: ArrayLike | str | None = None,
        name: str | None = None,
        ax: Any = None,
        **plot_kwargs: Any,
    ) -> ScoreDistributionDisplay:
        """Plot the score histograms of a fitted detector on labelled clips.

        The anomaly score is ``-estimator.decision_function(X, ...)``, with the metadata
        the estimator consumes (as :class:`~sklasd.metrics.ASDScorer` calls it). For an
        outlier detector (a :class:`~sklasd.base.BaseDetector`, or a Pipeline ending in
        one), ``decision_function = score_samples - offset_`` of each clip's section, so
        the per-section thresholds ``-offset_`` of ``-score_samples`` all sit at 0 in
        these units: the threshold line is drawn at 0 (``predict`` flags the clips to its
        right). For other estimators no threshold is drawn.

        Parameters
        ----------
        estimator : estimator
            Fitted detector or Pipeline with ``decision_function`` (higher = more normal).
        X : array-like or sequence
            Clips the estimator accepts.
        y : array-like of shape (n_clips,)
            0 for normal and 1 for anomalous clips.
        section, domain, machine_type : array-like of shape (n_clips,), default=None
            Per-clip metadata, see :meth:`from_predictions`.
        name : str, default=None
            Name shown in the panel titles; None uses the estimator's class name.
        ax : matplotlib Axes or array-like of Axes, default=None
            One Axes per section; None creates a figure.
        **plot_kwargs : dict
            Further keyword arguments of :meth:`plot`.

        Returns
        -------
        display : ScoreDistributionDisplay
            The plotted display.
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        scores = anomaly_score(
            estimator, X, section=section, domain=domain, machine_type=machine_type
        )
        return cls.from_predictions(
            y,
            scores,
            section=section,
            domain=domain,
            machine_type=machine_type,
            threshold=0.0 if is_outlier_detector(estimator) else None,
            name=type(estimator).__name__ if name is None else name,
            ax=ax,
            **plot_kwargs,
        )
