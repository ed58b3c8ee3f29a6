"""IDClassifierDetector: anomalies are clips a section classifier cannot place."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.base import clone
from sklearn.utils._param_validation import HasMethods, StrOptions

from sklasd.base import BaseDetector
from sklasd.detectors._section_classifier import SCORE_RULES, _SectionClassifierDetector
from sklasd.embedders import NetEmbedder
from sklasd.nn import (
    TDNN,
    AdaProjLoss,
    ArcFaceLoss,
    CrossEntropyLoss,
    MobileFaceNet,
    MobileNetV3IDNet,
    SubclusterAdaCosLoss,
)
from sklasd.training import ClassifierNet
from sklasd.utils._docstrings import fill_doc

__all__ = ["IDClassifierDetector", "make_id_embedder"]

# The named networks and their CPU-sized variants.
_NETWORKS = {
    "mobilenetv3": (MobileNetV3IDNet, {"module__width_mult": 0.5, "module__depth_mult": 0.5}),
    "mobilefacenet": (MobileFaceNet, {"module__width_mult": 0.5, "module__depth_mult": 0.5}),
    "tdnn": (TDNN, {"module__width_mult": 0.5}),
}
# The classification loss and the head of the network that it needs (the losses on
# embeddings hold their own class centres and leave the network's head unused).
_CLASSIFIER_LOSSES = {
    "arcface": (ArcFaceLoss, "cosine"),
    "ce": (CrossEntropyLoss, "linear"),
    "subcluster_adacos": (SubclusterAdaCosLoss, "linear"),
    "adaproj": (AdaProjLoss, "linear"),
}
# The ClassifierNet weight of each further term of a loss name such as "ce+triplet".
_LOSS_TERMS = {"triplet": "triplet_weight", "attribute": "attribute_weight"}
# The losses on embeddings take no further terms.
_LOSSES = {
    base + suffix: (base, terms)
    for base in ("arcface", "ce")
    for suffix, terms in (
        ("", ()),
        ("+triplet", ("triplet",)),
        ("+attribute", ("attribute",)),
        ("+triplet+attribute", ("triplet", "attribute")),
    )
} | {base: (base, ()) for base in ("subcluster_adacos", "adaproj")}


def make_id_embedder(
    *, network: str | type = "mobilenetv3", loss: str = "ce", **net_params: Any
) -> NetEmbedder:
    """The default embedder of :class:`IDClassifierDetector`, to adjust and pass on.

    A :class:`~sklasd.embedders.NetEmbedder` (64-frame crops, the other defaults of
    NetEmbedder) around ``ClassifierNet(<network>, criterion=<loss>,
    module__head=<the loss's head>, max_epochs=40, **net_params)``. The named
    networks come in their CPU-sized variant, ``module__width_mult=0.5`` (and
    ``module__depth_mult=0.5`` for the two MobileNets): on 128 x 64 crops in
    batches of 32 on a 2-core CPU,
    :class:`~sklasd.nn.MobileNetV3IDNet` trains about 380 crops/s (140 crops/s in
    its paper configuration, ``module__width_mult=1.0, module__depth_mult=1.0``), so
    that 40 epochs on 1,000 clips of one machine type take about two minutes (see
    ``benchmarks/bench_idclassifier.py``). The Adam optimizer at ``lr=1e-3``, SGDR
    and batches of 32 are :class:`~sklasd.training.ClassifierNet`'s defaults.

    The default loss is cross-entropy: in this configuration it trained faster and
    scored better than ArcFace (margin 0.5, scale 30) in
    ``benchmarks/eval_idclassifier.py``, on synthetic data and on the real DCASE
    2020 slider clips; ArcFace needs more epochs (its loss still fell after 200
    epochs on a hundred clips).

    **The losses of Wang, Du and Wang** (APSIPA ASC 2022): ``"+triplet"`` adds a
    batch-hard triplet loss on the embeddings (``triplet_weight=1.0`` of
    :class:`~sklasd.training.ClassifierNet`, batches of 4 clips of each of up to
    8 sections), ``"+attribute"`` an auxiliary classification of the ``attributes``
    metadata from the embedding (``attribute_weight=1.0``; one head over the
    attribute labels of the machine type, see
    :class:`~sklasd.embedders.NetEmbedder`): total loss = classification +
    triplet + attribute. Tune the weights as ``net__triplet_weight`` and
    ``net__attribute_weight``.

    40 epochs suit about a thousand clips (over a thousand optimisation steps); on a
    few hundred clips, train for more epochs (``max_epochs=...``). With few steps
    the running batch-normalisation statistics would not have settled (embeddings
    that barely vary from clip to clip); the embedder recomputes them over the
    training clips after training (``recompute_bn=True``), which fixes that.

    Parameters
    ----------
    network : {"mobilenetv3", "mobilefacenet", "tdnn"} or type, default="mobilenetv3"
        :class:`~sklasd.nn.MobileNetV3IDNet` or :class:`~sklasd.nn.MobileFaceNet`
        at width and depth 0.5, :class:`~sklasd.nn.TDNN` (the paper's baseline)
        at width 0.5, or a network class with their keyword interface
        (``n_classes``, ``in_channels``, ``input_size``, ``head``), used with its
        own defaults.
    loss : str, default="ce"
        ``"ce"`` (:class:`~sklasd.nn.CrossEntropyLoss` with a linear head) or
        ``"arcface"`` (:class:`~sklasd.nn.ArcFaceLoss` with a cosine head),
        optionally followed by ``"+triplet"``, ``"+attribute"`` or
        ``"+triplet+attribute"`` (e.g. ``"ce+triplet+attribute"``, the paper's
        loss); or ``"subcluster_adacos"`` (:class:`~sklasd.nn.SubclusterAdaCosLoss`,
        16 fixed centres per class) or ``"adaproj"`` (:class:`~sklasd.nn.AdaProjLoss`,
        32-dimensional class subspaces), the losses of Wilkinghoff's systems,
        which take the network's embeddings and cannot take further terms.
    **net_params : dict
        Further :class:`~sklasd.training.ClassifierNet` parameters, overriding the
        above (``max_epochs=100``, ``module__width_mult=1.0``, ``lr=...``).

    Returns
    -------
    embedder : NetEmbedder
        An unfitted embedder.

    Examples
    --------
    >>> from sklasd.detectors import IDClassifierDetector, make_id_embedder
    >>> embedder = make_id_embedder(loss="arcface", max_epochs=100)
    >>> embedder.net.criterion.__name__, embedder.net.module__head, embedder.net.max_epochs
    ('ArcFaceLoss', 'cosine', 100)
    >>> detector = IDClassifierDetector(embedder=embedder, score_rule="confidence")
    >>> net = make_id_embedder(network="tdnn", loss="ce+triplet+attribute").net
    >>> net.module.__name__, net.triplet_weight, net.attribute_weight
    ('TDNN', 1.0, 1.0)
    """
    if loss not in _LOSSES:
        raise ValueError(f"loss must be one of {sorted(_LOSSES)}, got {loss!r}.")
    if isinstance(network, str):
        if network not in _NETWORKS:
            raise ValueError(
                f"network must be one of {sorted(_NETWORKS)} or a class, got {network!r}."
            )
        module, cpu_params = _NETWORKS[network]
        net_params = {**cpu_params, **net_params}
    else:
        module = network
    base, terms = _LOSSES[loss]
    criterion, head = _CLASSIFIER_LOSSES[base]
    params = {
        "criterion": criterion,
        "module__head": head,
        "max_epochs": 40,
        **{_LOSS_TERMS[term]: 1.0 for term in terms},
        **net_params,
    }
    return NetEmbedder(net=ClassifierNet(module, **params))


@fill_doc
class IDClassifierDetector(_SectionClassifierDetector):
    """Anomalies are clips that a network trained to tell sections apart cannot place.

    The classification approach of the best DCASE systems (Wang et al., "Unsupervised
    anomalous sound detection for machine condition monitoring using
    classification-based methods", Applied Sciences 11(23), 2021, section 2.2; Giri's,
    Inoue's and Zhou's DCASE 2020 systems; STgram-MFN): a network learns, on normal
    clips only, to tell apart the sections (machine IDs) of a machine type. An unseen
    clip is anomalous when the network is unsure of the clip's own section
    (``score_rule="confidence"``), or when its embedding lies far from the training
    embeddings of its section (the other score rules).

    ``fit`` runs ``features`` (log-mel spectrograms; the metadata that the
    features request in ``fit`` is passed on, e.g. the sections that a
    :class:`~sklasd.embedders.Tgram` learns from), trains ``embedder`` (a
    :class:`~sklasd.embedders.NetEmbedder`: random crops, averaging over crops at
    inference) on the features with each clip's class, and fits the scorer step
    of :mod:`sklasd.scoring` that ``score_rule`` names on the embeddings of the
    training clips (or, for ``"confidence"``, on their crops' class
    probabilities). The same method as a pipeline is
    ``make_pipeline(LogMel(), NetEmbedder(...), CosineScorer())``, which gives the
    same scores as ``IDClassifierDetector(embedder=NetEmbedder(...),
    score_rule="cosine")`` with the same ``random_state`` (and
    ``make_pipeline(LogMel(), NetEmbedder(..., output="crop_proba"),
    ConfidenceScorer())`` those of ``score_rule="confidence"`` when the network
    learns the sections). The detector itself can be the last step after its
    feature step: ``make_pipeline(LogMel(), IDClassifierDetector(features="passthrough"))``.

    **Groups.** Thresholds and scorer models are kept per group of clips: per
    ``section``, or, when ``machine_type`` is given in ``fit``, per (machine type,
    section) pair, so that one model serves several machine types (as the DCASE
    2023 systems train on data with one section per machine type). ``sections_``
    holds the groups; a detector fitted with ``machine_type`` needs it (and
    ``section``) when scoring too. Both are requested by default in ``fit``,
    ``decision_function`` and ``predict``.

    **Classes the network learns** (``target``; the embedder's own ``target`` is
    replaced by it):

    - ``"section"``: one class per group, i.e. per section, or per (machine type,
      section) pair when ``machine_type`` is given;
    - ``"section_attributes"``: one class per (group, attribute label) pair, with the
      ``attributes`` metadata (e.g. the ``attributes`` column of
      :func:`~sklasd.datasets.load_dcase`); on data with a single section these are
      the attribute classes;
    - ``"attributes"``: one class per attribute label (per (machine type,
      attribute) pair when ``machine_type`` is given);
    - ``"auto"`` (default): ``"section_attributes"`` when ``attributes`` is given in
      ``fit``, else ``"section"``; but always ``"section"`` for a loss with a
      triplet or attribute term (``loss="ce+triplet"``...), as in Wang, Du and
      Wang (2022): the triplet loss needs several clips per class, and the
      attributes train the auxiliary heads instead.

    Training needs at least two classes among the normal clips: data with one
    section per machine type train on several machine types at once
    (``machine_type``) or on attribute classes.

    **Score rules** (``score_rule``; a scorer step, the detector step that
    turns the network's outputs into normality scores, not a model-selection
    metric such as :func:`~sklasd.metrics.make_asd_scorer`).

    - ``"confidence"`` (:class:`~sklasd.scoring.ConfidenceScorer`): the anomaly
      score of a clip is ``log((1 - p) / p)``, where
      ``p`` is the probability the network gives to the clip's own group (the sum
      of the probabilities of all classes seen with that group in training), for
      every crop of the clip, averaged over the crops; ``score_samples`` is minus
      that. ``1 - p`` is summed from the other classes' probabilities, so it stays
      accurate when ``p`` rounds to 1. It needs classes outside every group (with
      a single group and attribute classes ``p`` would always be 1: ValueError).
    - ``"cosine"``, ``"knn"``, ``"mahalanobis"``, ``"ocsvm"``: the
      :class:`~sklasd.scoring.CosineScorer`, :class:`~sklasd.scoring.KNNScorer`,
      :class:`~sklasd.scoring.MahalanobisScorer` (with the ``domain`` metadata) or
      :class:`~sklasd.scoring.OneClassSVMScorer` fitted per group on the
      embeddings of the training clips; or any such scorer step instance (cloned),
      e.g. ``KNNScorer(n_neighbors=3)``. The detector's ``contamination`` and
      ``gamma_quantile`` replace the scorer's.

    Clips labelled anomalous (``y == 1``) are left out of training (of the network
    and of the scorer step); thresholds come from the normal training clips.

    Parameters
    ----------
    features : transformer, "passthrough" or None, default=None
        Unfitted transformer from clips (paths or waveforms) to features of shape
        (n_clips, n_channels, n_bands, n_frames), cloned in ``fit``; None means
        :class:`~sklasd.features.LogMel` with its defaults.
        ``"passthrough"``: ``X`` already holds the features (the detector is the
        last step of a Pipeline after its feature step, e.g.
        ``make_pipeline(LogMel(), <detector>(features="passthrough"))``).
    embedder : NetEmbedder or None, default=None
        Unfitted embedder, cloned in ``fit``. None means
        ``make_id_embedder(network=network, loss=loss)`` (:func:`make_id_embedder`):
        the CPU-sized MobileNetV3 ID network with cross-entropy, 40 epochs on 64-frame
        crops, which fits 1,000 clips of 10 s in a few minutes on a 2-core CPU.
        Pass ``make_id_embedder(max_epochs=..., ...)`` to adjust it (and reach
        its parameters as ``embedder__net__lr`` etc. in a parameter search).
    network : {"mobilenetv3", "mobilefacenet", "tdnn"}, type or None, default=None
        Network of the default embedder (see :func:`make_id_embedder`); only
        when ``embedder`` is None (giving both is an error). None means
        ``"mobilenetv3"``.
    loss : str or None, default=None
        Loss of the default embedder (see :func:`make_id_embedder`): ``"ce"``,
        ``"arcface"``, or either followed by ``"+triplet"``, ``"+attribute"`` or
        ``"+triplet+attribute"`` (the losses of Wang, Du and Wang, 2022; the
        attribute loss needs ``attributes`` in ``fit``); ``"subcluster_adacos"``
        or ``"adaproj"`` (Wilkinghoff's). Only when ``embedder`` is None
        (giving both is an error). None means ``"ce"``.
    target : {"auto", "section", "attributes", "section_attributes"}, default="auto"
        Classes the network learns; see above.
    score_rule : {"confidence", "cosine", "knn", "mahalanobis", "ocsvm"} or scorer step, \
default="cosine"
        How clips are scored; see above.
    %(contamination)s
    random_state : int, RandomState instance or None, default=None
        Passed to the embedder (replacing its own) when not None: seeds the
        network's weights, crops and shuffling. An int makes fits repeatable.
    device : str or None, default=None
        Torch device of the network ("cpu", "cuda"), replacing the embedder's when
        not None. A model trained on CUDA loads and scores on a CPU-only machine.

    Attributes
    ----------
    features_ : transformer
        The fitted feature transformer.
    embedder_ : NetEmbedder
        The trained embedder (``embedder_.net_.history`` holds the training history).
    scorer_ : BaseDetector
        The scorer step of ``score_rule``, fitted on the training embeddings (a
        :class:`~sklasd.scoring.ConfidenceScorer` on their crop probabilities
        for ``"confidence"``); its thresholds are the detector's.
    classes_ : ndarray of shape (n_classes,)
        The classes of the network (``embedder_.classes_``).
    class_groups_ : ndarray of shape (n_sections, n_classes) of bool
        Whether a class was seen with a group (a row of ``sections_``) in training.
    machine_types_ : ndarray of shape (n_machine_types,) or None
        Machine types seen in ``fit``; None when fitted without ``machine_type``.
    sections_ : ndarray of shape (n_sections,) or None
        Groups seen in ``fit``: sections, or (machine type, section) tuples in an
        object array when fitted with ``machine_type``; None when fitted without
        ``section``.
    offset_ : ndarray of shape (n_sections,)
        Threshold of each group in ``score_samples`` units.

    See Also
    --------
    make_id_embedder : The default embedder, to adjust.
    sklasd.embedders.NetEmbedder : The trained network, as a transformer.
    sklasd.scoring.CosineScorer : Scorer step of the default ``score_rule``.
    sklasd.scoring.ConfidenceScorer : Scorer step of ``score_rule="confidence"``.
    fit_score_by_machine_type : Fit and score a DCASE dataset type by type.

    Examples
    --------
    A tiny network trained for a few epochs on three sections of one machine:

    >>> from sklasd.datasets import make_machine_sounds
    >>> from sklasd.detectors import IDClassifierDetector
    >>> from sklasd.features import LogMel
    >>> from sklasd.nn import MobileNetV3IDNet
    >>> from sklasd.embedders import NetEmbedder
    >>> from sklasd.training import ClassifierNet
    >>> X, meta = make_machine_sounds(machine_types="fan", n_train=8, n_test=4,
    ...                               duration=1.0, random_state=0)
    >>> train = (meta["split"] == "train").to_numpy()
    >>> net = ClassifierNet(MobileNetV3IDNet, module__width_mult=0.25,
    ...                     module__depth_mult=0.5, max_epochs=3, batch_size=16)
    >>> detector = IDClassifierDetector(
    ...     features=LogMel(n_mels=32), embedder=NetEmbedder(net=net, n_frames=16),
    ...     score_rule="confidence", random_state=0,
    ... ).fit(X[train], section=meta["section"][train])
    >>> detector.sections_, detector.classes_
    (array([0, 1, 2]), array([0, 1, 2]))
    >>> anomaly_score = -detector.decision_function(X[~train], section=meta["section"][~train])
    >>> anomaly_score.shape
    (24,)
    """

    __metadata_request__fit: ClassVar[dict] = {"domain": True, "attributes": True}

    _parameter_constraints: ClassVar[dict] = {
        **BaseDetector._parameter_constraints,
        "features": [None, StrOptions({"passthrough"}), HasMethods(["fit", "transform"])],
        "embedder": [None, NetEmbedder],
        "network": [None, StrOptions(set(_NETWORKS)), type],
        "loss": [None, StrOptions(set(_LOSSES))],
        "target": [StrOptions({"auto", "section", "attributes", "section_attributes"})],
        "score_rule": [StrOptions(set(SCORE_RULES)), HasMethods(["fit", "score_samples"])],
        "random_state": ["random_state"],
        "device": [str, torch.device, None],
    }

    def __init__(
        self,
        *,
        features: Any = None,
        embedder: NetEmbedder | None = None,
        network: str | type | None = None,
        loss: str | None = None,
        target: str = "auto",
        score_rule: str | BaseDetector = "cosine",
        contamination: str | float = "gamma",
        gamma_quantile: float = 0.9,
        random_state: Any = None,
        device: str | None = None,
    ):
        super().__init__(contamination=contamination, gamma_quantile=gamma_quantile)
        self.features = features
        self.embedder = embedder
        self.network = network
        self.loss = loss
        self.target = target
        self.score_rule = score_rule
        self.random_state = random_state
        self.device = device

    # -- public methods that take machine_type ----------------------------------------

    def fit(
        self,
        X: Any,
        y: Any = None,
        *,
        section: Any = None,
        machine_type: Any = None,
        domain: Any = None,
        attributes: Any = None,
    ) -> IDClassifierDetector:
        """Train the network, the scorer step and the per-group thresholds.

        Parameters
        ----------
        X : sequence of str of length n_clips, or array-like of shape (n_clips, n_samples)
            Training clips: audio file paths or waveforms.
        y : array-like of shape (n_clips,), default=None
            Anomaly labels, 0 normal and 1 anomalous; anomalous clips are left out
            of training. None means all clips are normal.
        section : array-like of shape (n_clips,), default=None
            Section (machine ID) of every clip.
        machine_type : array-like of shape (n_clips,), default=None
            Machine type of every clip: the groups become (machine type, section)
            pairs, for one model over several machine types. Needs ``section``.
        domain : array-like of shape (n_clips,), default=None
            Domain of every clip ("source"/"target"), for scorer steps that use it
            (``"mahalanobis"``).
        attributes : array-like of shape (n_clips,), default=None
            Attribute label of every clip, for the attribute targets.

        Returns
        -------
        self : IDClassifierDetector
            The fitted detector.

        Raises
        ------
        ValueError
            When the normal clips hold fewer than two classes, metadata is missing
            or misshaped, or ``score_rule="confidence"`` would be constant.
        """
        return super().fit(
            X, y, section=section, machine_type=machine_type, domain=domain, attributes=attributes
        )

    def fit_predict(
        self,
        X: Any,
        y: Any = None,
        *,
        section: Any = None,
        machine_type: Any = None,
        domain: Any = None,
        attributes: Any = None,
    ) -> np.ndarray:
        """Fit the detector and return the labels of the training clips.

        Parameters
        ----------
        X, y, section, machine_type, domain, attributes
            As in :meth:`fit`.

        Returns
        -------
        labels : ndarray of shape (n_clips,)
            +1 for normal clips, -1 for anomalous ones (leave-one-out labels for the
            neighbour-based score rules).
        """
        return super().fit_predict(
            X, y, section=section, machine_type=machine_type, domain=domain, attributes=attributes
        )

    # -- BaseDetector hooks -----------------------------------------------------------

    def _make_embedder(self) -> NetEmbedder:
        if self.embedder is not None:
            if self.network is not None or self.loss is not None:
                raise ValueError(
                    f"network={self.network!r} and loss={self.loss!r} configure the default "
                    "embedder; with an embedder given, set its net instead (or leave "
                    "network and loss None)."
                )
            embedder = clone(self.embedder)
        else:
            embedder = make_id_embedder(
                network=self.network or "mobilenetv3", loss=self.loss or "ce"
            )
        return self._with_seed_and_device(embedder)

    def _make_scorer(self) -> BaseDetector:
        return self._score_rule(self.score_rule)
