"""Per-section bookkeeping shared by the scorer steps."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import _fit_context
from sklearn.utils.validation import _num_samples

from sklasd.base import BaseDetector
from sklasd.utils import check_metadata_array, check_section


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
        training = [
            {"X": X[rows & normal], **{name: v[rows & normal] for name, v in metadata.items()}}
            for rows in groups
        ]
        training_scores = self._fit_sections(training, range(len(groups)))
        scores = np.empty(n_samples)
        for index, rows in enumerate(groups):
            scores[rows & normal] = training_scores[index]
            if (rows & ~normal).any():
                scores[rows & ~normal] = self._score_section(index, X[rows & ~normal])
        return scores

    def _fit_sections(
        self, training: list[dict[str, np.ndarray]], refit: Any, kept: Any = None
    ) -> dict[int, np.ndarray]:
        """Fit the sections ``refit`` on their training sets; return their training scores.

        ``training[i]`` holds the normal clips of section ``i`` (``"X"`` and the
        metadata arrays). The fitted attributes of the other sections are taken
        from the current ones: ``kept[i]`` is section ``i``'s index in them.
        """
        fitted = {}
        for index in refit:
            if training[index]["X"].shape[0] == 0:
                raise ValueError(
                    f"No normal clip (y == 0) in {self._group_name(index)} to fit on."
                )
            fitted[index] = self._fit_section(**training[index])
        for name in next(iter(fitted.values())):
            setattr(
                self,
                f"{name}_",
                [
                    fitted[index][name]
                    if index in fitted
                    else getattr(self, f"{name}_")[kept[index]]
                    for index in range(len(training))
                ],
            )
        return {index: self._training_scores(index, **training[index]) for index in fitted}

    def _score_samples(self, X, *, section):
        indices = self._section_indices(section, X.shape[0])
        scores = np.empty(X.shape[0])
        for index in np.unique(indices):
            rows = indices == index
            scores[rows] = self._score_section(index, X[rows])
        return scores


class _IncrementalScorer(_SectionwiseScorer):
    """A section-wise scorer that keeps its training embeddings and offers ``partial_fit``.

    ``training_sets_[i]`` holds the normal training embeddings of section
    ``sections_[i]`` (``"X"``) and their metadata (``"domain"``). ``partial_fit``
    adds new normal clips to them, refits the sections it is given (a new section
    gets a model of its own) and their thresholds, and keeps the other sections
    as they are, so that ``partial_fit(A)`` then ``partial_fit(B)`` gives the
    model of ``fit(A + B)``.
    """

    __metadata_request__partial_fit: ClassVar[dict] = {"section": True, "domain": True}

    def _fit_sections(self, training, refit, kept=None):
        self.training_sets_ = training
        return super()._fit_sections(training, refit, kept)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(
        self, X: Any, y: Any = None, *, section: Any = None, domain: Any = None
    ) -> _IncrementalScorer:
        """Add normal clips of seen or new sections without refitting the others.

        The first call (on an unfitted scorer) is :meth:`fit`. Later calls
        append the new normal clips to the training embeddings of their
        sections, refit those sections (a section not seen before gets its
        own model) and recompute their thresholds from the training scores of
        all their clips; sections absent from ``X`` keep their model and
        threshold. ``partial_fit(A)`` then ``partial_fit(B)`` therefore gives
        the scores and thresholds of ``fit(A + B)`` (the same clips in the same
        order per section).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            New training embeddings, with the features seen in ``fit``.
        y : array-like of shape (n_samples,), default=None
            Anomaly labels, 0 normal and 1 anomalous; anomalous clips are left
            out.
        section : array-like of shape (n_samples,), default=None
            Section of each clip; required when the scorer was fitted with
            sections, refused when it was fitted without.
        domain : array-like of shape (n_samples,), default=None
            Domain of each clip; required when the scorer was fitted with
            ``domain``, refused when it was fitted without.

        Returns
        -------
        self : object
            The updated scorer.
        """
        if not hasattr(self, "training_sets_"):
            return self.fit(X, y, section=section, domain=domain)
        X = self._validate_X(X, reset=False)
        n_samples = _num_samples(X)
        section = check_section(section, n_samples)
        y = self._check_y(y, n_samples)
        self._check_partial_fit_metadata(section, domain)
        metadata = {}
        if domain is not None:
            metadata["domain"] = check_metadata_array(domain, n_samples, name="domain")
        normal = np.ones(n_samples, dtype=bool) if y is None else y == 0
        state = dict(vars(self))
        try:
            self._add_clips(X, normal, section, metadata)
        except BaseException:
            vars(self).clear()
            vars(self).update(state)
            raise
        return self

    def _check_partial_fit_metadata(self, section: np.ndarray | None, domain: Any) -> None:
        """Refuse ``section``/``domain`` where ``fit`` had none, or none where it had some."""
        name = type(self).__name__
        if self.sections_ is None and section is not None:
            raise ValueError(f"{name} was fitted without sections; call partial_fit without.")
        if self.sections_ is not None and section is None:
            raise ValueError(
                f"{name} was fitted with sections {self.sections_.tolist()}; pass section="
                "<one value per clip> to partial_fit."
            )
        if section is not None and np.issubdtype(section.dtype, np.number) != np.issubdtype(
            self.sections_.dtype, np.number
        ):
            raise ValueError(
                f"section values {pd.unique(section)[:10].tolist()} mix numbers and strings "
                f"with the sections seen in fit, {self.sections_.tolist()}."
            )
        with_domain = "domain" in self.training_sets_[0]
        if (domain is not None) != with_domain:
            raise ValueError(
                f"{name} was fitted {'with' if with_domain else 'without'} domain; "
                f"{'pass domain to' if with_domain else 'call'} partial_fit"
                f"{'' if with_domain else ' without'}."
            )

    def _add_clips(
        self, X: np.ndarray, normal: np.ndarray, section: np.ndarray | None, metadata: dict
    ) -> None:
        """Append the normal clips to their sections' training sets; refit those sections."""
        previous = self.sections_
        if section is not None:
            self.sections_ = np.unique(np.concatenate([previous, section]))
        indices = self._section_indices(section, X.shape[0])
        kept = (
            np.zeros(1, dtype=np.intp)
            if previous is None
            else pd.Index(previous).get_indexer(self.sections_)
        )
        training = []
        for index, old in enumerate(kept):
            rows = (indices == index) & normal
            added = {"X": X[rows], **{key: values[rows] for key, values in metadata.items()}}
            if old >= 0:
                added = {
                    key: np.concatenate([self.training_sets_[old][key], values])
                    for key, values in added.items()
                }
            training.append(added)
        offsets = [self.offset_[old] if old >= 0 else np.nan for old in kept]
        scores = self._fit_sections(training, np.unique(indices), kept)
        for index, values in scores.items():
            offsets[index] = self._threshold(np.asarray(values, dtype=float), index)
        self.offset_ = np.array(offsets, dtype=float)
