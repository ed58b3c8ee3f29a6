"""The skorch net that trains a classifier on crops and embeds with it."""

from __future__ import annotations

import copy
from contextlib import AbstractContextManager
from typing import ClassVar

import numpy as np
import torch
from skorch import NeuralNetClassifier
from skorch.callbacks import Checkpoint, EpochScoring, LoadInitState, LRScheduler, ProgressBar
from skorch.dataset import unpack_data
from skorch.utils import to_numpy, to_tensor
from torch.optim.lr_scheduler import CosineAnnealingWarmRestarts
from torch.utils.data import Subset

from sklasd.nn import ClassificationTripletAttributeLoss, feature_exchange, mixup
from sklasd.nn._layers import _check_int, _check_real
from sklasd.nn._metric_losses import _check_weight
from sklasd.nn._multitask import MultiTaskOutputs
from sklasd.training._sampler import SectionBalancedBatchSampler

__all__ = ["ClassifierNet", "WarmRestarts"]


def _class_column(y) -> np.ndarray:
    """The classes of targets: ``y`` itself, or its first column for multi-task targets."""
    y = to_numpy(y) if isinstance(y, torch.Tensor) else np.asarray(y)
    return y[:, 0] if y.ndim == 2 else y


class WarmRestarts(CosineAnnealingWarmRestarts):
    """Cosine annealing with warm restarts (SGDR) that resumes at any epoch.

    :class:`torch.optim.lr_scheduler.CosineAnnealingWarmRestarts` built with
    ``last_epoch=k`` (as skorch's :class:`~skorch.callbacks.LRScheduler` does when a
    fit resumes from a checkpoint) restarts its period count from ``T_0``, so past
    the first restart it resumes with the wrong learning rate. This subclass starts
    at epoch 0 and jumps to epoch ``k + 1`` with the closed-form
    ``step(epoch)``, giving the learning rates of an uninterrupted run.

    Parameters
    ----------
    optimizer : torch.optim.Optimizer
        Wrapped optimizer; when resuming, its parameter groups hold ``initial_lr``
        (restored with the optimizer state).
    T_0 : int
        Epochs until the first restart.
    T_mult : int, default=1
        Factor by which the period grows after each restart.
    eta_min : float, default=0.0
        Lowest learning rate.
    last_epoch : int, default=-1
        Index of the last finished epoch; -1 starts a new schedule.

    Examples
    --------
    >>> import torch
    >>> from sklasd.training import WarmRestarts
    >>> optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    >>> scheduler = WarmRestarts(optimizer, T_0=2)
    >>> lrs = []
    >>> for _ in range(4):
    ...     lrs.append(optimizer.param_groups[0]["lr"])
    ...     optimizer.step()
    ...     scheduler.step()
    >>> [round(lr, 2) for lr in lrs]
    [1.0, 0.5, 1.0, 0.5]
    """

    def __init__(self, optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0, last_epoch=-1):
        super().__init__(optimizer, T_0, T_mult=T_mult, eta_min=eta_min)
        if last_epoch >= 0:
            self.step(last_epoch + 1)


