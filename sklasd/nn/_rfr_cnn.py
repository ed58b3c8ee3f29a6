"""The outlier-exposed binary CNN of Wang et al. (Appl. Sci. 2021, sec. 2.1): a receptive-field
regularised CNN with an auxiliary classifier after each stage and CBAM attention in the last."""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Real

import torch
import torch.nn.functional as F
from torch import nn

from sklasd.nn._centroid_losses import _check_binary_target
from sklasd.nn._layers import ConvBN, _check_int
from sklasd.nn._resnet38 import _check_input, _check_input_size, _init_weights, _ResidualBlock

__all__ = ["CBAM", "DEFAULT_STAGE_WEIGHTS", "RFRCNN", "StageBCELoss", "combine_stages"]

#: Default weights (w1, w2, w3) of the three stage probabilities, w1 < w2 < w3.
DEFAULT_STAGE_WEIGHTS: tuple[float, ...] = (0.1, 0.3, 0.6)


class _ChannelAttention(nn.Module):
    """CBAM channel attention: sigmoid(MLP(avgpool(x)) + MLP(maxpool(x))), one gate per channel."""

    def __init__(self, channels: int, reduction: int) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        self.mlp = nn.Sequential(
            nn.Conv2d(channels, hidden, 1), nn.ReLU(), nn.Conv2d(hidden, channels, 1)
        )

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """The attention map of shape (batch, channels, 1, 1), in [0, 1]."""
        avg = self.mlp(F.adaptive_avg_pool2d(x, 1))
        return torch.sigmoid(avg + self.mlp(F.adaptive_max_pool2d(x, 1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)


class _SpatialAttention(nn.Module):
    """CBAM spatial attention: sigmoid(conv([mean_c(x); max_c(x)])), one gate per position."""

    def __init__(self, kernel_size: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2)

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """The attention map of shape (batch, 1, height, width), in [0, 1]."""
        pooled = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        return torch.sigmoid(self.conv(pooled))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)


class CBAM(nn.Module):
    """Convolutional block attention module (Woo et al., ECCV 2018): channel, then spatial.

    First each channel is scaled by a channel gate ``sigmoid(MLP(avgpool(x)) +
    MLP(maxpool(x)))``, the MLP (1x1 convolutions ``channels -> channels //
    reduction -> channels`` with a ReLU) shared by the globally average- and
    max-pooled features; then each position of the result is scaled by a
    spatial gate ``sigmoid(conv_k([mean_c; max_c]))``, a ``kernel_size``
    convolution over the channel-average and channel-max maps. Shapes are kept.

    Parameters
    ----------
    channels : int
        Channels of the input.
    reduction : int, default=16
        Reduction ratio of the shared MLP; its hidden width is
        ``max(1, channels // reduction)``.
    kernel_size : int, default=7
        Odd kernel size of the spatial attention convolution.

    Attributes
    ----------
    channel_attention, spatial_attention : torch.nn.Module
        The two steps, applied in this order; each has a ``gate(x)`` method
        giving its attention map in [0, 1].

    See Also
    --------
    RFRCNN : Uses a CBAM in its last stage.

    Examples
    --------
    >>> import torch
    >>> from sklasd.nn import CBAM
    >>> _ = torch.manual_seed(0)
    >>> cbam = CBAM(32, reduction=8)
    >>> x = torch.randn(2, 32, 5, 6)
    >>> tuple(cbam(x).shape)
    (2, 32, 5, 6)
    >>> gate = cbam.channel_attention.gate(x)
    >>> tuple(gate.shape), bool(((gate >= 0) & (gate <= 1)).all())
    ((2, 32, 1, 1), True)
    """

    def __init__(self, channels: int, *, reduction: int = 16, kernel_size: int = 7) -> None:
        super().__init__()
        channels = _check_int("channels", channels, 1)
        reduction = _check_int("reduction", reduction, 1)
        kernel_size = _check_int("kernel_size", kernel_size, 1)
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}.")
        self.channel_attention = _ChannelAttention(channels, reduction)
        self.spatial_attention = _SpatialAttention(kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``spatial_attention(channel_attention(x))``, of the shape of ``x`` (B, C, H, W)."""
        return self.spatial_attention(self.channel_attention(x))


class RFRCNN(nn.Module):
    """Receptive-field regularised CNN with CBAM and an auxiliary binary classifier per stage.

    The binary network of Wang et al. (Applied Sciences 2021, section 2.1),
    after the receptive-field regularised CNNs (CP-ResNet, Koutini et al.) with which Primus et al.
    trained outlier-exposed classifiers for DCASE 2020: large kernels and more
    pooling early, small kernels and no pooling late keep the receptive field
    moderate. With base width ``w``::

        conv 5x5, stride 2, w, BN, ReLU
        stage 1: residual block 3x3 (w), max-pool 2, residual block 3x3 (w), max-pool 2
        stage 2: residual block 3x3 (2w), max-pool 2, residual block 1x1 (2w)
        stage 3: residual block 1x1 (4w), residual block 1x1 (4w), CBAM
        after each stage: global average pooling, linear -> 1 logit

    A residual block is two conv-BN units with a ReLU between them, the input
    added back (through a 1x1 conv-BN unit where the width changes) and a ReLU.
    The resolution drops 16-fold (a 128 x 64 crop leaves 8 x 4). Wang et al.
    give no kernel and pooling plan in numbers (section 2.1.2 and Figure 2a
    describe it); this one follows their description: three stages, kernels and
    pooling shrinking from stage to stage after Koutini et al.'s
    receptive-field regularisation, an auxiliary classifier after each stage
    (Eq. 4), CBAM (Eqs. 1-3) in the last.

    :meth:`forward` returns the three stage logits; the detector's output is
    ``p = w1 p1 + w2 p2 + w3 p3`` of the stage probabilities ``p_s =
    sigmoid(logit_s)`` with ``w1 < w2 < w3`` (:func:`combine_stages`), each
    classifier being trained on its own binary cross-entropy
    (:class:`StageBCELoss`).

    **Parameters**: 173,486 with the defaults (``width=32``, ``in_channels=1``),
    about ``170 * width**2`` in general (11,576 with ``width=8``).

    Parameters
    ----------
    in_channels : int, default=1
        Channels of the input spectrograms.
    input_size : tuple of (int, int), default=(128, 64)
        (n_mels, n_frames) of the crops, the only input size accepted; each
        must be at least 16.
    width : int, default=32
        Base channel count ``w`` (stages have w, 2w and 4w channels).
    reduction : int, default=16
        Reduction ratio of the CBAM channel-attention MLP.

    Attributes
    ----------
    n_stages : int
        Number of stages and of auxiliary classifiers (3).
    stage_channels : tuple of int
        Channels of each stage's output (w, 2w, 4w).
    embedding_dim : int
        Width of :meth:`embed`'s output (4w).
    feature_size : tuple of (int, int)
        Size of the last stage's map.
    stem, stages, classifiers : torch.nn.Module
        The layers; ``stages[2]`` ends in the :class:`CBAM`.

    See Also
    --------
    combine_stages : Weighted combination of the stage probabilities.
    StageBCELoss : Trains the three classifiers.
    ResNet38 : The network of the class-centroid detector.

    Notes
    -----
    Weights are initialised from torch's global random generator. Training
    needs batches of at least two crops (batch normalisation).

    Examples
    --------
    >>> import torch
    >>> from sklasd.nn import RFRCNN, combine_stages
    >>> _ = torch.manual_seed(0)
    >>> net = RFRCNN(input_size=(32, 32), width=8).eval()
    >>> x = torch.randn(4, 1, 32, 32)
    >>> stage_logits = net(x)
    >>> tuple(stage_logits.shape), tuple(net.embed(x).shape), net.feature_size
    ((4, 3), (4, 32), (2, 2))
    >>> p = combine_stages(stage_logits, (0.1, 0.3, 0.6))
    >>> tuple(p.shape), bool(((p > 0) & (p < 1)).all())
    ((4,), True)
    """

    n_stages = 3

    def __init__(
        self,
        *,
        in_channels: int = 1,
        input_size: tuple[int, int] = (128, 64),
        width: int = 32,
        reduction: int = 16,
    ) -> None:
        super().__init__()
        self.in_channels = _check_int("in_channels", in_channels, 1)
        self.input_size = _check_input_size(input_size, 16)
        self.width = _check_int("width", width, 1)
        w = self.width
        self.stage_channels = (w, 2 * w, 4 * w)
        self.embedding_dim = 4 * w
        self.stem = ConvBN(self.in_channels, w, 5, stride=2, activation="RE")
        self.stages = nn.ModuleList(
            [
                nn.Sequential(
                    _ResidualBlock(w, w), nn.MaxPool2d(2), _ResidualBlock(w, w), nn.MaxPool2d(2)
                ),
                nn.Sequential(
                    _ResidualBlock(w, 2 * w),
                    nn.MaxPool2d(2),
                    _ResidualBlock(2 * w, 2 * w, kernel_size=1),
                ),
                nn.Sequential(
                    _ResidualBlock(2 * w, 4 * w, kernel_size=1),
                    _ResidualBlock(4 * w, 4 * w, kernel_size=1),
                    CBAM(4 * w, reduction=reduction),
                ),
            ]
        )
        self.classifiers = nn.ModuleList([nn.Linear(c, 1) for c in self.stage_channels])
        self.feature_size = tuple(-(-n // 2) // 8 for n in self.input_size)
        _init_weights(self)

    def _stage_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Globally average-pooled outputs of the stages, each (batch, channels)."""
        _check_input(self, x)
        x = self.stem(x)
        pooled = []
        for stage in self.stages:
            x = stage(x)
            pooled.append(x.mean(dim=(2, 3)))
        return pooled

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Embeddings of shape (batch, embedding_dim).

        Parameters
        ----------
        x : torch.Tensor of shape (batch, in_channels, n_mels, n_frames)
            Spectrogram crops of exactly ``input_size``.

        Returns
        -------
        torch.Tensor of shape (batch, 4 * width)
            The globally average-pooled output of the last stage (after the
            CBAM), the input of the last classifier.
        """
        return self._stage_features(x)[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of the three stage classifiers.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, in_channels, n_mels, n_frames)
            Spectrogram crops of exactly ``input_size``.

        Returns
        -------
        torch.Tensor of shape (batch, 3)
            Column ``s`` is the logit of "normal" (label 1) of the classifier
            after stage ``s + 1``; combine them with :func:`combine_stages`.
        """
        features = self._stage_features(x)
        logits = [head(f) for head, f in zip(self.classifiers, features, strict=True)]
        return torch.cat(logits, dim=1)


def combine_stages(
    stage_logits: torch.Tensor, weights: Sequence[float] = DEFAULT_STAGE_WEIGHTS
) -> torch.Tensor:
    """Weighted sum of the stage probabilities: ``p = sum_s w_s sigmoid(logit_s)``.

    Wang et al. combine the auxiliary classifiers of :class:`RFRCNN` with
    weights growing with depth (``w1 < w2 < w3``), chosen on training or
    validation data; the order is not enforced here.

    Parameters
    ----------
    stage_logits : torch.Tensor of shape (batch, n_stages)
        Stage logits, e.g. :meth:`RFRCNN.forward`'s output.
    weights : sequence of float, default=(0.1, 0.3, 0.6)
        One non-negative weight per stage, summing to 1, so that ``p`` is a
        probability.

    Returns
    -------
    torch.Tensor of shape (batch,)
        The combined probability that each crop is normal (label 1).

    Examples
    --------
    >>> import torch
    >>> from sklasd.nn import combine_stages
    >>> logits = torch.tensor([[0.0, 0.0, 0.0], [10.0, -10.0, 10.0]])
    >>> combine_stages(logits, (0.2, 0.3, 0.5)).round(decimals=3)
    tensor([0.5000, 0.7000])
    """
    if stage_logits.dim() != 2:
        raise ValueError(
            f"stage_logits must have shape (batch, n_stages), got {tuple(stage_logits.shape)}."
        )
    if (
        isinstance(weights, str | bytes)
        or not isinstance(weights, Sequence)
        or len(weights) != stage_logits.shape[1]
        or any(isinstance(w, bool) or not isinstance(w, Real) or not w >= 0 for w in weights)
        or abs(sum(weights) - 1) > 1e-6
    ):
        raise ValueError(
            f"weights must be {stage_logits.shape[1]} non-negative numbers summing to 1 "
            f"(one per stage), got {weights!r}."
        )
    probabilities = torch.sigmoid(stage_logits.float())
    return probabilities @ torch.tensor(
        weights, dtype=probabilities.dtype, device=probabilities.device
    )


class StageBCELoss(nn.Module):
    """Binary cross-entropy of every stage classifier, averaged over the stages.

    Each auxiliary classifier of :class:`RFRCNN` learns the same task: is the
    crop of the target machine (label 1) or an outlier (label 0)?

    See Also
    --------
    combine_stages : Combines the trained classifiers at inference.

    Examples
    --------
    >>> import torch
    >>> from sklasd.nn import StageBCELoss
    >>> criterion = StageBCELoss()
    >>> stage_logits = torch.tensor([[2.0, 1.0, 3.0], [-1.0, -2.0, 0.0]])
    >>> target = torch.tensor([1, 0])
    >>> round(criterion(stage_logits, target).item(), 4)
    0.2704
    >>> criterion.logits(stage_logits) is stage_logits
    True
    """

    def forward(self, stage_logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Mean binary cross-entropy over crops and stages.

        Parameters
        ----------
        stage_logits : torch.Tensor of shape (batch, n_stages)
            Stage logits of "normal".
        target : torch.Tensor of shape (batch,)
            1 for the target machine's crops, 0 for outliers.

        Returns
        -------
        torch.Tensor of shape ()
        """
        if stage_logits.dim() != 2:
            raise ValueError(
                "StageBCELoss expects stage_logits of shape (batch, n_stages), "
                f"got {tuple(stage_logits.shape)}."
            )
        target = _check_binary_target(target, stage_logits.shape[0]).to(stage_logits.device)
        target = target.unsqueeze(1).expand(stage_logits.shape)
        return F.binary_cross_entropy_with_logits(stage_logits.float(), target)

    def logits(self, stage_logits: torch.Tensor) -> torch.Tensor:
        """The stage logits unchanged (see :func:`combine_stages` for the probability).

        Parameters
        ----------
        stage_logits : torch.Tensor of shape (batch, n_stages)

        Returns
        -------
        torch.Tensor of shape (batch, n_stages)
        """
        return stage_logits
