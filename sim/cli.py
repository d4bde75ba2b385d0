"""The ``nodesim`` command: run, check, replay and sweep scenario files.

Exit status: 0 when every invariant held, 1 on a violation (or a failed determinism check),
2 on bad input. A user mistake is one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from sim.errors import NodesimError

EXIT_OK, EXIT_VIOLATION, EXIT_BAD_INPUT = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nodesim", description="Deterministic validator-network simulator.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a scenario file")
    run.add_argument("file")
    run.add_argument("--seed", type=int, default=None)
    run.add_argument("--out", default=None, help="output folder (default runs/<name>-<seed>/)")
    run.add_argument("--json", action="store_true", help="print summary.json to stdout")
    run.add_argument("--check-determinism", action="store_true",
                     help="run twice (the second in a fresh process) and compare trace hashes")
    from sim.report.cli import add_output_flags, add_report_commands

    add_output_flags(run)
    check = sub.add_parser("check", help="validate a scenario file without running it")
    check.add_argument("file")
    replay = sub.add_parser("replay", help="re-run a saved scenario or run folder")
    replay.add_argument("target")
    replay.add_argument("--out", default=None)
    replay.add_argument("--json", action="store_true")
    add_output_flags(replay)
    from sim.campaign_cli import add_campaign_parser
    from sim.sweep_cli import add_sweep_parser

    add_sweep_parser(sub)
    add_report_commands(sub)
    add_campaign_parser(sub)
    return parser


class _ProgressBar:
    """A rich progress bar that appears only once a run has taken a second of wall time."""

    def __init__(self, console: Console, label: str) -> None:
        self._console = console
        self._label = label
        self._started = time.perf_counter()
        self._last = 0.0
        self._progress: Progress | None = None
        self._task: Any = None

    def __call__(self, now: float, total: float) -> None:
        wall = time.perf_counter()
        if wall - self._started < 1.0 or wall - self._last < 0.1:
            return
        self._last = wall
        if self._progress is None:
            self._progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                      TextColumn("{task.percentage:>3.0f}%"), TimeRemainingColumn(),
                                      console=self._console, transient=True, auto_refresh=False)
            self._progress.start()
            self._task = self._progress.add_task(self._label, total=total)
        self._progress.update(self._task, completed=now)
        self._progress.refresh()

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()


def _summary_table(summary: dict[str, Any]) -> Table:
    table = Table(title="summary", show_header=False, box=None)
    for key in sorted(summary):
        if key in ("violations", "shutdown_errors"):
            continue
        table.add_row(key, str(summary[key]))
    table.add_row("violations", str(len(summary["violations"])))
    return table


def _run_one(scenario: Any, seed: int | None, out: Path, as_json: bool, console: Console,
             args: argparse.Namespace | None = None) -> int:
    import sim
    from sim.report.cli import write_extras

    bar = _ProgressBar(Console(stderr=True), scenario.name)
    try:
        result = sim.run(scenario, seed=seed, out=out, progress=None if as_json else bar)
    finally:
        bar.close()
    summary = result.summary
    if as_json:
        print(json.dumps(summary, indent=2, sort_keys=True))
    else:
        console.print(_summary_table(summary))
        for v in summary["violations"]:
            console.print(f"[red]violation[/red] {v['invariant']} at t={v['time']}s "
                          f"nodes={','.join(v['nodes'])}: {v['explanation']}")
        for error in summary.get("shutdown_errors", []):
            console.print(f"[yellow]node shut down[/yellow] {error}")
        console.print(f"wrote {out}/ (replay: nodesim replay {out})")
    if args is not None:
        write_extras(result, out, args, console)
    return EXIT_VIOLATION if summary["violations"] else EXIT_OK


def _check_determinism(file: str, seed: int, first_hash: str, console: Console) -> int:
    with tempfile.TemporaryDirectory(prefix="nodesim-det-") as tmp:
        env = dict(os.environ)
        env["PYTHONHASHSEED"] = str((int(env.get("PYTHONHASHSEED", "0") or 0) + 12345) % 4294967295)
        proc = subprocess.run(
            [sys.executable, "-m", "sim.cli", "run", file, "--seed", str(seed), "--out",
             str(Path(tmp) / "second"), "--json"], env=env, capture_output=True, text=True)
        if proc.returncode not in (EXIT_OK, EXIT_VIOLATION):
            console.print(f"determinism check: second run failed: {proc.stderr.strip()[-500:]}")
            return EXIT_VIOLATION
        second = json.loads(proc.stdout)["trace_hash"]
    if second != first_hash:
        console.print(f"[red]determinism check failed[/red]: trace hashes differ ({first_hash[:16]} vs {second[:16]})")
        return EXIT_VIOLATION
    console.print(f"determinism check passed: trace_hash {first_hash[:16]} in both runs")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    console = Console(stderr=bool(getattr(args, "json", False)))
    try:
        return _dispatch(args, console)
    except NodesimError as exc:
        print(f"nodesim: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("nodesim: interrupted", file=sys.stderr)
        return 130


def _dispatch(args: argparse.Namespace, console: Console) -> int:
    import sim

    if args.command == "check":
        scenario = sim.load_scenario(args.file)
        console.print(f"{args.file}: ok ({scenario.name}, {len(scenario.nodes)} nodes, "
                      f"{scenario.duration:g}s virtual)")
        return EXIT_OK
    if args.command == "campaign":
        from sim.campaign_cli import run_campaign_command

        return run_campaign_command(args, console)
    if args.command == "sweep":
        from sim.sweep_cli import run_sweep_command

        return run_sweep_command(args, console)
    from sim.report.cli import dispatch

    status = dispatch(args, console)
    if status is not None:
        return status
    if args.command == "replay":
        target = Path(args.target)
        file = target / "scenario.toml" if target.is_dir() else target
        if not file.exists():
            raise NodesimError(f"{args.target}: no scenario.toml to replay")
        scenario = sim.load_scenario(file)
        out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="nodesim-replay-"))
        return _run_one(scenario, None, out, args.json, console, args)
    scenario = sim.load_scenario(args.file)
    seed = scenario.seed if args.seed is None else args.seed
    out = Path(args.out) if args.out else Path("runs") / f"{scenario.name}-{seed}"
    status = _run_one(scenario, seed, out, args.json, console, args)
    if args.check_determinism:
        first = json.loads((out / "summary.json").read_text())["trace_hash"]
        det = _check_determinism(args.file, seed, first, console)
        status = max(status, det)
    return status


if __name__ == "__main__":
    sys.exit(main())
