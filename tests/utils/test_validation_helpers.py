"""Validation helpers: metadata arrays, labels, clips."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_array_equal

from sklasd.utils import check_clips, check_labels, check_metadata_array, check_section


def test_metadata_array_accepts_lists_arrays_and_series():
    expected = np.array([4, 4, 6])
    assert_array_equal(check_metadata_array([4, 4, 6], 3, name="section"), expected)
    series = pd.Series([4, 4, 6], dtype="Int64", index=[10, 11, 12])
    converted = check_metadata_array(series, 3, name="section")
    assert converted.dtype == np.int64
    assert_array_equal(converted, expected)
    assert_array_equal(
        check_metadata_array(pd.Series(["source", "target"]), 2, name="domain"),
        ["source", "target"],
    )


def test_metadata_array_length_error_names_both_lengths():
    with pytest.raises(ValueError, match="domain has 2 values but X has 5 clips"):
        check_metadata_array(["a", "b"], 5, name="domain")


def test_metadata_array_must_be_1d():
    with pytest.raises(ValueError, match=r"section must be 1-D.*shape \(2, 2\)"):
        check_metadata_array([[0, 1], [1, 0]], 2, name="section")
    with pytest.raises(ValueError, match=r"1-D.*shape \(\)"):
        check_metadata_array(3, 1, name="section")


@pytest.mark.parametrize("missing", [None, np.nan, pd.NA])
def test_metadata_array_rejects_missing_values(missing):
    with pytest.raises(ValueError, match=r"section has missing values at positions \[1\]"):
        check_metadata_array(pd.Series([0, missing, 2], dtype=object), 3, name="section")


def test_check_section_passes_none_through():
    assert check_section(None, 4) is None
    with pytest.raises(ValueError, match="section has 1 values but X has 4 clips"):
        check_section([0], 4)


def test_labels_are_0_and_1():
    assert_array_equal(check_labels([True, False], 2), [1, 0])
    assert_array_equal(check_labels(np.array([0.0, 1.0]), 2), [0, 1])
    assert check_labels(None, 3) is None
    with pytest.raises(ValueError, match=r"got \[-1\]"):
        check_labels([-1, 1, 1], 3)
    with pytest.raises(ValueError, match=r"got \['anomaly', 'normal'\]"):
        check_labels(["normal", "anomaly", "normal"], 3)


def test_clips_as_paths(tmp_path):
    paths = [tmp_path / "a.wav", str(tmp_path / "b.wav")]
    assert check_clips(paths) == [str(tmp_path / "a.wav"), str(tmp_path / "b.wav")]
    assert check_clips(np.array(["x.wav", "y.wav"])) == ["x.wav", "y.wav"]
    assert check_clips(pd.Series(["x.wav"], index=[7])) == ["x.wav"]


def test_clips_as_waveforms():
    waveforms = np.zeros((2, 8), dtype=np.float32)
    assert check_clips(waveforms).dtype == np.float32
    as_list = check_clips([[0.0, 0.1, 0.2], [0.3, 0.4, 0.5]])
    assert as_list.dtype == np.float64 and as_list.shape == (2, 3)


def test_clips_errors():
    with pytest.raises(TypeError, match=r"single path 'a\.wav'"):
        check_clips("a.wav")
    with pytest.raises(TypeError, match="single path"):
        check_clips(Path("a.wav"))
    with pytest.raises(ValueError, match="item 1 is ndarray"):
        check_clips(np.array(["a.wav", np.zeros(3)], dtype=object))
    with pytest.raises(ValueError, match="Expected 2D array"):
        check_clips(np.zeros(16))
    with pytest.raises(ValueError, match="Input X contains NaN"):
        check_clips(np.full((1, 4), np.nan))
    with pytest.raises(ValueError, match="X holds no clips"):
        check_clips([])
