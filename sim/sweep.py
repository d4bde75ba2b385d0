"""Sweeps: one scenario over the cartesian product of parameter values x seeds.

    table = sweep("scenarios/quickstart.toml", seeds=20,
                  params={"consensus.timeout_commit": ["1s", "3s", "6s"]}, out="runs/tc")

gives one row per (parameters, seed): the parameter values as columns (named by their dotted
keys), ``seed``, then the run's summary.json fields (``violations`` as a count plus
``violation_invariants``). Rows are sorted by parameter combination (in the order the values
were given) and then seed, so the table is the same whichever executor ran it; only
``wall_seconds`` differs (``comparable(table)`` drops it). Every combination is validated by
loading the scenario with its overrides before anything runs. With ``out``, finished runs are
journaled as they complete (see ``sim.sweep_store``) and a re-run resumes, skipping them.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from sim.errors import NodesimError
from sim.scenario import parse_scenario
from sim.sweep_exec import WALL_COLUMNS, Task, check_executor, check_reachable, run_dask, run_local
from sim.sweep_params import Params, combinations, normalize_params, table_values
from sim.sweep_store import RUNS_DIR, Journal, read_table, run_key, table_path, write_table

__all__ = ["comparable", "read_table", "run_sweep_cli", "sweep"]
Progress = Callable[[int, int], None]  # (runs finished, runs in this sweep)
MAX_RUNS = 1_000_000  # runs in one sweep: its plan and table are held in memory
# A chunk holds at most this many runs (a worker parses its scenario once per chunk, and a
# chunk's results come back together), and at most 1/(CHUNK_SHARE x workers) of the runs left.
MOST_CHUNK_RUNS = 25
CHUNK_SHARE = 4


def sweep(file: str | Path, seeds: int | Sequence[int] = 10,
          params: Mapping[str, Sequence[Any]] | Sequence[str] | None = None, workers: int | None = None,
          executor: Any = "local", out: str | Path | None = None, *, progress: Progress | None = None,
          dask_processes: bool = True, keep_runs: bool = False) -> pd.DataFrame:
    """Run ``file`` for every parameter combination x seed; return the sorted table.

    ``seeds``: a count N (seeds 0..N-1) or the seeds themselves. ``params``: key -> values
    (text as ``--param`` takes it, or Python values) or CLI-style ``"key=v1,v2"`` specs.
    ``workers``: processes (default ``os.cpu_count()``). ``executor``: ``"local"``,
    ``"dask"`` (a ``LocalCluster`` of ``workers``; ``dask_processes=False`` makes it threads),
    ``"dask://host:port"`` or a ``distributed.Client``. The table's ``attrs`` hold
    ``executed``, ``skipped`` (already finished in ``out``) and ``failures`` (error texts of
    runs that raised; they are not in the table and run again next time). ``keep_runs`` (needs
    ``out``) also writes each run's folder under ``out/runs/`` (a Dask worker writes it on its
    own machine), so ``nodesim report out`` links every row to its run's report.
    """
    plan = SweepPlan.make(file, seeds, params, workers, executor)
    return run_plan(plan, out, progress=progress, dask_processes=dask_processes, keep_runs=keep_runs)


def run_plan(plan: SweepPlan, out: str | Path | None, *, progress: Progress | None = None,
             dask_processes: bool = True, keep_runs: bool = False) -> pd.DataFrame:
    """Run a validated plan (see ``sweep``)."""
    if keep_runs and out is None:
        raise NodesimError("keep_runs: needs an output folder (out / --out) to keep the run folders in")
    plan.keep_dir = str(Path(out) / RUNS_DIR) if keep_runs and out is not None else None
    journal = Journal(Path(out), plan.text, plan.file) if out is not None else None
    finished = dict(journal.finished) if journal is not None else {}
    todo = [task for task in plan.tasks if run_key(*task) not in finished]
    skipped = len(plan.tasks) - len(todo)
    failures: list[str] = []
    executed = 0
    try:
        for outcomes in plan.execute(todo, dask_processes):
            for overrides, seed, row, error in outcomes:
                executed += 1
                if row is None:
                    failures.append(f"{_describe(overrides, seed)}: {error}")
                    continue
                finished[run_key(overrides, seed)] = row
                if journal is not None:
                    journal.add(overrides, seed, row)
            if journal is not None:
                journal.flush()
            if progress is not None:
                progress(skipped + executed, len(plan.tasks))
    finally:
        table = plan.table(finished)
        if journal is not None:
            journal.close()
            write_table(table, table_path(journal.path.parent))
    table.attrs.update(executed=executed, skipped=skipped, failures=failures)
    return table


def comparable(table: pd.DataFrame) -> pd.DataFrame:
    """The table without wall-clock columns: what must agree across executors and machines."""
    return table.drop(columns=[c for c in WALL_COLUMNS if c in table.columns]).reset_index(drop=True)


def _describe(overrides: dict[str, str], seed: int) -> str:
    parts = [f"{key}={value}" for key, value in overrides.items()]
    return " ".join([*parts, f"seed={seed}"])


class SweepPlan:
    """A validated sweep: the scenario text, parameters, tasks and how to execute them."""

    def __init__(self, file: str, text: str, params: Params, seeds: list[int], workers: int,
                 executor: Any) -> None:
        self.file, self.text, self.params, self.seeds = file, text, params, seeds
        self.workers, self.executor = workers, executor
        self.combos = combinations(params)
        self.tasks: list[Task] = [(combo, seed) for combo in self.combos for seed in seeds]
        self.keep_dir: str | None = None  # where each run writes its folder, if anywhere

    @classmethod
    def make(cls, file: str | Path, seeds: int | Sequence[int], params: Any, workers: int | None,
             executor: Any) -> SweepPlan:
        """Check every input, and load the scenario with each combination's overrides."""
        seed_list = _seeds(seeds)
        if workers is None:
            workers = os.cpu_count() or 1
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise NodesimError(f"--workers: expected an integer >= 1, got {workers!r}")
        check_executor(executor)
        normalized = normalize_params(params)
        runs = len(seed_list) * math.prod(len(values) for values in normalized.values())
        if runs > MAX_RUNS:
            raise NodesimError(f"sweep: {runs:,} runs (parameter combinations x seeds) is over the limit of "
                               f"{MAX_RUNS:,}; split it into several sweeps")
        try:
            text = Path(file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise NodesimError(f"{file}: cannot read the scenario file ({exc})") from None
        plan = cls(str(file), text, normalized, seed_list, workers, executor)
        for combo in plan.combos:
            parse_scenario(text, file=plan.file, overrides=combo)  # raises ScenarioError
        return plan

    def chunks(self, tasks: list[Task]) -> list[list[Task]]:
        """The tasks in order, in chunks that shrink as the runs left do (guided scheduling):
        each worker takes the next chunk when it finishes one, so near the end they are single
        runs and the workers finish together, where equal chunks left one worker running a
        whole last chunk while the others idled."""
        chunks = []
        start = 0
        while start < len(tasks):
            left = len(tasks) - start
            size = min(MOST_CHUNK_RUNS, math.ceil(left / (CHUNK_SHARE * self.workers)))
            chunks.append(tasks[start:start + size])
            start += size
        return chunks

    def execute(self, tasks: list[Task], dask_processes: bool) -> Any:
        if not tasks:
            return iter(())
        chunks = self.chunks(tasks)
        if self.executor == "local":
            return run_local(chunks, self.text, self.file, self.workers, self.keep_dir)
        return run_dask(chunks, self.text, self.file, self.executor, self.workers, dask_processes, self.keep_dir)

    def table(self, finished: Mapping[Any, dict[str, Any]]) -> pd.DataFrame:
        """Rows of this sweep's tasks that finished, in (combination, seed) order."""
        columns = table_values(self.params)
        rows: list[dict[str, Any]] = []
        for combo in self.combos:
            values = {key: columns[key][self.params[key].index(text)] for key, text in combo.items()}
            for seed in self.seeds:
                row = finished.get(run_key(combo, seed))
                if row is not None:
                    rows.append({**values, "seed": seed, **{k: v for k, v in row.items() if k != "seed"}})
        if not rows:
            return pd.DataFrame(columns=[*self.params, "seed"])
        return pd.DataFrame(rows)


def _seeds(seeds: int | Sequence[int]) -> list[int]:
    if isinstance(seeds, bool):
        raise NodesimError(f"--seeds: expected an integer >= 1, got {seeds!r}")
    if isinstance(seeds, int):
        if seeds < 1:
            raise NodesimError(f"--seeds: expected an integer >= 1, got {seeds}")
        if seeds > MAX_RUNS:  # before range() is listed: a sweep's plan is held in memory
            raise NodesimError(f"--seeds: expected at most {MAX_RUNS:,} seeds, got {seeds:,}")
        return list(range(seeds))
    listed = list(seeds)
    if not listed or any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in listed):
        raise NodesimError(f"seeds: expected a count or a non-empty list of integers >= 0, got {seeds!r}")
    return list(dict.fromkeys(listed))


