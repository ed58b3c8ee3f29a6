"""The configurations of the five papers behind sklasd's detectors, as ordinary estimators."""

from __future__ import annotations

from typing import Any

import torch
from skorch.callbacks import LRScheduler

from sklasd.detectors._centroid_bce import CentroidBCEDetector, make_centroid_net
from sklasd.detectors._id_classifier import IDClassifierDetector, make_id_embedder
from sklasd.detectors._outlier_classifier import OutlierClassifierDetector, make_outlier_net
from sklasd.detectors._rcmae import RCMAEDetector, make_rcmae_finetune_net
from sklasd.detectors._sound_event import SoundEventDetector
from sklasd.embedders import RCMAEPretrainer, Tgram, Wav2Vec, make_rcmae_net
from sklasd.features import FACTORY_NOISE_PROMPTS, AudioLDMAugmenter, LogMel, StackFeatures
from sklasd.nn import CENTROID_ALPHA, MobileNetV2
from sklasd.training import ClassifierNet

__all__ = ["PAPER_PRESETS", "make_paper_detector"]

#: The names :func:`make_paper_detector` knows, with the paper and the estimator each builds.
PAPER_PRESETS: dict[str, str] = {
    "wang2021-outlier": "Wang et al., Appl. Sci. 2021, section 2.1: OutlierClassifierDetector",
    "wang2021-id": "Wang et al., Appl. Sci. 2021, section 2.2 and Table 1: IDClassifierDetector",
    "wang2022": "Wang, Du and Wang, APSIPA ASC 2022, experiment 6: IDClassifierDetector",
    "kuroyanagi2021": "Kuroyanagi et al., EUSIPCO 2021, BCE+DDCSAD: CentroidBCEDetector",
    "zeng2023-sec": "Zeng, Liu and Zhou, DCASE 2023, MV2_SEC: SoundEventDetector",
    "zeng2023-sed": "Zeng, Liu and Zhou, DCASE 2023, MV2_SED: SoundEventDetector",
    "zahedi2023": "Zahedi et al., Algorithms 2023, RC-MAE: RCMAEDetector",
}

# Kuroyanagi et al.: 4,000 iterations of batches of 32 normal clips; DCASE 2020 has about
# 1,000 normal training clips per machine ID, so about 31 iterations per epoch.
_KUROYANAGI_EPOCHS = 128
# Zeng et al., Table 2: 40,000 fine-tuning iterations in batches of 32 over the 14 DCASE 2023
# machine types (about 1,000 clips each, 10 crops of 3 s per clip and epoch on average).
_ZENG_EPOCHS = 90


def _wang2021_outlier(machine_type: str | None) -> OutlierClassifierDetector:
    return OutlierClassifierDetector(
        outliers="dataset",
        net=make_outlier_net(module__width=32),
        stage_weights=(0.1, 0.3, 0.6),
    )


def _wang2021_id(machine_type: str | None) -> IDClassifierDetector:
    return IDClassifierDetector(
        embedder=make_id_embedder(
            network="mobilenetv3", module__width_mult=1.0, module__depth_mult=1.0
        ),
        score_rule="ocsvm" if machine_type == "ToyCar" else "cosine",
    )


def _wang2022(machine_type: str | None) -> IDClassifierDetector:
    features = StackFeatures(
        transformer_list=[
            ("logmel", LogMel(n_fft=1024, hop_length=512, n_mels=128)),
            ("tgram", Tgram(n_mels=128)),
            ("wav2vec", Wav2Vec(fine_tune=True)),
        ]
    )
    embedder = make_id_embedder(
        network="tdnn",
        loss="ce+triplet+attribute",
        module__width_mult=1.0,
        lr=2e-4,
        max_epochs=100,
        callbacks__lr_scheduler=None,
    )
    return IDClassifierDetector(features=features, embedder=embedder, score_rule="cosine")


