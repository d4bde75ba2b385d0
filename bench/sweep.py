"""Benchmark: a sweep of quickstart (short variant) on 1 local worker, then on 2.

Runs the same ``--runs`` seeds of ``scenarios/quickstart.toml`` with
``scenario.duration=2m`` through ``sim.sweep.sweep`` with ``workers=1`` and ``workers=2``
(the local process pool, its workers' start included), checks both tables agree (without
wall-clock columns), and prints runs/s for each and the speed-up ratio; then five sweeps of four runs
in a row, as a notebook makes them (worker start-up is most of their cost). The fork server
(the process workers are forked from) starts with a process's first sweep and serves every
later one: a first sweep of 4 runs starts it (its time is printed), so the 1- and 2-worker
sweeps are timed alike. The 1-worker rate is also given as it would be where the targets were set
(``bench/yardstick.py``): target >= 90 runs/s there, and >= 1.9x on 2 workers.

    .venv/bin/python bench/sweep.py [--runs 1000] [--duration 2m] [--workers 2]
"""

from __future__ import annotations

import argparse
import time
from functools import partial
from pathlib import Path

import pandas as pd
from yardstick import REFERENCE, at_reference, bracketed

from sim.sweep import comparable, sweep

QUICKSTART = Path(__file__).resolve().parent.parent / "scenarios" / "quickstart.toml"


def timed(runs: int, duration: str, workers: int) -> tuple[float, pd.DataFrame]:
    started = time.perf_counter()  # wall clock: measuring the benchmark, not inside a run
    table = sweep(QUICKSTART, seeds=runs, params={"scenario.duration": [duration]}, workers=workers)
    return time.perf_counter() - started, table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--duration", default="2m")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    first_s, _ = timed(4, args.duration, args.workers)
    print(f"first sweep of the process (4 runs, starts the fork server): {first_s:.2f}s")
    (one_s, one), simpy, yardstick = bracketed(partial(timed, args.runs, args.duration, 1))
    print(f"1 worker : {args.runs} runs in {one_s:7.1f}s = {args.runs / one_s:6.1f} runs/s "
          f"({yardstick}; at {REFERENCE:g} s simpy: "
          f"{at_reference(args.runs / one_s, simpy):.1f} runs/s, target >= 90)")
    many_s, many = timed(args.runs, args.duration, args.workers)
    print(f"{args.workers} workers: {args.runs} runs in {many_s:7.1f}s = {args.runs / many_s:6.1f} runs/s")
    print(f"speed-up {one_s / many_s:.2f}x")
    pd.testing.assert_frame_equal(comparable(one), comparable(many))
    print(f"tables identical without wall_seconds ({len(one)} rows, "
          f"mean in-run wall {one['wall_seconds'].mean() * 1000:.0f}ms per run)")
    # what a notebook does: several small sweeps in one process (worker start-up dominates)
    small = [timed(4, args.duration, args.workers)[0] for _ in range(5)]
    print(f"5 sweeps of 4 runs on {args.workers} workers: {sum(small):.2f}s "
          f"({sum(small) / 20 * 1000:.0f}ms per run)")


if __name__ == "__main__":
    main()
