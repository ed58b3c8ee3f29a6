"""The displays draw what the DCASE metrics compute, from predictions and from fitted models."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
import sklearn
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_curve
from sklearn.pipeline import make_pipeline

from sklasd.datasets import make_machine_sounds
from sklasd.features import LogMel, TimePooling
from sklasd.inspection import ASDRocCurveDisplay, EmbeddingDisplay, ScoreDistributionDisplay
from sklasd.metrics import dcase_report
from sklasd.scoring import KNNScorer


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture
def predictions():
    """Two sections x two domains, 3 normal and 2 anomalous clips each, noisy scores."""
    rng = np.random.default_rng(0)
    y = np.tile([0, 0, 0, 1, 1], 4)
    return {
        "y": y,
        "score": y + rng.normal(0, 0.8, size=20),
        "section": np.repeat([0, 1], 10),
        "domain": np.tile(np.repeat(["source", "target"], 5), 2),
    }


@pytest.fixture(scope="module")
def fitted():
    """LogMel + pooling + kNN fitted on two sections of short synthetic clips."""
    X, meta = make_machine_sounds(
        machine_types="fan", n_sections=2, n_train=6, n_test=4, duration=1.0, random_state=0
    )
    train = (meta["split"] == "train").to_numpy()
    test = meta[~train]
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_pipeline(LogMel(n_mels=32), TimePooling(), KNNScorer(n_neighbors=2))
        pipe.fit(X[train], section=meta["section"][train].to_numpy())
    return {
        "pipe": pipe,
        "X": X[~train],
        "y": test["label"].to_numpy(dtype=int),
        "section": test["section"].to_numpy(),
        "domain": test["domain"].to_numpy(),
    }


def test_roc_curves_are_those_behind_dcase_report(predictions):
    p = predictions
    display = ASDRocCurveDisplay.from_predictions(
        p["y"], p["score"], section=p["section"], domain=p["domain"], year=2023
    )
    report = dcase_report(p["y"], p["score"], section=p["section"], domain=p["domain"])
    assert len(display.axes_) == 2
    assert display.curve == ["source", "target", "all clips"] * 2
    for line, section, curve, value in zip(
        display.line_, display.section, display.curve, display.roc_auc, strict=True
    ):
        own = p["section"] == section
        used = own if curve == "all clips" else own & ((p["domain"] == curve) | (p["y"] == 1))
        fpr, tpr, _ = roc_curve(p["y"][used], p["score"][used])
        np.testing.assert_array_equal(line.get_xdata(), fpr)
        np.testing.assert_array_equal(line.get_ydata(), tpr)
        assert line.axes is display.axes_[section]
        if curve == "all clips":
            assert value is None
            assert (
                line.get_label()
                == f"all clips (pAUC = {report.loc[('all', section), 'pAUC']:.3f})"
            )
        else:
            assert value == pytest.approx(report.loc[("all", section), f"AUC ({curve})"])
    for region in display.pauc_region_:
        assert region.get_x() == 0 and region.get_width() == pytest.approx(0.1)
    assert [ax.get_title() for ax in display.axes_] == ["section 0", "section 1"]


def test_roc_follows_the_rules_of_each_year(predictions):
    p = predictions
    kwargs = {"section": p["section"], "domain": p["domain"]}
    d2021 = ASDRocCurveDisplay.from_predictions(p["y"], p["score"], year=2021, **kwargs)
    report = dcase_report(p["y"], p["score"], year=2021, **kwargs)
    assert d2021.curve == ["source", "target"] * 2
    assert d2021.pauc[1] == pytest.approx(report.loc[("all", 0), "pAUC (target)"])
    # each domain on its own clips only
    assert len(d2021.line_[0].get_xdata()) <= 5 + 1
    d2020 = ASDRocCurveDisplay.from_predictions(
        p["y"], p["score"], machine_type="fan", year=2020, **kwargs
    )
    assert d2020.curve == ["all clips"] * 2 and d2020.section == [("fan", 0), ("fan", 1)]
    assert d2020.axes_[1].get_title() == "fan, section 1"


def test_roc_errors_name_the_section_and_the_axes(predictions):
    p = predictions
    y = np.where(p["section"] == 1, 0, p["y"])
    with pytest.raises(ValueError, match="section 1 has no anomalous"):
        ASDRocCurveDisplay.from_predictions(y, p["score"], section=p["section"])
    _, ax = plt.subplots()
    with pytest.raises(ValueError, match=r"2 section.*holds 1 Axes"):
        ASDRocCurveDisplay.from_predictions(p["y"], p["score"], section=p["section"], ax=ax)


def test_roc_from_estimator_scores_with_decision_function(fitted):
    f = fitted
    with sklearn.config_context(enable_metadata_routing=True):
        display = ASDRocCurveDisplay.from_estimator(
            f["pipe"], f["X"], f["y"], section=f["section"], domain=f["domain"]
        )
        anomaly_score = -f["pipe"].decision_function(f["X"], section=f["section"])
    direct = ASDRocCurveDisplay.from_predictions(
        f["y"], anomaly_score, section=f["section"], domain=f["domain"]
    )
    for line, expected in zip(display.line_, direct.line_, strict=True):
        np.testing.assert_array_equal(line.get_xydata(), expected.get_xydata())
    assert display.axes_[0].get_title() == "Pipeline: section 0"


def test_score_histograms_count_every_clip(predictions):
    p = predictions
    display = ScoreDistributionDisplay.from_predictions(
        p["y"], p["score"], section=p["section"], domain=p["domain"], threshold={0: 0.5, 1: 1}
    )
    assert len(display.axes_) == 2 and len(display.bars_) == 8
    for (section, group), bars in display.bars_.items():
        label, domain = group.rstrip(")").split(" (")
        expected = (
            (p["section"] == section)
            & (p["y"] == (label == "anomalous"))
            & (p["domain"] == domain)
        )
        assert sum(bars.datavalues) == expected.sum()
        assert bars.patches[0].get_label() == group
    edges = {round(patch.get_x(), 9) for patch in display.bars_[0, "normal (source)"]}
    assert len(edges) == len(display.bars_[0, "anomalous (target)"])
    assert [line.get_xdata()[0] for line in display.threshold_lines_] == [0.5, 1]
    with pytest.raises(ValueError, match="no value for section 1"):
        ScoreDistributionDisplay.from_predictions(
            p["y"], p["score"], section=p["section"], threshold={0: 0.5}
        )


def test_score_histograms_from_estimator_draw_the_threshold_of_detectors(fitted):
    f = fitted
    with sklearn.config_context(enable_metadata_routing=True):
        display = ScoreDistributionDisplay.from_estimator(
            f["pipe"], f["X"], f["y"], section=f["section"]
        )
        predicted = f["pipe"].predict(f["X"], section=f["section"])
    assert sorted(display.bars_) == [
        (0, "anomalous"),
        (0, "normal"),
        (1, "anomalous"),
        (1, "normal"),
    ]
    # the line at 0 separates the clips predict flags (-1) from the others
    assert all(line.get_xdata()[0] == 0 for line in display.threshold_lines_)
    score = display.anomaly_score
    np.testing.assert_array_equal(score > 0, predicted == -1)

    features = f["pipe"][:-1].transform(f["X"])
    classifier = LogisticRegression().fit(features, f["y"])
    plain = ScoreDistributionDisplay.from_estimator(classifier, features, f["y"], section=None)
    assert plain.threshold_lines_ == [None]


def test_embedding_map_of_pipeline_features(fitted):
    f = fitted
    display = EmbeddingDisplay.from_estimator(
        f["pipe"][:-1], f["X"], section=f["section"], y_true=f["y"], method="pca"
    )
    features = f["pipe"][:-1].transform(f["X"])
    np.testing.assert_allclose(
        display.coordinates, PCA(2, random_state=0).fit_transform(features), atol=1e-8
    )
    assert sum(len(s.get_offsets()) for s in display.scatter_.values()) == len(f["X"])
    labels = [text.get_text() for text in display.ax_.get_legend().get_texts()]
    assert labels == [
        "section 0, normal",
        "section 0, anomalous",
        "section 1, normal",
        "section 1, anomalous",
    ]
    tsne = EmbeddingDisplay.from_embeddings(features, domain=f["domain"], color_by="domain")
    assert tsne.coordinates.shape == (len(f["X"]), 2) and sorted(tsne.scatter_) == [
        ("source", None),
        ("target", None),
    ]


def test_embedding_errors(fitted):
    f = fitted
    with pytest.raises(TypeError, match="KNNScorer has no transform"):
        EmbeddingDisplay.from_estimator(f["pipe"][-1], f["X"])
    with pytest.raises(ValueError, match="color_by='domain' needs the domain"):
        EmbeddingDisplay.from_embeddings(np.eye(4), method="pca", color_by="domain")
    with pytest.raises(ValueError, match="y_true has 3 labels"):
        EmbeddingDisplay.from_embeddings(np.eye(4), y_true=[0, 1, 0], method="pca")
