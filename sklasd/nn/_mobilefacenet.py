"""MobileFaceNet as the STgram-MFN anomalous sound detector uses it (Liu et al. 2022)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from torch import nn

from sklasd.nn._layers import (
    ConvBN,
    _bottleneck_layers,
    _check_rows,
    _GDConvEmbeddingNet,
    _is_int,
    _round_channels,
    _scaled_depth,
)

__all__ = ["MOBILEFACENET_BLOCKS", "BottleneckRow", "MobileFaceNet"]


class BottleneckRow(NamedTuple):
    """One row ``(t, c, n, s)`` of a MobileNetV2/MobileFaceNet bottleneck table."""

    expansion_factor: int
    """t: the expansion layer has ``t`` times the block's input channels."""
    out_channels: int
    """c: output channels."""
    repeats: int
    """n: number of bottlenecks in the row."""
    stride: int
    """s: stride of the row's first bottleneck (the others have stride 1)."""


#: The bottleneck setting of STgram-MFN (Liu et al., ICASSP 2022; their code's
#: ``Mobilefacenet_bottleneck_setting``, following the DCASE 2022 Task 2 winning
#: system), rows ``(t, c, n, s)``. The original MobileFaceNet (Chen et al. 2018) has
#: ((2, 64, 5, 2), (4, 128, 1, 2), (2, 128, 6, 1), (4, 128, 1, 2), (2, 128, 2, 1)).
MOBILEFACENET_BLOCKS: tuple[BottleneckRow, ...] = (
    BottleneckRow(2, 128, 2, 2),
    BottleneckRow(4, 128, 2, 2),
    BottleneckRow(4, 128, 2, 2),
)

_STEM_CHANNELS = 64
_WIDE_CHANNELS = 512

_BOTTLENECK_VALIDATORS = {
    "expansion_factor": lambda t: _is_int(t, 1),
    "out_channels": lambda c: _is_int(c, 1),
    "repeats": lambda n: _is_int(n, 1),
    "stride": lambda s: s in (1, 2),
}


def _bottleneck_rows(blocks, default: tuple, depth_mult: float) -> tuple:
    """Validated bottleneck rows (``default`` when ``blocks`` is None), depth-scaled."""
    rows = _check_rows("blocks", default if blocks is None else blocks, BottleneckRow,
                       _BOTTLENECK_VALIDATORS)  # fmt: skip
    return tuple(row._replace(repeats=_scaled_depth(row.repeats, depth_mult)) for row in rows)


