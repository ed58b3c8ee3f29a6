"""A 2-D map (t-SNE or PCA) of clip embeddings, coloured by section, label or domain."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from sklearn.utils._optional_dependencies import check_matplotlib_support
from sklearn.utils.validation import check_array
from threadpoolctl import threadpool_limits

from sklasd.metrics._official import _check_metadata
from sklasd.metrics._ranking import _check_labels

__all__ = ["EmbeddingDisplay"]

_MARKERS = {0: "o", 1: "X"}
_LABELS = {0: "normal", 1: "anomalous"}


def _reduce(embeddings: np.ndarray, method: Any, random_state: int | None) -> np.ndarray:
    """2-D coordinates of ``embeddings`` by t-SNE, PCA or a given transformer."""
    n_clips = embeddings.shape[0]
    if n_clips < 3:
        raise ValueError(f"an embedding map needs at least 3 clips; got {n_clips}.")
    if method == "tsne":
        # perplexity must stay below the number of clips; 30 (the default) from 91 clips on
        perplexity = min(30.0, (n_clips - 1) / 3)
        reducer = TSNE(perplexity=perplexity, init="pca", random_state=random_state)
    elif method == "pca":
        reducer = PCA(n_components=2, random_state=random_state)
    elif hasattr(method, "fit_transform"):
        reducer = clone(method)
    else:
        raise ValueError(
            f"method must be 'tsne', 'pca' or a transformer with fit_transform; got {method!r}."
        )
    # One OpenMP thread: t-SNE's threads spin-wait for each other, and on a busy machine
    # (measured: 2 cores under load) a map of 60 clips took 24 s with two threads, 0.5 s
    # with one. A report's maps are small enough for one thread.
    with threadpool_limits(limits=1, user_api="openmp"):
        coordinates = np.asarray(reducer.fit_transform(embeddings), dtype=float)
    if coordinates.ndim != 2 or coordinates.shape[1] != 2:
        raise ValueError(
            f"the map needs 2 coordinates per clip; {method!r} gave shape {coordinates.shape}."
        )
    return coordinates


class EmbeddingDisplay:
    """A 2-D map of clip embeddings, coloured by section, label or domain.

    As in the embedding figures of the DCASE papers: the embeddings (or features) of clips
    are mapped to the plane by t-SNE (:class:`sklearn.manifold.TSNE`), PCA or any
    transformer, and drawn one colour per section (or label, or domain); anomalous clips
    are drawn as crosses when labels are known. Build it with :meth:`from_estimator` (a
    fitted transformer, e.g. the feature steps ``pipe[:-1]`` of a detector pipeline) or
    :meth:`from_embeddings`; all parameters are stored as attributes.

    Parameters
    ----------
    coordinates : ndarray of shape (n_clips, 2)
        Position of every clip on the map.
    section : ndarray of shape (n_clips,), default=None
        Section of every clip.
    y_true : ndarray of shape (n_clips,), default=None
        0 for normal and 1 for anomalous clips; None: all drawn alike.
    domain : ndarray of shape (n_clips,), default=None
        ``"source"`` or ``"target"`` per clip.
    color_by : {"section", "label", "domain"}, default="section"
        Which of them gives the colours (it must be given).
    name : str, default=None
        Title of the map.

    Attributes
    ----------
    scatter_ : dict
        ``(colour group, label) -> matplotlib PathCollection`` of every group drawn
        (label None when ``y_true`` is None).
    ax_ : matplotlib Axes
        Axes with the map.
    figure_ : matplotlib Figure
        Figure holding the Axes.

    See Also
    --------
    sklearn.manifold.TSNE : The default map.
    sklasd.embedders.NetEmbedder : Embeddings of a trained network.
    ASDRocCurveDisplay : ROC curves per section and domain.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from sklasd.inspection import EmbeddingDisplay
    >>> rng = np.random.default_rng(0)
    >>> embeddings = np.r_[rng.normal(0, 1, (10, 8)), rng.normal(4, 1, (10, 8))]
    >>> section = np.repeat([0, 1], 10)
    >>> y = np.tile([0] * 8 + [1] * 2, 2)
    >>> display = EmbeddingDisplay.from_embeddings(
    ...     embeddings, section=section, y_true=y, method="pca"
    ... )
    >>> display.coordinates.shape
    (20, 2)
    >>> sorted(display.scatter_)
    [(0, 0), (0, 1), (1, 0), (1, 1)]
    >>> plt.close(display.figure_)
    """

    _COLOR_BY: ClassVar[tuple[str, ...]] = ("section", "label", "domain")

    def __init__(
        self,
        *,
        coordinates: np.ndarray,
        section: np.ndarray | None = None,
        y_true: np.ndarray | None = None,
        domain: np.ndarray | None = None,
        color_by: str = "section",
        name: str | None = None,
    ) -> None:
        self.coordinates = coordinates
        self.section = section
        self.y_true = y_true
        self.domain = domain
        self.color_by = color_by
        self.name = name

    def plot(
        self, ax: Any = None, *, name: str | None = None, scatter_kwargs: dict | None = None
    ) -> EmbeddingDisplay:
        """Draw the map.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; None creates a figure.
        name : str, default=None
            Title of the map; None uses ``self.name``.
        scatter_kwargs : dict, default=None
            Further keyword arguments of matplotlib's ``scatter``.

        Returns
        -------
        display : EmbeddingDisplay
            The display, with ``scatter_``, ``ax_`` and ``figure_`` set.
        """
        check_matplotlib_support(f"{type(self).__name__}.plot")
        if self.color_by not in self._COLOR_BY:
            raise ValueError(f"color_by must be one of {self._COLOR_BY}; got {self.color_by!r}.")
        colours = {"section": self.section, "label": self.y_true, "domain": self.domain}[
            self.color_by
        ]
        if colours is None:
            raise ValueError(f"color_by={self.color_by!r} needs the {self.color_by} of the clips.")
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots(figsize=(5.5, 4.5), layout="constrained")
        self.ax_, self.figure_ = ax, ax.figure
        name = self.name if name is None else name
        xy = np.asarray(self.coordinates, dtype=float)
        colours = np.asarray(colours, dtype=object)
        labels = None if self.y_true is None else np.asarray(self.y_true, dtype=int)
        self.scatter_ = {}
        for i, group in enumerate(sorted(set(colours.tolist()))):
            in_group = colours == group
            for label in (None,) if labels is None else sorted(set(labels[in_group].tolist())):
                chosen = in_group if label is None else in_group & (labels == label)
                if self.color_by == "section":
                    text = f"section {group}"
                else:
                    text = _LABELS[int(group)] if self.color_by == "label" else str(group)
                if label is not None and self.color_by != "label":
                    text = f"{text}, {_LABELS[label]}"
                self.scatter_[group, label] = ax.scatter(
                    xy[chosen, 0],
                    xy[chosen, 1],
                    color=f"C{i % 10}",
                    marker=_MARKERS.get(label, "o"),
                    s=24,
                    alpha=0.8,
                    label=text,
                    **(scatter_kwargs or {}),
                )
        ax.set(title=name or "Embeddings", xticks=[], yticks=[])
        # beside the map, where it cannot cover points
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1.0))
        return self

    @classmethod
    def from_embeddings(
        cls,
        embeddings: ArrayLike,
        *,
        section: ArrayLike | None = None,
        y_true: ArrayLike | None = None,
        domain: ArrayLike | None = None,
        method: Any = "tsne",
        random_state: int | None = 0,
        color_by: str = "section",
        name: str | None = None,
        ax: Any = None,
        **plot_kwargs: Any,
    ) -> EmbeddingDisplay:
        """Map embeddings to the plane and draw them.

        Parameters
        ----------
        embeddings : array-like of shape (n_clips, n_features)
            One row per clip (higher-dimensional arrays are flattened per clip).
        section : array-like of shape (n_clips,), default=None
            Section of every clip.
        y_true : array-like of shape (n_clips,), default=None
            0 for normal and 1 for anomalous clips.
        domain : array-like of shape (n_clips,), default=None
            ``"source"`` or ``"target"`` per clip.
        method : {"tsne", "pca"} or transformer, default="tsne"
            ``"tsne"``: :class:`~sklearn.manifold.TSNE` with PCA initialisation and a
            perplexity of ``min(30, (n_clips - 1) / 3)``; ``"pca"``: the first two
            principal components; or an unfitted transformer giving 2 columns (cloned),
            e.g. ``make_pipeline(StandardScaler(), TSNE())``.
        random_state : int or None, default=0
            Seed of t-SNE / PCA (not used for a given transformer).
        color_by : {"section", "label", "domain"}, default="section"
            What gives the colours.
        name : str, default=None
            Title of the map.
        ax : matplotlib Axes, default=None
            Axes to draw on; None creates a figure.
        **plot_kwargs : dict
            ``scatter_kwargs`` of :meth:`plot`.

        Returns
        -------
        display : EmbeddingDisplay
            The plotted display.
        """
        check_matplotlib_support(f"{cls.__name__}.from_embeddings")
        embeddings = np.asarray(embeddings)
        if embeddings.ndim > 2:
            embeddings = embeddings.reshape(len(embeddings), -1)
        embeddings = check_array(embeddings, input_name="embeddings")
        n_clips = embeddings.shape[0]
        labels = None if y_true is None else _check_labels(y_true)
        if labels is not None and labels.shape[0] != n_clips:
            raise ValueError(
                f"y_true has {labels.shape[0]} labels but embeddings has {n_clips} rows."
            )
        display = cls(
            coordinates=_reduce(embeddings, method, random_state),
            section=_check_metadata(section, "section", n_clips),
            y_true=labels,
            domain=_check_metadata(domain, "domain", n_clips),
            color_by=color_by,
            name=name,
        )
        return display.plot(ax=ax, **plot_kwargs)

    @classmethod
    def from_estimator(
        cls,
        estimator: Any,
        X: Any,
        *,
        section: ArrayLike | None = None,
        y_true: ArrayLike | None = None,
        domain: ArrayLike | None = None,
        method: Any = "tsne",
        random_state: int | None = 0,
        color_by: str = "section",
        name: str | None = None,
        ax: Any = None,
        **plot_kwargs: Any,
    ) -> EmbeddingDisplay:
        """Map the embeddings ``estimator.transform(X)`` of clips and draw them.

        Parameters
        ----------
        estimator : transformer
            Fitted transformer from clips to embeddings: the feature steps of a detector
            pipeline (``pipe[:-1]``), a :class:`~sklasd.embedders.NetEmbedder` on features,
            or, for an :class:`~sklasd.detectors.IDClassifierDetector`,
            ``make_pipeline(detector.features_, detector.embedder_)``.
        X : array-like or sequence
            Clips the transformer accepts.
        section, y_true, domain : array-like of shape (n_clips,), default=None
            Per-clip metadata, see :meth:`from_embeddings`.
        method : {"tsne", "pca"} or transformer, default="tsne"
            How the embeddings are mapped to the plane.
        random_state : int or None, default=0
            Seed of t-SNE / PCA.
        color_by : {"section", "label", "domain"}, default="section"
            What gives the colours.
        name : str, default=None
            Title of the map; None uses the estimator's class name.
        ax : matplotlib Axes, default=None
            Axes to draw on; None creates a figure.
        **plot_kwargs : dict
            ``scatter_kwargs`` of :meth:`plot`.

        Returns
        -------
        display : EmbeddingDisplay
            The plotted display.
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        if not hasattr(estimator, "transform"):
            raise TypeError(
                f"{type(estimator).__name__} has no transform: pass the transformer that "
                "gives the embeddings (e.g. pipe[:-1] of a detector pipeline)."
            )
        return cls.from_embeddings(
            estimator.transform(X),
            section=section,
            y_true=y_true,
            domain=domain,
            method=method,
            random_state=random_state,
            color_by=color_by,
            name=type(estimator).__name__ if name is None else name,
            ax=ax,
            **plot_kwargs,
        )
