"""The HTML report: what its embedded data holds, and that a real browser renders it cleanly."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from bokeh.document import Document

import sim
from sim.cli import main
from sim.engine.trace import canonical_line
from sim.report.page import write_report
from tests.browser import browser, file_url

# every test shares a fixture of seconds: the module runs whole, among the first (conftest.py)
pytestmark = pytest.mark.heavy

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="module")
def troubled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    """A run folder of tests/data/troubled.toml and its report written by ``nodesim report``."""
    run_dir = tmp_path_factory.mktemp("troubled") / "run"
    result = sim.run(sim.load_scenario(DATA / "troubled.toml"), out=run_dir)
    assert main(["report", str(run_dir)]) == 0
    return result, run_dir / "report.html"


def embedded_sources(path: Path) -> dict[str, dict[str, list[Any]]]:
    """Every named data source in the page's embedded bokeh document, as plain lists."""
    page = path.read_text(encoding="utf-8")
    blocks = re.findall(r'<script type="application/json" id="[^"]+">\s*(.*?)\s*</script>', page, re.S)
    assert len(blocks) == 1, "one embedded document"
    (doc_json,) = json.loads(blocks[0]).values()
    doc = Document.from_json(doc_json)
    sources: dict[str, dict[str, list[Any]]] = {}
    for model in doc.models:
        if type(model).__name__ == "ColumnDataSource" and model.name:
            assert model.name not in sources, f"two sources named {model.name}"
            sources[model.name] = {k: np.asarray(v).tolist() for k, v in model.data.items()}
    return sources


def test_the_run_has_the_trouble_the_report_must_show(troubled: tuple[Any, Path]) -> None:
    result, _ = troubled
    kinds = [f["kind"] for f in result.records.faults]
    assert {"partition", "crash", "restart", "delay"} <= set(kinds)
    assert result.summary["resolutions_expired"] >= 2
    assert [v["invariant"] for v in result.summary["violations"]] == ["refunds-exact"]


def test_report_embeds_every_block_violation_and_fault(troubled: tuple[Any, Path]) -> None:
    result, report = troubled
    data = embedded_sources(report)
    blocks = data["blocks"]
    assert blocks["height"] == [b.height for b in result.records.blocks]
    assert blocks["time"] == [b.time for b in result.records.blocks]
    assert blocks["round"] == [b.round for b in result.records.blocks]
    assert blocks["proposer"] == [b.proposer for b in result.records.blocks]
    violations = data["violations"]
    assert [(v["invariant"], v["time"], ",".join(v["nodes"]), v["explanation"]) for v in result.summary["violations"]] \
        == list(zip(violations["invariant"], violations["time"], violations["nodes"], violations["explanation"],
                    strict=True))
    faults = data["faults"]
    assert faults["record"] == [canonical_line(f) for f in result.records.faults]
    assert faults["kind"] == [f["kind"] for f in result.records.faults]
    assert faults["time"] == [f["time"] for f in result.records.faults]


def test_report_lanes_show_both_sides_of_a_cut_the_crash_and_the_expiries(troubled: tuple[Any, Path]) -> None:
    result, report = troubled
    data = embedded_sources(report)
    sides = sorted(zip(data["partition_spans"]["node"], data["partition_spans"]["label"], strict=True))
    assert sides == [("v0", "from side"), ("v1", "to side"), ("v2", "to side")]
    spans = data["partition_spans"]
    assert set(spans["start"]) == {5.0} and set(spans["end"]) == {15.0}
    down = data["down_spans"]
    assert (down["node"], down["start"], down["end"]) == (["v3"], [8.0], [25.0])
    resolutions = data["resolutions"]
    assert sorted(resolutions["id"]) == sorted(result.records.resolutions)
    expired = {r.id for r in result.records.resolutions.values() if r.status == "expired"}
    shown = {rid for rid, status in zip(resolutions["id"], resolutions["status"], strict=True)
             if status.startswith("expired")}
    assert shown == expired
    nodes = data["nodes"]
    assert nodes["node"] == result.node_names
    assert sum(nodes["votes_executed"]) == len(result.records.votes)


def test_report_from_memory_equals_report_from_the_run_folder(troubled: tuple[Any, Path], tmp_path: Path) -> None:
    from sim.report import write_report

    result, report = troubled
    in_memory = embedded_sources(write_report(result, tmp_path / "memory.html"))
    from_folder = embedded_sources(report)
    assert in_memory.keys() == from_folder.keys()
    for name in in_memory:
        # (as JSON text, so NaN, "no value", compares equal to itself)
        assert json.dumps(in_memory[name], sort_keys=True) == json.dumps(from_folder[name], sort_keys=True), name


def test_report_is_self_contained(troubled: tuple[Any, Path]) -> None:
    """No script or stylesheet is fetched: bokeh's JavaScript is inlined."""
    page = troubled[1].read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=", page)
    assert not re.search(r"<link[^>]+href=", page)
    assert "Bokeh" in page


