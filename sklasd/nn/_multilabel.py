"""Sigmoid binary cross-entropy over classes, for sound-event detection (multi-label)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["MultiLabelBCELoss"]


class MultiLabelBCELoss(nn.Module):
    """Binary cross-entropy of every class's sigmoid, for clips holding several events.

    The loss of sound-event detection training (Zeng, Liu and Zhou, DCASE 2023):
    each class output is the logit of "this event is in the clip", and the loss
    is the mean over clips and classes of
    :func:`torch.nn.functional.binary_cross_entropy_with_logits`. Targets are
    class indices: shape (batch,) for one event per clip, or (batch, k) with the
    indices of up to ``k`` events per clip padded with -1 (as
    :class:`~sklasd.training.EventMixing` gives them); the multi-hot target is
    built with as many classes as the output has columns. The interface is that
    of :class:`CrossEntropyLoss` (``loss(output, target)``, ``logits(output)``).

    See Also
    --------
    CrossEntropyLoss : Softmax over classes, for one event per clip.

    Examples
    --------
    >>> import torch
    >>> from sklasd.nn import MultiLabelBCELoss
    >>> criterion = MultiLabelBCELoss()
    >>> output = torch.tensor([[4.0, 4.0, -4.0], [4.0, -4.0, -4.0]])
    >>> target = torch.tensor([[0, 1], [0, -1]])  # clip 0 holds events 0 and 1
    >>> round(criterion(output, target).item(), 4)
    0.0181
    >>> bool(criterion(output, torch.tensor([2, 2])) > 1)
    True
    """

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Mean binary cross-entropy of ``output`` (batch, n_classes) against ``target``."""
        target = target.long()
        if target.dim() == 1:
            target = target[:, None]
        n_classes = output.shape[1]
        if target.dim() != 2 or target.shape[0] != output.shape[0]:
            raise ValueError(
                f"target must have shape (batch,) or (batch, k) for output of shape "
                f"{tuple(output.shape)}, got {tuple(target.shape)}."
            )
        if int(target.max()) >= n_classes or int(target.min()) < -1:
            raise ValueError(
                f"target holds class indices outside [-1, {n_classes - 1}]: "
                f"{sorted(set(target.flatten().tolist()))[:10]}."
            )
        multi_hot = torch.zeros(output.shape, dtype=output.dtype, device=output.device)
        present = target >= 0
        rows = torch.arange(target.shape[0], device=output.device)[:, None].expand_as(target)
        multi_hot[rows[present], target[present]] = 1.0
        return F.binary_cross_entropy_with_logits(output, multi_hot)

    def logits(self, output: torch.Tensor) -> torch.Tensor:
        """The network's output unchanged: the logits of the classes' sigmoids."""
        return output
