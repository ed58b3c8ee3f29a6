"""TgramNet: the learned temporal front end of STgram-MFN (Liu et al., ICASSP 2022)."""

from __future__ import annotations

import torch
from torch import nn

from sklasd.nn._layers import _check_int

__all__ = ["TgramNet"]


class TgramNet(nn.Module):
    """Learned time-frequency features ("Tgram") from raw waveforms, frame-aligned with LogMel.

    The temporal branch of STgram-MFN ("Anomalous sound detection using
    spectral-temporal information fusion", Liu, Guan, Zhu and Wang, ICASSP
    2022)::

        Conv1d(1 -> n_mels, kernel win_length, stride hop_length,
               zero padding win_length // 2, no bias)          -> (B, n_mels, T)
        n_blocks x [GroupNorm(n_mels groups), LeakyReLU(0.2),
                    Conv1d(n_mels -> n_mels, kernel 3, padding 1, no bias)]
        add a channel dimension                                 -> (B, 1, n_mels, T)

    The strided convolution acts as a learnable filter bank: each output
    channel is one filter applied to windows of ``win_length`` samples every
    ``hop_length`` samples. Its padding is that of a centred STFT, so frame
    ``t`` covers the same samples as frame ``t`` of
    :class:`~sklasd.features.LogMel` with ``n_fft=win_length`` and the same
    hop, and a clip of ``n`` samples gives ``T = 1 + (n + 2 * (win_length // 2)
    - win_length) // hop_length`` frames (``1 + n // hop_length`` for an even
    window), exactly as many as LogMel: the two stack as channels.

    **Difference from STgram-MFN.** The reference code normalises with
    ``LayerNorm(313)`` over the time axis, which fixes the clip length (10 s at
    16 kHz) and learns one scale and shift per frame position. Here each block
    normalises with ``GroupNorm(n_mels, n_mels)``: every channel of every clip
    is standardised over time (the same statistics as STgram's LayerNorm),
    with one learned scale and shift per channel instead of per frame, so any
    clip length works and the module is translation-equivariant in time.

    Parameters
    ----------
    n_mels : int, default=128
        Output channels of the filter bank, the "F" of the F x T output; set it
        to LogMel's ``n_mels`` to stack the two.
    win_length : int, default=1024
        Kernel size of the strided convolution in samples (LogMel's ``n_fft``).
    hop_length : int, default=512
        Stride of the convolution in samples (LogMel's ``hop_length``).
    n_blocks : int, default=3
        Number of normalisation + LeakyReLU + convolution blocks, >= 0.

    Attributes
    ----------
    extractor : torch.nn.Conv1d
        The strided filter-bank convolution.
    blocks : torch.nn.Sequential
        The ``n_blocks`` blocks after it.

    See Also
    --------
    sklasd.features.LogMel : The log-mel spectrogram it is aligned with.
    MobileFaceNet : STgram-MFN's classifier, fed with [LogMel, Tgram] as 2 channels.

    Notes
    -----
    Weights are initialised from torch's global random generator. The output
    is not a spectrogram in dB: its scale is learned, which is why STgram-MFN
    trains it jointly with the classifier.

    Examples
    --------
    >>> import torch
    >>> from sklasd.nn import TgramNet
    >>> _ = torch.manual_seed(0)
    >>> tgram = TgramNet(n_mels=16, n_blocks=1)
    >>> wave = torch.randn(2, 16000)  # two 1 s clips at 16 kHz
    >>> tuple(tgram(wave).shape)  # 1 + 16000 // 512 frames, as LogMel gives
    (2, 1, 16, 32)
    >>> tgram.n_frames(16000)
    32
    """

    def __init__(
        self,
        *,
        n_mels: int = 128,
        win_length: int = 1024,
        hop_length: int = 512,
        n_blocks: int = 3,
    ) -> None:
        super().__init__()
        self.n_mels = _check_int("n_mels", n_mels, 1)
        self.win_length = _check_int("win_length", win_length, 1)
        self.hop_length = _check_int("hop_length", hop_length, 1)
        self.n_blocks = _check_int("n_blocks", n_blocks, 0)
        self.extractor = nn.Conv1d(
            1,
            self.n_mels,
            self.win_length,
            stride=self.hop_length,
            padding=self.win_length // 2,
            bias=False,
        )
        self.blocks = nn.Sequential(
            *(
                nn.Sequential(
                    nn.GroupNorm(self.n_mels, self.n_mels),
                    nn.LeakyReLU(0.2),
                    nn.Conv1d(self.n_mels, self.n_mels, 3, padding=1, bias=False),
                )
                for _ in range(self.n_blocks)
            )
        )

    def extra_repr(self) -> str:
        return (
            f"n_mels={self.n_mels}, win_length={self.win_length}, "
            f"hop_length={self.hop_length}, n_blocks={self.n_blocks}"
        )

    def n_frames(self, n_samples: int) -> int:
        """Number of frames of the output for clips of ``n_samples`` samples.

        Parameters
        ----------
        n_samples : int
            Clip length in samples, >= 1.

        Returns
        -------
        int
            ``1 + (n_samples + 2 * (win_length // 2) - win_length) // hop_length``,
            the frame count of a centred STFT with ``n_fft=win_length``.
        """
        n_samples = _check_int("n_samples", n_samples, 1)
        return 1 + (n_samples + 2 * (self.win_length // 2) - self.win_length) // self.hop_length

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Tgram features of shape (batch, 1, n_mels, n_frames).

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_samples) or (batch, 1, n_samples)
            Waveforms (float, the dtype of the weights).

        Returns
        -------
        torch.Tensor of shape (batch, 1, n_mels, n_frames)
            ``n_frames`` is :meth:`n_frames` of ``n_samples``.
        """
        if x.dim() == 2:
            x = x.unsqueeze(1)
        if x.dim() != 3 or x.shape[1] != 1:
            raise ValueError(
                "TgramNet expects waveforms of shape (batch, n_samples) or "
                f"(batch, 1, n_samples), got {tuple(x.shape)}."
            )
        return self.blocks(self.extractor(x)).unsqueeze(1)
