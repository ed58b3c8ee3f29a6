"""Signal processing shared by the feature transformers and the networks (plain torch).

:func:`log_mel_spectrogram` is the one log-mel computation of the package: the torch
backend of :class:`sklasd.features.LogMel` and the spectrogram branch of the STgram and
dual-branch networks of :mod:`sklasd.nn` both call it.
"""

from __future__ import annotations

import torch

__all__ = ["AMIN", "log_mel_spectrogram"]

#: Floor of the power before the logarithm, as librosa.power_to_db's default amin.
AMIN = 1e-10


def log_mel_spectrogram(
    waves: torch.Tensor,
    mel_basis: torch.Tensor,
    *,
    n_fft: int,
    hop_length: int,
    power: float = 2.0,
    top_db: float | None = 80.0,
) -> torch.Tensor:
    """Log-mel spectrograms in dB of a batch of waveforms, as :class:`sklasd.features.LogMel`.

    A centred STFT (zero padding, periodic Hann window) in the dtype of
    ``waves``, the power spectrum, the product with ``mel_basis`` in its dtype,
    ``10 * log10(max(S, 1e-10))`` and a floor ``top_db`` below each clip's
    maximum: the computation of LogMel's torch backend, which runs it in
    float64 (float32 waveforms deviate from librosa by up to 1e-3 dB in bands
    60-80 dB below a clip's peak).

    Parameters
    ----------
    waves : torch.Tensor of shape (batch, n_samples)
        Waveforms, at least ``n_fft`` samples long.
    mel_basis : torch.Tensor of shape (n_mels, 1 + n_fft // 2)
        The mel filterbank, e.g. :func:`librosa.filters.mel`.
    n_fft : int
        FFT and window length in samples.
    hop_length : int
        Samples between frames.
    power : float, default=2.0
        Exponent of the magnitude spectrogram.
    top_db : float or None, default=80.0
        Floor of each clip's values in dB below its maximum; None keeps all.

    Returns
    -------
    torch.Tensor of shape (batch, n_mels, 1 + n_samples // hop_length)
        The log-mel spectrograms, in the dtype of ``mel_basis``.

    Examples
    --------
    >>> import librosa
    >>> import torch
    >>> from sklasd.signal import log_mel_spectrogram
    >>> mel = torch.from_numpy(librosa.filters.mel(sr=16000, n_fft=1024, n_mels=16))
    >>> spec = log_mel_spectrogram(torch.randn(2, 16000), mel, n_fft=1024, hop_length=512)
    >>> tuple(spec.shape)
    (2, 16, 32)
    """
    window = torch.hann_window(n_fft, periodic=True, dtype=waves.dtype, device=waves.device)
    spec = torch.stft(
        waves,
        n_fft,
        hop_length,
        window=window,
        center=True,
        pad_mode="constant",
        return_complex=True,
    )
    if power == 2.0:
        spec = spec.real.square() + spec.imag.square()
    else:
        spec = spec.abs().pow(power)
    # torch.stft's output is (frames, bins) in memory: multiply in that layout.
    spec = (spec.to(mel_basis.dtype).mT @ mel_basis.mT).mT
    db = 10.0 * torch.log10(torch.clamp(spec, min=AMIN))
    if top_db is not None:
        db = torch.maximum(db, db.amax(dim=(-2, -1), keepdim=True) - top_db)
    return db
