"""Sweeps: the same table from every executor, resuming without rerunning, clear bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.cli import main
from sim.errors import NodesimError, ScenarioError
from sim.sweep import comparable, sweep
from sim.sweep_params import combinations, parse_param_specs, split_values, table_values
from sim.sweep_store import JOURNAL, read_table

TINY = """
[scenario]
name = "tiny"
duration = "3m"
[network]
latency = { dist = "lognormal", median = "50ms", sigma = 0.5 }
[consensus]
timeout_commit = "1s"
[validators]
count = 4
[resolutions.note]
expiration_period = 50
[sources.script]
rate = "6/min"
type = "note"
"""
PARAMS: dict[str, list[Any]] = {"consensus.timeout_commit": ["500ms", "2s"], "validators.count": [4, 5]}


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def local_table(tmp_path_factory: Any) -> pd.DataFrame:
    path = tmp_path_factory.mktemp("local") / "tiny.toml"
    path.write_text(TINY, encoding="utf-8")
    return sweep(path, seeds=3, params=PARAMS, workers=2, executor="local")


def test_table_shape_and_order(local_table: pd.DataFrame) -> None:
    assert len(local_table) == 4 * 3
    assert list(local_table.columns[:3]) == ["consensus.timeout_commit", "validators.count", "seed"]
    assert local_table["validators.count"].tolist() == [4] * 3 + [5] * 3 + [4] * 3 + [5] * 3
    assert local_table["seed"].tolist() == [0, 1, 2] * 4
    assert (local_table["violations"] == 0).all()
    assert local_table.attrs["executed"] == 12 and local_table.attrs["failures"] == []
    # The overrides took effect: shorter timeout_commit, more blocks.
    by_timeout = local_table.groupby("consensus.timeout_commit")["blocks"].mean()
    assert by_timeout["500ms"] > by_timeout["2s"]


def test_dask_gives_the_same_table_as_local(scenario: Path, local_table: pd.DataFrame) -> None:
    dask_table = sweep(scenario, seeds=3, params=PARAMS, workers=2, executor="dask", dask_processes=False)
    pd.testing.assert_frame_equal(comparable(dask_table), comparable(local_table))


def test_resume_skips_finished_rows(scenario: Path, tmp_path: Path, local_table: pd.DataFrame) -> None:
    out = tmp_path / "out"
    first = sweep(scenario, seeds=[0, 2], params=PARAMS, workers=1, out=out)
    assert (first.attrs["executed"], first.attrs["skipped"]) == (8, 0)
    full = sweep(scenario, seeds=3, params=PARAMS, workers=1, out=out)
    assert (full.attrs["executed"], full.attrs["skipped"]) == (4, 8)  # only seed 1 ran
    pd.testing.assert_frame_equal(comparable(full), comparable(local_table))
    pd.testing.assert_frame_equal(comparable(read_table(out)), comparable(local_table))
    again = sweep(scenario, seeds=3, params=PARAMS, workers=1, out=out)
    assert again.attrs["executed"] == 0


def test_interrupted_sweep_keeps_and_resumes(scenario: Path, tmp_path: Path, local_table: pd.DataFrame) -> None:
    out = tmp_path / "out"

    def interrupt(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sweep(scenario, seeds=3, params=PARAMS, workers=1, out=out, progress=interrupt)
    kept = read_table(out)
    assert 0 < len(kept) < 12  # the first chunk was kept, the rest never ran
    journaled = len((out / JOURNAL).read_text().splitlines()) - 1
    assert journaled == len(kept)
    resumed = sweep(scenario, seeds=3, params=PARAMS, workers=1, out=out)
    assert resumed.attrs["executed"] == 12 - len(kept)
    pd.testing.assert_frame_equal(comparable(resumed), comparable(local_table))


def test_out_folder_of_another_scenario_is_refused(scenario: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    sweep(scenario, seeds=1, workers=1, out=out)
    scenario.write_text(TINY.replace('"3m"', '"2m"'), encoding="utf-8")
    with pytest.raises(NodesimError, match="holds a sweep of a different scenario"):
        sweep(scenario, seeds=1, workers=1, out=out)


@pytest.mark.parametrize(("param", "message"), [
    ("consensus.timeout_comit=1s,2s", "consensus.timeout_comit: unknown key (from override"),
    ("validators.count=4,four", 'validators.count: expected an integer >= 1, got "four"'),
    ("validators.count", "--param 'validators.count': expected KEY=V1,V2,..."),
    ("validators.count=4,,5", "expected a non-empty comma-separated list of values"),
])
def test_bad_param_is_one_line_and_runs_nothing(scenario: Path, tmp_path: Path, capsys: Any,
                                                param: str, message: str) -> None:
    out = tmp_path / "never"
    status = main(["sweep", str(scenario), "--seeds", "2", "--param", param, "--out", str(out)])
    err = capsys.readouterr().err
    assert status == 2
    assert message in err and err.startswith("nodesim: ") and err.count("\n") == 1
    assert not out.exists()


def test_bad_arguments_raise_clear_errors(scenario: Path) -> None:
    with pytest.raises(NodesimError, match=r"--seeds: expected an integer >= 1, got 0"):
        sweep(scenario, seeds=0)
    with pytest.raises(NodesimError, match=r"--workers: expected an integer >= 1, got 0"):
        sweep(scenario, seeds=1, workers=0)
    with pytest.raises(NodesimError, match=r"--executor: expected local, dask or dask://host:port"):
        sweep(scenario, seeds=1, executor="dask://nohost")
    with pytest.raises(ScenarioError, match=r"consensus.timeout_commit: expected"):
        sweep(scenario, seeds=1, params={"consensus.timeout_commit": ["1s", "fast"]})


def test_cli_sweep_writes_the_table(scenario: Path, tmp_path: Path, capsys: Any) -> None:
    out = tmp_path / "cli"
    status = main(["sweep", str(scenario), "--seeds", "2", "--param", "validators.count=4,5",
                   "--workers", "1", "--out", str(out)])
    assert status == 0
    table = read_table(out / "sweep.parquet")
    assert table["validators.count"].tolist() == [4, 4, 5, 5]
    assert "wrote" in capsys.readouterr().out


def test_param_specs() -> None:
    params = parse_param_specs(["a.b=1s,2s", "c=[1,2],[3, 4]", 'd="x,y",z'])
    assert params == {"a.b": ["1s", "2s"], "c": ["[1,2]", "[3, 4]"], "d": ['"x,y"', "z"]}
    assert table_values({"n": ["4", "7"], "p": ["0.1", "1"], "m": ["3", "3s"]}) == {
        "n": [4, 7], "p": [0.1, 1.0], "m": ["3", "3s"]}
    assert combinations({"a": ["1", "2"], "b": ["x", "y"]}) == [
        {"a": "1", "b": "x"}, {"a": "1", "b": "y"}, {"a": "2", "b": "x"}, {"a": "2", "b": "y"}]
    assert combinations({}) == [{}]
    with pytest.raises(NodesimError, match="given twice"):
        parse_param_specs(["a=1", "a=2"])


@given(st.lists(st.text(alphabet="abc0123456789.s", min_size=1), min_size=1, max_size=6))
def test_split_values_round_trips(values: list[str]) -> None:
    """Joining comma-free values with commas and splitting gives back the same values."""
    assert split_values(",".join(values)) == values


def test_a_script_that_sweeps_without_the_main_guard_gets_one_clear_error(scenario: Path, tmp_path: Path) -> None:
    """Each worker imports the calling script again: without ``if __name__ == "__main__":``
    the workers start sweeps of their own. The caller gets one error naming the guard, not
    multiprocessing's bootstrapping tracebacks from every worker and a broken pool."""
    import subprocess
    import sys

    script = tmp_path / "unguarded.py"
    script.write_text(f"from sim.sweep import sweep\nsweep({str(scenario)!r}, seeds=2, workers=2)\n",
                      encoding="utf-8")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path)
    assert proc.returncode != 0
    assert 'NodesimError: a sweep worker process died' in proc.stderr
    assert 'under `if __name__ == "__main__":`' in proc.stderr
    assert "RuntimeError" not in proc.stderr and "bootstrapping" not in proc.stderr


