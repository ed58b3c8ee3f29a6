"""Explanations point at where a clip departs from its section's normal clips."""

import pickle

import matplotlib.pyplot as plt
import numpy as np
import pytest
import soundfile as sf
from sklearn.base import clone

from sklasd.datasets import make_machine_sounds
from sklasd.features import LogMel
from sklasd.inspection import ExplanationDisplay, LogMelExplainer

SR = 16000


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def fan():
    """Two sections of 2 s synthetic fan clips: normal training clips and test clips."""
    X, meta = make_machine_sounds(
        machine_types="fan", n_sections=2, n_train=8, n_test=2, duration=2.0, random_state=0
    )
    train = (meta["split"] == "train").to_numpy()
    normal_test = (~train & (meta["label"] == 0)).to_numpy()
    return {
        "X_train": X[train],
        "section_train": meta["section"][train].to_numpy(),
        "X_test": X[normal_test],
        "section_test": meta["section"][normal_test].to_numpy(),
    }


def _plant_tone(clip, *, start, stop, frequency, level=1.0):
    """``clip`` plus a sine of ``level`` times the clip's RMS between start and stop (s)."""
    out = clip.copy()
    t = np.arange(round((stop - start) * SR)) / SR
    rms = np.sqrt(np.mean(clip**2))
    first = round(start * SR)
    out[first : first + t.size] += level * rms * np.sin(2 * np.pi * frequency * t)
    return out


def test_explanation_points_at_a_planted_tone(fan):
    explainer = LogMelExplainer().fit(fan["X_train"], section=fan["section_train"])
    clip = _plant_tone(fan["X_test"][0], start=1.0, stop=1.3, frequency=3500.0)
    explanation = explainer.explain(clip[None], section=fan["section_test"][:1])[0]
    start, stop = explanation.span
    low, high = explanation.band
    assert 0.9 <= start <= 1.05 and 1.25 <= stop <= 1.4, explanation.span
    assert low <= 3500 <= high and high - low < 1000, explanation.band
    assert explanation.level_db > 6 and explanation.mean_z > 3
    assert explanation.text.startswith(f"{start:.1f}\u2013{stop:.1f} s, ")
    assert f"+{explanation.level_db:.0f} dB over normal" in explanation.text
    # the same clip without the tone deviates less, and not there
    plain = explainer.explain(fan["X_test"][:1], section=fan["section_test"][:1])[0]
    assert plain.mean_z < explanation.mean_z


def test_maps_are_the_log_mel_against_the_section_statistics(fan):
    logmel = LogMel(n_mels=32)
    explainer = LogMelExplainer(logmel=logmel, min_std=0.5)
    explainer.fit(fan["X_train"], section=fan["section_train"])
    # every frame but the first and the last, whose STFT windows reach past the clip
    features = logmel.fit_transform(fan["X_train"])[:, 0, :, 1:-1].astype(float)
    for row, section in enumerate(explainer.sections_):
        own = features[fan["section_train"] == section]
        np.testing.assert_allclose(explainer.mean_[row], own.mean(axis=(0, 2)), rtol=1e-6)
        std = np.maximum(own.std(axis=(0, 2)), 0.5)
        np.testing.assert_allclose(explainer.std_[row], std, rtol=1e-4)
    sizes = [int(np.sum(fan["section_train"] == section)) for section in explainer.sections_]
    assert explainer.n_clips_.tolist() == sizes
    explanation = explainer.explain(fan["X_test"][:1], section=fan["section_test"][:1])[0]
    row = list(explainer.sections_).index(fan["section_test"][0])
    clip_features = logmel.transform(fan["X_test"][:1])[0, 0]
    np.testing.assert_allclose(
        explanation.excess_db, clip_features - explainer.mean_[row][:, None], atol=1e-4
    )
    np.testing.assert_allclose(
        explanation.z, explanation.excess_db / explainer.std_[row][:, None], rtol=1e-6
    )
    assert explanation.times[1] - explanation.times[0] == pytest.approx(512 / SR)
    assert np.all(np.diff(explainer.frequencies_) > 0)
    assert np.all(explainer.band_edges_[:-1] < explainer.frequencies_)
    assert np.all(explainer.frequencies_ < explainer.band_edges_[1:])


