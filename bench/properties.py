"""Benchmark: hypothesis examples per second for the default ``scenarios()`` world.

Each example draws a world (4 validators of unequal power, 10 minutes of virtual time, the
one ``script`` listener, a swarm-chosen fault schedule and a few events), runs it once and
checks that no invariant broke. Prints examples/s, also as it would be where the target
was set (>= 50 where the yardstick took 0.85 s, ``bench/yardstick.py``), and the mean blocks
per world, the simulator's main cost.

    .venv/bin/python bench/properties.py [--examples 100]
"""

from __future__ import annotations

import argparse
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from yardstick import REFERENCE, at_reference, bracketed

import sim
from sim.scenario_model import Scenario
from sim.testing import scenarios
from sim.testing.local_modules import import_every_module

TARGET = 50.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100)
    args = parser.parse_args()
    blocks: list[int] = []

    @settings(max_examples=args.examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow])
    @given(scenarios(validators=st.just(4), duration="10m"))
    def one_world(scenario: Scenario) -> None:
        result = sim.run(scenario)
        assert result.ok, result.summary["violations"]
        blocks.append(result.summary["blocks"])

    started = time.perf_counter()
    import_every_module()  # once per process, before the first draw (sim/testing/local_modules.py)
    imports = time.perf_counter() - started

    def timed() -> float:
        started = time.perf_counter()
        one_world()
        return time.perf_counter() - started

    wall, simpy, yardstick = bracketed(timed)
    rate = len(blocks) / wall
    print(f"{len(blocks)} examples in {wall:.2f}s: {rate:.1f} examples/s ({yardstick}; "
          f"at {REFERENCE:g} s simpy: {at_reference(rate, simpy):.1f}, target >= {TARGET:.0f}); "
          f"mean {sum(blocks) / len(blocks):.0f} blocks per 10-minute world, "
          f"{1000 * wall / sum(blocks):.2f} ms per block; importing every module first took {imports:.2f}s")


if __name__ == "__main__":
    main()
