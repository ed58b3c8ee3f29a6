"""STgram: log-mel and Tgram channels of waveform crops feeding a backbone, trained end to end."""

from __future__ import annotations

from collections.abc import Sequence

import librosa
import torch
from torch import nn

from sklasd.nn._layers import _check_int
from sklasd.nn._mobilefacenet import MobileFaceNet
from sklasd.nn._tgram import TgramNet
from sklasd.signal import log_mel_spectrogram

__all__ = ["STgramNet"]


def _check_block_input(in_channels, input_size, name: str) -> tuple[int, int]:
    """``(hop_length, n_blocks)`` of the waveform-block input of a network, checked."""
    if _check_int("in_channels", in_channels, 1) != 1:
        raise ValueError(
            f"{name} takes mono waveform blocks (in_channels=1), got in_channels={in_channels}."
        )
    if (
        isinstance(input_size, str | bytes)
        or not isinstance(input_size, Sequence)
        or (len(input_size) != 2)
    ):
        raise ValueError(f"input_size must be a pair (hop_length, n_blocks), got {input_size!r}.")
    return (
        _check_int("input_size[0] (hop_length)", input_size[0], 1),
        _check_int("input_size[1] (n_blocks)", input_size[1], 1),
    )


def _block_waveforms(x: torch.Tensor, hop_length: int, name: str) -> torch.Tensor:
    """The waveforms (batch, k * hop_length) of blocks (batch, 1, hop_length, k), checked."""
    if x.dim() != 4 or x.shape[1] != 1 or x.shape[2] != hop_length:
        raise ValueError(
            f"{name} expects waveform blocks of shape (batch, 1, {hop_length}, n_blocks) "
            f"(WaveformFrames(hop_length={hop_length})), got {tuple(x.shape)}."
        )
    return x[:, 0].mT.reshape(x.shape[0], -1)


