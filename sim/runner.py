"""Running a scenario and writing what it produced: the public ``run`` and the output folder."""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sim.engine.trace import canonical_line
from sim.results import Result, make_result


def run(scenario: Any, seed: int | None = None, *, out: str | Path | None = None,
        progress: Callable[[float, float], None] | None = None) -> Result:
    """Run ``scenario`` (from ``sim.load_scenario``) under ``seed`` (default: the scenario's).

    With ``out``, the run's files are written there (see ``write_outputs``); file-backed node
    storage lives under it too.
    """
    from sim.world.world import World

    seed = scenario.seed if seed is None else int(seed)
    out_dir = Path(out) if out is not None else None
    world = World(scenario, seed, out_dir)
    if progress is not None:
        world.kernel.progress = lambda now: progress(now, scenario.duration)
    try:
        world.run()
        result = make_result(world)
    finally:
        world.close()
    if out_dir is not None:
        write_outputs(result, out_dir)
    return result


def resolved_scenario_text(scenario: Any, seed: int) -> str:
    import attrs

    from sim.scenario import scenario_to_toml

    return scenario_to_toml(attrs.evolve(scenario, seed=seed))


def _atomic_write(path: Path, write: Callable[[Any], None], newline: str | None = None) -> None:
    """Write via a temporary file and rename, so a reader never sees half a file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline=newline) as handle:
            write(handle)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_outputs(result: Result, out_dir: Path) -> None:
    """scenario.toml (resolved, seed included), summary.json, trace.jsonl, metrics.csv, and
    records/ (parquet: what ``sim.load_run`` needs to give the frames back; sim/run_files.py)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    text = resolved_scenario_text(result.scenario, result.summary["seed"])
    _atomic_write(out_dir / "scenario.toml", lambda h: h.write(text))
    _atomic_write(out_dir / "summary.json",
                  lambda h: h.write(json.dumps(result.summary, indent=2, sort_keys=True) + "\n"))

    def write_trace(handle: Any) -> None:
        for record in result.trace:
            handle.write(canonical_line(record))
            handle.write("\n")

    _atomic_write(out_dir / "trace.jsonl", write_trace)

    def write_metrics(handle: Any) -> None:
        writer = csv.writer(handle)
        writer.writerow(["height", "time", "round", "proposer", "txs", "vote_ids", "vote_bodies"])
        for b in result.records.blocks:
            writer.writerow([b.height, f"{b.time:.6f}", b.round, b.proposer, b.txs, b.vote_ids,
                             b.vote_bodies])

    _atomic_write(out_dir / "metrics.csv", write_metrics, newline="")

    from sim.run_files import write_records

    write_records(result, out_dir)
