"""x-vector time-delay neural network (TDNN), the baseline classifier of Wang, Du and Wang."""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Real
from typing import NamedTuple

import torch
from torch import nn

from sklasd.nn._layers import CosineHead, _check_int, _check_real, _check_rows, _is_int

__all__ = ["TDNN", "TDNN_FRAME_LAYERS", "TDNNRow"]


class TDNNRow(NamedTuple):
    """One frame-level layer ``(kernel_size, dilation, out_channels)`` of a TDNN."""

    kernel_size: int
    """Number of frames the layer looks at (its context)."""
    dilation: int
    """Spacing of those frames: a context {-2, 0, 2} is kernel 3, dilation 2."""
    out_channels: int
    """Output channels (scaled by ``width_mult``)."""


#: The frame-level layers of the x-vector network (Snyder et al., ICASSP 2018,
#: Table 1): contexts [t-2, t+2], {t-2, t, t+2}, {t-3, t, t+3}, {t}, {t} with
#: 512, 512, 512, 512 and 1500 channels.
TDNN_FRAME_LAYERS: tuple[TDNNRow, ...] = (
    TDNNRow(5, 1, 512),
    TDNNRow(3, 2, 512),
    TDNNRow(3, 3, 512),
    TDNNRow(1, 1, 512),
    TDNNRow(1, 1, 1500),
)

_SEGMENT_CHANNELS = 512

_ROW_VALIDATORS = {
    "kernel_size": lambda k: _is_int(k, 1),
    "dilation": lambda d: _is_int(d, 1),
    "out_channels": lambda c: _is_int(c, 1),
}


def _frame_layer(in_channels: int, out_channels: int, kernel_size: int, dilation: int):
    """Unpadded dilated Conv1d, ReLU, batch normalisation (Kaldi's x-vector order)."""
    return nn.Sequential(
        nn.Conv1d(in_channels, out_channels, kernel_size, dilation=dilation),
        nn.ReLU(),
        nn.BatchNorm1d(out_channels),
    )