def _kuroyanagi2021(machine_type: str | None) -> CentroidBCEDetector:
    alpha = CENTROID_ALPHA["bce+ddcsad"].get(machine_type, "auto")
    halving = LRScheduler(
        policy=torch.optim.lr_scheduler.StepLR, step_size=1000, gamma=0.5, step_every="batch"
    )
    return CentroidBCEDetector(
        features=LogMel(n_fft=1024, hop_length=512, n_mels=128),
        loss="bce+ddcsad",
        lambda_=1.0,
        eta=2.0,
        alpha=alpha,
        standardize="batch",
        outliers="dataset",
        net=make_centroid_net(
            size="paper",
            module__pooling="mean",
            optimizer__param_groups=[("embedding*", {"lr": 1e-3}), ("head*", {"lr": 1e-3})],
            callbacks__lr_scheduler=halving,
            max_epochs=_KUROYANAGI_EPOCHS,
            lr=1e-4,
        ),
        n_frames=256,
        n_segments=10,
        batch_ratio=(32, 31, 1),
        warm_start=True,
    )


def _zeng2023(mode: str) -> SoundEventDetector:
    net = ClassifierNet(
        MobileNetV2,
        module__head="linear",
        module__last_channels=128,
        lr=1e-3,
        batch_size=32,
        max_epochs=_ZENG_EPOCHS,
        callbacks__lr_scheduler=None,
    )
    return SoundEventDetector(
        features=LogMel(n_fft=512, hop_length=160, n_mels=64),
        network=None,
        mode=mode,
        net=net,
        window_seconds=3.0,
        stride_seconds=0.5,
        score_rule="mahalanobis",
    )


def _zahedi2023(machine_type: str | None, audioldm: Any = None) -> RCMAEDetector:
    augmenter = (
        None
        if audioldm is None
        else AudioLDMAugmenter(
            pipeline=audioldm,
            prompts=FACTORY_NOISE_PROMPTS,
            num_inference_steps=(10, 50),
            guidance_scale=2.5,
        )
    )
    pretrainer = RCMAEPretrainer(
        features=LogMel(n_fft=1024, hop_length=512, n_mels=128, fmin=50, fmax=8000),
        net=make_rcmae_net(
            module__embed_dim=384,
            module__depth=12,
            module__n_heads=6,
            module__decoder_dim=384,
            module__decoder_depth=12,
            module__decoder_heads=6,
            module__projection_dim=512,
            optimizer=torch.optim.Adam,
            lr=1e-4,
            batch_size=128,
            max_epochs=400,
            callbacks__lr_scheduler=None,
        ),
        waveform_augmentation=augmenter,
    )
    return RCMAEDetector(pretrained=pretrainer, net=make_rcmae_finetune_net())


