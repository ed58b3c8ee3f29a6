"""official_score and dcase_report against direct roc_auc_score / scipy.stats.hmean calls."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import hmean
from sklearn.metrics import roc_auc_score

from sklasd.metrics import dcase_report, official_score, official_score_derivation


@pytest.fixture(scope="module")
def clips():
    """Two machine types x two sections x two domains x (normal, anomalous) x 6 clips."""
    rng = np.random.default_rng(0)
    rows = [
        (mt, sec, dom, lab)
        for mt in ("fan", "valve")
        for sec in (0, 1)
        for dom in ("source", "target")
        for lab in (0, 1)
        for _ in range(6)
    ]
    frame = pd.DataFrame(rows, columns=["machine_type", "section", "domain", "label"])
    frame["score"] = rng.normal(size=len(frame)) + 0.8 * frame["label"]
    return frame.sample(frac=1.0, random_state=0).reset_index(drop=True)  # mixed order


def _kwargs(frame, **extra):
    return {
        "section": frame["section"].to_numpy(),
        "machine_type": frame["machine_type"].to_numpy(),
        "domain": frame["domain"].to_numpy(),
        **extra,
    }


def _groups(frame):
    return [g for _, g in frame.groupby(["machine_type", "section"], sort=True)]


def test_2022_rules(clips):
    expected = []
    for g in _groups(clips):
        for dom in ("source", "target"):
            used = (g["domain"] == dom) | (g["label"] == 1)
            expected.append(roc_auc_score(g["label"][used], g["score"][used]))
        expected.append(roc_auc_score(g["label"], g["score"], max_fpr=0.1))
    score = official_score(clips["label"], clips["score"], **_kwargs(clips, year=2022))
    assert score == pytest.approx(hmean(expected))
    for year in (2023, 2024, 2025):  # same rules
        assert official_score(
            clips["label"], clips["score"], **_kwargs(clips, year=year)
        ) == pytest.approx(score)


def test_2022_auc_per_domain_uses_anomalies_of_both_domains():
    # section of 2 source normals, 2 target normals, 1 source + 1 target anomaly
    y = [0, 0, 0, 0, 1, 1]
    s = [0.1, 0.2, 0.6, 0.7, 0.3, 0.8]
    domain = ["source", "source", "target", "target", "source", "target"]
    report = dcase_report(y, s, section=[0] * 6, domain=domain, year=2022)
    # source: normals .1 .2 vs anomalies .3 .8 -> 1.0 ; target: normals .6 .7 vs .3 .8 -> 0.5
    assert report.loc[("all", 0), "AUC (source)"] == pytest.approx(1.0)
    assert report.loc[("all", 0), "AUC (target)"] == pytest.approx(0.5)
    assert report.loc[("all", 0), "pAUC"] == pytest.approx(roc_auc_score(y, s, max_fpr=0.1))


def test_2021_rules_each_domain_on_its_own_clips(clips):
    expected = []
    for g in _groups(clips):
        for dom in ("source", "target"):
            own = g[g["domain"] == dom]
            expected.append(roc_auc_score(own["label"], own["score"]))
            expected.append(roc_auc_score(own["label"], own["score"], max_fpr=0.1))
    score = official_score(clips["label"], clips["score"], **_kwargs(clips, year=2021))
    assert score == pytest.approx(hmean(expected))


def test_2020_rules_average_per_machine_type(clips):
    per_type = []
    for _, mt in clips.groupby("machine_type"):
        aucs = [roc_auc_score(g["label"], g["score"]) for _, g in mt.groupby("section")]
        paucs = [
            roc_auc_score(g["label"], g["score"], max_fpr=0.1) for _, g in mt.groupby("section")
        ]
        per_type.append((np.mean(aucs) + np.mean(paucs)) / 2)
    score = official_score(clips["label"], clips["score"], **_kwargs(clips, year=2020))
    assert score == pytest.approx(np.mean(per_type))


def test_2020_ignores_domain(clips):
    with_domain = official_score(clips["label"], clips["score"], **_kwargs(clips, year=2020))
    kwargs = _kwargs(clips, year=2020)
    kwargs.pop("domain")
    assert official_score(clips["label"], clips["score"], **kwargs) == pytest.approx(with_domain)


def test_2020_averages_types_not_sections():
    # type "a" has one section, type "b" two: the official number weights types equally
    y = [0, 1] * 3
    s = [0.0, 1.0, 0.0, 1.0, 1.0, 0.0]  # a/0 perfect, b/0 perfect, b/1 inverted
    section = [0, 0, 0, 0, 1, 1]
    mt = ["a", "a", "b", "b", "b", "b"]
    score = official_score(y, s, section=section, machine_type=mt, year=2020)
    # fully inverted section: AUC 0 and McClish pAUC 0.5 * (1 - 0.05 / 0.95) (its minimum)
    inverted_pauc = 0.5 * (1 - 0.05 / 0.95)
    # a: AUC 1, pAUC 1 -> 1 ; b: mean AUC (1 + 0) / 2, mean pAUC (1 + inverted) / 2
    type_b = ((1 + 0) / 2 + (1 + inverted_pauc) / 2) / 2
    assert score == pytest.approx((1.0 + type_b) / 2)


def test_max_fpr_is_passed_on(clips):
    expected = []
    for g in _groups(clips):
        for dom in ("source", "target"):
            used = (g["domain"] == dom) | (g["label"] == 1)
            expected.append(roc_auc_score(g["label"][used], g["score"][used]))
        expected.append(roc_auc_score(g["label"], g["score"], max_fpr=0.3))
    score = official_score(clips["label"], clips["score"], **_kwargs(clips, max_fpr=0.3))
    assert score == pytest.approx(hmean(expected))


def test_harmonic_mean_clips_zero_at_epsilon():
    # an inverted section has AUC 0: the evaluators clip at float epsilon, giving ~0 not NaN
    y = [0, 1, 0, 1]
    s = [1.0, 0.0, 0.0, 1.0]
    score = official_score(y, s, section=[0, 0, 1, 1], year=2022)
    assert 0 < score < 1e-12


def test_report_layout_2022(clips):
    report = dcase_report(clips["label"], clips["score"], **_kwargs(clips, year=2022))
    assert list(report.columns) == ["AUC (source)", "AUC (target)", "pAUC"]
    assert report.index.names == ["machine_type", "section"]
    assert report.index.tolist() == [
        ("fan", 0),
        ("fan", 1),
        ("fan", "arithmetic mean"),
        ("fan", "harmonic mean"),
        ("valve", 0),
        ("valve", 1),
        ("valve", "arithmetic mean"),
        ("valve", "harmonic mean"),
        ("overall", "arithmetic mean"),
        ("overall", "harmonic mean"),
    ]
    fan = report.loc[[("fan", 0), ("fan", 1)]]
    np.testing.assert_allclose(report.loc[("fan", "arithmetic mean")], fan.mean())
    np.testing.assert_allclose(report.loc[("fan", "harmonic mean")], hmean(fan, axis=0))
    sections = report.loc[[("fan", 0), ("fan", 1), ("valve", 0), ("valve", 1)]]
    np.testing.assert_allclose(report.loc[("overall", "harmonic mean")], hmean(sections, axis=0))
    assert report.attrs["official_score"] == pytest.approx(hmean(sections.to_numpy().ravel()))
    assert report.attrs["official_score"] == pytest.approx(
        official_score(clips["label"], clips["score"], **_kwargs(clips, year=2022))
    )
    g = clips[(clips["machine_type"] == "valve") & (clips["section"] == 1)]
    assert report.loc[("valve", 1), "pAUC"] == pytest.approx(
        roc_auc_score(g["label"], g["score"], max_fpr=0.1)
    )


def test_report_columns_2020_and_2021(clips):
    r2020 = dcase_report(clips["label"], clips["score"], **_kwargs(clips, year=2020))
    assert list(r2020.columns) == ["AUC", "pAUC"]
    r2021 = dcase_report(clips["label"], clips["score"], **_kwargs(clips, year=2021))
    assert list(r2021.columns) == [
        "AUC (source)",
        "AUC (target)",
        "pAUC (source)",
        "pAUC (target)",
    ]
    g = clips[
        (clips["machine_type"] == "fan") & (clips["section"] == 0) & (clips["domain"] == "target")
    ]
    assert r2021.loc[("fan", 0), "pAUC (target)"] == pytest.approx(
        roc_auc_score(g["label"], g["score"], max_fpr=0.1)
    )


def test_without_domain_only_source_columns(clips):
    kwargs = _kwargs(clips)
    kwargs.pop("domain")
    report = dcase_report(clips["label"], clips["score"], **kwargs)
    assert list(report.columns) == ["AUC (source)", "pAUC"]
    g = clips[(clips["machine_type"] == "fan") & (clips["section"] == 0)]
    assert report.loc[("fan", 0), "AUC (source)"] == pytest.approx(
        roc_auc_score(g["label"], g["score"])
    )


def test_machine_type_as_string_and_none():
    y, s, section = [0, 1, 0, 1], [0.1, 0.9, 0.2, 0.3], [3, 3, 4, 4]
    named = dcase_report(y, s, section=section, machine_type="pump")
    assert named.index[0] == ("pump", 3)
    unnamed = dcase_report(y, s, section=section)
    assert unnamed.index[0] == ("all", 3)
    np.testing.assert_allclose(named.to_numpy(), unnamed.to_numpy())


@pytest.mark.parametrize("year", [2020, 2021, 2022])
def test_single_class_section_names_type_and_section(year):
    y = [0, 1, 0, 0]
    domain = ["source", "source", "source", "source"]
    with pytest.raises(ValueError, match=r"machine type 'fan', section 7\b.*no anomalous"):
        official_score(
            y, [0.1, 0.2, 0.3, 0.4], section=[6, 6, 7, 7], machine_type="fan",
            domain=domain, year=year,
        )  # fmt: skip


def test_2021_domain_without_anomalies_names_domain():
    y = [0, 1, 0, 0]
    domain = ["source", "source", "target", "target"]
    with pytest.raises(ValueError, match="section 0, domain 'target' has no anomalous"):
        official_score(y, [0.1, 0.2, 0.3, 0.4], section=[0] * 4, domain=domain, year=2021)


def test_2022_domain_without_normals_names_domain():
    # section 1 has no target normals while target normals exist elsewhere
    y = [0, 0, 1, 0, 1]
    domain = ["source", "target", "target", "source", "target"]
    with pytest.raises(ValueError, match=r"section 1, domain 'target'.*no normal"):
        official_score(y, [0.1, 0.2, 0.9, 0.1, 0.8], section=[0, 0, 0, 1, 1], domain=domain)


def test_input_errors():
    y, s = [0, 1, 0, 1], [0.1, 0.9, 0.2, 0.3]
    with pytest.raises(ValueError, match="NaN"):
        official_score(y, [0.1, np.nan, 0.2, 0.3], section=[0] * 4)
    with pytest.raises(ValueError, match="section has 3 entries but y_true has 4"):
        official_score(y, s, section=[0, 0, 0])
    with pytest.raises(ValueError, match="section has missing values"):
        official_score(y, s, section=[0, 0, np.nan, 0])
    with pytest.raises(ValueError, match=r"domain must hold 'source' or 'target'; got \['src'\]"):
        official_score(y, s, section=[0] * 4, domain=["src", "source", "source", "source"])
    with pytest.raises(ValueError, match="year must be one of"):
        official_score(y, s, section=[0] * 4, year=2019)
    with pytest.raises(ValueError, match="max_fpr"):
        dcase_report(y, s, section=[0] * 4, max_fpr=0)
    with pytest.raises(ValueError, match="missing labels"):
        official_score(pd.array([0, 1, None, 1], dtype="Int64"), s, section=[0] * 4)


@pytest.mark.parametrize("year", [2020, 2021, 2023])
def test_official_score_derivation_names_the_values_and_the_score(clips, year):
    report = dcase_report(clips["label"], clips["score"], **_kwargs(clips, year=year))
    text = official_score_derivation(report)
    assert f"({year} rules) = {report.attrs['official_score']:.4f}" in text
    assert "2 machine types" in text
    if year == 2020:
        assert "(mean AUC + mean pAUC) / 2" in text
    else:
        n_values = 4 * len(report.columns)  # 2 machine types x 2 sections
        assert f"harmonic mean of the {n_values} values" in text
        assert ", ".join(report.columns) in text
    stripped = report.copy()
    stripped.attrs = {}
    with pytest.raises(ValueError, match="dcase_report"):
        official_score_derivation(stripped)
