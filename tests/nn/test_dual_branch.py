"""DualBranchNet and SpectrumBranch: shapes, the spectrum, and training end to end."""

import numpy as np
import pytest
import torch

from sklasd.embedders import NetEmbedder
from sklasd.features import WaveformFrames
from sklasd.nn import TDNN, AdaProjLoss, DualBranchNet, SpectrumBranch
from sklasd.training import ClassifierNet

SMALL = {
    "n_mels": 16,
    "n_fft": 256,
    "spectrum_width": 8,
    "spectrum_dim": 8,
    "backbone": TDNN,
    "width_mult": 0.125,
    "embedding_dim": 8,
}


def test_spectrum_is_the_fft_magnitude_up_to_fmax():
    branch = SpectrumBranch(1000, sr=1000, fmax=100.0, width=4, embedding_dim=3)
    assert branch.n_bins == 101  # 1 Hz bins, 0 to 100 Hz
    waves = torch.randn(2, 1000)
    expected = np.abs(np.fft.rfft(waves.numpy(), axis=1))[:, :101]
    np.testing.assert_allclose(
        branch.spectrum(waves)[:, 0].numpy(), expected, rtol=1e-4, atol=1e-4
    )
    assert SpectrumBranch(1000, sr=1000).n_bins == 501


def test_spectrum_convolutions_ignore_loudness_up_to_a_factor():
    torch.manual_seed(0)
    branch = SpectrumBranch(4000, width=4, embedding_dim=3)
    waves = torch.randn(2, 4000)
    quiet = branch.convs(branch.spectrum(waves))
    loud = branch.convs(branch.spectrum(10 * waves))
    torch.testing.assert_close(loud, 10 * quiet, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("head", ["linear", "cosine"])
def test_shapes_and_branches(head):
    torch.manual_seed(0)
    net = DualBranchNet(n_classes=3, input_size=(128, 16), head=head, **SMALL).eval()
    blocks = torch.randn(5, 1, 128, 16)
    mel, spectrum = net.branch_embeddings(blocks)
    assert mel.shape == (5, 8) and spectrum.shape == (5, 8)
    assert net.embedding_dim == 16
    torch.testing.assert_close(net.embed(blocks), torch.cat([mel, spectrum], dim=1))
    output = net(blocks)
    assert output.shape == (5, 3)
    if head == "cosine":
        assert output.abs().max() <= 1
    # The log-mel branch sees the frames of the whole crop: k + 1 of them.
    assert net.log_mel(blocks[:, 0].mT.reshape(5, -1)).shape == (5, 1, 16, 17)


def test_input_is_checked():
    with pytest.raises(ValueError, match="mono waveform blocks"):
        DualBranchNet(n_classes=2, in_channels=2, **SMALL)
    with pytest.raises(ValueError, match="head must be"):
        DualBranchNet(n_classes=2, head="arc", **SMALL)
    net = DualBranchNet(n_classes=2, input_size=(128, 16), **SMALL)
    with pytest.raises(ValueError, match=r"WaveformFrames\(hop_length=128\)"):
        net(torch.randn(2, 1, 64, 16))


def _sections(seed=0, n_per_section=8):
    """Waveforms of two sections: tones of different pitch in noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(4096) / 16000
    waves, section = [], []
    for s, freq in enumerate((500.0, 1500.0)):
        for _ in range(n_per_section):
            tone = np.sin(2 * np.pi * freq * t + rng.uniform(0, 2 * np.pi))
            waves.append(tone + 0.5 * rng.normal(size=t.size))
            section.append(s)
    return np.asarray(waves, dtype=np.float32), np.asarray(section)


def test_trains_in_a_net_embedder_on_waveform_frames():
    waves, section = _sections()
    frames = WaveformFrames(hop_length=128).fit_transform(waves)  # (16, 1, 128, 32)
    net = ClassifierNet(
        DualBranchNet,
        criterion=AdaProjLoss,
        criterion__subspace_dim=2,
        max_epochs=8,
        batch_size=8,
        lr=3e-3,
        **{f"module__{name}": value for name, value in SMALL.items()},
    )
    embedder = NetEmbedder(net=net, n_frames=16, random_state=0).fit(frames, section=section)
    loss = embedder.net_.history[:, "train_loss"]
    assert loss[-1] < loss[0]
    assert embedder.transform(frames).shape == (16, 16)
    proba = embedder.predict_proba(frames)
    assert (proba.argmax(axis=1) == section).mean() > 0.5
