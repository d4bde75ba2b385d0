"""The ``nodesim`` command: run, check, replay and sweep scenario files; reports, campaigns,
schema and kinds.

Exit status (the same for every subcommand):

- 0: the run finished and every invariant held;
- 1: an invariant was violated (or a determinism check failed, or a sweep run failed);
- 2: bad input (a scenario file, an argument, an output folder), found before anything ran;
- 3: a hook of the user's raised during the run (a resolve function: ``resolve_errors``);
- 4: the run was stopped by ``--max-wall``; its partial results are written;
- 130: interrupted (Ctrl-C); a run writes its partial results, a sweep keeps finished runs.

A user mistake or action is one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

from rich.console import Console

from sim.errors import HookFailed, NodesimError, SimulationError

EXIT_OK, EXIT_VIOLATION, EXIT_BAD_INPUT, EXIT_HOOK_ERROR, EXIT_STOPPED = 0, 1, 2, 3, 4
EXIT_INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and exit 2) like every other bad input."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        self.exit(EXIT_BAD_INPUT, f"nodesim: {self.prog.partition(' ')[2] or 'usage'}: {message}\n")


def _version() -> str:
    try:
        return metadata.version("nodesim")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def _parser() -> argparse.ArgumentParser:
    from sim.cli_args import add_run_options, seed_arg

    parser = _Parser(prog="nodesim", description="Deterministic validator-network simulator.")
    parser.add_argument("--version", action="version", version=f"nodesim {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = sub.add_parser("run", help="run a scenario file")
    run.add_argument("file")
    run.add_argument("--seed", type=seed_arg, default=None, help="0 ... 2^64-1 (default: the scenario's)")
    run.add_argument("--check-determinism", action="store_true",
                     help="run twice (the second in a fresh process) and compare trace hashes")
    add_run_options(run, "runs/<name>-<seed>/")
    from sim.report.cli import add_output_flags, add_report_commands

    add_output_flags(run)
    check = sub.add_parser("check", help="validate a scenario file and estimate its cost, without running it")
    check.add_argument("file")
    check.add_argument("--allow-large", action="store_true", help="lift the [limits] (see README)")
    replay = sub.add_parser("replay", help="re-run a saved scenario or run folder; says if the hash matched")
    replay.add_argument("target")
    add_run_options(replay, "a new temporary folder")
    add_output_flags(replay)
    schema = sub.add_parser("schema", help="write the JSON Schema of scenario files")
    schema.add_argument("--out", default=None, help="file to write (default: stdout)")
    sub.add_parser("kinds", help="list fault kinds, sources, byzantine behaviours and invariants")
    from sim.campaign_cli import add_campaign_parser
    from sim.sweep_cli import add_sweep_parser

    add_sweep_parser(sub)
    add_report_commands(sub)
    add_campaign_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    console = Console(stderr=bool(getattr(args, "json", False)), soft_wrap=True)
    try:
        with _terminate_as_interrupt():
            return _dispatch(args, console)
    except HookFailed as exc:  # the run could not go on: nothing is written
        print(f"nodesim: {exc}", file=sys.stderr)
        return EXIT_HOOK_ERROR
    except NodesimError as exc:
        print(f"nodesim: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ModuleNotFoundError as exc:  # an optional package: say what to install
        from sim.optional import missing

        print(f"nodesim: {missing(exc.name or 'a package', args.command)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("nodesim: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _dispatch(args: argparse.Namespace, console: Console) -> int:
    import sim
    from sim.report.cli import dispatch

    status = dispatch(args, console)
    if status is not None:
        return status
    if args.command == "check":
        return _check(args, console)
    if args.command == "campaign":
        from sim.campaign_cli import run_campaign_command

        return run_campaign_command(args, console)
    if args.command == "sweep":
        from sim.sweep_cli import run_sweep_command

        return run_sweep_command(args, console)
    if args.command == "schema":
        from sim.schema import write_schema

        return write_schema(args.out)
    if args.command == "kinds":
        from sim.kinds import kinds_text

        print(kinds_text())
        return EXIT_OK
    if args.command == "replay":
        return _replay(args, console)
    scenario = sim.load_scenario(args.file, allow_large=args.allow_large)
    seed = scenario.seed if args.seed is None else args.seed
    default = args.out is None
    out = Path("runs") / f"{scenario.name}-{seed}" if default else Path(args.out)
    status = _run_one(scenario, seed, out, args, console, default_out=default)
    if args.check_determinism and status in (EXIT_OK, EXIT_VIOLATION, EXIT_HOOK_ERROR):
        first = json.loads((out / "summary.json").read_text())["trace_hash"]
        status = max(status, _check_determinism(args.file, seed, first, args.allow_large, console))
    return status


def _check(args: argparse.Namespace, console: Console) -> int:
    import sim
    from sim.estimate import estimate
    from sim.hooks import check_hooks

    scenario = sim.load_scenario(args.file, allow_large=args.allow_large)
    check_hooks(scenario)
    console.print(f"{args.file}: ok ({scenario.name}, {len(scenario.nodes)} nodes, "
                  f"{_virtual(scenario.duration)} virtual); estimate: {estimate(scenario).describe()}",
                  markup=False, highlight=False)
    return EXIT_OK


def _virtual(seconds: float) -> str:
    from sim.summary_text import duration

    return duration(seconds)


def _replay(args: argparse.Namespace, console: Console) -> int:
    import sim
    from sim.cli_args import recorded_hash

    target = Path(args.target)
    file = target / "scenario.toml" if target.is_dir() else target
    if not file.is_file():
        raise NodesimError(f"{args.target}: no scenario.toml to replay")
    scenario = sim.load_scenario(file, allow_large=args.allow_large)
    recorded = recorded_hash(target)
    default = args.out is None
    out = Path(tempfile.mkdtemp(prefix="nodesim-replay-")) if default else Path(args.out)
    status = _run_one(scenario, None, out, args, console, default_out=default)
    if recorded is not None:
        new = json.loads((out / "summary.json").read_text())["trace_hash"]
        if new == recorded:
            console.print(f"replay: trace_hash matches the recorded run ({new})", markup=False)
        else:
            console.print(f"replay: trace_hash DIFFERS from the recorded run: recorded {recorded}, "
                          f"replayed {new}", markup=False)
            status = max(status, EXIT_VIOLATION)
    else:
        console.print("replay: no recorded trace_hash to compare with", markup=False)
    return status


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (``kill``, a CI job's timeout, a container stopping) ends a command the way
    Ctrl-C does: its partial results kept, sweep workers stopped, exit 130. Left to Python's
    default, it killed the command on the spot and a sweep's worker processes kept running."""
    if threading.current_thread() is not threading.main_thread():  # signals reach only that one
        yield
        return
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class _Interrupt:
    """Ctrl-C (or SIGTERM) during a run: the first asks the run to stop and keep its partial
    results; a second (if the run does not get to stop) interrupts at once."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def __enter__(self) -> _Interrupt:
        if threading.current_thread() is threading.main_thread():  # signals reach only that one
            self._previous = (signal.signal(signal.SIGINT, self._handle), signal.signal(signal.SIGTERM, self._handle))
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous[0])
            signal.signal(signal.SIGTERM, self._previous[1])

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def reason(self) -> str | None:
        return "interrupted" if self.requested else None


def _run_one(scenario: Any, seed: int | None, out: Path, args: argparse.Namespace, console: Console,
             *, default_out: bool) -> int:
    import sim
    from sim.cli_args import ProgressBar, print_run
    from sim.estimate import estimate
    from sim.hooks import check_hooks
    from sim.outdir import prepare_out

    check_hooks(scenario)  # before the folder is touched: a bad hook changes nothing
    created = not out.exists()
    prepare_out(out, overwrite=args.overwrite, default=default_out)
    guess = estimate(scenario)
    quiet = args.json or args.quiet
    bar = ProgressBar(Console(stderr=True), scenario.name)
    with _Interrupt() as interrupt:  # before the first line, so a Ctrl-C after it is handled
        if guess.wall_seconds > 10 and not quiet:
            print(f"estimate: {guess.describe()} (Ctrl-C stops and keeps the partial results)", flush=True)
        try:
            result = sim.run(scenario, seed=seed, out=out, progress=None if quiet else bar,
                             max_wall=args.max_wall, stop_when=interrupt.reason)
        except (HookFailed, SimulationError):
            if created and out.is_dir() and not any(out.iterdir()):
                out.rmdir()  # the run wrote nothing: leave no trace of it either
            raise
        finally:
            bar.close()
    summary = result.summary
    if summary["stopped"] == "interrupted":
        print(f"nodesim: interrupted at {_virtual(summary['virtual_seconds'])} virtual; partial results "
              f"(summary stopped = \"interrupted\") in {out}/", file=sys.stderr)
        return EXIT_INTERRUPTED
    print_run(summary, scenario.name, out, args, console)
    from sim.report.cli import write_extras

    write_extras(result, out, args, console)
    if summary["violations"]:
        return EXIT_VIOLATION
    if summary.get("resolve_errors"):
        return EXIT_HOOK_ERROR
    return EXIT_STOPPED if summary["stopped"] else EXIT_OK


def second_hash_seed(first: str | None) -> str:
    """PYTHONHASHSEED for the second run: fixed and unlike the first's, so that a result that
    depends on str/bytes hash order (set iteration, say) shows up as a different trace hash.

    Unset, empty or ``random`` (the only non-integer Python accepts) means the first run's seed
    was random: any fixed one differs from it but by chance.
    """
    try:
        base = int(first or "0", 10)
    except ValueError:
        base = 0
    return str((base + 12345) % 4294967295)  # Python accepts 0 ... 4294967295


def _check_determinism(file: str, seed: int, first_hash: str, allow_large: bool, console: Console) -> int:
    with tempfile.TemporaryDirectory(prefix="nodesim-det-") as tmp:
        env = dict(os.environ)
        env["PYTHONHASHSEED"] = second_hash_seed(env.get("PYTHONHASHSEED"))
        command = [sys.executable, "-m", "sim.cli", "run", file, "--seed", str(seed), "--out",
                   str(Path(tmp) / "second"), "--json"] + (["--allow-large"] if allow_large else [])
        proc = subprocess.run(command, env=env, capture_output=True, text=True)
        if proc.returncode not in (EXIT_OK, EXIT_VIOLATION, EXIT_HOOK_ERROR):
            console.print(f"determinism check: second run failed: {proc.stderr.strip()[-500:]}", markup=False)
            return EXIT_VIOLATION
        second = json.loads(proc.stdout)["trace_hash"]
    if second != first_hash:
        console.print(f"determinism check failed: trace hashes differ ({first_hash} vs {second})", markup=False)
        return EXIT_VIOLATION
    console.print(f"determinism check passed: trace_hash {first_hash} in both runs", markup=False)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
