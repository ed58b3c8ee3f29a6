"""The MobileNetV3-based machine-ID classifier of Wang et al. (Appl. Sci. 2021)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from torch import nn

from sklasd.nn._layers import (
    ConvBN,
    InvertedResidual,
    _check_rows,
    _GDConvEmbeddingNet,
    _is_int,
    _round_channels,
    _scaled_depth,
)

__all__ = ["MOBILENETV3_ID_BLOCKS", "BneckRow", "MobileNetV3IDNet"]


class BneckRow(NamedTuple):
    """One bneck row of a MobileNetV3 table (Howard et al. 2019, Tables 1 and 2)."""

    kernel_size: int
    """Depthwise kernel size (the "bneck, k x k" operator)."""
    expansion: int
    """"exp size": channels of the expansion layer."""
    out_channels: int
    """"#out": output channels."""
    se: bool
    """"SE": whether the block has squeeze-and-excite."""
    activation: str
    """"NL": "RE" (ReLU) or "HS" (h-swish)."""
    stride: int
    """"s": stride of the depthwise convolution (1 or 2)."""


#: The bneck rows of MobileNetV3-Small (Howard et al., "Searching for MobileNetV3",
#: ICCV 2019, Table 2), in the column order of :class:`BneckRow`:
#: (kernel_size, exp size, #out, SE, NL, s). Used for the ID classifier of Wang et
#: al. (2021) because their Table 1 could not be consulted; see MobileNetV3IDNet.
MOBILENETV3_ID_BLOCKS: tuple[BneckRow, ...] = (
    BneckRow(3, 16, 16, True, "RE", 2),
    BneckRow(3, 72, 24, False, "RE", 2),
    BneckRow(3, 88, 24, False, "RE", 1),
    BneckRow(5, 96, 40, True, "HS", 2),
    BneckRow(5, 240, 40, True, "HS", 1),
    BneckRow(5, 240, 40, True, "HS", 1),
    BneckRow(5, 120, 48, True, "HS", 1),
    BneckRow(5, 144, 48, True, "HS", 1),
    BneckRow(5, 288, 96, True, "HS", 2),
    BneckRow(5, 576, 96, True, "HS", 1),
    BneckRow(5, 576, 96, True, "HS", 1),
)

_STEM_CHANNELS = 16  # conv2d 3x3, stride 2, h-swish (Howard et al. 2019, Table 2)
_WIDE_CHANNELS = 512  # conv2d 1x1 before the GDConv (Wang et al. 2021)

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
    Sciences 11(23):11128, 2021, section 2.2): a MobileNetV3 body on log-mel crops,
    a 1x1 convolution to 512 channels, a global depthwise convolution (GDConv,
    as in MobileFaceNet) in place of global average pooling, a linear 1x1
    convolution to the embedding, then the classification head::

        conv2d 3x3, 16, h-swish, stride 2
        bneck rows of `blocks`          (table below)
        conv2d 1x1, 512, h-swish
        GDConv (depthwise, kernel = remaining feature map), linear
        conv2d 1x1, embedding_dim, linear   -> embed(x)
        dropout, head ("linear" or "cosine") -> forward(x)

    Every convolution is followed by batch normalisation.

    **Which table.** The bneck rows default to :data:`MOBILENETV3_ID_BLOCKS`,
    the eleven bneck rows of MobileNetV3-Small (Howard et al., "Searching for
    MobileNetV3", ICCV 2019, Table 2), on which Wang et al. build. Their own
    Table 1 could not be consulted when this was written (only the paper's
    abstract was reachable), so its exact rows, including whether every
    bneck is 3x3 as the issue describes it, are unverified: the Small rows are
    used verbatim (kernels 3 and 5, exp sizes, #out, SE, NL, strides), with two
    departures taken from the description of Wang et al.: the last 1x1
    convolution has 512 channels (MobileNetV3-Small: 576, with SE) and is
    followed by GDConv and a linear 1x1 embedding convolution instead of
    pooling and the 1024-wide classifier. Pass ``blocks`` to use other rows,
    e.g. ``[row._replace(kernel_size=3) for row in MOBILENETV3_ID_BLOCKS]`` for
    3x3 depthwise kernels throughout.

    ======  =====  =========  ===  ===  ======
    kernel  exp    out        SE   NL   stride
    ======  =====  =========  ===  ===  ======
    3       16     16         yes  RE   2
    3       72     24         no   RE   2
    3       88     24         no   RE   1
    5       96     40         yes  HS   2
    5       240    40         yes  HS   1
    5       240    40         yes  HS   1
    5       120    48         yes  HS   1
    5       144    48         yes  HS   1
    5       288    96         yes  HS   2
    5       576    96         yes  HS   1
    5       576    96         yes  HS   1
    ======  =====  =========  ===  ===  ======

    The total stride is 32 (stem and four strided rows): a 128 x 64 crop leaves
    a 4 x 2 map, which the GDConv kernel covers. A bneck skips its 1x1 expansion
    when exp equals its input width (the first row) and adds its input back when
    its stride is 1 and the widths agree. Squeeze-and-excite squeezes to a
    quarter of exp (rounded to a multiple of 8) and gates with a hard sigmoid.

    **Parameters of the paper configuration** (defaults, ``embedding_dim=128``,
    ``input_size=(128, 64)``): 991,360 without the head (stem 176, bnecks
    870,096, conv 1x1 to 512: 50,176, GDConv 5,120, embedding 65,792, counting
    batch-normalisation weights and biases), plus ``129 * n_classes`` for the
    linear head or ``128 * n_classes`` for the cosine head (e.g. 991,876 with a
    linear head over 4 classes).

    Parameters
    ----------
    n_classes : int
        Number of classes (machine IDs / sections / attribute classes), >= 2.
    in_channels : int, default=1
        Channels of the input spectrograms.
    embedding_dim : int, default=128
        Size of the embedding returned by :meth:`embed`.
    input_size : tuple of (int, int), default=(128, 64)
        (n_mels, n_frames) of the crops the network is trained and used on.
        The GDConv kernel is computed from it, so inference must use crops of
        the same size (e.g. average the outputs of crops covering a clip).
        Any size works; after the stride-2 layers a size ``n`` becomes
        ``ceil(n / 32)`` with the default table.
    width_mult : float, default=1.0
        Multiplies every channel count (stem, exp, out, the 512-wide 1x1
        convolution), rounded to a multiple of 8; not the embedding.
    depth_mult : float, default=1.0
        Fraction of bneck rows kept, in (0, 1]: the rows are grouped into
        stages, each starting at a stride-2 row, and each stage keeps its first
        ``ceil(n_rows * depth_mult)`` rows, so every downsampling stays.
        With the default table, 0.5 keeps 7 of 11 rows.
    blocks : sequence of BneckRow or tuple, default=None
        The bneck table as rows ``(kernel_size, expansion, out_channels, se,
        activation, stride)``, ``activation`` in {"RE", "HS"}, ``stride`` in
        {1, 2}; None means :data:`MOBILENETV3_ID_BLOCKS`.
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
    7
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
        rows = MOBILENETV3_ID_BLOCKS if blocks is None else blocks
        rows = _check_rows("blocks", rows, BneckRow, _BNECK_VALIDATORS)
        self.blocks = tuple(
            row
            for stage in _stages(rows)
            for row in stage[: _scaled_depth(len(stage), self.depth_mult)]
        )

        channels = _round_channels(_STEM_CHANNELS * self.width_mult)
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
