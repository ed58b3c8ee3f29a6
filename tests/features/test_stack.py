"""Tests for sklasd.features.StackFeatures."""

import numpy as np
import pytest
import sklearn
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from torch import nn

from sklasd.embedders import NetEmbedder, Tgram, Wav2Vec
from sklasd.features import LogMel, StackFeatures
from sklasd.metrics import make_asd_scorer
from sklasd.model_selection import NormalOnlyKFold
from sklasd.scoring import CosineScorer
from sklasd.training import ClassifierNet
from sklasd.utils.estimator_checks import parametrize_with_checks

SR = 16000
TGRAM = {"n_mels": 8, "n_blocks": 1, "n_frames": 6, "max_epochs": 2, "batch_size": 4}


def _clips(n_per_section=4, n_samples=4000, seed=0):
    rng = np.random.default_rng(seed)
    section = np.repeat([0, 1], n_per_section)
    t = np.arange(n_samples) / SR
    X = 0.05 * rng.standard_normal((len(section), n_samples))
    X += 0.5 * np.sin(2 * np.pi * np.where(section == 0, 300.0, 3000.0)[:, None] * t)
    return X.astype(np.float32), section


def _waveforms():
    return _clips()[0]


def _wav2vec(**params):
    transformers = pytest.importorskip("transformers")
    config = transformers.Wav2Vec2Config(
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        conv_dim=(16, 16),
        conv_stride=(5, 64),
        conv_kernel=(10, 128),
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
    )
    return Wav2Vec(model=config, n_bands=8, batch_size=4, **params)


def _two_logmels():
    return [("power", LogMel(n_mels=8)), ("magnitude", LogMel(n_mels=8, power=1.0))]


def _metadata():
    return {"section": _clips()[1]}


@parametrize_with_checks(
    [
        (StackFeatures(transformer_list=_two_logmels()), _waveforms),
        (
            StackFeatures(
                transformer_list=[
                    ("logmel", LogMel(n_mels=8)),
                    ("tgram", Tgram(**TGRAM, random_state=0)),  # the checks seed only the stack
                ]
            ),
            _waveforms,
            _metadata,
        ),
    ]
)
def test_sklasd_compatible(estimator, check):
    check(estimator)