class MobileFaceNet(_GDConvEmbeddingNet):
    """MobileFaceNet embedding classifier, as in STgram-MFN (Liu et al., ICASSP 2022).

    The network of "Anomalous sound detection using spectral-temporal
    information fusion" (Liu, Guan, Zhu and Wang, ICASSP 2022), a MobileFaceNet
    (Chen et al., "MobileFaceNets", 2018) with a shortened bottleneck table::

        conv 3x3, 64, PReLU, stride 2
        depthwise conv 3x3, 64, PReLU
        bottlenecks of `blocks` (t, c, n, s; PReLU, linear projection)
        conv 1x1, 512, PReLU
        GDConv (depthwise, kernel = remaining feature map), linear
        conv 1x1, embedding_dim, linear   -> embed(x)
        dropout, head ("linear" or "cosine") -> forward(x)

    Every convolution is followed by batch normalisation; each bottleneck
    expands its input ``t``-fold with a 1x1 convolution, filters it with a 3x3
    depthwise convolution and projects it linearly to ``c`` channels, adding its
    input back when stride is 1 and the widths agree. The default table,
    :data:`MOBILEFACENET_BLOCKS`, is ((2, 128, 2, 2), (4, 128, 2, 2),
    (4, 128, 2, 2)): six bottlenecks, total stride 16 with the stem, so a
    128 x 64 crop leaves an 8 x 4 map for the GDConv (STgram-MFN feeds whole
    128 x 313 clips: 8 x 20). STgram-MFN stacks a log-mel and a learned
    "Tgram" as two input channels (``in_channels=2``); the Tgram front end is
    not part of this module.

    **Parameters of the paper configuration** (defaults, ``embedding_dim=128``,
    ``input_size=(128, 64)``): 804,224 without the head (stem 1,536,
    bottlenecks 652,416, conv 1x1 to 512: 67,072, GDConv 17,408, embedding
    65,792, counting batch-normalisation and PReLU weights, with
    ``in_channels=1``; each further input channel adds 576), plus
    ``129 * n_classes`` for the linear head or ``128 * n_classes`` for the
    cosine head (e.g. 804,740 with a linear head over 4 classes).

    Parameters
    ----------
    n_classes : int
        Number of classes (machine IDs / sections / attribute classes), >= 2.
    in_channels : int, default=1
        Channels of the input spectrograms (2 for STgram-MFN's mel + Tgram).
    embedding_dim : int, default=128
        Size of the embedding returned by :meth:`embed`.
    input_size : tuple of (int, int), default=(128, 64)
        (n_mels, n_frames) of the crops the network is trained and used on.
        The GDConv kernel is computed from it, so inference must use crops of
        the same size. Any size works; after the stride-2 layers a size ``n``
        becomes ``ceil(n / 16)`` with the default table.
    width_mult : float, default=1.0
        Multiplies every channel count (stem, c, the 512-wide 1x1 convolution),
        rounded to a multiple of 8; not the embedding.
    depth_mult : float, default=1.0
        Fraction of each row's repeats kept, in (0, 1]: ``n`` becomes
        ``ceil(n * depth_mult)``, so every downsampling stays.
    blocks : sequence of BottleneckRow or tuple, default=None
        The bottleneck table as rows ``(t, c, n, s)``, ``s`` in {1, 2}; None
        means :data:`MOBILEFACENET_BLOCKS`.
    head : {"linear", "cosine"}, default="linear"
        "linear": a fully connected layer giving logits (for cross-entropy);
        "cosine": a :class:`CosineHead` giving cosine similarities in [-1, 1]
        (for :class:`ArcFaceLoss`).
    dropout : float, default=0.0
        Dropout probability on the embedding before the head (training only).

    Attributes
    ----------
    blocks : tuple of BottleneckRow
        The rows actually built (after ``depth_mult``, before ``width_mult``).
    feature_size : tuple of (int, int)
        Spatial size of the map entering the GDConv (its kernel size).
    body, gdconv, embedding, dropout, classifier : torch.nn.Module
        The layers, in the order of :meth:`forward`.

    See Also
    --------
    MobileNetV3IDNet : The MobileNetV3-based ID classifier, same interface.
    ArcFaceLoss : Additive angular margin loss for ``head="cosine"`` (as STgram-MFN).

    Notes
    -----
    Weights are initialised from torch's global random generator. Batch
    normalisation of the 1 x 1 embedding needs batches of at least 2 clips in
    training mode; evaluation mode takes any batch size.

    Examples
    --------
    >>> import torch
    >>> from sklasd.nn import MobileFaceNet
    >>> _ = torch.manual_seed(0)
    >>> net = MobileFaceNet(n_classes=4, in_channels=2, input_size=(32, 20),
    ...                     width_mult=0.25, depth_mult=0.5, head="cosine").eval()
    >>> x = torch.randn(3, 2, 32, 20)
    >>> tuple(net.embed(x).shape), net.feature_size
    ((3, 128), (2, 2))
    >>> cosine = net(x)
    >>> tuple(cosine.shape), bool(cosine.abs().max() <= 1)
    ((3, 4), True)
    """

    def __init__(
        self,
        *,
        n_classes: int,
        in_channels: int = 1,
        embedding_dim: int = 128,
        input_size: tuple[int, int] = (128, 64),
        width_mult: float = 1.0,
        depth_mult: float = 1.0,
        blocks: Sequence[BottleneckRow | tuple] | None = None,
        head: str = "linear",
        dropout: float = 0.0,
    ) -> None:
        super().__init__(
            n_classes=n_classes,
            in_channels=in_channels,
            embedding_dim=embedding_dim,
            input_size=input_size,
            width_mult=width_mult,
            depth_mult=depth_mult,
            head=head,
            dropout=dropout,
        )
        self.blocks = _bottleneck_rows(blocks, MOBILEFACENET_BLOCKS, self.depth_mult)

        channels = _round_channels(_STEM_CHANNELS * self.width_mult)
        layers: list[nn.Module] = [
            ConvBN(self.in_channels, channels, 3, stride=2, activation="PR"),
            ConvBN(channels, channels, 3, groups=channels, activation="PR"),
        ]
        strides = [2]
        blocks, block_strides, channels = _bottleneck_layers(
            self.blocks, channels, self.width_mult, "PR"
        )
        layers += blocks
        strides += block_strides
        wide = _round_channels(_WIDE_CHANNELS * self.width_mult)
        layers.append(ConvBN(channels, wide, activation="PR"))
        self._attach_tail(nn.Sequential(*layers), wide, strides)
