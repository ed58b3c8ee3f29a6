"""Wav2Vec: wav2vec 2.0 features, aligned with LogMel's frames and projected to F bands."""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from numbers import Integral, Real
from typing import Any, ClassVar

import librosa
import numpy as np
import torch
from sklearn.base import _fit_context
from sklearn.decomposition import PCA
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from sklasd.embedders._net_embedder import NetEmbedder
from sklasd.features._waveform import _ClipsTransformer, waveform_frames
from sklasd.nn import Wav2VecClassifier, wav2vec_hidden
from sklasd.training import ClassifierNet
from sklasd.utils import check_clips, check_device, private_torch_rng, spawn_seeds
from sklasd.utils._docstrings import fill_doc

__all__ = ["Wav2Vec"]

#: Sampling rate of wav2vec 2.0 models.
MODEL_SR = 16000
# At most this many frames (drawn at random, evenly over the clips) fit the PCA.
_MAX_PCA_FRAMES = 20000


def _import_transformers() -> Any:
    """The transformers package, or an ImportError that says how to install it."""
    try:
        import transformers
    except ImportError as exc:
        raise ImportError(
            "Wav2Vec needs the transformers package (Wav2Vec2Model): pip install sklasd[wav2vec]"
        ) from exc
    return transformers


def _receptive_field(config: Any) -> tuple[int, int]:
    """(stride, receptive field) in samples of the model's convolutional feature encoder."""
    stride, field = 1, 1
    for kernel, step in zip(config.conv_kernel, config.conv_stride, strict=True):
        field += (kernel - 1) * stride
        stride *= step
    return stride, field


class _PackedModel:
    """A Wav2Vec2Model as its configuration and state dict, for pickling.

    Models with weight-normalised layers (the positional convolution of
    wav2vec 2.0) cannot be pickled whole (torch serialises parametrized modules
    only through their state dict).
    """

    def __init__(self, model: torch.nn.Module) -> None:
        self.config = model.config.to_dict()
        self.state = model.state_dict()
        self.training = model.training

    def unpack(self) -> torch.nn.Module:
        transformers = _import_transformers()
        config = transformers.Wav2Vec2Config.from_dict(self.config)
        with private_torch_rng("cpu"):  # the random initialisation is overwritten
            model = transformers.Wav2Vec2Model(config)
        model.load_state_dict(self.state)
        return model.train(self.training)


