"""RC-MAE pre-training: a ViT trained self-supervised (masked autoencoder, contrastive, VCR)
on log-mel crops, as a transformer (Zahedi et al., Algorithms 2023)."""

from __future__ import annotations

from numbers import Integral
from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
    clone,
)
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import _num_samples, check_is_fitted

from sklasd.base import VersionStampMixin
from sklasd.datasets import load_audio
from sklasd.features import Compose, FrequencyMask, LogMel, TimeMask
from sklasd.nn import RCMAELoss, RCMAENet
from sklasd.training import (
    ClassifierNet,
    PairedCrops,
    SeedEpochs,
    SlidingCrops,
    check_features,
    check_input,
    make_feature_step,
)
from sklasd.utils import check_device, check_labels, private_torch_rng, spawn_seeds

__all__ = ["RCMAEPretrainer", "make_rcmae_net"]

# The encoder of the CPU-sized default; the paper's is depth=12, n_heads=6.
_CPU_ENCODER = {"embed_dim": 192, "depth": 3, "n_heads": 6}


def make_rcmae_net(**params: Any) -> ClassifierNet:
    """The default pre-training net of :class:`RCMAEPretrainer`, to adjust and pass on.

    ``ClassifierNet(RCMAENet, criterion=RCMAELoss, optimizer=AdamW, lr=5e-4,
    max_epochs=30, module__embed_dim=192, module__depth=3, module__n_heads=6,
    module__decoder_dim=96, module__decoder_depth=1, module__decoder_heads=6,
    **params)``: a :class:`~sklasd.nn.RCMAENet` sized for a CPU (the paper's
    encoder has depth 12 and 6 heads: ``module__depth=12``), on 16 x 16
    patches, 75% of them masked, 512-d projections, trained with
    :class:`~sklasd.nn.RCMAELoss` (weights 0.3/0.3/0.4, temperature 0.05,
    as ``criterion__contrastive_weight`` etc.).

    Parameters
    ----------
    **params : dict
        :class:`~sklasd.training.ClassifierNet` parameters overriding the above
        (``module__depth=12``, ``module__mask_ratio=0.5``, ``max_epochs=100``...).

    Returns
    -------
    net : ClassifierNet
        An unfitted net.

    See Also
    --------
    make_rcmae_finetune_net : The fine-tuning net.

    Examples
    --------
    >>> from sklasd.embedders import make_rcmae_net
    >>> net = make_rcmae_net(module__depth=12, criterion__mae_weight=0.5)
    >>> net.module.__name__, net.module__depth, net.module__n_heads
    ('RCMAENet', 12, 6)
    """
    defaults = {
        "criterion": RCMAELoss,
        "optimizer": torch.optim.AdamW,
        "lr": 5e-4,
        "max_epochs": 30,
        **{f"module__{name}": value for name, value in _CPU_ENCODER.items()},
        "module__decoder_dim": 96,
        "module__decoder_depth": 1,
        "module__decoder_heads": 6,
    }
    return ClassifierNet(RCMAENet, **{**defaults, **params})


def _default_augmentation() -> Compose:
    """SpecAugment-style masking of log-mel crops: the default contrastive view."""
    return Compose(steps=[TimeMask(max_width=0.2, n_masks=2), FrequencyMask(n_masks=2)])


