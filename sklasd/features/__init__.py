"""Feature transformers: log-mel spectrograms, waveform frames, stacking, pooling, augmenters."""

from sklasd.features._audioldm import FACTORY_NOISE_PROMPTS, AudioLDMAugmenter
from sklasd.features._augment import (
    Augmenter,
    Compose,
    FrequencyMask,
    Gain,
    NoiseMix,
    TimeMask,
    TimeShift,
)
from sklasd.features._logmel import LogMel
from sklasd.features._pooling import TimePooling
from sklasd.features._stack import StackFeatures
from sklasd.features._waveform import WaveformFrames, waveform_frames

__all__ = [
    "FACTORY_NOISE_PROMPTS",
    "AudioLDMAugmenter",
    "Augmenter",
    "Compose",
    "FrequencyMask",
    "Gain",
    "LogMel",
    "NoiseMix",
    "StackFeatures",
    "TimeMask",
    "TimePooling",
    "TimeShift",
    "WaveformFrames",
    "waveform_frames",
]
