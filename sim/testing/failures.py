"""A failing world becomes a scenario file: run a planned world, and on a violation write the
fully resolved scenario TOML that ``nodesim replay FILE`` reproduces (same trace hash).

Files go to ``$NODESIM_FAILURES_DIR`` when it is set, else ``.hypothesis/nodesim-failures/``
under the working directory. Inside a hypothesis test only the final (shrunk) example is
written, so shrinking does not leave a file per attempt; the assertion message carries the
path and the replay command either way.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import attrs

import sim
from sim.results import Result
from sim.scenario import scenario_from_dict, scenario_to_toml
from sim.scenario_model import Scenario

FAILURES_ENV = "NODESIM_FAILURES_DIR"
DEFAULT_FAILURES_DIR = Path(".hypothesis") / "nodesim-failures"


def failures_dir() -> Path:
    """Where failing examples are written: ``$NODESIM_FAILURES_DIR`` or the default."""
    configured = os.environ.get(FAILURES_ENV)
    return Path(configured) if configured else DEFAULT_FAILURES_DIR


def replay_command(path: Path) -> str:
    return f"nodesim replay {path}"


def _header(result: Result, path: Path) -> str:
    lines = ["# A failing example found by a nodesim property test (sim.testing).",
             f"# Replay: {replay_command(path)}",
             f"# Expected trace_hash: {result.summary['trace_hash']}"]
    for v in result.summary["violations"]:
        lines.append(f"# Violation: {v['invariant']} at t={v['time']}s nodes={','.join(v['nodes'])}: "
                     f"{v['explanation']}")
    return "\n".join(lines) + "\n"


def write_failure(scenario: Scenario, result: Result, directory: Path | None = None) -> Path:
    """Write ``scenario`` (with the seed ``result`` ran under) as a replayable TOML file.

    The name is the scenario's name and the start of its trace hash, so the same failure
    always lands in the same file.
    """
    folder = failures_dir() if directory is None else directory
    folder.mkdir(parents=True, exist_ok=True)
    seed = result.summary["seed"]
    path = folder / f"{scenario.name}-{result.summary['trace_hash'][:12]}.toml"
    text = scenario_to_toml(attrs.evolve(scenario, seed=seed))
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(_header(result, path) + text, encoding="utf-8")
    os.replace(tmp, path)  # a reader never sees half a file
    return path


@attrs.define(eq=False)
class WorldFailure(AssertionError):
    """A property over a world failed: the violations, the trace hash and the replay file.

    Mutable on purpose: hypothesis and pytest attach notes to the exceptions they report.

    ``path`` is None when the file was not written (a non-final hypothesis attempt).
    """

    violations: tuple[dict[str, Any], ...]
    trace_hash: str
    path: Path | None

    def __str__(self) -> str:
        lines = [f"{len(self.violations)} invariant violation(s):"]
        for v in self.violations:
            lines.append(f"  {v['invariant']} at t={v['time']}s nodes={','.join(v['nodes'])}: "
                         f"{v['explanation']}")
        if self.path is not None:
            lines.append(f"scenario written to {self.path}")
            lines.append(f"replay: {replay_command(self.path)}  (trace_hash {self.trace_hash})")
        else:
            lines.append(f"trace_hash {self.trace_hash} (the shrunk example's scenario file is written "
                         "when hypothesis replays it)")
        return "\n".join(lines)


def _final_example() -> bool:
    """Whether this is the example to keep: outside hypothesis, or its final replay."""
    try:
        from hypothesis.control import current_build_context

        return bool(current_build_context().is_final)
    except Exception:  # no build context: a plain call, always worth keeping
        return True


def run_world(data: dict[str, Any], *, directory: Path | None = None,
              write: bool | None = None) -> Result:
    """Validate and run the raw scenario ``data`` once; raise ``WorldFailure`` on a violation.

    The failing scenario is written when ``write`` is True, or (None) when this is not a
    throw-away hypothesis attempt.
    """
    scenario = scenario_from_dict(data, file="<property>")
    return check_result(scenario, sim.run(scenario), directory=directory, write=write)


def check_result(scenario: Scenario, result: Result, *, directory: Path | None = None,
                 write: bool | None = None) -> Result:
    """Raise ``WorldFailure`` (writing the scenario as ``run_world`` does) if ``result`` has
    violations; return it otherwise."""
    violations = tuple(result.summary["violations"])
    if not violations:
        return result
    keep = _final_example() if write is None else write
    path = write_failure(scenario, result, directory) if keep else None
    raise WorldFailure(violations, result.summary["trace_hash"], path)
