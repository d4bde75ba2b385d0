"""Pieces of the ``nodesim`` command: argument types, the run options, progress and output.

Kept apart from ``sim.cli`` (which only parses and dispatches) so each stays small.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from sim.scenario_model import SEED_MAX
from sim.summary_text import duration, summary_lines, verdict
from sim.units import parse_duration

_EXPECTED_HASH = re.compile(r"^#\s*Expected trace_hash:\s*([0-9a-f]{64})\s*$", re.MULTILINE)


def seed_arg(text: str) -> int:
    """``--seed``: an integer 0 ... 2^64-1 (what the scenario file accepts, what replay reads)."""
    try:
        seed = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer between 0 and {SEED_MAX}, got {text!r}") from None
    if not 0 <= seed <= SEED_MAX:
        raise argparse.ArgumentTypeError(f"expected an integer between 0 and {SEED_MAX}, got {seed}")
    return seed


def positive_arg(text: str) -> int:
    """A count that must be at least 1 (``--workers``, ``--examples``)."""
    try:
        value = int(text, 10)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def wall_arg(text: str) -> float:
    """``--max-wall``: a duration with a unit (``"90s"``, ``"10m"``, ``"2h"``), > 0."""
    try:
        seconds = parse_duration(text)
    except ValueError:
        seconds = 0.0
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f'expected a duration > 0 with a unit, like "90s" or "10m", got {text!r}')
    return seconds


LIVENESS_RANGE = (1.0, 600.0)  # a campaign's liveness bound: each world runs for about that much longer


def liveness_arg(text: str) -> float:
    """``campaign --liveness``: a duration with a unit from 1 s to 10 min."""
    try:
        seconds = parse_duration(text)
    except ValueError:
        seconds = -1.0
    low, high = LIVENESS_RANGE
    if not low <= seconds <= high:
        raise argparse.ArgumentTypeError(f'expected a duration from 1s to 10m, like "90s", got {text!r}')
    return seconds


def add_run_options(parser: argparse.ArgumentParser, default_out: str) -> None:
    """The options ``run`` and ``replay`` share."""
    parser.add_argument("--out", default=None, help=f"output folder (default: {default_out})")
    parser.add_argument("--overwrite", action="store_true", help="replace a previous run in --out")
    parser.add_argument("--json", action="store_true", help="print summary.json to stdout")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only the verdict line")
    parser.add_argument("--max-wall", type=wall_arg, default=None, metavar="DURATION",
                        help='stop after this much wall time, keeping partial results (exit 4), e.g. "10m"')
    parser.add_argument("--allow-large", action="store_true", help="lift the [limits] (see README)")


def recorded_hash(target: Path) -> str | None:
    """The trace hash a replay target recorded: a run folder's summary.json, or the
    ``# Expected trace_hash:`` line a property-test failure file starts with."""
    if target.is_dir():
        try:
            value = json.loads((target / "summary.json").read_text(encoding="utf-8")).get("trace_hash")
        except (OSError, ValueError, AttributeError):
            return None
        return value if isinstance(value, str) else None
    try:
        match = _EXPECTED_HASH.search(target.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return None
    return match.group(1) if match else None


def print_run(summary: dict[str, Any], name: str, out: Path, args: argparse.Namespace, console: Console) -> None:
    """What ``run`` and ``replay`` print: summary.json (``--json``), the verdict (``-q``) or
    the grouped table, then violations, errors and where the files are."""
    if args.json:
        print(json.dumps(summary, indent=2, sort_keys=True))
        return
    if args.quiet:
        print(verdict(summary, name))
        return
    for line in summary_lines(summary, name):
        print(line)
    for v in summary["violations"]:
        nodes = f" nodes={','.join(v['nodes'])}" if v["nodes"] else ""  # (a halt names none)
        print(f"violation {v['invariant']} at t={v['time']}s{nodes}: {v['explanation']}")
    for message in summary.get("resolve_error_messages", []):
        print(f"resolve error {message}")
    for error in summary.get("shutdown_errors", []):
        print(f"node shut down {error}")
    if summary.get("stopped") == "max-wall":
        print(f"stopped by --max-wall at {duration(summary['virtual_seconds'])} virtual; the results are partial")
    print(f"wrote {out}/ (replay: nodesim replay {out})")
    sys.stdout.flush()


class ProgressBar:
    """A progress bar over virtual time that appears once a run has taken a second of wall
    time: ``quickstart ━━━━━━━━╺━━━━ 1 h 2 m / 2 h 0 m virtual  0:00:04``. Only on a
    terminal: redirected to a file or a pipe, it would leave blank lines behind."""

    def __init__(self, console: Console, label: str) -> None:
        self._console = console
        self._label = label
        self._started = time.perf_counter()
        self._last = 0.0
        self._progress: Progress | None = None
        self._task: Any = None

    def __call__(self, now: float, total: float) -> None:
        wall = time.perf_counter()
        if not self._console.is_terminal or wall - self._started < 1.0 or wall - self._last < 0.1:
            return
        self._last = wall
        if self._progress is None:
            self._progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                      TextColumn("{task.fields[virtual]}"), TimeElapsedColumn(),
                                      console=self._console, transient=True, auto_refresh=False)
            self._progress.start()
            self._task = self._progress.add_task(self._label, total=total, virtual="")
        self._progress.update(self._task, completed=now,
                              virtual=f"{duration(now)} / {duration(total)} virtual")
        self._progress.refresh()

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
