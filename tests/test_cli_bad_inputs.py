"""A corpus of bad inputs to the command line: one line per error (``sklasd: error: ...``)
naming the file or value, a non-zero exit status, and an output folder that holds one
complete run or says it does not. Runs killed at a chosen write and concurrent runs go
through subprocesses."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sklasd import cli
from sklasd.datasets import make_machine_sounds, write_dcase_folder
from sklasd.exceptions import OutputFolderError
from sklasd.utils import check_run_folder

REPOSITORY = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """A tiny DCASE folder: fan and pump, one section, 0.3 s clips."""
    X, frame = make_machine_sounds(
        machine_types=["fan", "pump"], n_sections=1, n_train=6, n_train_target=1, n_test=4,
        duration=0.3, random_state=0,
    )  # fmt: skip
    root = tmp_path_factory.mktemp("data")
    write_dcase_folder(root, X, frame)
    return root


def args(root, output, *more):
    return [str(root), "--output", str(output), "--scorer", "knn", "--no-report", *more]


@pytest.fixture(scope="module")
def finished(dataset, tmp_path_factory):
    """The output folder of one complete run on ``dataset``."""
    output = tmp_path_factory.mktemp("finished") / "out"
    assert cli.main(args(dataset, output)) == 0
    return output


@pytest.fixture
def previous(finished, tmp_path):
    """A copy of the complete run, and its manifest."""
    output = tmp_path / "out"
    shutil.copytree(finished, output)
    return output, check_run_folder(output)


def error_line(capsys):
    """The one line the command printed to stderr (asserting there was exactly one)."""
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("sklasd: error: "), lines
    return lines[0]


# -- refused before any fitting ----------------------------------------------------------


def test_a_rerun_into_a_full_folder_is_refused_and_changes_nothing(dataset, previous, capsys):
    output, manifest = previous
    assert cli.main(args(dataset, output, "--machine-types", "fan")) == 2
    line = error_line(capsys)
    assert str(output) in line and "complete run" in line and "--overwrite" in line
    assert check_run_folder(output) == manifest


def test_a_rerun_with_overwrite_keeps_nothing_of_the_earlier_run(dataset, previous):
    """Before: a rerun with --machine-types fan kept the pump CSVs and model, silently."""
    output, manifest = previous
    assert any("pump" in name for name in manifest["files"])
    assert cli.main(args(dataset, output, "--machine-types", "fan", "--overwrite")) == 0
    files = check_run_folder(output)["files"]
    assert files and not any("pump" in name for name in files)
    assert not any("pump" in path.name for path in output.iterdir())


@pytest.mark.parametrize(
    "more, message",
    [
        (["--year", "2019"], "argument --year: invalid choice: 2019"),
        (["--scorer", "lof"], "argument --scorer: invalid choice: 'lof'"),
        (["--n-jobs", "two"], "argument --n-jobs: invalid int value: 'two'"),
    ],
    ids=["year", "scorer", "n-jobs"],
)
def test_bad_options_exit_2_before_the_output_is_touched(dataset, tmp_path, capsys, more, message):
    with pytest.raises(SystemExit) as exited:
        cli.main(args(dataset, tmp_path / "out", *more))
    assert exited.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "make_output, message",
    [
        (lambda tmp: tmp / "file", "Cannot write into the output folder"),
        (lambda tmp: tmp / "file" / "out", "Cannot write into the output folder"),
        (lambda tmp: tmp, "holds files that no sklasd run wrote"),
    ],
    ids=["a-file", "under-a-file", "a-folder-of-other-files"],
)
def test_an_output_that_cannot_hold_the_run_exits_2_and_keeps_its_files(
    dataset, tmp_path, capsys, make_output, message
):
    (tmp_path / "file").write_text("keep me")
    assert cli.main(args(dataset, make_output(tmp_path), "--overwrite")) == 2
    assert message in error_line(capsys)
    assert (tmp_path / "file").read_text() == "keep me"


@pytest.mark.parametrize("missing", ["train", "test"])
def test_a_machine_type_without_training_or_test_clips_does_not_discard_the_others(
    dataset, tmp_path, capsys, missing
):
    """The other machine types are scored and written; the last line names it; exit 4."""
    root = tmp_path / "data"
    shutil.copytree(dataset, root)
    shutil.rmtree(root / "pump" / missing)
    output = tmp_path / "out"
    assert cli.main(args(root, output)) == cli.EXIT_PARTIAL == 4
    last = capsys.readouterr().err.splitlines()[-1]
    assert last.startswith("sklasd: error: machine types not scored: pump: no ")
    assert f"pump: no {'training' if missing == 'train' else 'test'} clips" in last
    scored = pd.read_csv(output / "scores.csv")
    assert set(scored["machine_type"]) == {"fan"}
    assert "pump: no" in (output / "dcase_report.md").read_text()
    check_run_folder(output)  # complete, manifest last


def test_a_dataset_without_any_machine_type_to_fit_and_score_exits_2(dataset, tmp_path, capsys):
    root = tmp_path / "data"
    shutil.copytree(dataset, root)
    for machine_type in ("fan", "pump"):
        shutil.rmtree(root / machine_type / "train")
    assert cli.main(args(root, tmp_path / "out")) == 2
    message = error_line(capsys)
    assert "No machine type has both training and test clips" in message
    assert "fan has no train clips; pump has no train clips" in message
    assert not (tmp_path / "out").exists()


def test_a_machine_type_whose_fit_fails_does_not_discard_the_others(dataset, tmp_path, capsys):
    """pump keeps 3 training clips, too few for 5 neighbours: its fit fails, fan's does not."""
    root = tmp_path / "data"
    shutil.copytree(dataset, root)
    for path in sorted((root / "pump" / "train").glob("*.wav"))[3:]:
        path.unlink()
    output = tmp_path / "out"
    assert cli.main(args(root, output, "--set", "knnscorer__n_neighbors=5")) == 4
    last = capsys.readouterr().err.splitlines()[-1]
    assert last.startswith("sklasd: error: machine types not scored: pump: ValueError: ")
    assert set(pd.read_csv(output / "scores.csv")["machine_type"]) == {"fan"}


