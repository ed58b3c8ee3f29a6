"""The main job: synthetic data end to end, a DCASE-layout folder, and its errors."""

import os
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import sklearn

from sklasd.cli import main, run
from sklasd.datasets import load_dcase, make_machine_sounds, write_dcase_folder


@pytest.mark.slow
def test_main_on_synthetic_data(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["--output", str(out), "--duration", "1.0", "--scorer", "knn"]) == 0
    printed = capsys.readouterr().out
    assert "official score (2022 rules)" in printed
    frame = load_dcase(out / "synthetic_data", splits="test")
    for (machine_type, section), clips in frame.groupby(["machine_type", "section"]):
        name = f"{machine_type}_section_{section:02d}_test.csv"
        scores = pd.read_csv(out / f"anomaly_score_{name}", header=None)
        decisions = pd.read_csv(out / f"decision_result_{name}", header=None)
        assert sorted(scores[0]) == sorted(clips["path"].map(lambda p: p.split("/")[-1]))
        assert np.isfinite(scores[1]).all()
        assert set(decisions[1]) <= {0, 1}
    report = pd.read_csv(out / "dcase_report.csv")
    assert {"AUC (source)", "AUC (target)", "pAUC"} <= set(report.columns)
    assert (out / "dcase_report.md").read_text().count("|") > 10
    assert sorted(p.name for p in out.glob("model_*.joblib")) == [
        f"model_{t}.joblib" for t in sorted(frame["machine_type"].unique())
    ]
    page = (out / "index.html").read_text()
    for machine_type in frame["machine_type"].unique():
        for kind in ("roc", "scores", "embedding"):
            assert f'src="{kind}_{machine_type}.png"' in page
            assert (out / f"{kind}_{machine_type}.png").stat().st_size > 1000
    assert "report: " in printed


def test_run_scores_match_saved_model(tmp_path):
    X, meta = make_machine_sounds(
        machine_types=["valve"], n_sections=2, n_train=6, n_test=4, duration=0.5, random_state=1
    )
    root = tmp_path / "data"
    write_dcase_folder(root, X, meta)
    out = tmp_path / "out"
    report = run(root, out, scorer="cosine", year=2022)
    assert {"AUC (source)", "pAUC"} <= set(report.columns)
    test = load_dcase(root, splits="test")
    written = pd.read_csv(out / "anomaly_score_valve_section_01_test.csv", header=None)
    model = joblib.load(out / "model_valve.joblib")
    clips = test.set_index(test["path"].map(lambda p: p.split("/")[-1])).loc[written[0]]
    with sklearn.config_context(enable_metadata_routing=True):
        again = -model.decision_function(
            clips["path"].to_numpy(), section=clips["section"].to_numpy()
        )
    np.testing.assert_allclose(written[1].to_numpy(), again, rtol=1e-5)
    # the report is on by default: the HTML page beside the CSVs, with the same table,
    # what ran and the explanations of the most anomalous clips
    page = (out / "index.html").read_text()
    assert 'src="roc_valve.png"' in page and 'src="explain_valve.png"' in page
    assert "<th>detector</th><td>Pipeline(" in page
    assert f"<th>data folder</th><td>{root}</td>" in page
    table = pd.read_csv(out / "dcase_report.csv", index_col=[0, 1])
    np.testing.assert_allclose(table.to_numpy(), report.to_numpy())


def test_no_report_writes_the_tables_only(tmp_path, capsys):
    X, meta = make_machine_sounds(
        machine_types=["valve"], n_sections=2, n_train=4, n_test=4, duration=0.5, random_state=2
    )
    root = tmp_path / "data"
    write_dcase_folder(root, X, meta)
    out = tmp_path / "out"
    assert main([str(root), "--output", str(out), "--scorer", "knn", "--no-report"]) == 0
    assert "report: " not in capsys.readouterr().out
    assert (out / "dcase_report.csv").is_file() and (out / "dcase_report.md").is_file()
    assert not (out / "index.html").exists() and not list(out.glob("*.png"))


def test_main_reports_bad_folder(tmp_path, capsys):
    assert main([str(tmp_path / "missing")]) == 2
    assert "missing" in capsys.readouterr().err


def test_2020_runs_name_their_files_by_machine_id(tmp_path):
    X, meta = make_machine_sounds(
        machine_types=["fan"],
        n_sections=2,
        n_train=4,
        n_test=4,
        duration=0.5,
        domain_shift=False,
        random_state=3,
    )
    root = tmp_path / "dev_data"
    write_dcase_folder(root, X, meta, naming="dcase2020")
    out = tmp_path / "out"
    assert main([str(root), "--output", str(out), "--scorer", "knn", "--no-report"]) == 0
    assert sorted(p.name for p in out.glob("anomaly_score_*.csv")) == [
        "anomaly_score_fan_id_00.csv",
        "anomaly_score_fan_id_01.csv",
    ]
    assert (out / "decision_result_fan_id_01.csv").is_file()
    markdown = (out / "dcase_report.md").read_text()
    assert "('fan', 0)" not in markdown and "Official score (2020 rules)" in markdown


def _modules_loaded_by(code):
    """The heavy modules that a fresh interpreter has imported after running ``code``."""
    package_root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([package_root, *sys.path])}
    probe = (
        f"{code}\nimport sys\n"
        "print(sorted(m for m in ('torch', 'sklearn', 'pandas', 'matplotlib', 'librosa') "
        "if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True
    )
    return result.stdout.strip().splitlines()[-1]


def test_help_imports_no_heavy_module():
    code = "from sklasd.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass"
    assert _modules_loaded_by(code) == "[]"


def test_packages_that_do_not_train_networks_import_without_torch():
    loaded = _modules_loaded_by(
        "import sklasd.datasets, sklasd.metrics, sklasd.scoring, sklasd.detectors\n"
        "from sklasd.detectors import fit_score_by_machine_type"
    )
    assert "torch" not in loaded
