"""``nodesim report``, ``nodesim export`` and the ``--report``/``--perfetto`` flags of run and replay.

Kept out of sim/cli.py: the command registers these with ``add_report_commands`` and
``add_output_flags`` and calls ``dispatch`` and ``write_extras``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from sim.errors import NodesimError

REPORT_FILE = "report.html"
PERFETTO_FILE = "trace.perfetto.json"


def add_report_commands(sub: Any) -> None:
    report = sub.add_parser("report", help="write the HTML report of a run folder or a sweep folder")
    report.add_argument("target", metavar="RUN_DIR|SWEEP_DIR")
    report.add_argument("-o", "--output", default=None, help=f"HTML file (default: <folder>/{REPORT_FILE})")
    export = sub.add_parser("export", help="export a run folder for another tool")
    export.add_argument("run_dir", metavar="RUN_DIR")
    export.add_argument("--perfetto", action="store_true", required=True,
                        help="Chrome/Perfetto trace-event JSON (ui.perfetto.dev, chrome://tracing)")
    export.add_argument("-o", "--output", default=None, help=f"JSON file (default: RUN_DIR/{PERFETTO_FILE})")


def add_output_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--report", action="store_true", help=f"also write {REPORT_FILE} into the output folder")
    parser.add_argument("--perfetto", action="store_true",
                        help=f"also write {PERFETTO_FILE} (trace-event JSON) into the output folder")


def write_extras(result: Any, out: Path, args: argparse.Namespace, console: Any) -> None:
    """After ``run``/``replay``: the report and Perfetto file the flags asked for, from the in-memory result."""
    # -q prints only the verdict; with --json these lines go to stderr, out of the JSON's way.
    announce = not getattr(args, "quiet", False) or getattr(args, "json", False)
    if getattr(args, "report", False):
        from sim.report.page import write_report

        path = write_report(result, out / REPORT_FILE)
        if announce:
            console.print(f"wrote {path}")
    if getattr(args, "perfetto", False):
        from sim.report.perfetto import write_perfetto

        path = write_perfetto(result, out / PERFETTO_FILE)
        if announce:
            console.print(f"wrote {path}")


def dispatch(args: argparse.Namespace, console: Any) -> int | None:
    """Run ``report`` or ``export``; None for any other command."""
    if args.command == "report":
        from sim.report.sweep import is_sweep_dir, write_sweep_report
        from sim.run_files import is_run_dir, load_run

        target = Path(args.target)
        output = _output(args.output, target / REPORT_FILE)
        if is_sweep_dir(target):
            path = write_sweep_report(target, output, progress=console.print)
        elif is_run_dir(target):
            from sim.report.page import write_report

            path = write_report(load_run(target), output)
        else:
            raise NodesimError(f"{target}: not a run folder (summary.json, scenario.toml) "
                               f"or a sweep folder (sweep.rows.jsonl)")
        console.print(f"wrote {path}")
        return 0
    if args.command == "export":
        from sim.report.perfetto import write_perfetto
        from sim.run_files import load_run

        target = Path(args.run_dir)
        output = _output(args.output, target / PERFETTO_FILE)
        path = write_perfetto(load_run(target), output)
        console.print(f"wrote {path} (open it in ui.perfetto.dev or chrome://tracing)")
        return 0
    return None


def _output(option: str | None, default: Path) -> Path:
    """The file ``-o`` names (or the default), refused before any work if it cannot be written."""
    from sim.outdir import check_file

    path = Path(option) if option else default
    if option or default.parent.is_dir():  # a missing target folder is the target's error, said later
        check_file(path, where=f"-o {path}" if option else str(path))
    return path