@pytest.mark.parametrize(
    "root, message",
    [("missing", "does not exist"), ("file", "is not a folder")],
    ids=["missing", "a-file"],
)
def test_a_dataset_root_that_is_no_folder_exits_2(tmp_path, capsys, root, message):
    (tmp_path / "file").write_text("")
    assert cli.main(args(tmp_path / root, tmp_path / "out")) == 2
    assert message in error_line(capsys)
    assert not (tmp_path / "out").exists()


def test_a_bad_clip_name_exits_2_naming_the_file(dataset, tmp_path, capsys):
    root = tmp_path / "data"
    shutil.copytree(dataset, root)
    (root / "fan" / "train" / "section_00_0000_source_test_anomaly.wav").touch()
    assert cli.main(args(root, tmp_path / "out")) == 2
    assert "section_00_0000_source_test_anomaly.wav" in error_line(capsys)
    assert not (tmp_path / "out").exists()


def test_an_unknown_machine_type_exits_2(dataset, tmp_path, capsys):
    assert cli.main(args(dataset, tmp_path / "out", "--machine-types", "drill")) == 2
    assert "['drill'] not found" in error_line(capsys)


def test_an_output_folder_around_the_dataset_exits_2(dataset, tmp_path, capsys):
    root = tmp_path / "data"
    shutil.copytree(dataset, root)
    assert cli.main(args(root, tmp_path, "--overwrite")) == 2
    assert "lies inside the output folder" in error_line(capsys)
    assert (root / "fan" / "train").is_dir()


# -- failures during the run -------------------------------------------------------------


def test_a_full_disk_exits_1_with_one_line_and_marks_the_folder(
    dataset, tmp_path, capsys, monkeypatch
):
    def no_space(*args, **kwargs):
        raise OSError(28, "No space left on device", "anomaly_score_fan_section_00_test.csv")

    monkeypatch.setattr("sklasd.datasets.write_challenge_csvs", no_space)
    output = tmp_path / "out"
    assert cli.main(args(dataset, output, "--quiet")) == 1  # no progress bars on stderr
    assert "No space left on device" in error_line(capsys)
    assert "OSError: [Errno 28]" in (output / "RUN_INCOMPLETE.txt").read_text()
    with pytest.raises(OutputFolderError, match="incomplete run"):
        check_run_folder(output)


def test_ctrl_c_during_the_report_puts_the_previous_run_back(
    dataset, previous, capsys, monkeypatch
):
    """Before: Ctrl-C during the report left new CSVs beside the old report."""
    output, manifest = previous

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("sklasd.inspection.write_run_report", interrupted)
    assert (
        cli.main([str(dataset), "--output", str(output), "--scorer", "knn", "--overwrite"]) == 130
    )
    assert "interrupted" in capsys.readouterr().err
    assert check_run_folder(output) == manifest


