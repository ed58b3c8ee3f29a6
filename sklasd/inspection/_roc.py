"""ROC curves per section and domain under the DCASE rules, with the pAUC region marked."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.metrics import roc_curve
from sklearn.utils._optional_dependencies import check_matplotlib_support
from sklearn.utils._plotting import _validate_style_kwargs

from sklasd.inspection._base import _panel_axes, _panel_title
from sklasd.metrics import anomaly_score
from sklasd.metrics._official import DOMAINS, _check_year, _clip_frame, _iter_sections
from sklasd.metrics._ranking import _check_both_classes, _check_max_fpr, auc, pauc

__all__ = ["ASDRocCurveDisplay"]

#: label of the curve over all clips of a section
_ALL = "all clips"
_CURVE_STYLE = {
    "source": {"color": "C0"},
    "target": {"color": "C1"},
    _ALL: {"color": "C7", "linestyle": "--"},
}


def _section_curves(
    y: np.ndarray, d: np.ndarray, *, year: int, domains: list[str], where: str
) -> list[tuple[str, np.ndarray, bool, bool]]:
    """``(curve, clips mask, shows AUC, shows pAUC)`` of one section, as ``dcase_report``.

    2020 (or no domains): one curve of all clips with AUC and pAUC. 2021: a curve per domain
    on that domain's clips, with AUC and pAUC. 2022-2025: a curve per domain on its normal
    clips plus all anomalous clips of the section (AUC), and one of all clips (pAUC).
    """
    _check_both_classes(y, where)
    every = np.ones(y.shape, dtype=bool)
    if year == 2020 or not domains:
        return [(_ALL, every, True, True)]
    curves = []
    for domain in domains:
        used = d == domain if year == 2021 else (d == domain) | (y == 1)
        _check_both_classes(y[used], f"{where}, domain '{domain}'")
        curves.append((domain, used, True, year == 2021))
    return curves if year == 2021 else [*curves, (_ALL, every, False, True)]


class ASDRocCurveDisplay:
    """ROC curves of anomaly scores per section and domain, as the DCASE evaluators see them.

    One Axes per section (per (machine type, section) pair when ``machine_type`` is given);
    in each, the ROC curves behind the :func:`~sklasd.metrics.dcase_report` values of that
    section, with the pAUC region (false-positive rate at most ``max_fpr``) shaded:

    - 2020 rules (or no ``domain``): one curve of all the section's clips, labelled with
      its AUC and pAUC;
    - 2021: one curve per domain on that domain's clips, with its AUC and pAUC;
    - 2022-2025: one curve per domain on the domain's normal clips plus *all* anomalous
      clips of the section (its AUC), and a dashed curve of all clips (the pAUC).

    Build it with :meth:`from_estimator` or :meth:`from_predictions`; all parameters are
    stored as attributes. Like :class:`sklearn.metrics.RocCurveDisplay`, but multi-panel
    like :class:`sklearn.inspection.PartialDependenceDisplay` (``axes_``).

    Parameters
    ----------
    fpr : list of ndarray
        False-positive rates of each curve.
    tpr : list of ndarray
        True-positive rates of each curve.
    section : list
        Panel of each curve: its section, or ``(machine_type, section)`` when
        ``machine_type`` was given.
    curve : list of str
        What each curve covers: ``"source"``, ``"target"`` or ``"all clips"``.
    roc_auc : list of float or None
        AUC shown in each curve's legend entry (None: none shown).
    pauc : list of float or None
        pAUC shown in each curve's legend entry (None: none shown).
    max_fpr : float, default=0.1
        Upper end of the shaded pAUC region.
    name : str, default=None
        Name of the detector, shown in the panel titles.

    Attributes
    ----------
    line_ : list of matplotlib Line2D
        The ROC curves, in the order of ``fpr``.
    pauc_region_ : list of matplotlib Polygon
        The shaded pAUC region of each panel.
    chance_level_ : list of matplotlib Line2D or None
        The chance diagonal of each panel; None when not plotted.
    axes_ : ndarray of matplotlib Axes
        One Axes per section, in the order of ``section``'s first appearances.
    figure_ : matplotlib Figure
        Figure holding the Axes.

    See Also
    --------
    sklasd.metrics.dcase_report : The table of the AUC and pAUC values.
    ScoreDistributionDisplay : Histograms of the anomaly scores per section.
    sklearn.metrics.RocCurveDisplay : The single-curve display this one follows.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from sklasd.inspection import ASDRocCurveDisplay
    >>> y = [0, 0, 1, 1, 0, 0, 1, 1]
    >>> score = [0.1, 0.2, 0.3, 0.9, 0.1, 0.5, 0.4, 0.7]
    >>> section = [0, 0, 0, 0, 1, 1, 1, 1]
    >>> domain = ["source", "target"] * 4
    >>> display = ASDRocCurveDisplay.from_predictions(
    ...     y, score, section=section, domain=domain, year=2023
    ... )
    >>> len(display.axes_), len(display.line_)
    (2, 6)
    >>> display.line_[0].get_label()
    'source (AUC = 1.000)'
    >>> plt.close(display.figure_)
    """

    def __init__(
        self,
        *,
        fpr: list[np.ndarray],
        tpr: list[np.ndarray],
        section: list,
        curve: list[str],
        roc_auc: list[float | None],
        pauc: list[float | None],
        max_fpr: float = 0.1,
        name: str | None = None,
    ) -> None:
        self.fpr = fpr
        self.tpr = tpr
        self.section = section
        self.curve = curve
        self.roc_auc = roc_auc
        self.pauc = pauc
        self.max_fpr = max_fpr
        self.name = name

    def plot(
        self,
        ax: Any = None,
        *,
        name: str | None = None,
        curve_kwargs: dict[str, dict] | None = None,
        plot_chance_level: bool = True,
        chance_level_kw: dict | None = None,
        pauc_region_kw: dict | None = None,
    ) -> ASDRocCurveDisplay:
        """Plot the curves, one Axes per section.

        Parameters
        ----------
        ax : matplotlib Axes or array-like of Axes, default=None
            One Axes per section (a single Axes when there is one section); None creates
            a figure with up to three panels a row.
        name : str, default=None
            Name shown in the panel titles; None uses ``self.name``.
        curve_kwargs : dict, default=None
            Keyword arguments of matplotlib's ``plot`` per kind of curve, keyed by
            ``"source"``, ``"target"`` or ``"all clips"``; they override the defaults.
        plot_chance_level : bool, default=True
            Whether to draw the chance diagonal.
        chance_level_kw : dict, default=None
            Keyword arguments of the chance diagonal's ``plot``.
        pauc_region_kw : dict, default=None
            Keyword arguments of the ``axvspan`` that shades the pAUC region.

        Returns
        -------
        display : ASDRocCurveDisplay
            The display, with ``line_``, ``axes_`` and ``figure_`` set.
        """
        check_matplotlib_support(f"{type(self).__name__}.plot")
        n_curves = len(self.fpr)
        lengths = {len(v) for v in (self.tpr, self.section, self.curve, self.roc_auc, self.pauc)}
        if lengths != {n_curves}:
            raise ValueError(
                "fpr, tpr, section, curve, roc_auc and pauc must be lists of the same length; "
                f"got lengths {[n_curves, *sorted(lengths)]}."
            )
        name = self.name if name is None else name
        panels = list(dict.fromkeys(self.section))
        self.axes_ = _panel_axes(ax, len(panels), type(self).__name__)
        self.figure_ = self.axes_[0].figure
        curve_kwargs = curve_kwargs or {}
        self.line_ = []
        for fpr, tpr, panel, curve, roc_auc, pauc_value in zip(
            self.fpr, self.tpr, self.section, self.curve, self.roc_auc, self.pauc, strict=True
        ):
            values = [
                f"{label} = {value:.3f}"
                for label, value in (("AUC", roc_auc), ("pAUC", pauc_value))
                if value is not None
            ]
            label = f"{curve} ({', '.join(values)})" if values else curve
            style = _validate_style_kwargs(
                {"label": label, **_CURVE_STYLE.get(curve, {})}, curve_kwargs.get(curve, {})
            )
            self.line_.extend(self.axes_[panels.index(panel)].plot(fpr, tpr, **style))
        region_kw = _validate_style_kwargs(
            {"color": "C2", "alpha": 0.12, "label": f"pAUC region (FPR ≤ {self.max_fpr:g})"},
            pauc_region_kw or {},
        )
        chance_kw = _validate_style_kwargs(
            {"color": "k", "linestyle": ":", "linewidth": 1, "label": "chance"},
            chance_level_kw or {},
        )
        self.pauc_region_, self.chance_level_ = [], []
        for panel, axes in zip(panels, self.axes_, strict=True):
            self.pauc_region_.append(axes.axvspan(0, self.max_fpr, **region_kw))
            self.chance_level_.append(
                axes.plot((0, 1), (0, 1), **chance_kw)[0] if plot_chance_level else None
            )
            title = _panel_title(panel)
            axes.set(
                title=f"{name}: {title}" if name else title,
                xlabel="False positive rate",
                ylabel="True positive rate",
                xlim=(-0.01, 1.01),
                ylim=(-0.01, 1.01),
                aspect="equal",
            )
            axes.legend(loc="lower right", fontsize="small")
        return self

    @classmethod
    def from_predictions(
        cls,
        y_true: ArrayLike,
        y_score: ArrayLike,
        *,
        section: ArrayLike | None,
        domain: ArrayLike | None = None,
        machine_type: ArrayLike | str | None = None,
        year: int = 2022,
        max_fpr: float = 0.1,
        drop_intermediate: bool = True,
        name: str | None = None,
        ax: Any = None,
        **plot_kwargs: Any,
    ) -> ASDRocCurveDisplay:
        """Plot the ROC curves of anomaly scores.

        Parameters
        ----------
        y_true : array-like of shape (n_clips,)
            0 for normal and 1 for anomalous clips.
        y_score : array-like of shape (n_clips,)
            Anomaly scores, higher = more anomalous (``-decision_function(X)``).
        section : array-like of shape (n_clips,) or None
            Section of every clip; None treats all clips as section 0.
        domain : array-like of shape (n_clips,), default=None
            ``"source"`` or ``"target"`` per clip; None: one curve per section.
        machine_type : array-like of shape (n_clips,) or str, default=None
            Machine type of every clip; given, the panels are (machine type, section) pairs.
        year : {2020, 2021, 2022, 2023, 2024, 2025}, default=2022
            Which challenge's rules select the clips of each curve (see the class).
        max_fpr : float, default=0.1
            False-positive-rate limit of the pAUC.
        drop_intermediate : bool, default=True
            Drop collinear ROC points (:func:`sklearn.metrics.roc_curve`).
        name : str, default=None
            Name shown in the panel titles.
        ax : matplotlib Axes or array-like of Axes, default=None
            One Axes per section; None creates a figure.
        **plot_kwargs : dict
            ``curve_kwargs``, ``plot_chance_level``, ``chance_level_kw``,
            ``pauc_region_kw`` of :meth:`plot`.

        Returns
        -------
        display : ASDRocCurveDisplay
            The plotted display.

        Raises
        ------
        ValueError
            As :func:`~sklasd.metrics.dcase_report`: a section (or the clips of a domain's
            curve) without normal or anomalous clips, NaN scores, unknown domains, lengths
            that differ, an invalid ``year`` or ``max_fpr``.
        """
        check_matplotlib_support(f"{cls.__name__}.from_predictions")
        year = _check_year(year)
        max_fpr = _check_max_fpr(max_fpr)
        frame = _clip_frame(
            y_true, y_score, section=section, machine_type=machine_type, domain=domain
        )
        domains = [] if domain is None else [d for d in DOMAINS if (frame["domain"] == d).any()]
        named_types = machine_type is not None
        data: dict[str, list] = {key: [] for key in ("fpr", "tpr", "section", "curve")}
        data.update(roc_auc=[], pauc=[])
        for key, clips, where in _iter_sections(frame, named_types=named_types):
            y, s = clips["y"].to_numpy(), clips["score"].to_numpy()
            d = clips["domain"].to_numpy()
            for curve, used, with_auc, with_pauc in _section_curves(
                y, d, year=year, domains=domains, where=where
            ):
                fpr, tpr, _ = roc_curve(y[used], s[used], drop_intermediate=drop_intermediate)
                data["fpr"].append(fpr)
                data["tpr"].append(tpr)
                data["section"].append(key if named_types else key[1])
                data["curve"].append(curve)
                data["roc_auc"].append(auc(y[used], s[used]) if with_auc else None)
                data["pauc"].append(pauc(y[used], s[used], max_fpr=max_fpr) if with_pauc else None)
        display = cls(**data, max_fpr=max_fpr, name=name)
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
        year: int = 2022,
        max_fpr: float = 0.1,
        drop_intermediate: bool = True,
        name: str | None = None,
        ax: Any = None,
        **plot_kwargs: Any,
    ) -> ASDRocCurveDisplay:
        """Plot the ROC curves of a fitted detector on labelled clips.

        The anomaly score is ``-estimator.decision_function(X, ...)``, called as
        :class:`~sklasd.metrics.ASDScorer` does: of ``section``, ``domain`` and
        ``machine_type``, the ones the estimator's ``decision_function`` consumes are
        passed on (through a Pipeline this needs
        ``sklearn.set_config(enable_metadata_routing=True)``).

        Parameters
        ----------
        estimator : estimator
            Fitted detector or Pipeline with ``decision_function`` (higher = more normal).
        X : array-like or sequence
            Clips the estimator accepts (paths, waveforms or features).
        y : array-like of shape (n_clips,)
            0 for normal and 1 for anomalous clips.
        section, domain, machine_type : array-like of shape (n_clips,), default=None
            Per-clip metadata, see :meth:`from_predictions`.
        year : {2020, 2021, 2022, 2023, 2024, 2025}, default=2022
            Which challenge's rules select the clips of each curve.
        max_fpr : float, default=0.1
            False-positive-rate limit of the pAUC.
        drop_intermediate : bool, default=True
            Drop collinear ROC points.
        name : str, default=None
            Name shown in the panel titles; None uses the estimator's class name.
        ax : matplotlib Axes or array-like of Axes, default=None
            One Axes per section; None creates a figure.
        **plot_kwargs : dict
            Further keyword arguments of :meth:`plot`.

        Returns
        -------
        display : ASDRocCurveDisplay
            The plotted display.
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        y_score = anomaly_score(
            estimator, X, section=section, domain=domain, machine_type=machine_type
        )
        return cls.from_predictions(
            y,
            y_score,
            section=section,
            domain=domain,
            machine_type=machine_type,
            year=year,
            max_fpr=max_fpr,
            drop_intermediate=drop_intermediate,
            name=type(estimator).__name__ if name is None else name,
            ax=ax,
            **plot_kwargs,
        )
