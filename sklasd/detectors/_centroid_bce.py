"""CentroidBCEDetector: binary ResNet38 per section with class-centroid losses, scored by the
classifier's confidence and the distance to the normal centroid; known anomalies help."""

from __future__ import annotations

import inspect
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from sklasd.detectors._outlier_exposure import (
    ANOMALY,
    NORMAL,
    OUTLIER,
    _OutlierExposureDetector,
)
from sklasd.nn import CENTROID_ALPHA, CENTROID_LOSSES, CentroidLoss, ResNet38, centroid_score
from sklasd.training import BinaryNet, SegmentCrops
from sklasd.utils._docstrings import fill_doc

__all__ = ["CentroidBCEDetector", "make_centroid_net"]

# The sizes of ResNet38: the CPU variant (849,385 weights on 128 mel bands instead of
# 72.7 M) and PANNs' (the network's defaults).
_RESNET38_SIZES = {
    "cpu": {"width_mult": 0.125, "layers": (1, 1, 1, 1), "embedding_dim": 128},
    "paper": {},
}
_RESNET38_EMBEDDING_DIM = inspect.signature(ResNet38).parameters["embedding_dim"].default
# alpha="auto" where Table I has no value: the classifier term alone for BCE, the distance
# alone for the centroid losses (their head is not trained), both halves for the combinations.
_AUTO_ALPHA = {"bce": 1.0, "dsad": 0.0, "ddcsad": 0.0, "bce+dsad": 0.5, "bce+ddcsad": 0.5}
# The loss targets of CentroidLoss: normal clips, outliers, known anomalies.
_LOSS_TARGET = {NORMAL: 1, OUTLIER: 0, ANOMALY: -1}


def make_centroid_net(*, size: str = "cpu", **params: Any) -> BinaryNet:
    """The default net of :class:`CentroidBCEDetector`, to adjust and pass on.

    ``BinaryNet(ResNet38, criterion=CentroidLoss, max_epochs=20, lr=1e-3,
    <size>, **params)`` with Adam and the SGDR schedule of
    :class:`~sklasd.training.ClassifierNet`. The detector sets the criterion's
    ``loss``, ``lambda_``, ``eta`` and ``embedding_dim``, the batch size (the sum
    of its ``batch_ratio``) and, unless given here, the embedding activation
    (linear for the centroid losses, ReLU for ``"bce"``).

    Parameters
    ----------
    size : {"cpu", "paper"}, default="cpu"
        :class:`~sklasd.nn.ResNet38` size: ``"cpu"`` is ``module__width_mult=0.125,
        module__layers=(1, 1, 1, 1), module__embedding_dim=128`` (0.85 M
        weights), ``"paper"`` PANNs' ResNet38 (72.7 M weights, embedding 2048).
        With ``"cpu"`` and the detector's defaults, 1,000 clips of 10 s in 4
        sections fit in 5 to 7 minutes on one thread of this project's 2-core
        CPU, depending on its load (``benchmarks/bench_outlier_exposure.py``).
    **params : dict
        :class:`~sklasd.training.BinaryNet` parameters overriding the above,
        e.g. ``module__embedding_dim=64``, ``max_epochs=40`` or the paper's
        schedule (``optimizer__param_groups``, ``callbacks__lr_scheduler``; see
        :func:`~sklasd.detectors.make_paper_detector`).

    Returns
    -------
    net : BinaryNet
        An unfitted net; ``module__in_channels`` and ``module__input_size`` are
        set from the data by the detector.

    Examples
    --------
    >>> from sklasd.detectors import CentroidBCEDetector, make_centroid_net
    >>> net = make_centroid_net(module__embedding_dim=64, max_epochs=40)
    >>> net.module.__name__, net.module__width_mult, net.module__embedding_dim
    ('ResNet38', 0.125, 64)
    >>> make_centroid_net(size="paper").get_params().get("module__width_mult") is None
    True
    >>> detector = CentroidBCEDetector(net=net)
    """
    if size not in _RESNET38_SIZES:
        raise ValueError(f"size must be one of {sorted(_RESNET38_SIZES)}, got {size!r}.")
    defaults = {
        "criterion": CentroidLoss,
        "max_epochs": 20,
        "lr": 1e-3,
        **{f"module__{name}": value for name, value in _RESNET38_SIZES[size].items()},
    }
    return BinaryNet(ResNet38, **{**defaults, **params})


