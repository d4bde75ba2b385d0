"""sim.load_run gives back a written run, its frames and summary, without re-running it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import sim
from sim.engine.trace import canonical_line

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="module", params=["eth-churn", "troubled"])
def written(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    """A run with validator changes, deposits and refunds (eth-churn, 80 min) or faults and a violation."""
    out = tmp_path_factory.mktemp(request.param) / "run"
    if request.param == "eth-churn":
        scenario = sim.load_scenario(ROOT / "scenarios" / "eth-churn.toml", overrides={"scenario.duration": "80m"})
    else:
        scenario = sim.load_scenario(DATA / "troubled.toml")
    return sim.run(scenario, seed=4, out=out), out


def test_load_run_round_trips_summary_frames_records_and_trace(written: tuple[Any, Path]) -> None:
    result, out = written
    loaded = sim.load_run(out)
    assert loaded.summary == result.summary
    assert loaded.node_names == result.node_names
    assert loaded.commit_intervals == result.commit_intervals
    assert loaded.records == result.records
    assert [canonical_line(r) for r in loaded.trace] == [canonical_line(r) for r in result.trace]
    assert loaded.scenario.name == result.scenario.name
    mine, theirs = result.frames(), loaded.frames()
    assert mine.keys() == theirs.keys()
    for name in mine:
        pd.testing.assert_frame_equal(mine[name], theirs[name], obj=name)
    assert len(theirs["blocks"]) == result.summary["blocks"] > 0


def test_a_loaded_run_shows_itself_as_a_small_table(written: tuple[Any, Path]) -> None:
    result, out = written
    text = sim.load_run(out)._repr_html_()
    assert text.startswith("<div>") and "<table" in text
    assert result.summary["trace_hash"] in text
    verdict = "OK: every invariant held" if result.ok else "violation(s)"
    assert verdict in text
    assert f"<td style=\"text-align:right;font-family:monospace\">{result.summary['blocks']}</td>" in text
    assert len(text) < 5000


def test_load_run_refuses_what_is_not_a_complete_run_folder(tmp_path: Path, written: tuple[Any, Path]) -> None:
    _, out = written
    with pytest.raises(sim.NodesimError, match="no such run folder"):
        sim.load_run(tmp_path / "missing")
    with pytest.raises(sim.NodesimError, match="not a run folder"):
        sim.load_run(tmp_path)
    old = tmp_path / "old"
    shutil.copytree(out, old)
    shutil.rmtree(old / "records")
    with pytest.raises(sim.NodesimError, match=r"has no records/ .*nodesim replay"):
        sim.load_run(old)
    (old / "records").mkdir()
    (old / "records" / "manifest.json").write_text(json.dumps({"format": 99, "node_names": []}))
    with pytest.raises(sim.NodesimError, match="records format 99"):
        sim.load_run(old)


def nodesim(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sim.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          check=False)


def test_run_report_and_perfetto_flags_and_report_errors(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = nodesim("run", "scenarios/quickstart.toml", "--out", str(out), "--report", "--perfetto")
    assert proc.returncode == 0, proc.stderr
    assert (out / "report.html").stat().st_size > 100_000
    assert json.loads((out / "trace.perfetto.json").read_text())["traceEvents"]
    bad = nodesim("report", str(tmp_path))
    assert bad.returncode == 2
    assert bad.stderr.strip() == f"nodesim: {tmp_path}: not a run folder (summary.json, scenario.toml) " \
                                 f"or a sweep folder (sweep.rows.jsonl)"
    shutil.rmtree(out / "records")
    old = nodesim("export", str(out), "--perfetto")
    assert old.returncode == 2 and "Traceback" not in old.stderr and old.stderr.count("\n") == 1
    assert "has no records/" in old.stderr
