"""Tests for sklasd.features.TimePooling."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError

from sklasd.features import TimePooling


def _features(shape=(3, 2, 4, 10), dtype=np.float32):
    return np.random.default_rng(0).standard_normal(shape).astype(dtype)


def test_default_statistics_over_whole_clip():
    X = _features()
    pooled = TimePooling().fit_transform(X)
    assert pooled.shape == (3, 2 * 4 * 3)
    expected = np.concatenate([X.mean(axis=-1), X.std(axis=-1), X.max(axis=-1)], axis=1).reshape(
        3, -1
    )
    np.testing.assert_allclose(pooled, expected, rtol=1e-6)


def test_windows_split_like_array_split():
    X = _features()  # 10 frames -> windows of 4, 3 and 3 frames
    pooling = TimePooling(stats=("min", "mean"), n_windows=3).fit(X)
    pooled = pooling.transform(X)
    assert pooled.shape == (3, 2 * 4 * 2 * 3)
    names = pooling.get_feature_names_out().tolist()
    assert len(names) == pooled.shape[1]
    frames = {0: slice(0, 4), 1: slice(4, 7), 2: slice(7, 10)}
    stat_fn = {"min": np.min, "mean": np.mean}
    for column in [0, 5, 17, 30, 47]:
        stat, window, channel, band = names[column].split("_")
        expected = stat_fn[stat](
            X[:, int(channel[1:]), int(band[1:]), frames[int(window[1:])]], -1
        )
        np.testing.assert_allclose(pooled[:, column], expected, rtol=1e-6)
    assert names[:2] == ["min_w0_c0_b0", "min_w0_c0_b1"]
    assert names[-1] == "mean_w2_c1_b3"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_preserved(dtype):
    X = _features(dtype=dtype)
    assert TimePooling().fit_transform(X).dtype == dtype


def test_number_of_frames_may_change_after_fit():
    pooling = TimePooling(n_windows=2).fit(_features())
    assert pooling.transform(_features(shape=(1, 2, 4, 31))).shape == (1, pooling.n_features_out_)


def test_pandas_output_uses_feature_names():
    pytest.importorskip("pandas")
    X = _features()
    pooling = TimePooling(stats=("max",)).set_output(transform="pandas")
    frame = pooling.fit_transform(X)
    assert list(frame.columns) == pooling.get_feature_names_out().tolist()
    np.testing.assert_array_equal(frame["max_w0_c1_b2"], X[:, 1, 2].max(axis=-1))


@pytest.mark.parametrize("shape", [(3, 10), (3, 4, 10), (1, 1, 2, 4, 10)])
def test_wrong_ndim_raises(shape):
    with pytest.raises(ValueError, match=rf"4-D array.*shape \({shape[0]}, "):
        TimePooling().fit(np.zeros(shape))
    pooling = TimePooling().fit(_features())
    with pytest.raises(ValueError, match="4-D array"):
        pooling.transform(np.zeros(shape))


def test_channel_or_band_mismatch_raises():
    pooling = TimePooling().fit(_features())
    with pytest.raises(ValueError, match=r"2 channel\(s\) and 5 band\(s\).*fitted on 2 .* 4 band"):
        pooling.transform(_features(shape=(3, 2, 5, 10)))


def test_fewer_frames_than_windows_raises():
    with pytest.raises(ValueError, match=r"2 frame.*n_windows=3"):
        TimePooling(n_windows=3).fit_transform(_features(shape=(1, 1, 4, 2)))


def test_non_finite_input_raises():
    X = _features()
    X[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        TimePooling().fit(X)


@pytest.mark.parametrize(
    ("stats", "error", "match"),
    [
        (("mean", "median"), ValueError, "Unknown statistic 'median'"),
        ((), ValueError, "at least one statistic"),
        (("max", "max"), ValueError, "repeated"),
        ("mean", InvalidParameterError, "stats"),
    ],
)
def test_invalid_stats_raise(stats, error, match):
    with pytest.raises(error, match=match):
        TimePooling(stats=stats).fit(_features())


def test_transform_before_fit_raises():
    with pytest.raises(NotFittedError):
        TimePooling().transform(_features())
