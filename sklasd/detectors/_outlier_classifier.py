"""OutlierClassifierDetector: one binary network per section, trained against the clips of the
other sections as outliers; and the machinery it shares with CentroidBCEDetector."""

from __future__ import annotations

import itertools
import math
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import _num_samples

from sklasd.base import BaseDetector
from sklasd.detectors._groups import _MachineTypeGroupsMixin
from sklasd.features import LogMel
from sklasd.nn import DEFAULT_STAGE_WEIGHTS, RFRCNN, StageBCELoss
from sklasd.training import (
    RandomCrops,
    SeedEpochs,
    SlidingCrops,
    check_features,
    check_input,
    make_feature_step,
)
from sklasd.training._binary import BinaryNet, RatioBatchSampler
from sklasd.utils import check_device, private_torch_rng, spawn_seeds

__all__ = ["OutlierClassifierDetector"]

# What each training clip is to the network of one section.
_NORMAL, _OUTLIER, _ANOMALY, _UNUSED = 0, 1, 2, -1


def _data_set_of(machine_type: Any) -> str:
    """The DCASE source data set of a machine type: ToyADMOS(2) for "Toy*", else MIMII (DG).

    DCASE 2020-2023 Task 2 draw the toy machines ("ToyCar", "ToyConveyor",
    "ToyTrain", ...) from ToyADMOS and ToyADMOS2 and the others ("fan", "pump",
    "slider", "valve", "gearbox", "bearing", ...) from MIMII and MIMII DG.
    """
    return "ToyADMOS" if str(machine_type).startswith("Toy") else "MIMII"


