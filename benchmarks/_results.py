"""How benchmark scripts hand their headline figures to ``run_all.py``.

A script calls :func:`emit` for each figure worth a row in the suite's table; the figure
is printed as one ``BENCH {...}`` JSON line beside the script's own human-readable output,
and ``run_all.py`` collects those lines from every script it runs.
"""

from __future__ import annotations

import json
import os
import platform

PREFIX = "BENCH "


def emit(area: str, measurement: str, value: float, unit: str, note: str = "") -> None:
    """Print one figure of the suite's table.

    Parameters
    ----------
    area : {"features", "training", "inference", "memory", "model selection", "accuracy"}
        The table's section.
    measurement : str
        What was measured, e.g. "LogMel from WAV paths".
    value : float
        The figure.
    unit : str
        Its unit, e.g. "clips/s", "s", "MB", "x".
    note : str, default=""
        The configuration it was measured with.
    """
    row = {"area": area, "measurement": measurement, "value": float(value), "unit": unit}
    print(PREFIX + json.dumps({**row, "note": note}), flush=True)


def parse(output: str) -> list[dict]:
    """The figures emitted in a script's standard output."""
    return [
        json.loads(line[len(PREFIX) :]) for line in output.splitlines() if line.startswith(PREFIX)
    ]


def load() -> str:
    """The machine's load averages (1, 5, 15 min): other processes slow every figure down."""
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def machine() -> str:
    """One line naming the CPU, torch and scikit-learn versions, and the current load."""
    import sklearn
    import torch

    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"torch {torch.__version__} ({torch.get_num_threads()} threads), "
        f"scikit-learn {sklearn.__version__}; {load()}"
    )