def test_warnings_are_one_line_and_the_run_completes(dataset, tmp_path, capsys):
    root = tmp_path / "data"
    shutil.copytree(dataset, root)
    (root / "fan" / "train" / "._section_00_source_train_normal_0000.wav").write_bytes(b"\0")
    assert cli.main(args(root, tmp_path / "out", "--quiet")) == 0  # stderr: warnings only
    err = capsys.readouterr().err.splitlines()
    assert err == [line for line in err if line.startswith("sklasd: warning: Skipped 1 macOS")]
    assert len(err) == 1
    check_run_folder(tmp_path / "out")


# -- killed and concurrent runs (subprocesses) -------------------------------------------

# Runs the command line with os.replace (the rename of every file into place) hooked: at
# the rename onto OUTPUT/<pattern> it kills the process (before or after the rename), or
# blocks until the file FLAG exists (after creating FLAG.blocked).
DRIVER = """
import fnmatch, os, signal, sys, time

action, pattern, flag, *argv = sys.argv[1:]
output = os.path.abspath(argv[argv.index("--output") + 1])
replace = os.replace


def hooked(source, target, *args, **kwargs):
    hit = fnmatch.fnmatch(os.path.relpath(os.path.abspath(target), output), pattern)
    if hit and action == "block":
        open(flag + ".blocked", "w").close()
        while not os.path.exists(flag):
            time.sleep(0.05)
    if hit and action == "kill-before":
        os.kill(os.getpid(), signal.SIGKILL)
    replace(source, target, *args, **kwargs)
    if hit and action == "kill-after":
        os.kill(os.getpid(), signal.SIGKILL)


os.replace = hooked
from sklasd.cli import main

sys.exit(main(argv))
"""


def start(action, pattern, flag, argv):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPOSITORY), *sys.path])}
    return subprocess.Popen(
        [sys.executable, "-c", DRIVER, action, pattern, str(flag), *argv],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


needs_sigkill = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="no SIGKILL")


@needs_sigkill
@pytest.mark.slow
@pytest.mark.parametrize(
    "action, pattern, over_a_run",
    [
        ("kill-before", "anomaly_score_pump_*", False),
        ("kill-after", ".sklasd_previous_run/dcase_report.md", True),
        ("kill-after", "sklasd_run.json", True),
    ],
    ids=["while-writing-a-csv", "while-moving-the-previous-run-aside", "after-the-manifest"],
)
def test_a_run_killed_at_a_chosen_write_leaves_a_folder_marked_incomplete(
    dataset, previous, tmp_path, capsys, action, pattern, over_a_run
):
    """Before: a kill while a CSV was written left 5 of 8 rows that looked complete."""
    output = previous[0] if over_a_run else tmp_path / "fresh"
    killed = start(action, pattern, tmp_path / "flag", args(dataset, output, "--overwrite"))
    _, err = killed.communicate(timeout=300)
    assert killed.returncode == -signal.SIGKILL, err
    if action == "kill-before":  # killed with the file written under its temporary name
        assert list(output.glob(".anomaly_score_pump_*.tmp"))
        assert not list(output.glob("anomaly_score_pump_*.csv"))
    for csv in output.glob("*.csv"):  # whatever is in place is whole
        assert all(len(row.split(",")) >= 2 for row in csv.read_text().splitlines())
    with pytest.raises(OutputFolderError, match="incomplete run"):
        check_run_folder(output)
    assert cli.main(args(dataset, output)) == 2
    assert "holds the files of an incomplete run" in error_line(capsys)
    assert cli.main(args(dataset, output, "--overwrite")) == 0
    check_run_folder(output)
    assert not list(output.glob(".*.tmp"))


@pytest.mark.slow
def test_a_second_run_into_a_folder_being_written_fails_at_once(dataset, tmp_path, capsys):
    """Before: two runs into one folder both exited 0, index.html from one, CSVs from the
    other."""
    output, flag = tmp_path / "out", tmp_path / "flag"
    first = start("block", "anomaly_score_*", flag, args(dataset, output))
    try:
        deadline = time.monotonic() + 300
        while not Path(f"{flag}.blocked").exists():
            assert first.poll() is None, first.communicate()[1]
            assert time.monotonic() < deadline
            time.sleep(0.1)
        started = time.monotonic()
        assert cli.main(args(dataset, output, "--overwrite", "--machine-types", "fan")) == 2
        assert time.monotonic() - started < 30
        line = error_line(capsys)
        assert f"Another run is writing into {str(output)!r}" in line
        assert f"by process {first.pid}" in line
    finally:
        flag.touch()
        _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    manifest = check_run_folder(output)
    assert "--machine-types" not in manifest["command"]
    assert json.loads((output / "sklasd_run.json").read_text()) == manifest


def test_the_command_line_knows_the_years_of_the_metrics():
    from sklasd.metrics._official import YEARS

    assert cli.YEARS == YEARS