class ClassifierNet(NeuralNetClassifier):
    """skorch classifier for networks with an ``embed`` method, trained on crops.

    A :class:`skorch.NeuralNetClassifier` with the defaults and hooks that
    :class:`~sklasd.embedders.NetEmbedder` builds on; use it as the ``net`` of an embedder (which
    sets the module's ``n_classes``, ``in_channels`` and ``input_size`` from the
    data and trains it on :class:`RandomCrops`).

    The module is a :class:`torch.nn.Module` class constructed with keyword
    arguments (``module__<name>``), whose ``forward(x)`` maps a batch of crops
    (B, C, F, T) to class outputs (B, n_classes) and whose ``embed(x)`` gives
    embeddings (B, embedding_dim). The criterion's ``forward(output, target)`` is
    the loss; an optional ``logits(output)`` method turns class outputs into logits
    (e.g. ArcFace: scale times cosine), so ``predict_proba`` is
    ``softmax(criterion.logits(output))`` (``softmax(output)`` without the method).

    What this class adds to skorch's classifier:

    - ``fit`` trains until the history holds ``max_epochs`` epochs, counting those
      restored from a checkpoint, so a resumed fit finishes the interrupted run
      (``partial_fit`` trains ``max_epochs`` more, as in skorch);
    - ``checkpoint_dir``: a :class:`~skorch.callbacks.Checkpoint` saves the
      module, optimizer, criterion and history after every epoch, and a
      :class:`~skorch.callbacks.LoadInitState` (the first callback, so that the
      learning-rate schedule sees the restored history) resumes from them;
    - the default callback ``lr_scheduler``: SGDR, cosine annealing with warm
      restarts (:class:`WarmRestarts`, ``T_0=10`` epochs, ``T_mult=1``), stepped
      once per epoch so that a resumed fit continues the same schedule; set its
      parameters as ``callbacks__lr_scheduler__T_0=...``, or turn it off with
      ``callbacks__lr_scheduler=None`` (constant learning rate);
    - ``amp=True``: forward passes run under :func:`torch.autocast` in bfloat16 on
      the net's device type (bfloat16 needs no loss scaling); losses and outputs
      are computed in float32;
    - ``verbose=2`` adds a tqdm :class:`~skorch.callbacks.ProgressBar` over the
      batches of each epoch to the epoch table of ``verbose=1``;
    - in training, a last batch of a single crop is dropped (batch
      normalisation cannot train on it);
    - training datasets with a ``set_epoch`` method (:class:`RandomCrops`) get
      the epoch number at the start of every epoch, and validation clips split
      off by ``train_split`` keep the same crop in every epoch;
    - multi-task training (Wang, Du and Wang, APSIPA ASC 2022): with
      ``triplet_weight > 0`` or ``attribute_weight > 0`` the module is wrapped in
      :class:`~sklasd.nn.MultiTaskOutputs` (outputs ``(class_output, embedding,
      attribute_output)``, with one :class:`~sklasd.nn.AttributeHeads` head per
      entry of ``n_attribute_classes``) and the criterion becomes the
      classification term of :class:`~sklasd.nn.ClassificationTripletAttributeLoss`
      (total loss = criterion + ``triplet_weight`` x batch-hard triplet loss +
      ``attribute_weight`` x attribute loss). Targets are then 2-D, the class
      in the first column and the attribute class of each head (-1: missing)
      in the others, as :class:`~sklasd.embedders.NetEmbedder` builds them. With
      ``triplet_weight > 0`` training batches come from a
      :class:`SectionBalancedBatchSampler`: ``n_clips_per_class`` clips (K) of
      each of ``batch_size // n_clips_per_class`` classes (P, at least 2 and at
      most the number of classes), so that every clip has positives and
      negatives in its batch; the classes are read from the training dataset's
      ``y`` (its first column); ``predict_proba`` and :meth:`embed` work as
      without these terms;
    - criteria that take embeddings (class attribute ``takes_embeddings``:
      :class:`~sklasd.nn.SubclusterAdaCosLoss`, :class:`~sklasd.nn.AdaProjLoss`)
      are built with the module's ``n_classes`` and ``embedding_dim`` (unless
      set as ``criterion__...``) and get the module's ``embed(x)`` instead of
      its class outputs, in training and in ``predict_proba``; they hold the
      class centres, so the module's own head is not used;
    - mixup (``mixup_prob > 0``, :func:`~sklasd.nn.mixup`): each training item
      is mixed, with probability ``mixup_prob``, with another item of its batch,
      ``x <- lambda x + (1 - lambda) x'`` and likewise its one-hot target, with
      ``lambda ~ Beta(mixup_alpha, mixup_alpha)``; the criterion then gets class
      probabilities, which :class:`torch.nn.CrossEntropyLoss` (and subclasses)
      and the embedding criteria accept. The inputs mix as they are: waveform
      blocks (:class:`~sklasd.nn.DualBranchNet`, as in Wilkinghoff's systems,
      ``mixup_prob=0.5``, ``mixup_alpha=1``) or log-mel values;
    - feature exchange (``featex_prob > 0``, :func:`~sklasd.nn.feature_exchange`,
      Wilkinghoff, ICASSP 2024), for a module with ``branch_embeddings(x)``
      (:class:`~sklasd.nn.DualBranchNet`) and an embedding criterion: with
      probability ``featex_prob`` an item takes the second-branch embedding of
      another item of its batch, and a second criterion of the same class over
      ``3 n_classes`` classes (``featex_criterion_``) learns whether the halves
      belong together; the loss is the criterion's plus that one's. Draws of
      mixup and feature exchange use torch's generator, which
      :class:`~sklasd.embedders.NetEmbedder` seeds per epoch from its ``random_state``;
    - :meth:`embed` gives the module's embeddings;
    - a net trained on CUDA unpickles on a machine without CUDA, callbacks
      included (skorch maps the module, criterion and optimizer to the CPU but
      not the optimizer state that the learning-rate scheduler references).

    Parameters
    ----------
    module : type of torch.nn.Module
        The network class (pass the class, not an instance, so that its keyword
        arguments can be set).
    criterion : type of torch.nn.Module, default=torch.nn.CrossEntropyLoss
        The loss class.
    optimizer : type of torch.optim.Optimizer, default=torch.optim.Adam
        The optimizer class.
    lr : float, default=1e-3
        Learning rate (the maximum of the SGDR schedule).
    max_epochs : int, default=30
        Number of epochs of a fit, restored ones included.
    batch_size : int, default=32
        Crops per batch, in training and inference.
    train_split : callable or None, default=None
        skorch's internal validation split; None trains on all clips.
        :class:`~sklasd.embedders.NetEmbedder` sets a stratified split when
        ``early_stopping=True``.
    amp : bool, default=False
        Mixed precision (bfloat16 autocast). On CPUs without bfloat16 units it is
        slower than float32.
    checkpoint_dir : str or path-like or None, default=None
        Directory for the checkpoint of this fit (created when missing). A fit
        resumes from the checkpoint found there: use one directory per fit, not
        in a parameter search.
    triplet_weight : float, default=0.0
        Weight (>= 0) of the batch-hard triplet loss
        (:class:`~sklasd.nn.BatchHardTripletLoss`, margin 0.3 on L2-normalised
        embeddings) on the embeddings of each batch; 0 leaves it out.
    attribute_weight : float, default=0.0
        Weight (>= 0) of the attribute loss (:class:`~sklasd.nn.AttributeLoss`)
        of the attribute heads; 0 leaves it out (and the heads).
    n_attribute_classes : sequence of int, default=()
        Classes of each attribute head, needed when ``attribute_weight > 0``;
        :class:`~sklasd.embedders.NetEmbedder` sets it from the ``attributes`` metadata.
    n_clips_per_class : int, default=4
        K, the clips of each class in a training batch when
        ``triplet_weight > 0`` (>= 2).
    mixup_prob : float, default=0.0
        Probability in [0, 1] that a training item is mixed with another; 0
        turns mixup off. Needs one class index per item as target (no triplet
        or attribute term).
    mixup_alpha : float, default=1.0
        Parameter (> 0) of the Beta distribution of the mixing weight; 1 draws
        it uniformly.
    featex_prob : float, default=0.0
        Probability in [0, 1] that a training item's second-branch embedding is
        exchanged; 0 turns feature exchange off.
    verbose : int, default=0
        0 prints nothing, 1 a table row per epoch, 2 also a progress bar.
    device : str, default="cpu"
        Torch device of the module ("cpu", "cuda", "cuda:1", ...).
    **kwargs
        Any other :class:`skorch.NeuralNet` parameter, e.g. ``module__width_mult``,
        ``criterion__margin``, ``optimizer__weight_decay``,
        ``iterator_train__num_workers``, ``callbacks``. The training iterator
        shuffles by default (``iterator_train__shuffle=True``).

    Attributes
    ----------
    module_, criterion_, optimizer_, history_ : see :class:`skorch.NeuralNet`
        The trained module, its criterion and optimizer, and the training history
        (``net.history[:, "train_loss"]``, ``net.history[:, "event_lr"]``...).
    featex_criterion_ : torch.nn.Module
        With ``featex_prob > 0``: the criterion of the exchanged embeddings.

    See Also
    --------
    sklasd.embedders.NetEmbedder : The scikit-learn estimator that trains this net on sections.
    skorch.NeuralNetClassifier : The parent class.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from sklasd.training import ClassifierNet, RandomCrops
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
    >>> X = np.random.default_rng(0).normal(size=(6, 1, 8, 12)).astype(np.float32)
    >>> y = np.array([0, 1] * 3)
    >>> _ = torch.manual_seed(0)
    >>> net = ClassifierNet(Tiny, max_epochs=3).fit(RandomCrops(X, y, n_frames=8), y)
    >>> len(net.history), net.embed(X[:, :, :, :8]).shape
    (3, (6, 4))

    Wilkinghoff's recipe: a dual-branch network on waveform blocks, the AdaProj
    loss, mixup and feature exchange:

    >>> from sklasd.nn import TDNN, AdaProjLoss, DualBranchNet
    >>> blocks = np.random.default_rng(0).normal(size=(8, 1, 128, 16)).astype(np.float32)
    >>> y = np.array([0, 1] * 4)
    >>> net = ClassifierNet(
    ...     DualBranchNet, criterion=AdaProjLoss, criterion__subspace_dim=2,
    ...     module__n_classes=2, module__input_size=(128, 16), module__n_mels=16,
    ...     module__n_fft=256, module__spectrum_width=8, module__spectrum_dim=8,
    ...     module__backbone=TDNN, module__width_mult=0.125, module__embedding_dim=8,
    ...     mixup_prob=0.5, featex_prob=0.5, max_epochs=2, batch_size=4).fit(blocks, y)
    >>> net.criterion_.n_classes, net.featex_criterion_.n_classes
    (2, 6)
    >>> net.predict_proba(blocks).shape
    (8, 2)
    """

    # Callbacks hold torch state too (the LR scheduler references the optimizer and
    # its CUDA tensors): unpickle them with the map location of the module, else a
    # net trained on CUDA fails to load on a machine without CUDA.
    cuda_dependent_attributes_: ClassVar[list] = ["callbacks_"]

    def __init__(
        self,
        module,
        *args,
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        lr=1e-3,
        max_epochs=30,
        batch_size=32,
        train_split=None,
        amp=False,
        checkpoint_dir=None,
        triplet_weight=0.0,
        attribute_weight=0.0,
        n_attribute_classes=(),
        n_clips_per_class=4,
        mixup_prob=0.0,
        mixup_alpha=1.0,
        featex_prob=0.0,
        verbose=0,
        **kwargs,
    ):
        kwargs.setdefault("iterator_train__shuffle", True)
        super().__init__(
            module,
            *args,
            criterion=criterion,
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            train_split=train_split,
            verbose=verbose,
            **kwargs,
        )
        self.amp = amp
        self.checkpoint_dir = checkpoint_dir
        self.triplet_weight = triplet_weight
        self.attribute_weight = attribute_weight
        self.n_attribute_classes = n_attribute_classes
        self.n_clips_per_class = n_clips_per_class
        self.mixup_prob = mixup_prob
        self.mixup_alpha = mixup_alpha
        self.featex_prob = featex_prob

    @property
    def _default_callbacks(self):
        *scoring, print_log = super()._default_callbacks
        callbacks = []
        checkpoint = None
        if self.checkpoint_dir is not None:
            extra = {"f_featex_criterion": "featex_criterion.pt"} if self._featex else {}
            checkpoint = Checkpoint(monitor=None, dirname=str(self.checkpoint_dir), **extra)
            callbacks.append(("load_init_state", LoadInitState(checkpoint)))
        # Validation accuracy of the classes: the first column of multi-task targets.
        callbacks += [
            (name, EpochScoring(**{**cb.get_params(), "target_extractor": _class_column}))
            if name == "valid_acc"
            else (name, cb)
            for name, cb in scoring
        ]
        callbacks.append(
            ("lr_scheduler", LRScheduler(policy=WarmRestarts, step_every="epoch", T_0=10))
        )
        if checkpoint is not None:
            callbacks.append(("checkpoint", checkpoint))
        if self.verbose >= 2:
            callbacks.append(("progress_bar", ProgressBar()))
        return [*callbacks, print_log]

    def loss_weights(self) -> tuple[float, float]:
        """The weights of the loss terms besides classification, validated.

        Returns
        -------
        weights : tuple of 2 float
            ``(triplet_weight, attribute_weight)``.
        """
        return (
            _check_weight("triplet_weight", self.triplet_weight),
            _check_weight("attribute_weight", self.attribute_weight),
        )

    @property
    def multi_task(self) -> bool:
        """Whether the loss has a triplet or an attribute term besides classification."""
        return any(weight > 0 for weight in self.loss_weights())

    def initialize_module(self):
        """The module; wrapped in :class:`~sklasd.nn.MultiTaskOutputs` for multi-task losses."""
        super().initialize_module()
        if self.multi_task:
            heads = self.n_attribute_classes if self.loss_weights()[1] > 0 else ()
            self.module_ = MultiTaskOutputs(self.module_, n_attribute_classes=heads)
        return self

    def initialize_criterion(self):
        """The criterion; the classification term of the total loss for multi-task losses.

        A criterion that takes embeddings gets the module's ``n_classes`` and
        ``embedding_dim`` (unless given as ``criterion__...``); with
        ``featex_prob > 0`` a second one over three times the classes
        (``featex_criterion_``) learns the exchanged embeddings.
        """
        mixup_prob, _, featex_prob = self._augmentation()
        if not self._takes_embeddings:
            if featex_prob > 0:
                raise ValueError(
                    f"featex_prob={featex_prob} needs a criterion that takes embeddings "
                    f"(SubclusterAdaCosLoss, AdaProjLoss), got {self._criterion_name}."
                )
            super().initialize_criterion()
            if mixup_prob > 0 and not isinstance(self.criterion_, torch.nn.CrossEntropyLoss):
                raise ValueError(
                    f"mixup_prob={mixup_prob} needs a criterion that takes class "
                    "probabilities as targets (CrossEntropyLoss, SubclusterAdaCosLoss, "
                    f"AdaProjLoss), got {self._criterion_name}."
                )
            if self.multi_task:
                if mixup_prob > 0:
                    raise ValueError(
                        f"mixup_prob={mixup_prob} cannot mix the targets of a triplet or "
                        "attribute loss; set mixup_prob=0 or the weights of those terms to 0."
                    )
                self.criterion_ = ClassificationTripletAttributeLoss(
                    classifier_loss=self.criterion_,
                    triplet_weight=self.triplet_weight,
                    attribute_weight=self.attribute_weight,
                )
            return self
        if self.multi_task:
            raise ValueError(
                f"{self._criterion_name} takes the network's embeddings; it does not combine "
                "with a triplet or attribute loss (set triplet_weight and attribute_weight to "
                "0)."
            )
        kwargs = {**self._embedding_sizes(), **self.get_params_for("criterion")}
        self.criterion_ = self.initialized_instance(self.criterion, kwargs)
        if featex_prob > 0:
            if not hasattr(self.module_, "branch_embeddings"):
                raise ValueError(
                    f"featex_prob={featex_prob} exchanges the embeddings of two branches: the "
                    f"module needs a branch_embeddings method (DualBranchNet); "
                    f"{type(self.module_).__name__} has none."
                )
            self.featex_criterion_ = self.initialized_instance(
                self.criterion, {**kwargs, "n_classes": 3 * kwargs["n_classes"]}
            )
        elif hasattr(self, "featex_criterion_"):
            self._unregister_attribute("featex_criterion")
            del self.featex_criterion_
        return self

    @property
    def _criterion_name(self) -> str:
        """The criterion's class name, for error messages."""
        criterion = self.criterion
        return getattr(criterion, "__name__", type(criterion).__name__)

    @property
    def _takes_embeddings(self) -> bool:
        """Whether the criterion takes the module's embeddings (and owns the classes)."""
        return bool(getattr(self.criterion, "takes_embeddings", False))

    def _embedding_sizes(self) -> dict:
        """``n_classes`` and ``embedding_dim`` of the module, for an embedding criterion."""
        sizes = {
            "n_classes": self.get_params_for("module").get(
                "n_classes", getattr(self.module_, "n_classes", None)
            ),
            "embedding_dim": getattr(self.module_, "embedding_dim", None),
        }
        missing = [name for name, value in sizes.items() if value is None]
        if missing:
            raise ValueError(
                f"{self._criterion_name} is built from the module's n_classes and "
                f"embedding_dim; {type(self.module_).__name__} does not give {missing}: set "
                + ", ".join(f"criterion__{name}" for name in missing)
                + "."
            )
        return sizes

    def _augmentation(self) -> tuple[float, float, float]:
        """``(mixup_prob, mixup_alpha, featex_prob)``, validated."""
        return (
            _check_real("mixup_prob", self.mixup_prob, 0.0, 1.0, low_open=False),
            _check_real("mixup_alpha", self.mixup_alpha, 0.0, np.inf, low_open=True),
            _check_real("featex_prob", self.featex_prob, 0.0, 1.0, low_open=False),
        )

    @property
    def _featex(self) -> bool:
        """Whether feature exchange is on (and ``featex_criterion_`` exists)."""
        return self._augmentation()[2] > 0

    def _autocast(self) -> AbstractContextManager:
        """Autocast to bfloat16 on the net's device type when ``amp`` is on."""
        device_type = torch.device(self.device or "cpu").type
        return torch.autocast(device_type, dtype=torch.bfloat16, enabled=bool(self.amp))

    def infer(self, x, **fit_params):
        """Forward pass of a batch, under autocast when ``amp`` is on.

        The module's ``embed`` output for a criterion that takes embeddings.
        """
        with self._autocast():
            if self._takes_embeddings:
                return self.module_.embed(to_tensor(x, device=self.device), **fit_params)
            return super().infer(x, **fit_params)

    def train_step_single(self, batch, **fit_params):
        """skorch's training step, with mixup and feature exchange when they are on."""
        if not self._augmenting:
            return super().train_step_single(batch, **fit_params)
        step = self._augmented_step(batch, **fit_params)
        step["loss"].backward()
        return step

    @property
    def _augmenting(self) -> bool:
        """Whether mixup or feature exchange is on."""
        mixup_prob, _, featex_prob = self._augmentation()
        return mixup_prob > 0 or featex_prob > 0

    def _augmented_step(self, batch, **fit_params) -> dict:
        """Loss and output of a training batch with mixup and feature exchange (no backward)."""
        mixup_prob, mixup_alpha, featex_prob = self._augmentation()
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        x = to_tensor(Xi, device=self.device)
        y = to_tensor(yi, device=self.device)
        if y.dim() != 1 or y.is_floating_point():
            raise ValueError(
                "mixup and feature exchange need one class index per training item, got "
                f"targets of shape {tuple(y.shape)} and {y.dtype}."
            )
        # Class indices 0, ..., n - 1: the classes seen in y (or the classes parameter).
        n_classes = self.criterion_.n_classes if self._takes_embeddings else len(self.classes_)
        target = torch.nn.functional.one_hot(y.long(), n_classes).float()
        if mixup_prob > 0:
            x, target = mixup(x, target, prob=mixup_prob, alpha=mixup_alpha)
        if featex_prob > 0:
            with self._autocast():
                first, second = self.module_.branch_embeddings(x, **fit_params)
            y_pred = torch.cat([first, second], dim=1)
            exchanged, exchanged_target = feature_exchange(
                first.float(), second.float(), target, prob=featex_prob
            )
            loss = self.get_loss(y_pred, target, X=x, training=True)
            loss = loss + self.featex_criterion_(exchanged, exchanged_target)
        else:
            y_pred = self.infer(x, **fit_params)
            loss = self.get_loss(y_pred, target, X=x, training=True)
        return {"loss": loss, "y_pred": y_pred}

    def get_loss(self, y_pred, y_true, *args, **kwargs):
        """The criterion on float32 outputs (autocast may give bfloat16 ones)."""
        if isinstance(y_pred, tuple | list):
            y_pred = tuple(part.float() for part in y_pred)
        else:
            y_pred = y_pred.float()
        return super().get_loss(y_pred, y_true, *args, **kwargs)

    def _get_predict_nonlinearity(self):
        if self.predict_nonlinearity == "auto":
            self.check_is_fitted()
            return self._softmax_of_logits
        return super()._get_predict_nonlinearity()

    def _softmax_of_logits(self, output: torch.Tensor) -> torch.Tensor:
        logits = getattr(self.criterion_, "logits", None)
        output = output if logits is None else logits(output)
        return torch.softmax(output.float(), dim=-1)

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        """Record the new epoch, and hand its number to a ``set_epoch`` dataset."""
        super().on_epoch_begin(net, dataset_train=dataset_train, dataset_valid=dataset_valid)
        dataset = dataset_train.dataset if isinstance(dataset_train, Subset) else dataset_train
        if hasattr(dataset, "set_epoch"):
            dataset.set_epoch(len(self.history))

    def get_split_datasets(self, X, y=None, **fit_params):
        """skorch's split, with validation clips that keep one crop in every epoch."""
        dataset_train, dataset_valid = super().get_split_datasets(X, y, **fit_params)
        if isinstance(dataset_valid, Subset) and hasattr(dataset_valid.dataset, "set_epoch"):
            fixed = copy.copy(dataset_valid.dataset)
            fixed.set_epoch(None)
            dataset_valid = Subset(fixed, dataset_valid.indices)
        return dataset_train, dataset_valid

    def get_iterator(self, dataset, training=False):
        """skorch's iterator; in training, a last batch of a single crop is dropped.

        Batch normalisation cannot train on one crop, and the shuffled clip left
        over changes from epoch to epoch. Set ``iterator_train__drop_last`` to
        decide otherwise. With ``triplet_weight > 0`` the training batches come
        from a :class:`SectionBalancedBatchSampler` instead (``batch_size``,
        ``shuffle`` and ``drop_last`` then do not apply), which draws each
        epoch's batches from torch's generator (seeded per epoch by
        :class:`~sklasd.embedders.NetEmbedder`).
        """
        if not training:
            return super().get_iterator(dataset, training=False)
        kwargs = self.get_params_for("iterator_train")
        if self.loss_weights()[0] > 0:
            for name in ("batch_size", "shuffle", "sampler", "drop_last"):
                kwargs.pop(name, None)
            return self.iterator_train(
                dataset, batch_sampler=self._balanced_batches(dataset), **kwargs
            )
        batch_size = kwargs.setdefault("batch_size", self.batch_size)
        if batch_size == -1:
            batch_size = kwargs["batch_size"] = len(dataset)
        kwargs.setdefault("drop_last", len(dataset) % batch_size == 1)
        return self.iterator_train(dataset, **kwargs)

    def _balanced_batches(self, dataset) -> SectionBalancedBatchSampler:
        """P x K batches over the classes of ``dataset`` (the first column of its targets)."""
        indices = None
        if isinstance(dataset, Subset):
            dataset, indices = dataset.dataset, np.asarray(dataset.indices)
        labels = getattr(dataset, "y", None)
        if labels is None:
            raise ValueError(
                f"triplet_weight={self.triplet_weight} needs the class of every training item "
                f"for its balanced batches, read from the dataset's y; "
                f"{type(dataset).__name__} has none (use RandomCrops or a skorch Dataset)."
            )
        labels = _class_column(labels)
        labels = labels if indices is None else labels[indices]
        n_classes = len(np.unique(labels))
        n_clips = _check_int("n_clips_per_class", self.n_clips_per_class, 2)
        return SectionBalancedBatchSampler(
            labels,
            n_classes_per_batch=min(max(self.batch_size // n_clips, 2), n_classes),
            n_clips_per_class=n_clips,
            seed=None,
        )

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        """skorch's loop; ``fit`` runs the epochs missing from the history."""
        # skorch >= 1.4 tells fit and partial_fit apart with _routing_method.
        if epochs is None and fit_params.get("_routing_method", "fit") == "fit":
            epochs = max(self.max_epochs - len(self.history), 0)
        return super().fit_loop(X, y, epochs=epochs, **fit_params)

    def embed(self, X) -> np.ndarray:
        """Embeddings from the module's ``embed`` method, batch by batch.

        Parameters
        ----------
        X : input data accepted by skorch, e.g. an array (n, C, F, T) or a Dataset
            The crops to embed, of the size the module was built for.

        Returns
        -------
        embeddings : ndarray of shape (n, embedding_dim), dtype float32
            One row per item, in order.
        """
        self.check_is_fitted()
        self._set_training(False)
        iterator = self.get_iterator(self.get_dataset(X), training=False)
        chunks = []
        with torch.no_grad(), self._autocast():
            for batch in iterator:
                Xi, _ = unpack_data(batch)
                embedding = self.module_.embed(to_tensor(Xi, device=self.device))
                chunks.append(to_numpy(embedding.float()))
        return np.concatenate(chunks)