# -- the command ----------------------------------------------------------------------------
def run_sweep_cli(args: argparse.Namespace, console: Any) -> int:
    """``nodesim sweep``: 0 when every run finished with no violation, 1 otherwise, 2 bad input."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    plan = SweepPlan.make(args.file, args.seeds, args.param, args.workers, args.executor)
    check_reachable(plan.executor)  # before any output: an unreachable cluster is bad input
    name = parse_scenario(plan.text, file=plan.file).name
    out = Path(args.out) if args.out else Path("runs") / f"sweep-{name}"
    try:  # from the first line on, Ctrl-C keeps what finished and says so
        console.print(f"sweep {args.file}: {len(plan.combos)} combination(s) x {len(plan.seeds)} seed(s) "
                      f"= {len(plan.tasks)} runs, {plan.workers} worker(s), executor {args.executor}, "
                      f"out {out}/", markup=False, highlight=False)
        bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                       TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=console)
        task = bar.add_task("runs", total=len(plan.tasks))

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        with bar:
            table = run_plan(plan, out, progress=advance, keep_runs=args.keep_runs)
    except KeyboardInterrupt:
        console.print(f"interrupted: finished runs are kept in {out}/; run the same command to resume",
                      markup=False, highlight=False)
        return 130
    failures = table.attrs["failures"]
    violated = int((table["violations"] > 0).sum()) if "violations" in table.columns else 0
    console.print(f"wrote {table_path(out)}: {len(table)} rows ({table.attrs['executed']} run now, "
                  f"{table.attrs['skipped']} already finished); {violated} with violations, "
                  f"{len(failures)} failed")
    for failure in failures[:10]:
        console.print(f"[red]failed[/red] {failure}")
    return 1 if failures or violated else 0
