"""Training networks as scikit-learn estimators, on skorch.

:class:`ClassifierNet` is the skorch net that the embedders of :mod:`sklasd.embedders`
train (optimizer, SGDR schedule, mixed precision, checkpoints, progress output);
:class:`BinaryNet` the one of the binary per-section detectors. The crop datasets,
batch samplers and callbacks here feed them.
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