@fill_doc
class Wav2Vec(_ClipsTransformer):
    """wav2vec 2.0 features of audio clips, aligned with LogMel's frames, in F bands.

    The third feature of Wang, Du and Wang (APSIPA ASC 2022): the hidden
    states of a pre-trained wav2vec 2.0 model (transformers'
    :class:`~transformers.Wav2Vec2Model`), optionally fine-tuned on the
    clips' sections, brought to the F x T shape of :class:`~sklasd.features.LogMel` so that the
    two stack as channels (:class:`~sklasd.features.StackFeatures`)::

        clip at sr -> resampled to 16 kHz, standardised (zero mean, unit variance)
        -> model truncated to `layer` transformer layers: (J, hidden_size), 20 ms frames
        -> linear interpolation in time to LogMel's frames: (T, hidden_size)
        -> projection to n_bands:                           (1, n_bands, T)

    **Time alignment.** Hidden frame ``j`` is centred on sample ``j * S + (R -
    1) / 2`` at 16 kHz, where ``S`` and ``R`` are the stride (320 for
    wav2vec2-base) and receptive field (400) of the model's convolutional
    encoder; LogMel's frame ``t`` is centred on sample ``t * hop_length`` at
    ``sr``. Each LogMel frame takes the linear interpolation of the two hidden
    frames around its centre (the first or last hidden frame beyond them), so
    ``T = 1 + n_samples // hop_length`` as LogMel gives.

    **Projection.** ``projection="pca"`` (default) projects on the
    ``n_bands`` principal axes of the hidden frames of the clips seen in
    ``fit`` (at most 20,000 frames drawn evenly over the clips), centred on
    their mean: the bands hold the directions of most variance, in decreasing
    order; it needs ``n_bands <= hidden_size`` (768 for wav2vec2-base).
    ``projection="random"`` multiplies by a fixed Gaussian matrix (variance
    ``1 / hidden_size``) drawn from ``random_state``: no data needed, any
    ``n_bands``. The output is not in dB: its scale is that of the hidden
    states.

    **Fine-tuning** (``fine_tune=True``, as the paper fine-tunes): before the
    features are extracted, the top ``n_fine_tune_layers`` transformer layers
    of the (truncated) model and a linear head on its time-averaged output are
    trained with cross-entropy to tell the sections (``target``) of the
    normal clips apart, for ``max_epochs`` epochs on random crops of
    ``n_frames * hop_length`` samples, in a
    :class:`~sklasd.embedders.NetEmbedder` (the network is
    :class:`~sklasd.nn.Wav2VecClassifier`; its feature encoder stays frozen
    and SpecAugment is off). The labels travel as metadata, requested by
    default; without fine-tuning they are ignored.

    **Using facebook/wav2vec2-base offline.** Download it once where there
    is internet (``huggingface-cli download facebook/wav2vec2-base
    --local-dir wav2vec2-base``) and pass the directory,
    ``Wav2Vec(model="wav2vec2-base")``; a hub name (the default) loads from
    the Hugging Face cache, offline with ``HF_HUB_OFFLINE=1`` once cached.

    ``fit`` loads all clips into memory (for fine-tuning and the PCA);
    :meth:`transform` reads them ``batch_size`` at a time.

    Requires the optional dependency transformers (``pip install
    sklasd[wav2vec]``), imported in ``fit``.

    Parameters
    ----------
    model : str, os.PathLike, Wav2Vec2Model or Wav2Vec2Config, \
default="facebook/wav2vec2-base"
        A local directory or hub name for
        ``Wav2Vec2Model.from_pretrained``; a model instance (copied in
        ``fit``); or a configuration, for a randomly initialised model (seeded
        from ``random_state``; for tests).
    layer : int or None, default=None
        Number of transformer layers kept: the features are the output of
        layer ``layer`` (0: the input of the first layer, after the feature
        projection and positional convolution); None keeps all layers (the
        model's last hidden state). Models with ``do_stable_layer_norm``
        (e.g. wav2vec2-large-lv60) apply their final layer norm to it too.
    n_bands : int, default=128
        F, the number of output bands (LogMel's ``n_mels`` to stack with it).
    projection : {"pca", "random"}, default="pca"
        How the hidden states are projected to ``n_bands`` (see above).
    sr : int, default=16000
        Sampling rate in Hz of the clips (files are resampled to it, waveform
        rows are taken to be sampled at it); clips are then resampled to the
        model's 16 kHz.
    hop_length : int, default=512
        Hop of the output frames in samples at ``sr`` (LogMel's ``hop_length``).
    fine_tune : bool, default=False
        Whether to fine-tune the top layers on the clips' classes in ``fit``.
    n_fine_tune_layers : int, default=2
        Transformer layers, from the top of the truncated model, that
        fine-tuning trains.
    n_frames : int, default=64
        Length of the fine-tuning crops in output frames, i.e.
        ``n_frames * hop_length`` samples at ``sr`` (rounded up to whole hidden
        frames).
    max_epochs : int, default=5
        Fine-tuning epochs.
    lr : float, default=1e-4
        Learning rate of fine-tuning (Adam with the SGDR schedule of
        :class:`~sklasd.training.ClassifierNet`).
    batch_size : int, default=8
        Clips per batch, in fine-tuning and extraction.
    target : {"section", "attributes", "section_attributes"}, default="section"
        The class labels fine-tuning learns.
    %(clip_reading)s
    random_state : int, RandomState instance or None, default=None
        Seed of a model built from a configuration, of fine-tuning, of the
        frames that fit the PCA and of the random projection. Global random
        states are left alone.
    device : str, default="cpu"
        Torch device of fine-tuning and extraction. The fitted model is kept
        on the CPU (so it unpickles anywhere) and moved to ``device`` while
        :meth:`transform` runs.
    verbose : bool, default=False
        Print a row per fine-tuning epoch and show a progress bar over the clips.

    Attributes
    ----------
    model_ : transformers.Wav2Vec2Model
        The (truncated, possibly fine-tuned) model, on the CPU, in eval mode.
    projection_ : ndarray of shape (hidden_size, n_bands), dtype float32
        The projection of the centred hidden states.
    mean_ : ndarray of shape (hidden_size,), dtype float32
        The centre: the mean hidden frame for PCA, zeros for a random projection.
    receptive_field_ : int
        Receptive field of the model's feature encoder in samples at 16 kHz;
        clips must span at least that long.
    fine_tune_history_ : skorch.callbacks.History
        The fine-tuning history (losses per epoch); only with ``fine_tune=True``.

    See Also
    --------
    sklasd.features.LogMel, Tgram : The other features of the paper.
    sklasd.features.StackFeatures : Stack them as channels.

    Examples
    --------
    >>> import numpy as np
    >>> from transformers import Wav2Vec2Config
    >>> from sklasd.embedders import Wav2Vec
    >>> from sklasd.features import LogMel
    >>> config = Wav2Vec2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
    ...     intermediate_size=64, conv_dim=(16, 16), conv_stride=(5, 64),
    ...     conv_kernel=(10, 128), num_conv_pos_embeddings=16,
    ...     num_conv_pos_embedding_groups=2)
    >>> X = np.random.default_rng(0).standard_normal((4, 16000)).astype(np.float32)
    >>> wav2vec = Wav2Vec(model=config, layer=1, n_bands=16, random_state=0)
    >>> wav2vec.fit_transform(X).shape, LogMel(n_mels=16).fit_transform(X).shape
    ((4, 1, 16, 32), (4, 1, 16, 32))
    """

    __metadata_request__fit: ClassVar[dict] = {"section": True, "attributes": True}

    _parameter_constraints: ClassVar[dict] = {
        **_ClipsTransformer._clip_constraints,
        "model": "no_validation",  # checked in fit, once transformers is imported
        "layer": [Interval(Integral, 0, None, closed="left"), None],
        "n_bands": [Interval(Integral, 1, None, closed="left")],
        "projection": [StrOptions({"pca", "random"})],
        "hop_length": [Interval(Integral, 1, None, closed="left")],
        "fine_tune": ["boolean"],
        "n_fine_tune_layers": [Interval(Integral, 1, None, closed="left")],
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
        model="facebook/wav2vec2-base",
        layer=None,
        n_bands=128,
        projection="pca",
        sr=16000,
        hop_length=512,
        fine_tune=False,
        n_fine_tune_layers=2,
        n_frames=64,
        max_epochs=5,
        lr=1e-4,
        batch_size=8,
        target="section",
        channel="mix",
        duration=None,
        n_jobs=None,
        random_state=None,
        device="cpu",
        verbose=False,
    ):
        self.model = model
        self.layer = layer
        self.n_bands = n_bands
        self.projection = projection
        self.sr = sr
        self.hop_length = hop_length
        self.fine_tune = fine_tune
        self.n_fine_tune_layers = n_fine_tune_layers
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

    # -- pickling -------------------------------------------------------------------

    def __getstate__(self) -> dict:
        state = dict(super().__getstate__())  # a copy: the estimator keeps its model
        for name in ("model", "model_"):
            if isinstance(state.get(name), torch.nn.Module):
                state[name] = _PackedModel(state[name])
        return state

    def __setstate__(self, state: dict) -> None:
        for name in ("model", "model_"):
            if isinstance(state.get(name), _PackedModel):
                state[name] = state[name].unpack()
        super().__setstate__(state)

    # -- the model ------------------------------------------------------------------

    def _build_model(self, seed: int) -> torch.nn.Module:
        """A fresh copy of the model, truncated to ``layer`` transformer layers."""
        transformers = _import_transformers()
        if isinstance(self.model, transformers.Wav2Vec2Model):
            model = copy.deepcopy(self.model)
        elif isinstance(self.model, transformers.Wav2Vec2Config):
            with private_torch_rng("cpu", seed):
                model = transformers.Wav2Vec2Model(copy.deepcopy(self.model))
        elif isinstance(self.model, str | os.PathLike):
            try:
                model = transformers.Wav2Vec2Model.from_pretrained(os.fspath(self.model))
            except OSError as exc:
                raise OSError(
                    f"Could not load the wav2vec 2.0 model {os.fspath(self.model)!r}: {exc}. "
                    "Without internet, download it once (huggingface-cli download "
                    "facebook/wav2vec2-base --local-dir DIR) and pass model=DIR."
                ) from exc
        else:
            raise TypeError(
                "model must be a local directory or hub name, a transformers Wav2Vec2Model "
                f"or a Wav2Vec2Config, got {type(self.model).__name__}."
            )
        n_layers = len(model.encoder.layers)
        if self.layer is not None:
            if self.layer > n_layers:
                raise ValueError(
                    f"layer={self.layer} exceeds the {n_layers} transformer layers of the model."
                )
            model.encoder.layers = model.encoder.layers[: self.layer]
            model.config.num_hidden_layers = self.layer
        return model.float().cpu()

    @contextmanager
    def _model_on_device(self) -> Iterator[torch.nn.Module]:
        """The fitted model on ``device`` in eval mode, back on the CPU afterwards."""
        model = self.model_.eval()
        try:
            yield model.to(check_device(self.device))
        finally:
            model.cpu()

    def _min_samples(self) -> int:
        return math.ceil(self.receptive_field_ * self.sr / MODEL_SR)

    def _to_model_rate(self, waves: np.ndarray) -> np.ndarray:
        if self.sr == MODEL_SR:
            return waves
        return librosa.resample(waves, orig_sr=self.sr, target_sr=MODEL_SR, axis=-1)

    def _aligned_hidden(self, model: torch.nn.Module, waves: np.ndarray) -> torch.Tensor:
        """Hidden states (batch, T, hidden_size) at LogMel's frames, on the CPU."""
        with torch.inference_mode():
            x = torch.from_numpy(self._to_model_rate(waves)).to(next(model.parameters()).device)
            hidden = wav2vec_hidden(model, x).float().cpu()
        stride, field = _receptive_field(model.config)
        n_hidden = hidden.shape[1]
        centres = np.arange(1 + waves.shape[1] // self.hop_length) * (
            self.hop_length * MODEL_SR / self.sr
        )
        position = np.clip((centres - (field - 1) / 2) / stride, 0, n_hidden - 1)
        low = np.floor(position).astype(np.int64)
        high = np.minimum(low + 1, n_hidden - 1)
        weight = torch.from_numpy((position - low).astype(np.float32))[:, None]
        return hidden[:, low] * (1 - weight) + hidden[:, high] * weight

    # -- fit ------------------------------------------------------------------------

    def _fine_tune(self, model, waves, y, section, attributes, seed: int) -> torch.nn.Module:
        """Train the top layers of ``model`` on the clips' classes; return the model."""
        stride, field = _receptive_field(model.config)
        blocks = waveform_frames(self._to_model_rate(waves), stride)
        crop = self.n_frames * self.hop_length * MODEL_SR / self.sr
        n_blocks = max(math.ceil(crop / stride), math.ceil(field / stride))
        net = ClassifierNet(
            Wav2VecClassifier,
            module__model=model,
            module__n_trainable_layers=self.n_fine_tune_layers,
            max_epochs=self.max_epochs,
            lr=self.lr,
            batch_size=self.batch_size,
            verbose=int(self.verbose),
        )
        embedder = NetEmbedder(
            net=net, target=self.target, n_frames=n_blocks, random_state=seed, device=self.device
        ).fit(blocks, y, section=section, attributes=attributes)
        self.fine_tune_history_ = embedder.net_.history
        return embedder.net_.module_.model.cpu()

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, *, section=None, attributes=None):
        """Load the model, fine-tune it if asked, and fit the projection.

        Parameters
        ----------
        X : sequence of str or os.PathLike of length n_clips, or array-like of \
shape (n_clips, n_samples)
            Audio file paths or waveforms sampled at ``sr``.
        y : array-like of shape (n_clips,), default=None
            Anomaly labels (0 normal, 1 anomalous); anomalous clips are left out
            of fine-tuning. None means all clips are normal.
        section : array-like of shape (n_clips,), default=None
            Section of every clip (metadata), for fine-tuning.
        attributes : array-like of shape (n_clips,), default=None
            Attribute label of every clip (metadata), for fine-tuning on
            attributes.

        Returns
        -------
        self : Wav2Vec
            The fitted transformer.

        Raises
        ------
        ImportError
            If transformers is not installed.
        ValueError
            For clips shorter than the model's receptive field, ``layer``
            beyond the model's layers, ``projection="pca"`` with more bands
            than hidden units or frames, or labels fine-tuning cannot use.
        """
        check_clips(X)
        model_seed, tune_seed, projection_seed = spawn_seeds(self.random_state, 3)
        model = self._build_model(model_seed)
        self.receptive_field_ = _receptive_field(model.config)[1]
        waves = self._load_waveforms(X)
        if self.fine_tune:
            if self.layer == 0:
                raise ValueError("fine_tune=True needs layer >= 1: layer=0 keeps no layer.")
            model = self._fine_tune(model, waves, y, section, attributes, tune_seed)
        self.model_ = model.eval()
        hidden_size = model.config.hidden_size
        rng = np.random.default_rng(projection_seed)
        if self.projection == "random":
            self.projection_ = (
                rng.standard_normal((hidden_size, self.n_bands)) / np.sqrt(hidden_size)
            ).astype(np.float32)
            self.mean_ = np.zeros(hidden_size, dtype=np.float32)
            return self
        self._fit_pca(waves, rng, hidden_size, projection_seed)
        return self

    def _fit_pca(self, waves: np.ndarray, rng, hidden_size: int, seed: int) -> None:
        """Fit the projection on frames drawn evenly from the clips' aligned hidden states."""
        per_clip = max(1, math.ceil(_MAX_PCA_FRAMES / len(waves)))
        frames = []
        with self._model_on_device() as model:
            for start in range(0, len(waves), self.batch_size):
                hidden = self._aligned_hidden(model, waves[start : start + self.batch_size])
                for clip in hidden.numpy():
                    keep = rng.permutation(len(clip))[:per_clip]
                    frames.append(clip[np.sort(keep)])
        frames = np.concatenate(frames)
        if self.n_bands > min(hidden_size, len(frames)):
            raise ValueError(
                f"projection='pca' needs n_bands <= the model's hidden_size and the number of "
                f"frames, but n_bands={self.n_bands}, hidden_size={hidden_size} and "
                f"{len(frames)} frames; lower n_bands or use projection='random'."
            )
        pca = PCA(n_components=self.n_bands, svd_solver="full").fit(frames)
        self.projection_ = pca.components_.T.astype(np.float32)
        self.mean_ = pca.mean_.astype(np.float32)

    def transform(self, X):
        """The projected, frame-aligned wav2vec 2.0 features of every clip.

        Parameters
        ----------
        X : sequence of str or os.PathLike of length n_clips, or array-like of \
shape (n_clips, n_samples)
            Audio file paths (read ``batch_size`` at a time) or waveforms sampled
            at ``sr``, spanning at least the model's receptive field.

        Returns
        -------
        features : ndarray of shape (n_clips, 1, n_bands, n_frames), dtype float32
            ``n_frames = 1 + n_samples // hop_length``, as LogMel gives.
        """
        check_is_fitted(self)
        projection = torch.from_numpy(self.projection_)
        mean = torch.from_numpy(self.mean_)

        def compute(waves: np.ndarray) -> np.ndarray:
            hidden = self._aligned_hidden(model, waves)
            return ((hidden - mean) @ projection).mT.unsqueeze(1).numpy()

        with self._model_on_device() as model:
            return self._map_batches(X, compute)
