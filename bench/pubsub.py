"""Benchmark: the pub/sub hub's wall time, each figure against a baseline from the same run.

1. ``scenarios/pubsub-retries.toml`` (4 validators, 30 virtual hours), against the same world
   with the publishers switched off (``sources.pubsub.rate = 0``): what the hub, its pushes
   and the validators' votes on them add to a world.
2. A hub with 100 subscribers and 1 event/s for 64 virtual hours, every subscriber an actor
   that confirms each push at once (so a cycle runs every second: each publish restarts the
   grid). Baseline: the same publisher loop on a hub nobody subscribes to (the clock, the
   tasks and the publish calls, without any sending).
3. A quiet hour: the hub's task through an hour with nothing due, (a) empty, (b) holding
   ``--pending`` unconfirmed events between two retries, against ``trio.sleep(3600)`` alone.
   The target is "almost nothing": within a few times the bare sleep, whatever is stored.

    .venv/bin/python bench/pubsub.py [--hours 64] [--subscribers 100] [--pending 10000]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import trio
import trio.testing

import sim
from sim.sources.pubsub import Hub

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "pubsub-retries.toml"


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def run_scenario(publishers_on: bool) -> dict[str, Any]:
    overrides = {} if publishers_on else {"sources.pubsub.rate": "0/h"}
    return sim.run(sim.load_scenario(SCENARIO, overrides=overrides)).summary


class Confirmer:
    """A subscriber's actor that confirms every push straight away."""

    def __init__(self, hub: Hub, name: str) -> None:
        self.hub = hub
        self.name = name
        self.received = 0

    def handle_event(self, event_id: int, publisher_id: str, event_name: str,
                     payload: object) -> None:
        self.received += 1
        self.hub.confirm_event_processed(self.name, event_id)


def busy_hub(hours: float, subscribers: int, subscribed: bool) -> tuple[Hub, list[Confirmer]]:
    """A hub run for ``hours`` of virtual time with one publish per second."""
    hub = Hub()
    actors = [Confirmer(hub, f"s{i:03}") for i in range(subscribers)]

    async def main() -> None:
        if subscribed:
            for actor in actors:
                hub.subscribe(actor.name, "price")
                hub.attach(actor.name, actor)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(hub.run)
            for seq in range(int(hours * 3600)):
                hub.publish("pub0", "price", {"seq": seq, "value": seq % 1000})
                await trio.sleep(1.0)
            nursery.cancel_scope.cancel()

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    return hub, actors


def quiet_hour(pending: int | None) -> float:
    """Wall seconds for an hour with nothing due; None: no hub at all (the baseline).

    With ``pending`` events (never confirmed), the hour is timed from 1 h 45 min + 1 s, after
    their fourth try and long before their fifth (due at 3 h 45 min).
    """
    async def main() -> float:
        hub = Hub()
        async with trio.open_nursery() as nursery:
            if pending is not None:
                nursery.start_soon(hub.run)
                if pending:
                    hub.subscribe("s", "price", stopped=True)  # nothing is ever confirmed
                    for seq in range(pending):
                        hub.publish("pub0", "price", seq)
            await trio.sleep_until(6301)  # the tries at 0, 15 min, 45 min, 1 h 45 are behind
            start = time.perf_counter()
            await trio.sleep(3600)
            elapsed = time.perf_counter() - start
            if pending:
                assert len(hub.state.events) == pending and hub.state.totals.cycles == 4
            nursery.cancel_scope.cancel()
        return elapsed

    return trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))


def median_of(repeats: int, action: Callable[[], float]) -> float:
    return statistics.median(action() for _ in range(repeats))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=64.0)
    parser.add_argument("--subscribers", type=int, default=100)
    parser.add_argument("--pending", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=50, help="quiet-hour repetitions")
    args = parser.parse_args()

    wall_on, on = timed(lambda: run_scenario(True))
    wall_off, _ = timed(lambda: run_scenario(False))
    print(f"pubsub-retries.toml: {wall_on:.2f} s wall for {on['virtual_seconds'] / 3600:.0f} h "
          f"virtual ({on['pubsub_published']} events, {on['pubsub_notifications']} pushes); "
          f"without publishers {wall_off:.2f} s -> x{wall_on / wall_off:.2f}")

    wall_busy, (hub, actors) = timed(lambda: busy_hub(args.hours, args.subscribers, True))
    wall_base, _ = timed(lambda: busy_hub(args.hours, args.subscribers, False))
    totals = hub.state.totals
    assert totals.publishes == int(args.hours * 3600) and hub.state.events == {}
    assert all(a.received == totals.publishes for a in actors)
    per_push = (wall_busy - wall_base) / totals.notifications * 1e6
    print(f"hub, {args.subscribers} subscribers, 1 event/s, {args.hours:g} h virtual: "
          f"{wall_busy:.1f} s wall ({totals.publishes} events, {totals.notifications} pushes, "
          f"{totals.cycles} cycles); publisher loop alone {wall_base:.1f} s -> "
          f"x{wall_busy / wall_base:.1f}, {per_push:.2f} us per push and confirm")

    bare = median_of(args.repeats, lambda: quiet_hour(None))
    empty = median_of(args.repeats, lambda: quiet_hour(0))
    holding = median_of(args.repeats, lambda: quiet_hour(args.pending))
    print(f"quiet hour (median of {args.repeats}): trio.sleep alone {bare * 1e6:.0f} us; "
          f"empty hub {empty * 1e6:.0f} us (x{empty / bare:.1f}); hub holding {args.pending} "
          f"events between retries {holding * 1e6:.0f} us (x{holding / bare:.1f})")


if __name__ == "__main__":
    main()
