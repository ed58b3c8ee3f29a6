"""The report folder: its files, its page's links, and the page loaded in headless Chromium."""

import fcntl
import json
import os
import select
import shutil
import signal
import struct
import time
from html.parser import HTMLParser
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import sklasd
from sklasd.inspection import write_report
from sklasd.metrics import dcase_report, decision_rates, official_score_derivation

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")


class _Links(HTMLParser):
    """Images (src, alt) and link targets of a page; ``external`` collects any URL with a
    scheme or protocol-relative address."""

    def __init__(self):
        super().__init__()
        self.images, self.links, self.external, self.tables = [], [], [], 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self.tables += 1
        for name in ("src", "href"):
            value = attrs.get(name)
            if value is not None and (":" in value or value.startswith("//")):
                self.external.append(value)
        if tag == "img":
            self.images.append((attrs.get("src"), attrs.get("alt")))
        if tag == "a" and "href" in attrs:
            self.links.append(attrs["href"])


class _Tables(HTMLParser):
    """The tables of a page: per table its header cells (th of the thead) and the data
    cells (td) of every body row."""

    def __init__(self):
        super().__init__()
        self.tables, self._cell = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append({"header": None, "rows": []})
        elif tag == "tr" and self.tables:
            self.tables[-1]["rows"].append([])
        elif tag in ("td", "th"):
            self._cell = (tag, [])

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[1].append(data)

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            kind, parts = self._cell
            text = "".join(parts).strip()
            table = self.tables[-1]
            if kind == "td":
                table["rows"][-1].append(text)
            elif table["header"] is None or len(table["rows"]) == 1:  # the first row
                table["header"] = [*(table["header"] or []), text]
            self._cell = None

    def find(self, column):
        """The table whose first row names ``column``: its body rows as dicts."""
        (table,) = [t for t in self.tables if column in (t["header"] or [])]
        columns = [c for c in table["header"] if c]
        return [dict(zip(columns, row, strict=True)) for row in table["rows"] if row]


def _tables(index: Path) -> _Tables:
    tables = _Tables()
    tables.feed(index.read_text(encoding="utf-8"))
    return tables


def _png_size(path: Path) -> tuple[int, int]:
    with open(path, "rb") as file:
        header = file.read(24)
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", header[16:24])


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    """A report of two machine types (2 and 3 sections) with embeddings."""
    rng = np.random.default_rng(0)
    n_sections = {"fan": 2, "valve": 3}
    rows = [
        (machine_type, section, domain, label)
        for machine_type, n in n_sections.items()
        for section in range(n)
        for domain in ("source", "target")
        for label in (0, 0, 0, 1, 1)
    ]
    frame = pd.DataFrame(rows, columns=["machine_type", "section", "domain", "label"])
    y = frame["label"].to_numpy()
    score = y + rng.normal(0, 0.7, size=len(y))
    embeddings = rng.normal(size=(len(y), 6)) + y[:, None]
    folder = tmp_path_factory.mktemp("report")
    index = write_report(
        folder,
        y,
        score,
        section=frame["section"],
        machine_type=frame["machine_type"],
        domain=frame["domain"],
        embeddings=embeddings,
        threshold=0.5,
        year=2023,
        embedding_method="pca",
        run_info={"detector": "LogMel + MahalanobisScorer", "data folder": "dev_data"},
    )
    return {"index": index, "y": y, "score": score, "frame": frame}