class RCMAEPretrainer(
    VersionStampMixin, ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator
):
    """Self-supervised pre-training of RC-MAE on unlabelled clips; embeds clips.

    Stage 1 of Zahedi et al. ("Regularized contrastive masked autoencoder model
    for machinery anomaly detection using diffusion-based data augmentation",
    Algorithms 16(9), 2023): log-mel spectrograms (``features``; by default
    1024-point FFT, hop 512, 128 bands between 50 and 8000 Hz) are cut into
    random crops of ``n_frames`` frames and into 16 x 16 patches; a ViT encoder
    sees the patches left after masking (75% masked) and a decoder reconstructs
    the masked ones; the pooled embeddings of each crop and of an augmented view
    of it are projected to 512 dimensions for an InfoNCE loss (temperature
    0.05) and a variance-covariance regulariser on each branch. The loss is
    ``0.3 L_con + 0.3 L_VCR + 0.4 L_MAE`` (:class:`~sklasd.nn.RCMAELoss`; the
    net in ``net``, :func:`make_rcmae_net`).

    **Views.** The view of a crop is the same frames of the clip itself, or of
    an augmented copy of the clip when ``waveform_augmentation`` is given (e.g.
    :class:`~sklasd.features.NoiseMix`, or the paper's diffusion-based
    :class:`~sklasd.features.AudioLDMAugmenter`; applied once per training clip
    before ``fit`` computes features, so clips given as paths are then read
    into memory), passed through ``augmentation`` (applied anew to every crop
    in every epoch).

    A fitted pretrainer is reusable: wrap it in
    :class:`sklearn.frozen.FrozenEstimator` and give it to several
    :class:`RCMAEDetector` (``pretrained=``), also in one grid search, without
    pre-training again. :meth:`transform` gives the encoder's embeddings of
    whole clips (the mean over crops), e.g. for the scorer steps of
    :mod:`sklasd.scoring`.

    Clips labelled anomalous (``y == 1``) are left out of pre-training.

    Parameters
    ----------
    features : transformer, "passthrough" or None, default=None
        Unfitted transformer from clips to features (n_clips, n_channels,
        n_bands, n_frames), cloned in ``fit``; None means
        ``LogMel(n_fft=1024, hop_length=512, n_mels=128, fmin=50, fmax=8000)``.
        ``"passthrough"``: ``X`` already holds the features (the detector is the
        last step of a Pipeline after its feature step, e.g.
        ``make_pipeline(LogMel(), <detector>(features="passthrough"))``).
    net : ClassifierNet or None, default=None
        Unfitted pre-training net (cloned); None means :func:`make_rcmae_net`.
        Its module gets ``in_channels`` and ``input_size=(n_bands, n_frames)``
        from the data.
    n_frames : int, default=64
        Crop length in frames, in training and inference (64 frames at hop 512
        and 16 kHz are 2 s). Clips shorter than that are used whole: the crop length
        ``n_frames_`` is ``min(n_frames, frames of the training clips)``, and clips
        scored later need at least ``n_frames_`` frames.
    augmentation : "specaugment", callable or None, default="specaugment"
        What makes a crop's view differ from the crop, per crop and epoch:
        ``"specaugment"`` is ``Compose([TimeMask(max_width=0.2, n_masks=2),
        FrequencyMask(n_masks=2)])``; any ``augmentation(crop, rng)`` of
        :mod:`sklasd.features`; None for none (then give
        ``waveform_augmentation``, or the contrastive task is trivial).
    waveform_augmentation : Augmenter or None, default=None
        Waveform augmenter whose output, per training clip, is the source of
        the views; None uses the clips themselves. Clips given as paths are
        read with the ``sr``, ``channel`` and ``duration`` of ``features``
        (16 kHz, mixed down, whole clips where it has none).
    inference_hop : int or None, default=None
        Frames between the crops of a clip in :meth:`transform`; None means
        ``n_frames``.
    random_state : int, RandomState instance or None, default=None
        Seed of everything random in ``fit`` (weights, crops, masks, views,
        shuffling). Global random states are left alone.
    device : str or None, default=None
        Torch device, overriding the net's; None keeps the net's.

    Attributes
    ----------
    features_ : transformer
        The fitted feature transformer.
    n_frames_ : int
        The crop length used: ``n_frames``, or the training clips' length where
        they are shorter.
    net_ : ClassifierNet
        The pre-trained net (``net_.module_.encoder`` is the ViT encoder,
        ``net_.history`` the training history).
    n_channels_in_, n_bands_in_ : int
        Channels and bands of the features seen in ``fit``.
    n_features_out_ : int
        Embedding dimension.

    See Also
    --------
    RCMAEDetector : Fine-tunes the encoder on sections and scores clips.
    make_rcmae_net : The default net, to adjust.

    Examples
    --------
    >>> from sklearn.frozen import FrozenEstimator
    >>> from sklasd.datasets import make_machine_sounds
    >>> from sklasd.embedders import RCMAEPretrainer, make_rcmae_net
    >>> from sklasd.features import LogMel
    >>> X, meta = make_machine_sounds(machine_types="fan", n_train=4, n_test=0,
    ...                               duration=1.0, random_state=0)
    >>> tiny = make_rcmae_net(module__patch_size=8, module__embed_dim=16, module__depth=1,
    ...                       module__n_heads=2, module__decoder_dim=8,
    ...                       module__decoder_heads=2, module__projection_dim=8,
    ...                       max_epochs=2)
    >>> pretrainer = RCMAEPretrainer(features=LogMel(n_mels=16), net=tiny, n_frames=16,
    ...                              random_state=0).fit(X)
    >>> pretrainer.transform(X).shape == (len(X), 16)
    True
    >>> frozen = FrozenEstimator(pretrainer)  # for RCMAEDetector(pretrained=frozen)
    """

    _parameter_constraints: ClassVar[dict] = {
        "features": [None, StrOptions({"passthrough"}), HasMethods(["fit", "transform"])],
        "net": [ClassifierNet, None],
        "n_frames": [Interval(Integral, 1, None, closed="left")],
        "augmentation": [StrOptions({"specaugment"}), callable, None],
        "waveform_augmentation": [HasMethods(["augment"]), None],
        "inference_hop": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
        "device": [str, torch.device, None],
    }

    def __init__(
        self,
        *,
        features: Any = None,
        net: ClassifierNet | None = None,
        n_frames: int = 64,
        augmentation: Any = "specaugment",
        waveform_augmentation: Any = None,
        inference_hop: int | None = None,
        random_state: Any = None,
        device: str | None = None,
    ):
        self.features = features
        self.net = net
        self.n_frames = n_frames
        self.augmentation = augmentation
        self.waveform_augmentation = waveform_augmentation
        self.inference_hop = inference_hop
        self.random_state = random_state
        self.device = device

    def _views(self, X, seed: int) -> np.ndarray | None:
        """Features of the waveform-augmented clips, or None."""
        if self.waveform_augmentation is None:
            return None
        if isinstance(self.features, str):  # "passthrough"
            raise ValueError(
                "waveform_augmentation augments waveforms: it needs clips, not the features "
                "of features='passthrough'."
            )
        if isinstance(X, list):
            params = self.features_.get_params()
            X = load_audio(
                X,
                sr=params.get("sr", 16000),
                channel=params.get("channel", "mix"),
                duration=params.get("duration"),
            )
        augmented = self.waveform_augmentation.augment(X, random_state=seed)
        return self.features_.transform(augmented.astype(X.dtype))

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any = None) -> RCMAEPretrainer:
        """Pre-train the encoder on the clips.

        Parameters
        ----------
        X : sequence of str of length n_clips, or array-like of shape (n_clips, n_samples)
            Training clips: audio file paths or waveforms, with at least
            ``n_frames`` frames of features.
        y : array-like of shape (n_clips,), default=None
            Anomaly labels (0 normal, 1 anomalous); anomalous clips are left
            out. None means all clips are normal.

        Returns
        -------
        self : RCMAEPretrainer
            The fitted pretrainer.
        """
        X = check_input(X, features=self.features)
        y = check_labels(y, _num_samples(X))
        if y is not None:
            keep = np.flatnonzero(y == 0)
            X = [X[i] for i in keep] if isinstance(X, list) else X[keep]
        if _num_samples(X) < 2:
            raise ValueError(
                f"RCMAEPretrainer needs at least 2 normal clips (contrastive batches), got "
                f"{_num_samples(X)}."
            )
        seed, view_seed = spawn_seeds(self.random_state, 2)
        default = LogMel(n_fft=1024, hop_length=512, n_mels=128, fmin=50.0, fmax=8000.0)
        self.features_ = make_feature_step(self.features, default)
        features = check_features(self.features_.fit_transform(X))
        self.n_frames_ = min(self.n_frames, features.shape[-1])
        views = self._views(X, view_seed)
        self.n_channels_in_, self.n_bands_in_ = features.shape[1:3]
        augmentation = self.augmentation
        if isinstance(augmentation, str):  # "specaugment"
            augmentation = _default_augmentation()
        net = make_rcmae_net() if self.net is None else clone(self.net)
        net.set_params(device=check_device(net.device if self.device is None else self.device))
        net.set_params(
            module__in_channels=self.n_channels_in_,
            module__input_size=(self.n_bands_in_, self.n_frames_),
            callbacks=[*(net.callbacks or []), ("seed_epochs", SeedEpochs(seed))],
        )
        dataset = PairedCrops(
            features, views, n_frames=self.n_frames_, augmentation=augmentation, seed=seed
        )
        with private_torch_rng(net.device, seed):
            net.fit(dataset, None)
        self.net_ = net
        self.n_features_out_ = net.module_.encoder.embed_dim
        return self

    @property
    def _n_features_out(self) -> int:
        return self.n_features_out_

    def transform_features(self, features: Any) -> np.ndarray:
        """Embeddings of clips given as features: the mean over their crops.

        Parameters
        ----------
        features : array-like of shape (n_clips, n_channels, n_bands, n_frames)
            Output of ``features_`` (at least ``n_frames`` frames).

        Returns
        -------
        embeddings : ndarray of shape (n_clips, `n_features_out_`), dtype float32
        """
        check_is_fitted(self)
        features = check_features(features, n_frames=self.n_frames_, fitted=self)
        crops = SlidingCrops(
            features, n_frames=self.n_frames_, hop=self.inference_hop or self.n_frames_
        )
        return crops.outputs(self.net_, "embed").mean(axis=1)

    def transform(self, X: Any) -> np.ndarray:
        """Embed clips with the pre-trained encoder (mean over crops).

        Parameters
        ----------
        X : sequence of str of length n_clips, or array-like of shape (n_clips, n_samples)
            Clips: audio file paths or waveforms.

        Returns
        -------
        embeddings : ndarray of shape (n_clips, `n_features_out_`), dtype float32
        """
        check_is_fitted(self)
        return self.transform_features(
            self.features_.transform(check_input(X, features=self.features))
        )