def make_paper_detector(
    name: str, *, machine_type: str | None = None, audioldm: Any = None, **params: Any
) -> Any:
    """An unfitted detector configured as in one of the five papers.

    Each preset is an ordinary estimator (clone it, search over it, pickle
    it) with the paper's network sizes, features, losses, schedules and
    scores; what a paper leaves open keeps the detector's default, and each
    preset's documentation page lists both. The sizes are the papers':
    training them takes a GPU (``device="cuda"``) and the full DCASE data.

    ==================  ==========================================================
    name                configuration
    ==================  ==========================================================
    "wang2021-outlier"  :class:`OutlierClassifierDetector`: outliers from the same
                        data set (section 2.1), the full-width CBAM CNN
                        (``width=32``), stage weights ``w1 < w2 < w3``.
    "wang2021-id"       :class:`IDClassifierDetector` on the MobileNet of Table 1
                        (``width_mult=depth_mult=1``), cross-entropy, scored by
                        OneClassSVM for ToyCar and cosine similarity otherwise
                        (section 3).
    "wang2022"          :class:`IDClassifierDetector`: LogMel (1024/512/128) +
                        Tgram + fine-tuned wav2vec 2.0 stacked (Eq. 4), TDNN, CE +
                        batch-hard triplet + attribute loss (Eq. 5), Adam at
                        2e-4 for 100 epochs, cosine score against the training
                        clips of the section (Eq. 7): experiment 6 of Table I.
    "kuroyanagi2021"    :class:`CentroidBCEDetector`: BCE+DDCSAD (Eq. 4, lambda 1,
                        eta 2), alpha of Table I for the machine type, PANNs'
                        ResNet38 with global average pooling, LogMel
                        (1024/512/128), outliers from the same data set, Adam at
                        1e-4 (1e-3 for the fully connected layers) halved every
                        1,000 iterations, 10 segments of 256 frames, distance
                        standardised over the scored clips, batches 32:31:1 and
                        a warm start with known anomalies.
    "zeng2023-sec",     :class:`SoundEventDetector` (``mode="sec"`` / ``"sed"``):
    "zeng2023-sed"      MobileNetV2 of Table 1 with a 128-channel last 1x1
                        convolution (the embedding), LogMel (512/160/64), 3 s
                        windows every 0.5 s, Adam at 1e-3 in batches of 32,
                        Mahalanobis score per domain (Eq. 3).
    "zahedi2023"        :class:`RCMAEDetector`: RC-MAE pre-training with encoder
                        and decoder of depth 12 and 6 heads, 512-d projections,
                        loss weights 0.3/0.3/0.4, Adam at 1e-4, batch 128, 400
                        epochs, LogMel (1024/512/128, 50-8000 Hz); with
                        ``audioldm`` the diffusion augmentation of Tables 1-2.
    ==================  ==========================================================

    Parameters
    ----------
    name : str
        A key of :data:`PAPER_PRESETS`.
    machine_type : str or None, default=None
        The machine type the detector will be trained on, for the paper's
        machine-type-dependent choices: the ID classifier's scorer
        (``"wang2021-id"``: OneClassSVM for ``"ToyCar"``) and ``alpha``
        (``"kuroyanagi2021"``: Table I; ``"auto"`` for a type outside it,
        which takes Table I per group when ``fit`` gets ``machine_type``).
    audioldm : str, path-like, diffusers.AudioLDMPipeline or None, default=None
        ``"zahedi2023"`` only: the AudioLDM pipeline of the diffusion-based
        augmentation (:class:`~sklasd.features.AudioLDMAugmenter` with the
        paper's prompts, DDIM steps drawn from (10, 50), guidance 2.5); None
        pre-trains with SpecAugment views alone (the paper's "without DDA").
    **params : dict
        Parameters set on the estimator afterwards (``set_params``), e.g.
        ``device="cuda"``, ``random_state=0`` or nested sizes for a quick run.

    Returns
    -------
    estimator : BaseDetector
        The unfitted, configured detector.

    Raises
    ------
    ValueError
        If ``name`` is unknown, or ``audioldm`` is given to another preset.

    See Also
    --------
    PAPER_PRESETS : The preset names.

    Examples
    --------
    >>> from sklasd.detectors import make_paper_detector
    >>> detector = make_paper_detector("kuroyanagi2021", machine_type="pump")
    >>> detector.loss, detector.alpha, detector.n_frames, detector.outliers
    ('bce+ddcsad', 1.0, 256, 'dataset')
    >>> make_paper_detector("wang2021-id", machine_type="ToyCar").score_rule
    'ocsvm'
    >>> make_paper_detector("zeng2023-sed", random_state=0).net.module__last_channels
    128
    """
    if name not in PAPER_PRESETS:
        raise ValueError(f"Unknown paper preset {name!r}; choose from {sorted(PAPER_PRESETS)}.")
    if audioldm is not None and name != "zahedi2023":
        raise ValueError(f"audioldm configures the 'zahedi2023' preset only, not {name!r}.")
    builders = {
        "wang2021-outlier": _wang2021_outlier,
        "wang2021-id": _wang2021_id,
        "wang2022": _wang2022,
        "kuroyanagi2021": _kuroyanagi2021,
        "zeng2023-sec": lambda machine: _zeng2023("sec"),
        "zeng2023-sed": lambda machine: _zeng2023("sed"),
        "zahedi2023": lambda machine: _zahedi2023(machine, audioldm),
    }
    estimator = builders[name](machine_type)
    return estimator.set_params(**params) if params else estimator
