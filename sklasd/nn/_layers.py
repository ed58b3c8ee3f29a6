"""Building blocks shared by the embedding networks: conv-BN units, inverted residuals,
squeeze-and-excite, the cosine head and the GDConv embedding tail."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from numbers import Integral, Real

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["CosineHead"]

#: Nonlinearities by the names the network tables use: "RE" (ReLU), "HS" (h-swish,
#: Howard et al. 2019) and "PR" (PReLU with one slope per channel, MobileFaceNet).
_ACTIVATIONS: dict[str, Callable[[int], nn.Module]] = {
    "RE": lambda channels: nn.ReLU(),
    "HS": lambda channels: nn.Hardswish(),
    "PR": lambda channels: nn.PReLU(channels),
}


def _round_channels(channels: float, divisor: int = 8) -> int:
    """Round a (scaled) channel count to a multiple of ``divisor``, as MobileNets do.

    Never rounds down by more than 10 %, never below ``divisor``.
    """
    rounded = max(divisor, int(channels + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * channels:
        rounded += divisor
    return rounded


def _scaled_depth(n_layers: int, depth_mult: float) -> int:
    """Number of layers kept out of ``n_layers``: ``ceil(n_layers * depth_mult)``, at least 1."""
    return max(1, math.ceil(n_layers * depth_mult - 1e-9))


def _downsampled(size: int, strides: Sequence[int]) -> int:
    """Spatial size after 'same'-padded odd-kernel convolutions with these strides."""
    for stride in strides:
        size = -(-size // stride)
    return size


class ConvBN(nn.Sequential):
    """Convolution without bias, batch normalisation, then an optional nonlinearity.

    Odd kernels are zero-padded by ``kernel_size // 2`` unless ``padding`` is
    given, so a stride-``s`` unit maps a size ``n`` to ``ceil(n / s)``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int] = 1,
        *,
        stride: int = 1,
        groups: int = 1,
        activation: str | None = None,
        padding: int | tuple[int, int] | None = None,
    ) -> None:
        kernel = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
        if padding is None:
            padding = (kernel[0] // 2, kernel[1] // 2)
        layers: list[nn.Module] = [
            nn.Conv2d(
                in_channels,
                out_channels,
                kernel,
                stride=stride,
                padding=padding,
                groups=groups,
                bias=False,
            ),
            nn.BatchNorm2d(out_channels),
        ]
        if activation is not None:
            layers.append(_ACTIVATIONS[activation](out_channels))
        super().__init__(*layers)


class SqueezeExcite(nn.Module):
    """Squeeze-and-excite channel gating with a hard-sigmoid gate (MobileNetV3).

    The squeeze width is a quarter of ``channels``, rounded to a multiple of 8.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        squeezed = _round_channels(channels / 4)
        self.reduce = nn.Conv2d(channels, squeezed, 1)
        self.expand = nn.Conv2d(squeezed, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = F.adaptive_avg_pool2d(x, 1)
        gate = F.hardsigmoid(self.expand(F.relu(self.reduce(gate))))
        return x * gate


class InvertedResidual(nn.Module):
    """Inverted residual bottleneck (MobileNetV2/V3 "bneck", MobileFaceNet bottleneck).

    1x1 expansion (left out when ``expanded_channels == in_channels``), depthwise
    ``kernel_size`` convolution with ``stride``, optional squeeze-and-excite, and a
    linear 1x1 projection; the input is added back when stride is 1 and the
    channel counts agree.
    """

    def __init__(
        self,
        in_channels: int,
        expanded_channels: int,
        out_channels: int,
        *,
        kernel_size: int,
        stride: int,
        activation: str,
        se: bool,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        if expanded_channels != in_channels:
            layers.append(ConvBN(in_channels, expanded_channels, activation=activation))
        layers.append(
            ConvBN(
                expanded_channels,
                expanded_channels,
                kernel_size,
                stride=stride,
                groups=expanded_channels,
                activation=activation,
            )
        )
        if se:
            layers.append(SqueezeExcite(expanded_channels))
        layers.append(ConvBN(expanded_channels, out_channels))
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block(x)
        return x + out if self.residual else out


def _bottleneck_layers(
    rows: Sequence, channels: int, width_mult: float, activation: str
) -> tuple[list[nn.Module], list[int], int]:
    """The inverted-residual blocks of ``rows`` (MobileNetV2 / MobileFaceNet bottleneck rows).

    Returns the blocks, the stride of each and the output channels of the last one.
    """
    layers, strides = [], []
    for row in rows:
        out_channels = _round_channels(row.out_channels * width_mult)
        for index in range(row.repeats):
            stride = row.stride if index == 0 else 1
            layers.append(
                InvertedResidual(
                    channels,
                    channels * row.expansion_factor,
                    out_channels,
                    kernel_size=3,
                    stride=stride,
                    activation=activation,
                    se=False,
                )
            )
            strides.append(stride)
            channels = out_channels
    return layers, strides, channels


class CosineHead(nn.Module):
    """Cosine similarities between L2-normalised embeddings and class weight vectors.

    The classification head of additive-angular-margin (ArcFace) training: class
    ``c``'s output is ``cos(theta_c) = <e / |e|, w_c / |w_c|>``, in [-1, 1].

    Parameters
    ----------
    in_features : int
        Embedding dimension.
    n_classes : int
        Number of classes (rows of :attr:`weight`).

    Attributes
    ----------
    weight : torch.nn.Parameter of shape (n_classes, in_features)
        Class weight vectors (Xavier-uniform initialised).

    See Also
    --------
    ArcFaceLoss : The loss that trains this head.

    Examples
    --------
    >>> import torch
    >>> from sklasd.nn import CosineHead
    >>> _ = torch.manual_seed(0)
    >>> head = CosineHead(8, 3)
    >>> cosine = head(torch.randn(5, 8))
    >>> tuple(cosine.shape), bool(cosine.abs().max() <= 1)
    ((5, 3), True)
    """

    def __init__(self, in_features: int, n_classes: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_classes, in_features))
        nn.init.xavier_uniform_(self.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Cosines of shape (batch, n_classes) for ``x`` of shape (batch, in_features)."""
        cosine = F.linear(F.normalize(x, dim=1), F.normalize(self.weight, dim=1))
        return cosine.clamp(-1.0, 1.0)


def _is_int(value, low: int) -> bool:
    """Whether ``value`` is an integer (not a bool) of at least ``low``."""
    return not isinstance(value, bool) and isinstance(value, Integral) and value >= low


def _check_int(name: str, value, low: int) -> int:
    if not _is_int(value, low):
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}.")
    return int(value)


