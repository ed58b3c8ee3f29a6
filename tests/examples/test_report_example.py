"""The report example's fast mode: its displays agree with the scores, its page is complete."""

import runpy
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest

from sklasd.metrics import dcase_report

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.slow
def test_report_example(tmp_path):
    main = runpy.run_path(str(EXAMPLES / "report.py"))["main"]
    try:
        results = main(fast=True, workdir=tmp_path)
    finally:
        plt.close("all")

    scored = results["scored"]
    fan = scored[scored["machine_type"] == "fan"]
    y = fan["label"].to_numpy(dtype=int)
    # the displays from the fitted pipeline show the scores the run wrote
    np.testing.assert_allclose(results["scores"].anomaly_score, fan["anomaly_score"], rtol=1e-6)
    report = dcase_report(
        y, fan["anomaly_score"], section=fan["section"], domain=fan["domain"], year=2022
    )
    roc = results["roc"]
    aucs = [a for a, curve in zip(roc.roc_auc, roc.curve, strict=True) if curve == "target"]
    np.testing.assert_allclose(aucs, report["AUC (target)"].iloc[:3])
    assert len(roc.axes_) == 3 and results["embedding"].coordinates.shape == (len(fan), 2)
    # the page shows the three figures of both machine types, all written
    page = results["index"].read_text()
    for name in ("fan", "valve"):
        for kind in ("roc", "scores", "embedding"):
            assert f'src="{kind}_{name}.png"' in page
            assert (tmp_path / f"{kind}_{name}.png").is_file()
