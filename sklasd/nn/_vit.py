"""Vision transformer on spectrogram patches, and the parts of a masked autoencoder (MAE).

Spectrograms of shape (batch, channels, n_bands, n_frames) are cut into
non-overlapping patches (tokens) by a strided convolution; a stack of
:class:`torch.nn.TransformerEncoderLayer` (pre-norm, GELU) encodes them.
:func:`random_masking`, :func:`patchify` and :class:`MAEDecoder` add what a
masked autoencoder needs (He et al., "Masked autoencoders are scalable vision
learners", CVPR 2022; on audio: Audio-MAE, Huang et al., NeurIPS 2022).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from sklasd.nn._layers import _check_int, _check_real

__all__ = [
    "MAEDecoder",
    "RCMAENet",
    "ViTClassifier",
    "ViTEncoder",
    "patchify",
    "random_masking",
    "sincos_pos_embed",
]


def _pair(name: str, value) -> tuple[int, int]:
    """An int or a pair of ints >= 1 as a pair."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}.")
        return _check_int(name, value[0], 1), _check_int(name, value[1], 1)
    size = _check_int(name, value, 1)
    return size, size


def sincos_pos_embed(grid: tuple[int, int], dim: int) -> torch.Tensor:
    """Fixed 2-D sine-cosine positional embeddings of a grid of patches (as in MAE).

    Half of the ``dim`` channels encode the row (frequency) index, half the
    column (time) index, each with sines and cosines at geometrically spaced
    frequencies.

    Parameters
    ----------
    grid : tuple of int
        (n_rows, n_columns) of patches.
    dim : int
        Embedding dimension, a multiple of 4.

    Returns
    -------
    torch.Tensor of shape (n_rows * n_columns, dim)
        One row per patch, rows first (the order of :func:`patchify`).

    Examples
    --------
    >>> from sklasd.nn import sincos_pos_embed
    >>> sincos_pos_embed((2, 3), 8).shape
    torch.Size([6, 8])
    """
    if dim % 4:
        raise ValueError(f"The embedding dimension must be a multiple of 4, got {dim}.")
    omega = 1.0 / 10000 ** (torch.arange(dim // 4, dtype=torch.float64) / (dim // 4))
    rows, cols = torch.meshgrid(
        torch.arange(grid[0], dtype=torch.float64),
        torch.arange(grid[1], dtype=torch.float64),
        indexing="ij",
    )
    parts = []
    for position in (rows.reshape(-1), cols.reshape(-1)):
        angle = position[:, None] * omega[None, :]
        parts += [angle.sin(), angle.cos()]
    return torch.cat(parts, dim=1).float()


def patchify(x: torch.Tensor, patch_size: tuple[int, int]) -> torch.Tensor:
    """Cut spectrograms into flattened patches, rows first (the token order of ViTEncoder).

    Bands and frames beyond the last whole patch are left out, as the strided
    convolution of :class:`ViTEncoder` leaves them out.

    Parameters
    ----------
    x : torch.Tensor of shape (batch, channels, n_bands, n_frames)
        Spectrograms.
    patch_size : tuple of int
        (bands, frames) of a patch.

    Returns
    -------
    torch.Tensor of shape (batch, n_patches, channels * patch_bands * patch_frames)
        The patches.

    Examples
    --------
    >>> import torch
    >>> from sklasd.nn import patchify
    >>> patchify(torch.zeros(2, 1, 8, 12), (4, 4)).shape
    torch.Size([2, 6, 16])
    """
    ph, pw = patch_size
    batch, channels, height, width = x.shape
    rows, cols = height // ph, width // pw
    x = x[:, :, : rows * ph, : cols * pw].reshape(batch, channels, rows, ph, cols, pw)
    return x.permute(0, 2, 4, 1, 3, 5).reshape(batch, rows * cols, channels * ph * pw)


def random_masking(
    tokens: torch.Tensor, mask_ratio: float, *, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Keep a random subset of each sequence's tokens (MAE's per-sample shuffling).

    Parameters
    ----------
    tokens : torch.Tensor of shape (batch, n_tokens, dim)
        Patch tokens (without a class token).
    mask_ratio : float
        Fraction of tokens masked, in [0, 1); at least one token is kept.
    generator : torch.Generator or None, default=None
        Source of the random order; None uses torch's global generator.

    Returns
    -------
    visible : torch.Tensor of shape (batch, n_keep, dim)
        The kept tokens, ``n_keep = max(1, round(n_tokens * (1 - mask_ratio)))``.
    mask : torch.Tensor of shape (batch, n_tokens)
        1.0 where a token is masked, 0.0 where kept, in the original order.
    ids_restore : torch.Tensor of shape (batch, n_tokens) of int64
        Where each original token lies in ``cat([visible, masked])`` order:
        ``gather`` with it undoes the shuffle.

    Examples
    --------
    >>> import torch
    >>> from sklasd.nn import random_masking
    >>> tokens = torch.arange(8.0).reshape(1, 8, 1)
    >>> visible, mask, ids_restore = random_masking(
    ...     tokens, 0.75, generator=torch.Generator().manual_seed(0))
    >>> visible.shape, int(mask.sum())
    (torch.Size([1, 2, 1]), 6)
    """
    _check_real("mask_ratio", mask_ratio, 0.0, 1.0, low_open=False)
    if mask_ratio == 1.0:
        raise ValueError("mask_ratio must be below 1: at least one token must stay visible.")
    batch, n_tokens, dim = tokens.shape
    n_keep = max(1, round(n_tokens * (1 - mask_ratio)))
    noise = torch.rand(batch, n_tokens, generator=generator, device=tokens.device)
    ids_shuffle = noise.argsort(dim=1)
    ids_restore = ids_shuffle.argsort(dim=1)
    ids_keep = ids_shuffle[:, :n_keep]
    visible = tokens.gather(1, ids_keep.unsqueeze(-1).expand(-1, -1, dim))
    mask = torch.ones(batch, n_tokens, device=tokens.device)
    mask[:, :n_keep] = 0.0
    return visible, mask.gather(1, ids_restore), ids_restore


def _transformer(dim: int, depth: int, n_heads: int, mlp_ratio: float, dropout: float):
    """A pre-norm stack of torch's TransformerEncoderLayer with a final LayerNorm."""
    layer = nn.TransformerEncoderLayer(
        dim,
        n_heads,
        dim_feedforward=round(dim * mlp_ratio),
        dropout=dropout,
        activation="gelu",
        batch_first=True,
        norm_first=True,
    )
    return nn.TransformerEncoder(layer, depth, norm=nn.LayerNorm(dim), enable_nested_tensor=False)


class ViTEncoder(nn.Module):
    """Vision transformer over the patches of a spectrogram.

    A convolution with kernel and stride ``patch_size`` maps each patch to a
    token of ``embed_dim`` values; positional embeddings are added, a learnable
    class token is prepended and ``depth`` pre-norm transformer layers
    (:class:`torch.nn.TransformerEncoderLayer`, GELU) encode the sequence.

    Positional embeddings are learnable, one per patch of the grid of
    ``input_size``, initialised with :func:`sincos_pos_embed`; inputs of another
    size (at least one patch) get them bilinearly interpolated to their grid.
    Bands and frames beyond the last whole patch are left out.

    Parameters
    ----------
    in_channels : int, default=1
        Channels of the input spectrograms.
    input_size : tuple of int, default=(128, 64)
        (n_bands, n_frames) the network is built for.
    patch_size : int or tuple of int, default=16
        (bands, frames) of a patch; an int for square patches.
    embed_dim : int, default=384
        Token dimension, a multiple of 4 and of ``n_heads``.
    depth : int, default=12
        Number of transformer layers.
    n_heads : int, default=6
        Attention heads.
    mlp_ratio : float, default=4.0
        Width of the feed-forward layers relative to ``embed_dim``.
    dropout : float, default=0.0
        Dropout in the transformer layers.
    pooling : {"cls", "mean"}, default="cls"
        What :meth:`embed` returns: the class token's output, or the mean of
        the patch tokens' outputs.
    input_norm : bool, default=True
        Standardise each input channel first with batch statistics (in
        training) and their running averages (in inference), a
        :class:`torch.nn.BatchNorm2d` without learnable scale and shift: log-mel
        values in dB (often -80 to 0) then reach the patch embedding, and the
        reconstruction targets of an MAE, at unit scale.

    Attributes
    ----------
    config : dict
        The constructor's arguments (``ViTEncoder(**encoder.config)`` builds
        an encoder of the same shape).
    grid : tuple of int
        (rows, columns) of patches of ``input_size``.
    patch_dim : int
        Values per flattened patch, ``in_channels * patch_bands * patch_frames``.

    See Also
    --------
    MAEDecoder : Reconstructs masked patches from this encoder's tokens.
    ViTClassifier : This encoder with a classification head.

    Examples
    --------
    The shallow ViT of Zeng et al. (DCASE 2023): 16 x 16 patches, 128
    dimensions, one layer, 8 heads:

    >>> import torch
    >>> from sklasd.nn import ViTEncoder
    >>> vit = ViTEncoder(input_size=(64, 32), patch_size=16, embed_dim=128, depth=1,
    ...                  n_heads=8, mlp_ratio=4)
    >>> x = torch.zeros(2, 1, 64, 32)
    >>> vit(x).shape  # the class token and 4 x 2 patch tokens
    torch.Size([2, 9, 128])
    >>> vit.embed(x).shape, vit.embed(torch.zeros(2, 1, 64, 48)).shape
    (torch.Size([2, 128]), torch.Size([2, 128]))
    """

    def __init__(
        self,
        *,
        in_channels: int = 1,
        input_size: Sequence[int] = (128, 64),
        patch_size: int | Sequence[int] = 16,
        embed_dim: int = 384,
        depth: int = 12,
        n_heads: int = 6,
        mlp_ratio: float = 4.0,
        dropout: float = 0.0,
        pooling: str = "cls",
        input_norm: bool = True,
    ) -> None:
        super().__init__()
        in_channels = _check_int("in_channels", in_channels, 1)
        self.patch_size = _pair("patch_size", patch_size)
        input_size = _pair("input_size", input_size)
        self.grid = (input_size[0] // self.patch_size[0], input_size[1] // self.patch_size[1])
        if min(self.grid) < 1:
            raise ValueError(
                f"input_size={input_size} is smaller than one patch of {self.patch_size}."
            )
        embed_dim = _check_int("embed_dim", embed_dim, 4)
        n_heads = _check_int("n_heads", n_heads, 1)
        if embed_dim % 4 or embed_dim % n_heads:
            raise ValueError(
                f"embed_dim={embed_dim} must be a multiple of 4 and of n_heads={n_heads}."
            )
        if pooling not in ("cls", "mean"):
            raise ValueError(f"pooling must be 'cls' or 'mean', got {pooling!r}.")
        self.pooling = pooling
        self.embed_dim = embed_dim
        self.config = {
            "in_channels": in_channels,
            "input_size": input_size,
            "patch_size": self.patch_size,
            "embed_dim": embed_dim,
            "depth": depth,
            "n_heads": n_heads,
            "mlp_ratio": mlp_ratio,
            "dropout": dropout,
            "pooling": pooling,
            "input_norm": bool(input_norm),
        }
        self.input_norm = (
            nn.BatchNorm2d(in_channels, affine=False) if input_norm else nn.Identity()
        )
        self.patch_dim = in_channels * self.patch_size[0] * self.patch_size[1]
        self.patch_embed = nn.Conv2d(
            in_channels, embed_dim, kernel_size=self.patch_size, stride=self.patch_size
        )
        self.pos_embed = nn.Parameter(sincos_pos_embed(self.grid, embed_dim)[None])
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        nn.init.normal_(self.cls_token, std=0.02)
        self.blocks = _transformer(
            embed_dim,
            _check_int("depth", depth, 1),
            n_heads,
            _check_real("mlp_ratio", mlp_ratio, 0.0, float("inf"), low_open=True),
            _check_real("dropout", dropout, 0.0, 1.0, low_open=False),
        )

    def grid_of(self, x: torch.Tensor) -> tuple[int, int]:
        """(rows, columns) of whole patches of the spectrograms ``x``."""
        grid = (x.shape[-2] // self.patch_size[0], x.shape[-1] // self.patch_size[1])
        if x.dim() != 4 or min(grid) < 1:
            raise ValueError(
                f"ViTEncoder expects spectrograms (batch, channels, bands, frames) of at least "
                f"one patch {self.patch_size}, got shape {tuple(x.shape)}."
            )
        return grid

    def _positions(self, grid: tuple[int, int]) -> torch.Tensor:
        """Positional embeddings (1, n_patches, dim) for ``grid``, interpolated if needed."""
        if grid == self.grid:
            return self.pos_embed
        table = self.pos_embed.reshape(1, *self.grid, -1).permute(0, 3, 1, 2)
        table = F.interpolate(table, size=grid, mode="bilinear", align_corners=False)
        return table.permute(0, 2, 3, 1).reshape(1, grid[0] * grid[1], -1)

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """The input standardisation (``input_norm``) of spectrograms ``x``."""
        self.grid_of(x)
        return self.input_norm(x)

    def patch_tokens(self, x: torch.Tensor, *, normalized: bool = False) -> torch.Tensor:
        """Patch tokens with positional embeddings, (batch, n_patches, embed_dim), rows first.

        ``normalized=True`` when ``x`` already went through :meth:`normalize`.
        """
        grid = self.grid_of(x)
        if not normalized:
            x = self.input_norm(x)
        tokens = self.patch_embed(x).flatten(2).transpose(1, 2)
        return tokens + self._positions(grid)

    def encode(self, tokens: torch.Tensor) -> torch.Tensor:
        """Prepend the class token to ``tokens`` (batch, n, dim) and run the transformer."""
        cls = self.cls_token.expand(tokens.shape[0], -1, -1)
        return self.blocks(torch.cat([cls, tokens], dim=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Encoded tokens, (batch, 1 + n_patches, embed_dim), the class token first."""
        return self.encode(self.patch_tokens(x))

    def pool(self, encoded: torch.Tensor) -> torch.Tensor:
        """The embedding (batch, embed_dim) of encoded tokens, after ``pooling``."""
        return encoded[:, 0] if self.pooling == "cls" else encoded[:, 1:].mean(dim=1)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Embeddings (batch, embed_dim) of spectrograms (batch, channels, bands, frames)."""
        return self.pool(self(x))


class MAEDecoder(nn.Module):
    """Masked-autoencoder decoder: predicts every patch from the visible tokens.

    The encoder's output tokens (class token first, then the visible patches in
    shuffled order) are projected to ``decoder_dim``; a learnable mask token
    fills the masked places, ``ids_restore`` puts the tokens back in patch
    order, fixed sine-cosine positional embeddings of the grid are added, and
    ``depth`` transformer layers and a linear layer give each patch's
    ``patch_dim`` values (compare with :func:`patchify` of the input).

    Parameters
    ----------
    embed_dim : int
        Token dimension of the encoder.
    patch_dim : int
        Values per flattened patch (:attr:`ViTEncoder.patch_dim`).
    decoder_dim : int, default=128
        Token dimension of the decoder, a multiple of 4 and of ``n_heads``.
    depth : int, default=2
        Transformer layers.
    n_heads : int, default=4
        Attention heads.
    mlp_ratio : float, default=4.0
        Width of the feed-forward layers relative to ``decoder_dim``.

    See Also
    --------
    ViTEncoder : The encoder.
    random_masking : Picks the visible tokens and gives ``ids_restore``.

    Examples
    --------
    >>> import torch
    >>> from sklasd.nn import MAEDecoder, ViTEncoder, random_masking
    >>> encoder = ViTEncoder(input_size=(16, 16), patch_size=4, embed_dim=16, depth=1,
    ...                      n_heads=2)
    >>> decoder = MAEDecoder(16, encoder.patch_dim, decoder_dim=8, depth=1, n_heads=2)
    >>> x = torch.zeros(2, 1, 16, 16)
    >>> visible, mask, ids_restore = random_masking(encoder.patch_tokens(x), 0.75)
    >>> decoder(encoder.encode(visible), ids_restore, encoder.grid_of(x)).shape
    torch.Size([2, 16, 16])
    """

    def __init__(
        self,
        embed_dim: int,
        patch_dim: int,
        *,
        decoder_dim: int = 128,
        depth: int = 2,
        n_heads: int = 4,
        mlp_ratio: float = 4.0,
    ) -> None:
        super().__init__()
        decoder_dim = _check_int("decoder_dim", decoder_dim, 4)
        n_heads = _check_int("n_heads", n_heads, 1)
        if decoder_dim % 4 or decoder_dim % n_heads:
            raise ValueError(
                f"decoder_dim={decoder_dim} must be a multiple of 4 and of n_heads={n_heads}."
            )
        self.decoder_dim = decoder_dim
        self.project = nn.Linear(_check_int("embed_dim", embed_dim, 1), decoder_dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, decoder_dim))
        nn.init.normal_(self.mask_token, std=0.02)
        self.blocks = _transformer(
            decoder_dim,
            _check_int("depth", depth, 1),
            n_heads,
            _check_real("mlp_ratio", mlp_ratio, 0.0, float("inf"), low_open=True),
            0.0,
        )
        self.head = nn.Linear(decoder_dim, _check_int("patch_dim", patch_dim, 1))

    def forward(
        self, encoded: torch.Tensor, ids_restore: torch.Tensor, grid: tuple[int, int]
    ) -> torch.Tensor:
        """Predicted patches (batch, n_patches, patch_dim), in patch order.

        Parameters
        ----------
        encoded : torch.Tensor of shape (batch, 1 + n_visible, embed_dim)
            Encoder output: the class token, then the visible tokens as
            :func:`random_masking` ordered them.
        ids_restore : torch.Tensor of shape (batch, n_patches)
            From :func:`random_masking`.
        grid : tuple of int
            (rows, columns) of patches, ``rows * columns == n_patches``.
        """
        x = self.project(encoded)
        batch, n_patches = ids_restore.shape
        masks = self.mask_token.expand(batch, n_patches + 1 - x.shape[1], -1)
        patches = torch.cat([x[:, 1:], masks], dim=1)
        patches = patches.gather(1, ids_restore.unsqueeze(-1).expand(-1, -1, x.shape[2]))
        positions = sincos_pos_embed(grid, self.decoder_dim).to(patches)
        x = torch.cat([x[:, :1], patches + positions], dim=1)
        return self.head(self.blocks(x))[:, 1:]


class ViTClassifier(nn.Module):
    """A :class:`ViTEncoder` with a projection head and a linear classification head.

    The fine-tuning network of RC-MAE and a classifier with the keyword
    interface of the :mod:`sklasd.nn` networks (``n_classes``, ``in_channels``,
    ``input_size``), for :class:`~sklasd.training.ClassifierNet`. ``forward``
    returns ``(logits, projection)``: class logits from the pooled embedding,
    and the L2-normalised projection of the embedding for a (supervised)
    contrastive loss; :meth:`embed` gives the pooled embedding.

    Parameters
    ----------
    n_classes : int, default=2
        Number of classes.
    in_channels, input_size, patch_size, embed_dim, depth, n_heads, mlp_ratio, \
dropout, pooling, input_norm
        Those of :class:`ViTEncoder`.
    projection_dim : int, default=512
        Dimension of the projection for the contrastive loss.

    See Also
    --------
    RCMAENet : Pre-trains the encoder (load its weights with
        ``classifier.encoder.load_state_dict(rcmae.encoder.state_dict())``).

    Examples
    --------
    >>> import torch
    >>> from sklasd.nn import ViTClassifier
    >>> net = ViTClassifier(n_classes=3, input_size=(16, 16), patch_size=8, embed_dim=16,
    ...                     depth=1, n_heads=2, projection_dim=8)
    >>> logits, projection = net(torch.zeros(4, 1, 16, 16))
    >>> logits.shape, projection.shape, net.embed(torch.zeros(4, 1, 16, 16)).shape
    (torch.Size([4, 3]), torch.Size([4, 8]), torch.Size([4, 16]))
    """

    def __init__(
        self,
        *,
        n_classes: int = 2,
        in_channels: int = 1,
        input_size: Sequence[int] = (128, 64),
        patch_size: int | Sequence[int] = 16,
        embed_dim: int = 384,
        depth: int = 12,
        n_heads: int = 6,
        mlp_ratio: float = 4.0,
        dropout: float = 0.0,
        pooling: str = "cls",
        input_norm: bool = True,
        projection_dim: int = 512,
    ) -> None:
        super().__init__()
        self.encoder = ViTEncoder(
            in_channels=in_channels,
            input_size=input_size,
            patch_size=patch_size,
            embed_dim=embed_dim,
            depth=depth,
            n_heads=n_heads,
            mlp_ratio=mlp_ratio,
            dropout=dropout,
            pooling=pooling,
            input_norm=input_norm,
        )
        self.projector = _projector(embed_dim, projection_dim)
        self.head = nn.Linear(embed_dim, _check_int("n_classes", n_classes, 1))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled embeddings (batch, embed_dim)."""
        return self.encoder.embed(x)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits (batch, n_classes), normalised projection (batch, projection_dim))."""
        embedding = self.embed(x)
        return self.head(embedding), F.normalize(self.projector(embedding), dim=1)


def _projector(embed_dim: int, projection_dim: int) -> nn.Sequential:
    """The MLP head that maps embeddings to the space of the contrastive loss."""
    projection_dim = _check_int("projection_dim", projection_dim, 1)
    return nn.Sequential(
        nn.Linear(embed_dim, embed_dim), nn.GELU(), nn.Linear(embed_dim, projection_dim)
    )


class RCMAENet(nn.Module):
    """The pre-training network of RC-MAE: masked autoencoder plus contrastive projection.

    The model of Zahedi et al. (Algorithms 16(9), 2023) for self-supervised
    pre-training: a :class:`ViTEncoder` over the visible patches of a clip's
    spectrogram (``mask_ratio`` of them masked at random), a :class:`MAEDecoder`
    that reconstructs the patches, and a projector that maps the pooled
    encodings of the visible patches of the clip and of an augmented view of
    it (masked independently, with the same ratio) to ``projection_dim``
    dimensions for a contrastive loss and a variance-covariance regulariser
    (:class:`~sklasd.nn.RCMAELoss`): as in the paper (section 2.5.1), both
    branches see masked input.

    ``forward((x, view))`` returns ``(predicted, target, mask, z, z_view)``:
    the decoder's patches, the patches (:func:`patchify`) of the input after the
    encoder's ``input_norm``, the mask
    (1 = masked), and the projections (not normalised) of the masked ``x`` and
    ``view``. ``forward(x)`` with a single tensor takes ``x`` as its own view
    (masked anew).
    Masking draws from torch's global generator (seed it, e.g. with
    :func:`sklasd.utils.private_torch_rng`).

    Parameters
    ----------
    in_channels, input_size, patch_size, embed_dim, depth, n_heads, mlp_ratio, \
dropout, pooling, input_norm
        Those of :class:`ViTEncoder`; the defaults are the paper's size
        (depth 12, 6 heads; the width of ViT-Small, 384, is our assumption).
    mask_ratio : float, default=0.75
        Fraction of patches masked in training (the paper: 50-75%).
    decoder_dim, decoder_depth, decoder_heads : int, default=128, 2, 4
        Size of the :class:`MAEDecoder`.
    projection_dim : int, default=512
        Dimension of the contrastive projection (the paper's 512).

    See Also
    --------
    sklasd.nn.RCMAELoss : The pre-training loss on this network's output.
    sklasd.embedders.RCMAEPretrainer : Pre-trains it on clips.

    Examples
    --------
    >>> import torch
    >>> from sklasd.nn import RCMAENet
    >>> net = RCMAENet(input_size=(16, 16), patch_size=4, embed_dim=16, depth=1, n_heads=2,
    ...                decoder_dim=8, decoder_depth=1, decoder_heads=2, projection_dim=8)
    >>> x = torch.randn(3, 1, 16, 16)
    >>> predicted, target, mask, z, z_view = net((x, x + 0.1))
    >>> predicted.shape, target.shape, int(mask[0].sum()), z.shape
    (torch.Size([3, 16, 16]), torch.Size([3, 16, 16]), 12, torch.Size([3, 8]))
    """

    def __init__(
        self,
        *,
        in_channels: int = 1,
        input_size: Sequence[int] = (128, 64),
        patch_size: int | Sequence[int] = 16,
        embed_dim: int = 384,
        depth: int = 12,
        n_heads: int = 6,
        mlp_ratio: float = 4.0,
        dropout: float = 0.0,
        pooling: str = "cls",
        input_norm: bool = True,
        mask_ratio: float = 0.75,
        decoder_dim: int = 128,
        decoder_depth: int = 2,
        decoder_heads: int = 4,
        projection_dim: int = 512,
    ) -> None:
        super().__init__()
        self.encoder = ViTEncoder(
            in_channels=in_channels,
            input_size=input_size,
            patch_size=patch_size,
            embed_dim=embed_dim,
            depth=depth,
            n_heads=n_heads,
            mlp_ratio=mlp_ratio,
            dropout=dropout,
            pooling=pooling,
            input_norm=input_norm,
        )
        self.mask_ratio = _check_real("mask_ratio", mask_ratio, 0.0, 1.0, low_open=False)
        if self.mask_ratio == 1.0:
            raise ValueError("mask_ratio must be below 1: at least one patch must stay visible.")
        self.decoder = MAEDecoder(
            embed_dim,
            self.encoder.patch_dim,
            decoder_dim=decoder_dim,
            depth=decoder_depth,
            n_heads=decoder_heads,
            mlp_ratio=mlp_ratio,
        )
        self.projector = _projector(embed_dim, projection_dim)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled embeddings (batch, embed_dim) of whole spectrograms."""
        return self.encoder.embed(x)

    def forward(self, x):
        """``(predicted, target, mask, z, z_view)`` for ``x`` or a pair ``(x, view)``."""
        x, view = x if isinstance(x, tuple | list) else (x, x)
        grid = self.encoder.grid_of(x)
        normalized = self.encoder.normalize(x)
        tokens = self.encoder.patch_tokens(normalized, normalized=True)
        visible, mask, ids_restore = random_masking(tokens, self.mask_ratio)
        encoded = self.encoder.encode(visible)
        predicted = self.decoder(encoded, ids_restore, grid)
        target = patchify(normalized.detach(), self.encoder.patch_size)
        view_visible, _, _ = random_masking(self.encoder.patch_tokens(view), self.mask_ratio)
        z = self.projector(self.encoder.pool(encoded))
        z_view = self.projector(self.encoder.pool(self.encoder.encode(view_visible)))
        return predicted, target, mask, z, z_view
