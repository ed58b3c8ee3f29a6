"""The benchmark suite: every benchmark script in one run, their figures in one table.

Runs the scripts below one after the other (each in its own process, so that one's memory
and thread pools do not weigh on the next), keeps each one's full output under
``--output`` and writes the headline figures they emit (``_results.emit``) as
``benchmark_table.md`` and ``benchmark_table.csv``: features, training, inference,
memory and model selection. The default sizes keep the whole run to about half an hour on
a 2-core CPU; ``--full`` uses each script's own defaults (the issues' protocols: 1,000
training clips and so on). A script that fails is reported in the table and does not stop
the others.

Given ``--dcase-root`` (a full DCASE development set), it also runs
``dcase_protocol.py`` on it: the papers' protocol, per machine type with official scoring,
so that a user with the data (and a GPU: ``--device cuda``) can set sklasd's numbers
beside the papers' tables.

Usage: python benchmarks/run_all.py [--output benchmarks/results] [--full]
                                   [--only bench_logmel ...] [--dcase-root PATH --device cuda]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import torch
from _results import parse

HERE = Path(__file__).resolve().parent

# script -> arguments of the quick suite (the --full suite passes none).
SUITE: dict[str, list[str]] = {
    "bench_logmel.py": ["--n-clips", "200", "--repeats", "2"],
    "bench_memory.py": ["--sizes", "250", "500", "1000"],
    "bench_features.py": ["--threads", "1"],
    "bench_idclassifier.py": ["--n-train", "400", "--n-score", "100"],
    "bench_outlier_exposure.py": ["--n-train", "400"],
    "bench_rcmae.py": ["--sizes", "default"],
    "bench_dask_search.py": [],
}


def run_script(script: str, args: list[str], output: Path) -> tuple[list[dict], str]:
    """Run one script; its figures and its status ("ok", "missing", "failed (rc)")."""
    path = HERE / script
    if not path.is_file():
        return [], "missing"
    start = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, str(path), *args], capture_output=True, text=True, cwd=HERE.parent
    )
    seconds = time.perf_counter() - start
    log = output / f"{path.stem}.log"
    log.write_text(completed.stdout + "\n--- stderr ---\n" + completed.stderr)
    status = "ok" if completed.returncode == 0 else f"failed ({completed.returncode})"
    print(f"{script}: {status} in {seconds:.0f} s, log {log}", flush=True)
    return parse(completed.stdout), status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=str(HERE / "results"), help="output folder")
    parser.add_argument("--full", action="store_true", help="each script's own defaults")
    parser.add_argument("--only", nargs="+", default=None, help="script names to run")
    parser.add_argument("--dcase-root", default=None, help="a full DCASE development set")
    parser.add_argument("--device", default="cpu", help="torch device for --dcase-root")
    args = parser.parse_args()
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    header = (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"torch {torch.__version__}; load average before {os.getloadavg()[0]:.2f}"
    )
    print(header)

    rows, statuses = [], {}
    for script, quick_args in SUITE.items():
        if args.only and Path(script).stem not in {Path(name).stem for name in args.only}:
            continue
        figures, statuses[script] = run_script(script, [] if args.full else quick_args, output)
        rows += [{**figure, "script": script} for figure in figures]
    if args.dcase_root:
        protocol_args = ["--root", args.dcase_root, "--device", args.device]
        figures, statuses["dcase_protocol.py"] = run_script(
            "dcase_protocol.py", protocol_args, output
        )
        rows += [{**figure, "script": "dcase_protocol.py"} for figure in figures]

    table = pd.DataFrame(rows, columns=["area", "measurement", "value", "unit", "note", "script"])
    table = table.sort_values("area", kind="stable")
    table.to_csv(output / "benchmark_table.csv", index=False)
    markdown = [
        f"# sklasd benchmark suite ({'full' if args.full else 'quick'})",
        "",
        header,
        "",
        table.to_markdown(index=False, floatfmt=".4g"),
        "",
        "| script | status |",
        "|---|---|",
        *(f"| {script} | {status} |" for script, status in statuses.items()),
        "",
    ]
    (output / "benchmark_table.md").write_text("\n".join(markdown))
    print("\n".join(markdown))


if __name__ == "__main__":
    main()
