"""A batch sampler that puts several clips of each of several classes into every batch."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import torch

from sklasd.nn._layers import _check_int

__all__ = ["SectionBalancedBatchSampler"]


class _ClipStream:
    """Endless stream of one class's clips: successive random permutations of them.

    Where a chunk straddles two permutations, the clips already in the chunk go
    to the end of the new permutation, so a chunk repeats no clip while the
    class has at least as many clips as the chunk.
    """

    def __init__(self, members: np.ndarray, rng: np.random.Generator) -> None:
        self.members = members
        self.rng = rng
        self.order = rng.permutation(members)
        self.position = 0

    def take(self, n: int) -> np.ndarray:
        chunk: list[np.ndarray] = []
        while n > 0:
            if self.position == len(self.order):
                order = self.rng.permutation(self.members)
                taken = np.isin(order, np.concatenate(chunk)) if chunk else None
                self.order = (
                    order if taken is None else np.concatenate([order[~taken], order[taken]])
                )
                self.position = 0
            part = self.order[self.position : self.position + n]
            chunk.append(part)
            self.position += len(part)
            n -= len(part)
        return np.concatenate(chunk)


class SectionBalancedBatchSampler(torch.utils.data.Sampler[list[int]]):
    """Batches of ``n_clips_per_class`` clips of each of ``n_classes_per_batch`` classes.

    The "P x K" batches of batch-hard triplet training (Hermans et al. 2017):
    every batch holds K clips of each of P different classes (sections), so
    every clip has positives and negatives in its batch. Each class's clips are
    dealt out in chunks of K from a random permutation (continued by further
    permutations where a class's last chunk is short, or its K exceeds its
    size); every batch takes one chunk from each of the P classes with the most
    chunks left (ties broken at random), and takes extra chunks from random
    classes whose chunks are all dealt when fewer than P have any left. An
    epoch has ``max(ceil(n_chunks / P), max chunks of a class)`` batches, where
    ``n_chunks = sum over classes of ceil(n_clips / K)``: every clip appears at
    least once per epoch, and classes are drawn about evenly; with balanced
    classes the epoch covers the data about once.

    Batches are drawn from a generator seeded with ``(seed, epoch)`` (no global
    random state): the same seed and epoch give the same batches, and
    :meth:`set_epoch` (called at the start of every epoch by the training loop,
    as for :class:`torch.utils.data.distributed.DistributedSampler`) gives new
    ones. With ``seed=None`` every iteration instead draws its seed from
    torch's default generator, as :class:`torch.utils.data.RandomSampler` does
    (what :class:`ClassifierNet` uses: its per-epoch seeding then makes the
    batches repeatable).

    Use it as a :class:`torch.utils.data.DataLoader`'s ``batch_sampler``.

    Parameters
    ----------
    labels : array-like of shape (n_clips,)
        Class (e.g. section) of every item of the dataset, any hashable coding.
    n_classes_per_batch : int, default=8
        P, the number of classes in a batch, at most the number of classes.
    n_clips_per_class : int, default=4
        K, the number of clips of each class in a batch, >= 2. A class with
        fewer clips than K repeats clips within its chunk.
    seed : int or None, default=0
        Seed of the shuffling, >= 0; None draws one from torch's default
        generator at every iteration.
    epoch : int, default=0
        The epoch whose batches are drawn, >= 0.

    Attributes
    ----------
    classes : ndarray of shape (n_classes,)
        The distinct labels, sorted.
    batch_size : int
        ``n_classes_per_batch * n_clips_per_class``.

    Raises
    ------
    ValueError
        If a class has fewer than 2 clips, ``n_classes_per_batch`` exceeds the
        number of classes, or ``n_clips_per_class`` is below 2.

    See Also
    --------
    sklasd.nn.BatchHardTripletLoss : The loss these batches are made for.

    Examples
    --------
    >>> import numpy as np
    >>> from sklasd.training import SectionBalancedBatchSampler
    >>> sections = np.repeat([0, 1, 2], 4)  # 4 clips of each of 3 sections
    >>> sampler = SectionBalancedBatchSampler(sections, n_classes_per_batch=2,
    ...                                       n_clips_per_class=2, seed=0)
    >>> len(sampler), sampler.batch_size
    (3, 4)
    >>> batches = list(sampler)
    >>> [sorted(np.bincount(sections[b], minlength=3).tolist()) for b in batches]
    [[0, 2, 2], [0, 2, 2], [0, 2, 2]]
    >>> sorted(set(np.concatenate(batches).tolist())) == list(range(12))  # all clips dealt
    True
    """

    def __init__(
        self,
        labels,
        *,
        n_classes_per_batch: int = 8,
        n_clips_per_class: int = 4,
        seed: int | None = 0,
        epoch: int = 0,
    ) -> None:
        labels = np.asarray(labels)
        if labels.ndim != 1 or len(labels) == 0:
            raise ValueError(
                f"labels must be a non-empty 1-D array of classes, got shape {labels.shape}."
            )
        self.classes, codes, counts = np.unique(labels, return_inverse=True, return_counts=True)
        if counts.min() < 2:
            raise ValueError(
                f"Class {self.classes[counts.argmin()].tolist()!r} has {counts.min()} clip; "
                "every class needs at least 2 clips to have positives for a triplet loss."
            )
        self.n_classes_per_batch = _check_int("n_classes_per_batch", n_classes_per_batch, 1)
        if self.n_classes_per_batch > len(self.classes):
            raise ValueError(
                f"n_classes_per_batch={n_classes_per_batch} exceeds the number of classes "
                f"({len(self.classes)}: {self.classes.tolist()})."
            )
        self.n_clips_per_class = _check_int("n_clips_per_class", n_clips_per_class, 2)
        self.seed = None if seed is None else _check_int("seed", seed, 0)
        self.epoch = _check_int("epoch", epoch, 0)
        self.batch_size = self.n_classes_per_batch * self.n_clips_per_class
        self._members = [np.flatnonzero(codes == c) for c in range(len(self.classes))]
        self._n_chunks = -(-counts // self.n_clips_per_class)

    def set_epoch(self, epoch: int) -> None:
        """Draw the batches of ``epoch`` from now on."""
        self.epoch = _check_int("epoch", epoch, 0)

    def __len__(self) -> int:
        return max(
            math.ceil(self._n_chunks.sum() / self.n_classes_per_batch), int(self._n_chunks.max())
        )

    def __iter__(self) -> Iterator[list[int]]:
        seed = self.seed
        if seed is None:
            seed = int(torch.empty((), dtype=torch.int64).random_().item())
        rng = np.random.default_rng([seed, self.epoch])
        streams = [_ClipStream(members, rng) for members in self._members]
        remaining = self._n_chunks.copy()
        for _ in range(len(self)):
            # Integer counts decide; the random fraction only breaks ties, and ranks
            # classes with no chunk left (count 0) below all others.
            priority = remaining + rng.random(len(remaining))
            chosen = np.argsort(-priority)[: self.n_classes_per_batch]
            remaining[chosen] = np.maximum(remaining[chosen] - 1, 0)
            yield np.concatenate(
                [streams[c].take(self.n_clips_per_class) for c in chosen]
            ).tolist()