class _OutlierExposureDetector(_MachineTypeGroupsMixin, BaseDetector):
    """One binary network per group, trained on its normal clips against outlier clips.

    Subclasses set ``_uses_anomalies`` and implement ``_make_net`` (the unfitted
    :class:`~sklasd.training.BinaryNet`), ``_batch_counts(kind)`` (the
    :class:`~sklasd.training.RatioBatchSampler` counts) and
    ``_group_scores(index, features)`` (score_samples of clips of one group);
    they may extend ``_train`` (training one network) and ``_fit_scores``.
    """

    _parameter_constraints: ClassVar[dict] = {
        **BaseDetector._parameter_constraints,
        "features": [None, StrOptions({"passthrough"}), HasMethods(["fit", "transform"])],
        "outliers": [StrOptions({"machine_type", "dataset", "all"})],
        "network_params": [dict, None],
        "n_frames": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
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
            kind = np.full(n_samples, _UNUSED)
            kind[~own & normal & pool] = _OUTLIER
            kind[own & normal] = _NORMAL
            if self._uses_anomalies:
                kind[own & ~normal] = _ANOMALY
            where = self._group_name(index)
            if not (kind == _NORMAL).any():
                raise ValueError(f"No normal clip (y == 0) in {where} to train on.")
            if not (kind == _OUTLIER).any():
                raise ValueError(
                    f"{where} has no outlier clips: no other section of its "
                    f"{'machine type' if self.outliers != 'dataset' else 'data set'} "
                    "holds normal training clips; pass the clips of other machine types "
                    "with machine_type=..., or use outliers='all'."
                )
            rows = np.flatnonzero(kind != _UNUSED)
            self.nets_.append(self._train_group(features[rows], kind[rows], seed))
        return self._fit_scores(features, groups, normal)

    def _train_group(self, features: np.ndarray, kind: np.ndarray, seed: int) -> BinaryNet:
        """A network trained on ``features`` with ``kind`` (normal/outlier/anomaly)."""
        net = self._make_net()
        net.set_params(device=check_device(net.device if self.device is None else self.device))
        net.set_params(
            module__in_channels=self.n_channels_in_,
            module__input_size=(self.n_bands_in_, self.n_frames_),
            max_epochs=self.max_epochs,
            lr=self.lr,
            verbose=self.verbose,
            callbacks=[("seed_epochs", SeedEpochs(seed))],
        )
        with private_torch_rng(net.device, seed):
            self._train(net, features, kind, seed)
        return net

    def _targets(self, kind: np.ndarray) -> np.ndarray:
        """The loss targets of clips of these kinds: 1 normal, 0 otherwise."""
        return (kind == _NORMAL).astype(np.int64)

    def _sampler_kinds(self, kind: np.ndarray) -> np.ndarray:
        """The classes the batch sampler deals out (the kinds themselves)."""
        return kind

    def _train(self, net: BinaryNet, features, kind, seed, *, resume: bool = False) -> None:
        """Fit ``net`` (or train it ``max_epochs`` more with ``resume``) on these clips."""
        target = self._targets(kind)
        labels = self._sampler_kinds(kind)
        net.set_params(
            iterator_train__batch_sampler=RatioBatchSampler(
                labels, self._batch_counts(labels), seed=seed
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


class OutlierClassifierDetector(_OutlierExposureDetector):
    """One CBAM CNN per section, trained to tell its clips from other machines' (outlier exposure).

    The outlier-exposed classifier of Wang et al. ("Unsupervised anomalous sound
    detection for machine condition monitoring using classification-based
    methods", Applied Sciences 11(23), 2021, section 2.1), after Primus et al.'s
    DCASE 2020 system: for every target section (machine ID) a binary network
    learns to tell the section's normal clips (positives) from the clips of
    other machines (outliers, standing in for anomalies). A clip the network
    does not recognise as its section's is anomalous: the network's output is
    the score.

    **Data.** The outliers of a section are the normal clips of the other
    sections of the same machine type (``outliers="machine_type"``), those and
    the normal clips of every machine type of the same source data set
    (``outliers="dataset"``: ToyADMOS for the "Toy" machines, MIMII for the
    others; Wang et al.'s "other machine IDs in the same domain" and
    Kuroyanagi et al.'s "all the IDs of the other machines in the same data
    set"), or of every other section of every machine type in the training
    data (``outliers="all"``). The last two need the ``machine_type``
    metadata. With
    ``machine_type`` given, sections are (machine type, section) pairs, so one
    detector serves several machine types; ``sections_`` holds the groups and
    scoring then needs ``machine_type`` too. Clips labelled anomalous
    (``y == 1``) are left out of training; thresholds come from the normal
    training clips. At least two sections are needed.

    **Network** (:class:`~sklasd.nn.RFRCNN`): a receptive-field regularised CNN
    in three stages with an auxiliary binary classifier after each and a CBAM
    attention module in the last, each classifier trained on its binary
    cross-entropy (:class:`~sklasd.nn.StageBCELoss`) with Adam and the SGDR
    schedule of :class:`~sklasd.training.ClassifierNet`, on one random crop of
    ``n_frames`` frames per clip and epoch, in batches of half positives and
    half outliers (:class:`~sklasd.training.RatioBatchSampler`; an epoch shows
    every positive once).

    **Score.** ``score_samples`` is ``p = w1 p1 + w2 p2 + w3 p3``, the stage
    probabilities of "normal" weighted by ``stage_weights`` (Wang et al. choose
    ``w1 < w2 < w3`` on training or validation data: a grid search over
    ``stage_weights`` does that), averaged over crops of ``n_frames`` frames
    every ``inference_hop`` frames, the last ending at the clip's end; higher is
    more normal, in [0, 1].

    **Randomness.** Weights, crops and batches derive from ``random_state``
    (each section's network from its own seed); torch's and numpy's global
    random states are left as they were.

    Parameters
    ----------
    features : transformer, "passthrough" or None, default=None
        Unfitted transformer from clips (paths or waveforms) to features of shape
        (n_clips, n_channels, n_bands, n_frames), cloned in ``fit``; None means
        :class:`~sklasd.features.LogMel` with its defaults.
        ``"passthrough"``: ``X`` already holds the features (the detector is the
        last step of a Pipeline after its feature step, e.g.
        ``make_pipeline(LogMel(), <detector>(features="passthrough"))``).
    outliers : {"machine_type", "dataset", "all"}, default="machine_type"
        Where the outliers of a section come from: the other sections of its
        machine type; those and all sections of the other machine types of its
        source data set; or all other sections of all machine types. The last
        two need ``machine_type`` in ``fit``. With ``"machine_type"``, a section
        that is the only one of its machine type (DCASE 2023 to 2025 data) takes
        the clips of the other machine types as outliers instead.
    stage_weights : sequence of 3 float, default=(0.1, 0.3, 0.6)
        Weights ``(w1, w2, w3)`` of the stage probabilities, with
        ``0 <= w1 < w2 < w3`` and summing to 1
        (:data:`~sklasd.nn.DEFAULT_STAGE_WEIGHTS`).
    network_params : dict or None, default=None
        Keyword arguments of :class:`~sklasd.nn.RFRCNN` on top of this
        detector's CPU-sized default ``{"width": 16}`` (the network's own
        default width is 32), e.g. ``{"width": 32, "reduction": 8}``. With the
        defaults, 1,000 clips of 10 s in 4 sections fit in 1.5 to 2.5 minutes
        on one thread of this project's 2-core CPU, depending on its load (4
        to 6.5 s per epoch over the 4 networks;
        ``benchmarks/bench_outlier_exposure.py``).
        ``in_channels`` and ``input_size`` are set from the data.
    n_frames : int, default=64
        Crop length in frames, in training and inference (at least 16).
        Clips shorter than that are used whole: the crop length
        ``n_frames_`` is ``min(n_frames, frames of the training clips)``, and clips
        scored later need at least ``n_frames_`` frames.
    inference_hop : int or None, default=None
        Frames between the starts of a clip's crops at inference; None means
        ``n_frames`` (crops tiling the clip).
    max_epochs : int, default=20
        Training epochs of every section's network. An epoch shows every normal
        clip of the section once, so it takes ``n_normal / ceil(batch_size / 2)``
        optimisation steps: on small data (tens of clips per section) train for
        more epochs or in smaller batches.
    lr : float, default=1e-3
        Learning rate of Adam (the maximum of the SGDR schedule).
    batch_size : int, default=32
        Crops per batch, at least 2: ``ceil(batch_size / 2)`` positives and the
        rest outliers.
    contamination : "gamma" or float, default="gamma"
        Threshold rule; see :class:`~sklasd.base.BaseDetector`.
    gamma_quantile : float, default=0.9
        Quantile of the fitted gamma distribution when ``contamination="gamma"``.
    random_state : int, RandomState instance or None, default=None
        Seed of everything random in ``fit``; an int makes fits repeatable.
    device : str or None, default=None
        Torch device of the networks ("cpu", "cuda"); None means the CPU. A
        model trained on CUDA loads and scores on a CPU-only machine.
    verbose : int, default=0
        0 prints nothing, 1 a table row per epoch of every network, 2 also a
        progress bar.

    Attributes
    ----------
    features_ : transformer
        The fitted feature transformer.
    n_frames_ : int
        The crop length used: ``n_frames``, or the training clips' length where
        they are shorter.
    nets_ : list of BinaryNet
        The trained network of every group, aligned with ``sections_``
        (``nets_[i].history`` holds its training history).
    sections_ : ndarray of shape (n_sections,)
        Groups seen in ``fit``: sections, or (machine type, section) tuples in
        an object array when fitted with ``machine_type``.
    machine_types_ : ndarray of shape (n_machine_types,) or None
        Machine types seen in ``fit``; None when fitted without ``machine_type``.
    offset_ : ndarray of shape (n_sections,)
        Threshold of each group in ``score_samples`` units.
    n_channels_in_ : int
        Feature channels seen in ``fit``.
    n_bands_in_ : int
        Feature bands seen in ``fit``.

    See Also
    --------
    CentroidBCEDetector : Binary ResNet38 with class-centroid losses and known anomalies.
    IDClassifierDetector : One network telling all sections apart.
    sklasd.nn.RFRCNN : The network.

    Examples
    --------
    >>> from sklasd.datasets import make_machine_sounds
    >>> from sklasd.detectors import OutlierClassifierDetector
    >>> from sklasd.features import LogMel
    >>> X, meta = make_machine_sounds(machine_types="fan", n_train=6, n_test=4,
    ...                               duration=0.5, random_state=0)
    >>> train = (meta["split"] == "train").to_numpy()
    >>> section = meta["section"].to_numpy()
    >>> detector = OutlierClassifierDetector(
    ...     features=LogMel(n_mels=32), network_params={"width": 4}, n_frames=16,
    ...     max_epochs=2, batch_size=8, random_state=0,
    ... ).fit(X[train], section=section[train])
    >>> detector.sections_, len(detector.nets_)
    (array([0, 1, 2]), 3)
    >>> p = detector.score_samples(X[~train], section=section[~train])
    >>> p.shape, bool(((p >= 0) & (p <= 1)).all())
    ((24,), True)
    """

    _parameter_constraints: ClassVar[dict] = {
        **_OutlierExposureDetector._parameter_constraints,
        "stage_weights": ["array-like"],
        "inference_hop": [Interval(Integral, 1, None, closed="left"), None],
        "batch_size": [Interval(Integral, 2, None, closed="left")],
    }

    def __init__(
        self,
        *,
        features: Any = None,
        outliers: str = "machine_type",
        stage_weights: tuple[float, ...] = DEFAULT_STAGE_WEIGHTS,
        network_params: dict | None = None,
        n_frames: int = 64,
        inference_hop: int | None = None,
        max_epochs: int = 20,
        lr: float = 1e-3,
        batch_size: int = 32,
        contamination: str | float = "gamma",
        gamma_quantile: float = 0.9,
        random_state: Any = None,
        device: str | None = None,
        verbose: int = 0,
    ):
        super().__init__(contamination=contamination, gamma_quantile=gamma_quantile)
        self.features = features
        self.outliers = outliers
        self.stage_weights = stage_weights
        self.network_params = network_params
        self.n_frames = n_frames
        self.inference_hop = inference_hop
        self.max_epochs = max_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def _fit(self, X, y, *, section, machine_type=None):
        self.stage_weights_ = _check_stage_weights(self.stage_weights)
        return super()._fit(X, y, section=section, machine_type=machine_type)

    def _make_net(self) -> BinaryNet:
        return BinaryNet(
            RFRCNN,
            criterion=StageBCELoss,
            stage_weights=self.stage_weights_,
            batch_size=self.batch_size,
            **{f"module__{k}": v for k, v in {"width": 16, **(self.network_params or {})}.items()},
        )

    def _batch_counts(self, kind: np.ndarray) -> dict:
        return {_NORMAL: math.ceil(self.batch_size / 2), _OUTLIER: self.batch_size // 2}

    def _group_scores(self, index: int, features: np.ndarray) -> np.ndarray:
        crops = SlidingCrops(
            features, n_frames=self.n_frames_, hop=self.inference_hop or self.n_frames_
        )
        return crops.outputs(self.nets_[index], "predict_proba")[..., 1].mean(axis=1)


def _check_stage_weights(weights: Any) -> tuple[float, ...]:
    """``weights`` as a tuple (w1, w2, w3) with 0 <= w1 < w2 < w3, summing to 1."""
    try:
        values = tuple(float(w) for w in np.asarray(weights, dtype=float).reshape(-1))
    except (TypeError, ValueError):
        values = ()
    n_stages = RFRCNN.n_stages
    if (
        len(values) != n_stages
        or not np.isfinite(values).all()
        or values[0] < 0
        or not all(a < b for a, b in itertools.pairwise(values))
        or abs(sum(values) - 1.0) > 1e-6
    ):
        raise ValueError(
            f"stage_weights must be {n_stages} weights w1 < w2 < w3 (>= 0) summing to 1, "
            f"got {weights!r}."
        )
    return values
