"""Detectors that keep one model per section, or per (machine type, section) pair."""

from __future__ import annotations

import warnings
from collections import Counter
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.utils.validation import _num_samples, check_is_fitted

from sklasd.base import _labels
from sklasd.exceptions import FewTrainingClipsWarning
from sklasd.utils import check_metadata_array, check_section

#: The network detectors warn below this many normal training clips in a group: every
#: measurement with 15 to 120 clips per section scored below the 1-NN baseline.
FEW_CLIPS_PER_GROUP = 200


def _pairs(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """A 1-D object array of the tuples ``(first[i], second[i])``."""
    pairs = np.empty(len(first), dtype=object)
    pairs[:] = list(zip(first.tolist(), second.tolist(), strict=True))
    return pairs


class _MachineTypeGroupsMixin:
    """Public methods that group clips by section, or by (machine type, section) pairs.

    For detectors (before :class:`~sklasd.base.BaseDetector` in the bases) that
    keep one model per group: with ``machine_type`` given in ``fit``, the groups
    (``sections_``) are (machine type, section) pairs and scoring needs
    ``machine_type`` too; without it they are the sections. ``machine_type`` also
    reaches ``_fit`` as metadata. ``section`` and ``machine_type`` are requested by
    default in ``fit``, ``decision_function`` and ``predict`` (scikit-learn merges
    these requests with those of the subclasses).
    """

    __metadata_request__fit: ClassVar[dict] = {"section": True, "machine_type": True}
    __metadata_request__decision_function: ClassVar[dict] = {
        "section": True,
        "machine_type": True,
    }
    __metadata_request__predict: ClassVar[dict] = {"section": True, "machine_type": True}

    def fit(
        self,
        X: Any,
        y: Any = None,
        *,
        section: Any = None,
        machine_type: Any = None,
        **metadata: Any,
    ):
        """Train the model of every group and the per-group thresholds.

        Parameters
        ----------
        X : sequence of str of length n_clips, or array-like of shape (n_clips, n_samples)
            Training clips: audio file paths or waveforms.
        y : array-like of shape (n_clips,), default=None
            Anomaly labels, 0 normal and 1 anomalous (see the class docstring for
            what the detector does with anomalous clips). None: all normal.
        section : array-like of shape (n_clips,)
            Section (machine ID) of every clip; required.
        machine_type : array-like of shape (n_clips,), default=None
            Machine type of every clip: the groups become (machine type,
            section) pairs.
        **metadata : dict
            Further metadata the detector declares (e.g. ``domain``).

        Returns
        -------
        self : object
            The fitted detector.
        """
        X, groups = self._groups(X, section, machine_type)
        self.machine_types_ = None if machine_type is None else np.unique(machine_type)
        return super().fit(X, y, section=groups, machine_type=machine_type, **metadata)

    def fit_predict(
        self,
        X: Any,
        y: Any = None,
        *,
        section: Any = None,
        machine_type: Any = None,
        **metadata: Any,
    ) -> np.ndarray:
        """Fit the detector and return the labels of the training clips.

        Parameters
        ----------
        X, y, section, machine_type, **metadata
            As in :meth:`fit`.

        Returns
        -------
        labels : ndarray of shape (n_clips,)
            +1 for normal clips, -1 for anomalous ones.
        """
        X, groups = self._groups(X, section, machine_type)
        self.machine_types_ = None if machine_type is None else np.unique(machine_type)
        return super().fit_predict(X, y, section=groups, machine_type=machine_type, **metadata)

    def score_samples(
        self, X: Any, *, section: Any = None, machine_type: Any = None
    ) -> np.ndarray:
        """Normality score of each clip: higher is more normal.

        Parameters
        ----------
        X : sequence of str of length n_clips, or array-like of shape (n_clips, n_samples)
            Clips to score.
        section : array-like of shape (n_clips,)
            Section of every clip.
        machine_type : array-like of shape (n_clips,), default=None
            Machine type of every clip; required when the detector was fitted
            with machine types, ignored otherwise.

        Returns
        -------
        scores : ndarray of shape (n_clips,)
            Normality scores (not shifted by the thresholds).
        """
        X, groups = self._scoring_groups(X, section, machine_type)
        return super().score_samples(X, section=groups)

    def decision_function(
        self, X: Any, *, section: Any = None, machine_type: Any = None
    ) -> np.ndarray:
        """Score minus the threshold of each clip's group: negative is anomalous.

        Parameters
        ----------
        X, section, machine_type
            As in :meth:`score_samples`.

        Returns
        -------
        decision : ndarray of shape (n_clips,)
            ``score_samples(X) - offset_[group]``; the DCASE anomaly score is
            ``-decision``.
        """
        X, groups = self._scoring_groups(X, section, machine_type)
        return super().decision_function(X, section=groups)

    def predict(self, X: Any, *, section: Any = None, machine_type: Any = None) -> np.ndarray:
        """Label each clip normal (+1) or anomalous (-1).

        Parameters
        ----------
        X, section, machine_type
            As in :meth:`score_samples`.

        Returns
        -------
        labels : ndarray of shape (n_clips,)
            +1 where ``decision_function >= 0``, else -1.
        """
        X, groups = self._scoring_groups(X, section, machine_type)
        # Not super().predict: the base class's predict calls self.decision_function,
        # which would look the groups up again without the machine types.
        return _labels(super().decision_function(X, section=groups))

    def _groups(self, X, section, machine_type) -> tuple[Any, Any]:
        """Validated input and the group of every clip (section or (type, section))."""
        X = self._validate_X(X, reset=False)
        if machine_type is None:
            return X, section
        n_samples = _num_samples(X)
        machine_type = check_metadata_array(machine_type, n_samples, name="machine_type")
        section = check_section(section, n_samples)
        if section is None:
            raise ValueError(
                "machine_type was given without section: pass the section of every clip "
                "too (the groups are (machine type, section) pairs)."
            )
        return X, _pairs(machine_type, section)

    def _check_two_groups(self, section: np.ndarray | None, y: np.ndarray | None, task: str):
        """Raise ValueError unless the normal training clips lie in two groups or more.

        ``task`` says why the detector needs them (it ends the sentence's first half).
        """
        normal = slice(None) if y is None else y == 0
        groups = None if section is None else pd.unique(section[normal])
        if groups is None or len(groups) >= 2:
            return
        where = "section" if self.machine_types_ is None else "group"
        raise ValueError(
            f"{type(self).__name__} {task}, so it needs the normal training clips of at "
            f"least two sections, but they all lie in {where} {groups.tolist()[0]!r}: pass "
            "machine_type to train one model over several machine types (groups: "
            "(machine type, section) pairs)."
        )

    def _warn_if_few_clips(self, section: np.ndarray | None, y: np.ndarray | None) -> None:
        """Warn (FewTrainingClipsWarning) when a group has few normal training clips."""
        if section is None:
            return
        normal = slice(None) if y is None else y == 0
        counts = Counter(np.asarray(section)[normal].tolist())
        if not counts:
            return
        group, fewest = min(counts.items(), key=lambda item: item[1])
        if fewest >= FEW_CLIPS_PER_GROUP:
            return
        where = "section" if self.machine_types_ is None else "group"
        warnings.warn(
            f"{type(self).__name__} is trained on {fewest} normal clips in {where} "
            f"{group!r} (the fewest of {len(counts)}). Its network was "
            f"measured below the log-mel 1-NN baseline with 15 to 120 clips per section "
            f"(docs/accuracy.md); with fewer than {FEW_CLIPS_PER_GROUP} prefer "
            "sklasd.pipelines.make_baseline_pipeline() or the main job's default.",
            FewTrainingClipsWarning,
            stacklevel=2,
        )

    def _scoring_groups(self, X, section, machine_type) -> tuple[Any, Any]:
        """The groups of clips to score, as in fit (machine_type ignored if not fitted with)."""
        check_is_fitted(self)
        if self.machine_types_ is None:
            return X, section
        if machine_type is None:
            raise ValueError(
                f"{type(self).__name__} was fitted per (machine type, section) with machine "
                f"types {self.machine_types_.tolist()}; pass machine_type=<one value per "
                "clip> (and section) to score."
            )
        return self._groups(X, section, machine_type)
