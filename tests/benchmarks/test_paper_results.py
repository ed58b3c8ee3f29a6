"""The papers' figures: one data module (benchmarks/_paper_results.py) for docs and scripts."""

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location(
    "_paper_results", ROOT / "benchmarks" / "_paper_results.py"
)
paper_results = importlib.util.module_from_spec(spec)
sys.modules.setdefault("_paper_results", paper_results)  # dataclasses look the module up
spec.loader.exec_module(paper_results)


@pytest.mark.parametrize("page", sorted(paper_results.PAGES))
def test_each_detector_page_shows_its_papers_tables(page):
    text = (ROOT / "docs" / "detectors" / f"{page}.md").read_text()
    for key in paper_results.PAGES[page]:
        assert paper_results.markdown(key) in text, f"{page}.md lacks the table {key}"


def test_tables_are_rectangular_and_cover_every_page():
    for key, table in paper_results.TABLES.items():
        assert all(len(row) == len(table.columns) for row in table.rows.values()), key
    shown = {key for keys in paper_results.PAGES.values() for key in keys}
    assert shown == set(paper_results.TABLES)
    for (detector, year), (key, row) in paper_results.COMPARISONS.items():
        assert row in paper_results.TABLES[key].rows, (detector, year)


def test_published_averages_agree_with_their_rows():
    # Wang et al. 2021, Table 2: the average is the mean over the six machine types
    table = paper_results.TABLES["wang2021-table2"]
    for name, row in table.rows.items():
        auc = [paper_results.value(v) for v in row[:-1]]
        assert sum(auc) / len(auc) == pytest.approx(paper_results.value(row[-1]), abs=0.01), name
    # Kuroyanagi et al., Table II: "Machine Average"
    table = paper_results.TABLES["kuroyanagi2021-table2"]
    for name, row in table.rows.items():
        auc = [paper_results.value(v) for v in row[:-1]]
        assert sum(auc) / len(auc) == pytest.approx(paper_results.value(row[-1]), abs=0.01), name


def test_paper_row_reads_the_machine_types_figure():
    table, figures = paper_results.paper_row("paper:kuroyanagi2021", 2020)
    assert table.table == "Table II" and figures["ToyCar"] == "93.85 ± 1.26"
    assert paper_results.value(figures["fan"]) == 95.14
    assert paper_results.paper_row("baseline", 2020) is None
