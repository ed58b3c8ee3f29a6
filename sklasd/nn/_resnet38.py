"""A ResNet38-style binary classifier with an embedding (PANNs, Kong et al. 2020), as the
binary-classification / class-centroid detector of Kuroyanagi et al. (EUSIPCO 2021) uses it."""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Real
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from sklasd.nn._layers import ConvBN, _check_int, _check_real, _round_channels

__all__ = ["RESNET38_LAYERS", "BinaryOutput", "ResNet38"]

#: Basic blocks per residual stage of PANNs' ResNet38 (as ResNet34).
RESNET38_LAYERS: tuple[int, ...] = (3, 4, 6, 3)

_STEM_CHANNELS = 64
_STAGE_CHANNELS = (64, 128, 256, 512)
_WIDE_CHANNELS = 2048
_POOLINGS = ("mean+max", "mean")
_EMBEDDING_ACTIVATIONS = ("relu", None)


class BinaryOutput(NamedTuple):
    """What the binary networks' ``forward`` returns: a logit per clip and its embedding.

    A tuple, so code that uses the first element of a network's output (skorch's
    ``predict_proba``) gets the logits.
    """

    logit: torch.Tensor
    """Shape (batch,): the logit of "normal" (the target section's clips, label 1)."""
    embedding: torch.Tensor
    """Shape (batch, embedding_dim): the input of the head."""

    def float(self) -> BinaryOutput:
        """Both tensors in float32 (for losses after a mixed-precision forward pass)."""
        return BinaryOutput(self.logit.float(), self.embedding.float())


def _check_input_size(input_size, minimum: int) -> tuple[int, int]:
    """Validate ``input_size`` as a pair (n_mels, n_frames) of integers >= ``minimum``."""
    if (
        isinstance(input_size, str | bytes)
        or not isinstance(input_size, Sequence)
        or len(input_size) != 2
    ):
        raise ValueError(f"input_size must be a pair (n_mels, n_frames), got {input_size!r}.")
    return (
        _check_int("input_size[0]", input_size[0], minimum),
        _check_int("input_size[1]", input_size[1], minimum),
    )


def _check_input(net: nn.Module, x: torch.Tensor) -> None:
    """Raise a ValueError unless ``x`` has shape (batch, net.in_channels, *net.input_size)."""
    expected = (net.in_channels, *net.input_size)
    if x.dim() != 4 or tuple(x.shape[1:]) != expected:
        raise ValueError(
            f"{type(net).__name__} expects input of shape (batch, {expected[0]}, "
            f"{expected[1]}, {expected[2]}) (in_channels, *input_size), got {tuple(x.shape)}."
        )