@fill_doc
class CentroidBCEDetector(_OutlierExposureDetector):
    """Binary classifier with class-centroid losses per section; known anomalies can join training.

    The method of Kuroyanagi, Hayashi, Takeda and Toda, "Anomalous sound
    detection using a binary classification model and class centroids"
    (EUSIPCO 2021, arXiv:2106.06151): for every target section (machine ID) a
    ResNet38 learns to tell the section's normal clips (label 1) from clips of
    other machines (outliers, label 0), with a metric-learning loss that pulls
    the embeddings of each class to its centroid and pushes them from the
    other's. A clip is anomalous when the classifier doubts it is the target
    machine and its embedding lies far from the normal centroid.

    **Data.** As :class:`OutlierClassifierDetector`: the outliers of a section
    are the normal clips of the other sections of its machine type
    (``outliers="machine_type"``), those and all clips of the other machine
    types of its source data set (``outliers="dataset"``, the paper's choice:
    ToyADMOS for "ToyCar" and "ToyConveyor", MIMII for the others), or of all
    machine types (``outliers="all"``); the last two need the
    ``machine_type`` metadata. With ``machine_type`` given, groups are
    (machine type, section) pairs. At least two sections are needed.

    **Known anomalies (semi-supervised).** Training clips labelled anomalous
    (``y == 1``) are used: they join their own section's network as
    anomalous clips of the target machine (the paper's ``y~ = -1``: "not
    normal" for the classifier, pushed from the normal centroid, weighted by
    ``eta`` like the section's normal clips), in batches of ``batch_ratio =
    (normal, outlier, anomaly)`` crops (the paper's 32:31:1), so that every
    batch holds some.
    With ``warm_start=True`` each network first trains ``max_epochs`` epochs
    without them, then ``max_epochs`` more with them (fine-tuning the model of
    the unsupervised setting). Thresholds come from the normal training clips.
    Without known anomalies the anomaly share of the batch goes to the
    outliers.

    **Losses** (``loss``, :class:`~sklasd.nn.CentroidLoss`, the paper's Eqs.
    (1)-(4)): ``"bce"`` binary cross-entropy (Eq. 1); ``"dsad"`` Deep SAD
    (Eq. 2: normal embeddings pulled to the centroid ``c_p``, outliers pushed
    away through ``1 / d``, the target machine's clips weighted by ``eta``);
    ``"ddcsad"`` (Eq. 3) two centroids ``c_p`` (normal) and ``c_n``
    (outlier), each class pulled to its own and pushed from the other's;
    ``"bce+dsad"``, ``"bce+ddcsad"`` (Eq. 4): ``L_BCE + lambda_ *
    L_(DD)CSAD``. The centroids start as the class means of the eval-mode
    embeddings of the randomly initialised network over the whole training
    set; the DDCSAD centroids are recomputed so after every epoch, the DSAD
    centroid stays fixed, as in the paper (:class:`~sklasd.training.BinaryNet`).

    **Score** (the paper's Eq. 5): every clip is cut into ``n_segments``
    overlapping segments of ``n_frames`` frames, evenly spread from its start
    to its end (:class:`~sklasd.training.SegmentCrops`; the paper: 10 segments
    of 256 frames); ``p`` (the probability of "normal", sigmoid of the logit)
    and ``d = ||z - c_p||^2`` (the embedding's squared distance to the normal
    centroid) are averaged over the segments, and ``s = alpha (1 - p) + (1 -
    alpha) d'`` with ``d' = (d - d_min) / (d_max - d_min)``
    (:func:`~sklasd.nn.centroid_score`). ``score_samples`` is ``-s`` (higher =
    more normal). The range ``(d_min, d_max)``:

    - ``standardize="train"`` (default): the smallest and largest ``d`` of the
      section's normal training clips, fixed in ``fit``, so each clip's score
      is its own (``d'`` leaves [0, 1] outside that range, which keeps the
      ranking);
    - ``standardize="batch"`` (the paper's way): the smallest and largest ``d``
      among the clips of the same section scored in the same call. A clip's
      score then depends on the other clips scored with it: scoring clips one
      by one, or adding clips to a batch, changes the scores.

    Where all distances of the range are equal, ``d' = d - d_min``. A fit
    whose normal training clips of a section all get the same distance (the
    embeddings collapsed) raises a ValueError unless ``alpha == 1``, rather
    than giving a distance term without information.

    **Linear embedding for the centroid losses.** PANNs' ResNet38 ends its
    embedding layer in a ReLU. Under the losses with a centroid term
    (``"dsad"``, ``"ddcsad"`` and their sums with ``"bce"``) that ReLU lets
    the embeddings collapse: the pull towards ``c_p`` drives most units'
    pre-activations below zero, where they output 0 and get no gradient, for
    good (93-96 % of the units with ``"dsad"`` and ``"bce+dsad"`` on a small
    synthetic run, all distances equal). For those losses the detector
    therefore builds the network with ``embedding_activation=None`` (a linear
    embedding, every unit trainable), and keeps PANNs' ReLU for ``"bce"``;
    a net with ``module__embedding_activation`` overrides the choice.

    ``alpha`` weighs the two terms. The paper chooses it per machine type on
    the validation data (its Table I, :data:`~sklasd.nn.CENTROID_ALPHA`):

    ==========  ====  ====  ======  ======  ===========  =====
    loss        fan   pump  slider  ToyCar  ToyConveyor  valve
    ==========  ====  ====  ======  ======  ===========  =====
    bce+dsad    0.1   0.2   0.0     0.0     0.0          0.0
    bce+ddcsad  0.1   1.0   1.0     0.1     0.0          1.0
    ==========  ====  ====  ======  ======  ===========  =====

    The default ``"auto"`` takes, per group, the Table I value of the group's
    machine type when the loss is one of these two and the detector is fitted
    with ``machine_type`` (groups are then (machine type, section) pairs);
    otherwise 1 for ``"bce"`` (the classifier alone), 0 for ``"dsad"`` and
    ``"ddcsad"`` (whose classifier head is not trained: the distance alone)
    and 0.5 for the combinations. Tune it per machine type with a grid search
    on other data, as the paper does.

    Parameters
    ----------
    features : transformer, "passthrough" or None, default=None
        Unfitted transformer from clips to features of shape (n_clips,
        n_channels, n_bands, n_frames), cloned in ``fit``; None means
        :class:`~sklasd.features.LogMel` with its defaults. ResNet38 needs at
        least 32 bands.
        ``"passthrough"``: ``X`` already holds the features (the detector is the
        last step of a Pipeline after its feature step, e.g.
        ``make_pipeline(LogMel(), <detector>(features="passthrough"))``).
    loss : {"bce", "dsad", "ddcsad", "bce+dsad", "bce+ddcsad"}, default="bce+ddcsad"
        Training loss; see above.
    lambda_ : float, default=1.0
        Weight of the centroid loss in the combinations, >= 0 (the paper: 1.0).
    eta : float, default=2.0
        Weight of the target machine's clips (normal and known anomalous)
        against the outliers in the centroid losses, >= 0 (the paper: 2.0).
    alpha : "auto" or float in [0, 1], default="auto"
        Weight of the classifier term ``1 - p`` in the score; see above
        (Table I per machine type with ``"auto"``).
    standardize : {"train", "batch"}, default="train"
        Range of the distance standardisation; see above.
    outliers : {"machine_type", "dataset", "all"}, default="machine_type"
        Where the outliers of a section come from; see above (the paper:
        ``"dataset"``).
    net : BinaryNet or None, default=None
        Unfitted net of every section (cloned), whose parameters a search
        reaches as ``net__module__embedding_dim``, ``net__max_epochs``,
        ``net__lr``...; None means :func:`make_centroid_net` (the CPU-sized
        ResNet38, 20 epochs, Adam at lr 1e-3). The detector sets its
        criterion's ``loss``, ``lambda_``, ``eta`` and ``embedding_dim``, its
        batch size and, unless the net sets ``module__embedding_activation``,
        the embedding activation chosen from ``loss``; ``in_channels`` and
        ``input_size`` come from the data. With known anomalies and
        ``warm_start``, each network trains its ``max_epochs`` twice.
    n_frames : int, default=64
        Crop (segment) length in frames, at least 32, in training and inference
        (the paper: 256, four times slower on a CPU). Clips shorter than that
        are used whole: the crop length ``n_frames_`` is ``min(n_frames, frames
        of the training clips)``, and clips
        scored later need at least ``n_frames_`` frames.
    n_segments : int, default=10
        Segments per clip at inference (the paper: 10).
    batch_ratio : tuple of 3 int, default=(32, 31, 1)
        Crops per batch of the section's normal clips (>= 1), of outliers
        (>= 1) and of its known anomalies (>= 0; 0 pools them with the
        outliers). An epoch shows every normal clip of the section once, in
        ``n_normal / normal`` optimisation steps: on small data (tens of clips
        per section) use smaller batches or more epochs. The batch size is the
        sum (also at inference).
    warm_start : bool, default=False
        With known anomalies: train without them first, then continue with
        them; see above.
    %(contamination)s
    random_state : int, RandomState instance or None, default=None
        Seed of everything random in ``fit`` (weights, centroid
        initialisation, crops, batches); an int makes fits repeatable. torch's
        and numpy's global random states are left as they were.
    device : str or None, default=None
        Torch device of the networks ("cpu", "cuda"); None means the CPU.
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
        The trained network of every group, aligned with ``sections_``;
        ``nets_[i].criterion_.c_p`` and ``.c_n`` hold its final centroids.
    alpha_ : ndarray of shape (n_sections,)
        The ``alpha`` of every group (``"auto"`` resolved), aligned with
        ``sections_``.
    batch_ratio_ : tuple of 3 int
        The validated ``batch_ratio``.
    distance_range_ : ndarray of shape (n_sections, 2)
        ``(d_min, d_max)`` of each group's normal training clips (used with
        ``standardize="train"``).
    sections_ : ndarray of shape (n_sections,)
        Groups seen in ``fit``: sections, or (machine type, section) tuples.
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
    OutlierClassifierDetector : The CBAM CNN with weighted stage classifiers.
    sklasd.nn.CentroidLoss : The losses.
    sklasd.nn.centroid_score : The score of Eq. (5).

    Examples
    --------
    Two known anomalies per section join the training (1 s clips, a tiny network):

    >>> import numpy as np
    >>> from sklasd.datasets import make_machine_sounds
    >>> from sklasd.detectors import CentroidBCEDetector, make_centroid_net
    >>> from sklasd.features import LogMel
    >>> X, meta = make_machine_sounds(machine_types="slider", n_sections=2, n_train=6,
    ...                               n_test=8, duration=1.0, domain_shift=False,
    ...                               random_state=0)
    >>> y, section = meta["label"].to_numpy(dtype=int), meta["section"].to_numpy()
    >>> train = (meta["split"] == "train").to_numpy()
    >>> known = np.flatnonzero(~train & (y == 1))[::2][:4]  # 2 anomalies per section
    >>> fit_rows = np.r_[np.flatnonzero(train), known]
    >>> detector = CentroidBCEDetector(
    ...     features=LogMel(n_mels=32), n_frames=32, batch_ratio=(4, 3, 1), random_state=0,
    ...     net=make_centroid_net(module__embedding_dim=16, max_epochs=2),
    ... ).fit(X[fit_rows], y[fit_rows], section=section[fit_rows])
    >>> detector.sections_, detector.alpha_
    (array([0, 1]), array([0.5, 0.5]))
    >>> scores = detector.score_samples(X[~train], section=section[~train])
    >>> scores.shape
    (16,)
    """

    _parameter_constraints: ClassVar[dict] = {
        **_OutlierExposureDetector._parameter_constraints,
        "loss": [StrOptions(set(CENTROID_LOSSES))],
        "lambda_": [Interval(Real, 0, None, closed="left")],
        "eta": [Interval(Real, 0, None, closed="left")],
        "alpha": [StrOptions({"auto"}), Interval(Real, 0, 1, closed="both")],
        "standardize": [StrOptions({"train", "batch"})],
        "n_segments": [Interval(Integral, 1, None, closed="left")],
        "batch_ratio": ["array-like"],
        "warm_start": ["boolean"],
    }

    _uses_anomalies = True

    def __init__(
        self,
        *,
        features: Any = None,
        loss: str = "bce+ddcsad",
        lambda_: float = 1.0,
        eta: float = 2.0,
        alpha: str | float = "auto",
        standardize: str = "train",
        outliers: str = "machine_type",
        net: BinaryNet | None = None,
        n_frames: int = 64,
        n_segments: int = 10,
        batch_ratio: tuple[int, int, int] = (32, 31, 1),
        warm_start: bool = False,
        contamination: str | float = "gamma",
        gamma_quantile: float = 0.9,
        random_state: Any = None,
        device: str | None = None,
        verbose: int = 0,
    ):
        super().__init__(contamination=contamination, gamma_quantile=gamma_quantile)
        self.features = features
        self.loss = loss
        self.lambda_ = lambda_
        self.eta = eta
        self.alpha = alpha
        self.standardize = standardize
        self.outliers = outliers
        self.net = net
        self.n_frames = n_frames
        self.n_segments = n_segments
        self.batch_ratio = batch_ratio
        self.warm_start = warm_start
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    # -- training ---------------------------------------------------------------------

    def _fit(self, X, y, *, section, machine_type=None):
        self.batch_ratio_ = _check_batch_ratio(self.batch_ratio)
        return super()._fit(X, y, section=section, machine_type=machine_type)

    def _group_alpha(self, index: int) -> float:
        """``alpha`` of group ``index``: Table I for its machine type where ``"auto"`` can."""
        if self.alpha != "auto":
            return float(self.alpha)
        table = CENTROID_ALPHA.get(self.loss, {})
        machine = None if self.machine_types_ is None else self.sections_[index][0]
        return float(table.get(machine, _AUTO_ALPHA[self.loss]))

    def _default_net(self) -> BinaryNet:
        return make_centroid_net()

    def _configure_net(self, net: BinaryNet) -> BinaryNet:
        params = net.get_params()
        if "module__embedding_activation" not in params:
            # ReLU embeddings collapse under the centroid losses (see the docstring)
            net.set_params(module__embedding_activation=None if "sad" in self.loss else "relu")
        return net.set_params(
            criterion__embedding_dim=params.get("module__embedding_dim", _RESNET38_EMBEDDING_DIM),
            criterion__loss=self.loss,
            criterion__lambda_=self.lambda_,
            criterion__eta=self.eta,
            batch_size=sum(self.batch_ratio_),
        )

    def _batch_counts(self, kind: np.ndarray, net: BinaryNet) -> dict:
        normal, outlier, anomaly = self.batch_ratio_
        if (kind == ANOMALY).any():
            return {NORMAL: normal, OUTLIER: outlier, ANOMALY: anomaly}
        return {NORMAL: normal, OUTLIER: outlier + anomaly}

    def _targets(self, kind: np.ndarray) -> np.ndarray:
        """CentroidLoss targets: 1 normal, 0 outlier, -1 known anomaly of the section."""
        return np.vectorize(_LOSS_TARGET.__getitem__, otypes=[np.int64])(kind)

    def _sampler_kinds(self, kind: np.ndarray) -> np.ndarray:
        """With no anomaly share in ``batch_ratio``, known anomalies are dealt as outliers."""
        return np.where(kind == ANOMALY, OUTLIER, kind) if self.batch_ratio_[2] == 0 else kind

    def _train(self, net, features, kind, seed, *, resume=False) -> None:
        known = kind == ANOMALY
        if self.warm_start and known.any():
            super()._train(net, features[~known], kind[~known], seed)
            resume = True
        super()._train(net, features, kind, seed, resume=resume)

    def _fit_scores(self, features, groups, normal) -> np.ndarray:
        scores = np.empty(len(features))
        self.alpha_ = np.array([self._group_alpha(i) for i in range(len(self.sections_))])
        self.distance_range_ = np.empty((len(self.sections_), 2))
        for index in range(len(self.sections_)):
            rows = groups == index
            p, d = self._proba_distance(index, features[rows])
            d_normal = d[normal[rows]]
            if self.alpha_[index] < 1 and d_normal.size > 1 and np.ptp(d_normal) == 0:
                raise ValueError(
                    f"The embeddings of {self._group_name(index)} collapsed: its "
                    f"{d_normal.size} normal training clips all lie at the distance "
                    f"{d_normal[0]:.3g} from the normal centroid, so the distance term of the "
                    f"score (weight 1 - alpha = {1 - self.alpha_[index]:g}) carries no "
                    "information. "
                    f"Try another loss than {self.loss!r}, a lower lr, more training clips, "
                    "or alpha=1 (the classifier term alone)."
                )
            self.distance_range_[index] = _distance_range(d_normal)
            scores[rows] = self._combine(index, p, d)
        return scores

    # -- scoring ----------------------------------------------------------------------

    def _proba_distance(self, index: int, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Segment-averaged ``p`` and ``d = ||z - c_p||^2`` of clips of group ``index``."""
        crops = SegmentCrops(features, n_frames=self.n_frames_, n_segments=self.n_segments)
        p, d = crops.outputs(self.nets_[index], "predict_proba_distance").mean(axis=1).T
        return p, d

    def _combine(self, index: int, p: np.ndarray, d: np.ndarray) -> np.ndarray:
        """``-s`` of Eq. (5) with the distance range of ``standardize``."""
        d_range = (
            self.distance_range_[index] if self.standardize == "train" else _distance_range(d)
        )
        return -centroid_score(p, d, alpha=self.alpha_[index], d_range=tuple(d_range))

    def _group_scores(self, index: int, features: np.ndarray) -> np.ndarray:
        return self._combine(index, *self._proba_distance(index, features))


def _distance_range(d: np.ndarray) -> tuple[float, float]:
    """``(d.min(), d.max())``, or ``(d.min(), d.min() + 1)`` where all are equal."""
    low, high = float(d.min()), float(d.max())
    return low, high if high > low else low + 1.0


def _check_batch_ratio(ratio: Any) -> tuple[int, int, int]:
    """``ratio`` as (normal >= 1, outlier >= 1, anomaly >= 0) integers."""
    values = tuple(ratio) if isinstance(ratio, list | tuple | np.ndarray) else ()
    if (
        len(values) != 3
        or not all(isinstance(v, Integral) and not isinstance(v, bool) for v in values)
        or min(values[:2]) < 1
        or values[2] < 0
    ):
        raise ValueError(
            "batch_ratio must be 3 integers (normal >= 1, outlier >= 1, anomaly >= 0) "
            f"crops per batch, e.g. (32, 31, 1); got {ratio!r}."
        )
    return tuple(int(v) for v in values)
