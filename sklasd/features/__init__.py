"""Feature transformers: log-mel spectrograms and pooling over time."""

from sklasd.features._logmel import LogMel
from sklasd.features._pooling import TimePooling

__all__ = ["LogMel", "TimePooling"]
