"""Tests for sklasd.embedders.Tgram and the end-to-end sklasd.nn.STgramNet."""

import numpy as np
import pytest
import sklearn
import soundfile as sf
import torch
from sklearn.pipeline import make_pipeline
from sklearn.utils._param_validation import InvalidParameterError

from sklasd.embedders import NetEmbedder, Tgram
from sklasd.features import LogMel, WaveformFrames, waveform_frames
from sklasd.nn import TDNN, STgramNet
from sklasd.scoring import CosineScorer
from sklasd.training import ClassifierNet
from sklasd.utils.estimator_checks import parametrize_with_checks

SR = 16000
TINY = {"n_mels": 8, "n_blocks": 1, "n_frames": 6, "max_epochs": 2, "batch_size": 4}


def _clips(n_per_section=4, n_samples=4000, seed=0):
    """Noise clips whose sections hold tones of different pitch, and the sections."""
    rng = np.random.default_rng(seed)
    section = np.repeat([0, 1], n_per_section)
    t = np.arange(n_samples) / SR
    X = 0.05 * rng.standard_normal((len(section), n_samples))
    X += 0.5 * np.sin(2 * np.pi * np.where(section == 0, 300.0, 3000.0)[:, None] * t)
    return X.astype(np.float32), section


def _waveforms():
    return _clips()[0]


def _metadata():
    return {"section": _clips()[1]}


@parametrize_with_checks([(Tgram(**TINY), _waveforms, _metadata)])
def test_sklasd_compatible(estimator, check):
    check(estimator)


@pytest.mark.parametrize("n_samples", [4000, 4096, 4607])
@pytest.mark.parametrize("hop_length", [256, 512])
def test_frames_match_logmel(n_samples, hop_length):
    X, section = _clips(n_samples=n_samples)
    tgram = Tgram(**{**TINY, "n_frames": 4}, hop_length=hop_length, random_state=0)
    features = tgram.fit(X, section=section).transform(X)
    expected = LogMel(n_mels=8, hop_length=hop_length).fit_transform(X).shape
    assert features.shape == expected
    assert features.dtype == np.float32 and np.isfinite(features).all()


def test_tgram_learns_from_sections():
    X, section = _clips(n_per_section=6)
    params = {**TINY, "max_epochs": 6, "lr": 1e-2, "random_state": 0}
    short = Tgram(**{**params, "max_epochs": 1}).fit(X, section=section)
    long = Tgram(**params).fit(X, section=section)
    # The same seed gives the same initial weights and first epoch: the TgramNet
    # weights differ because the later epochs trained them.
    weights = [
        dict(tgram.embedder_.net_.module_.tgram.named_parameters()) for tgram in (short, long)
    ]
    for name, value in weights[0].items():
        assert not torch.equal(value, weights[1][name]), f"TgramNet.{name} did not train"
    losses = long.embedder_.net_.history[:, "train_loss"]
    assert losses[-1] < losses[0]
    assert not np.allclose(short.transform(X), long.transform(X))


def test_transform_reads_paths_and_resamples(tmp_path):
    X, section = _clips()
    paths = []
    for i, clip in enumerate(X):
        paths.append(str(tmp_path / f"clip{i}.wav"))
        sf.write(paths[-1], clip[::2], SR // 2, subtype="FLOAT")  # 8 kHz files
    tgram = Tgram(**TINY, random_state=0).fit(paths, section=section)
    assert tgram.transform(paths).shape == (8, 1, 8, 1 + 4000 // 512)


def test_errors_name_the_problem():
    X, section = _clips()
    with pytest.raises(ValueError, match="n_frames=20 hops"):
        Tgram(**{**TINY, "n_frames": 20}).fit(X, section=section)
    with pytest.raises(ValueError, match="needs the section of every clip"):
        Tgram(**TINY).fit(X)
    with pytest.raises(ValueError, match="at least two classes"):
        Tgram(**TINY).fit(X, section=np.zeros(len(X)))
    X_nan = X.copy()
    X_nan[1, 5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        Tgram(**TINY).fit(X_nan, section=section)
    with pytest.raises(InvalidParameterError, match="sr"):
        Tgram(sr=0).fit(X, section=section)
    fitted = Tgram(**TINY, random_state=0).fit(X, section=section)
    with pytest.raises(ValueError, match="fewer than the 1024"):
        fitted.transform(X[:, :1000])


@pytest.mark.parametrize("log_mel", [True, False])
def test_stgram_net_trains_end_to_end(log_mel):
    X, section = _clips(n_per_section=4)
    blocks = torch.from_numpy(waveform_frames(X, 512)[..., :6])
    target = torch.from_numpy(section)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        net = STgramNet(
            n_classes=2,
            input_size=(512, 6),
            n_mels=8,
            tgram_blocks=1,
            log_mel=log_mel,
            backbone=TDNN,
            layers=((3, 1, 64),),
            width_mult=0.25,
            embedding_dim=8,
        )
    assert net.features(blocks).shape == (8, 2 if log_mel else 1, 8, 7)
    before = {name: p.detach().clone() for name, p in net.tgram.named_parameters()}
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    losses = []
    for _ in range(15):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(blocks), target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    for name, p in net.tgram.named_parameters():
        assert not torch.equal(p, before[name]), f"TgramNet.{name} did not train"


def test_stgram_net_in_a_pipeline_with_routing():
    X, section = _clips(n_per_section=6)
    net = ClassifierNet(
        STgramNet,
        module__n_mels=8,
        module__tgram_blocks=1,
        module__backbone=TDNN,
        module__layers=((3, 1, 64),),
        module__width_mult=0.25,
        module__embedding_dim=8,
        max_epochs=6,
        lr=1e-2,
        batch_size=4,
    )
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_pipeline(
            WaveformFrames(),
            NetEmbedder(net=net, n_frames=6, random_state=0),
            CosineScorer(),
        ).fit(X, section=section)
        scores = pipe.decision_function(X, section=section)
    assert scores.shape == (len(X),) and np.isfinite(scores).all()
    losses = pipe[1].net_.history[:, "train_loss"]
    assert losses[-1] < losses[0]


def test_stgram_net_rejects_misshaped_input():
    net = STgramNet(n_classes=2, input_size=(512, 4), n_mels=8, backbone=TDNN, layers=((1, 1, 8),))
    with pytest.raises(ValueError, match=r"WaveformFrames\(hop_length=512\)"):
        net(torch.zeros(2, 1, 256, 4))
    with pytest.raises(ValueError, match="in_channels=1"):
        STgramNet(n_classes=2, in_channels=2)
