"""Dual-branch network: a log-mel CNN and a 1-D CNN on the magnitude spectrum of waveform crops."""

from __future__ import annotations

import math
from collections.abc import Sequence

import librosa
import torch
from torch import nn

from sklasd.nn._layers import CosineHead, _check_int, _check_real
from sklasd.nn._mobilenetv3 import MobileNetV3IDNet
from sklasd.nn._stgram import _block_waveforms, _check_block_input
from sklasd.signal import log_mel_spectrogram

__all__ = ["DualBranchNet", "SpectrumBranch"]

# (kernel, stride) of the three convolutions of the spectrum branch (Wilkinghoff's).
_SPECTRUM_CONVS = ((256, 64), (64, 32), (16, 4))
_SPECTRUM_DENSE = 4


class SpectrumBranch(nn.Module):
    """A 1-D CNN on the magnitude spectrum ``|FFT|`` of whole waveforms (crops).

    The second branch of Wilkinghoff's dual-branch embedding networks (DCASE 2022
    to 2024 challenge systems; "Self-supervised learning for anomalous sound
    detection", ICASSP 2024): the magnitude of the FFT of the entire waveform,
    with a frequency resolution of ``sr / n_samples`` (0.1 Hz for a 10 s clip)
    that no spectrogram frame has, read by three strided 1-D convolutions
    (kernels 256, 64, 16; strides 64, 32, 4; ReLU, no bias), four dense layers
    with batch normalisation and ReLU, and a linear embedding::

        waveform (B, n) -> |rfft| (B, 1, n_bins) -> 3 x [conv1d, ReLU]
        -> flatten -> 4 x [linear, batch norm, ReLU] -> linear (B, embedding_dim)

    The layers carry no bias, so up to the first batch normalisation the branch
    is positively homogeneous and the loudness of the clip drops out.

    Parameters
    ----------
    n_samples : int
        Length of the waveforms, >= 2.
    sr : int, default=16000
        Sampling rate in Hz.
    fmax : float or None, default=None
        Highest frequency kept, in Hz; None keeps all bins up to ``sr / 2``.
    width : int, default=128
        Channels of the convolutions and units of the dense layers (Wilkinghoff:
        128).
    embedding_dim : int, default=128
        Dimension of the branch's embedding (Wilkinghoff: 256).

    Attributes
    ----------
    n_bins : int
        Spectrum bins fed to the convolutions.
    embedding_dim : int
        As given.

    See Also
    --------
    DualBranchNet : This branch beside a log-mel CNN.

    Examples
    --------
    >>> import torch
    >>> from sklasd.nn import SpectrumBranch
    >>> _ = torch.manual_seed(0)
    >>> branch = SpectrumBranch(16000, width=16, embedding_dim=8).eval()
    >>> branch.n_bins
    8001
    >>> tuple(branch(torch.randn(3, 16000)).shape)
    (3, 8)
    """

    def __init__(
        self,
        n_samples: int,
        *,
        sr: int = 16000,
        fmax: float | None = None,
        width: int = 128,
        embedding_dim: int = 128,
    ) -> None:
        super().__init__()
        self.n_samples = _check_int("n_samples", n_samples, 2)
        sr = _check_int("sr", sr, 1)
        fmax = sr / 2 if fmax is None else _check_real("fmax", fmax, 0.0, sr / 2, low_open=True)
        self.n_bins = min(n_samples // 2, math.floor(fmax * n_samples / sr)) + 1
        width = _check_int("width", width, 1)
        self.embedding_dim = _check_int("embedding_dim", embedding_dim, 1)
        convs: list[nn.Module] = []
        channels = 1
        for kernel, stride in _SPECTRUM_CONVS:
            convs += [
                nn.Conv1d(channels, width, kernel, stride=stride, padding=kernel // 2, bias=False),
                nn.ReLU(),
            ]
            channels = width
        self.convs = nn.Sequential(*convs, nn.Flatten())
        with torch.no_grad():
            n_flat = self.convs(torch.zeros(1, 1, self.n_bins)).shape[1]
        dense: list[nn.Module] = []
        for index in range(_SPECTRUM_DENSE):
            dense += [
                nn.Linear(n_flat if index == 0 else width, width, bias=False),
                nn.BatchNorm1d(width),
                nn.ReLU(),
            ]
        self.dense = nn.Sequential(*dense, nn.Linear(width, self.embedding_dim, bias=False))

    def spectrum(self, waves: torch.Tensor) -> torch.Tensor:
        """The magnitude spectra (batch, 1, n_bins) of waveforms (batch, n_samples)."""
        if waves.dim() != 2 or waves.shape[1] != self.n_samples:
            raise ValueError(
                f"SpectrumBranch expects waveforms of shape (batch, {self.n_samples}), got "
                f"{tuple(waves.shape)}."
            )
        magnitude = torch.fft.rfft(waves.float(), dim=1).abs()
        return magnitude[:, None, : self.n_bins].to(waves.dtype)

    def forward(self, waves: torch.Tensor) -> torch.Tensor:
        """Embeddings (batch, embedding_dim) of waveforms (batch, n_samples)."""
        return self.dense(self.convs(self.spectrum(waves)))


class DualBranchNet(nn.Module):
    """Log-mel CNN and magnitude-spectrum CNN on waveform crops, embeddings concatenated.

    The front end of the best DCASE 2022 to 2024 anomalous sound detection
    systems (Wilkinghoff's): from each waveform crop,
    branch 1 computes a log-mel spectrogram (:func:`~sklasd.signal.log_mel_spectrogram`, the
    computation of :class:`sklasd.features.LogMel`) and embeds it with a 2-D
    CNN (``backbone``, any network of :mod:`sklasd.nn`); branch 2 embeds the
    magnitude of the FFT of the whole crop with a 1-D CNN
    (:class:`SpectrumBranch`). The embedding is the concatenation of the two,
    and a linear or cosine head classifies it::

        input (B, 1, hop_length, k): k blocks of hop_length samples
        -> waveform (B, k * hop_length)
        -> [backbone.embed(log-mel (B, 1, n_mels, k + 1)), SpectrumBranch(waveform)]
        -> concatenated embedding (B, backbone dim + spectrum_dim) -> head

    **Input.** As :class:`STgramNet`: the waveform blocks of
    :class:`sklasd.features.WaveformFrames`, so that :class:`sklasd.embedders.NetEmbedder`
    crops waveforms; ``input_size`` is (hop_length, k) of its crops. The
    spectrum is that of the crop: to give it the whole clip, as Wilkinghoff,
    train on crops as long as the clips (``NetEmbedder(n_frames=<blocks per
    clip>)``).

    **Branches apart.** :meth:`branch_embeddings` returns the two embeddings
    separately, for the feature exchange of
    :class:`~sklasd.training.ClassifierNet` (``featex_prob``).

    Parameters
    ----------
    n_classes : int
        Number of classes, >= 2.
    in_channels : int, default=1
        Channels of the input; must be 1 (mono waveform blocks).
    input_size : tuple of (int, int), default=(512, 64)
        (hop_length, k): samples per block, which is the hop of the log-mel
        frames, and blocks per crop.
    sr : int, default=16000
        Sampling rate of the waveforms in Hz.
    n_fft : int, default=1024
        FFT length of the log-mel frames.
    n_mels : int, default=128
        Mel bands.
    fmin, fmax : float, default=0.0 and None
        Frequency range of the mel filterbank in Hz (None: ``sr / 2``); ``fmax``
        also bounds the spectrum branch.
    top_db : float or None, default=80.0
        Floor of the log-mel values in dB below each crop's maximum.
    spectrum_width : int, default=64
        ``width`` of the :class:`SpectrumBranch` (Wilkinghoff: 128).
    spectrum_dim : int, default=128
        Embedding dimension of the spectrum branch.
    head : {"linear", "cosine"}, default="linear"
        The classifier on the concatenated embedding: a linear layer (logits,
        for :class:`CrossEntropyLoss`) or a :class:`CosineHead` (for
        :class:`ArcFaceLoss`). Losses that take embeddings
        (:class:`SubclusterAdaCosLoss`, :class:`AdaProjLoss`) do not use it.
    backbone : type of torch.nn.Module, default=MobileNetV3IDNet
        The 2-D CNN of the log-mel branch, with the interface of the networks of
        :mod:`sklasd.nn` (keyword arguments ``n_classes``, ``in_channels``,
        ``input_size``; an ``embed`` method and an ``embedding_dim`` attribute).
        Only its ``embed`` is used.
    **backbone_params
        Further keyword arguments of the backbone (``width_mult``,
        ``depth_mult``, ``embedding_dim``...).

    Attributes
    ----------
    backbone : torch.nn.Module
        The log-mel branch.
    spectrum : SpectrumBranch
        The spectrum branch.
    classifier : torch.nn.Module
        The head.
    embedding_dim : int
        Dimension of the concatenated embedding.
    mel_basis : torch.Tensor of shape (n_mels, 1 + n_fft // 2)
        The fixed mel filterbank (a buffer).

    See Also
    --------
    STgramNet : Log-mel and a learned Tgram stacked as channels of one CNN.
    sklasd.features.WaveformFrames : The input.
    SubclusterAdaCosLoss, AdaProjLoss : The losses of Wilkinghoff's systems.

    Examples
    --------
    >>> import torch
    >>> from sklasd.nn import TDNN, DualBranchNet
    >>> _ = torch.manual_seed(0)
    >>> net = DualBranchNet(n_classes=3, input_size=(256, 16), n_mels=16, n_fft=512,
    ...                     spectrum_width=8, spectrum_dim=8, backbone=TDNN,
    ...                     width_mult=0.125, embedding_dim=8).eval()
    >>> blocks = torch.randn(4, 1, 256, 16)  # 4 crops of 16 * 256 samples
    >>> mel, spectrum = net.branch_embeddings(blocks)
    >>> tuple(mel.shape), tuple(spectrum.shape)
    ((4, 8), (4, 8))
    >>> tuple(net.embed(blocks).shape), tuple(net(blocks).shape)
    ((4, 16), (4, 3))
    """

    def __init__(
        self,
        *,
        n_classes: int,
        in_channels: int = 1,
        input_size: Sequence[int] = (512, 64),
        sr: int = 16000,
        n_fft: int = 1024,
        n_mels: int = 128,
        fmin: float = 0.0,
        fmax: float | None = None,
        top_db: float | None = 80.0,
        spectrum_width: int = 64,
        spectrum_dim: int = 128,
        head: str = "linear",
        backbone: type[nn.Module] = MobileNetV3IDNet,
        **backbone_params,
    ) -> None:
        super().__init__()
        self.hop_length, n_blocks = _check_block_input(in_channels, input_size, "DualBranchNet")
        self.n_classes = _check_int("n_classes", n_classes, 2)
        self.n_fft = _check_int("n_fft", n_fft, 2)
        self.top_db = top_db
        if head not in ("linear", "cosine"):
            raise ValueError(f"head must be 'linear' or 'cosine', got {head!r}.")
        mel = librosa.filters.mel(sr=sr, n_fft=self.n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
        self.register_buffer("mel_basis", torch.from_numpy(mel))
        self.backbone = backbone(
            n_classes=n_classes,
            in_channels=1,
            input_size=(n_mels, n_blocks + 1),
            **backbone_params,
        )
        self.spectrum = SpectrumBranch(
            n_blocks * self.hop_length,
            sr=sr,
            fmax=fmax,
            width=spectrum_width,
            embedding_dim=spectrum_dim,
        )
        self.embedding_dim = self.backbone.embedding_dim + self.spectrum.embedding_dim
        self.classifier = (
            nn.Linear(self.embedding_dim, n_classes)
            if head == "linear"
            else CosineHead(self.embedding_dim, n_classes)
        )

    def log_mel(self, waves: torch.Tensor) -> torch.Tensor:
        """Log-mel spectrograms (batch, 1, n_mels, k + 1) of waveforms (batch, k * hop_length)."""
        with torch.no_grad():
            spec = log_mel_spectrogram(
                waves.float(),
                self.mel_basis,
                n_fft=self.n_fft,
                hop_length=self.hop_length,
                top_db=self.top_db,
            )
        return spec.unsqueeze(1).to(waves.dtype)

    def branch_embeddings(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The two branches' embeddings of waveform blocks.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, 1, hop_length, k)
            Waveform blocks.

        Returns
        -------
        mel : torch.Tensor of shape (batch, backbone.embedding_dim)
            The log-mel branch's embeddings.
        spectrum : torch.Tensor of shape (batch, spectrum_dim)
            The spectrum branch's embeddings.
        """
        waves = _block_waveforms(x, self.hop_length, type(self).__name__)
        return self.backbone.embed(self.log_mel(waves)), self.spectrum(waves)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The concatenated embeddings (batch, embedding_dim) of waveform blocks."""
        return torch.cat(self.branch_embeddings(x), dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class outputs (batch, n_classes) of waveform blocks: logits, or cosines."""
        return self.classifier(self.embed(x))