class TDNN(nn.Module):
    """x-vector TDNN embedding classifier, the baseline of Wang, Du and Wang (APSIPA ASC 2022).

    The baseline classifier of Wang, Du and Wang (APSIPA ASC 2022), the
    x-vector network of speaker recognition ("X-vectors: robust DNN embeddings
    for speaker recognition", Snyder et al., ICASSP 2018): the input's channels
    and frequency bands are flattened into the feature dimension of a sequence
    of frames, which 1-D convolutions over time process::

        (B, in_channels, n_mels, T) -> (B, in_channels * n_mels, T)
        frame layers of `layers` (kernel, dilation, channels; no padding),
            each Conv1d, ReLU, BatchNorm         -> (B, C_last, T - context + 1)
        statistics pooling: mean and std over time -> (B, 2 * C_last)
        linear 512, ReLU, BatchNorm              (segment layer)
        linear embedding_dim, BatchNorm          -> embed(x)
        dropout, head ("linear" or "cosine")     -> forward(x)

    With the default :data:`TDNN_FRAME_LAYERS` (the x-vector table) the frame
    layers see a context of 15 frames and 1500 channels enter the pooling. The
    segment layers follow the x-vector network too, except that the embedding
    is a separate linear layer of ``embedding_dim`` units (with batch
    normalisation, as the embedding of :class:`MobileFaceNet`) in front of the
    head, instead of the pre-activation of x-vector's first segment layer.

    Statistics pooling makes the network independent of the number of frames:
    unlike the GDConv networks, clips of any length of at least
    :attr:`receptive_field` frames can be embedded, e.g. whole clips after
    training on crops.

    **Parameters of the paper configuration** (defaults, ``in_channels=1``,
    ``n_mels=128``): 4,544,788 without the head (frame layers 2,941,332,
    segment layer 1,537,536, embedding 65,920, counting batch-normalisation
    weights; each further input channel adds 327,680 to the first layer), plus
    ``129 * n_classes`` for the linear head or ``128 * n_classes`` for the
    cosine head.

    Parameters
    ----------
    n_classes : int
        Number of classes (machine IDs / sections / attribute classes), >= 2.
    in_channels : int, default=1
        Channels of the input features (3 for stacked LogMel, Tgram, wav2vec).
    embedding_dim : int, default=128
        Size of the embedding returned by :meth:`embed`.
    input_size : tuple of (int, int), default=(128, 64)
        (n_mels, n_frames) of the training crops. ``n_mels`` is fixed (it sets
        the width of the first layer); ``n_frames`` must be at least
        :attr:`receptive_field`, and inputs may have any number of frames of at
        least that.
    width_mult : float, default=1.0
        Multiplies the channels of every frame layer and of the segment layer
        (rounded, at least 1); not the embedding.
    layers : sequence of TDNNRow or tuple, default=None
        Frame-level layers as rows ``(kernel_size, dilation, out_channels)``;
        None means :data:`TDNN_FRAME_LAYERS`.
    head : {"linear", "cosine"}, default="linear"
        "linear": a fully connected layer giving logits (for cross-entropy);
        "cosine": a :class:`CosineHead` giving cosine similarities in [-1, 1]
        (for :class:`ArcFaceLoss`).
    dropout : float, default=0.0
        Dropout probability on the embedding before the head (training only).

    Attributes
    ----------
    layers : tuple of TDNNRow
        The frame layers as given (before ``width_mult``).
    receptive_field : int
        Frames seen by one output frame of the frame layers,
        ``1 + sum((kernel_size - 1) * dilation)``: the shortest input.
    frames, segment, embedding, dropout, classifier : torch.nn.Module
        The layers, in the order of :meth:`forward` (statistics pooling sits
        between ``frames`` and ``segment``).

    See Also
    --------
    MobileFaceNet, MobileNetV3IDNet : The 2-D convolutional ID classifiers, same interface.
    BatchHardTripletLoss : Metric loss on :meth:`embed`'s output.

    Notes
    -----
    Weights are initialised from torch's global random generator. Batch
    normalisation of the segment and embedding layers needs batches of at least
    2 clips in training mode; evaluation mode takes any batch size.

    Examples
    --------
    >>> import torch
    >>> from sklasd.nn import TDNN
    >>> _ = torch.manual_seed(0)
    >>> net = TDNN(n_classes=3, in_channels=2, input_size=(16, 20), embedding_dim=8,
    ...            width_mult=0.125).eval()
    >>> net.receptive_field
    15
    >>> tuple(net.embed(torch.randn(4, 2, 16, 20)).shape)
    (4, 8)
    >>> tuple(net(torch.randn(4, 2, 16, 40)).shape)  # longer clips work too
    (4, 3)
    """

    def __init__(
        self,
        *,
        n_classes: int,
        in_channels: int = 1,
        embedding_dim: int = 128,
        input_size: tuple[int, int] = (128, 64),
        width_mult: float = 1.0,
        layers: Sequence[TDNNRow | tuple] | None = None,
        head: str = "linear",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.n_classes = _check_int("n_classes", n_classes, 2)
        self.in_channels = _check_int("in_channels", in_channels, 1)
        self.embedding_dim = _check_int("embedding_dim", embedding_dim, 1)
        self.width_mult = _check_real("width_mult", width_mult, 0.0, math.inf, low_open=True)
        self.layers = _check_rows(
            "layers", TDNN_FRAME_LAYERS if layers is None else layers, TDNNRow, _ROW_VALIDATORS
        )
        self.receptive_field = 1 + sum((row.kernel_size - 1) * row.dilation for row in self.layers)
        if (
            isinstance(input_size, str | bytes)
            or not isinstance(input_size, Sequence)
            or len(input_size) != 2
        ):
            raise ValueError(f"input_size must be a pair (n_mels, n_frames), got {input_size!r}.")
        self.input_size = (
            _check_int("input_size[0]", input_size[0], 1),
            _check_int("input_size[1]", input_size[1], self.receptive_field),
        )
        if head not in ("linear", "cosine"):
            raise ValueError(f"head must be 'linear' or 'cosine', got {head!r}.")
        self.head = head
        if isinstance(dropout, bool) or not isinstance(dropout, Real) or not 0 <= dropout < 1:
            raise ValueError(f"dropout must be a number in [0, 1), got {dropout!r}.")

        channels = self.in_channels * self.input_size[0]
        frames = []
        for row in self.layers:
            out_channels = max(1, round(row.out_channels * self.width_mult))
            frames.append(_frame_layer(channels, out_channels, row.kernel_size, row.dilation))
            channels = out_channels
        self.frames = nn.Sequential(*frames)
        segment = max(1, round(_SEGMENT_CHANNELS * self.width_mult))
        self.segment = nn.Sequential(
            nn.Linear(2 * channels, segment), nn.ReLU(), nn.BatchNorm1d(segment)
        )
        self.embedding = nn.Sequential(
            nn.Linear(segment, self.embedding_dim), nn.BatchNorm1d(self.embedding_dim)
        )
        self.dropout = nn.Dropout(float(dropout))
        if head == "linear":
            self.classifier: nn.Module = nn.Linear(self.embedding_dim, self.n_classes)
        else:
            self.classifier = CosineHead(self.embedding_dim, self.n_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Embeddings of shape (batch, embedding_dim).

        Parameters
        ----------
        x : torch.Tensor of shape (batch, in_channels, n_mels, n_frames)
            Features with ``input_size[0]`` bands and at least
            :attr:`receptive_field` frames.

        Returns
        -------
        torch.Tensor of shape (batch, embedding_dim)
            The output of the linear embedding layer (after its batch
            normalisation), the input of the head.
        """
        expected = (self.in_channels, self.input_size[0])
        if x.dim() != 4 or tuple(x.shape[1:3]) != expected or x.shape[3] < self.receptive_field:
            raise ValueError(
                f"TDNN expects input of shape (batch, {expected[0]}, {expected[1]}, n_frames) "
                f"with n_frames >= {self.receptive_field} (its receptive field), got "
                f"{tuple(x.shape)}."
            )
        frames = self.frames(x.flatten(1, 2))
        mean = frames.mean(dim=2)
        std = frames.var(dim=2, correction=0).clamp_min(1e-8).sqrt()
        return self.embedding(self.segment(torch.cat([mean, std], dim=1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class outputs of shape (batch, n_classes): logits, or cosines for head="cosine".

        Parameters
        ----------
        x : torch.Tensor of shape (batch, in_channels, n_mels, n_frames)
            As for :meth:`embed`.

        Returns
        -------
        torch.Tensor of shape (batch, n_classes)
            ``head(dropout(embed(x)))``.
        """
        return self.classifier(self.dropout(self.embed(x)))
