"""Metric and auxiliary losses: batch-hard triplet, attribute heads, and their weighted sum
with a classification loss (the training objective of Wang, Du and Wang, APSIPA ASC 2022)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Real

import torch
import torch.nn.functional as F
from torch import nn

from sklasd.nn._layers import _check_int, _check_real
from sklasd.nn._losses import CrossEntropyLoss

__all__ = [
    "AttributeHeads",
    "AttributeLoss",
    "BatchHardTripletLoss",
    "ClassificationTripletAttributeLoss",
]


class BatchHardTripletLoss(nn.Module):
    """Batch-hard triplet loss (Hermans, Beyer and Leibe, "In defense of the triplet loss", 2017).

    For every anchor ``a`` of the batch, the hardest positive is the farthest
    clip of the same class (other than ``a``) and the hardest negative the
    closest clip of another class; the anchor's loss is
    ``max(0, margin + d(a, p) - d(a, n))``, or ``softplus(d(a, p) - d(a, n))``
    with ``margin="soft"``. The loss is the mean over the anchors that have both
    a positive and a negative in the batch; anchors without one are skipped,
    and a batch without any valid anchor gives 0 (with a gradient of 0). Batches
    need several clips of each class, see
    :class:`~sklasd.training.SectionBalancedBatchSampler`.

    Parameters
    ----------
    margin : float or "soft", default=0.3
        Hinge margin, >= 0, in units of the distance; "soft" for Hermans et
        al.'s soft margin ``log(1 + exp(d(a, p) - d(a, n)))``.
    squared : bool, default=False
        Use squared Euclidean distances instead of Euclidean distances.
    normalize : bool, default=True
        L2-normalise the embeddings first, so that distances lie in [0, 2] (a
        margin of 0.3 then means a cosine gap of about 0.3 near orthogonality).

    See Also
    --------
    ClassificationTripletAttributeLoss : Cross-entropy plus this loss plus an attribute loss.

    Notes
    -----
    Distances are computed in at least float32 from pairwise differences (not
    from the expansion ``|a|^2 + |b|^2 - 2 a.b``, which cancels badly for close
    pairs); their square root is taken of at least 1e-12, so gradients stay
    finite for identical embeddings. Memory grows as batch^2 x embedding_dim.

    Examples
    --------
    >>> import torch
    >>> from sklasd.nn import BatchHardTripletLoss
    >>> labels = torch.tensor([0, 0, 1, 1])
    >>> separated = torch.tensor([[0.0], [0.1], [5.0], [5.2]])
    >>> triplet = BatchHardTripletLoss(margin=1.0, normalize=False)
    >>> triplet(separated, labels).item()  # negatives farther than positives + margin
    0.0
    >>> mixed = torch.tensor([[0.0], [3.0], [1.0], [4.0]])
    >>> triplet(mixed, labels).item()  # each anchor: margin 1 + positive at 3 - negative at 1
    3.0
    """

    def __init__(
        self, *, margin: float | str = 0.3, squared: bool = False, normalize: bool = True
    ) -> None:
        super().__init__()
        if margin != "soft" and (
            isinstance(margin, bool) or not isinstance(margin, Real) or not 0 <= margin < math.inf
        ):
            raise ValueError(f"margin must be a number >= 0 or 'soft', got {margin!r}.")
        for name, value in (("squared", squared), ("normalize", normalize)):
            if not isinstance(value, bool):
                raise ValueError(f"{name} must be a bool, got {value!r}.")
        self.margin = margin if margin == "soft" else float(margin)
        self.squared = squared
        self.normalize = normalize

    def extra_repr(self) -> str:
        return f"margin={self.margin!r}, squared={self.squared}, normalize={self.normalize}"

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Mean batch-hard triplet loss over the anchors with a positive and a negative.

        Parameters
        ----------
        embeddings : torch.Tensor of shape (batch, embedding_dim)
            Embeddings, e.g. a network's :meth:`embed` output.
        labels : torch.Tensor of shape (batch,)
            Class of every embedding (any integer coding).

        Returns
        -------
        torch.Tensor of shape ()
            The loss, 0 when no anchor has both a positive and a negative.
        """
        if embeddings.dim() != 2 or labels.dim() != 1 or labels.shape[0] != embeddings.shape[0]:
            raise ValueError(
                "BatchHardTripletLoss expects embeddings of shape (batch, embedding_dim) and "
                f"labels of shape (batch,), got {tuple(embeddings.shape)} and "
                f"{tuple(labels.shape)}."
            )
        x = embeddings.to(torch.promote_types(embeddings.dtype, torch.float32))
        if self.normalize:
            x = F.normalize(x, dim=1)
        distance = (x.unsqueeze(1) - x.unsqueeze(0)).square().sum(dim=2)
        if not self.squared:
            distance = distance.clamp_min(1e-12).sqrt()
        same = labels.unsqueeze(1) == labels.unsqueeze(0)
        positive = same & ~torch.eye(len(labels), dtype=torch.bool, device=labels.device)
        negative = ~same
        valid = positive.any(dim=1) & negative.any(dim=1)
        if not valid.any():
            return x.sum() * 0.0
        hardest_positive = distance.masked_fill(~positive, -math.inf).amax(dim=1)
        hardest_negative = distance.masked_fill(~negative, math.inf).amin(dim=1)
        gap = hardest_positive[valid] - hardest_negative[valid]
        if self.margin == "soft":
            return F.softplus(gap).mean()
        return F.relu(gap + self.margin).mean()


