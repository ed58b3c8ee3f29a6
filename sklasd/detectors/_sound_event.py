"""SoundEventDetector: one sound-event classifier over all machine types, Mahalanobis scores."""

from __future__ import annotations

from numbers import Real
from typing import Any, ClassVar

import torch
from sklearn.base import clone
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from sklasd.base import BaseDetector
from sklasd.detectors._section_classifier import SCORE_RULES, _SectionClassifierDetector
from sklasd.embedders import NetEmbedder
from sklasd.features import LogMel
from sklasd.nn import CrossEntropyLoss, MobileNetV2, MultiLabelBCELoss, ShallowViT
from sklasd.training import ClassifierNet, EventMixing
from sklasd.utils._docstrings import fill_doc

__all__ = ["SoundEventDetector"]

# The named networks and their CPU-sized variants.
_NETWORKS = {
    "mobilenetv2": (MobileNetV2, {"module__width_mult": 0.5, "module__depth_mult": 0.5}),
    "shallow_vit": (ShallowViT, {}),
}
_CRITERIA = {"sec": CrossEntropyLoss, "sed": MultiLabelBCELoss}


@fill_doc
class SoundEventDetector(_SectionClassifierDetector):
    """One sound-event classifier over all machine types, scored by Mahalanobis distance.

    The system of Zeng, Liu and Zhou (DCASE 2023 Task 2 technical report): the
    clips of all machine types train one general network whose classes, the
    "sound events", are the (machine type, section) pairs (with
    ``machine_type`` and ``section`` given) or the attribute classes; a clip is
    anomalous when its embedding lies far, in Mahalanobis distance, from the
    training embeddings of its machine type.

    - ``mode="sec"``, sound-event classification: a softmax over the classes
      with cross-entropy (:class:`~sklasd.nn.CrossEntropyLoss`);
    - ``mode="sed"``, sound-event detection: a sigmoid per class with binary
      cross-entropy (:class:`~sklasd.nn.MultiLabelBCELoss`), on training
      crops of different classes mixed together at random
      (:class:`~sklasd.training._event_mixing.EventMixing`, ``mixing``).

    **Windows.** The network trains on random windows of ``window_seconds``
    (3 s) of the log-mel spectrogram; a clip's embedding is the mean over its
    windows of ``window_seconds`` every ``stride_seconds`` (0.5 s), the last one
    ending at the clip's end. Seconds become frames with the ``sr`` and
    ``hop_length`` of ``features`` (rounded; 3 s are 94 frames at 16 kHz and hop
    512).

    **Score.** ``score_rule="mahalanobis"`` (default):
    :class:`~sklasd.scoring.MahalanobisScorer` fitted per group on the
    embeddings of the normal training clips, a mean per domain (the ``domain``
    metadata, "source"/"target") and one covariance of the group's embeddings
    centred on their domain means; ``score_samples`` is minus the distance to
    the nearest domain mean. Groups are (machine type, section) pairs, so with
    one section per machine type (DCASE 2023) the covariance is that of the
    machine type. The embedding score rules of :class:`IDClassifierDetector`
    (``"cosine"``, ``"knn"``, ``"ocsvm"`` or a scorer instance) work too.
    Combine several detectors by sum or product of their scores with
    :class:`~sklasd.ensemble.ScoreEnsemble`.

    **Pretrained weights.** ``pretrained_weights`` is a checkpoint (e.g. of an
    AudioSet-trained network of the same architecture and size) loaded into the
    network before training with :func:`~sklasd.nn.load_pretrained_weights`:
    tensors are matched by name and shape, the classification head is never
    loaded, and tensors left as initialised are named in a warning. Note that the
    default ``"mobilenetv2"`` is CPU-sized (width and depth 0.5): set
    ``net=ClassifierNet(MobileNetV2, ...)`` at the checkpoint's size.

    Everything else (groups, targets, metadata, thresholds, the handling of
    anomalous training clips) is that of :class:`IDClassifierDetector`.

    Parameters
    ----------
    features : transformer, "passthrough" or None, default=None
        Unfitted transformer from clips to features (n_clips, n_channels,
        n_bands, n_frames) with ``sr`` and ``hop_length`` parameters; None means
        :class:`~sklasd.features.LogMel` with its defaults.
        ``"passthrough"``: ``X`` already holds the features (the detector is the
        last step of a Pipeline after its feature step, e.g.
        ``make_pipeline(LogMel(), <detector>(features="passthrough"))``).
    network : {"mobilenetv2", "shallow_vit"}, type or None, default=None
        Network of the default net: :class:`~sklasd.nn.MobileNetV2` at width and
        depth 0.5 or :class:`~sklasd.nn.ShallowViT` (16 x 16 patches, 128
        dimensions, one layer, 8 heads), or a network class with their keyword
        interface. None means ``"mobilenetv2"``. Only without ``net``.
    mode : {"sec", "sed"}, default="sec"
        Sound-event classification or detection; see above.
    net : ClassifierNet or None, default=None
        The unfitted net to train (cloned), whose criterion is replaced by that
        of ``mode`` (and whose training collate function by ``mixing`` for
        ``"sed"``). None means ``ClassifierNet(<network>, module__head="linear",
        max_epochs=40)`` with the network's CPU-sized parameters.
    target : {"auto", "section", "attributes", "section_attributes"}, default="auto"
        Classes of the network; see :class:`IDClassifierDetector`.
    window_seconds : float, default=3.0
        Length of the training and inference windows, in seconds.
    stride_seconds : float, default=0.5
        Step between inference windows, in seconds.
    frame_rate : float or None, default=None
        Feature frames per second, to convert ``window_seconds`` and
        ``stride_seconds`` to frames; None reads ``sr / hop_length`` of
        ``features`` (give it with ``features="passthrough"``: 31.25 for
        LogMel's defaults).
    mixing : EventMixing or None, default=None
        How ``mode="sed"`` mixes events; None means ``EventMixing()`` (up to 2
        events, probability 0.5, in decibels). Ignored for ``"sec"``.
    pretrained_weights : str, path-like or None, default=None
        Checkpoint to initialise the network from; see above.
    score_rule : {"mahalanobis", "cosine", "knn", "ocsvm"} or scorer step, default="mahalanobis"
        How embeddings are scored; see above.
    %(contamination)s
    random_state : int, RandomState instance or None, default=None
        Seed of the network's weights, windows, mixing and shuffling.
    device : str or None, default=None
        Torch device of the network ("cpu", "cuda").

    Attributes
    ----------
    features_, embedder_, scorer_, classes_, class_groups_, machine_types_, \
sections_, offset_
        As in :class:`IDClassifierDetector`; ``embedder_.n_frames`` and
        ``embedder_.inference_hop`` are the window and stride in frames.

    See Also
    --------
    IDClassifierDetector : The section classifier this detector specialises.
    sklasd.ensemble.ScoreEnsemble : Sum and product ensembles of detectors.
    sklasd.nn.load_pretrained_weights : How ``pretrained_weights`` is loaded.

    Examples
    --------
    >>> from sklasd.datasets import make_machine_sounds
    >>> from sklasd.detectors import SoundEventDetector
    >>> from sklasd.features import LogMel
    >>> from sklasd.nn import MobileNetV2
    >>> from sklasd.training import ClassifierNet
    >>> X, meta = make_machine_sounds(machine_types=["fan", "valve"], n_sections=1,
    ...                               n_train=8, n_test=2, duration=1.0, random_state=0)
    >>> train = (meta["split"] == "train").to_numpy()
    >>> net = ClassifierNet(MobileNetV2, module__width_mult=0.25, module__depth_mult=0.25,
    ...                     max_epochs=2, batch_size=8)
    >>> detector = SoundEventDetector(
    ...     features=LogMel(n_mels=32), net=net, mode="sed", window_seconds=0.5,
    ...     stride_seconds=0.25, random_state=0,
    ... ).fit(X[train], section=meta["section"][train],
    ...       machine_type=meta["machine_type"][train], domain=meta["domain"][train])
    >>> detector.classes_.tolist(), detector.embedder_.n_frames
    ([('fan', 0), ('valve', 0)], 16)
    >>> anomaly_score = -detector.decision_function(
    ...     X[~train], section=meta["section"][~train],
    ...     machine_type=meta["machine_type"][~train])
    >>> anomaly_score.shape
    (8,)
    """

    __metadata_request__fit: ClassVar[dict] = {"domain": True, "attributes": True}

    _parameter_constraints: ClassVar[dict] = {
        **BaseDetector._parameter_constraints,
        "features": [None, StrOptions({"passthrough"}), HasMethods(["fit", "transform"])],
        "network": [None, StrOptions(set(_NETWORKS)), type],
        "mode": [StrOptions(set(_CRITERIA))],
        "net": [None, ClassifierNet],
        "target": [StrOptions({"auto", "section", "attributes", "section_attributes"})],
        "window_seconds": [Interval(Real, 0, None, closed="neither")],
        "stride_seconds": [Interval(Real, 0, None, closed="neither")],
        "frame_rate": [None, Interval(Real, 0, None, closed="neither")],
        "mixing": [None, EventMixing],
        "pretrained_weights": [None, str, HasMethods(["__fspath__"])],
        "score_rule": [
            StrOptions(set(SCORE_RULES) - {"confidence"}),
            HasMethods(["fit", "score_samples"]),
        ],
        "random_state": ["random_state"],
        "device": [str, torch.device, None],
    }

    def __init__(
        self,
        *,
        features: Any = None,
        network: str | type | None = None,
        mode: str = "sec",
        net: ClassifierNet | None = None,
        target: str = "auto",
        window_seconds: float = 3.0,
        stride_seconds: float = 0.5,
        frame_rate: float | None = None,
        mixing: EventMixing | None = None,
        pretrained_weights: Any = None,
        score_rule: str | BaseDetector = "mahalanobis",
        contamination: str | float = "gamma",
        gamma_quantile: float = 0.9,
        random_state: Any = None,
        device: str | None = None,
    ):
        super().__init__(contamination=contamination, gamma_quantile=gamma_quantile)
        self.features = features
        self.network = network
        self.mode = mode
        self.net = net
        self.target = target
        self.window_seconds = window_seconds
        self.stride_seconds = stride_seconds
        self.frame_rate = frame_rate
        self.mixing = mixing
        self.pretrained_weights = pretrained_weights
        self.score_rule = score_rule
        self.random_state = random_state
        self.device = device

    def _frames(self, seconds: float, name: str) -> int:
        """``seconds`` in frames of ``features`` (at least 1)."""
        if self.frame_rate is not None:
            return max(1, round(seconds * self.frame_rate))
        features = LogMel() if self.features is None else self.features
        params = {} if isinstance(features, str) else features.get_params()
        if "sr" not in params or "hop_length" not in params:
            raise ValueError(
                f"{name}={seconds} needs the frame rate of the features to convert seconds "
                f"to frames: give frame_rate, or features with sr and hop_length parameters "
                f"(as LogMel); features={features!r} has neither."
            )
        return max(1, round(seconds * params["sr"] / params["hop_length"]))

    def _make_embedder(self) -> NetEmbedder:
        if self.net is not None:
            if self.network is not None:
                raise ValueError(
                    f"network={self.network!r} configures the default net; with a net given, "
                    "set its module instead (or leave network None)."
                )
            net = clone(self.net)
        else:
            network = self.network or "mobilenetv2"
            module, cpu_params = _NETWORKS[network] if isinstance(network, str) else (network, {})
            net = ClassifierNet(module, module__head="linear", max_epochs=40, **cpu_params)
        net.set_params(criterion=_CRITERIA[self.mode])
        if self.mode == "sed":
            mixing = EventMixing() if self.mixing is None else clone(self.mixing, safe=False)
            net.set_params(iterator_train__collate_fn=mixing)
        if self.pretrained_weights is not None:
            net.set_params(module__pretrained_weights=self.pretrained_weights)
        embedder = NetEmbedder(
            net=net,
            n_frames=self._frames(self.window_seconds, "window_seconds"),
            inference_hop=self._frames(self.stride_seconds, "stride_seconds"),
        )
        return self._with_seed_and_device(embedder)

    def _make_scorer(self) -> BaseDetector:
        return self._score_rule(self.score_rule)
