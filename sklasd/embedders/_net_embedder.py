"""NetEmbedder: a network trained to tell sections apart, as a scikit-learn transformer."""

from __future__ import annotations

from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
    clone,
)
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, check_memory
from skorch.callbacks import EarlyStopping
from skorch.dataset import ValidSplit

from sklasd.base import VersionStampMixin
from sklasd.training import ClassifierNet, RandomCrops, SeedEpochs, SlidingCrops, check_features
from sklasd.utils import (
    check_device,
    check_labels,
    check_metadata_array,
    draw_seed,
    private_torch_rng,
)

__all__ = ["NetEmbedder"]


def _object_array(values: list) -> np.ndarray:
    """A 1-D object array of ``values`` (np.asarray would make tuples a 2-D array)."""
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def _fit_recipe(recipe: NetEmbedder, X, y, section, attributes) -> NetEmbedder:
    """``recipe`` trained on the clips: the function that ``memory`` caches."""
    return recipe._train(X, y, section=section, attributes=attributes)


class NetEmbedder(
    VersionStampMixin, ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator
):
    """Embeddings of a network trained to tell the sections (or attributes) apart.

    The approach of the best DCASE systems for anomalous sound detection: a
    network learns, on normal clips only, to classify the clips of one machine
    type by section (machine ID) or by operating condition; a clip it cannot
    place well, or whose embedding lies far from its section's training
    embeddings, is anomalous. This transformer trains a skorch
    :class:`~sklasd.training.ClassifierNet` and maps clips to embeddings
    (:meth:`transform`) and to class probabilities (:meth:`predict_proba`), for
    the scorer steps of :mod:`sklasd.scoring` or a detector to score.

    **Targets.** The class labels travel as metadata (requested by default in
    ``fit``, so a Pipeline with metadata routing passes them on): ``target``
    picks ``section``, ``attributes`` or the (section, attribute) pairs; the
    other is then ignored. ``classes_`` holds the sorted labels;
    :meth:`class_index` maps labels to columns of :meth:`predict_proba`. Clips
    labelled anomalous (``y == 1``) are left out of training.

    **Crops.** The net trains on one random crop of ``n_frames`` frames per
    clip and epoch (:class:`~sklasd.training.RandomCrops`, redrawn every epoch from
    ``random_state``). At inference every clip is cut into crops of ``n_frames``
    frames every ``inference_hop`` frames, the last one ending at the clip's end
    (:class:`~sklasd.training.SlidingCrops`); :meth:`transform` returns the mean of the crops'
    embeddings (not normalised: append
    :class:`~sklearn.preprocessing.Normalizer` for unit vectors) and
    :meth:`predict_proba` the mean of their class probabilities
    (:meth:`predict_crop_proba` gives them crop by crop).

    **Training.** ``net`` holds everything about the training loop: module and
    its parameters, criterion, optimizer (Adam), learning rate and SGDR schedule,
    ``max_epochs``, ``batch_size``, mixed precision (``amp``), checkpoints
    (``checkpoint_dir``: an interrupted fit resumes where it stopped) and
    progress output (``verbose``). All of them are parameters of this estimator:
    ``net__lr``, ``net__module__width_mult``, ``net__max_epochs``... (and
    ``<step>__net__lr`` in a Pipeline, for GridSearchCV). ``fit`` trains a clone
    of ``net`` (``net_``), whose module gets ``n_classes``, ``in_channels`` and
    ``input_size=(n_bands, n_frames)`` from the data.

    **Triplet and attribute losses** (Wang, Du and Wang, APSIPA ASC 2022). A
    net with ``triplet_weight > 0`` (:class:`~sklasd.training.ClassifierNet`) trains on batches of
    ``n_clips_per_class`` clips of each of several classes, with a batch-hard
    triplet loss on the embeddings added to its criterion. A net with
    ``attribute_weight > 0`` also classifies each clip's ``attributes`` (needed
    then) with auxiliary heads on the embedding: one head whose classes are the
    distinct attribute labels of the normal training clips (as the paper counts
    them per machine type: fan 12, ToyCar 22 in DCASE 2022), or, where the
    labels are (machine type, attribute) pairs (as
    :class:`~sklasd.detectors.IDClassifierDetector` passes them when given
    ``machine_type``), one head per machine type over that type's attribute
    labels. ``attribute_classes_`` lists each head's classes; ``fit`` sets the
    net's ``n_attribute_classes`` from them. The classes of ``target`` stay
    those of the classification, :meth:`predict_proba` and the triplet loss.

    **Batch normalisation.** With few optimisation steps the running
    statistics of batch normalisation have not settled, and the embeddings
    computed with them barely vary from clip to clip. With ``recompute_bn=True``
    (default) ``fit`` ends with one pass of the trained network over the
    inference crops of the normal training clips that recomputes the running
    statistics as their plain average
    (:func:`torch.optim.swa_utils.update_bn`) over batches of crops drawn in a
    shuffled order (clips in file order come section by section, and batches
    of one section would miss the variance between sections, which then blows
    up at inference); networks without batch normalisation are left as they
    are.

    **Randomness.** Everything random (weights, crops, shuffling, dropout, the
    validation split) derives from ``random_state``; torch's and numpy's global
    random states are left as they were (fit and inference run on forked torch
    states). Each epoch is seeded from the seed and its number, so a fit
    resumed from a checkpoint equals the uninterrupted one.

    **Threads.** Training and inference use torch's intra-op thread pool as it is
    set (``torch.get_num_threads()``, by default one thread per core); this
    estimator never changes it. Limit it yourself with
    :func:`torch.set_num_threads` where several fits share the cores.

    Parameters
    ----------
    net : ClassifierNet or None, default=None
        The unfitted net (cloned in ``fit``). None uses
        ``ClassifierNet(MobileNetV3IDNet, criterion=ArcFaceLoss,
        module__head="cosine")`` (:mod:`sklasd.nn`): the MobileNetV3 ID
        classifier in its paper configuration with an ArcFace loss, and the
        net's defaults.
    target : {"section", "attributes", "section_attributes"}, default="section"
        The class labels: the ``section`` metadata, the ``attributes`` metadata
        (one label per clip, e.g. the ``attributes`` column of
        :func:`~sklasd.datasets.load_dcase`), or their pairs.
    n_frames : int, default=64
        Crop length in frames, in training and inference (64 frames of a 10 s
        clip at hop 512 and 16 kHz are 2 s; crops train several times faster than
        whole clips on a CPU). Clips shorter than that are used whole: the crop
        length ``n_frames_`` is ``min(n_frames, frames of the training clips)``
        (e.g. 32 frames for 1 s clips at hop 512), and clips scored later need at
        least ``n_frames_`` frames.
    inference_hop : int or None, default=None
        Frames between the starts of the crops of a clip at inference; None
        means ``n_frames`` (crops that tile the clip, the last one overlapping
        its predecessor to end at the clip's end).
    early_stopping : bool, default=False
        Whether to hold out ``validation_fraction`` of the clips, stratified by
        class so that every class is represented, and stop when the validation
        loss has not improved for ``n_iter_no_change`` epochs, restoring the
        module's weights of the best epoch (skorch's
        :class:`~skorch.callbacks.EarlyStopping`). Validation clips keep one
        fixed crop.
    validation_fraction : float, default=0.1
        Fraction of the training clips held out when ``early_stopping=True``.
    n_iter_no_change : int, default=5
        Patience of early stopping, in epochs.
    random_state : int, RandomState instance or None, default=None
        Seed of everything random in ``fit``; an int makes fits repeatable.
        None takes a fresh seed from the operating system (numpy's global
        random state is not used).
    device : str or None, default=None
        Torch device to train on ("cpu", "cuda", ...), overriding the net's
        ``device``; None keeps the net's. A model trained on CUDA loads and runs
        on a machine without CUDA (on the CPU, with a skorch ``DeviceWarning``).
    recompute_bn : bool, default=True
        Whether to recompute the running statistics of batch normalisation over
        the training clips after training; see above.
    output : {"embedding", "crop_proba"}, default="embedding"
        What :meth:`transform` returns: the mean embedding of every clip's
        crops, for the embedding scorer steps (:class:`~sklasd.scoring.CosineScorer`...),
        or the class probabilities of every crop (:meth:`predict_crop_proba`;
        with ``target="section_attributes"`` summed over the classes of each
        section, so one column per sorted section), for
        :class:`~sklasd.scoring.ConfidenceScorer`.
    memory : str, joblib.Memory or None, default=None
        Where to cache the trained net (as in
        :class:`~sklearn.cluster.AgglomerativeClustering`): a folder or a
        :class:`joblib.Memory`. The cache is keyed on the clips, the labels
        and every parameter but ``output`` and ``memory``, so embedders that
        differ only in ``output`` share one training: a grid over the score
        rule (:class:`~sklasd.scoring.ConfidenceScorer` on ``"crop_proba"``,
        :class:`~sklasd.scoring.CosineScorer` on ``"embedding"``) trains each
        network once per fold. With ``random_state=None`` a cached net is
        reused rather than trained from a fresh seed. None: no caching.

    Attributes
    ----------
    net_ : ClassifierNet
        The trained net (``net_.history`` holds the training history).
    n_frames_ : int
        The crop length used: ``n_frames``, or the training clips' length where
        they are shorter.
    classes_ : ndarray of shape (n_classes,)
        Sorted class labels: sections, attribute labels, or (section, attribute)
        tuples in an object array.
    n_channels_in_ : int
        Number of feature channels seen in ``fit``.
    n_bands_in_ : int
        Number of frequency bands seen in ``fit``.
    n_features_out_ : int
        Embedding dimension (number of columns of :meth:`transform`).
    attribute_classes_ : list of ndarray or None
        The classes of each attribute head when the net has
        ``attribute_weight > 0``, else None.

    See Also
    --------
    sklasd.training.ClassifierNet : The skorch net and its training options.
    sklasd.features.LogMel : Features to feed in.
    sklasd.scoring.CosineScorer : Scores embeddings against their section's.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from sklasd.embedders import NetEmbedder
    >>> from sklasd.training import ClassifierNet
    >>> class Tiny(torch.nn.Module):
    ...     def __init__(self, *, n_classes=2, in_channels=1, embedding_dim=4,
    ...                  input_size=(8, 8), head="linear"):
    ...         super().__init__()
    ...         self.body = torch.nn.Sequential(
    ...             torch.nn.Flatten(), torch.nn.Linear(in_channels * input_size[0]
    ...             * input_size[1], embedding_dim))
    ...         self.head = torch.nn.Linear(embedding_dim, n_classes)
    ...     def embed(self, x):
    ...         return self.body(x)
    ...     def forward(self, x):
    ...         return self.head(self.embed(x))
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(12, 1, 8, 20)).astype(np.float32)
    >>> section = np.repeat([0, 1, 2], 4)
    >>> X[section == 1, :, :4] += 2.0  # sections differ in their low bands
    >>> embedder = NetEmbedder(net=ClassifierNet(Tiny, max_epochs=5), n_frames=8,
    ...                        random_state=0).fit(X, section=section)
    >>> embedder.classes_
    array([0, 1, 2])
    >>> embedder.transform(X).shape, embedder.predict_proba(X).shape
    ((12, 4), (12, 3))
    >>> embedder.get_feature_names_out()[:2].tolist()
    ['netembedder0', 'netembedder1']

    The TDNN with the triplet and attribute losses of Wang, Du and Wang:

    >>> from sklasd.nn import TDNN
    >>> attributes = np.tile(["spd_80", "spd_90"], 6)
    >>> net = ClassifierNet(TDNN, module__width_mult=0.05, module__embedding_dim=4,
    ...                     max_epochs=2, batch_size=6, n_clips_per_class=2,
    ...                     triplet_weight=1.0, attribute_weight=0.5)
    >>> embedder = NetEmbedder(net=net, n_frames=16, random_state=0).fit(
    ...     X, section=section, attributes=attributes)
    >>> embedder.attribute_classes_
    [array(['spd_80', 'spd_90'], dtype='<U6')]
    >>> embedder.transform(X).shape
    (12, 4)
    """

    __metadata_request__fit: ClassVar[dict] = {"section": True, "attributes": True}

    _parameter_constraints: ClassVar[dict] = {
        "net": [ClassifierNet, None],
        "target": [StrOptions({"section", "attributes", "section_attributes"})],
        "n_frames": [Interval(Integral, 1, None, closed="left")],
        "inference_hop": [Interval(Integral, 1, None, closed="left"), None],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "device": [str, torch.device, None],
        "recompute_bn": ["boolean"],
        "output": [StrOptions({"embedding", "crop_proba"})],
        "memory": [str, HasMethods(["cache"]), None],
    }

    def __init__(
        self,
        *,
        net=None,
        target="section",
        n_frames=64,
        inference_hop=None,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        random_state=None,
        device=None,
        recompute_bn=True,
        output="embedding",
        memory=None,
    ):
        self.net = net
        self.target = target
        self.n_frames = n_frames
        self.inference_hop = inference_hop
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.random_state = random_state
        self.device = device
        self.recompute_bn = recompute_bn
        self.output = output
        self.memory = memory

    # -- labels ---------------------------------------------------------------------

    def _class_keys(self, section, attributes, n_samples: int) -> np.ndarray:
        """The class label of every clip under ``target``, validated."""
        needed = {
            "section": ("section",),
            "attributes": ("attributes",),
            "section_attributes": ("section", "attributes"),
        }[self.target]
        given = {"section": section, "attributes": attributes}
        values = []
        for name in needed:
            if given[name] is None:
                raise ValueError(
                    f"target={self.target!r} needs the {name} of every clip: pass {name}=... "
                    "(as metadata through a Pipeline with metadata routing enabled)."
                )
            values.append(check_metadata_array(given[name], n_samples, name=name))
        if len(values) == 1:
            return values[0]
        return _object_array(list(zip(values[0].tolist(), values[1].tolist(), strict=True)))

    def _attribute_codes(self, labels: np.ndarray) -> np.ndarray:
        """Attribute class of every clip per head, shape (n_clips, n_heads); sets the heads."""
        n_samples = len(labels)
        paired = all(isinstance(label, tuple) and len(label) == 2 for label in labels.tolist())
        groups = (
            _object_array([label[0] for label in labels.tolist()])
            if paired
            else np.zeros(n_samples, dtype=np.intp)
        )
        codes = np.full((n_samples, 0), -1, dtype=np.int64)
        self.attribute_classes_ = []
        for group in np.unique(groups):
            member = groups == group
            classes, code = np.unique(labels[member], return_inverse=True)
            column = np.full(n_samples, -1, dtype=np.int64)
            column[member] = code
            codes = np.column_stack([codes, column])
            self.attribute_classes_.append(classes)
        return codes

    def class_index(self, *, section=None, attributes=None) -> np.ndarray:
        """Column of :meth:`predict_proba` that holds each clip's own class.

        Parameters
        ----------
        section : array-like of shape (n_clips,), default=None
            Sections of the clips (needed when ``target`` uses sections).
        attributes : array-like of shape (n_clips,), default=None
            Attribute labels of the clips (needed when ``target`` uses them).

        Returns
        -------
        index : ndarray of shape (n_clips,) of int
            Positions in ``classes_``.

        Raises
        ------
        ValueError
            If a needed label is missing, or a label was not seen in ``fit`` (the
            message names it).
        """
        check_is_fitted(self)
        given = section if section is not None else attributes
        n_samples = 0 if given is None else len(given)
        keys = self._class_keys(section, attributes, n_samples)
        lookup = {label: i for i, label in enumerate(self.classes_.tolist())}
        unseen = sorted({key for key in keys.tolist() if key not in lookup}, key=str)
        if unseen:
            raise ValueError(
                f"Class labels {unseen[:10]} (target={self.target!r}) were not seen in fit; "
                f"known classes: {self.classes_.tolist()[:20]}."
            )
        return np.array([lookup[key] for key in keys.tolist()], dtype=np.intp)

    # -- fit ------------------------------------------------------------------------

    def _make_net(self) -> ClassifierNet:
        if self.net is not None:
            return clone(self.net)
        from sklasd.nn import ArcFaceLoss, MobileNetV3IDNet

        return ClassifierNet(MobileNetV3IDNet, criterion=ArcFaceLoss, module__head="cosine")

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, *, section=None, attributes=None):
        """Train the net to predict each clip's class from random crops.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_channels, n_bands, n_frames)
            Features, e.g. the output of :class:`~sklasd.features.LogMel`, with at
            least ``n_frames`` frames per clip.
        y : array-like of shape (n_clips,), default=None
            Anomaly labels (0 normal, 1 anomalous); anomalous clips are left out.
            None means all clips are normal.
        section : array-like of shape (n_clips,), default=None
            Section of every clip (metadata); needed unless
            ``target="attributes"``.
        attributes : array-like of shape (n_clips,), default=None
            Attribute label of every clip (metadata); needed when ``target``
            uses attributes or the net has ``attribute_weight > 0``.

        Returns
        -------
        self : NetEmbedder
            The fitted embedder.

        Raises
        ------
        ValueError
            For clips shorter than ``n_frames``, missing or misshaped labels,
            fewer than two classes among the normal clips, or a validation split
            that cannot hold every class.
        """
        # The training depends on every parameter but these two: embedders that
        # differ only in them share a cached training.
        recipe = clone(self).set_params(output="embedding", memory=None)
        trained = check_memory(self.memory).cache(_fit_recipe)(recipe, X, y, section, attributes)
        vars(self).update(
            {name: value for name, value in vars(trained).items() if name.endswith("_")}
        )
        return self

    def _train(self, X, y, *, section, attributes) -> NetEmbedder:
        """The training behind :meth:`fit`, uncached."""
        net = self._make_net()
        if net.callbacks == "disable":
            raise ValueError(
                "NetEmbedder adds callbacks to the net (per-epoch seeding, early stopping); "
                "a net with callbacks='disable' cannot take them."
            )
        triplet_weight, attribute_weight = net.loss_weights()
        X = check_features(X)
        self.n_frames_ = min(self.n_frames, X.shape[-1])
        n_samples = X.shape[0]
        y = check_labels(y, n_samples)
        keys = self._class_keys(section, attributes, n_samples)
        normal = np.ones(n_samples, dtype=bool) if y is None else y == 0
        X, keys = X[normal], keys[normal]
        self.classes_, target = np.unique(keys, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"NetEmbedder needs normal clips of at least two classes to train a "
                f"classifier; target={self.target!r} gives only {self.classes_.tolist()}."
            )
        if triplet_weight > 0:
            counts = np.bincount(target)
            if counts.min() < 2:
                raise ValueError(
                    f"net.triplet_weight={triplet_weight} needs at least 2 normal clips of "
                    f"every class, but class {self.classes_[counts.argmin()]!r} "
                    f"(target={self.target!r}) has {counts.min()}; use a coarser target or "
                    "set net__triplet_weight=0."
                )
        _, self.n_channels_in_, self.n_bands_in_, _ = X.shape
        seed = draw_seed(self.random_state)

        net.set_params(device=check_device(net.device if self.device is None else self.device))
        callbacks = [*(net.callbacks or []), ("seed_epochs", SeedEpochs(seed))]
        if self.early_stopping:
            net.set_params(
                train_split=ValidSplit(
                    self.validation_fraction, stratified=True, random_state=seed
                )
            )
            callbacks.append(
                (
                    "early_stopping",
                    EarlyStopping(patience=self.n_iter_no_change, load_best=True),
                )
            )
        net.set_params(
            module__n_classes=len(self.classes_),
            module__in_channels=self.n_channels_in_,
            module__input_size=(self.n_bands_in_, self.n_frames_),
            callbacks=callbacks,
        )
        target = target.astype(np.int64)
        crop_target = target
        self.attribute_classes_ = None
        if attribute_weight > 0:
            if attributes is None:
                raise ValueError(
                    f"net.attribute_weight={attribute_weight} needs the attributes of every "
                    "clip: pass attributes=... (as metadata through a Pipeline with metadata "
                    "routing enabled), or set net__attribute_weight=0."
                )
            labels = check_metadata_array(attributes, n_samples, name="attributes")
            codes = self._attribute_codes(labels[normal])
            net.set_params(n_attribute_classes=[len(c) for c in self.attribute_classes_])
            crop_target = np.column_stack([target, codes])
        with private_torch_rng(net.device, seed):
            # The classes (first column) stratify the validation split.
            net.fit(RandomCrops(X, crop_target, n_frames=self.n_frames_, seed=seed), target)
            if self.recompute_bn:
                self._recompute_bn(net, X)
            self.net_ = net
            self.n_features_out_ = net.embed(X[:1, ..., : self.n_frames_]).shape[1]
        return self

    def _recompute_bn(self, net: ClassifierNet, X: np.ndarray) -> None:
        """Batch-normalisation statistics of ``net``'s module averaged over the inference
        crops of ``X`` (a no-op for modules without batch normalisation)."""
        crops = SlidingCrops(X, n_frames=self.n_frames_, hop=self.inference_hop or self.n_frames_)
        batch_size = len(crops) if net.batch_size == -1 else net.batch_size
        # Shuffled (from the fit's private torch state): batches that mix the
        # sections, whose average variance is then the variance of all crops.
        loader = torch.utils.data.DataLoader(
            crops, batch_size=batch_size, shuffle=True, drop_last=len(crops) % batch_size == 1
        )
        torch.optim.swa_utils.update_bn(loader, net.module_, device=net.device)

    # -- inference ------------------------------------------------------------------

    @property
    def _n_features_out(self) -> int:
        return self.n_features_out_

    def _crop_outputs(self, X, method: str) -> np.ndarray:
        """Output of ``net_.<method>`` on every crop, shape (n_clips, n_crops, ...)."""
        check_is_fitted(self)
        X = check_features(X, n_frames=self.n_frames_, fitted=self)
        crops = SlidingCrops(X, n_frames=self.n_frames_, hop=self.inference_hop or self.n_frames_)
        return crops.outputs(self.net_, method)

    def _section_proba(self, proba: np.ndarray) -> np.ndarray:
        """Class probabilities, summed over each section's classes for (section, attribute)."""
        if self.target != "section_attributes":
            return proba
        sections = [label[0] for label in self.classes_]
        keys = sorted(set(sections))
        column = np.array([keys.index(section) for section in sections])
        return np.stack([proba[..., column == k].sum(axis=-1) for k in range(len(keys))], -1)

    def transform(self, X) -> np.ndarray:
        """Embed every clip: the mean of its crops' embeddings.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_channels, n_bands, n_frames)
            Features with the channels and bands seen in ``fit`` and at least
            ``n_frames`` frames per clip.

        Returns
        -------
        embeddings : ndarray of shape (n_clips, `n_features_out_`), dtype float32
            Mean embedding of the crops of each clip; with ``output="crop_proba"``
            the class (or section) probabilities of every crop instead, of shape
            (n_clips, n_crops, n_classes).
        """
        if self.output == "crop_proba":
            return self._section_proba(self.predict_crop_proba(X))
        return self._crop_outputs(X, "embed").mean(axis=1)

    def predict_crop_proba(self, X) -> np.ndarray:
        """Class probabilities of every crop of every clip.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_channels, n_bands, n_frames)
            Features with the channels and bands seen in ``fit``.

        Returns
        -------
        proba : ndarray of shape (n_clips, n_crops, n_classes), dtype float32
            ``softmax(criterion.logits(output))`` of each crop; columns follow
            ``classes_``. Crops start every ``inference_hop`` frames, the last at
            the end of the clip.
        """
        return self._crop_outputs(X, "predict_proba")

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities of every clip: the mean over its crops.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_channels, n_bands, n_frames)
            Features with the channels and bands seen in ``fit``.

        Returns
        -------
        proba : ndarray of shape (n_clips, n_classes), dtype float32
            Mean of :meth:`predict_crop_proba` over the crops; rows sum to 1 and
            columns follow ``classes_``.
        """
        return self.predict_crop_proba(X).mean(axis=1)