class AttributeHeads(nn.Module):
    """Linear classifiers of attribute classes on an embedding, one head per attribute group.

    The auxiliary task of Wang, Du and Wang (2022): besides its section, each
    clip's operating attributes are classified, one head per group (e.g. one
    per machine type, whose classes are that type's attribute combinations, as
    the paper counts them: ToyCar 22, fan 12, ...). All heads share one linear
    layer; their outputs are stacked into one tensor, padded with ``-inf``
    beyond each head's classes, so that a softmax over the last dimension gives
    each head's class probabilities and the tensor can travel as one network
    output (skorch concatenates outputs batch by batch).

    Parameters
    ----------
    embedding_dim : int
        Size of the embeddings the heads read.
    n_classes_per_head : sequence of int
        Number of classes of each head, each >= 1.

    Attributes
    ----------
    n_classes_per_head : tuple of int
        As given.
    linear : torch.nn.Linear
        The heads' weights, ``sum(n_classes_per_head)`` outputs.

    See Also
    --------
    AttributeLoss : The loss on this module's output.

    Examples
    --------
    >>> import torch
    >>> from sklasd.nn import AttributeHeads
    >>> _ = torch.manual_seed(0)
    >>> heads = AttributeHeads(8, [3, 2])
    >>> logits = heads(torch.randn(5, 8))
    >>> tuple(logits.shape)  # (batch, n_heads, max classes)
    (5, 2, 3)
    >>> logits[0, 1, 2].item()  # the second head has only 2 classes
    -inf
    """

    def __init__(self, embedding_dim: int, n_classes_per_head: Sequence[int]) -> None:
        super().__init__()
        embedding_dim = _check_int("embedding_dim", embedding_dim, 1)
        if isinstance(n_classes_per_head, str | bytes) or not isinstance(
            n_classes_per_head, Sequence
        ):
            raise ValueError(
                f"n_classes_per_head must be a sequence of ints, got {n_classes_per_head!r}."
            )
        if len(n_classes_per_head) == 0:
            raise ValueError("n_classes_per_head must name at least one head, got [].")
        self.n_classes_per_head = tuple(
            _check_int(f"n_classes_per_head[{i}]", n, 1) for i, n in enumerate(n_classes_per_head)
        )
        self.linear = nn.Linear(embedding_dim, sum(self.n_classes_per_head))

    def forward(self, embedding: torch.Tensor) -> torch.Tensor:
        """Logits of shape (batch, n_heads, max(n_classes_per_head)), -inf where padded.

        Parameters
        ----------
        embedding : torch.Tensor of shape (batch, embedding_dim)

        Returns
        -------
        torch.Tensor of shape (batch, n_heads, max(n_classes_per_head))
            Head ``h``'s logits in ``[:, h, :n_classes_per_head[h]]``, -inf after.
        """
        width = max(self.n_classes_per_head)
        chunks = self.linear(embedding).split(self.n_classes_per_head, dim=1)
        return torch.stack(
            [F.pad(chunk, (0, width - chunk.shape[1]), value=-math.inf) for chunk in chunks],
            dim=1,
        )


