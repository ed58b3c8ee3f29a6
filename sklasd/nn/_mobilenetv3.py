"""The MobileNet machine-ID classifier of Wang et al. (Appl. Sci. 2021, Table 1)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from torch import nn

from sklasd.nn._layers import (
    ConvBN,
    InvertedResidual,
    _check_int,
    _check_rows,
    _GDConvEmbeddingNet,
    _is_int,
    _round_channels,
    _scaled_depth,
)

__all__ = ["MOBILENETV3_ID_BLOCKS", "BneckRow", "MobileNetV3IDNet"]


class BneckRow(NamedTuple):
    """One bneck row of a MobileNetV3-style table (Wang et al. 2021, Table 1)."""

    kernel_size: int
    """Depthwise kernel size (the "bneck, k x k" operator)."""
    expansion: int
    """"Exp Size": channels of the expansion layer."""
    out_channels: int
    """"#out": output channels."""
    se: bool
    """"SE": whether the block has squeeze-and-excite."""
    activation: str
    """"NL": "RE" (ReLU) or "HS" (h-swish)."""
    stride: int
    """"s": stride of the depthwise convolution (1 or 2)."""


#: The fifteen bneck rows of the ID classifier of Wang et al., "Unsupervised anomalous
#: sound detection for machine condition monitoring using classification-based methods"
#: (Applied Sciences 11(23):11128, 2021, Table 1), in the column order of
#: :class:`BneckRow`: (kernel_size, Exp Size, #out, SE, NL, s).
MOBILENETV3_ID_BLOCKS: tuple[BneckRow, ...] = (
    BneckRow(3, 64, 32, False, "RE", 1),
    BneckRow(3, 64, 32, False, "RE", 2),
    BneckRow(3, 64, 32, False, "RE", 1),
    BneckRow(3, 64, 32, True, "RE", 2),
    BneckRow(3, 64, 32, True, "RE", 1),
    BneckRow(3, 128, 64, True, "RE", 1),
    BneckRow(3, 128, 64, False, "HS", 2),
    BneckRow(3, 128, 64, False, "HS", 1),
    BneckRow(3, 128, 64, False, "HS", 1),
    BneckRow(3, 128, 64, False, "HS", 1),
    BneckRow(3, 256, 128, True, "HS", 1),
    BneckRow(3, 256, 128, True, "HS", 1),
    BneckRow(3, 256, 128, True, "HS", 1),
    BneckRow(3, 256, 128, True, "HS", 2),
    BneckRow(3, 256, 128, True, "HS", 1),
)

_STEM_CHANNELS = 32  # conv 3x3, 32, h-swish, stride 2 (Wang et al. 2021, Table 1)
_WIDE_CHANNELS = 512  # conv 1x1, 512, h-swish, before the GDConv (Table 1)

_BNECK_VALIDATORS = {
    "kernel_size": lambda k: _is_int(k, 1) and k % 2 == 1,
    "expansion": lambda c: _is_int(c, 1),
    "out_channels": lambda c: _is_int(c, 1),
    "se": lambda se: isinstance(se, bool),
    "activation": lambda nl: nl in ("RE", "HS"),
    "stride": lambda s: s in (1, 2),
}


def _stages(rows: Sequence[BneckRow]) -> list[list[BneckRow]]:
    """Split rows into stages, each starting at a strided row (or the first row)."""
    stages: list[list[BneckRow]] = []
    for row in rows:
        if not stages or row.stride != 1:
            stages.append([])
        stages[-1].append(row)
    return stages


class MobileNetV3IDNet(_GDConvEmbeddingNet):
    """MobileNetV3-based machine-ID classifier with a GDConv embedding (Wang et al. 2021).

    The ID classifier of Wang et al., "Unsupervised anomalous sound detection for
    machine condition monitoring using classification-based methods" (Applied
    Sciences 11(23):11128, 2021, section 2.2.1 and Table 1): a MobileNetV3 body
    on log-mel crops, a 1x1 convolution to 512 channels, a global depthwise
    convolution (GDConv, as in MobileFaceNet) in place of global average
    pooling, a linear 1x1 convolution to the embedding, then the
    classification head::

        conv 3x3, stem_channels (32), h-swish, stride 2
        bneck rows of `blocks`          (Table 1, below)
        conv 1x1, 512, h-swish
        GDConv (depthwise, kernel = remaining feature map), linear
        conv 1x1, embedding_dim (128), linear   -> embed(x)
        dropout, head ("linear" or "cosine")     -> forward(x)

    Every convolution is followed by batch normalisation. The bneck rows
    default to :data:`MOBILENETV3_ID_BLOCKS`, the fifteen rows of Table 1
    (all 3x3 depthwise kernels):

    =====  ===  ====  ===  ===  ======
    row    exp  out   SE   NL   stride
    =====  ===  ====  ===  ===  ======
    1      64   32    no   RE   1
    2      64   32    no   RE   2
    3      64   32    no   RE   1
    4      64   32    yes  RE   2
    5      64   32    yes  RE   1
    6      128  64    yes  RE   1
    7      128  64    no   HS   2
    8-10   128  64    no   HS   1
    11-13  256  128   yes  HS   1
    14     256  128   yes  HS   2
    15     256  128   yes  HS   1
    =====  ===  ====  ===  ===  ======

    The total stride is 32 (stem and rows 2, 4, 7 and 14). Table 1 writes the
    GDConv as "GDConv32 x 1", the map its input leaves (e.g. about 1,000
    frames by at most 32 bands); here the kernel is computed from
    ``input_size``, so a 128 x 64 crop leaves a 4 x 2 map, which the kernel
    covers. A bneck skips its 1x1 expansion when exp equals its input width and
    adds its input back when its stride is 1 and the widths agree.
    Squeeze-and-excite squeezes to a quarter of exp (rounded to a multiple of 8)
    and gates with a hard sigmoid (MobileNetV3's; the paper names SE only).

    **Parameters of the paper configuration** (defaults, ``embedding_dim=128``,
    ``input_size=(128, 64)``): 756,832 without the head (stem 352, bnecks
    619,008, conv 1x1 to 512: 66,560, GDConv 5,120, embedding 65,792, counting
    batch-normalisation weights and biases), plus ``129 * n_classes`` for the
    linear head or ``128 * n_classes`` for the cosine head (e.g. 757,348 with a
    linear head over 4 classes).

    Parameters
    ----------
    n_classes : int
        Number of classes (machine IDs / sections / attribute classes), >= 2.
    in_channels : int, default=1
        Channels of the input spectrograms.
    embedding_dim : int, default=128
        Size of the embedding returned by :meth:`embed` (Table 1: 128).
    stem_channels : int, default=32
        Output channels of the 3x3 stem convolution (Table 1: 32), >= 1.
    input_size : tuple of (int, int), default=(128, 64)
        (n_mels, n_frames) of the crops the network is trained and used on.
        The GDConv kernel is computed from it, so inference must use crops of
        the same size (e.g. average the outputs of crops covering a clip).
        Any size works; after the stride-2 layers a size ``n`` becomes
        ``ceil(n / 32)`` with the default table.
    width_mult : float, default=1.0
        Multiplies every channel count (stem, exp, out, the 512-wide 1x1
        convolution), rounded to a multiple of 8; not the embedding. The
        paper's network is ``width_mult=1.0, depth_mult=1.0``.
    depth_mult : float, default=1.0
        Fraction of bneck rows kept, in (0, 1]: the rows are grouped into
        stages, each starting at a stride-2 row, and each stage keeps its first
        ``ceil(n_rows * depth_mult)`` rows, so every downsampling stays.
        With the default table, 0.5 keeps 9 of 15 rows.
    blocks : sequence of BneckRow or tuple, default=None
        The bneck table as rows ``(kernel_size, expansion, out_channels, se,
        activation, stride)``, ``activation`` in {"RE", "HS"}, ``stride`` in
        {1, 2}; None means :data:`MOBILENETV3_ID_BLOCKS` (Table 1).
    head : {"linear", "cosine"}, default="linear"
        "linear": a fully connected layer giving logits (for cross-entropy);
        "cosine": a :class:`CosineHead` giving cosine similarities in [-1, 1]
        (for :class:`ArcFaceLoss`).
    dropout : float, default=0.0
        Dropout probability on the embedding before the head (training only).

    Attributes
    ----------
    blocks : tuple of BneckRow
        The bneck rows actually built (after ``depth_mult``, before ``width_mult``).
    feature_size : tuple of (int, int)
        Spatial size of the map entering the GDConv (its kernel size).
    body, gdconv, embedding, dropout, classifier : torch.nn.Module
        The layers, in the order of :meth:`forward`.

    See Also
    --------
    MobileFaceNet : The STgram-MFN network, same interface.
    ArcFaceLoss : Additive angular margin loss for ``head="cosine"``.
    CrossEntropyLoss : Cross-entropy for ``head="linear"``.

    Notes
    -----
    Weights are initialised from torch's global random generator (seed it, e.g.
    inside :func:`torch.random.fork_rng`, for reproducible networks). Batch
    normalisation of the 1 x 1 embedding needs batches of at least 2 clips in
    training mode; evaluation mode takes any batch size.

    Examples
    --------
    >>> import torch
    >>> from sklasd.nn import MobileNetV3IDNet
    >>> _ = torch.manual_seed(0)
    >>> net = MobileNetV3IDNet(n_classes=3, input_size=(32, 16), width_mult=0.25,
    ...                        depth_mult=0.5, embedding_dim=16).eval()
    >>> x = torch.randn(2, 1, 32, 16)
    >>> tuple(net.embed(x).shape), tuple(net(x).shape), net.feature_size
    ((2, 16), (2, 3), (1, 1))
    >>> len(net.blocks)
    9
    """

    def __init__(
        self,
        *,
        n_classes: int,
        in_channels: int = 1,
        embedding_dim: int = 128,
        stem_channels: int = _STEM_CHANNELS,
        input_size: tuple[int, int] = (128, 64),
        width_mult: float = 1.0,
        depth_mult: float = 1.0,
        blocks: Sequence[BneckRow | tuple] | None = None,
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
        self.stem_channels = _check_int("stem_channels", stem_channels, 1)
        rows = MOBILENETV3_ID_BLOCKS if blocks is None else blocks
        rows = _check_rows("blocks", rows, BneckRow, _BNECK_VALIDATORS)
        self.blocks = tuple(
            row
            for stage in _stages(rows)
            for row in stage[: _scaled_depth(len(stage), self.depth_mult)]
        )

        channels = _round_channels(self.stem_channels * self.width_mult)
        layers: list[nn.Module] = [
            ConvBN(self.in_channels, channels, 3, stride=2, activation="HS")
        ]
        for row in self.blocks:
            out_channels = _round_channels(row.out_channels * self.width_mult)
            layers.append(
                InvertedResidual(
                    channels,
                    _round_channels(row.expansion * self.width_mult),
                    out_channels,
                    kernel_size=row.kernel_size,
                    stride=row.stride,
                    activation=row.activation,
                    se=row.se,
                )
            )
            channels = out_channels
        wide = _round_channels(_WIDE_CHANNELS * self.width_mult)
        layers.append(ConvBN(channels, wide, activation="HS"))
        self._attach_tail(nn.Sequential(*layers), wide, [2, *(row.stride for row in self.blocks)])
