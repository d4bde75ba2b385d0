"""sim.load_run gives back a written run, its frames and summary, without re-running it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from array import array
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


@pytest.mark.heavy
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


_COLUMN_VALUES = {
    "float64": st.one_of(st.none(), st.floats(allow_nan=False)),
    "int64": st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)),
    "bool": st.one_of(st.none(), st.booleans()),
    "string": st.one_of(st.none(), st.text(max_size=12)),
    "binary": st.one_of(st.none(), st.binary(max_size=12)),
    "list<string>": st.one_of(st.none(), st.lists(st.text(max_size=5), max_size=4)),
}


@settings(max_examples=60, deadline=None)
@given(data=st.data(), kind=st.sampled_from(sorted(_COLUMN_VALUES)))
def test_record_columns_are_the_arrays_pa_array_makes(data: st.DataObject, kind: str) -> None:
    """Invariant: for any column of a kind the records use (nulls anywhere, empty, unicode,
    extreme numbers), the array built from buffers is the array ``pa.array`` makes: same
    type, values and nulls; number columns given as typed arrays too."""
    import pyarrow as pa

    from sim.arrow_columns import column

    types = {"float64": pa.float64(), "int64": pa.int64(), "bool": pa.bool_(), "string": pa.string(),
             "binary": pa.binary(), "list<string>": pa.list_(pa.string())}
    values = data.draw(st.lists(_COLUMN_VALUES[kind], max_size=30))
    built = column(values, types[kind])
    assert built.type == types[kind] and built.equals(pa.array(values, type=types[kind]))
    if kind in ("float64", "int64") and None not in values:
        typed = array("d" if kind == "float64" else "q", values)
        assert column(typed, types[kind]).equals(pa.array(values, type=types[kind]))


def test_writing_a_run_folder_does_not_import_pandas(tmp_path: Path) -> None:
    """``nodesim run`` writes its records without pandas (half a second a process): pyarrow's
    ``pa.array`` imports it to ask whether its input is a pandas object."""
    code = ("import sys, sim; sim.run(sim.load_scenario('scenarios/quickstart.toml', "
            "overrides={'scenario.duration': '2m'}), out=sys.argv[1]); print('pandas' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "run")], cwd=ROOT, capture_output=True,
                          text=True, check=True)
    assert proc.stdout.strip() == "False"
    assert (tmp_path / "run" / "records" / "manifest.json").exists()
