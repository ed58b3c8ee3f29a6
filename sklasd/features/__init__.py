"""Feature transformers: log-mel spectrograms, Tgram, wav2vec 2.0, stacking and pooling."""

from sklasd.features._augment import (
    FACTORY_NOISE_PROMPTS,
    AudioLDMAugmenter,
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
from sklasd.features._tgram import Tgram
from sklasd.features._wav2vec import Wav2Vec
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
    "Tgram",
    "TimeMask",
    "TimePooling",
    "TimeShift",
    "Wav2Vec",
    "WaveformFrames",
    "waveform_frames",
]
