"""Reading clips batch by batch for waveform transformers, and waveforms cut into frames."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils import gen_batches
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from tqdm.auto import tqdm

from sklasd.base import VersionStampMixin
from sklasd.datasets._audio import iter_audio_batches
from sklasd.utils import check_clips
from sklasd.utils._docstrings import fill_doc

__all__ = ["WaveformFrames", "waveform_frames"]


def waveform_frames(waves: np.ndarray, hop_length: int) -> np.ndarray:
    """Cut waveforms into blocks of ``hop_length`` samples laid out as (1, hop_length, k).

    Crops along the last axis of the result (those of
    :class:`~sklasd.training.RandomCrops`) are then waveform crops that start
    on a frame boundary. The last ``n_samples % hop_length`` samples are left out.

    Parameters
    ----------
    waves : ndarray of shape (n_clips, n_samples)
        Waveforms, at least ``hop_length`` samples long.
    hop_length : int
        Samples per block.

    Returns
    -------
    blocks : ndarray of shape (n_clips, 1, hop_length, n_samples // hop_length)
        ``blocks[i, 0, :, j]`` is ``waves[i, j * hop_length:(j + 1) * hop_length]``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklasd.features import waveform_frames
    >>> blocks = waveform_frames(np.arange(10.0)[None], 4)
    >>> blocks.shape
    (1, 1, 4, 2)
    >>> blocks[0, 0, :, 1].tolist()
    [4.0, 5.0, 6.0, 7.0]
    """
    n_clips, n_samples = waves.shape
    n_blocks = n_samples // hop_length
    blocks = waves[:, : n_blocks * hop_length].reshape(n_clips, n_blocks, hop_length)
    return np.ascontiguousarray(blocks.transpose(0, 2, 1))[:, None]


class ArrayOutputMixin:
    """``set_output`` of transformers whose output is 4-D: it stays a numpy array.

    A DataFrame is a table: features of shape (n_clips, n_channels, n_bands, n_frames)
    have no DataFrame form. ``Pipeline.set_output(transform="pandas")`` configures every
    step, so these transformers accept the setting without changing their output, and
    the 2-D steps after them (``TimePooling``, the scorer steps) return DataFrames. Their
    output is never wrapped, also not under ``sklearn.set_config(transform_output=...)``,
    and :meth:`get_feature_names_out` raises an error that says why and what to add.
    """

    def __init_subclass__(cls, **kwargs):
        # No DataFrame wrapping of transform by scikit-learn's _SetOutputMixin.
        kwargs.setdefault("auto_wrap_output_keys", None)
        super().__init_subclass__(**kwargs)

    def set_output(self, *, transform: str | None = None):
        """Accept a Pipeline's output container; the 4-D output stays an ndarray.

        Parameters
        ----------
        transform : {"default", "pandas", "polars"} or None, default=None
            The container the Pipeline asks for. A DataFrame cannot hold the 4-D
            features of shape (n_clips, n_channels, n_bands, n_frames), so the output
            of this transformer stays a numpy array whatever is asked; set the
            container on the Pipeline, whose 2-D steps honour it.

        Returns
        -------
        self : object
            The transformer, unchanged.
        """
        if transform not in (None, "default", "pandas", "polars"):
            raise ValueError(
                f"transform must be 'default', 'pandas', 'polars' or None, got {transform!r}."
            )
        return self

    def get_feature_names_out(self, input_features=None):
        """Refuse: a 4-D output has no columns to name, and says what gives a table.

        Parameters
        ----------
        input_features : None
            Ignored.

        Raises
        ------
        ValueError
            Always: the output has shape (n_clips, n_channels, n_bands, n_frames).
            A 2-D step after this transformer, e.g. ``TimePooling``, gives a table
            with named columns (and a DataFrame under ``set_output``).
        """
        name = type(self).__name__
        raise ValueError(
            f"{name} returns 4-D features of shape (n_clips, n_channels, n_bands, n_frames): "
            "a DataFrame cannot hold them, so they have no column names. Add a 2-D step after "
            f"it for a table, e.g. make_pipeline({name}(), TimePooling())"
            '.set_output(transform="pandas") returns a DataFrame of the pooled statistics.'
        )


class _ClipsTransformer(ArrayOutputMixin, VersionStampMixin, TransformerMixin, BaseEstimator):
    """Base of transformers of clips (paths or waveforms) read ``batch_size`` at a time.

    Subclasses have the parameters ``sr``, ``channel``, ``duration``,
    ``batch_size``, ``n_jobs`` and ``verbose`` and define :meth:`_min_samples`.
    """

    _clip_constraints: ClassVar[dict] = {
        "sr": [Interval(Integral, 1, None, closed="left")],
        "channel": [StrOptions({"mix"}), Interval(Integral, 0, None, closed="left")],
        "duration": [Interval(Real, 0, None, closed="neither"), None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": [Integral, None],
        "verbose": ["boolean"],
    }

    def _min_samples(self) -> int:
        """The shortest clip, in samples at ``sr``, that the transformer accepts."""
        raise NotImplementedError

    def _iter_waveforms(self, clips: list[str] | np.ndarray) -> Iterator[np.ndarray]:
        """Yield float32 batches of waveforms (n_batch, n_samples) of the checked clips."""
        min_samples = self._min_samples()
        if isinstance(clips, list):
            return iter_audio_batches(
                clips,
                batch_size=self.batch_size,
                sr=self.sr,
                channel=self.channel,
                duration=self.duration,
                min_samples=min_samples,
                n_jobs=self.n_jobs,
            )
        if clips.shape[1] < min_samples:
            raise ValueError(
                f"Waveforms hold {clips.shape[1]} samples, fewer than the {min_samples} "
                f"that {type(self).__name__} needs: a clip must span at least one window."
            )
        return (
            clips[rows].astype(np.float32, copy=False)
            for rows in gen_batches(clips.shape[0], self.batch_size)
        )

    def _load_waveforms(self, X) -> np.ndarray:
        """All clips of ``X`` as one float32 array (n_clips, n_samples)."""
        return np.concatenate(list(self._iter_waveforms(check_clips(X))))

    def _map_batches(self, X, compute: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """Concatenate ``compute(batch)`` over the waveform batches of the clips ``X``."""
        clips = check_clips(X)
        n_clips = len(clips)
        out = None
        start = 0
        name = type(self).__name__
        with tqdm(total=n_clips, unit="clip", desc=name, disable=not self.verbose) as bar:
            for waves in self._iter_waveforms(clips):
                result = compute(waves)
                if out is None:
                    out = np.empty((n_clips, *result.shape[1:]), dtype=result.dtype)
                out[start : start + len(result)] = result
                start += len(result)
                bar.update(len(result))
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags


@fill_doc
class WaveformFrames(_ClipsTransformer):
    """Raw waveforms cut into blocks of ``hop_length`` samples, shaped like a spectrogram.

    The input of networks that learn from the waveform inside
    :class:`~sklasd.embedders.NetEmbedder`, such as :class:`~sklasd.nn.STgramNet`
    (STgram-MFN trained end to end): each clip becomes an array of shape
    (1, hop_length, n_samples // hop_length) (see :func:`waveform_frames`), so
    the embedder's crops of ``n_frames`` along the last axis are waveform crops
    of ``n_frames * hop_length`` samples that start on frame boundaries, and
    its ``n_frames`` and ``inference_hop`` count frames as for LogMel. The
    last ``n_samples % hop_length`` samples of a clip are left out.

    Parameters
    ----------
    %(clip_sr)s
    hop_length : int, default=512
        Samples per block (the hop of the network's frames).
    %(clip_reading)s
    batch_size : int, default=64
        Number of clips read together.
    verbose : bool, default=False
        Show a progress bar over the clips.

    See Also
    --------
    sklasd.nn.STgramNet : The end-to-end STgram network that takes these blocks.
    sklasd.embedders.Tgram : A Tgram front end trained on its own, as a feature transformer.

    Examples
    --------
    >>> import numpy as np
    >>> from sklasd.features import WaveformFrames
    >>> X = np.random.default_rng(0).standard_normal((2, 16000)).astype(np.float32)
    >>> WaveformFrames().fit_transform(X).shape  # 31 blocks of 512 samples
    (2, 1, 512, 31)
    """

    _parameter_constraints: ClassVar[dict] = {
        **_ClipsTransformer._clip_constraints,
        "hop_length": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        *,
        sr=16000,
        hop_length=512,
        channel="mix",
        duration=None,
        batch_size=64,
        n_jobs=None,
        verbose=False,
    ):
        self.sr = sr
        self.hop_length = hop_length
        self.channel = channel
        self.duration = duration
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.verbose = verbose

    def _min_samples(self) -> int:
        return self.hop_length

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the parameters and the form of ``X`` (no audio is read).

        Parameters
        ----------
        X : sequence of str or os.PathLike of length n_clips, or array-like of \
shape (n_clips, n_samples)
            Audio file paths or waveforms.
        y : None
            Ignored.

        Returns
        -------
        self : WaveformFrames
            The fitted transformer.
        """
        check_clips(X)
        self.hop_length_ = self.hop_length
        return self

    def transform(self, X):
        """Cut every clip into blocks of ``hop_length`` samples.

        Parameters
        ----------
        X : sequence of str or os.PathLike of length n_clips, or array-like of \
shape (n_clips, n_samples)
            Audio file paths or waveforms sampled at ``sr``, at least
            ``hop_length`` samples long.

        Returns
        -------
        blocks : ndarray of shape (n_clips, 1, hop_length, n_samples // hop_length), \
dtype float32
            See :func:`waveform_frames`.
        """
        check_is_fitted(self)
        return self._map_batches(X, lambda waves: waveform_frames(waves, self.hop_length_))
