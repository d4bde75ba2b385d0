"""The simulator's sleeps (``sim.engine.sleep``) wake tasks exactly as ``trio.sleep`` does, for less."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import trio

import sim
from sim.engine import sleep as engine_sleep
from sim.engine.clock import VirtualClock
from sim.engine.determinism import seed_trio_scheduler


def live_deadlines() -> int:
    """How many deadlines trio's run loop is keeping (cancel scopes' and alarms')."""
    return int(trio._core._run.GLOBAL_RUN_CONTEXT.runner.deadlines._active)


def _sleepers(sleep: Callable[[float], Any], sleep_until: Callable[[float], Any],
              seed: int) -> list[tuple[float, int, int]]:
    """Twenty tasks sleeping on a coarse grid (many wake at the same instant, so trio's seeded
    shuffle of each batch decides their order), some cancelled by a sibling mid-sleep; the
    order in which they ran, with the virtual time and the deadlines trio was keeping."""
    log: list[tuple[float, int, int]] = []
    draws = random.Random(seed)
    plans = [[draws.choice([0.5, 1.0, 1.5, 2.0]) for _ in range(8)] for _ in range(20)]

    async def sleeper(i: int, scope: trio.CancelScope) -> None:
        with scope:
            for k, delay in enumerate(plans[i]):
                if k % 3 == 2:
                    await sleep_until(trio.current_time() + delay)
                else:
                    await sleep(delay)
                log.append((trio.current_time(), i, live_deadlines()))

    async def main() -> None:
        scopes = [trio.CancelScope() for _ in plans]
        async with trio.open_nursery() as nursery:
            for i, scope in enumerate(scopes):
                nursery.start_soon(sleeper, i, scope)
            await trio.sleep(3.0)
            for scope in scopes[::4]:
                scope.cancel()  # mid-sleep: the alarm must go quiet, not ring later

    seed_trio_scheduler(seed)
    trio.run(main, clock=VirtualClock())
    return log


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_tasks_wake_in_the_same_order_as_with_trio_sleep(seed: int) -> None:
    """Whatever the seed, tasks sleeping with the engine's sleeps run in the same order at the
    same virtual times as with trio's own."""
    ours = _sleepers(engine_sleep.sleep, engine_sleep.sleep_until, seed)
    theirs = _sleepers(trio.sleep, trio.sleep_until, seed)
    assert ours == theirs
    assert len({t for t, _, _ in ours}) < len(ours)  # (ties happened: the shuffle had work to do)


async def _trio_wait_until(event: trio.Event, deadline: float) -> None:
    with trio.move_on_at(deadline):
        await event.wait()


def _waiters(wait_until: Callable[[trio.Event, float], Any], seed: int) -> list[tuple[float, int, bool, int]]:
    """Twelve tasks waiting on a shared event with deadlines while another task sets and
    replaces it, all on one coarse grid (sets, deadlines and cancellations coincide); the
    order in which the waiters ran, with the time, whether the event was set and the
    deadlines trio was keeping."""
    log: list[tuple[float, int, bool, int]] = []
    draws = random.Random(seed)
    plans = [[draws.choice([0.5, 1.0, 1.5]) for _ in range(8)] for _ in range(12)]
    sets = [draws.choice([0.5, 1.0]) for _ in range(12)]
    current = [trio.Event()]

    async def waiter(i: int, scope: trio.CancelScope) -> None:
        with scope:
            for delay in plans[i]:
                event = current[0]
                await wait_until(event, trio.current_time() + delay)
                log.append((trio.current_time(), i, event.is_set(), live_deadlines()))

    async def setter() -> None:
        for delay in sets:
            await trio.sleep(delay)
            current[0], old = trio.Event(), current[0]
            old.set()

    async def main() -> None:
        scopes = [trio.CancelScope() for _ in plans]
        async with trio.open_nursery() as nursery:
            nursery.start_soon(setter)
            for i, scope in enumerate(scopes):
                nursery.start_soon(waiter, i, scope)
            await trio.sleep(2.0)
            for scope in scopes[::3]:
                scope.cancel()

    seed_trio_scheduler(seed)
    trio.run(main, clock=VirtualClock())
    return log


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_waiting_on_an_event_until_a_deadline_wakes_as_with_a_cancel_scope(seed: int) -> None:
    """Whatever the seed, tasks waiting for an event or a deadline (whichever first) with the
    engine's ``wait_until`` run in the same order, at the same times, seeing the same events
    set, as with ``trio.move_on_at`` around ``Event.wait``."""
    ours = _waiters(engine_sleep.wait_until, seed)
    theirs = _waiters(_trio_wait_until, seed)
    assert ours == theirs
    assert any(was_set for _, _, was_set, _ in ours) and not all(was_set for _, _, was_set, _ in ours)


