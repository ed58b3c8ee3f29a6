"""decision_rates counts false alarms and misses per machine type, section and domain."""

import numpy as np
import pandas as pd
import pytest

from sklasd.metrics import decision_rates


@pytest.fixture
def clips():
    rng = np.random.default_rng(0)
    rows = [
        (mt, sec, dom, lab)
        for mt in ("fan", "valve")
        for sec in (0, 1)
        for dom in ("source", "target")
        for lab in (0, 0, 0, 1, 1)
    ]
    frame = pd.DataFrame(rows, columns=["machine_type", "section", "domain", "label"])
    frame["flagged"] = rng.random(len(frame)) < 0.3 + 0.4 * frame["label"]
    return frame.sample(frac=1.0, random_state=0).reset_index(drop=True)


def test_rates_match_direct_counts(clips):
    rates = decision_rates(
        clips["label"],
        clips["flagged"],
        section=clips["section"],
        machine_type=clips["machine_type"],
        domain=clips["domain"],
    )
    assert len(rates) == 2 * 2 * 2 + 1
    for (machine_type, section, domain), group in clips.groupby(
        ["machine_type", "section", "domain"]
    ):
        row = rates.loc[(machine_type, section, domain)]
        normal, anomalous = group[group["label"] == 0], group[group["label"] == 1]
        assert row["normal clips"] == len(normal) and row["anomalous clips"] == len(anomalous)
        assert row["false alarms"] == normal["flagged"].sum()
        assert row["misses"] == (~anomalous["flagged"]).sum()
        assert row["false-alarm rate"] == pytest.approx(normal["flagged"].mean())
        assert row["miss rate"] == pytest.approx(1 - anomalous["flagged"].mean())
    overall = rates.loc[("overall", "all", "all")]
    assert overall["false alarms"] == (clips["flagged"] & (clips["label"] == 0)).sum()
    assert overall["normal clips"] == (clips["label"] == 0).sum()


def test_a_section_that_flags_every_normal_clip_shows_it():
    y = [0, 0, 0, 1, 0, 0, 0, 1]
    flagged = [1, 1, 1, 1, 0, 0, 0, 1]
    rates = decision_rates(y, flagged, section=[0] * 4 + [1] * 4)
    assert rates.loc[("all", 0, "all"), "false-alarm rate"] == 1.0
    assert rates.loc[("all", 1, "all"), "false-alarm rate"] == 0.0


def test_groups_without_a_class_get_nan_rates():
    rates = decision_rates([0, 0, 1], [0, 1, 1], section=[0, 0, 1])
    assert np.isnan(rates.loc[("all", 0, "all"), "miss rate"])
    assert np.isnan(rates.loc[("all", 1, "all"), "false-alarm rate"])


def test_predict_output_is_refused_with_a_hint():
    with pytest.raises(ValueError, match=r"predict\(X\) == -1"):
        decision_rates([0, 1], [1, -1], section=None)
    with pytest.raises(ValueError, match="y_pred must hold 0"):
        decision_rates([0, 1], [0, 2], section=None)
