"""Reading audio files into float32 waveform arrays."""

from __future__ import annotations

import os
import struct
import warnings
from collections.abc import Iterator, Sequence
from numbers import Integral, Real

import librosa
import numpy as np
import soundfile as sf
from joblib import Parallel, delayed
from sklearn.utils import gen_batches
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from sklasd.exceptions import TruncatedAudioWarning
from sklasd.utils import check_clips

__all__ = ["iter_audio_batches", "load_audio"]

_AUDIO_PARAMS = {
    "sr": [Interval(Integral, 1, None, closed="left")],
    "channel": [StrOptions({"mix"}), Interval(Integral, 0, None, closed="left")],
    "duration": [Interval(Real, 0, None, closed="neither"), None],
    "min_samples": [Interval(Integral, 1, None, closed="left")],
    "n_jobs": [Integral, None],
}


def _check_paths(paths: Sequence[str | os.PathLike]) -> list[str]:
    """Return ``paths`` as a non-empty list of str, or raise."""
    clips = check_clips(paths)
    if not isinstance(clips, list):
        raise TypeError(
            "paths must be a 1-D sequence of audio file paths, got an array of shape "
            f"{clips.shape}."
        )
    return clips


def _declared_wav_frames(path: str) -> int | None:
    """The number of frames the header of a RIFF/WAVE file declares; None if unknown.

    libsndfile reads a WAV file cut short (a copy or download interrupted) without
    complaint: it counts the frames the file holds. The header still holds the length
    the file had when it was written.
    """
    with open(path, "rb") as handle:
        head = handle.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        block_align = None
        while True:
            chunk = handle.read(8)
            if len(chunk) < 8:
                return None
            chunk_id, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if chunk_id == b"fmt " and size >= 16:
                block_align = struct.unpack("<H", handle.read(16)[12:14])[0]
                handle.seek(size - 16 + size % 2, os.SEEK_CUR)
            elif chunk_id == b"data":
                # 0 and 0xFFFFFFFF: length unknown (a stream still being written).
                if not block_align or size in (0, 0xFFFFFFFF):
                    return None
                return size // block_align
            else:
                handle.seek(size + size % 2, os.SEEK_CUR)