def _check_real(name: str, value, low: float, high: float, *, low_open: bool) -> float:
    valid = (
        isinstance(value, Real)
        and not isinstance(value, bool)
        and (low < value if low_open else low <= value)
        and value <= high
    )
    if not valid:  # NaN fails every comparison, so it is refused here too
        bounds = f"{'(' if low_open else '['}{low}, {high}]"
        raise ValueError(f"{name} must be a number in {bounds}, got {value!r}.")
    return float(value)


def _check_rows(name: str, rows, row_type, validators: dict[str, Callable]) -> tuple:
    """Validate a network table: a non-empty sequence of rows of ``row_type``'s fields."""
    if isinstance(rows, str | bytes) or not isinstance(rows, Sequence) or len(rows) == 0:
        raise ValueError(f"{name} must be a non-empty sequence of rows, got {rows!r}.")
    checked = []
    for index, row in enumerate(rows):
        if (
            isinstance(row, str | bytes)
            or not isinstance(row, Sequence)
            or (len(row) != len(row_type._fields))
        ):
            raise ValueError(
                f"{name}[{index}] must have the {len(row_type._fields)} fields "
                f"{row_type._fields}, got {row!r}."
            )
        row = row_type(*row)
        for field, is_valid in validators.items():
            if not is_valid(getattr(row, field)):
                raise ValueError(f"{name}[{index}] has an invalid {field}: {row!r}.")
        checked.append(row)
    return tuple(checked)


