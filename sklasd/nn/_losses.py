"""Classification losses with a common interface: ``loss(output, target)`` and
``logits(output)`` (what inference turns into probabilities with a softmax)."""

from __future__ import annotations

import math
from numbers import Real

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ArcFaceLoss", "CrossEntropyLoss"]


class CrossEntropyLoss(nn.CrossEntropyLoss):
    """:class:`torch.nn.CrossEntropyLoss` with the :meth:`logits` method of ArcFaceLoss.

    Training code can then treat every criterion alike: ``criterion(output,
    target)`` for the loss and ``softmax(criterion.logits(output))`` for class
    probabilities, whether the network ends in a linear head (this loss) or in
    a cosine head (:class:`ArcFaceLoss`). Constructor and forward are those of
    :class:`torch.nn.CrossEntropyLoss`.

    See Also
    --------
    ArcFaceLoss : Additive angular margin loss on cosine outputs.

    Examples
    --------
    >>> import torch
    >>> from sklasd.nn import CrossEntropyLoss
    >>> output = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    >>> criterion = CrossEntropyLoss()
    >>> round(criterion(output, torch.tensor([0, 1])).item(), 4)
    0.2201
    >>> criterion.logits(output) is output
    True
    """

    def logits(self, output: torch.Tensor) -> torch.Tensor:
        """The network's output unchanged: it already is logits.

        Parameters
        ----------
        output : torch.Tensor of shape (batch, n_classes)
            Logits of a linear head.

        Returns
        -------
        torch.Tensor of shape (batch, n_classes)
            ``output`` itself.
        """
        return output


class ArcFaceLoss(nn.Module):
    """Additive angular margin (ArcFace) loss on cosine similarities (Deng et al., CVPR 2019).

    For cosines ``cos(theta_c)`` between a clip's normalised embedding and each
    normalised class weight (a network with ``head="cosine"``), the loss is the
    cross-entropy of the logits ``scale * cos(theta_c)``, except that the
    target class ``y`` gets ``scale * cos(theta_y + margin)``: the clip must be
    closer to its class by an angle ``margin`` than to any other. This is the
    loss of STgram-MFN and most top DCASE ASD systems.

    Where ``theta_y + margin`` would exceed pi, ``cos(theta_y + margin)`` would
    rise again and reward moving away from the class; as in the reference
    ArcFace code the target logit there is instead ``cos(theta_y) - margin *
    sin(margin)`` (the "th/mm" fallback, used when ``cos(theta_y) <=
    cos(pi - margin)``), so that it keeps decreasing with ``theta_y``. With
    ``easy_margin=True`` the margin is applied only where ``cos(theta_y) > 0``
    and the target logit is ``cos(theta_y)`` elsewhere.

    Parameters
    ----------
    margin : float, default=0.5
        Additive angular margin in radians, in [0, pi/2). With 0 the loss is
        the cross-entropy of ``scale * cosine``.
    scale : float, default=30.0
        Scale ``s`` (inverse temperature) of the logits, > 0.
    easy_margin : bool, default=False
        Apply the margin only to positive target cosines (no th/mm fallback).

    See Also
    --------
    CosineHead : Produces the cosines this loss takes.
    CrossEntropyLoss : The plain alternative for a linear head.

    Notes
    -----
    The computation runs in at least float32 (also under mixed precision).
    ``forward`` raises a ValueError when given values outside [-1, 1], e.g. the
    logits of a linear head.

    Examples
    --------
    >>> import torch
    >>> from sklasd.nn import ArcFaceLoss
    >>> cosine = torch.tensor([[0.9, 0.1], [0.2, 0.7]])
    >>> target = torch.tensor([0, 1])
    >>> arcface = ArcFaceLoss(margin=0.5, scale=30.0)
    >>> loss = arcface(cosine, target)
    >>> plain = torch.nn.functional.cross_entropy(arcface.logits(cosine), target)
    >>> bool(loss > plain)  # the margin makes the task harder
    True
    >>> bool(torch.isclose(ArcFaceLoss(margin=0.0)(cosine, target), plain))
    True
    """

    def __init__(
        self, *, margin: float = 0.5, scale: float = 30.0, easy_margin: bool = False
    ) -> None:
        super().__init__()
        if (
            isinstance(margin, bool)
            or not isinstance(margin, Real)
            or not (0 <= margin < math.pi / 2)
        ):
            raise ValueError(f"margin must be a number in [0, pi/2), got {margin!r}.")
        if isinstance(scale, bool) or not isinstance(scale, Real) or not scale > 0:
            raise ValueError(f"scale must be a positive number, got {scale!r}.")
        if not isinstance(easy_margin, bool):
            raise ValueError(f"easy_margin must be a bool, got {easy_margin!r}.")
        self.margin = float(margin)
        self.scale = float(scale)
        self.easy_margin = easy_margin
        self._cos_m = math.cos(self.margin)
        self._sin_m = math.sin(self.margin)
        self._threshold = math.cos(math.pi - self.margin)  # "th"
        self._penalty = math.sin(math.pi - self.margin) * self.margin  # "mm"

    def extra_repr(self) -> str:
        return f"margin={self.margin}, scale={self.scale}, easy_margin={self.easy_margin}"

    def _target_cosine(self, cosine: torch.Tensor) -> torch.Tensor:
        """The margin-penalised target cosine ``phi(cos theta)``, elementwise."""
        sine = torch.sqrt((1.0 - cosine * cosine).clamp(min=1e-12))
        phi = cosine * self._cos_m - sine * self._sin_m  # cos(theta + margin)
        if self.easy_margin:
            return torch.where(cosine > 0, phi, cosine)
        return torch.where(cosine > self._threshold, phi, cosine - self._penalty)

    def forward(self, cosine: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Mean ArcFace loss over the batch.

        Parameters
        ----------
        cosine : torch.Tensor of shape (batch, n_classes)
            Cosine similarities in [-1, 1], e.g. from a network with
            ``head="cosine"``.
        target : torch.Tensor of shape (batch,)
            Class indices in [0, n_classes).

        Returns
        -------
        torch.Tensor of shape ()
            Cross-entropy of the margin-penalised, scaled cosines.
        """
        if cosine.dim() != 2 or target.dim() != 1 or target.shape[0] != cosine.shape[0]:
            raise ValueError(
                "ArcFaceLoss expects cosine of shape (batch, n_classes) and target of shape "
                f"(batch,), got {tuple(cosine.shape)} and {tuple(target.shape)}."
            )
        if cosine.numel() and cosine.detach().abs().max() > 1 + 1e-4:
            raise ValueError(
                "ArcFaceLoss expects cosine similarities in [-1, 1] (a network with "
                f"head='cosine'), got values up to {cosine.detach().abs().max().item():.4g}."
            )
        dtype = torch.promote_types(cosine.dtype, torch.float32)
        cosine = cosine.to(dtype).clamp(-1.0, 1.0)
        index = target.long().unsqueeze(1)
        target_cosine = self._target_cosine(cosine.gather(1, index))
        logits = cosine.scatter(1, index, target_cosine) * self.scale
        return F.cross_entropy(logits, target.long())

    def logits(self, cosine: torch.Tensor) -> torch.Tensor:
        """Inference logits ``scale * cosine`` (no margin): softmax them for probabilities.

        Parameters
        ----------
        cosine : torch.Tensor of shape (batch, n_classes)
            Cosine similarities from a network with ``head="cosine"``.

        Returns
        -------
        torch.Tensor of shape (batch, n_classes)
        """
        return self.scale * cosine