def test_report_writes_the_table_and_every_figure(report_dir):
    index, frame = report_dir["index"], report_dir["frame"]
    folder = index.parent
    assert index == folder / "index.html"
    assert plt.get_fignums() == []  # rendered without pyplot: no figure left open
    figures = {
        f"{kind}_{t}.png" for kind in ("roc", "scores", "embedding") for t in ("fan", "valve")
    }
    assert {p.name for p in folder.glob("*.png")} == figures
    expected = dcase_report(
        report_dir["y"],
        report_dir["score"],
        section=frame["section"],
        machine_type=frame["machine_type"],
        domain=frame["domain"],
        year=2023,
    )
    written = pd.read_csv(folder / "dcase_report.csv", index_col=[0, 1])
    np.testing.assert_allclose(written.to_numpy(), expected.to_numpy())
    markdown = (folder / "dcase_report.md").read_text()
    assert "('valve', 2)" not in markdown  # readable labels, no Python tuples
    assert "| valve          | 2               |" in markdown
    assert f"sklasd version: {sklasd.__version__}" in markdown
    assert official_score_derivation(expected) in markdown
    # the ROC figure of valve has one panel per section: three times wider than tall
    width, height = _png_size(folder / "roc_valve.png")
    assert width > 2.5 * height


def test_index_references_every_image_with_alt_text_and_nothing_external(report_dir):
    folder = report_dir["index"].parent
    page = _Links()
    page.feed(report_dir["index"].read_text(encoding="utf-8"))
    sources = [src for src, _ in page.images]
    assert sorted(sources) == sorted(p.name for p in folder.glob("*.png"))
    assert all(alt and len(alt) > 20 for _, alt in page.images)
    assert all((folder / target).is_file() for target in [*sources, *page.links])
    assert {"dcase_report.csv", "dcase_report.md"} <= set(page.links)
    # what ran, the DCASE table and the decision rates
    assert page.external == [] and page.tables == 3
    text = report_dir["index"].read_text(encoding="utf-8")
    score = dcase_report(
        report_dir["y"],
        report_dir["score"],
        section=report_dir["frame"]["section"],
        machine_type=report_dir["frame"]["machine_type"],
        domain=report_dir["frame"]["domain"],
        year=2023,
    ).attrs["official_score"]
    assert f"<strong>{score:.4f}</strong>" in text


def test_report_checks_its_inputs(tmp_path):
    y, score = [0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8]
    with pytest.raises(ValueError, match="one row per clip"):
        write_report(tmp_path, y, score, section=None, embeddings=np.ones((3, 2)))
    with pytest.raises(ValueError, match="section 1 has no anomalous"):
        write_report(tmp_path, [0, 1, 0, 0], score, section=[0, 0, 1, 1])


# -- the page in a real browser ---------------------------------------------------------------


def _chromium() -> str:
    for name in CHROMIUM_NAMES:
        if path := shutil.which(name):
            return path
    pytest.skip(
        "no Chromium binary on PATH (looked for "
        f"{', '.join(CHROMIUM_NAMES)}); on Debian: apt-get install -y chromium"
    )


class _DevTools:
    """Chromium in headless mode, driven over the DevTools protocol on a pipe (fds 3 and 4 of
    the browser, ``--remote-debugging-pipe``), with the standard library only."""

    def __init__(self, binary: str, profile: Path):
        to_browser, from_browser = os.pipe(), os.pipe()
        # above the standard streams, so that the dup2 into 3 and 4 cannot clobber them
        high = [
            fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (to_browser[0], from_browser[1])
        ]
        for fd in (to_browser[0], from_browser[1]):
            os.close(fd)
        self._write, self._read = to_browser[1], from_browser[0]
        args = [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--remote-debugging-pipe",
            f"--user-data-dir={profile}",
            "about:blank",
        ]
        devnull = os.open(os.devnull, os.O_WRONLY)
        actions = [(os.POSIX_SPAWN_DUP2, high[0], 3), (os.POSIX_SPAWN_DUP2, high[1], 4)]
        actions += [(os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)]
        self.pid = os.posix_spawn(binary, args, os.environ, file_actions=actions)
        for fd in (*high, devnull):
            os.close(fd)
        self._buffer, self._id, self.events = b"", 0, []

    def send(self, method, session=None, **params):
        self._id += 1
        message = {"id": self._id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._next()
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def wait_for(self, method):
        for i, event in enumerate(self.events):
            if event.get("method") == method:
                return self.events.pop(i)
        while (event := self._next()).get("method") != method:
            self.events.append(event)
        return event

    def _next(self, timeout=60.0):
        deadline = time.monotonic() + timeout
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._read], [], [], left)[0]:
                raise TimeoutError(f"Chromium sent nothing for {timeout} s")
            chunk = os.read(self._read, 1 << 16)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def close(self):
        try:
            self.send("Browser.close")
        except (OSError, RuntimeError, TimeoutError):
            os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        os.close(self._write)
        os.close(self._read)


