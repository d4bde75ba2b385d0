"""The ``nodesim sweep`` subcommand (argument parsing; the work is in ``sim.sweep``)."""

from __future__ import annotations

import argparse
from typing import Any


def add_sweep_parser(sub: Any) -> None:
    sweep = sub.add_parser("sweep", help="run a scenario over parameters x seeds")
    sweep.add_argument("file")
    sweep.add_argument("--seeds", type=int, default=10)
    sweep.add_argument("--param", action="append", default=[], metavar="KEY=V1,V2,...")
    sweep.add_argument("--workers", type=int, default=None)
    sweep.add_argument("--executor", default="local", help="local | dask | dask://host:port")
    sweep.add_argument("--out", default=None)
    sweep.add_argument("--keep-runs", action="store_true",
                       help="also write each run's folder under OUT/runs/ (nodesim report OUT links them)")


def run_sweep_command(args: argparse.Namespace, console: Any) -> int:
    from pathlib import Path

    from sim.optional import require
    from sim.outdir import check_folder

    require("pandas", "nodesim sweep")
    # Before the scenario is even read: a bad --out otherwise ends in a traceback from mkdir.
    if args.out:
        check_folder(Path(args.out))
    else:  # runs/sweep-<name>/; its name needs the scenario, but runs/ can be checked now
        check_folder(Path("runs"), where="runs (where the default --out runs/sweep-<name>/ goes)")
    from sim.sweep import run_sweep_cli

    return run_sweep_cli(args, console)
