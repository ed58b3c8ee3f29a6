"""Crop datasets: random training crops and the crops that cover whole clips."""

import numpy as np
import pytest

from sklasd.training import RandomCrops, SlidingCrops, check_features, crop_starts


def ramp(n_clips=3, n_frames=10):
    """Clips whose frame t holds 100 * clip + t, so a crop tells where it starts."""
    frames = np.arange(n_frames, dtype=np.float32)
    X = 100.0 * np.arange(n_clips, dtype=np.float32)[:, None] + frames
    return np.repeat(X[:, None, None, :], 2, axis=2)  # (n_clips, 1, 2, n_frames)


def start_of(crop, clip):
    values = crop.numpy()[0, 0]
    np.testing.assert_array_equal(values, values[0] + np.arange(len(values)))
    return int(values[0] - 100 * clip)


def test_random_crops_are_windows_of_their_clip():
    X = ramp()
    crops = RandomCrops(X, np.array([0, 1, 2]), n_frames=4, seed=0, epoch=0)
    assert len(crops) == 3
    for clip in range(3):
        crop, target = crops[clip]
        assert tuple(crop.shape) == (1, 2, 4)
        assert 0 <= start_of(crop, clip) <= 6
        assert int(target) == clip


def test_random_crops_depend_on_seed_epoch_and_index_only():
    X = ramp(n_clips=8)
    crops = RandomCrops(X, n_frames=4, seed=3, epoch=2)
    again = RandomCrops(X, n_frames=4, seed=3, epoch=2)
    forward = [start_of(crops[i][0], i) for i in range(8)]
    backward = [start_of(again[i][0], i) for i in reversed(range(8))][::-1]
    assert forward == backward
    crops.set_epoch(3)
    assert [start_of(crops[i][0], i) for i in range(8)] != forward
    other_seed = RandomCrops(X, n_frames=4, seed=4, epoch=2)
    assert [start_of(other_seed[i][0], i) for i in range(8)] != forward


def test_random_crops_reach_every_start():
    crops = RandomCrops(ramp(n_clips=1), n_frames=4, seed=0)
    starts = set()
    for epoch in range(200):
        crops.set_epoch(epoch)
        starts.add(start_of(crops[0][0], 0))
    assert starts == set(range(7))


def test_fixed_crops_do_not_change_and_differ_from_epoch_crops():
    X = ramp(n_clips=20, n_frames=30)
    fixed = RandomCrops(X, n_frames=4, seed=0, epoch=None)
    first = [start_of(fixed[i][0], i) for i in range(20)]
    assert [start_of(fixed[i][0], i) for i in range(20)] == first
    epoch_0 = RandomCrops(X, n_frames=4, seed=0, epoch=0)
    assert [start_of(epoch_0[i][0], i) for i in range(20)] != first


def test_random_crops_default_target_and_data_attributes():
    X = ramp()
    crops = RandomCrops(X, n_frames=4)
    assert int(crops[1][1]) == 0
    np.testing.assert_array_equal(crops.X, X)
    np.testing.assert_array_equal(crops.y, np.zeros(3))


@pytest.mark.parametrize(
    ("n_total", "n_frames", "hop", "expected"),
    [
        (10, 4, 4, [0, 4, 6]),
        (8, 4, 4, [0, 4]),
        (4, 4, 2, [0]),
        (10, 4, 2, [0, 2, 4, 6]),
        (11, 4, 3, [0, 3, 6, 7]),
    ],
)
def test_crop_starts(n_total, n_frames, hop, expected):
    starts = crop_starts(n_total, n_frames, hop)
    assert starts.tolist() == expected
    if hop <= n_frames:  # the crops cover every frame
        covered = np.zeros(n_total, bool)
        for start in starts:
            covered[start : start + n_frames] = True
        assert covered.all()


def test_sliding_crops_cut_every_crop_of_every_clip_in_order():
    X = ramp(n_clips=2, n_frames=10)
    crops = SlidingCrops(X, n_frames=4, hop=3)
    assert crops.starts.tolist() == [0, 3, 6]
    assert len(crops) == 6 and crops.n_crops == 3
    got = [(k // 3, start_of(crops[k][0], k // 3)) for k in range(len(crops))]
    assert got == [(0, 0), (0, 3), (0, 6), (1, 0), (1, 3), (1, 6)]


def test_check_features_converts_and_rejects():
    X = check_features(np.zeros((2, 1, 3, 5)).tolist())
    assert X.dtype == np.float32 and X.shape == (2, 1, 3, 5)
    with pytest.raises(ValueError, match=r"4-D array .* shape \(2, 3, 5\)"):
        check_features(np.zeros((2, 3, 5)))
    with pytest.raises(ValueError, match="NaN"):
        check_features(np.full((2, 1, 3, 5), np.nan))
    with pytest.raises(ValueError, match=r"5 frames, fewer than n_frames=8"):
        check_features(np.zeros((2, 1, 3, 5)), n_frames=8)
    with pytest.raises(ValueError, match="n_frames=8"):
        SlidingCrops(np.zeros((2, 1, 3, 5)), n_frames=8, hop=2)


def test_check_features_against_a_fitted_estimator():
    class Fitted:
        n_channels_in_, n_bands_in_ = 1, 3

    assert check_features(np.zeros((2, 1, 3, 5)), fitted=Fitted()).shape == (2, 1, 3, 5)
    message = r"2 channel\(s\) and 3 band\(s\), but Fitted was fitted on 1 channel\(s\) and 3"
    with pytest.raises(ValueError, match=message):
        check_features(np.zeros((2, 2, 3, 5)), fitted=Fitted())
    with pytest.raises(ValueError, match=r"1 channel\(s\) and 4 band\(s\)"):
        check_features(np.zeros((2, 1, 4, 5)), fitted=Fitted())
