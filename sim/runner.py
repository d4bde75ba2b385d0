"""Running a scenario and writing what it produced: the public ``run`` and the output folder."""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sim.engine.trace import TraceRecords, canonical_line
from sim.errors import NodesimError
from sim.hooks import check_hooks
from sim.outdir import atomic_write
from sim.results import Result, make_result
from sim.scenario_model import SEED_MAX

Progress = Callable[[float, float], None]  # (virtual now, virtual duration)
StopWhen = Callable[[], str | None]  # a reason to stop now, or None


def run(scenario: Any, seed: int | None = None, *, out: str | Path | None = None,
        progress: Progress | None = None, max_wall: float | None = None,
        stop_when: StopWhen | None = None) -> Result:
    """Run ``scenario`` (from ``sim.load_scenario``) under ``seed`` (default: the scenario's).

    With ``out``, the run's files are written there (see ``write_outputs``); file-backed node
    storage lives under it too. Every hook the scenario names is imported and checked first
    (``sim.hooks``). ``max_wall`` (seconds) stops the run once that much wall time has passed;
    ``stop_when`` is asked every few thousand world callbacks and stops the run when it names
    a reason. A stopped run keeps what happened so far, and its summary's ``stopped`` says why
    (``"max-wall"``, or ``stop_when``'s reason); otherwise ``stopped`` is None.
    """
    from sim.world.world import World

    seed = scenario.seed if seed is None else seed
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= SEED_MAX:
        raise NodesimError(f"seed: expected an integer between 0 and {SEED_MAX}, got {seed!r}")
    check_hooks(scenario)
    out_dir = Path(out) if out is not None else None
    world = World(scenario, seed, out_dir)
    watch = _StopWatch(world, scenario.duration, progress, max_wall, stop_when)
    world.kernel.progress = watch
    try:
        world.run()
        result = make_result(world)
    finally:
        world.close()
    result.summary["stopped"] = watch.reason
    if out_dir is not None:
        write_outputs(result, out_dir)
    return result


class _StopWatch:
    """The kernel's progress hook: reports progress and stops the world when asked to."""

    def __init__(self, world: Any, duration: float, progress: Progress | None, max_wall: float | None,
                 stop_when: StopWhen | None) -> None:
        self._world = world
        self._duration = duration
        self._progress = progress
        self._stop_when = stop_when
        # Wall time only decides when to give up; it never reaches the simulated world.
        self._deadline = None if max_wall is None else time.monotonic() + max_wall
        self.reason: str | None = None

    def __call__(self, now: float) -> None:
        if self._progress is not None:
            self._progress(now, self._duration)
        if self.reason is not None:
            return
        reason = self._stop_when() if self._stop_when is not None else None
        if reason is None and self._deadline is not None and time.monotonic() >= self._deadline:
            reason = "max-wall"
        if reason is not None:
            self.reason = reason
            self._world.request_stop(reason)


def resolved_scenario_text(scenario: Any, seed: int) -> str:
    import attrs

    from sim.scenario import scenario_to_toml

    return scenario_to_toml(attrs.evolve(scenario, seed=seed))


def write_outputs(result: Result, out_dir: Path) -> None:
    """scenario.toml (resolved, seed included), summary.json, trace.jsonl, metrics.csv,
    records/ (parquet: what ``sim.load_run`` needs to give the frames back; sim/run_files.py),
    and a copy of the hook modules the scenario took from its own folder."""
    out_dir.mkdir(parents=True, exist_ok=True)
    text = resolved_scenario_text(result.scenario, result.summary["seed"])
    atomic_write(out_dir / "scenario.toml", lambda h: h.write(text))
    atomic_write(out_dir / "summary.json",
                 lambda h: h.write(json.dumps(result.summary, indent=2, sort_keys=True) + "\n"))

    def write_trace(handle: Any) -> None:
        trace = result.trace
        lines = trace.lines() if isinstance(trace, TraceRecords) else map(canonical_line, trace)
        for line in lines:
            handle.write(line)
            handle.write("\n")

    atomic_write(out_dir / "trace.jsonl", write_trace)

    def write_metrics(handle: Any) -> None:
        writer = csv.writer(handle)
        writer.writerow(["height", "time", "round", "proposer", "txs", "vote_ids", "vote_bodies"])
        for b in result.records.blocks:
            writer.writerow([b.height, f"{b.time:.6f}", b.round, b.proposer, b.txs, b.vote_ids,
                             b.vote_bodies])

    atomic_write(out_dir / "metrics.csv", write_metrics, newline="")

    from sim.run_files import write_records

    write_records(result, out_dir)
    _copy_hook_sources(result.scenario, out_dir)


def _copy_hook_sources(scenario: Any, out_dir: Path) -> None:
    """Hook modules from the scenario's folder, copied beside the run's ``scenario.toml``:
    replaying the folder imports them from there (``sim.hooks``)."""
    import shutil

    from sim.hooks import hook_sources_beside

    for source in hook_sources_beside(scenario):
        target = out_dir / source.name
        if target.resolve() == source:
            continue  # the run folder is the scenario's own folder
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target)