@pytest.mark.slow
def test_index_loads_in_headless_chromium_and_every_image_decodes(report_dir, tmp_path):
    browser = _DevTools(_chromium(), tmp_path / "profile")
    try:
        target = browser.send("Target.createTarget", url="about:blank")["targetId"]
        session = browser.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        browser.send("Page.enable", session)
        browser.send("Network.enable", session)
        browser.send("Page.navigate", session, url=report_dir["index"].as_uri())
        browser.wait_for("Page.loadEventFired")
        # decode() rejects for an image the browser cannot decode; naturalWidth/Height are
        # the decoded pixel sizes
        script = """Promise.all(Array.from(document.images, async (img) => {
            await img.decode();
            return [img.getAttribute('src'), img.naturalWidth, img.naturalHeight, img.alt];
        })).then((images) => JSON.stringify({
            title: document.title, images,
            headings: Array.from(document.querySelectorAll('h2'), (h) => h.textContent),
            rows: document.querySelectorAll('table.report tbody tr').length}))"""
        result = browser.send(
            "Runtime.evaluate", session, expression=script, awaitPromise=True, returnByValue=True
        )
        assert "exceptionDetails" not in result, result.get("exceptionDetails")
        page = json.loads(result["result"]["value"])
        failed = [
            e["params"] for e in browser.events if e.get("method") == "Network.loadingFailed"
        ]
    finally:
        browser.close()
    folder = report_dir["index"].parent
    assert failed == []
    assert page["title"] == "Anomalous sound detection report"
    assert page["headings"][:3] == ["What ran", "DCASE report", "Decisions at the threshold"]
    assert page["headings"][-2:] == ["fan", "valve"]
    # the DCASE table: sections and mean rows, then overall; the rates: section x domain
    # rows, then overall
    assert page["rows"] == (2 + 2 + 3 + 2 + 2) + (2 * 5 + 1)
    assert len(page["images"]) == 6
    for src, width, height, alt in page["images"]:
        assert (width, height) == _png_size(folder / src), src
        assert alt


# -- what ran, decisions, remarks and the most anomalous clips --------------------------------


def test_page_says_what_ran_and_how_the_score_is_derived(report_dir):
    text = report_dir["index"].read_text(encoding="utf-8")
    assert "<th>detector</th><td>LogMel + MahalanobisScorer</td>" in text
    assert "<th>data folder</th><td>dev_data</td>" in text
    assert f"<th>sklasd version</th><td>{sklasd.__version__}</td>" in text
    assert "the harmonic mean of the 15 values in the columns AUC (source)" in text


def test_page_gives_the_decision_rates_at_the_threshold(report_dir):
    frame, y, score = report_dir["frame"], report_dir["y"], report_dir["score"]
    rates = decision_rates(
        y,
        score > 0.5,
        section=frame["section"],
        machine_type=frame["machine_type"],
        domain=frame["domain"],
    )
    shown = _tables(report_dir["index"]).find("false-alarm rate")
    assert len(shown) == len(rates)
    assert [int(row["false alarms"]) for row in shown] == rates["false alarms"].tolist()
    assert [row["miss rate"] for row in shown] == [f"{r:.0%}" for r in rates["miss rate"]]


