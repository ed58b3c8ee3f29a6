"""Tgram: the learned temporal features of STgram, trained on section labels as a transformer."""

from __future__ import annotations

from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import torch
from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from sklasd.embedders._net_embedder import NetEmbedder
from sklasd.features._waveform import _ClipsTransformer, waveform_frames
from sklasd.nn import TDNN, STgramNet
from sklasd.training import ClassifierNet
from sklasd.utils._docstrings import fill_doc

__all__ = ["Tgram"]

#: The classifier that trains the TgramNet of a standalone Tgram: a small TDNN
#: (one frame layer of 64 channels over 3 frames, statistics pooling, a segment
#: layer of 128 units and a 64-dimensional embedding: 50,050 weights for 128 bands
#: and 2 classes, against the TgramNet's 279,296), so that the features, not the
#: head, have to tell the sections apart.
_HEAD = {
    "module__backbone": TDNN,
    "module__layers": ((3, 1, 256),),
    "module__width_mult": 0.25,
    "module__embedding_dim": 64,
}


@fill_doc
class Tgram(_ClipsTransformer):
    """Learned Tgram features of audio clips, frame-aligned with LogMel, fitted on sections.

    The temporal branch of STgram-MFN (:class:`~sklasd.nn.TgramNet`: a strided
    Conv1d over the raw waveform with window ``win_length`` and hop
    ``hop_length``, then convolution blocks) as a feature transformer: each
    clip becomes an array of shape (1, n_mels, T) with ``T = 1 + n_samples //
    hop_length``, the frames of :class:`~sklasd.features.LogMel` with ``n_fft=win_length`` and
    the same hop, so the two stack as channels (:class:`~sklasd.features.StackFeatures`).

    **Fitting.** The Tgram is learned, not fixed: ``fit`` trains a TgramNet
    jointly with a small classifier head (a TDNN with one frame layer and
    statistics pooling) to tell the clips' sections (``target``) apart, with
    cross-entropy, on the normal clips; :meth:`transform` then outputs the
    trained TgramNet's features of whole clips. Training runs in a
    :class:`~sklasd.embedders.NetEmbedder` on the clips cut into blocks of
    ``hop_length`` samples (:func:`waveform_frames`): every epoch takes one
    random crop of ``n_frames`` blocks per clip, which starts on a frame
    boundary, and the network is an :class:`~sklasd.nn.STgramNet` with
    ``log_mel=False``; the fitted embedder is ``embedder_`` (training history in
    ``embedder_.net_.history``, the TgramNet in
    ``embedder_.net_.module_.tgram``). The section labels travel as metadata,
    requested by default, so a Pipeline with metadata routing passes them on.
    All waveforms are loaded into memory for training. The training options
    are parameters of this transformer (``max_epochs``, ``lr``, ``batch_size``,
    ``n_frames``; ``stack__tgram__max_epochs`` in a grid) rather than a skorch
    net parameter, because the network is fixed by what :meth:`transform`
    outputs. The output's scale is learned (it is not in dB as LogMel's is).

    **Trained inside a network instead.** STgram-MFN trains the TgramNet with
    the classifier that uses it; for that, feed :class:`~sklasd.features.WaveformFrames` to a
    :class:`~sklasd.embedders.NetEmbedder` whose module is
    :class:`~sklasd.nn.STgramNet` (log-mel and Tgram channels computed inside
    the network, trained end to end) instead of stacking a fitted Tgram.

    Parameters
    ----------
    %(clip_sr)s
    n_mels : int, default=128
        Channels of the TgramNet, the F of the output; LogMel's ``n_mels`` to
        stack with it.
    win_length : int, default=1024
        Window of the strided convolution in samples (LogMel's ``n_fft``);
        shorter clips raise a ValueError.
    hop_length : int, default=512
        Hop of the strided convolution in samples (LogMel's ``hop_length``).
    n_blocks : int, default=3
        Convolution blocks of the TgramNet after the strided convolution.
    n_frames : int, default=64
        Length of the training crops in frames: ``n_frames * hop_length``
        samples (64 frames of 512 samples are about 2 s at 16 kHz). Clips must
        hold at least that many samples for ``fit``.
    max_epochs : int, default=10
        Training epochs.
    lr : float, default=1e-3
        Learning rate of Adam (the maximum of the SGDR schedule of
        :class:`~sklasd.training.ClassifierNet`).
    batch_size : int, default=32
        Crops per training batch, and clips per batch of :meth:`transform`.
    target : {"section", "attributes", "section_attributes"}, default="section"
        The class labels the TgramNet learns to tell apart (see
        :class:`~sklasd.embedders.NetEmbedder`).
    %(clip_reading)s
    random_state : int, RandomState instance or None, default=None
        Seed of the weights, crops and shuffling of training; an int makes
        ``fit`` repeatable. Global random states are left alone.
    device : str, default="cpu"
        Torch device of training and of :meth:`transform` ("cpu", "cuda"...).
    verbose : bool, default=False
        Print a row per training epoch and show a progress bar over the clips.

    Attributes
    ----------
    embedder_ : sklasd.embedders.NetEmbedder
        The fitted embedder that trained the TgramNet.

    See Also
    --------
    sklasd.features.LogMel : The fixed spectral features it is aligned with.
    sklasd.features.StackFeatures : Stack LogMel, Tgram and Wav2Vec features as channels.
    sklasd.nn.STgramNet : Log-mel and Tgram trained end to end with the classifier.

    Examples
    --------
    >>> import numpy as np
    >>> from sklasd.embedders import Tgram
    >>> from sklasd.features import LogMel
    >>> rng = np.random.default_rng(0)
    >>> section = np.repeat([0, 1], 4)
    >>> X = rng.standard_normal((8, 8000)).astype(np.float32)
    >>> X[section == 1] *= np.sin(np.arange(8000) / 3)  # section 1 sounds different
    >>> tgram = Tgram(n_mels=16, n_frames=8, max_epochs=2, random_state=0)
    >>> features = tgram.fit(X, section=section).transform(X)
    >>> features.shape, LogMel(n_mels=16).fit_transform(X).shape
    ((8, 1, 16, 16), (8, 1, 16, 16))
    """

    __metadata_request__fit: ClassVar[dict] = {"section": True, "attributes": True}

    _parameter_constraints: ClassVar[dict] = {
        **_ClipsTransformer._clip_constraints,
        "n_mels": [Interval(Integral, 1, None, closed="left")],
        "win_length": [Interval(Integral, 2, None, closed="left")],
        "hop_length": [Interval(Integral, 1, None, closed="left")],
        "n_blocks": [Interval(Integral, 0, None, closed="left")],
        "n_frames": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "target": [StrOptions({"section", "attributes", "section_attributes"})],
        "random_state": ["random_state"],
        "device": [str, torch.device],
    }

    def __init__(
        self,
        *,
        sr=16000,
        n_mels=128,
        win_length=1024,
        hop_length=512,
        n_blocks=3,
        n_frames=64,
        max_epochs=10,
        lr=1e-3,
        batch_size=32,
        target="section",
        channel="mix",
        duration=None,
        n_jobs=None,
        random_state=None,
        device="cpu",
        verbose=False,
    ):
        self.sr = sr
        self.n_mels = n_mels
        self.win_length = win_length
        self.hop_length = hop_length
        self.n_blocks = n_blocks
        self.n_frames = n_frames
        self.max_epochs = max_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.target = target
        self.channel = channel
        self.duration = duration
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def _min_samples(self) -> int:
        return self.win_length

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, *, section=None, attributes=None):
        """Train a TgramNet with a small classifier to tell the clips' classes apart.

        Parameters
        ----------
        X : sequence of str or os.PathLike of length n_clips, or array-like of \
shape (n_clips, n_samples)
            Audio file paths or waveforms sampled at ``sr``, of at least
            ``n_frames * hop_length`` samples.
        y : array-like of shape (n_clips,), default=None
            Anomaly labels (0 normal, 1 anomalous); anomalous clips are left
            out. None means all clips are normal.
        section : array-like of shape (n_clips,), default=None
            Section of every clip (metadata); needed unless
            ``target="attributes"``.
        attributes : array-like of shape (n_clips,), default=None
            Attribute label of every clip (metadata); needed when ``target``
            uses attributes.

        Returns
        -------
        self : Tgram
            The fitted transformer.

        Raises
        ------
        ValueError
            For clips shorter than a training crop, missing labels, or fewer
            than two classes among the normal clips.
        """
        waves = self._load_waveforms(X)
        if waves.shape[1] < self.n_frames * self.hop_length:
            raise ValueError(
                f"Tgram trains on crops of n_frames={self.n_frames} hops of "
                f"hop_length={self.hop_length} samples, but the clips hold only "
                f"{waves.shape[1]} samples; lower n_frames or use longer clips."
            )
        blocks = waveform_frames(waves, self.hop_length)
        net = ClassifierNet(
            STgramNet,
            module__sr=self.sr,
            module__n_fft=self.win_length,
            module__n_mels=self.n_mels,
            module__tgram_blocks=self.n_blocks,
            module__log_mel=False,
            **_HEAD,
            max_epochs=self.max_epochs,
            lr=self.lr,
            batch_size=self.batch_size,
            verbose=int(self.verbose),
        )
        self.embedder_ = NetEmbedder(
            net=net,
            target=self.target,
            n_frames=self.n_frames,
            random_state=self.random_state,
            device=self.device,
        ).fit(blocks, y, section=section, attributes=attributes)
        return self

    def transform(self, X):
        """The trained TgramNet's features of every clip.

        Parameters
        ----------
        X : sequence of str or os.PathLike of length n_clips, or array-like of \
shape (n_clips, n_samples)
            Audio file paths (read ``batch_size`` at a time) or waveforms sampled
            at ``sr``, of at least ``win_length`` samples.

        Returns
        -------
        features : ndarray of shape (n_clips, 1, n_mels, n_frames), dtype float32
            ``n_frames = 1 + n_samples // hop_length`` (for an even
            ``win_length``), as LogMel gives.
        """
        check_is_fitted(self)
        net = self.embedder_.net_
        tgram = net.module_.tgram

        def compute(waves: np.ndarray) -> np.ndarray:
            # TgramNet has no dropout or batch normalisation: train and eval modes agree.
            with torch.inference_mode():
                return tgram(torch.from_numpy(waves).to(net.device)).float().cpu().numpy()

        return self._map_batches(X, compute)
