"""A wrapper that makes any embedding classifier output (class output, embedding, attributes)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from sklasd.nn._metric_losses import AttributeHeads

__all__ = ["MultiTaskOutputs"]


class MultiTaskOutputs(nn.Module):
    """Wrap an embedding classifier so that it outputs its embedding and attribute logits too.

    The network output that :class:`ClassificationTripletAttributeLoss` takes:
    ``forward(x)`` returns ``(class_output, embedding, attribute_output)``,
    from one pass through the wrapped network, where ``attribute_output`` comes
    from :class:`AttributeHeads` reading the embedding (left out when there are
    no heads: the output is then ``(class_output, embedding)``). :meth:`embed`
    is the network's own.

    The wrapped network follows the interface of the networks of
    :mod:`sklasd.nn` (:class:`TDNN`, :class:`MobileNetV3IDNet`,
    :class:`MobileFaceNet`): an ``embed(x)`` method, an ``embedding_dim``
    attribute, and ``forward(x) = classifier(dropout(embed(x)))`` with
    ``classifier`` and (optionally) ``dropout`` sub-modules.

    Parameters
    ----------
    network : torch.nn.Module
        The embedding classifier to wrap (an instance).
    n_attribute_classes : sequence of int, default=()
        Classes of each attribute head (see :class:`AttributeHeads`); empty for
        no heads.

    Attributes
    ----------
    network : torch.nn.Module
        The wrapped network.
    attribute_heads : AttributeHeads or None
        The heads on the embedding; None without heads.

    See Also
    --------
    ClassificationTripletAttributeLoss : The loss on this module's output.
    sklasd.training.ClassifierNet : Wraps its module in this class when its
        triplet or attribute weight is positive.

    Examples
    --------
    >>> import torch
    >>> from sklasd.nn import TDNN
    >>> from sklasd.nn import MultiTaskOutputs
    >>> _ = torch.manual_seed(0)
    >>> tdnn = TDNN(n_classes=3, input_size=(8, 16), embedding_dim=4, width_mult=0.05)
    >>> net = MultiTaskOutputs(tdnn, n_attribute_classes=[5, 2]).eval()
    >>> x = torch.randn(2, 1, 8, 16)
    >>> class_output, embedding, attribute_output = net(x)
    >>> tuple(class_output.shape), tuple(embedding.shape), tuple(attribute_output.shape)
    ((2, 3), (2, 4), (2, 2, 5))
    >>> bool(torch.allclose(class_output, tdnn(x)))  # the network's own output
    True
    """

    def __init__(self, network: nn.Module, *, n_attribute_classes: Sequence[int] = ()) -> None:
        super().__init__()
        missing = [
            name for name in ("embed", "embedding_dim", "classifier") if not hasattr(network, name)
        ]
        if missing:
            raise ValueError(
                f"MultiTaskOutputs needs a network with embed(x), embedding_dim and a "
                f"classifier module (as the networks of sklasd.nn); "
                f"{type(network).__name__} lacks {missing}."
            )
        self.network = network
        self.attribute_heads = (
            AttributeHeads(network.embedding_dim, n_attribute_classes)
            if len(n_attribute_classes)
            else None
        )

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The wrapped network's embeddings, shape (batch, embedding_dim).

        Parameters
        ----------
        x : torch.Tensor
            The network's input.

        Returns
        -------
        torch.Tensor of shape (batch, embedding_dim)
        """
        return self.network.embed(x)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """``(class_output, embedding[, attribute_output])`` from one pass.

        Parameters
        ----------
        x : torch.Tensor
            The network's input.

        Returns
        -------
        tuple of torch.Tensor
            ``class_output`` (batch, n_classes) as the network's ``forward``
            gives it, ``embedding`` (batch, embedding_dim) and, with heads,
            ``attribute_output`` (batch, n_heads, max classes).
        """
        embedding = self.network.embed(x)
        dropout = getattr(self.network, "dropout", None)
        hidden = embedding if dropout is None else dropout(embedding)
        outputs = (self.network.classifier(hidden), embedding)
        if self.attribute_heads is None:
            return outputs
        return (*outputs, self.attribute_heads(embedding))