def test_regions_leave_out_the_zero_padded_edge_frames(fan):
    explainer = LogMelExplainer().fit(fan["X_train"], section=fan["section_train"])
    silent_start = fan["X_test"].copy()
    silent_start[:, :1600] = 0.0  # 0.1 s of silence: the first frames lie far below normal
    for explanation in explainer.explain(silent_start, section=fan["section_test"]):
        first, last = explanation.frames
        assert 1 <= first and last <= len(explanation.times) - 2


def test_paths_and_waveforms_give_the_same_explanation(fan, tmp_path):
    paths = []
    for i, clip in enumerate(fan["X_test"][:2]):
        paths.append(str(tmp_path / f"clip_{i}.wav"))
        sf.write(paths[-1], clip, SR, subtype="FLOAT")
    explainer = LogMelExplainer().fit(fan["X_train"], section=fan["section_train"])
    from_paths = explainer.explain(paths, section=fan["section_test"][:2])
    from_arrays = explainer.explain(fan["X_test"][:2], section=fan["section_test"][:2])
    assert [e.clip for e in from_paths] == paths
    assert [e.clip for e in from_arrays] == [0, 1]
    for a, b in zip(from_paths, from_arrays, strict=True):
        np.testing.assert_allclose(a.excess_db, b.excess_db, atol=1e-3)
        assert a.text == b.text


def test_sections_are_checked(fan):
    explainer = LogMelExplainer().fit(fan["X_train"], section=fan["section_train"])
    with pytest.raises(ValueError, match="pass section="):
        explainer.explain(fan["X_test"][:1])
    with pytest.raises(ValueError, match=r"section values \[7\] were not seen in fit"):
        explainer.explain(fan["X_test"][:1], section=[7])
    pooled = LogMelExplainer().fit(fan["X_train"])
    assert pooled.sections_ is None and pooled.mean_.shape[0] == 1
    assert pooled.explain(fan["X_test"][:1])[0].section is None


def test_max_clips_draws_a_seeded_subset(fan):
    explainer = LogMelExplainer(max_clips=3, random_state=0)
    first = explainer.fit(fan["X_train"], section=fan["section_train"]).mean_.copy()
    assert explainer.n_clips_.tolist() == [3, 3]
    np.testing.assert_array_equal(
        clone(explainer).fit(fan["X_train"], section=fan["section_train"]).mean_, first
    )


def test_fitted_explainer_pickles(fan):
    explainer = LogMelExplainer().fit(fan["X_train"], section=fan["section_train"])
    loaded = pickle.loads(pickle.dumps(explainer))
    a = explainer.explain(fan["X_test"][:1], section=fan["section_test"][:1])[0]
    b = loaded.explain(fan["X_test"][:1], section=fan["section_test"][:1])[0]
    np.testing.assert_array_equal(a.z, b.z)


def test_display_boxes_the_region(fan):
    explainer = LogMelExplainer().fit(fan["X_train"], section=fan["section_train"])
    clip = _plant_tone(fan["X_test"][0], start=1.0, stop=1.3, frequency=3500.0)
    display = ExplanationDisplay.from_estimator(
        explainer, clip[None], section=fan["section_test"][:1], name="planted"
    )
    explanation = display.explanation
    assert display.ax_.get_title() == f"planted\n{explanation.text}"
    x, y = display.box_.get_xy()
    assert x == pytest.approx(explanation.span[0], abs=1e-9) or explanation.span[0] == 0
    assert x + display.box_.get_width() == pytest.approx(explanation.span[1])
    assert y == explanation.bands[0]
    assert y + display.box_.get_height() == explanation.bands[1] + 1
    assert display.colorbar_ is not None
    with pytest.raises(ValueError, match="draws one clip"):
        ExplanationDisplay.from_estimator(
            explainer, fan["X_test"][:2], section=fan["section_test"][:2]
        )