class AttributeLoss(nn.Module):
    """Cross-entropy of several attribute heads, ignoring missing labels (-1).

    The mean of the cross-entropies of all (clip, head) pairs that have a label:
    with one labelled head per clip (each clip has the attributes of its own
    machine type only) it is the mean over clips, and with a single head it is
    :func:`torch.nn.functional.cross_entropy` with ``ignore_index=-1``. A batch
    without any label gives 0 (with a gradient of 0).

    See Also
    --------
    AttributeHeads : Produces the padded logits this loss takes.
    ClassificationTripletAttributeLoss : Adds it to a classification loss.

    Examples
    --------
    >>> import torch
    >>> from sklasd.nn import AttributeLoss
    >>> logits = torch.tensor([[[2.0, 0.0], [0.0, -torch.inf]],
    ...                        [[0.0, 1.0], [3.0, -torch.inf]]])
    >>> target = torch.tensor([[0, -1], [-1, 0]])  # one labelled head per clip
    >>> round(AttributeLoss()(logits, target).item(), 4)  # CE(2 vs 0) and CE of a 1-class head
    0.0635
    """

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy over the labelled (clip, head) pairs.

        Parameters
        ----------
        output : torch.Tensor of shape (batch, n_heads, n_classes) or (batch, n_classes)
            Logits, e.g. from :class:`AttributeHeads` (-inf marks classes a head
            does not have).
        target : torch.Tensor of shape (batch, n_heads) or (batch,)
            Class index per clip and head, -1 where the label is missing.

        Returns
        -------
        torch.Tensor of shape ()
        """
        if output.dim() == 2:
            output, target = output.unsqueeze(1), target.reshape(-1, 1)
        if output.dim() != 3 or tuple(target.shape) != tuple(output.shape[:2]):
            raise ValueError(
                "AttributeLoss expects output of shape (batch, n_heads, n_classes) and target "
                f"of shape (batch, n_heads), got {tuple(output.shape)} and "
                f"{tuple(target.shape)}."
            )
        if target.is_floating_point() or target.is_complex():
            raise ValueError(f"AttributeLoss expects integer targets, got {target.dtype}.")
        target = target.long()
        bad = (target < -1) | (target >= output.shape[2])
        labelled = target >= 0
        if not bad.any():
            picked = output.gather(2, target.clamp_min(0).unsqueeze(2)).squeeze(2)
            bad = labelled & torch.isneginf(picked)
        if bad.any():
            clip, head = (int(i) for i in bad.nonzero()[0])
            raise ValueError(
                f"Attribute label {int(target[clip, head])} of clip {clip} is not a class of "
                f"head {head} (-1 marks a missing label; the head's classes are the entries "
                "of output that are not -inf)."
            )
        if not labelled.any():
            return output[..., 0].float().sum() * 0.0
        logits = output.to(torch.promote_types(output.dtype, torch.float32))
        loss = F.cross_entropy(logits.transpose(1, 2), target, ignore_index=-1, reduction="sum")
        return loss / labelled.sum()


def _check_weight(name: str, value) -> float:
    """A finite loss weight >= 0 (NaN and infinity rejected)."""
    if isinstance(value, Real) and not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}.")
    return _check_real(name, value, 0.0, math.inf, low_open=False)


class ClassificationTripletAttributeLoss(nn.Module):
    """Classification loss + weighted batch-hard triplet loss + weighted attribute loss.

    The objective of Wang, Du and Wang (APSIPA ASC 2022): a section classifier
    trained with cross-entropy, a batch-hard triplet loss on its embeddings
    and an auxiliary classification of the clips' attributes. The network's
    output is a tuple ``(class_output, embedding, attribute_output)``; the
    target holds the section class in its first column and one attribute class
    per head (-1 for missing) in the others. A weight of 0 leaves its term out
    (and the corresponding output and target parts may then be missing), so a
    grid over ``triplet_weight`` and ``attribute_weight`` runs the paper's loss
    ablation.

    Parameters
    ----------
    classifier_loss : torch.nn.Module, default=None
        Loss on ``(class_output, section)`` with the ``logits(output)`` method of
        :mod:`sklasd.nn` losses; None means :class:`CrossEntropyLoss()` (use
        :class:`ArcFaceLoss` for a network with ``head="cosine"``).
    triplet_weight : float, default=1.0
        Weight ``w_t`` >= 0 of the triplet term.
    triplet_loss : torch.nn.Module, default=None
        Loss on ``(embedding, section)``; None means
        :class:`BatchHardTripletLoss()` (margin 0.3 on normalised embeddings).
    attribute_weight : float, default=1.0
        Weight ``w_a`` >= 0 of the attribute term, an :class:`AttributeLoss`
        on ``(attribute_output, attribute labels)``.

    Attributes
    ----------
    classifier_loss, triplet_loss, attribute_loss : torch.nn.Module
        The three terms.

    See Also
    --------
    AttributeHeads : Produces ``attribute_output`` from the embedding.
    sklasd.training.SectionBalancedBatchSampler : Batches with several clips per section.

    Examples
    --------
    >>> import torch
    >>> from sklasd.nn import ClassificationTripletAttributeLoss, CrossEntropyLoss
    >>> _ = torch.manual_seed(0)
    >>> class_output, embedding = torch.randn(4, 2), torch.randn(4, 8)
    >>> attribute_output = torch.randn(4, 1, 3)  # one head of 3 classes
    >>> target = torch.tensor([[0, 2], [0, -1], [1, 0], [1, 1]])  # section, attribute
    >>> criterion = ClassificationTripletAttributeLoss(triplet_weight=0.5, attribute_weight=0.1)
    >>> total = criterion((class_output, embedding, attribute_output), target)
    >>> expected = (CrossEntropyLoss()(class_output, target[:, 0])
    ...             + 0.5 * criterion.triplet_loss(embedding, target[:, 0])
    ...             + 0.1 * criterion.attribute_loss(attribute_output, target[:, 1:]))
    >>> bool(torch.isclose(total, expected))
    True
    >>> criterion.logits((class_output, embedding, attribute_output)) is class_output
    True
    """

    def __init__(
        self,
        *,
        classifier_loss: nn.Module | None = None,
        triplet_weight: float = 1.0,
        triplet_loss: nn.Module | None = None,
        attribute_weight: float = 1.0,
    ) -> None:
        super().__init__()
        self.classifier_loss = CrossEntropyLoss() if classifier_loss is None else classifier_loss
        self.triplet_loss = BatchHardTripletLoss() if triplet_loss is None else triplet_loss
        self.attribute_loss = AttributeLoss()
        self.triplet_weight = _check_weight("triplet_weight", triplet_weight)
        self.attribute_weight = _check_weight("attribute_weight", attribute_weight)

    def extra_repr(self) -> str:
        return f"triplet_weight={self.triplet_weight}, attribute_weight={self.attribute_weight}"

    def forward(self, output, target: torch.Tensor) -> torch.Tensor:
        """The weighted sum of the terms whose weight is positive.

        Parameters
        ----------
        output : torch.Tensor or tuple of torch.Tensor
            ``class_output`` of shape (batch, n_classes), or a tuple
            ``(class_output, embedding, attribute_output)`` with ``embedding`` of
            shape (batch, embedding_dim) and ``attribute_output`` of shape
            (batch, n_heads, n_attribute_classes) (see :class:`AttributeHeads`);
            trailing parts whose weight is 0 may be left out.
        target : torch.Tensor of shape (batch,) or (batch, 1 + n_heads)
            Section class of every clip, followed (2-D) by its attribute class
            per head, -1 where missing.

        Returns
        -------
        torch.Tensor of shape ()
            ``classifier_loss + triplet_weight * triplet_loss + attribute_weight *
            attribute_loss``.
        """
        parts = tuple(output) if isinstance(output, tuple | list) else (output,)
        if not 1 <= len(parts) <= 3:
            raise ValueError(
                "ClassificationTripletAttributeLoss expects output (class_output, embedding, "
                f"attribute_output) or a prefix of it, got a tuple of {len(parts)} parts."
            )
        if target.dim() not in (1, 2) or target.shape[0] != parts[0].shape[0]:
            raise ValueError(
                "ClassificationTripletAttributeLoss expects target of shape (batch,) or "
                f"(batch, 1 + n_heads) for {parts[0].shape[0]} outputs, got "
                f"{tuple(target.shape)}."
            )
        section = target if target.dim() == 1 else target[:, 0]
        loss = self.classifier_loss(parts[0], section)
        if self.triplet_weight > 0:
            if len(parts) < 2:
                raise ValueError(
                    f"triplet_weight={self.triplet_weight} needs the embedding as the second "
                    "part of the output (class_output, embedding, ...)."
                )
            loss = loss + self.triplet_weight * self.triplet_loss(parts[1], section)
        if self.attribute_weight > 0:
            if len(parts) < 3 or target.dim() != 2 or target.shape[1] < 2:
                raise ValueError(
                    f"attribute_weight={self.attribute_weight} needs attribute_output as the "
                    "third part of the output and attribute labels in target[:, 1:] (target "
                    f"of shape (batch, 1 + n_heads)); got {len(parts)} output parts and target "
                    f"of shape {tuple(target.shape)}. Set attribute_weight=0 to train without."
                )
            loss = loss + self.attribute_weight * self.attribute_loss(parts[2], target[:, 1:])
        return loss

    def logits(self, output) -> torch.Tensor:
        """Inference logits of the class output: softmax them for section probabilities.

        Parameters
        ----------
        output : torch.Tensor or tuple of torch.Tensor
            ``class_output`` of shape (batch, n_classes), or the tuple whose
            first part it is (skorch hands predict-time nonlinearities only the
            first part).

        Returns
        -------
        torch.Tensor of shape (batch, n_classes)
            ``classifier_loss.logits(class_output)`` (the class output itself
            when the classifier loss has no ``logits`` method).
        """
        class_output = output[0] if isinstance(output, tuple | list) else output
        logits = getattr(self.classifier_loss, "logits", None)
        return class_output if logits is None else logits(class_output)