def _not_blank(png: bytes, box: tuple[int, int, int, int] | None = None) -> tuple[int, float]:
    """(distinct colours, pixel spread) of the screenshot, or of ``box`` (x, y, w, h) in it."""
    from matplotlib.image import imread

    pixels = imread(io.BytesIO(png), format="png")[..., :3]
    if box is not None:
        x, y, w, h = box
        pixels = pixels[y:y + h, x:x + w]
    flat = (pixels.reshape(-1, 3) * 255).astype(np.uint8)
    return len(np.unique(flat, axis=0)), float(flat.std())


# Waits for bokeh to finish rendering (its document goes idle), then reports where the
# timeline's canvas is. Runs in the page; the callback is the WebDriver async-script protocol.
RENDERED = """
const done = arguments[arguments.length - 1];
const started = Date.now();
function check() {
  const doc = window.Bokeh && Bokeh.documents.length ? Bokeh.documents[0] : null;
  if (doc && doc.is_idle) {
    const timeline = doc.get_model_by_name("timeline");
    const view = timeline ? Bokeh.index.find_one(timeline) : null;
    const box = view ? view.el.getBoundingClientRect() : null;
    done({idle: true, timeline: !!view, box: box && [box.x, box.y, box.width, box.height],
          renderers: timeline ? timeline.renderers.length : 0});
  } else if (Date.now() - started > 30000) {
    done({idle: false});
  } else {
    setTimeout(check, 50);
  }
}
check();
"""


def test_report_renders_in_headless_chromium_without_console_errors(troubled: tuple[Any, Path],
                                                                     tmp_path: Path) -> None:
    _, report = troubled
    with browser() as page:
        page.open(file_url(report))
        state = page.run_async(RENDERED)
        png = page.screenshot()
        console = page.console()
    (tmp_path / "report.png").write_bytes(png)
    assert state["idle"], "bokeh never finished rendering the document"
    assert state["timeline"] and state["renderers"] > 10, state
    errors = [entry for entry in console if entry.get("level") in ("SEVERE", "WARNING")]
    assert errors == [], errors
    colours, spread = _not_blank(png)
    assert colours > 50 and spread > 20, (colours, spread)
    x, y, w, h = (int(v) for v in state["box"])
    assert w > 300 and h > 100, state["box"]
    colours, spread = _not_blank(png, (x, y, min(w, 1400 - x), min(h, 1000 - y)))
    assert colours > 20 and spread > 20, ("the timeline area is blank", colours, spread)


# Zooms the timeline to [start, end], then waits (bokeh runs CustomJS callbacks
# asynchronously) until the switching layers show ``expected`` or 10 s have passed, and
# reports what they show.
ZOOM = """
const [start, end, expected, done] = arguments;
const doc = Bokeh.documents[0];
doc.get_model_by_name("timeline").x_range.setv({start: start, end: end});
const shown = () => ({ticks: doc.get_model_by_name("vote_ticks").visible,
                      heat: doc.get_model_by_name("vote_overview").visible,
                      lines: doc.get_model_by_name("block_boundaries").visible});
const started = Date.now();
function check() {
  const now = shown();
  const same = Object.keys(expected).every((key) => now[key] === expected[key]);  // (key order may differ)
  if (same || Date.now() - started > 10000) done({...now, ms: Date.now() - started});
  else setTimeout(check, 20);
}
check();
"""


ZOOMED_IN = {"ticks": True, "heat": False, "lines": True}
ZOOMED_OUT = {"ticks": False, "heat": True, "lines": False}


def test_zooming_in_swaps_the_heat_map_for_every_tick(troubled: tuple[Any, Path], tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Zoomed out past the detail window the lanes show the vote heat map and no block lines;
    zoomed in, every vote tick and block boundary; the switch runs in the browser."""
    from sim.report import timeline
    from sim.report.page import write_report

    result, _ = troubled
    monkeypatch.setattr(timeline, "MAX_DETAIL_ITEMS", 20)  # this small run as if it were a big one
    monkeypatch.setattr(timeline, "MAX_BLOCK_LINES", 10)
    report = write_report(result, tmp_path / "switching.html")
    end = result.summary["virtual_seconds"]
    with browser() as page:
        page.open(file_url(report))
        assert page.run_async(RENDERED)["idle"]
        at_start = page.run_async(ZOOM, 0.0, end, ZOOMED_OUT)
        zoomed_in = page.run_async(ZOOM, 10.0, 12.0, ZOOMED_IN)
        zoomed_out = page.run_async(ZOOM, 0.0, end, ZOOMED_OUT)
        console = page.console()
    for state in (at_start, zoomed_in, zoomed_out):
        assert state.pop("ms") < 10_000, state  # it switched; it did not time out
    assert at_start == zoomed_out == ZOOMED_OUT
    assert zoomed_in == ZOOMED_IN
    assert [e for e in console if e.get("level") in ("SEVERE", "WARNING")] == []


def test_a_run_without_resolutions_reports_without_warnings(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A run in which nothing passed (no listeners) still gets a latency plot that says so;
    an empty figure made bokeh log a MISSING_RENDERERS warning on every such report."""
    result = sim.run(sim.parse_scenario('[scenario]\nname = "quiet"\nduration = "1m"\n[validators]\ncount = 4\n'))
    assert result.summary["resolutions_passed"] == 0
    with caplog.at_level("WARNING"):
        text = write_report(result, tmp_path / "report.html").read_text()
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == []
    assert "no resolution passed" in text
