"""Batch augmentations with soft targets: mixup and the feature exchange (FeatEx) of two
embedding branches."""

from __future__ import annotations

import torch

from sklasd.nn._layers import _check_real

__all__ = ["feature_exchange", "mixup"]


def _partners(batch: int) -> torch.Tensor:
    """For each item of the batch another item drawn at random: ``(i + k) % batch``,
    ``k`` uniform in [1, batch - 1] (torch's CPU generator)."""
    offset = torch.randint(1, batch, (batch,))
    return (torch.arange(batch) + offset) % batch


def _check_target(target: torch.Tensor, batch: int, name: str) -> None:
    if target.dim() != 2 or target.shape[0] != batch or not target.is_floating_point():
        raise ValueError(
            f"{name} expects float class probabilities of shape ({batch}, n_classes) as "
            f"target, got {tuple(target.shape)} of {target.dtype}."
        )


def mixup(
    x: torch.Tensor, target: torch.Tensor, *, prob: float = 1.0, alpha: float = 1.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mix the items of a batch and their class probabilities (Zhang et al., ICLR 2018).

    Each item ``i`` is mixed, with probability ``prob``, with another item
    ``j`` of the batch drawn at random:

    ``x_i <- lambda_i x_i + (1 - lambda_i) x_j``,
    ``y_i <- lambda_i y_i + (1 - lambda_i) y_j``,

    with ``lambda_i ~ Beta(alpha, alpha)``; unmixed items keep ``lambda_i = 1``.
    Wilkinghoff's systems mix waveforms with ``prob=0.5`` and ``alpha=1``
    (``lambda`` uniform). Draws come from torch's CPU generator, in a fixed
    order (partners, ``lambda``, then which items are mixed), so that a seeded
    generator (e.g. :class:`~sklasd.embedders.NetEmbedder` seeds it per epoch
    from its ``random_state``) repeats them.

    Parameters
    ----------
    x : torch.Tensor of shape (batch, ...)
        The inputs.
    target : torch.Tensor of shape (batch, n_classes)
        Class probabilities (one-hot rows for class indices).
    prob : float, default=1.0
        Probability that an item is mixed, in [0, 1].
    alpha : float, default=1.0
        Parameter of the Beta distribution of ``lambda``, > 0.

    Returns
    -------
    x : torch.Tensor of shape (batch, ...)
        Mixed inputs.
    target : torch.Tensor of shape (batch, n_classes)
        Mixed class probabilities.

    See Also
    --------
    feature_exchange : Exchange of embedding branches between items.

    Examples
    --------
    >>> import torch
    >>> from sklasd.nn import mixup
    >>> x = torch.tensor([[0.0], [10.0]])
    >>> target = torch.eye(2)
    >>> _ = torch.manual_seed(0)
    >>> mixed, soft = mixup(x, target, prob=1.0)
    >>> bool(torch.allclose(mixed[:, 0] / 10, soft[:, 1]))  # x and y mix alike
    True
    """
    prob = _check_real("prob", prob, 0.0, 1.0, low_open=False)
    alpha = _check_real("alpha", alpha, 0.0, float("inf"), low_open=True)
    batch = x.shape[0]
    _check_target(target, batch, "mixup")
    if batch < 2:
        return x, target
    partner = _partners(batch)
    concentration = torch.tensor(alpha)
    lam = torch.distributions.Beta(concentration, concentration).sample((batch,))
    lam = torch.where(torch.rand(batch) < prob, lam, torch.ones(batch))
    partner, lam = partner.to(x.device), lam.to(x.device)
    lam_x = lam.reshape(batch, *([1] * (x.dim() - 1))).to(x.dtype)
    lam_y = lam[:, None].to(target.dtype)
    return (
        lam_x * x + (1 - lam_x) * x[partner],
        lam_y * target + (1 - lam_y) * target[partner],
    )


def feature_exchange(
    first: torch.Tensor, second: torch.Tensor, target: torch.Tensor, *, prob: float = 0.5
) -> tuple[torch.Tensor, torch.Tensor]:
    """Exchange the second branch's embeddings between items, as new classes (FeatEx).

    The self-supervised task of Wilkinghoff ("Self-supervised learning for
    anomalous sound detection", ICASSP 2024): with probability ``prob`` an
    item ``i`` keeps its first-branch embedding and takes the second-branch
    embedding of another item ``j`` of the batch drawn at random. A classifier
    over ``3 n_classes`` classes then learns whether the two halves of an
    embedding belong together: an item left alone keeps its class in the first
    block (``[y_i, 0, 0]``), an exchanged one gets half of its own class in the
    second block and half of its partner's class in the third (``[0, y_i / 2,
    y_j / 2]``). Draws come from torch's CPU generator (partners, then which
    items are exchanged).

    Parameters
    ----------
    first : torch.Tensor of shape (batch, dim_1)
        Embeddings of the first branch (e.g. log-mel).
    second : torch.Tensor of shape (batch, dim_2)
        Embeddings of the second branch (e.g. spectrum).
    target : torch.Tensor of shape (batch, n_classes)
        Class probabilities of the items.
    prob : float, default=0.5
        Probability that an item is exchanged, in [0, 1].

    Returns
    -------
    embedding : torch.Tensor of shape (batch, dim_1 + dim_2)
        ``[first_i, second_j]`` for exchanged items, ``[first_i, second_i]``
        for the others.
    target : torch.Tensor of shape (batch, 3 * n_classes)
        Class probabilities over the ``3 n_classes`` classes described above.

    See Also
    --------
    mixup : Mixing of items and their targets.
    sklasd.nn.DualBranchNet : A network with two embedding branches.

    Examples
    --------
    >>> import torch
    >>> from sklasd.nn import feature_exchange
    >>> first, second = torch.tensor([[1.0], [2.0]]), torch.tensor([[-1.0], [-2.0]])
    >>> embedding, target = feature_exchange(first, second, torch.eye(2), prob=1.0)
    >>> embedding.tolist()  # with two items, each takes the other's second half
    [[1.0, -2.0], [2.0, -1.0]]
    >>> target.tolist()
    [[0.0, 0.0, 0.5, 0.0, 0.0, 0.5], [0.0, 0.0, 0.0, 0.5, 0.5, 0.0]]
    """
    prob = _check_real("prob", prob, 0.0, 1.0, low_open=False)
    batch = first.shape[0]
    if second.shape[0] != batch:
        raise ValueError(
            f"first and second must hold the same items, got {batch} and {second.shape[0]}."
        )
    _check_target(target, batch, "feature_exchange")
    zeros = torch.zeros_like(target)
    kept = torch.cat([target, zeros, zeros], dim=1)
    if batch < 2:
        return torch.cat([first, second], dim=1), kept
    partner = _partners(batch).to(first.device)
    swap = (torch.rand(batch) < prob).to(first.device)[:, None]
    exchanged = torch.cat([zeros, target / 2, target[partner] / 2], dim=1)
    return (
        torch.cat([first, torch.where(swap, second[partner], second)], dim=1),
        torch.where(swap, exchanged, kept),
    )
