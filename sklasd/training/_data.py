"""Torch datasets that cut fixed-length crops out of spectrogram-like features."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, clone
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.validation import check_array

from sklasd.utils import check_clips, private_torch_rng

__all__ = [
    "RandomCrops",
    "SlidingCrops",
    "check_features",
    "check_input",
    "crop_starts",
    "make_feature_step",
]


def check_features(
    X, *, n_frames: int | None = None, fitted: BaseEstimator | None = None
) -> np.ndarray:
    """Validate features as a finite float32 array (n_clips, n_channels, n_bands, n_frames).

    Parameters
    ----------
    X : array-like of shape (n_clips, n_channels, n_bands, n_frames)
        Spectrogram-like features, e.g. the output of :class:`~sklasd.features.LogMel`
        (nested lists are accepted).
    n_frames : int, default=None
        Crop length the clips must reach; None checks nothing about their length.
    fitted : estimator, default=None
        A fitted estimator with ``n_channels_in_`` and ``n_bands_in_``: ``X`` must
        have as many channels and bands (the error names the estimator). None
        checks nothing about them.

    Returns
    -------
    X : ndarray of shape (n_clips, n_channels, n_bands, n_frames), dtype float32
        The features (a copy only where the dtype changes).

    Raises
    ------
    ValueError
        If ``X`` is not 4-D, holds NaN or infinity, its clips are shorter than
        ``n_frames``, or its channels and bands differ from ``fitted``'s.

    Examples
    --------
    >>> import numpy as np
    >>> from sklasd.training import check_features
    >>> check_features(np.zeros((2, 1, 3, 8)), n_frames=4).dtype
    dtype('float32')
    >>> check_features(np.zeros((2, 1, 3, 8)), n_frames=10)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    ValueError: The clips of X have 8 frames, fewer than n_frames=10 (clip 0 of 2 clips ...
    """
    X = check_array(X, allow_nd=True, dtype=np.float32, input_name="X")
    if X.ndim != 4:
        raise ValueError(
            "X must be a 4-D array of shape (n_clips, n_channels, n_bands, n_frames), "
            f"e.g. the output of LogMel; got an array of shape {X.shape}."
        )
    if n_frames is not None and X.shape[-1] < n_frames:
        raise ValueError(
            f"The clips of X have {X.shape[-1]} frames, fewer than n_frames={n_frames} "
            f"(clip 0 of {X.shape[0]} clips of shape {X.shape[1:]}); lower n_frames or use "
            "longer clips."
        )
    if fitted is not None and X.shape[1:3] != (fitted.n_channels_in_, fitted.n_bands_in_):
        raise ValueError(
            f"X has {X.shape[1]} channel(s) and {X.shape[2]} band(s), but "
            f"{type(fitted).__name__} was fitted on {fitted.n_channels_in_} channel(s) and "
            f"{fitted.n_bands_in_} band(s)."
        )
    return X


def _passthrough(features: Any) -> bool:
    """Whether ``features`` says that X already holds features."""
    return isinstance(features, str) and features == "passthrough"


def check_input(X: Any, *, features: Any) -> Any:
    """Validate a detector's input: clips, or features where ``features="passthrough"``.

    The network detectors take clips and compute their features with the
    ``features`` transformer, or, with ``features="passthrough"``, take the
    features from a preceding Pipeline step (e.g. ``make_pipeline(LogMel(),
    IDClassifierDetector(features="passthrough"))``).

    Parameters
    ----------
    X : sequence of str, array-like of shape (n_clips, n_samples) or \
(n_clips, n_channels, n_bands, n_frames)
        Clips (paths or waveforms), or features with ``features="passthrough"``.
    features : transformer, "passthrough" or None
        The detector's ``features`` parameter.

    Returns
    -------
    X : list of str or ndarray
        :func:`~sklasd.utils.check_clips` of ``X``, or :func:`check_features` of it
        with ``features="passthrough"``.

    See Also
    --------
    make_feature_step : The matching feature step.

    Examples
    --------
    >>> import numpy as np
    >>> from sklasd.training import check_input
    >>> check_input(np.zeros((2, 1, 4, 8)), features="passthrough").shape
    (2, 1, 4, 8)
    >>> check_input(["a.wav"], features=None)
    ['a.wav']
    """
    return check_features(X) if _passthrough(features) else check_clips(X)


def make_feature_step(features: Any, default: Any) -> Any:
    """The unfitted feature step of a detector's ``features`` parameter.

    Parameters
    ----------
    features : transformer, "passthrough" or None
        A transformer (cloned), ``"passthrough"`` (X already holds features: an
        identity :class:`~sklearn.preprocessing.FunctionTransformer`), or None
        (``default``, cloned).
    default : transformer
        The detector's default features.

    Returns
    -------
    step : transformer
        An unfitted transformer.

    See Also
    --------
    check_input : The matching input validation.

    Examples
    --------
    >>> from sklasd.features import LogMel
    >>> from sklasd.training import make_feature_step
    >>> make_feature_step(None, LogMel(n_mels=32))
    LogMel(n_mels=32)
    >>> make_feature_step("passthrough", LogMel())
    FunctionTransformer()
    """
    if _passthrough(features):
        return FunctionTransformer()
    return clone(default if features is None else features)


def crop_starts(n_total: int, n_frames: int, hop: int) -> np.ndarray:
    """First frames of the crops that cover a clip: every ``hop`` frames, the last at the end.

    Parameters
    ----------
    n_total : int
        Number of frames of the clip, at least ``n_frames``.
    n_frames : int
        Crop length.
    hop : int
        Frames between the starts of consecutive crops.

    Returns
    -------
    starts : ndarray of shape (n_crops,)
        ``0, hop, 2 * hop, ...`` up to ``n_total - n_frames``, which is always the
        last start, so that the crops reach the end of the clip.

    Examples
    --------
    >>> from sklasd.training import crop_starts
    >>> crop_starts(10, 4, 4).tolist()
    [0, 4, 6]
    >>> crop_starts(8, 4, 4).tolist()
    [0, 4]
    """
    last = n_total - n_frames
    starts = np.arange(0, last + 1, hop)
    return starts if starts[-1] == last else np.append(starts, last)


class RandomCrops(torch.utils.data.Dataset):
    """Training dataset: one random crop of ``n_frames`` frames per clip and epoch.

    Item ``i`` is ``(X[i, ..., s:s + n_frames], y[i])`` as torch tensors, where the
    start ``s`` is drawn from a generator seeded with ``(seed, epoch, i)``: crops
    change from epoch to epoch, yet do not depend on the order in which items are
    read, on DataLoader workers, or on any global random state. With
    ``epoch=None`` every clip keeps the same crop (drawn from ``(seed, i)``), as
    :class:`ClassifierNet` uses for its validation clips.

    :class:`ClassifierNet` calls :meth:`set_epoch` at the start of every epoch
    (as :class:`torch.utils.data.distributed.DistributedSampler` expects).

    Parameters
    ----------
    X : ndarray of shape (n_clips, n_channels, n_bands, n_total_frames)
        float32 features (see :func:`check_features`), at least ``n_frames`` long.
    y : ndarray of shape (n_clips,) of int, default=None
        Class index of every clip; None gives the placeholder target 0.
    n_frames : int
        Crop length in frames.
    seed : int, default=0
        Seed of the crop positions.
    epoch : int or None, default=None
        Epoch whose crops are drawn; None for the same crops in every epoch.

    Attributes
    ----------
    X, y : ndarray
        The data, as given (skorch reads them to score validation clips).

    See Also
    --------
    SlidingCrops : The crops that cover whole clips, for inference.

    Examples
    --------
    >>> import numpy as np
    >>> from sklasd.training import RandomCrops
    >>> X = np.arange(2 * 1 * 1 * 10, dtype=np.float32).reshape(2, 1, 1, 10)
    >>> crops = RandomCrops(X, np.array([0, 1]), n_frames=4, seed=0, epoch=0)
    >>> crop, target = crops[1]
    >>> tuple(crop.shape), int(target)
    ((1, 1, 4), 1)
    >>> bool(crops[1][0].equal(crop))  # the same item gives the same crop
    True
    """

    def __init__(self, X, y=None, *, n_frames: int, seed: int = 0, epoch: int | None = None):
        self.X = check_features(X, n_frames=n_frames)
        self.y = np.zeros(len(self.X), dtype=np.int64) if y is None else np.asarray(y)
        self.n_frames = n_frames
        self.seed = seed
        self.epoch = epoch

    def set_epoch(self, epoch: int | None) -> None:
        """Draw the crops of ``epoch`` from now on (None: the fixed crops)."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.X)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        # The second entry keeps the keys of the two modes apart (SeedSequence pads
        # short keys with zeros, so [seed, i] would equal [seed, i, 0]).
        key = [self.seed, 1, index] if self.epoch is None else [self.seed, 0, self.epoch, index]
        start = np.random.default_rng(key).integers(self.X.shape[-1] - self.n_frames + 1)
        crop = np.ascontiguousarray(self.X[index, ..., start : start + self.n_frames])
        return torch.from_numpy(crop), torch.as_tensor(self.y[index], dtype=torch.int64)


class SlidingCrops(torch.utils.data.Dataset):
    """Inference dataset: the crops of every clip at :func:`crop_starts`, clip by clip.

    Item ``k`` is crop ``k % n_crops`` of clip ``k // n_crops`` (with the
    placeholder target 0), so outputs reshape to (n_clips, n_crops, ...). Crops are
    cut when read: memory does not grow with the number of crops.

    Parameters
    ----------
    X : ndarray of shape (n_clips, n_channels, n_bands, n_total_frames)
        float32 features (see :func:`check_features`), at least ``n_frames`` long.
    n_frames : int
        Crop length in frames.
    hop : int
        Frames between the starts of consecutive crops of a clip.

    Attributes
    ----------
    starts : ndarray of shape (n_crops,)
        First frame of each crop of a clip.
    n_crops : int
        Number of crops per clip.

    See Also
    --------
    RandomCrops : Random crops for training.

    Examples
    --------
    >>> import numpy as np
    >>> from sklasd.training import SlidingCrops
    >>> X = np.arange(2 * 1 * 1 * 10, dtype=np.float32).reshape(2, 1, 1, 10)
    >>> crops = SlidingCrops(X, n_frames=4, hop=4)
    >>> len(crops), crops.starts.tolist()
    (6, [0, 4, 6])
    >>> crops[5][0].flatten().tolist()  # the last crop of clip 1
    [16.0, 17.0, 18.0, 19.0]
    """

    def __init__(self, X, *, n_frames: int, hop: int):
        self.X = check_features(X, n_frames=n_frames)
        self.n_frames = n_frames
        self.starts = crop_starts(self.X.shape[-1], n_frames, hop)
        self.n_crops = len(self.starts)

    def __len__(self) -> int:
        return len(self.X) * self.n_crops

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        clip, crop = divmod(index, self.n_crops)
        start = self.starts[crop]
        return torch.from_numpy(
            np.ascontiguousarray(self.X[clip, ..., start : start + self.n_frames])
        ), 0

    def outputs(self, net: Any, method: str) -> np.ndarray:
        """``net.<method>`` of every crop, clip by clip, on a private torch random state.

        The one way the detectors and embedders run a trained net over crops at
        inference; average over axis 1 for a clip's output.

        Parameters
        ----------
        net : skorch net
            A fitted net.
        method : str
            A method of ``net`` that maps a dataset to an array, one row per
            item (``"predict_proba"``, ``"embed"``...).

        Returns
        -------
        outputs : ndarray of shape (n_clips, n_crops, ...)
            The rows of ``net.<method>(self)``, grouped by clip.
        """
        with private_torch_rng(net.device):
            outputs = getattr(net, method)(self)
        return outputs.reshape(len(self.X), self.n_crops, *outputs.shape[1:])