class STgramNet(nn.Module):
    """STgram-MFN end to end: [log-mel, Tgram] of waveform crops as channels into a backbone.

    The network of "Anomalous sound detection using spectral-temporal
    information fusion" (Liu, Guan, Zhu and Wang, ICASSP 2022): from each
    waveform crop, a fixed log-mel spectrogram (:func:`~sklasd.signal.log_mel_spectrogram`,
    LogMel's computation in float32) and the learned :class:`TgramNet` are
    stacked as two channels of shape (n_mels, T) and fed to a classifier
    backbone; the loss on the backbone's output trains TgramNet and the
    backbone together::

        input (B, 1, hop_length, k): k blocks of hop_length samples
        -> waveform (B, k * hop_length)
        -> [log-mel, TgramNet]  (B, 2, n_mels, k + 1)   (log_mel=False: TgramNet only)
        -> backbone(n_classes, in_channels=2, input_size=(n_mels, k + 1))

    **Input.** Waveforms arrive cut into blocks of ``hop_length`` samples,
    shape (batch, 1, hop_length, k), the output of
    :class:`sklasd.features.WaveformFrames`, so that the crops that
    :class:`sklasd.embedders.NetEmbedder` cuts along the last axis start on frame
    boundaries: frame ``t`` of a crop starting at block ``s`` is frame ``s + t``
    of the whole clip (LogMel's and Tgram's frames), except that the crop's
    edges see zero padding instead of their neighbours (and the log-mel floor
    ``top_db`` is taken from the crop's maximum). ``input_size`` is the
    (hop_length, k) of the training crops, as NetEmbedder sets it; a crop of
    ``k`` blocks gives ``k + 1`` frames, which is the input size the backbone
    is built for.

    Parameters
    ----------
    n_classes : int
        Number of classes, >= 2.
    in_channels : int, default=1
        Channels of the input; must be 1 (mono waveforms).
    input_size : tuple of (int, int), default=(512, 64)
        (hop_length, k): samples per block, which is the hop of both feature
        channels, and blocks per training crop.
    sr : int, default=16000
        Sampling rate of the waveforms in Hz (for the mel filterbank).
    n_fft : int, default=1024
        FFT length of the log-mel channel and window of TgramNet's strided
        convolution.
    n_mels : int, default=128
        Mel bands, and TgramNet's channels: the F of both channels.
    fmin : float, default=0.0
        Lowest frequency of the mel filterbank in Hz.
    fmax : float or None, default=None
        Highest frequency of the mel filterbank in Hz; None means ``sr / 2``.
    top_db : float or None, default=80.0
        Floor of the log-mel channel in dB below each crop's maximum.
    tgram_blocks : int, default=3
        ``n_blocks`` of the :class:`TgramNet`.
    log_mel : bool, default=True
        Whether the log-mel channel is stacked with the Tgram (STgram, 2
        channels); False feeds the Tgram alone (1 channel), which is how
        :class:`sklasd.embedders.Tgram` trains its TgramNet.
    backbone : type of torch.nn.Module, default=MobileFaceNet
        Classifier class with the interface of :mod:`sklasd.nn`'s networks:
        keyword arguments ``n_classes``, ``in_channels``, ``input_size`` and
        methods ``forward`` and ``embed``.
    **backbone_params
        Further keyword arguments of the backbone (``width_mult``,
        ``embedding_dim``, ``head``...), e.g. ``module__width_mult=0.5`` in a
        skorch net.

    Attributes
    ----------
    tgram : TgramNet
        The learned temporal front end.
    backbone : torch.nn.Module
        The classifier on the stacked channels.
    mel_basis : torch.Tensor of shape (n_mels, 1 + n_fft // 2)
        The fixed mel filterbank (a buffer, saved with the state dict).

    See Also
    --------
    TgramNet : The temporal branch.
    MobileFaceNet : STgram-MFN's classifier.
    sklasd.embedders.Tgram : A TgramNet trained on its own, as a transformer.

    Examples
    --------
    >>> import torch
    >>> from sklasd.nn import TDNN, STgramNet
    >>> _ = torch.manual_seed(0)
    >>> net = STgramNet(n_classes=3, input_size=(512, 16), n_mels=16, backbone=TDNN,
    ...                 width_mult=0.125, embedding_dim=8)
    >>> blocks = torch.randn(4, 1, 512, 16)  # 4 crops of 16 * 512 samples
    >>> tuple(net.features(blocks).shape)  # log-mel and Tgram, 17 frames
    (4, 2, 16, 17)
    >>> tuple(net(blocks).shape), tuple(net.embed(blocks).shape)
    ((4, 3), (4, 8))
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
        tgram_blocks: int = 3,
        log_mel: bool = True,
        backbone: type[nn.Module] = MobileFaceNet,
        **backbone_params,
    ) -> None:
        super().__init__()
        self.hop_length, n_blocks = _check_block_input(in_channels, input_size, "STgramNet")
        self.n_fft = _check_int("n_fft", n_fft, 2)
        self.top_db = top_db
        self.log_mel = bool(log_mel)
        mel = librosa.filters.mel(sr=sr, n_fft=self.n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
        self.register_buffer("mel_basis", torch.from_numpy(mel))
        self.tgram = TgramNet(
            n_mels=n_mels, win_length=self.n_fft, hop_length=self.hop_length, n_blocks=tgram_blocks
        )
        self.backbone = backbone(
            n_classes=n_classes,
            in_channels=2 if self.log_mel else 1,
            input_size=(n_mels, n_blocks + 1),
            **backbone_params,
        )

    def waveforms(self, x: torch.Tensor) -> torch.Tensor:
        """The waveforms (batch, k * hop_length) of blocks (batch, 1, hop_length, k)."""
        return _block_waveforms(x, self.hop_length, type(self).__name__)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The stacked channels (batch, 2 or 1, n_mels, k + 1) that enter the backbone.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, 1, hop_length, k)
            Waveform blocks.

        Returns
        -------
        torch.Tensor of shape (batch, 2, n_mels, k + 1), or (batch, 1, n_mels, k + 1)
        with ``log_mel=False``
            [log-mel, Tgram] (or the Tgram alone).
        """
        waves = self.waveforms(x)
        tgram = self.tgram(waves)
        if not self.log_mel:
            return tgram
        with torch.no_grad():
            spec = log_mel_spectrogram(
                waves.float(),
                self.mel_basis,
                n_fft=self.n_fft,
                hop_length=self.hop_length,
                top_db=self.top_db,
            )
        return torch.cat([spec.unsqueeze(1).to(tgram.dtype), tgram], dim=1)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The backbone's embeddings (batch, embedding_dim) of waveform blocks."""
        return self.backbone.embed(self.features(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The backbone's class outputs (batch, n_classes) of waveform blocks."""
        return self.backbone(self.features(x))
