"""OutlierClassifierDetector: one binary network per section, trained against the clips of the
other sections as outliers."""

from __future__ import annotations

import itertools
import math
from numbers import Integral
from typing import Any, ClassVar

import numpy as np
from sklearn.utils._param_validation import Interval

from sklasd.detectors._outlier_exposure import NORMAL, OUTLIER, _OutlierExposureDetector
from sklasd.nn import DEFAULT_STAGE_WEIGHTS, RFRCNN, StageBCELoss
from sklasd.training import BinaryNet, SlidingCrops
from sklasd.utils._docstrings import fill_doc

__all__ = ["OutlierClassifierDetector", "make_outlier_net"]


def make_outlier_net(**params: Any) -> BinaryNet:
    """The default net of :class:`OutlierClassifierDetector`, to adjust and pass on.

    ``BinaryNet(RFRCNN, criterion=StageBCELoss, module__width=16, max_epochs=20,
    lr=1e-3, batch_size=32, **params)``: the receptive-field regularised CNN
    (:class:`~sklasd.nn.RFRCNN`) at the CPU-sized width 16 (the network's own
    default is 32), Adam with the SGDR schedule of
    :class:`~sklasd.training.ClassifierNet`. With these, 1,000 clips of 10 s in 4
    sections fit in 1.5 to 2.5 minutes on one thread of this project's 2-core CPU,
    depending on its load (``benchmarks/bench_outlier_exposure.py``).

    An epoch shows every normal clip of the section once, in ``n_normal /
    ceil(batch_size / 2)`` optimisation steps: on small data (tens of clips per
    section) train for more epochs or in smaller batches. ``batch_size`` (at
    least 2) is ``ceil(batch_size / 2)`` positives and the rest outliers.

    Parameters
    ----------
    **params : dict
        :class:`~sklasd.training.BinaryNet` parameters overriding the above
        (``module__width=32``, ``module__reduction=8``, ``max_epochs=...``).

    Returns
    -------
    net : BinaryNet
        An unfitted net; ``module__in_channels`` and ``module__input_size`` are
        set from the data by the detector.

    Examples
    --------
    >>> from sklasd.detectors import OutlierClassifierDetector, make_outlier_net
    >>> net = make_outlier_net(module__width=32, max_epochs=40)
    >>> net.module.__name__, net.module__width, net.max_epochs, net.batch_size
    ('RFRCNN', 32, 40, 32)
    >>> detector = OutlierClassifierDetector(net=net)
    """
    defaults = {
        "criterion": StageBCELoss,
        "module__width": 16,
        "max_epochs": 20,
        "lr": 1e-3,
        "batch_size": 32,
    }
    return BinaryNet(RFRCNN, **{**defaults, **params})


@fill_doc
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
    net : BinaryNet or None, default=None
        Unfitted net of every section (cloned), whose parameters a search
        reaches as ``net__module__width``, ``net__max_epochs``, ``net__lr``,
        ``net__batch_size``...; None means :func:`make_outlier_net` (RFRCNN at
        width 16, 20 epochs, Adam at lr 1e-3, batches of 32). Its
        ``stage_weights`` are set from the detector's, ``in_channels`` and
        ``input_size`` from the data.
    n_frames : int, default=64
        Crop length in frames, in training and inference (at least 16).
        Clips shorter than that are used whole: the crop length
        ``n_frames_`` is ``min(n_frames, frames of the training clips)``, and clips
        scored later need at least ``n_frames_`` frames.
    inference_hop : int or None, default=None
        Frames between the starts of a clip's crops at inference; None means
        ``n_frames`` (crops tiling the clip).
    %(contamination)s
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
    >>> from sklasd.detectors import OutlierClassifierDetector, make_outlier_net
    >>> from sklasd.features import LogMel
    >>> X, meta = make_machine_sounds(machine_types="fan", n_train=6, n_test=4,
    ...                               duration=0.5, random_state=0)
    >>> train = (meta["split"] == "train").to_numpy()
    >>> section = meta["section"].to_numpy()
    >>> detector = OutlierClassifierDetector(
    ...     features=LogMel(n_mels=32), n_frames=16, random_state=0,
    ...     net=make_outlier_net(module__width=4, max_epochs=2, batch_size=8),
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
    }

    def __init__(
        self,
        *,
        features: Any = None,
        outliers: str = "machine_type",
        stage_weights: tuple[float, ...] = DEFAULT_STAGE_WEIGHTS,
        net: BinaryNet | None = None,
        n_frames: int = 64,
        inference_hop: int | None = None,
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
        self.net = net
        self.n_frames = n_frames
        self.inference_hop = inference_hop
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def _fit(self, X, y, *, section, machine_type=None):
        self.stage_weights_ = _check_stage_weights(self.stage_weights)
        return super()._fit(X, y, section=section, machine_type=machine_type)

    def _default_net(self) -> BinaryNet:
        return make_outlier_net()

    def _configure_net(self, net: BinaryNet) -> BinaryNet:
        if net.batch_size < 2:
            raise ValueError(
                f"OutlierClassifierDetector needs batches of at least 2 crops (positives and "
                f"outliers); the net has batch_size={net.batch_size}."
            )
        return net.set_params(stage_weights=self.stage_weights_)

    def _batch_counts(self, kind: np.ndarray, net: BinaryNet) -> dict:
        return {NORMAL: math.ceil(net.batch_size / 2), OUTLIER: net.batch_size // 2}

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
