"""Training networks as scikit-learn estimators, on skorch.

:class:`NetEmbedder` trains a network to tell sections (or attributes) apart on
random crops of spectrogram-like features and exposes embeddings and class
probabilities averaged over crops; :class:`ClassifierNet` is the skorch net it
trains (optimizer, SGDR schedule, mixed precision, checkpoints, progress output).
"""

from sklasd.training._accelerate import AcceleratedClassifierNet
from sklasd.training._binary import BinaryNet, RatioBatchSampler, SegmentCrops
from sklasd.training._callbacks import SeedEpochs
from sklasd.training._data import (
    RandomCrops,
    SlidingCrops,
    check_features,
    check_input,
    crop_starts,
    make_feature_step,
)
from sklasd.training._embedder import NetEmbedder
from sklasd.training._event_mixing import EventMixing
from sklasd.training._net import ClassifierNet, WarmRestarts
from sklasd.training._rcmae import InitEncoder, PairedCrops
from sklasd.training._sampler import SectionBalancedBatchSampler

__all__ = [
    "AcceleratedClassifierNet",
    "BinaryNet",
    "ClassifierNet",
    "EventMixing",
    "InitEncoder",
    "NetEmbedder",
    "PairedCrops",
    "RandomCrops",
    "RatioBatchSampler",
    "SectionBalancedBatchSampler",
    "SeedEpochs",
    "SegmentCrops",
    "SlidingCrops",
    "WarmRestarts",
    "check_features",
    "check_input",
    "crop_starts",
    "make_feature_step",
]
