"""Pipelines of 4-D feature transformers and 2-D steps honour set_output(transform="pandas")."""

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.pipeline import make_pipeline

from sklasd.features import LogMel, StackFeatures, TimePooling


@pytest.fixture
def clips():
    return np.random.default_rng(0).normal(0, 0.1, (3, 4096)).astype(np.float32)


def test_a_pipeline_ending_in_a_2d_step_returns_a_dataframe(clips):
    pipe = make_pipeline(LogMel(n_mels=8), TimePooling(stats=("mean",)))
    out = pipe.set_output(transform="pandas").fit_transform(clips)
    assert isinstance(out, pd.DataFrame)
    assert out.shape == (3, 8)
    assert list(out.columns[:2]) == ["mean_w0_c0_b0", "mean_w0_c0_b1"]
    expected = make_pipeline(LogMel(n_mels=8), TimePooling(stats=("mean",))).fit_transform(clips)
    np.testing.assert_array_equal(out.to_numpy(), expected)


@pytest.mark.parametrize(
    "transformer", [LogMel(n_mels=8), StackFeatures(transformer_list=[("a", LogMel(n_mels=8))])]
)
def test_4d_transformers_accept_the_setting_and_keep_their_array(transformer, clips):
    out = transformer.set_output(transform="pandas").fit_transform(clips)
    assert isinstance(out, np.ndarray) and out.ndim == 4
    with pytest.raises(ValueError, match="transform must be"):
        transformer.set_output(transform="table")


@pytest.mark.parametrize(
    "transformer", [LogMel(n_mels=8), StackFeatures(transformer_list=[("a", LogMel(n_mels=8))])]
)
def test_4d_transformers_say_why_they_have_no_columns(transformer, clips):
    transformer.fit(clips)
    name = type(transformer).__name__
    with pytest.raises(ValueError, match=r"4-D features of shape \(n_clips, n_channels") as error:
        transformer.get_feature_names_out()
    assert f"make_pipeline({name}(), TimePooling())" in str(error.value)


def test_global_pandas_output_reaches_the_2d_steps_only(clips):
    with sklearn.config_context(transform_output="pandas"):
        features = LogMel(n_mels=8).fit_transform(clips)
        pooled = make_pipeline(LogMel(n_mels=8), TimePooling(stats=("mean",))).fit_transform(clips)
    assert isinstance(features, np.ndarray) and features.ndim == 4
    assert isinstance(pooled, pd.DataFrame) and pooled.shape == (3, 8)
