"""The shallow vision transformer of Zeng, Liu and Zhou's DCASE 2023 system."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import torch
from torch import nn

from sklasd.nn._layers import CosineHead, _check_int
from sklasd.nn._pretrained import load_pretrained_weights
from sklasd.nn._vit import ViTEncoder

__all__ = ["ShallowViT"]


class ShallowViT(nn.Module):
    """A one-layer vision transformer classifier (Zeng, Liu and Zhou, DCASE 2023).

    16 x 16 patches of the spectrogram become 128-dimensional tokens, encoded
    by one transformer layer with 8 heads and a 4x MLP (a :class:`ViTEncoder`);
    the class token's output is the embedding (:meth:`embed`) and a linear or
    cosine head gives the class outputs (:meth:`forward`). The keyword
    interface is that of the other :mod:`sklasd.nn` classifiers (``n_classes``,
    ``in_channels``, ``input_size``, ``head``), for
    :class:`~sklasd.training.ClassifierNet`.

    Parameters
    ----------
    n_classes : int
        Number of classes, >= 2.
    in_channels : int, default=1
        Channels of the input spectrograms.
    input_size : tuple of (int, int), default=(128, 64)
        (n_mels, n_frames) the positional embeddings are laid out for; other
        sizes get them interpolated (see :class:`ViTEncoder`).
    patch_size : int or tuple of int, default=16
        (bands, frames) of a patch.
    embedding_dim : int, default=128
        Token and embedding dimension, a multiple of 4 and of ``n_heads``.
    depth : int, default=1
        Transformer layers.
    n_heads : int, default=8
        Attention heads.
    mlp_ratio : float, default=4.0
        Width of the feed-forward layers relative to ``embedding_dim``.
    dropout : float, default=0.0
        Dropout in the transformer layers.
    pooling : {"cls", "mean"}, default="cls"
        Embedding: the class token's output or the mean of the patch tokens'.
    head : {"linear", "cosine"}, default="linear"
        "linear": logits; "cosine": a :class:`CosineHead` (for :class:`ArcFaceLoss`).
    pretrained_weights : str, path-like, mapping or None, default=None
        Checkpoint to initialise from with :func:`load_pretrained_weights`
        (the head, ``classifier.``, is never loaded).

    Attributes
    ----------
    encoder : ViTEncoder
        The transformer.
    classifier : torch.nn.Module
        The head.

    See Also
    --------
    MobileNetV2 : The CNN of the same system.
    ViTClassifier : A ViT with a projection head for contrastive fine-tuning.

    Examples
    --------
    >>> import torch
    >>> from sklasd.nn import ShallowViT
    >>> net = ShallowViT(n_classes=3, input_size=(32, 48))
    >>> x = torch.zeros(2, 1, 32, 48)
    >>> net.embed(x).shape, net(x).shape
    (torch.Size([2, 128]), torch.Size([2, 3]))
    """

    def __init__(
        self,
        *,
        n_classes: int,
        in_channels: int = 1,
        input_size: Sequence[int] = (128, 64),
        patch_size: int | Sequence[int] = 16,
        embedding_dim: int = 128,
        depth: int = 1,
        n_heads: int = 8,
        mlp_ratio: float = 4.0,
        dropout: float = 0.0,
        pooling: str = "cls",
        head: str = "linear",
        pretrained_weights: str | os.PathLike | Mapping | None = None,
    ) -> None:
        super().__init__()
        n_classes = _check_int("n_classes", n_classes, 2)
        if head not in ("linear", "cosine"):
            raise ValueError(f"head must be 'linear' or 'cosine', got {head!r}.")
        self.encoder = ViTEncoder(
            in_channels=in_channels,
            input_size=input_size,
            patch_size=patch_size,
            embed_dim=embedding_dim,
            depth=depth,
            n_heads=n_heads,
            mlp_ratio=mlp_ratio,
            dropout=dropout,
            pooling=pooling,
        )
        self.classifier: nn.Module = (
            nn.Linear(embedding_dim, n_classes)
            if head == "linear"
            else CosineHead(embedding_dim, n_classes)
        )
        if pretrained_weights is not None:
            load_pretrained_weights(self, pretrained_weights)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Embeddings (batch, embedding_dim) of spectrograms (batch, channels, bands, frames)."""
        return self.encoder.embed(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class outputs (batch, n_classes): logits, or cosines for ``head="cosine"``."""
        return self.classifier(self.embed(x))