def test_stacks_logmel_tgram_wav2vec_as_channels():
    X, section = _clips()
    stack = StackFeatures(
        transformer_list=[
            ("logmel", LogMel(n_mels=8)),
            ("tgram", Tgram(**TGRAM, random_state=0)),
            ("wav2vec", _wav2vec(random_state=0)),
        ]
    )
    features = stack.fit_transform(X, section=section)
    assert features.shape == (8, 3, 8, 1 + 4000 // 512) and features.dtype == np.float32
    assert stack.channel_names_.tolist() == ["logmel", "tgram", "wav2vec"]
    np.testing.assert_array_equal(stack.transform(X), features)
    for channel, (_, transformer) in enumerate(stack.transformer_list_):
        np.testing.assert_array_equal(features[:, channel], transformer.transform(X)[:, 0])
    assert stack.transformer_list[1][1] is not stack.transformer_list_[1][1]  # clones


def test_fit_checks_shapes_like_fit_transform():
    X, _ = _clips()
    stack = StackFeatures(transformer_list=_two_logmels()).fit(X)
    assert stack.channel_names_.tolist() == ["power", "magnitude"]
    assert stack.transform(X).shape == (8, 2, 8, 8)


def test_nested_parameters_and_drop():
    stack = StackFeatures(
        transformer_list=[("logmel", LogMel(n_mels=8)), ("tgram", Tgram(**TGRAM))]
    )
    params = stack.get_params()
    assert params["tgram__max_epochs"] == 2 and params["logmel__n_mels"] == 8
    stack.set_params(tgram__max_epochs=5, logmel__hop_length=256)
    assert stack.transformer_list[1][1].max_epochs == 5
    X, section = _clips()
    stack.set_params(tgram="drop")
    assert stack.fit_transform(X).shape == (8, 1, 8, 1 + 4000 // 256)
    assert stack.channel_names_.tolist() == ["logmel"]
    with pytest.raises(TypeError, match=r"metadata \['section'\] that none"):
        stack.fit(X, section=section)  # no transformer left that requests it


def test_errors_name_the_transformers():
    X, section = _clips()
    with pytest.raises(ValueError, match=r"low: \(8, 8\), high: \(16, 8\)"):
        StackFeatures(
            transformer_list=[("low", LogMel(n_mels=8)), ("high", LogMel(n_mels=16))]
        ).fit(X)
    with pytest.raises(ValueError, match=r"a: \(8, 8\), b: \(8, 16\)"):
        StackFeatures(
            transformer_list=[("a", LogMel(n_mels=8)), ("b", LogMel(n_mels=8, hop_length=256))]
        ).fit_transform(X)
    with pytest.raises(ValueError, match="a: sr=16000, b: sr=8000"):
        StackFeatures(
            transformer_list=[("a", LogMel(n_mels=8)), ("b", LogMel(n_mels=8, sr=8000))]
        ).fit(X)
    with pytest.raises(ValueError, match="Every transformer of StackFeatures is 'drop'"):
        StackFeatures(transformer_list=[("a", "drop")]).fit(X)
    with pytest.raises(ValueError, match="'flat' returned features of shape"):
        StackFeatures(
            transformer_list=[("flat", FunctionTransformer()), ("a", LogMel(n_mels=8))]
        ).fit(X)
    with pytest.raises(ValueError, match="Names provided are not unique"):
        StackFeatures(transformer_list=[("a", LogMel()), ("a", LogMel())]).fit(X)
    with pytest.raises(TypeError, match=r"metadata \['domain'\] that none"):
        StackFeatures(transformer_list=_two_logmels()).fit(X, domain=section)
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        StackFeatures(transformer_list=_two_logmels()).fit(X_nan)


def test_transformer_list_is_required_and_routes_what_its_transformers_request():
    with pytest.raises(TypeError, match="transformer_list"):
        StackFeatures()
    stack = StackFeatures(transformer_list=[("logmel", LogMel()), ("tgram", Tgram())])
    assert stack.get_metadata_routing().consumes("fit", ["section", "domain"]) == {"section"}


class TinyNet(nn.Module):
    """A linear embedding of the whole crop, with the interface of sklasd.nn's networks."""

    def __init__(self, *, n_classes=2, in_channels=1, input_size=(8, 6)):
        super().__init__()
        self.body = nn.Sequential(
            nn.Flatten(), nn.Linear(in_channels * input_size[0] * input_size[1], 8)
        )
        self.head = nn.Linear(8, n_classes)

    def embed(self, x):
        return self.body(x)

    def forward(self, x):
        return self.head(self.embed(x))


def _pipeline(max_epochs=2):
    net = ClassifierNet(TinyNet, max_epochs=max_epochs, batch_size=4)
    return make_pipeline(
        StackFeatures(
            transformer_list=[
                ("logmel", LogMel(n_mels=8)),
                ("tgram", Tgram(**TGRAM, random_state=0)),
            ]
        ),
        NetEmbedder(net=net, n_frames=6, random_state=0),
        CosineScorer(),
    )


def test_routes_section_to_tgram_in_a_pipeline():
    X, section = _clips()
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = _pipeline().fit(X, section=section)
        scores = pipe.decision_function(X, section=section)
        assert pipe[0].get_metadata_routing().consumes("fit", ["section"]) == {"section"}
    assert scores.shape == (8,) and np.isfinite(scores).all()
    assert pipe[0].transformer_list_[1][1].embedder_.classes_.tolist() == [0, 1]
    # Without routing, fitting the stack directly gives Tgram its section too.
    direct = _pipeline()[0].fit(X, section=section)
    np.testing.assert_array_equal(direct.transform(X), pipe[0].transform(X))


def test_feature_ablation_grid_search():
    X, section = _clips(n_per_section=8)
    y = np.tile([0, 0, 0, 0, 0, 0, 1, 1], 2)
    X[y == 1] += 0.5 * np.random.default_rng(1).standard_normal((4, X.shape[1])).astype(np.float32)
    grid = {
        "stackfeatures__tgram": ["drop", Tgram(**TGRAM, random_state=0)],
        "stackfeatures__logmel__n_mels": [8],
    }
    with sklearn.config_context(enable_metadata_routing=True):
        search = GridSearchCV(
            _pipeline(max_epochs=1),
            grid,
            scoring=make_asd_scorer("auc"),
            cv=NormalOnlyKFold(n_splits=2, shuffle=True, random_state=0),
            refit=False,
        ).fit(X, y, section=section)
    assert len(search.cv_results_["params"]) == 2
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
