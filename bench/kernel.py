"""Timed wake-ups per second: the world's event path against SimPy on the same schedule.

Both run N callbacks at pseudo-random future times (the same times for both), each callback
scheduling the next one as a message delivery would. The world's path is ``Kernel.call_at``
inside ``trio.run`` under the virtual clock; SimPy's is ``env.timeout`` in a process. Printed:
events per second for each and the ratio (target: the world costs at most 3x SimPy per event).
"""

from __future__ import annotations

import random
import time

import simpy
import trio

from sim.engine.clock import VirtualClock
from sim.engine.kernel import Kernel

N = 200_000
CHAINS = 100


def delays() -> list[float]:
    rng = random.Random(1)
    return [rng.uniform(0.001, 0.2) for _ in range(N)]


def bench_world(ds: list[float]) -> float:
    clock = VirtualClock()
    kernel = Kernel(clock)
    per_chain = N // CHAINS
    counts = [0] * CHAINS

    def step(chain: int) -> None:
        i = counts[chain]
        counts[chain] = i + 1
        if i < per_chain:
            kernel.call_later(ds[chain * per_chain + i], step, chain)

    async def main() -> None:
        for c in range(CHAINS):
            kernel.call_at(0.0, step, c)
        await kernel.run_until(1e9)

    started = time.perf_counter()
    trio.run(main, clock=clock)
    return kernel.events_run / (time.perf_counter() - started)


def bench_simpy(ds: list[float]) -> float:
    env = simpy.Environment()
    per_chain = N // CHAINS
    done = [0]

    def chain(c: int):  # type: ignore[no-untyped-def]
        for i in range(per_chain):
            yield env.timeout(ds[c * per_chain + i])
            done[0] += 1

    for c in range(CHAINS):
        env.process(chain(c))
    started = time.perf_counter()
    env.run()
    return done[0] / (time.perf_counter() - started)


def main() -> None:
    ds = delays()
    world = max(bench_world(ds) for _ in range(3))
    simpy_rate = max(bench_simpy(ds) for _ in range(3))
    print(f"world kernel: {world:,.0f} events/s")
    print(f"simpy:        {simpy_rate:,.0f} events/s")
    print(f"cost per event, world / simpy: {simpy_rate / world:.2f}x (target <= 3x)")


if __name__ == "__main__":
    main()