def test_remarks_name_sections_below_chance_or_flagging_every_normal_clip(tmp_path):
    y = np.array([0, 0, 0, 1, 1] * 2)
    section = np.repeat([0, 1], 5)
    # section 1: anomalies score lowest, every normal clip above the threshold
    score = np.array([0.1, 0.2, 0.3, 1.5, 1.6, 2.0, 2.1, 2.2, 0.5, 0.6])
    index = write_report(tmp_path, y, score, section=section, machine_type="fan", threshold=1.0)
    text = index.read_text(encoding="utf-8")
    assert "<h2>Remarks</h2>" in text
    assert "fan, section 1: AUC (source) 0.00, below chance" in text
    assert "fan, section 1: 3 of 3 normal clips flagged (false-alarm rate 100%)." in text
    assert "fan, section 1: 2 of 2 anomalous clips missed (miss rate 100%)." in text
    assert "fan, section 0" not in text.split("<h2>Remarks</h2>")[1].split("</ul>")[0]


@pytest.fixture(scope="module")
def run_report(tmp_path_factory):
    """write_run_report of a LogMel + kNN run on two sections of synthetic pump clips."""
    import sklearn
    from sklearn.pipeline import make_pipeline

    from sklasd.datasets import make_machine_sounds
    from sklasd.detectors import fit_score_by_machine_type
    from sklasd.features import LogMel, TimePooling
    from sklasd.inspection import LogMelExplainer, write_run_report
    from sklasd.scoring import KNNScorer

    X, meta = make_machine_sounds(
        machine_types="pump", n_sections=2, n_train=6, n_test=4, duration=1.0, random_state=0
    )
    pipe = make_pipeline(LogMel(n_mels=32), TimePooling(), KNNScorer())
    with sklearn.config_context(enable_metadata_routing=True):
        scored, models = fit_score_by_machine_type(pipe, meta, X=X, return_estimators=True)
    train = (meta["split"] == "train").to_numpy()
    # the explainer knows section 0 only: clips of section 1 are listed without a map
    known = train & (meta["section"] == 0).to_numpy()
    explainer = LogMelExplainer().fit(X[known], section=meta["section"][known])
    folder = tmp_path_factory.mktemp("run_report")
    index = write_run_report(
        folder,
        scored,
        models=models,
        X=X[scored.index],
        explainers={"pump": explainer},
        n_top=5,
        embedding_method="pca",
    )
    return {"index": index, "scored": scored, "explainer": explainer, "X": X}


def test_run_report_lists_the_most_anomalous_clips_with_their_explanations(run_report):
    scored = run_report["scored"]
    table = _tables(run_report["index"]).find("departs from normal")
    top = scored.sort_values("anomaly_score", ascending=False, kind="stable").head(5)
    assert [row["rank"] for row in table] == ["1", "2", "3", "4", "5"]
    assert [row["clip"] for row in table] == [f"row {index}" for index in top.index]
    np.testing.assert_allclose(
        [float(row["anomaly score"]) for row in table], top["anomaly_score"], atol=1e-4
    )
    assert [row["flagged"] for row in table] == ["yes" if f else "no" for f in top["is_anomaly"]]
    explainer, X = run_report["explainer"], run_report["X"]
    wheres = [row["departs from normal"] for row in table]
    for (_, row), where in zip(top.iterrows(), wheres, strict=True):
        if row["section"] == 0:
            (expected,) = explainer.explain(X[[row.name]], section=[0])
            assert where == expected.text
        else:
            assert where == "no normal training clips of this section"
    assert (run_report["index"].parent / "explain_pump.png").stat().st_size > 1000
    assert 'src="explain_pump.png"' in run_report["index"].read_text(encoding="utf-8")


def test_run_report_needs_the_clips_for_maps(tmp_path, run_report):
    scored = run_report["scored"].drop(columns="path")
    with pytest.raises(ValueError, match="need the clips"):
        from sklasd.inspection import write_run_report

        write_run_report(tmp_path, scored, explainers={"pump": run_report["explainer"]})
