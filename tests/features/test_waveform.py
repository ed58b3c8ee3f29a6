"""Tests for sklasd.features.WaveformFrames and waveform_frames."""

import numpy as np

from sklasd.features import WaveformFrames, waveform_frames
from sklasd.utils.estimator_checks import parametrize_with_checks


def _waveforms():
    return np.random.default_rng(0).standard_normal((4, 4000)).astype(np.float32)


@parametrize_with_checks([(WaveformFrames(), _waveforms)])
def test_sklasd_compatible(estimator, check):
    check(estimator)


def test_waveform_frames_layout():
    waves = np.arange(2 * 10, dtype=np.float32).reshape(2, 10)
    blocks = WaveformFrames(hop_length=4).fit_transform(waves)
    assert blocks.shape == (2, 1, 4, 2)
    np.testing.assert_array_equal(blocks[1, 0, :, 1], waves[1, 4:8])
    np.testing.assert_array_equal(waveform_frames(waves, 4), blocks)