def test_what_a_sweep_script_imports_is_already_in_the_fork_server() -> None:
    """A worker imports the calling script again; every module a sweep script imports (nodesim,
    its sweep API and with it pandas and pyarrow) must already be in the fork server the
    workers are forked from, or each worker of each sweep imports them again (~0.2 s, most of
    a small sweep's time: they were not, until pandas came in through ``sim.sweep``)."""
    import subprocess
    import sys

    code = ("import sys\n"
            "from sim.sweep_exec import WORKER_PRELOAD\n"
            "for name in WORKER_PRELOAD: __import__(name)\n"
            "before = set(sys.modules)\n"
            "import numpy, pandas, sim\n"
            "from sim.sweep import comparable, sweep\n"
            "print(sorted(set(sys.modules) - before))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert proc.stdout.strip() == "[]"


def test_a_first_run_in_the_fork_server_loads_nothing_the_warm_up_did_not() -> None:
    """A worker forked from the fork server runs worlds of any source kind without importing
    another nodesim module or building the latency quantile table: ``sim.sweep_warm`` did it
    once in the server (a worker's first run cost ~30 ms more than its later ones before)."""
    import subprocess
    import sys

    code = ("import sys\n"
            "from sim.sweep_exec import WORKER_PRELOAD\n"
            "for name in WORKER_PRELOAD: __import__(name)\n"
            "from sim.net.latency import standard_normal_quantiles\n"
            "assert standard_normal_quantiles.cache_info().currsize == 1\n"
            "before = set(sys.modules)\n"
            "import sim\n"
            "for name in ('quickstart', 'pubsub-retries', 'watcher-jobs'):\n"
            "    sim.run(sim.load_scenario(f'scenarios/{name}.toml'), stop_when=lambda: 'enough')\n"
            "print(sorted(m for m in set(sys.modules) - before if m.split('.')[0] in ('sim', 'node')))\n"
            "print(standard_normal_quantiles.cache_info().misses)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True,
                          cwd=Path(__file__).resolve().parent.parent)
    assert proc.stdout.split("\n")[:2] == ["[]", "1"]


@given(st.integers(0, 3000), st.integers(1, 16))
def test_chunks_shrink_with_the_runs_left_so_workers_finish_together(runs: int, workers: int) -> None:
    """Chunks hold every task once, in order, at most ``MOST_CHUNK_RUNS`` each, and no chunk
    more than 1/(CHUNK_SHARE x workers) of the runs left when it starts (rounded up): the
    last chunks are single runs, so no worker runs a long last chunk while the others idle
    (equal chunks of 7 left a 100-run sweep on 2 workers ending on one worker)."""
    from sim.sweep import CHUNK_SHARE, MOST_CHUNK_RUNS, SweepPlan

    plan = SweepPlan("f.toml", "", {}, list(range(runs)), workers, "local")
    chunks = plan.chunks(plan.tasks)
    assert [task for chunk in chunks for task in chunk] == plan.tasks
    left = runs
    for chunk in chunks:
        assert 1 <= len(chunk) <= min(MOST_CHUNK_RUNS, -(-left // (CHUNK_SHARE * workers)))
        left -= len(chunk)
    if runs:
        assert len(chunks[-1]) == 1
    if runs >= MOST_CHUNK_RUNS * CHUNK_SHARE * workers:
        assert len(chunks[0]) == MOST_CHUNK_RUNS  # a long sweep still hops rarely


def test_local_workers_keep_the_run_gc_thresholds_between_runs() -> None:
    """A local worker only runs worlds: it collects with the run thresholds between runs too,
    so a finished world is not walked by the collector while the run still holds it."""
    import gc

    from sim.engine.gc_policy import RUN_THRESHOLDS
    from sim.sweep_exec import worker_pool

    with worker_pool(1) as pool:
        assert pool.submit(gc.get_threshold).result(timeout=120) == RUN_THRESHOLDS
