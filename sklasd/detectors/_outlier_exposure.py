"""The binary per-section detectors' one base: a network per section against outlier clips.

:class:`_OutlierExposureDetector` is the shape of OutlierClassifierDetector and
CentroidBCEDetector: for every group (section, or (machine type, section) pair) a
:class:`~sklasd.training.BinaryNet` learns to tell the group's normal clips from
outlier clips (the other sections' normal clips), optionally with the group's known
anomalies; a clip is scored by its group's network.
"""

from __future__ import annotations

from numbers import Integral
from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.base import clone
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import _num_samples

from sklasd.base import BaseDetector
from sklasd.detectors._groups import _MachineTypeGroupsMixin
from sklasd.features import LogMel
from sklasd.training import (
    BinaryNet,
    RandomCrops,
    RatioBatchSampler,
    SeedEpochs,
    check_features,
    check_input,
    make_feature_step,
)
from sklasd.utils import check_device, private_torch_rng, spawn_seeds

# What each training clip is to the network of one section.
NORMAL, OUTLIER, ANOMALY, UNUSED = 0, 1, 2, -1


def _data_set_of(machine_type: Any) -> str:
    """The DCASE source data set of a machine type: ToyADMOS(2) for "Toy*", else MIMII (DG).

    DCASE 2020-2023 Task 2 draw the toy machines ("ToyCar", "ToyConveyor",
    "ToyTrain", ...) from ToyADMOS and ToyADMOS2 and the others ("fan", "pump",
    "slider", "valve", "gearbox", "bearing", ...) from MIMII and MIMII DG.
    """
    return "ToyADMOS" if str(machine_type).startswith("Toy") else "MIMII"


