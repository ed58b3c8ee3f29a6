"""ConfidenceScorer: a section classifier's confidence in each clip's own section."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_array, check_is_fitted

from sklasd.base import BaseDetector
from sklasd.utils._docstrings import fill_doc

__all__ = ["ConfidenceScorer"]

# Probabilities are floored here before their logarithm (float32 rounding to 0).
_TINY = np.finfo(np.float32).tiny


@fill_doc
class ConfidenceScorer(BaseDetector):
    """Normality = how sure a section classifier is of each clip's own section.

    The score rule of the classification-based detectors as a scorer step: its
    input is the class probabilities that a network trained to tell sections
    apart gives every crop of a clip (e.g. ``NetEmbedder(output="crop_proba")``
    in ``make_pipeline(LogMel(), NetEmbedder(output="crop_proba"),
    ConfidenceScorer())``, or :meth:`~sklasd.embedders.NetEmbedder.predict_crop_proba`),
    and ``section`` (metadata) names the clip's own section. With ``p`` the
    probability of the clip's own group (the sum over its classes, see
    ``class_groups``) in one crop:

    - ``rule="log_odds"`` (Wang et al. 2021, Eq. 6): ``score_samples`` is minus
      the mean over the crops of ``log((1 - p) / p)``; ``1 - p`` is summed
      from the other classes' probabilities, so it stays accurate when ``p``
      rounds to 1;
    - ``rule="log_proba"`` (RC-MAE): the mean over the crops of ``log p``.

    Probabilities are floored at the smallest normal float32 before the
    logarithm. Nothing is learned but the thresholds: ``fit`` takes the
    probabilities of the training clips only for those.

    Parameters
    ----------
    rule : {"log_odds", "log_proba"}, default="log_odds"
        The score of a crop; see above.
    class_groups : array-like of shape (n_sections, n_classes) of bool or None, \
default=None
        Which classes belong to which section (rows aligned with the sorted
        sections of ``fit``): a section's probability is the sum over its
        classes, e.g. when the network learned (section, attribute) classes.
        None means one class per section, in sorted order (a network trained
        on the sections, as :class:`~sklasd.embedders.NetEmbedder` orders
        ``classes_``).
    %(contamination)s

    Attributes
    ----------
    class_groups_ : ndarray of shape (n_sections, n_classes) of bool
        The classes of every section.
    sections_ : ndarray of shape (n_sections,)
        Sorted sections seen in ``fit``.
    offset_ : ndarray of shape (n_sections,)
        Threshold of each section in ``score_samples`` units.
    training_decision_ : ndarray of shape (n_clips,)
        Decision values of the training clips.

    See Also
    --------
    sklasd.detectors.IDClassifierDetector : Uses it for ``score_rule="confidence"``.
    sklasd.detectors.RCMAEDetector : Uses it with ``rule="log_proba"``.
    CosineScorer : The embedding-distance rule.

    Examples
    --------
    Crop probabilities of 3 clips (2 crops each) over 2 sections:

    >>> import numpy as np
    >>> from sklasd.scoring import ConfidenceScorer
    >>> proba = np.array([[[0.9, 0.1], [0.8, 0.2]],
    ...                   [[0.2, 0.8], [0.1, 0.9]],
    ...                   [[0.7, 0.3], [0.9, 0.1]]])
    >>> section = np.array([0, 1, 0])
    >>> scorer = ConfidenceScorer(contamination=0.5).fit(proba, section=section)
    >>> scorer.score_samples(proba, section=section).round(2)
    array([1.79, 1.79, 1.52])
    >>> scorer.score_samples(proba[:1], section=[1]).round(2)  # the wrong section
    array([-1.79])
    """

    _parameter_constraints: ClassVar[dict] = {
        **BaseDetector._parameter_constraints,
        "rule": [StrOptions({"log_odds", "log_proba"})],
        "class_groups": ["array-like", None],
    }

    def __init__(
        self,
        *,
        rule: str = "log_odds",
        class_groups: Any = None,
        contamination: str | float = "gamma",
        gamma_quantile: float = 0.9,
    ):
        super().__init__(contamination=contamination, gamma_quantile=gamma_quantile)
        self.rule = rule
        self.class_groups = class_groups

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "class_groups_")

    def _validate_X(self, X: Any, *, reset: bool) -> np.ndarray:
        """Crop probabilities as float64 (n_clips, n_crops, n_classes); 2-D is one crop."""
        X = check_array(X, allow_nd=True, dtype=np.float64, input_name="X")
        if X.ndim == 2:
            X = X[:, None, :]
        if X.ndim != 3:
            raise ValueError(
                "X must hold class probabilities of shape (n_clips, n_crops, n_classes) or "
                f"(n_clips, n_classes); got an array of shape {X.shape}."
            )
        if not reset:
            check_is_fitted(self)
            if X.shape[-1] != self.class_groups_.shape[1]:
                raise ValueError(
                    f"X has {X.shape[-1]} classes, but ConfidenceScorer was fitted on "
                    f"{self.class_groups_.shape[1]}."
                )
        return X

    def _fit(self, X, y, *, section):
        if section is None:
            raise ValueError(
                "ConfidenceScorer scores the probability of each clip's own section: pass "
                "section=<one value per clip>."
            )
        n_sections, n_classes = len(self.sections_), X.shape[-1]
        if self.class_groups is None:
            if n_sections != n_classes:
                raise ValueError(
                    f"X has {n_classes} classes but there are {n_sections} sections; with "
                    "class_groups=None every section is one class. Pass class_groups "
                    "(which classes belong to which section)."
                )
            self.class_groups_ = np.eye(n_sections, dtype=bool)
        else:
            self.class_groups_ = np.asarray(self.class_groups, dtype=bool)
            if self.class_groups_.shape != (n_sections, n_classes):
                raise ValueError(
                    f"class_groups has shape {self.class_groups_.shape}, expected "
                    f"(n_sections, n_classes) = {(n_sections, n_classes)}."
                )
        undefined = self.class_groups_.all(axis=1)
        if self.rule == "log_odds" and undefined.any():
            raise ValueError(
                f"The confidence is undefined here: every class of the network belongs to "
                f"{self._group_name(int(np.argmax(undefined)))}, so the probability of the "
                "clip's own section is always 1. Train the network on several sections."
            )
        return self._score_samples(X, section=section)

    def _score_samples(self, X, *, section):
        own = self.class_groups_[self._section_indices(section, len(X))][:, None, :]
        p_own = np.maximum(np.where(own, X, 0.0).sum(axis=-1), _TINY)
        if self.rule == "log_proba":
            return np.log(p_own).mean(axis=1)
        p_other = np.maximum(np.where(own, 0.0, X).sum(axis=-1), _TINY)
        return -np.log(p_other / p_own).mean(axis=1)
