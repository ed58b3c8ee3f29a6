"""sklasd's estimator checks on the feature transformers (waveform, path and 4-D input)."""

from pathlib import Path

import numpy as np
import pytest

from sklasd.features import LogMel, TimePooling
from sklasd.utils.estimator_checks import parametrize_with_checks

CLIPS = Path(__file__).resolve().parents[3] / "shared" / "data" / "dcase2020_mini" / "dev_data"


def waveforms():
    return np.random.default_rng(0).normal(scale=0.1, size=(3, 8000)).astype(np.float32)


def real_clip_paths():
    paths = sorted(CLIPS.glob("*/train/*.wav"))[:2]
    if not paths:
        pytest.skip(f"real clips not found at {CLIPS}")
    return [str(path) for path in paths]


def spectrograms():
    return np.random.default_rng(0).normal(size=(3, 1, 8, 20))


@parametrize_with_checks(
    [
        (LogMel(n_mels=32), waveforms),
        (LogMel(n_mels=32), real_clip_paths),
        (TimePooling(), spectrograms),
    ]
)
def test_sklasd_compatible(estimator, check):
    check(estimator)