class _ResidualBlock(nn.Module):
    """Two ``kernel_size`` conv-BN units with a skip connection, ReLU after the sum.

    With ``downsample`` both branches start with a 2 x 2 average pooling (the
    PANNs ResNet's way to halve the resolution); the skip branch is a 1 x 1
    conv-BN unit where the resolution or the width changes. ``dropout`` acts
    between the two convolutions. The second batch normalisation starts at
    zero scale, so each block starts as the identity (Goyal et al. 2017).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        kernel_size: int = 3,
        downsample: bool = False,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.pool = nn.AvgPool2d(2) if downsample else nn.Identity()
        self.conv1 = ConvBN(in_channels, out_channels, kernel_size, activation="RE")
        self.dropout = nn.Dropout(dropout)
        self.conv2 = ConvBN(out_channels, out_channels, kernel_size)
        nn.init.zeros_(self.conv2[1].weight)
        if downsample or in_channels != out_channels:
            self.shortcut: nn.Module = ConvBN(in_channels, out_channels)
        else:
            self.shortcut = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(x)
        out = self.conv2(self.dropout(self.conv1(x)))
        return F.relu(out + self.shortcut(x))


def _init_weights(module: nn.Module) -> None:
    """He-normal convolutions, unit/zero batch norms, Xavier-uniform linear layers."""
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d):
            nn.init.kaiming_normal_(layer.weight, mode="fan_out", nonlinearity="relu")
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, nn.Linear):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)


class ResNet38(nn.Module):
    """ResNet38 of PANNs (Kong et al. 2020) as a binary classifier with an embedding.

    The network of "Anomalous sound detection using a binary classification
    model and class centroids" (Kuroyanagi, Hayashi, Takeda and Toda, EUSIPCO
    2021): PANNs' ResNet38 trained to tell the clips of one machine (label 1,
    "normal") from outlier clips (label 0), whose embedding also serves the
    class-centroid losses of :class:`CentroidLoss`. The layers follow
    ``ResNet38`` of the PANNs code (``audioset_tagging_cnn``, ``models.py``)::

        batch norm per mel bin over the input                  (PANNs' bn0)
        2 x (conv 3x3, 64, BN, ReLU), avg-pool 2x2, dropout    (conv_block1)
        residual stages of layers = (3, 4, 6, 3) basic blocks,
            64 / 128 / 256 / 512 channels; stages 2-4 start with
            an avg-pool 2x2 (both branches); dropout in blocks
        avg-pool 2x2, dropout
        2 x (conv 3x3, 2048, BN, ReLU), dropout                (conv_block_after1)
        mean over mel bins; then max + mean over time ("mean+max")
            or mean over time ("mean": global average pooling)
        dropout, linear to embedding_dim, ReLU (or none)       -> embed(x)
        dropout, linear to 1                                   -> forward(x).logit

    so the resolution drops 32-fold in both axes (a 128 x 256 crop leaves
    4 x 8 before the pooling). Dropout rates are PANNs': ``dropout`` between
    the convolutional stages, ``dropout / 2`` inside the residual blocks,
    ``head_dropout`` before each linear layer. Unlike PANNs (whose AudioSet
    head reads the embedding before its dropout) the head here reads the
    embedding after ``head_dropout``; in evaluation mode the two agree.

    **Embedding activation.** PANNs' embedding layer ends in a ReLU, which
    suits the binary cross-entropy. Under the class-centroid losses of
    :class:`CentroidLoss` it tends to collapse: pulling the normal embeddings
    to their centroid drives the pre-activations of most units below zero,
    where the ReLU outputs 0 and passes no gradient, so those units never come
    back (on a Table-II-style synthetic run 93-96 % of the units were zero for
    every clip with "dsad" and "bce+dsad", and all distances to the centroid
    became equal). ``embedding_activation=None`` makes the embedding the
    linear layer's output, which keeps every unit trainable;
    :class:`~sklasd.detectors.CentroidBCEDetector` uses it for the losses
    with a centroid term.

    **Parameters** of the paper configuration (defaults, ``in_channels=1``,
    ``n_mels=128``): 72,705,601 (68,506,944 in the convolutions and their
    batch norms, of which 47,194,112 in the two 2048-wide ones, 4,196,352 in
    the embedding layer, 2,049 in the head, 256 in the input batch norm); with
    PANNs' 527-class AudioSet head instead of the binary one this is PANNs'
    ResNet38 (73.7 M). ``width_mult=0.125, layers=(1, 1, 1, 1),
    embedding_dim=128``, a CPU variant, has 849,385.

    Parameters
    ----------
    in_channels : int, default=1
        Channels of the input spectrograms.
    input_size : tuple of (int, int), default=(128, 256)
        (n_mels, n_frames) of the crops: the paper feeds 256-frame segments.
        Sets the size of the input batch normalisation (one per mel bin) and is
        the only input size accepted; both must be at least 32.
    embedding_dim : int, default=2048
        Size of the embedding returned by :meth:`embed`.
    width_mult : float, default=1.0
        Multiplies every channel count (64 ... 512, 2048), rounded to a
        multiple of 8; not the embedding.
    layers : sequence of 4 int, default=(3, 4, 6, 3)
        Basic blocks in each residual stage (:data:`RESNET38_LAYERS`).
    pooling : {"mean+max", "mean"}, default="mean+max"
        Pooling over time after the mean over mel bins: PANNs' max + mean, or
        the mean alone (global average pooling).
    dropout : float, default=0.2
        Dropout probability between the convolutional stages, in [0, 1).
    head_dropout : float, default=0.5
        Dropout probability before the embedding layer and before the head.
    embedding_activation : {"relu", None}, default="relu"
        Activation of the embedding layer: PANNs' ReLU, or None for a linear
        embedding (for the class-centroid losses; see above).

    Attributes
    ----------
    feature_size : tuple of (int, int)
        Size of the map entering the pooling.
    embedding_dim : int
        Width of the embedding.
    input_norm, stem, stages, wide, embedding, head : torch.nn.Module
        The layers, in the order of :meth:`forward`.

    See Also
    --------
    CentroidLoss : BCE and class-centroid (DSAD, DDCSAD) losses on this network's output.
    RFRCNN : The CBAM CNN with auxiliary classifiers of the outlier classifier detector.

    Notes
    -----
    Weights are initialised from torch's global random generator. Training
    needs batches of at least two crops (batch normalisation).

    Examples
    --------
    >>> import torch
    >>> from sklasd.nn import ResNet38
    >>> _ = torch.manual_seed(0)
    >>> net = ResNet38(input_size=(32, 64), width_mult=0.125, layers=(1, 1, 1, 1),
    ...                embedding_dim=16).eval()
    >>> x = torch.randn(3, 1, 32, 64)
    >>> output = net(x)
    >>> tuple(output.logit.shape), tuple(output.embedding.shape), net.feature_size
    ((3,), (3, 16), (1, 2))
    >>> torch.equal(net.embed(x), output.embedding)
    True
    """

    def __init__(
        self,
        *,
        in_channels: int = 1,
        input_size: tuple[int, int] = (128, 256),
        embedding_dim: int = 2048,
        width_mult: float = 1.0,
        layers: Sequence[int] = RESNET38_LAYERS,
        pooling: str = "mean+max",
        dropout: float = 0.2,
        head_dropout: float = 0.5,
        embedding_activation: str | None = "relu",
    ) -> None:
        super().__init__()
        self.in_channels = _check_int("in_channels", in_channels, 1)
        self.input_size = _check_input_size(input_size, 32)
        self.embedding_dim = _check_int("embedding_dim", embedding_dim, 1)
        self.width_mult = _check_real("width_mult", width_mult, 0.0, float("inf"), low_open=True)
        if (
            isinstance(layers, str | bytes)
            or not isinstance(layers, Sequence)
            or len(layers) != len(_STAGE_CHANNELS)
        ):
            raise ValueError(f"layers must be a sequence of 4 block counts, got {layers!r}.")
        self.layers = tuple(_check_int(f"layers[{i}]", n, 1) for i, n in enumerate(layers))
        if pooling not in _POOLINGS:
            raise ValueError(f"pooling must be one of {_POOLINGS}, got {pooling!r}.")
        self.pooling = pooling
        if embedding_activation not in _EMBEDDING_ACTIVATIONS:
            raise ValueError(
                f"embedding_activation must be one of {_EMBEDDING_ACTIVATIONS}, "
                f"got {embedding_activation!r}."
            )
        self.embedding_activation = embedding_activation
        for name, value in (("dropout", dropout), ("head_dropout", head_dropout)):
            if isinstance(value, bool) or not isinstance(value, Real) or not 0 <= value < 1:
                raise ValueError(f"{name} must be a number in [0, 1), got {value!r}.")

        def scaled(channels: int) -> int:
            return _round_channels(channels * self.width_mult)

        channels = scaled(_STEM_CHANNELS)
        self.input_norm = nn.BatchNorm2d(self.input_size[0])
        self.stem = nn.Sequential(
            ConvBN(self.in_channels, channels, 3, activation="RE"),
            ConvBN(channels, channels, 3, activation="RE"),
            nn.AvgPool2d(2),
            nn.Dropout(dropout),
        )
        stages: list[nn.Module] = []
        for index, (n_blocks, width) in enumerate(zip(self.layers, _STAGE_CHANNELS, strict=True)):
            out_channels = scaled(width)
            blocks = [
                _ResidualBlock(
                    channels if i == 0 else out_channels,
                    out_channels,
                    downsample=index > 0 and i == 0,
                    dropout=dropout / 2,
                )
                for i in range(n_blocks)
            ]
            stages.append(nn.Sequential(*blocks))
            channels = out_channels
        self.stages = nn.Sequential(*stages, nn.AvgPool2d(2), nn.Dropout(dropout))
        wide = scaled(_WIDE_CHANNELS)
        self.wide = nn.Sequential(
            ConvBN(channels, wide, 3, activation="RE"),
            ConvBN(wide, wide, 3, activation="RE"),
            nn.Dropout(dropout),
        )
        self.embedding = nn.Sequential(
            nn.Dropout(head_dropout),
            nn.Linear(wide, self.embedding_dim),
            nn.ReLU() if embedding_activation == "relu" else nn.Identity(),
        )
        self.head = nn.Sequential(nn.Dropout(head_dropout), nn.Linear(self.embedding_dim, 1))
        self.feature_size = tuple(n // 32 for n in self.input_size)
        _init_weights(self)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Embeddings of shape (batch, embedding_dim).

        Parameters
        ----------
        x : torch.Tensor of shape (batch, in_channels, n_mels, n_frames)
            Spectrogram crops of exactly ``input_size``.

        Returns
        -------
        torch.Tensor of shape (batch, embedding_dim)
            The output of the embedding layer: non-negative with
            ``embedding_activation="relu"``, linear with None.
        """
        _check_input(self, x)
        x = self.input_norm(x.transpose(1, 2)).transpose(1, 2)
        x = self.wide(self.stages(self.stem(x))).mean(dim=2)
        pooled = x.mean(dim=2)
        if self.pooling == "mean+max":
            pooled = pooled + x.amax(dim=2)
        return self.embedding(pooled)

    def forward(self, x: torch.Tensor) -> BinaryOutput:
        """The logit of "normal" and the embedding of each crop.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, in_channels, n_mels, n_frames)
            Spectrogram crops of exactly ``input_size``.

        Returns
        -------
        BinaryOutput
            ``logit`` of shape (batch,) (``sigmoid(logit)`` is the probability
            that the crop is of the target machine, label 1) and ``embedding``
            of shape (batch, embedding_dim), as :meth:`embed`.
        """
        embedding = self.embed(x)
        return BinaryOutput(self.head(embedding).squeeze(1), embedding)
