"""The figures the five papers report, per machine type: one source for the docs and the scripts.

Every table is transcribed from the paper named in it (``docs/detectors/*.md`` show them as
:func:`markdown` renders them; ``tests/benchmarks/test_paper_results.py`` checks that they
agree), and ``benchmarks/dcase_protocol.py`` prints the row that matches a detector beside our
figures.
Values are the strings the papers print (``"97.53 (95.64)"`` is AUC (pAUC), ``"95.14 ±
1.70"`` an AUC with its 95% confidence interval); :func:`value` reads the first number.

Usage: python benchmarks/_paper_results.py [TABLE_KEY ...]   (prints the markdown tables)
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class PaperTable:
    """One published table: rows of systems, columns of machine types (DCASE spellings)."""

    paper: str
    table: str
    caption: str
    columns: tuple[str, ...]
    rows: dict[str, tuple[str, ...]]


WANG2021 = "Wang et al., Applied Sciences 11(23):11128, 2021"
WANG2022 = "Wang, Du and Wang, APSIPA ASC 2022"
KUROYANAGI2021 = "Kuroyanagi, Hayashi, Takeda and Toda, EUSIPCO 2021"
ZENG2023 = "Zeng, Liu and Zhou, DCASE 2023 Task 2 technical report"
ZAHEDI2023 = "Zahedi, Saraee, Masoumi and Yazdinejad, Algorithms 16(9):431, 2023"

_DCASE2020 = ("fan", "pump", "slider", "valve", "ToyCar", "ToyConveyor", "average")
_DCASE2022 = ("ToyCar", "ToyTrain", "bearing", "fan", "gearbox", "slider", "valve", "total")
_DCASE2023 = ("ToyCar", "ToyTrain", "bearing", "fan", "gearbox", "slider", "valve", "average")
_W22_CAPTION = (
    "Machine anomaly score (%): harmonic mean of AUC and pAUC over sections and domains, "
    "DCASE 2022 Task 2 development set"
)
_Z23_CAPTION = "(%) per machine type, DCASE 2023 Task 2 development set; average: harmonic mean"

TABLES: dict[str, PaperTable] = {
    "wang2021-table2": PaperTable(
        WANG2021,
        "Table 2",
        "AUC (pAUC) in %, DCASE 2020 Task 2 evaluation set",
        _DCASE2020,
        {
            "Baseline (Koizumi et al.)": (
                "82.80 (65.80)",
                "82.37 (64.11)",
                "79.41 (58.87)",
                "57.37 (50.79)",
                "80.14 (66.17)",
                "85.36 (66.95)",
                "77.91 (62.12)",
            ),
            "Outlier classifier": (
                "97.53 (95.64)",
                "97.34 (91.54)",
                "99.04 (95.14)",
                "92.00 (89.05)",
                "88.11 (86.53)",
                "89.80 (80.61)",
                "93.97 (89.75)",
            ),
            "ID classifier": (
                "99.94 (99.80)",
                "95.01 (90.89)",
                "99.09 (95.91)",
                "95.82 (93.58)",
                "91.33 (86.57)",
                "71.32 (60.09)",
                "92.09 (87.81)",
            ),
            "ensemble": (
                "99.96 (99.84)",
                "97.35 (91.58)",
                "99.97 (99.83)",
                "95.82 (93.58)",
                "92.02 (88.50)",
                "89.80 (80.61)",
                "95.82 (92.32)",
            ),
        },
    ),
    "wang2022-table2": PaperTable(
        WANG2022,
        "Table II",
        _W22_CAPTION + " (baseline: LogMel, TDNN, CE + triplet, Eq. 6)",
        _DCASE2022,
        {
            "experiment 1 (baseline)": (
                "50.08",
                "48.96",
                "59.82",
                "57.83",
                "63.56",
                "77.18",
                "69.92",
                "59.63",
            ),
        },
    ),
    "wang2022-table3": PaperTable(
        WANG2022,
        "Table III",
        _W22_CAPTION + " (features: 1 LogMel, 2 +Tgram, 3 +wav2vec, 4 both)",
        _DCASE2022,
        {
            "experiment 1": (
                "50.08",
                "48.96",
                "59.82",
                "57.83",
                "63.56",
                "77.18",
                "69.92",
                "59.63",
            ),
            "experiment 2": (
                "48.10",
                "50.14",
                "57.34",
                "74.54",
                "62.09",
                "71.10",
                "77.49",
                "61.05",
            ),
            "experiment 3": (
                "49.88",
                "50.20",
                "55.96",
                "55.55",
                "69.29",
                "73.43",
                "83.01",
                "60.38",
            ),
            "experiment 4": (
                "50.46",
                "51.32",
                "59.16",
                "70.43",
                "65.07",
                "78.76",
                "82.01",
                "63.26",
            ),
        },
    ),
    "wang2022-table4": PaperTable(
        WANG2022,
        "Table IV",
        _W22_CAPTION + " (5: experiment 4 + attribute loss)",
        _DCASE2022,
        {
            "experiment 4": (
                "50.46",
                "51.32",
                "59.16",
                "70.43",
                "65.07",
                "78.76",
                "82.01",
                "63.26",
            ),
            "experiment 5": (
                "53.92",
                "51.20",
                "57.85",
                "78.34",
                "74.39",
                "78.10",
                "79.01",
                "65.40",
            ),
        },
    ),
    "wang2022-table5": PaperTable(
        WANG2022,
        "Table V",
        _W22_CAPTION + " (6: experiment 5 scored by Eq. 7, cosine)",
        _DCASE2022,
        {
            "experiment 5": (
                "53.92",
                "51.20",
                "57.85",
                "78.34",
                "74.39",
                "78.10",
                "79.01",
                "65.40",
            ),
            "experiment 6": (
                "69.70",
                "52.04",
                "58.70",
                "76.95",
                "76.83",
                "77.35",
                "77.09",
                "68.29",
            ),
        },
    ),
    "wang2022-table6": PaperTable(
        WANG2022,
        "Table VI",
        _W22_CAPTION,
        _DCASE2022,
        {
            "MobileNetV2": (
                "54.40",
                "51.56",
                "60.64",
                "57.53",
                "60.17",
                "51.69",
                "62.13",
                "56.58",
            ),
            "AE": ("51.30", "39.77", "54.91", "58.50", "63.07", "58.00", "50.60", "52.71"),
            "Our Method": ("69.70", "52.04", "58.70", "76.95", "76.83", "77.35", "77.09", "68.29"),
        },
    ),
    "kuroyanagi2021-table2": PaperTable(
        KUROYANAGI2021,
        "Table II",
        "AUC (%) with 95% confidence interval, DCASE 2020 Task 2, no anomalous training data",
        ("fan", "pump", "slider", "ToyCar", "ToyConveyor", "valve", "average"),
        {
            "BCE": (
                "92.69 ± 2.06",
                "94.39 ± 1.88",
                "90.30 ± 2.43",
                "87.82 ± 1.77",
                "75.21 ± 2.54",
                "89.92 ± 2.45",
                "88.39",
            ),
            "DSAD": (
                "82.33 ± 3.00",
                "88.88 ± 2.60",
                "93.46 ± 2.01",
                "84.10 ± 2.00",
                "68.51 ± 2.74",
                "90.80 ± 2.35",
                "84.68",
            ),
            "DDCSAD": (
                "91.05 ± 2.25",
                "91.71 ± 2.27",
                "89.97 ± 2.46",
                "91.18 ± 1.51",
                "68.37 ± 2.74",
                "88.62 ± 2.59",
                "86.82",
            ),
            "BCE+DSAD": (
                "92.96 ± 2.02",
                "89.91 ± 2.49",
                "93.38 ± 2.03",
                "83.72 ± 2.03",
                "64.13 ± 2.82",
                "98.61 ± 0.94",
                "87.12",
            ),
            "BCE+DDCSAD": (
                "95.14 ± 1.70",
                "92.14 ± 2.21",
                "97.60 ± 1.24",
                "93.85 ± 1.26",
                "82.05 ± 2.25",
                "96.08 ± 1.57",
                "92.81",
            ),
        },
    ),
    "zeng2023-table4": PaperTable(
        ZENG2023,
        "Table 4",
        "AUC on the source domain " + _Z23_CAPTION,
        _DCASE2023,
        {
            "AE_MSE": ("70.10", "57.93", "65.92", "80.19", "60.31", "70.31", "55.35", "64.79"),
            "AE_MAH": ("74.53", "55.98", "65.16", "87.10", "71.88", "84.02", "56.31", "68.84"),
            "MV2_SEC": ("61.60", "65.60", "74.72", "60.40", "70.48", "93.80", "69.84", "69.59"),
            "MV2_SED": ("61.08", "61.12", "73.92", "66.32", "81.56", "91.96", "68.04", "70.58"),
            "ViT_SEC": ("53.60", "50.68", "56.60", "73.40", "86.56", "99.24", "64.12", "65.48"),
            "ViT_SED": ("51.00", "51.64", "57.56", "73.92", "86.80", "98.92", "63.12", "65.21"),
            "Ensemble1": ("62.20", "65.96", "75.64", "65.64", "78.00", "94.88", "70.00", "71.91"),
            "Ensemble2": ("52.08", "51.72", "55.20", "74.76", "89.52", "99.20", "64.08", "65.49"),
            "Ensemble3": ("57.32", "57.56", "67.68", "71.24", "90.04", "99.24", "66.44", "70.09"),
            "Ensemble4": ("57.84", "57.80", "70.12", "71.44", "89.48", "99.16", "66.92", "70.67"),
        },
    ),
    "zeng2023-table5": PaperTable(
        ZENG2023,
        "Table 5",
        "AUC on the target domain " + _Z23_CAPTION,
        _DCASE2023,
        {
            "AE_MSE": ("46.89", "57.02", "55.75", "36.18", "60.69", "48.77", "50.69", "49.59"),
            "AE_MAH": ("43.42", "42.45", "55.28", "45.98", "70.78", "73.29", "51.40", "52.37"),
            "MV2_SEC": ("54.04", "63.28", "69.20", "51.00", "66.59", "88.84", "59.60", "62.83"),
            "MV2_SED": ("54.40", "53.80", "59.00", "55.04", "71.92", "87.12", "70.60", "62.70"),
            "ViT_SEC": ("49.44", "58.20", "61.64", "71.48", "80.08", "97.44", "57.52", "64.96"),
            "ViT_SED": ("54.16", "57.44", "64.24", "74.72", "75.24", "97.88", "56.80", "66.08"),
            "Ensemble1": ("54.88", "58.84", "65.72", "53.68", "70.48", "89.16", "66.68", "63.95"),
            "Ensemble2": ("52.84", "57.64", "63.08", "73.68", "79.56", "97.76", "57.36", "66.08"),
            "Ensemble3": ("55.08", "60.84", "65.32", "62.44", "80.04", "97.16", "60.68", "66.55"),
            "Ensemble4": ("55.08", "60.56", "65.48", "66.80", "79.36", "96.72", "61.04", "67.16"),
        },
    ),
    "zeng2023-table6": PaperTable(
        ZENG2023,
        "Table 6",
        "pAUC " + _Z23_CAPTION,
        _DCASE2023,
        {
            "AE_MSE": ("52.47", "48.57", "50.42", "59.04", "53.22", "56.37", "51.18", "52.84"),
            "AE_MAH": ("49.18", "48.13", "51.37", "59.33", "54.34", "54.72", "51.08", "52.36"),
            "MV2_SEC": ("50.94", "50.58", "61.42", "50.52", "55.73", "68.68", "53.05", "55.19"),
            "MV2_SED": ("47.58", "49.47", "57.52", "52.95", "55.95", "64.95", "52.73", "53.95"),
            "ViT_SEC": ("51.26", "50.63", "50.26", "50.57", "58.15", "91.10", "53.68", "55.67"),
            "ViT_SED": ("51.21", "49.16", "50.58", "51.26", "53.42", "90.68", "52.78", "54.75"),
            "Ensemble1": ("48.47", "49.74", "61.68", "51.73", "56.89", "68.11", "53.36", "55.00"),
            "Ensemble2": ("51.71", "49.95", "51.10", "50.31", "55.26", "91.47", "53.47", "55.32"),
            "Ensemble3": ("51.10", "48.89", "53.05", "51.57", "53.31", "89.53", "53.95", "55.24"),
            "Ensemble4": ("50.89", "49.00", "54.15", "51.36", "53.47", "87.95", "54.26", "55.34"),
        },
    ),
    "zahedi2023-table3": PaperTable(
        ZAHEDI2023,
        "Table 3",
        "pAUC (%) without and with diffusion-based data augmentation (DDA), DCASE 2020 Task 2 "
        "development set",
        ("valve", "fan", "pump", "slider", "ToyCar", "ToyConveyor", "average"),
        {
            "RC-MAE without DDA": ("98.01", "87.44", "83.89", "97.16", "90.10", "65.38", "86.99"),
            "RC-MAE with DDA": ("98.37", "88.10", "83.25", "97.84", "91.35", "68.70", "87.93"),
        },
    ),
    "zahedi2023-table4": PaperTable(
        ZAHEDI2023,
        "Table 4",
        "AUC (pAUC) in %, DCASE 2020 Task 2 development set",
        ("valve", "fan", "pump", "slider", "ToyCar", "ToyConveyor", "average"),
        {
            "AE Baseline": (
                "66.28 (50.98)",
                "65.83 (52.45)",
                "72.89 (59.99)",
                "84.76 (66.53)",
                "78.77 (67.58)",
                "72.53 (67.58)",
                "73.51 (65.85)",
            ),
            "GMADE": (
                "99.07 (96.20)",
                "83.06 (79.55)",
                "87.87 (82.38)",
                "97.62 (89.70)",
                "95.57 (91.54)",
                "81.46 (66.62)",
                "90.77 (84.33)",
            ),
            "MobileNetV2": (
                "88.65 (87.98)",
                "80.19 (74.40)",
                "82.53 (76.50)",
                "95.27 (85.22)",
                "87.66 (85.92)",
                "69.71 (56.43)",
                "84.34 (77.74)",
            ),
            "Glow_AFF": (
                "91.40 (75.00)",
                "74.90 (65.30)",
                "83.40 (73.80)",
                "94.60 (82.80)",
                "92.20 (84.10)",
                "71.50 (59.00)",
                "85.20 (73.90)",
            ),
            "STgram-MFN": (
                "99.64 (98.44)",
                "94.04 (88.97)",
                "91.94 (81.75)",
                "99.55 (97.61)",
                "94.44 (87.68)",
                "74.57 (63.30)",
                "92.36 (86.34)",
            ),
            "AADCL": (
                "68.62 (55.03)",
                "85.27 (68.93)",
                "86.75 (70.85)",
                "77.74 (61.62)",
                "88.79 (75.95)",
                "71.26 (57.40)",
                "79.74 (64.96)",
            ),
            "Our Method": (
                "99.52 (98.37)",
                "95.12 (88.10)",
                "92.82 (83.25)",
                "99.10 (97.84)",
                "95.02 (91.35)",
                "84.80 (68.70)",
                "94.39 (87.93)",
            ),
        },
    ),
}

#: The tables of each documentation page (docs/detectors/<page>.md).
PAGES: dict[str, tuple[str, ...]] = {
    "outlier_classifier": ("wang2021-table2",),
    "id_classifier": (
        "wang2021-table2",
        "wang2022-table2",
        "wang2022-table3",
        "wang2022-table4",
        "wang2022-table5",
        "wang2022-table6",
    ),
    "centroid_bce": ("kuroyanagi2021-table2",),
    "sound_event": ("zeng2023-table4", "zeng2023-table5", "zeng2023-table6"),
    "rcmae": ("zahedi2023-table3", "zahedi2023-table4"),
}

#: The published row that a detector of ``dcase_protocol.py`` reproduces, per DCASE year.
COMPARISONS: dict[tuple[str, int], tuple[str, str]] = {
    ("outlier-classifier", 2020): ("wang2021-table2", "Outlier classifier"),
    ("idclassifier", 2020): ("wang2021-table2", "ID classifier"),
    ("paper:wang2021-outlier", 2020): ("wang2021-table2", "Outlier classifier"),
    ("paper:wang2021-id", 2020): ("wang2021-table2", "ID classifier"),
    ("centroid-bce", 2020): ("kuroyanagi2021-table2", "BCE+DDCSAD"),
    ("paper:kuroyanagi2021", 2020): ("kuroyanagi2021-table2", "BCE+DDCSAD"),
    ("paper:zahedi2023", 2020): ("zahedi2023-table4", "Our Method"),
    ("idclassifier", 2022): ("wang2022-table6", "Our Method"),
    ("paper:wang2022", 2022): ("wang2022-table6", "Our Method"),
    ("paper:zeng2023-sec", 2023): ("zeng2023-table4", "MV2_SEC"),
    ("paper:zeng2023-sed", 2023): ("zeng2023-table4", "MV2_SED"),
}


def value(text: str) -> float:
    """The first number of a printed value: ``"97.53 (95.64)"`` -> 97.53."""
    return float(re.match(r"\s*([0-9.]+)", text).group(1))


def paper_row(detector: str, year: int) -> tuple[PaperTable, dict[str, str]] | None:
    """The table and ``{machine type: printed value}`` a detector compares with, or None."""
    if (detector, year) not in COMPARISONS:
        return None
    key, row = COMPARISONS[detector, year]
    table = TABLES[key]
    return table, dict(zip(table.columns, table.rows[row], strict=True))


def markdown(key: str) -> str:
    """A table as the documentation pages show it (a caption line, then a pipe table)."""
    table = TABLES[key]
    lines = [
        f"{table.paper}, {table.table}: {table.caption}.",
        "",
        "| | " + " | ".join(table.columns) + " |",
        "|---" * (len(table.columns) + 1) + "|",
        *(f"| {name} | " + " | ".join(values) + " |" for name, values in table.rows.items()),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    for key in sys.argv[1:] or TABLES:
        print(markdown(key), end="\n\n")