class _OutlierExposureDetector(_MachineTypeGroupsMixin, BaseDetector):
    """One binary network per group, trained on its normal clips against outlier clips.

    The network of every group is a clone of the ``net`` parameter (a
    :class:`~sklasd.training.BinaryNet`, so that a search reaches its parameters as
    ``net__module__...``, ``net__max_epochs``, ``net__lr``), or of the subclass's
    default net when ``net`` is None. Subclasses set ``_uses_anomalies`` and
    implement ``_default_net()``, ``_configure_net(net)`` (what the method fixes on
    the clone: criterion parameters, batch size), ``_batch_counts(kind, net)`` (the
    :class:`~sklasd.training.RatioBatchSampler` counts) and
    ``_group_scores(index, features)`` (score_samples of clips of one group); they
    may extend ``_train`` (training one network) and ``_fit_scores``.
    """

    _parameter_constraints: ClassVar[dict] = {
        **BaseDetector._parameter_constraints,
        "features": [None, StrOptions({"passthrough"}), HasMethods(["fit", "transform"])],
        "outliers": [StrOptions({"machine_type", "dataset", "all"})],
        "net": [None, BinaryNet],
        "n_frames": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "device": [str, torch.device, None],
        "verbose": [Interval(Integral, 0, None, closed="left")],
    }

    #: Whether known anomalies of a group's own section take part in its training.
    _uses_anomalies = False

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "nets_")

    # -- training ---------------------------------------------------------------------

    def _fit(self, X, y, *, section, machine_type=None):
        name = type(self).__name__
        if section is None:
            raise ValueError(
                f"{name} trains one network per section against the clips of the other "
                "sections: pass section=<one value per clip>."
            )
        if self.outliers != "machine_type" and machine_type is None:
            raise ValueError(
                f"outliers={self.outliers!r} takes the outliers from other machine types of "
                "the training data: pass machine_type=<one value per clip>."
            )
        self._check_two_groups(
            section, y, "trains each section's network against the other sections' clips"
        )
        self._warn_if_few_clips(section, y)
        n_samples = _num_samples(X)
        groups = self._section_indices(section, n_samples)
        normal = np.ones(n_samples, dtype=bool) if y is None else y == 0
        # Without machine_type all clips are of one machine type.
        types = np.zeros(n_samples) if machine_type is None else np.asarray(machine_type)
        data_sets = np.array([_data_set_of(value) for value in types.tolist()])

        self.features_ = make_feature_step(self.features, LogMel())
        features = check_features(self.features_.fit_transform(X, y))
        self.n_frames_ = min(self.n_frames, features.shape[-1])
        _, self.n_channels_in_, self.n_bands_in_, _ = features.shape
        seeds = spawn_seeds(self.random_state, len(self.sections_))
        self.nets_ = []
        for index, seed in enumerate(seeds):
            own = groups == index
            pool = {
                "machine_type": types == types[own][0],
                "dataset": data_sets == data_sets[own][0],
                "all": np.ones(n_samples, dtype=bool),
            }[self.outliers]
            if self.outliers == "machine_type" and not (~own & normal & pool).any():
                # One section per machine type (DCASE 2023+): the other types' clips.
                pool = np.ones(n_samples, dtype=bool)
            kind = np.full(n_samples, UNUSED)
            kind[~own & normal & pool] = OUTLIER
            kind[own & normal] = NORMAL
            if self._uses_anomalies:
                kind[own & ~normal] = ANOMALY
            where = self._group_name(index)
            if not (kind == NORMAL).any():
                raise ValueError(f"No normal clip (y == 0) in {where} to train on.")
            if not (kind == OUTLIER).any():
                raise ValueError(
                    f"{where} has no outlier clips: no other section of its "
                    f"{'machine type' if self.outliers != 'dataset' else 'data set'} "
                    "holds normal training clips; pass the clips of other machine types "
                    "with machine_type=..., or use outliers='all'."
                )
            rows = np.flatnonzero(kind != UNUSED)
            self.nets_.append(self._train_group(features[rows], kind[rows], seed))
        return self._fit_scores(features, groups, normal)

    def _train_group(self, features: np.ndarray, kind: np.ndarray, seed: int) -> BinaryNet:
        """A network trained on ``features`` with ``kind`` (normal/outlier/anomaly)."""
        net = self._configure_net(self._default_net() if self.net is None else clone(self.net))
        net.set_params(device=check_device(net.device if self.device is None else self.device))
        net.set_params(
            module__in_channels=self.n_channels_in_,
            module__input_size=(self.n_bands_in_, self.n_frames_),
            verbose=self.verbose,
            callbacks=[*(net.callbacks or []), ("seed_epochs", SeedEpochs(seed))],
        )
        with private_torch_rng(net.device, seed):
            self._train(net, features, kind, seed)
        return net

    def _targets(self, kind: np.ndarray) -> np.ndarray:
        """The loss targets of clips of these kinds: 1 normal, 0 otherwise."""
        return (kind == NORMAL).astype(np.int64)

    def _sampler_kinds(self, kind: np.ndarray) -> np.ndarray:
        """The classes the batch sampler deals out (the kinds themselves)."""
        return kind

    def _train(self, net: BinaryNet, features, kind, seed, *, resume: bool = False) -> None:
        """Fit ``net`` (or train it its ``max_epochs`` more with ``resume``) on these clips."""
        target = self._targets(kind)
        labels = self._sampler_kinds(kind)
        net.set_params(
            iterator_train__batch_sampler=RatioBatchSampler(
                labels, self._batch_counts(labels, net), seed=seed
            )
        )
        crops = RandomCrops(features, target, n_frames=self.n_frames_, seed=seed)
        if resume:
            net.partial_fit(crops, target)
        else:
            net.fit(crops, target)

    def _fit_scores(
        self, features: np.ndarray, groups: np.ndarray, normal: np.ndarray
    ) -> np.ndarray:
        """score_samples of the training clips (``normal``: y == 0), each by its group's net."""
        return self._scores(features, groups)

    # -- scoring ----------------------------------------------------------------------

    def _validate_X(self, X: Any, *, reset: bool) -> Any:
        return check_input(X, features=self.features)

    def _score_samples(self, X, *, section):
        features = check_features(self.features_.transform(X), n_frames=self.n_frames_)
        return self._scores(features, self._section_indices(section, len(features)))

    def _scores(self, features: np.ndarray, groups: np.ndarray) -> np.ndarray:
        """score_samples of clips whose group indices are ``groups``."""
        scores = np.empty(len(features))
        for index in np.unique(groups):
            rows = groups == index
            scores[rows] = self._group_scores(index, features[rows])
        return scores
