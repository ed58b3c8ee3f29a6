"""Per-section bookkeeping shared by the scorer steps."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import numpy as np

from sklasd.base import BaseDetector
from sklasd.utils import check_metadata_array


class _SectionwiseScorer(BaseDetector):
    """A detector on 2-D embeddings that fits one model per section.

    Each section's model is fitted on that section's normal clips: clips
    labelled anomalous (``y == 1``) are left out. Every clip is scored by the
    model of its own section.

    Subclasses implement ``_fit_section(X, **metadata) -> dict`` and
    ``_score_section(index, X) -> ndarray``. The dict maps names to the
    section's fitted objects; each name becomes a fitted attribute ``<name>_``,
    a list aligned with ``sections_`` (e.g. ``{"estimators": svm}`` gives
    ``estimators_``). ``_training_scores(index, X)`` gives the scores of the
    clips the section's model was fitted on, used for the thresholds; it
    defaults to ``_score_section`` and is overridden where in-sample scores are
    degenerate.
    """

    @abstractmethod
    def _fit_section(self, X: np.ndarray, **metadata: np.ndarray) -> dict[str, Any]:
        """Fit the model of one section on its normal clips."""

    @abstractmethod
    def _score_section(self, index: int, X: np.ndarray) -> np.ndarray:
        """score_samples of clips of section ``sections_[index]``, shape (n_clips,)."""

    def _training_scores(self, index: int, X: np.ndarray, **metadata: np.ndarray) -> np.ndarray:
        """score_samples of the clips the section's model was fitted on (with their metadata)."""
        return self._score_section(index, X)

    def _fit(self, X, y, *, section, **metadata):
        n_samples = X.shape[0]
        indices = self._section_indices(section, n_samples)
        normal = np.ones(n_samples, dtype=bool) if y is None else y == 0
        metadata = {
            name: check_metadata_array(values, n_samples, name=name)
            for name, values in metadata.items()
            if values is not None
        }
        groups = [indices == index for index in range(indices.max() + 1)]
        fitted = []
        for index, rows in enumerate(groups):
            train = rows & normal
            if not train.any():
                raise ValueError(
                    f"No normal clip (y == 0) in {self._group_name(index)} to fit on."
                )
            fitted.append(
                self._fit_section(X[train], **{name: v[train] for name, v in metadata.items()})
            )
        for name in fitted[0]:
            setattr(self, f"{name}_", [section_fit[name] for section_fit in fitted])
        scores = np.empty(n_samples)
        for index, rows in enumerate(groups):
            train = rows & normal
            scores[train] = self._training_scores(
                index, X[train], **{name: v[train] for name, v in metadata.items()}
            )
            if (rows & ~normal).any():
                scores[rows & ~normal] = self._score_section(index, X[rows & ~normal])
        return scores

    def _score_samples(self, X, *, section):
        indices = self._section_indices(section, X.shape[0])
        scores = np.empty(X.shape[0])
        for index in np.unique(indices):
            rows = indices == index
            scores[rows] = self._score_section(index, X[rows])
        return scores