class _GDConvEmbeddingNet(nn.Module):
    """A convolutional body, a global depthwise convolution, a linear 1x1 embedding, a head.

    Subclasses validate their own options, build the body (ending in its 1x1
    convolution to the wide channel count) and call :meth:`_attach_tail`.
    The GDConv (MobileFaceNet, Chen et al. 2018) is a depthwise convolution whose
    kernel covers the whole feature map left by the body, so unlike global
    average pooling it learns a weight per channel and position; its kernel is
    fixed by ``input_size``, which is why inputs must have exactly that size.
    """

    def __init__(
        self,
        *,
        n_classes: int,
        in_channels: int,
        embedding_dim: int,
        input_size: tuple[int, int],
        width_mult: float,
        depth_mult: float,
        head: str,
        dropout: float,
    ) -> None:
        super().__init__()
        self.n_classes = _check_int("n_classes", n_classes, 2)
        self.in_channels = _check_int("in_channels", in_channels, 1)
        self.embedding_dim = _check_int("embedding_dim", embedding_dim, 1)
        if (
            isinstance(input_size, str | bytes)
            or not isinstance(input_size, Sequence)
            or (len(input_size) != 2)
        ):
            raise ValueError(f"input_size must be a pair (n_mels, n_frames), got {input_size!r}.")
        self.input_size = (
            _check_int("input_size[0]", input_size[0], 1),
            _check_int("input_size[1]", input_size[1], 1),
        )
        self.width_mult = _check_real("width_mult", width_mult, 0.0, math.inf, low_open=True)
        self.depth_mult = _check_real("depth_mult", depth_mult, 0.0, 1.0, low_open=True)
        if head not in ("linear", "cosine"):
            raise ValueError(f"head must be 'linear' or 'cosine', got {head!r}.")
        self.head = head
        if isinstance(dropout, bool) or not isinstance(dropout, Real) or not 0 <= dropout < 1:
            raise ValueError(f"dropout must be a number in [0, 1), got {dropout!r}.")
        self._dropout_p = float(dropout)

    def _attach_tail(self, body: nn.Sequential, channels: int, strides: Sequence[int]) -> None:
        """Add GDConv, embedding and head after ``body`` (``channels`` wide, these strides)."""
        self.body = body
        self.feature_size = tuple(_downsampled(n, strides) for n in self.input_size)
        self.gdconv = ConvBN(channels, channels, self.feature_size, groups=channels, padding=0)
        self.embedding = ConvBN(channels, self.embedding_dim)
        self.dropout = nn.Dropout(self._dropout_p)
        if self.head == "linear":
            self.classifier: nn.Module = nn.Linear(self.embedding_dim, self.n_classes)
        else:
            self.classifier = CosineHead(self.embedding_dim, self.n_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, 0.0, 0.01)
                nn.init.zeros_(module.bias)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Embeddings of shape (batch, embedding_dim).

        Parameters
        ----------
        x : torch.Tensor of shape (batch, in_channels, n_mels, n_frames)
            Spectrogram crops of exactly ``input_size`` (n_mels, n_frames).

        Returns
        -------
        torch.Tensor of shape (batch, embedding_dim)
            The output of the linear 1x1 embedding convolution (after its batch
            normalisation), the input of the head.
        """
        expected = (self.in_channels, *self.input_size)
        if x.dim() != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(
                f"{type(self).__name__} expects input of shape (batch, {expected[0]}, "
                f"{expected[1]}, {expected[2]}) (in_channels, *input_size: the GDConv kernel "
                f"is fixed by input_size), got {tuple(x.shape)}."
            )
        return self.embedding(self.gdconv(self.body(x))).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class outputs of shape (batch, n_classes): logits, or cosines for head="cosine".

        Parameters
        ----------
        x : torch.Tensor of shape (batch, in_channels, n_mels, n_frames)
            Spectrogram crops of exactly ``input_size``.

        Returns
        -------
        torch.Tensor of shape (batch, n_classes)
            ``head(dropout(embed(x)))``: logits for ``head="linear"``; for
            ``head="cosine"`` the cosine similarities in [-1, 1] between the
            L2-normalised embedding and the L2-normalised class weights.
        """
        return self.classifier(self.dropout(self.embed(x)))
