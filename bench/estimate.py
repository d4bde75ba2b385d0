"""How good the cost estimate is, and how cheap refusing a hostile size is.

For each shipped scenario: the estimate's blocks and wall time against a measured run (ratios
estimate / measured; 1.0 is exact, the model aims for 0.5 .. 2). Then ``check`` on hostile
sizes (10**9 nodes, 10**8 hours, 10**9 events/s) against ``check`` on the quickstart in the
same process: the ratio shows a refusal costs no more than validating a small scenario.

    .venv/bin/python bench/estimate.py [scenario names...]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import sim
from sim.errors import ScenarioError
from sim.estimate import estimate
from sim.scenario import parse_scenario

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = {
    "10**9 nodes": '[validators]\ncount = 1000000000\n',
    "10**8 hours": "",
    "10**9 events/s": '[sources.script]\ntype = "credit_account"\nrate = "1000000000/s"\n',
}


def accuracy(names: list[str]) -> None:
    for name in names:
        scenario = sim.load_scenario(ROOT / "scenarios" / f"{name}.toml")
        guess = estimate(scenario)
        result = sim.run(scenario)
        wall = result.summary["wall_seconds"]
        print(f"{name}: blocks {guess.blocks:,.0f} est / {result.summary['blocks']:,} run = "
              f"{guess.blocks / max(result.summary['blocks'], 1):.2f}; wall {guess.wall_seconds:.1f} s est / "
              f"{wall:.1f} s run = {guess.wall_seconds / max(wall, 1e-9):.2f}")


def refusal_cost(repeats: int = 200) -> None:
    baseline_text = (ROOT / "scenarios" / "quickstart.toml").read_text()
    started = time.perf_counter()
    for _ in range(repeats):
        parse_scenario(baseline_text)
    baseline = (time.perf_counter() - started) / repeats
    print(f"check quickstart: {baseline * 1e3:.2f} ms (baseline)")
    for label, body in HOSTILE.items():
        duration = "100000000h" if label == "10**8 hours" else "1h"
        text = f'[scenario]\nname = "big"\nduration = "{duration}"\n{body}'
        refused = 0
        started = time.perf_counter()
        for _ in range(repeats):
            try:
                parse_scenario(text)
            except ScenarioError:
                refused += 1  # the refusal is what is timed
        cost = (time.perf_counter() - started) / repeats
        if refused != repeats:
            raise SystemExit(f"{label} was accepted: the limits did not refuse it")
        print(f"refuse {label}: {cost * 1e3:.2f} ms = {cost / baseline:.2f} x the baseline")


def main() -> None:
    names = sys.argv[1:] or ["quickstart", "bench-100", "watcher-jobs", "pubsub-retries"]
    accuracy(names)
    refusal_cost()


if __name__ == "__main__":
    main()
