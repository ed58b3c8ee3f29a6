"""Pooling of spectrogram-like features over time into fixed-length vectors."""

from __future__ import annotations

from numbers import Integral
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted

from sklasd.base import VersionStampMixin

__all__ = ["TimePooling"]

_STATISTICS = {"mean": np.mean, "std": np.std, "min": np.min, "max": np.max}


def _check_4d(X) -> np.ndarray:
    """Validate a finite 4-D float array (n_clips, n_channels, n_bands, n_frames)."""
    X = check_array(X, allow_nd=True, dtype=(np.float64, np.float32), input_name="X")
    if X.ndim != 4:
        raise ValueError(
            "TimePooling expects a 4-D array of shape (n_clips, n_channels, n_bands, "
            f"n_frames), e.g. the output of LogMel; got an array of shape {X.shape}."
        )
    return X


class TimePooling(VersionStampMixin, TransformerMixin, BaseEstimator):
    """Per-band statistics over time: spectrograms to fixed-length feature vectors.

    Turns spectrogram-like features of shape (n_clips, n_channels, n_bands,
    n_frames), such as the output of :class:`LogMel`, into a 2-D table with one
    row per clip, so that 2-D scorer steps can follow in a Pipeline. Every
    statistic is computed over time for each channel and band, within each of
    ``n_windows`` consecutive time windows of (nearly) equal length.

    Parameters
    ----------
    stats : tuple of {"mean", "std", "min", "max"}, default=("mean", "std", "max")
        Statistics computed over the frames of each window; ``std`` is the
        population standard deviation (``ddof=0``).
    n_windows : int, default=1
        Number of consecutive time windows, split as :func:`numpy.array_split`
        does (window lengths differ by at most one frame). Transformed clips need
        at least ``n_windows`` frames.

    Attributes
    ----------
    n_channels_in_ : int
        Number of channels seen in ``fit``.
    n_bands_in_ : int
        Number of frequency bands seen in ``fit``.
    n_features_out_ : int
        Number of output columns,
        ``n_channels_in_ * n_bands_in_ * len(stats) * n_windows``.

    See Also
    --------
    LogMel : Log-mel spectrograms of shape (n_clips, 1, n_mels, n_frames).

    Notes
    -----
    Output columns are ordered by statistic, then window, then channel, then band;
    :meth:`get_feature_names_out` names them ``"<stat>_w<window>_c<channel>_b<band>"``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklasd.features import TimePooling
    >>> X = np.arange(2 * 1 * 3 * 4, dtype=np.float32).reshape(2, 1, 3, 4)
    >>> pooling = TimePooling(stats=("mean", "max"), n_windows=2).fit(X)
    >>> pooling.transform(X).shape
    (2, 12)
    >>> pooling.transform(X)[0, :3]  # mean of the first window of bands 0, 1, 2
    array([0.5, 4.5, 8.5], dtype=float32)
    >>> pooling.get_feature_names_out()[:2].tolist()
    ['mean_w0_c0_b0', 'mean_w0_c0_b1']
    """

    _parameter_constraints: ClassVar[dict] = {
        "stats": ["array-like"],
        "n_windows": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, *, stats=("mean", "std", "max"), n_windows=1):
        self.stats = stats
        self.n_windows = n_windows

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the parameters and record the number of channels and bands.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_channels, n_bands, n_frames)
            Spectrogram-like features.
        y : None
            Ignored.

        Returns
        -------
        self : TimePooling
            The fitted transformer.
        """
        stats = list(self.stats)
        if not stats:
            raise ValueError("stats must name at least one statistic, got an empty sequence.")
        valid = StrOptions(set(_STATISTICS))
        for stat in stats:
            if not valid.is_satisfied_by(stat):
                raise ValueError(f"Unknown statistic {stat!r} in stats; choose from {valid}.")
        if len(set(stats)) != len(stats):
            raise ValueError(f"stats has repeated statistics: {stats}.")
        X = _check_4d(X)
        _, self.n_channels_in_, self.n_bands_in_, _ = X.shape
        self.n_features_out_ = self.n_channels_in_ * self.n_bands_in_ * len(stats) * self.n_windows
        return self

    def transform(self, X):
        """Pool every channel and band over time.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_channels, n_bands, n_frames)
            Spectrogram-like features with the channels and bands seen in ``fit``
            and at least ``n_windows`` frames.

        Returns
        -------
        X_pooled : ndarray of shape (n_clips, `n_features_out_`)
            The statistics, in the dtype of ``X`` (float32 or float64).
        """
        check_is_fitted(self)
        X = _check_4d(X)
        n_clips, n_channels, n_bands, n_frames = X.shape
        if (n_channels, n_bands) != (self.n_channels_in_, self.n_bands_in_):
            raise ValueError(
                f"X has {n_channels} channel(s) and {n_bands} band(s), but TimePooling was "
                f"fitted on {self.n_channels_in_} channel(s) and {self.n_bands_in_} band(s)."
            )
        if n_frames < self.n_windows:
            raise ValueError(f"X has {n_frames} frame(s), fewer than n_windows={self.n_windows}.")
        windows = np.array_split(X, self.n_windows, axis=-1)
        pooled = np.stack(
            [
                np.stack([_STATISTICS[stat](window, axis=-1) for window in windows], axis=1)
                for stat in self.stats
            ],
            axis=1,
        )  # (n_clips, n_stats, n_windows, n_channels, n_bands)
        return pooled.reshape(n_clips, -1)

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns.

        Parameters
        ----------
        input_features : None
            Ignored; the input has no column names.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``"<stat>_w<window>_c<channel>_b<band>"`` for every output column.
        """
        check_is_fitted(self)
        return np.asarray(
            [
                f"{stat}_w{window}_c{channel}_b{band}"
                for stat in self.stats
                for window in range(self.n_windows)
                for channel in range(self.n_channels_in_)
                for band in range(self.n_bands_in_)
            ],
            dtype=object,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        return tags
