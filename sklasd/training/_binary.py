"""Training binary (outlier-exposure) networks: a skorch net that updates class centroids after
every epoch, a batch sampler with fixed class counts per batch, and evenly spread segments."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping

import numpy as np
import torch
from skorch.utils import data_from_dataset

from sklasd.nn import DEFAULT_STAGE_WEIGHTS, StageBCELoss, class_centroids, combine_stages
from sklasd.nn._layers import _check_int
from sklasd.training._data import SlidingCrops
from sklasd.training._net import ClassifierNet
from sklasd.training._sampler import _ClipStream

__all__ = ["BinaryNet", "RatioBatchSampler", "SegmentCrops"]

# DataLoader arguments that a batch sampler replaces.
_BATCH_SAMPLER_EXCLUSIVE = ("batch_size", "shuffle", "sampler", "drop_last")


def _trailing_underscore_params(params: Mapping) -> list[str]:
    """Names of component parameters (``prefix__name``) in ``params`` that end in ``_``."""
    return [name for name in params if "__" in name and name.endswith("_")]


class RatioBatchSampler(torch.utils.data.Sampler[list[int]]):
    """Batches with a fixed number of items of each class, e.g. normal:outlier:anomaly = 32:31:1.

    The batches of outlier-exposure training (Kuroyanagi et al., EUSIPCO 2021):
    every batch holds ``counts[c]`` items of each class ``c``, whatever the
    sizes of the classes, so that a handful of known anomalies appears in
    every batch and the target machine's clips are not swamped by outliers.
    Each class's items are dealt out from successive random permutations (a
    class smaller than its count repeats items). An epoch deals out every
    item of the *first* class of ``counts`` once: ``ceil(n_first /
    counts[first])`` batches, the last one topped up from a new permutation;
    the other classes are drawn from their own permutations meanwhile.

    Batches are drawn from a generator seeded with ``(seed, epoch)`` (no
    global random state); :meth:`set_epoch`, which :class:`BinaryNet` calls
    at the start of every epoch, gives new ones. Use it as a
    :class:`torch.utils.data.DataLoader`'s ``batch_sampler`` (with
    :class:`BinaryNet`: ``iterator_train__batch_sampler``).

    Parameters
    ----------
    labels : array-like of shape (n_items,)
        Class of every item of the dataset (any hashable coding).
    counts : dict
        Items of each class per batch, ``{label: count}`` with counts >= 1;
        the first key sets the length of an epoch. Every class of ``labels``
        must be a key, and every key must have items.
    seed : int, default=0
        Seed of the shuffling, >= 0.
    epoch : int, default=0
        The epoch whose batches are drawn, >= 0.

    Attributes
    ----------
    labels : ndarray of shape (n_items,)
        The classes, as given.
    batch_size : int
        ``sum(counts.values())``.

    Raises
    ------
    ValueError
        If ``labels`` holds a class missing from ``counts``, ``counts`` names
        a class without items, or a count is not an integer >= 1.

    See Also
    --------
    SectionBalancedBatchSampler : The same number of items from each of P classes.
    BinaryNet : The net that takes it as its training batch sampler.

    Examples
    --------
    >>> import numpy as np
    >>> from sklasd.training import RatioBatchSampler
    >>> kind = np.array(["normal"] * 6 + ["outlier"] * 10 + ["anomaly"] * 2)
    >>> sampler = RatioBatchSampler(kind, {"normal": 3, "outlier": 2, "anomaly": 1}, seed=0)
    >>> len(sampler), sampler.batch_size
    (2, 6)
    >>> [kind[batch].tolist().count("anomaly") for batch in sampler]
    [1, 1]
    >>> sorted(set(np.concatenate(list(sampler)).tolist()) & set(range(6)))  # all normals
    [0, 1, 2, 3, 4, 5]
    """

    def __init__(self, labels, counts: Mapping, *, seed: int = 0, epoch: int = 0) -> None:
        labels = np.asarray(labels)
        if labels.ndim != 1 or len(labels) == 0:
            raise ValueError(
                f"labels must be a non-empty 1-D array of classes, got shape {labels.shape}."
            )
        if not isinstance(counts, Mapping) or not counts:
            raise ValueError(
                f"counts must be a non-empty dict {{label: items per batch}}, got {counts!r}."
            )
        self.counts = {
            label: _check_int(f"counts[{label!r}]", count, 1) for label, count in counts.items()
        }
        present = np.unique(labels).tolist()
        unknown = [label for label in present if label not in self.counts]
        if unknown:
            raise ValueError(
                f"labels hold the classes {unknown} that counts does not mention "
                f"(counts: {self.counts})."
            )
        empty = [label for label in self.counts if label not in present]
        if empty:
            raise ValueError(f"counts asks for items of the classes {empty}, which have none.")
        self.labels = labels
        self.seed = _check_int("seed", seed, 0)
        self.epoch = _check_int("epoch", epoch, 0)
        self.batch_size = sum(self.counts.values())
        self._members = [np.flatnonzero(labels == label) for label in self.counts]

    def set_epoch(self, epoch: int) -> None:
        """Draw the batches of ``epoch`` from now on."""
        self.epoch = _check_int("epoch", epoch, 0)

    def __len__(self) -> int:
        return math.ceil(len(self._members[0]) / next(iter(self.counts.values())))

    def __iter__(self) -> Iterator[list[int]]:
        rng = np.random.default_rng([self.seed, self.epoch])
        streams = [_ClipStream(members, rng) for members in self._members]
        for _ in range(len(self)):
            yield np.concatenate(
                [
                    stream.take(count)
                    for stream, count in zip(streams, self.counts.values(), strict=True)
                ]
            ).tolist()


class SegmentCrops(SlidingCrops):
    """Inference dataset: ``n_segments`` overlapping crops of every clip, evenly spread.

    The segments of Kuroyanagi et al.'s segment-averaged scoring (10 segments
    of 256 frames per 10 s clip): crop ``k`` of a clip starts at frame
    ``round(k * (n_total - n_frames) / (n_segments - 1))``, so the first
    starts at the clip's start and the last ends at its end. Starts that
    coincide (clips with fewer than ``n_segments`` distinct positions) are
    kept once. Items and their order are those of :class:`SlidingCrops`.

    Parameters
    ----------
    X : ndarray of shape (n_clips, n_channels, n_bands, n_total_frames)
        float32 features, at least ``n_frames`` long.
    n_frames : int
        Crop length in frames.
    n_segments : int
        Number of crops per clip, >= 1 (1: the start of the clip).

    Attributes
    ----------
    starts : ndarray of shape (n_crops,)
        First frame of each crop of a clip.
    n_crops : int
        Number of crops per clip (``n_segments`` unless starts coincide).

    See Also
    --------
    SlidingCrops : Crops every ``hop`` frames.

    Examples
    --------
    >>> import numpy as np
    >>> from sklasd.training import SegmentCrops
    >>> X = np.zeros((2, 1, 4, 313), dtype=np.float32)
    >>> crops = SegmentCrops(X, n_frames=256, n_segments=10)
    >>> crops.starts.tolist(), len(crops)
    ([0, 6, 13, 19, 25, 32, 38, 44, 51, 57], 20)
    >>> SegmentCrops(X[..., :258], n_frames=256, n_segments=10).starts.tolist()
    [0, 1, 2]
    """

    def __init__(self, X, *, n_frames: int, n_segments: int):
        n_segments = _check_int("n_segments", n_segments, 1)
        super().__init__(X, n_frames=n_frames, hop=n_frames)
        last = self.X.shape[-1] - n_frames
        self.starts = np.unique(np.linspace(0, last, n_segments).round().astype(np.intp))
        self.n_crops = len(self.starts)


class BinaryNet(ClassifierNet):
    """skorch net for binary (outlier-exposure) networks, with class centroids and batch samplers.

    A :class:`ClassifierNet` (SGDR, mixed precision, checkpoints, resumable
    fits, CPU loading of CUDA-trained nets) for networks that tell the target
    machine's clips (target 1, "normal") from outliers (target 0): the
    :class:`~sklasd.nn.RFRCNN` with its stage classifiers and
    :class:`~sklasd.nn.StageBCELoss`, or the :class:`~sklasd.nn.ResNet38`
    with :class:`~sklasd.nn.CentroidLoss`. What it adds:

    - **Probabilities.** :meth:`predict_proba` gives ``[1 - p, p]`` per item,
      where ``p`` is the probability of "normal": ``sigmoid(logit)`` for
      networks with one logit (for tuple outputs skorch reads the first
      element, e.g. :class:`~sklasd.nn.BinaryOutput`'s logit), and
      :func:`~sklasd.nn.combine_stages` of the stage logits with
      ``stage_weights`` for networks with several.
    - **Class centroids.** With a criterion that has ``set_centroids`` (the
      class-centroid losses), the centroids are set to the class means of
      the embeddings of the whole training set (:meth:`update_centroids`:
      evaluation mode) of the randomly initialised network before the first
      epoch, and, where the criterion's ``updates_centroids`` is true (DDCSAD;
      Kuroyanagi et al. keep the DSAD centroid fixed), again after every
      epoch from the epoch's crops. The update runs in the net's own
      ``on_epoch_end``, before any callback, so a checkpoint saved after the
      epoch holds the new centroids and a resumed fit continues with them.
    - **Batch samplers.** ``iterator_train__batch_sampler`` (e.g. a
      :class:`RatioBatchSampler`) composes the training batches; it replaces
      the data loader's ``batch_size``, ``shuffle`` and ``drop_last`` in
      training (``batch_size`` still sets the inference batches), and its
      ``set_epoch`` is called at the start of every epoch. It indexes the
      whole training set, so it cannot be combined with a ``train_split``.

    Parameters
    ----------
    module : type of torch.nn.Module
        The network class, whose ``forward`` gives the logit(s) of "normal"
        (shape (B,) or (B, n_stages), or a tuple whose first element is that)
        and whose ``embed`` gives embeddings.
    criterion : type of torch.nn.Module, default=StageBCELoss
        The loss class (:class:`~sklasd.nn.CentroidLoss` for networks with an
        embedding output).
    stage_weights : sequence of float or None, default=None
        Weights of the stage probabilities in :meth:`predict_proba` for
        networks with several stage logits; None means
        :data:`~sklasd.nn.DEFAULT_STAGE_WEIGHTS`. Ignored for one logit.
    *args, **kwargs
        Any :class:`ClassifierNet` parameter (``lr``, ``max_epochs``,
        ``batch_size``, ``amp``, ``checkpoint_dir``, ``module__width``,
        ``criterion__loss``, ``iterator_train__batch_sampler``, ...).

    Attributes
    ----------
    module_, criterion_, optimizer_, history_ : see :class:`skorch.NeuralNet`
        The trained module, its criterion (with the final centroids, where it
        has some) and optimizer, and the training history.

    See Also
    --------
    ClassifierNet : The parent class and its training options.
    RatioBatchSampler : Training batches with a fixed class composition.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from sklasd.nn import CentroidLoss, ResNet38
    >>> from sklasd.training import BinaryNet, RandomCrops, RatioBatchSampler
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(12, 1, 32, 40)).astype(np.float32)
    >>> y = np.array([1] * 4 + [0] * 8)  # 4 clips of the target machine, 8 outliers
    >>> X[y == 1, :, :8] += 2.0
    >>> _ = torch.manual_seed(0)
    >>> net = BinaryNet(
    ...     ResNet38, criterion=CentroidLoss, criterion__embedding_dim=16,
    ...     module__input_size=(32, 32), module__width_mult=0.125,
    ...     module__layers=(1, 1, 1, 1), module__embedding_dim=16, max_epochs=2,
    ...     iterator_train__batch_sampler=RatioBatchSampler(y, {1: 2, 0: 2}),
    ... ).fit(RandomCrops(X, y, n_frames=32), y)
    >>> net.predict_proba(X[:3, :, :, :32]).shape
    (3, 2)
    >>> tuple(net.criterion_.c_p.shape)  # the normal centroid after the last epoch
    (16,)
    """

    def __init__(self, module, *args, criterion=StageBCELoss, stage_weights=None, **kwargs):
        super().__init__(module, *args, criterion=criterion, **kwargs)
        self.stage_weights = stage_weights

    def _get_param_names(self):
        # skorch quirk (1.4): NeuralNet._get_param_names drops every attribute whose name
        # ends in "_" (meant for fitted attributes such as module_ and history_), and with
        # them component parameters such as criterion__lambda_ (CentroidLoss's lambda_):
        # get_params and sklearn's clone would silently lose them. Keep the prefixed ones.
        return [*super()._get_param_names(), *_trailing_underscore_params(vars(self))]

    def set_params(self, **kwargs):
        """skorch's set_params, with two of its restrictions lifted.

        - Component parameters whose name ends in an underscore (e.g.
          ``criterion__lambda_``), which skorch 1.4's set_params rejects with a
          ValueError ("Something went wrong here"), are set here, and the
          component (with what depends on it) is re-initialised as skorch does for
          its other parameters.
        - skorch 1.4 raises a ValueError for ``iterator_train__*`` or
          ``iterator_valid__*`` parameters once the net is initialised, although they
          need no re-initialisation (the data loaders are built anew for every fit):
          they are set directly here, e.g. a new batch sampler before ``partial_fit``.
        """
        # skorch quirk: set_params raises for names ending in "_" (see _get_param_names).
        trailing = {name: kwargs.pop(name) for name in _trailing_underscore_params(kwargs)}
        vars(self).update(trailing)
        if self.initialized_:
            # skorch quirk: iterator_* parameters are refused on an initialised net.
            loader = {
                name: kwargs.pop(name)
                for name in list(kwargs)
                if name.startswith(("iterator_train__", "iterator_valid__"))
            }
            vars(self).update(loader)
            self._reinitialize_for(trailing)
        return super().set_params(**kwargs) if kwargs else self

    def _reinitialize_for(self, params: Mapping) -> None:
        """Re-initialise what skorch re-initialises when these component parameters change."""
        components = {name.split("__", 1)[0] for name in params}
        if components & set(self._modules):
            self._initialize_module(reason="module parameters changed")
        if components & {*self._modules, *self._criteria}:
            self._initialize_criterion(reason="criterion parameters changed")
            self._initialize_optimizer(reason="criterion parameters changed")

    def _batch_sampler(self):
        return self.get_params_for("iterator_train").get("batch_sampler")

    def get_iterator(self, dataset, training=False):
        """ClassifierNet's iterator; in training, the batch sampler's batches where one is set."""
        sampler = self._batch_sampler() if training else None
        if sampler is None:
            return super().get_iterator(dataset, training=training)
        if self.train_split is not None:
            raise ValueError(
                "iterator_train__batch_sampler indexes the whole training set; it cannot be "
                f"combined with train_split={self.train_split!r} (set train_split=None)."
            )
        kwargs = {
            name: value
            for name, value in self.get_params_for("iterator_train").items()
            if name not in _BATCH_SAMPLER_EXCLUSIVE
        }
        return self.iterator_train(dataset, **kwargs)

    def evaluation_step(self, batch, training=False):
        """skorch's inference step; a named-tuple output (BinaryOutput) becomes a plain tuple.

        skorch moves outputs between devices with ``type(output)(generator)``, which
        a named tuple cannot be built from.
        """
        # skorch quirk (1.4): skorch.utils.to_device rebuilds tuples as
        # type(output)(generator), a TypeError for a NamedTuple such as BinaryOutput.
        output = super().evaluation_step(batch, training=training)
        return tuple(output) if isinstance(output, tuple) else output

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        """ClassifierNet's epoch start; the batch sampler gets the epoch number too."""
        super().on_epoch_begin(net, dataset_train=dataset_train, dataset_valid=dataset_valid)
        sampler = self._batch_sampler()
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(len(self.history))

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        """Before the first epoch, set the criterion's centroids from the initial network."""
        super().on_train_begin(net, X=X, y=y, **kwargs)
        if X is not None and not self.history and hasattr(self.criterion_, "set_centroids"):
            self.update_centroids(self.get_dataset(X, y))

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        """Recompute the criterion's class centroids from the training set, where it updates."""
        super().on_epoch_end(net, dataset_train=dataset_train, dataset_valid=dataset_valid)
        if (
            dataset_train is not None
            and hasattr(self.criterion_, "set_centroids")
            and getattr(self.criterion_, "updates_centroids", True)
        ):
            self.update_centroids(dataset_train)

    def update_centroids(self, dataset) -> None:
        """Set the criterion's centroids to the class means of the embeddings of ``dataset``.

        Parameters
        ----------
        dataset : torch Dataset with ``X`` and ``y`` attributes, or a Subset of one
            E.g. a :class:`RandomCrops`; every item is embedded once, in
            evaluation mode, and ``y`` (1 normal, 0 outlier, -1 known anomaly)
            splits the embeddings into the two classes
            (:func:`~sklasd.nn.class_centroids`).
        """
        _, target = data_from_dataset(dataset)
        embedding = torch.from_numpy(self.embed(dataset))
        self.criterion_.set_centroids(*class_centroids(embedding, torch.as_tensor(target)))

    def predict_proba_distance(self, X) -> np.ndarray:
        """The probability of "normal" and the distance to the normal centroid of every item.

        For a module whose ``forward`` returns ``(logit, embedding)`` and a
        criterion with centroids (:class:`~sklasd.nn.CentroidLoss`).

        Parameters
        ----------
        X : torch Dataset or array-like
            Items to score, e.g. :class:`SegmentCrops`.

        Returns
        -------
        proba_distance : ndarray of shape (n_items, 2)
            ``p = sigmoid(logit)`` and ``d = ||z - c_p||^2``.
        """
        logit, embedding = self.forward(X)
        with torch.no_grad():
            p = torch.sigmoid(logit.float()).reshape(-1)
            d = self.criterion_.distance(embedding.float().to(self.device)).cpu().reshape(-1)
        return torch.stack([p.cpu(), d], dim=1).numpy()

    def _get_predict_nonlinearity(self):
        if self.predict_nonlinearity == "auto":
            self.check_is_fitted()
            return self._binary_proba
        return super()._get_predict_nonlinearity()

    def _binary_proba(self, logits: torch.Tensor) -> torch.Tensor:
        """``[1 - p, p]`` of logits (B,) or (B, 1), or of stage logits (B, n_stages)."""
        logits = logits.float()
        if logits.dim() == 2 and logits.shape[1] > 1:
            weights = DEFAULT_STAGE_WEIGHTS if self.stage_weights is None else self.stage_weights
            p = combine_stages(logits, tuple(weights))
        else:
            p = torch.sigmoid(logits.reshape(-1))
        return torch.stack([1 - p, p], dim=1)
