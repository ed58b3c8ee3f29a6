"""MobileNetV2 with a 128-d embedding, the CNN of Zeng, Liu and Zhou's DCASE 2023 system."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from torch import nn

from sklasd.nn._layers import (
    ConvBN,
    _bottleneck_layers,
    _check_int,
    _GDConvEmbeddingNet,
    _round_channels,
)
from sklasd.nn._mobilefacenet import BottleneckRow, _bottleneck_rows
from sklasd.nn._pretrained import load_pretrained_weights

__all__ = ["MOBILENETV2_BLOCKS", "MobileNetV2"]

#: The inverted-residual rows ``(t, c, n, s)`` of Zeng, Liu and Zhou's MobileNetV2
#: ("General anomalous sound detection using sound event classification and
#: detection", DCASE 2023 Task 2 technical report, Table 1). Rows 5 and 6 downsample
#: at the 96-channel row, where Sandler et al.'s Table 2 (CVPR 2018) has
#: ``(6, 96, 3, 1), (6, 160, 3, 2)``; the weights have the same shapes either way.
MOBILENETV2_BLOCKS: tuple[BottleneckRow, ...] = (
    BottleneckRow(1, 16, 1, 1),
    BottleneckRow(6, 24, 2, 2),
    BottleneckRow(6, 32, 3, 2),
    BottleneckRow(6, 64, 4, 2),
    BottleneckRow(6, 96, 3, 2),
    BottleneckRow(6, 160, 3, 1),
    BottleneckRow(6, 320, 1, 1),
)

_STEM_CHANNELS = 32
_WIDE_CHANNELS = 1280


class MobileNetV2(_GDConvEmbeddingNet):
    """MobileNetV2 classifier with a 128-d embedding (Zeng, Liu and Zhou, DCASE 2023).

    The CNN of the sound-event classification / detection system of Zeng, Liu and
    Zhou (DCASE 2023 Task 2 technical report)::

        conv2d 3x3, 32, ReLU, stride 2
        inverted residuals of `blocks`    (t, c, n, s; 3x3 depthwise, linear 1x1)
        conv2d 1x1, last_channels (1280), ReLU
        GDConv (depthwise, kernel = remaining feature map), linear
        conv2d 1x1, embedding_dim, linear   -> embed(x)
        dropout, head ("linear" or "cosine") -> forward(x)

    Every convolution is followed by batch normalisation.

    **Which table.** The rows default to :data:`MOBILENETV2_BLOCKS`, the
    report's Table 1: (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2),
    (6, 64, 4, 2), (6, 96, 3, 2), (6, 160, 3, 1), (6, 320, 1, 1), total stride
    32. Rows 5 and 6 differ from Sandler et al.'s Table 2 (stride 2 at the
    160-channel row); pass ``blocks`` to build that one. The report sets the
    output of the last 1x1 convolution to 128 channels, which are its
    embedding (section 2.1.2): ``last_channels=128`` (the paper preset, see
    :func:`~sklasd.detectors.make_paper_detector`); the default keeps
    MobileNetV2's 1280. Departures from the report, which does not say how
    the last map is pooled: the map is pooled by a GDConv, as in the other
    networks of :mod:`sklasd.nn`, then projected linearly to the
    ``embedding_dim``-dimensional embedding (128, the report's size); ReLU
    instead of ReLU6 (they differ only above 6; ReLU6 scored lower in our tiny
    test configuration).

    **Pretrained weights.** ``pretrained_weights`` (a file saved with
    :func:`torch.save`, e.g. an AudioSet checkpoint of this network) is loaded
    by :func:`load_pretrained_weights` after initialisation: tensors that match
    in name and shape are copied, the head (``classifier.``) never; the others
    are named in a warning.

    Parameters
    ----------
    n_classes : int
        Number of classes (sound events: (machine type, section) pairs or
        attribute classes), >= 2.
    in_channels : int, default=1
        Channels of the input spectrograms.
    embedding_dim : int, default=128
        Size of the embedding returned by :meth:`embed`.
    last_channels : int, default=1280
        Output channels of the last 1x1 convolution (the report: 128), >= 1;
        scaled by ``width_mult``.
    input_size : tuple of (int, int), default=(128, 64)
        (n_mels, n_frames) of the crops (the report: 3 s windows of 64 mel
        bands at hop 160 and 16 kHz, 64 x 301). The GDConv kernel is computed
        from it, so inference must use crops of the same size; a size ``n``
        becomes ``ceil(n / 32)``.
    width_mult : float, default=1.0
        Multiplies every channel count (stem, c, ``last_channels``), rounded
        to a multiple of 8; not the embedding.
    depth_mult : float, default=1.0
        Fraction of each row's repeats kept, in (0, 1]: ``n`` becomes
        ``ceil(n * depth_mult)``, so every downsampling stays.
    blocks : sequence of BottleneckRow or tuple, default=None
        The table as rows ``(t, c, n, s)``, ``s`` in {1, 2}; None means
        :data:`MOBILENETV2_BLOCKS`.
    head : {"linear", "cosine"}, default="linear"
        "linear": logits (cross-entropy, or sigmoid for multi-label losses);
        "cosine": a :class:`CosineHead` (for :class:`ArcFaceLoss`).
    dropout : float, default=0.0
        Dropout probability on the embedding before the head (training only).
    pretrained_weights : str, path-like, mapping or None, default=None
        Checkpoint to initialise from; see above.

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
    ShallowViT : The other network of Zeng et al., same interface.
    MobileFaceNet : The STgram-MFN network, built from the same bottleneck rows.
    load_pretrained_weights : Loads a checkpoint into a network with another head.

    Examples
    --------
    >>> import torch
    >>> from sklasd.nn import MobileNetV2
    >>> _ = torch.manual_seed(0)
    >>> net = MobileNetV2(n_classes=4, input_size=(64, 47), width_mult=0.25,
    ...                   depth_mult=0.5).eval()
    >>> x = torch.randn(2, 1, 64, 47)
    >>> tuple(net.embed(x).shape), tuple(net(x).shape), net.feature_size
    ((2, 128), (2, 4), (2, 2))
    >>> sum(row.repeats for row in net.blocks)
    11
    """

    def __init__(
        self,
        *,
        n_classes: int,
        in_channels: int = 1,
        embedding_dim: int = 128,
        last_channels: int = _WIDE_CHANNELS,
        input_size: tuple[int, int] = (128, 64),
        width_mult: float = 1.0,
        depth_mult: float = 1.0,
        blocks: Sequence[BottleneckRow | tuple] | None = None,
        head: str = "linear",
        dropout: float = 0.0,
        pretrained_weights: str | os.PathLike | Mapping | None = None,
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
        self.last_channels = _check_int("last_channels", last_channels, 1)
        self.blocks = _bottleneck_rows(blocks, MOBILENETV2_BLOCKS, self.depth_mult)
        channels = _round_channels(_STEM_CHANNELS * self.width_mult)
        layers: list[nn.Module] = [
            ConvBN(self.in_channels, channels, 3, stride=2, activation="RE")
        ]
        strides = [2]
        blocks, block_strides, channels = _bottleneck_layers(
            self.blocks, channels, self.width_mult, "RE"
        )
        layers += blocks
        strides += block_strides
        wide = _round_channels(self.last_channels * self.width_mult)
        layers.append(ConvBN(channels, wide, activation="RE"))
        self._attach_tail(nn.Sequential(*layers), wide, strides)
        if pretrained_weights is not None:
            load_pretrained_weights(self, pretrained_weights)