def _read_clip(
    path: str, *, sr: int, channel: str | int, n_samples: int | None, min_samples: int
) -> np.ndarray:
    """Decode one file into a 1-D float32 waveform at ``sr``, cropped to ``n_samples``."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Audio file not found: {path!r}.")
    try:
        with sf.SoundFile(path) as f:
            file_sr, n_channels = f.samplerate, f.channels
            declared = _declared_wav_frames(path) if f.format in ("WAV", "WAVEX") else None
            if declared is not None and declared > f.frames:
                warnings.warn(
                    f"Audio file {path!r} is truncated: its header declares {declared} "
                    f"samples per channel but it holds {f.frames} "
                    f"({f.frames / file_sr:.3f} s of {declared / file_sr:.3f} s). Read as it "
                    "is; copy the file again or leave it out.",
                    TruncatedAudioWarning,
                    stacklevel=2,
                )
            # Without resampling a crop needs only the first n_samples frames.
            frames = n_samples if n_samples is not None and file_sr == sr else -1
            data = f.read(frames=frames, dtype="float32", always_2d=True)
    except RuntimeError as exc:  # soundfile.LibsndfileError and friends
        raise ValueError(f"Could not decode audio file {path!r}: {exc}") from exc
    if data.shape[0] == 0:
        raise ValueError(f"Audio file {path!r} contains no samples.")
    if channel == "mix":
        y = data.mean(axis=1) if n_channels > 1 else data[:, 0]
    elif channel < n_channels:
        y = np.ascontiguousarray(data[:, channel])
    else:
        raise ValueError(
            f"channel={channel} was requested but audio file {path!r} has {n_channels} channel(s)."
        )
    if not np.isfinite(y).all():
        raise ValueError(f"Audio file {path!r} contains NaN or infinite samples.")
    if file_sr != sr:
        y = librosa.resample(y, orig_sr=file_sr, target_sr=sr)
    if n_samples is not None:
        if y.shape[0] < n_samples:
            raise ValueError(
                f"Audio file {path!r} holds {y.shape[0]} samples at {sr} Hz "
                f"({y.shape[0] / sr:.3f} s), fewer than the {n_samples} samples "
                f"({n_samples / sr:g} s) asked for by duration."
            )
        y = y[:n_samples]
    if y.shape[0] < min_samples:
        raise ValueError(
            f"Audio file {path!r} holds {y.shape[0]} samples at {sr} Hz, fewer than "
            f"min_samples={min_samples}."
        )
    return y


def _load(
    paths: list[str],
    *,
    sr: int,
    channel: str | int,
    duration: float | None,
    min_samples: int,
    n_jobs: int | None,
    reference: tuple[str, int] | None = None,
) -> tuple[np.ndarray, tuple[str, int]]:
    """Decode ``paths`` into one array; every clip must match ``reference``'s length.

    ``reference`` is ``(path, n_samples)`` of the clip the others are compared to
    (the first one read when None). Returns the array and the reference.
    """
    n_samples = None if duration is None else round(duration * sr)
    clips = Parallel(n_jobs=n_jobs, prefer="threads")(
        delayed(_read_clip)(
            path, sr=sr, channel=channel, n_samples=n_samples, min_samples=min_samples
        )
        for path in paths
    )
    if reference is None:
        reference = (paths[0], clips[0].shape[0])
    ref_path, ref_length = reference
    out = np.empty((len(clips), ref_length), dtype=np.float32)
    for i, (path, y) in enumerate(zip(paths, clips, strict=True)):
        if y.shape[0] != ref_length:
            raise ValueError(
                f"Audio clips differ in length: {path!r} holds {y.shape[0]} samples at "
                f"{sr} Hz but {ref_path!r} holds {ref_length}. Pass duration to crop "
                "every clip to a common length."
            )
        out[i] = y
    return out, reference


@validate_params({"paths": ["array-like"], **_AUDIO_PARAMS}, prefer_skip_nested_validation=True)
def load_audio(
    paths: Sequence[str | os.PathLike],
    *,
    sr: int = 16000,
    channel: str | int = "mix",
    duration: float | None = None,
    min_samples: int = 1,
    n_jobs: int | None = None,
) -> np.ndarray:
    """Read audio files into a 2-D float32 array of waveforms.

    Each file is decoded with soundfile, reduced to one channel, resampled to ``sr``
    (with :func:`librosa.resample`, soxr) when its own rate differs, and cropped to
    ``duration`` when one is given.

    Length policy: with ``duration=None`` every clip must have the same length
    after resampling, otherwise a ValueError names the first file whose length
    differs from the first file's. With ``duration`` set, every clip is cropped to
    its first ``round(duration * sr)`` samples, and a clip shorter than that raises
    a ValueError naming it (clips are never zero-padded).

    Parameters
    ----------
    paths : sequence of str or os.PathLike of length n_clips
        Audio files in any format soundfile reads (WAV, FLAC, OGG, ...).
    sr : int, default=16000
        Sampling rate of the returned waveforms, in Hz.
    channel : "mix" or int, default="mix"
        "mix" averages all channels (mixdown); an int selects that channel
        (0-based), e.g. one microphone of an 8-channel MIMII recording.
    duration : float or None, default=None
        Length in seconds every clip is cropped to; None keeps whole clips, which
        must then have equal length.
    min_samples : int, default=1
        Minimum clip length in samples at ``sr``; shorter clips raise a ValueError
        naming the file (a feature extractor passes its FFT size here).
    n_jobs : int or None, default=None
        Number of threads decoding files in parallel (soundfile releases the GIL).
        None means 1 unless in a :func:`joblib.parallel_config` context; -1 means
        all processors.

    Returns
    -------
    X : ndarray of shape (n_clips, n_samples), dtype float32
        One waveform per row, in the order of ``paths``.

    Raises
    ------
    FileNotFoundError
        If a file does not exist.
    ValueError
        If a file cannot be decoded (corrupt or empty), contains no samples, holds
        NaN or infinite samples, lacks the requested channel, is shorter than
        ``duration`` or ``min_samples``, or (``duration=None``) differs in length
        from the first clip. Every message names the file.

    Warns
    -----
    TruncatedAudioWarning
        For a WAV file that holds fewer samples than its header declares (cut short
        while copied); the samples it holds are read. The message names the file.

    See Also
    --------
    iter_audio_batches : The same reading, batch by batch, with bounded memory.
    sklasd.features.LogMel : Log-mel features straight from paths.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np, soundfile as sf
    >>> from sklasd.datasets import load_audio
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "stereo_8k.wav")
    ...     sf.write(path, np.zeros((8000, 2)), 8000)  # 1 s of stereo at 8 kHz
    ...     mixed = load_audio([path], sr=16000)
    ...     cropped = load_audio([path], sr=16000, duration=0.5, channel=1)
    >>> mixed.shape, cropped.shape
    ((1, 16000), (1, 8000))
    """
    X, _ = _load(
        _check_paths(paths),
        sr=sr,
        channel=channel,
        duration=duration,
        min_samples=min_samples,
        n_jobs=n_jobs,
    )
    return X


@validate_params(
    {
        "paths": ["array-like"],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        **_AUDIO_PARAMS,
    },
    prefer_skip_nested_validation=True,
)
def iter_audio_batches(
    paths: Sequence[str | os.PathLike],
    *,
    batch_size: int = 64,
    sr: int = 16000,
    channel: str | int = "mix",
    duration: float | None = None,
    min_samples: int = 1,
    n_jobs: int | None = None,
) -> Iterator[np.ndarray]:
    """Read audio files batch by batch, so memory does not grow with their number.

    Decoding, channel handling, resampling and the length policy are those of
    :func:`load_audio`; with ``duration=None`` every clip of every batch must have
    the length of the first clip. Parameters are checked at the call, files as
    their batch is read.

    Parameters
    ----------
    paths : sequence of str or os.PathLike of length n_clips
        Audio files in any format soundfile reads.
    batch_size : int, default=64
        Number of clips per batch (the last batch may be smaller).
    sr : int, default=16000
        Sampling rate of the returned waveforms, in Hz.
    channel : "mix" or int, default="mix"
        "mix" averages all channels; an int selects that channel (0-based).
    duration : float or None, default=None
        Length in seconds every clip is cropped to; None keeps whole clips, which
        must then have equal length.
    min_samples : int, default=1
        Minimum clip length in samples at ``sr``.
    n_jobs : int or None, default=None
        Number of threads decoding the files of a batch in parallel.

    Yields
    ------
    X : ndarray of shape (n_batch, n_samples), dtype float32
        The waveforms of the next ``batch_size`` paths, in order.

    Raises
    ------
    FileNotFoundError, ValueError
        As :func:`load_audio`, when the batch holding the offending file is read.

    See Also
    --------
    load_audio : Read all files at once.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np, soundfile as sf
    >>> from sklasd.datasets import iter_audio_batches
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     paths = [os.path.join(folder, f"{i}.wav") for i in range(5)]
    ...     for path in paths:
    ...         sf.write(path, np.zeros(1600), 16000)
    ...     shapes = [batch.shape for batch in iter_audio_batches(paths, batch_size=2)]
    >>> shapes
    [(2, 1600), (2, 1600), (1, 1600)]
    """
    paths = _check_paths(paths)

    def batches() -> Iterator[np.ndarray]:
        reference = None
        for batch in gen_batches(len(paths), batch_size):
            X, reference = _load(
                paths[batch],
                sr=sr,
                channel=channel,
                duration=duration,
                min_samples=min_samples,
                n_jobs=n_jobs,
                reference=reference,
            )
            yield X

    return batches()
