"""Tests of the augmenters."""

import numpy as np
import pytest
import soundfile as sf
from sklearn.base import clone

from sklasd.features import (
    Compose,
    FrequencyMask,
    Gain,
    NoiseMix,
    TimeMask,
    TimeShift,
)


def rng(seed=0):
    return np.random.default_rng(seed)


# -- masks, gain, shift ----------------------------------------------------------------


@pytest.mark.parametrize(("cls", "axis"), [(TimeMask, -1), (FrequencyMask, -2)])
def test_masks_fill_contiguous_stretches_along_their_axis(cls, axis):
    x = rng().normal(size=(1, 20, 30)) + 5.0
    masked = cls(max_width=0.5, n_masks=1, fill=-100.0)(x, rng(3))
    hit = np.moveaxis(masked == -100.0, axis, -1)
    # Whole lines across the other axes, forming one contiguous stretch.
    lines = hit.all(axis=tuple(range(hit.ndim - 1)))
    assert (hit.any(axis=tuple(range(hit.ndim - 1))) == lines).all()
    width = int(lines.sum())
    assert width <= x.shape[axis] // 2
    if width:
        first = int(np.argmax(lines))
        assert lines[first : first + width].all()
    np.testing.assert_array_equal(masked[masked != -100.0], x[masked != -100.0])


def test_masks_use_the_mean_by_default_and_count_widths_in_frames():
    x = np.arange(40.0).reshape(1, 4, 10)
    widths = set()
    for seed in range(30):
        masked = TimeMask(max_width=3)(x, rng(seed))
        changed = (masked != x).any(axis=(0, 1))
        widths.add(int(changed.sum()))
        assert np.allclose(masked[..., changed], x.mean())
    assert max(widths) <= 3 and len(widths) > 1
    with pytest.raises(ValueError, match="2 axes or more"):
        FrequencyMask()(np.zeros(10), rng())


def test_gain_in_both_domains():
    gains = [Gain(min_db=-6, max_db=6)(np.ones(4), rng(s))[0] for s in range(50)]
    assert 10 ** (-6 / 20) <= min(gains) < max(gains) <= 10 ** (6 / 20)
    db = Gain(min_db=-3, max_db=3, domain="db")(np.zeros((2, 3)), rng())
    assert np.ptp(db) == 0 and -3 <= db[0, 0] <= 3
    with pytest.raises(ValueError, match="min_db"):
        Gain(min_db=3, max_db=-3)(np.ones(4), rng())


def test_time_shift_rolls_within_the_limit():
    x = np.arange(100.0)
    shifts = set()
    for seed in range(40):
        shifted = TimeShift(max_shift=0.1)(x, rng(seed))
        shift = int((shifted[0] - x[0]) % 100)
        shift = shift - 100 if shift > 50 else shift
        np.testing.assert_array_equal(shifted, np.roll(x, -shift))
        shifts.add(abs(shift))
    assert max(shifts) <= 10 and len(shifts) > 3


def test_invalid_parameters_and_inputs_are_named():
    with pytest.raises(ValueError, match="max_width"):
        TimeMask(max_width=1.5)(np.zeros(4), rng())
    with pytest.raises(ValueError, match="finite"):
        Gain()(np.array([np.nan, 1.0]), rng())
    with pytest.raises(TypeError, match=r"numpy\.random\.Generator"):
        Gain()(np.ones(3), 0)


# -- noise mixing ----------------------------------------------------------------------


def _snr(signal, mixed):
    return 10 * np.log10(np.mean(signal**2) / np.mean((mixed - signal) ** 2))


def test_noise_mix_reaches_the_drawn_snr_with_short_and_long_noises():
    signal = np.sin(np.arange(2000) / 3.0)
    bank = [rng(1).normal(size=500), rng(2).normal(size=5000) * 7]
    augmenter = NoiseMix(noise=bank, snr_db=(5.0, 15.0))
    snrs = [_snr(signal, augmenter(signal, rng(seed))) for seed in range(20)]
    assert 5.0 - 1e-9 <= min(snrs) < max(snrs) <= 15.0 + 1e-9


def test_noise_mix_reads_a_bank_of_files(tmp_path):
    noise = rng(4).normal(size=8000).astype(np.float32) * 0.1
    path = tmp_path / "hum.wav"
    sf.write(path, noise, 16000)
    signal = np.sin(np.arange(3000) / 3.0).astype(np.float32)
    mixed = NoiseMix(noise=[str(path)], snr_db=(10.0, 10.0))(signal, rng())
    assert mixed.dtype == np.float32
    assert abs(_snr(signal, mixed) - 10.0) < 0.01
    # The added noise is a scaled excerpt of the file's noise.
    added = (mixed - signal).astype(np.float64)
    tiled = np.tile(noise, 2).astype(np.float64)
    start = int(np.argmax(np.correlate(tiled, added, mode="valid")))
    excerpt = tiled[start : start + added.size]
    cosine = excerpt @ added / (np.linalg.norm(excerpt) * np.linalg.norm(added))
    assert cosine > 0.999


def test_noise_mix_rejects_bad_banks():
    with pytest.raises(ValueError, match="empty"):
        NoiseMix(noise=[])(np.ones(10), rng())
    with pytest.raises(ValueError, match=r"noise\[1\]"):
        NoiseMix(noise=[np.ones(5), np.ones((2, 5))])(np.ones(10), rng())


# -- composition, batches, parameters --------------------------------------------------


def test_compose_applies_steps_in_order_from_one_generator():
    x = np.zeros((1, 8, 16))
    steps = [Gain(min_db=0, max_db=10, domain="db"), TimeMask(fill=-1.0)]
    composed = Compose(steps=steps)(x, rng(5))
    generator = rng(5)
    expected = steps[1](steps[0](x, generator), generator)
    np.testing.assert_array_equal(composed, expected)
    with pytest.raises(TypeError, match=r"steps\[0\]"):
        Compose(steps=["gain"])(x, rng())


def test_augment_is_repeatable_per_row_and_keeps_float32():
    X = rng().normal(size=(6, 1, 8, 16)).astype(np.float32)
    augmenter = Compose(steps=[TimeMask(n_masks=2), FrequencyMask(n_masks=2)])
    first = augmenter.augment(X, random_state=0)
    assert first.dtype == np.float32 and first.shape == X.shape
    np.testing.assert_array_equal(first, augmenter.augment(X, random_state=0))
    assert not np.array_equal(first, augmenter.augment(X, random_state=1))
    # Rows get different draws.
    same = np.repeat(X[:1], 6, axis=0)
    assert len({augmenter.augment(same, random_state=0)[i].tobytes() for i in range(6)}) > 1


def test_augmenters_are_estimators_with_nested_params():
    augmenter = Compose(steps=[TimeMask(max_width=0.1), Gain()])
    cloned = clone(augmenter)
    assert cloned.steps[0] is not augmenter.steps[0]
    assert cloned.get_params()["steps"][0].max_width == 0.1