def test_many_cancelled_sleeps_keep_trios_deadline_count_right() -> None:
    """trio prunes its deadline heap once stale entries pile up and asserts that the live
    ones match its count: alarms disarmed by cancellation and alarms moved (the kernel's)
    must keep that count exact."""

    async def main() -> None:
        for _ in range(3000):
            with trio.move_on_after(0.5):
                await engine_sleep.sleep(10.0)
        alarm = engine_sleep.alarm_at(trio.current_time() + 100.0)
        assert alarm is not None
        for k in range(3000):
            alarm.deadline = trio.current_time() + 99.0 - k * 0.01
        started = trio.current_time()
        await alarm.wait()
        assert trio.current_time() == pytest.approx(started + 99.0 - 2999 * 0.01)
        await engine_sleep.sleep(1.0)

    trio.run(main, clock=VirtualClock())


def test_an_alarm_due_after_its_task_was_cancelled_wakes_nothing() -> None:
    """On a real clock time can pass between a cancellation waking a sleeper and the sleeper
    running; if its deadline falls due then, trio expires it: a cancel scope finds nothing
    left to abort, and an alarm must not wake the task a second time."""
    alarms: list[engine_sleep.Alarm] = []
    outcome: list[str] = []

    async def sleeper(scope: trio.CancelScope) -> None:
        with scope:
            alarm = engine_sleep.alarm_at(trio.current_time() + 5.0)
            assert alarm is not None
            alarms.append(alarm)
            try:
                await alarm.wait()
                outcome.append("woke")
            except trio.Cancelled:
                outcome.append("cancelled")
                raise

    async def main() -> None:
        scope = trio.CancelScope()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(sleeper, scope)
            await trio.sleep(1.0)
            scope.cancel()  # the sleeper is rescheduled with Cancelled...
            alarms[0]._cancel(None)  # ...and its deadline falls due before it runs
        assert live_deadlines() == 0

    trio.run(main, clock=VirtualClock())
    assert outcome == ["cancelled"]


def _count_cancel_scopes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    opened = [0]
    original = trio.CancelScope.__enter__

    def counting_enter(self: trio.CancelScope) -> trio.CancelScope:
        opened[0] += 1
        return original(self)

    monkeypatch.setattr(trio.CancelScope, "__enter__", counting_enter)
    return opened


def _world(name: str) -> sim.Scenario:
    if name == "quickstart":
        return sim.load_scenario("scenarios/quickstart.toml", overrides={"scenario.duration": "3m"})
    # pubsub-retries' first three hours: two validators crash while the hub pushes to them
    text = Path("scenarios/pubsub-retries.toml").read_text(encoding="utf-8")
    text = text.split('[[faults]]\nat = "7h"')[0]
    return sim.parse_scenario(text, file="pubsub-retries.toml", overrides={"scenario.duration": "3h"})


@pytest.mark.parametrize("name", ["quickstart", "pubsub"])
def test_a_world_traces_the_same_and_opens_far_fewer_cancel_scopes(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """An EVM world (RPC calls, new-heads deliveries and block intervals sleep or wait with a
    deadline) and a pub/sub world with crashes (the hub's heartbeat, deliveries, publishers)
    have the same trace with the engine's sleeps as with trio's, and those waits open no
    cancel scope."""
    scenario = _world(name)
    opened = _count_cancel_scopes(monkeypatch)
    with monkeypatch.context() as trio_sleeps_only:  # as where trio's internals moved
        trio_sleeps_only.setattr(engine_sleep, "_runner", lambda: None)
        theirs = sim.run(scenario)
    with_trio = opened[0]
    opened[0] = 0
    ours = sim.run(scenario)
    assert ours.summary["trace_hash"] == theirs.summary["trace_hash"]
    assert ours.summary["blocks"] == theirs.summary["blocks"] > 0
    assert opened[0] < with_trio / 2, (opened[0], with_trio)


def test_zero_negative_and_past_sleeps_behave_as_trios() -> None:
    """A zero sleep is a checkpoint, a past deadline returns at once, a negative sleep or a NaN
    deadline is trio's error; no alarm is set for now or for never."""

    async def main() -> None:
        await engine_sleep.sleep(0)
        await engine_sleep.sleep_until(trio.current_time() - 1.0)
        with pytest.raises(ValueError):
            await engine_sleep.sleep(-1.0)
        with pytest.raises(ValueError):
            await engine_sleep.sleep_until(math.nan)
        assert trio.current_time() == 0.0
        # (an alarm that never rings would count as a live deadline in trio's heap forever)
        assert engine_sleep.alarm_at(math.inf) is None
        assert engine_sleep.alarm_at(trio.current_time()) is None

    trio.run(main, clock=VirtualClock())
