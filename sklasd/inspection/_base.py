"""Helpers shared by the displays: anomaly scores of an estimator, one Axes per section."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def _panel_title(panel: object) -> str:
    """Title of a panel: ``section`` or a ``(machine_type, section)`` pair."""
    if isinstance(panel, tuple):
        return f"{panel[0]}, section {panel[1]}"
    return f"section {panel}"


def _figure_size(n_panels: int, panel_size: float = 3.6) -> tuple[float, float]:
    """Size in inches of a figure of ``n_panels`` square panels, up to 3 a row."""
    ncols = min(n_panels, 3)
    return panel_size * ncols + 0.4, panel_size * math.ceil(n_panels / ncols)


def _grid(figure: Any, n_panels: int) -> np.ndarray:
    """``n_panels`` Axes on ``figure``, up to 3 a row; unused grid cells removed."""
    ncols = min(n_panels, 3)
    axes = figure.subplots(math.ceil(n_panels / ncols), ncols, squeeze=False).ravel()
    for extra in axes[n_panels:]:
        extra.remove()
    return axes[:n_panels]


def _panel_axes(ax: Any, n_panels: int, display: str) -> np.ndarray:
    """One Axes per panel: ``ax`` checked, or a new pyplot figure laid out in a grid.

    ``ax`` is None (a new figure, up to 3 panels a row), one Axes (for one panel), or a
    sequence/array of ``n_panels`` Axes.
    """
    if ax is None:
        import matplotlib.pyplot as plt

        figure = plt.figure(figsize=_figure_size(n_panels), layout="constrained")
        return _grid(figure, n_panels)
    axes = np.asarray(ax, dtype=object).ravel()
    if axes.size != n_panels:
        raise ValueError(
            f"{display} draws one Axes per section: the data has {n_panels} section(s) but "
            f"ax holds {axes.size} Axes; pass ax=None or {n_panels} Axes."
        )
    return axes
