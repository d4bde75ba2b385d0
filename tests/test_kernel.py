"""The world kernel's ordering contract: callbacks and trio tasks interleave by virtual time.

The kernel runs world callbacks without a trio timer each and moves the clock itself while no
task is runnable (``sim.engine.kernel``). Whatever path it takes, what happens must be what a
plain event loop would do: everything in time order, a task due at the same instant as a
callback first, a task a callback woke before any later callback, and nothing after ``end``.
"""

from __future__ import annotations

import trio
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.engine.clock import VirtualClock
from sim.engine.kernel import Kernel
from sim.engine.sleep import sleep_until

TIMES = st.integers(0, 40).map(lambda k: k / 4)  # coarse, so instants are often shared


def _run(callbacks: list[tuple[float, int]], sleeps: list[float], wakes: list[float],
         end: float) -> tuple[list[tuple[float, str]], float]:
    """Callbacks at (time, priority), tasks sleeping until a time, and tasks woken by a callback
    at a time: what ran, in order, with the clock's reading; and the clock after ``end``."""
    clock = VirtualClock()
    kernel = Kernel(clock)
    log: list[tuple[float, str]] = []

    async def sleeper(k: int, until: float) -> None:
        await sleep_until(until)
        log.append((clock.now, f"task {k}"))

    async def woken(k: int, event: trio.Event) -> None:
        await event.wait()
        log.append((clock.now, f"woken {k}"))

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            for k, (time, priority) in enumerate(callbacks):
                kernel.call_at(time, lambda k=k: log.append((clock.now, f"callback {k}")), priority=priority)
            for k, until in enumerate(sleeps):
                nursery.start_soon(sleeper, k, until)
            for k, at in enumerate(wakes):
                event = trio.Event()
                nursery.start_soon(woken, k, event)

                def wake(k: int = k, event: trio.Event = event) -> None:
                    log.append((clock.now, f"wake {k}"))
                    event.set()
                kernel.call_at(at, wake)
            await kernel.run_until(end)
            nursery.cancel_scope.cancel()

    trio.run(main, clock=clock)
    return log, clock.now


@settings(max_examples=150, deadline=None)
@given(callbacks=st.lists(st.tuples(TIMES, st.integers(0, 2)), max_size=12),
       sleeps=st.lists(TIMES, max_size=6), wakes=st.lists(TIMES, max_size=4), end=TIMES)
def test_callbacks_and_tasks_run_in_virtual_time_order_up_to_the_end(
        callbacks: list[tuple[float, int]], sleeps: list[float], wakes: list[float], end: float) -> None:
    """Everything due up to ``end`` runs, and nothing later; times never go back; callbacks
    of one instant run by (priority, order of scheduling); a task due at an instant runs
    before that instant's callbacks; a task a callback woke runs at that instant, before any
    later callback; the clock ends at ``end``."""
    log, after = _run(callbacks, sleeps, wakes, end)
    times = [t for t, _ in log]
    assert times == sorted(times)
    assert all(t <= end for t in times)
    ran_callbacks = [int(w.split()[1]) for _, w in log if w.startswith("callback")]
    due = sorted((t, p, k) for k, (t, p) in enumerate(callbacks) if t <= end)
    assert ran_callbacks == [k for _, _, k in due]
    assert sorted(int(w.split()[1]) for _, w in log if w.startswith("task")) == \
        [k for k, t in enumerate(sleeps) if t <= end]
    for position, (t, what) in enumerate(log):
        if what.startswith("task"):
            assert not any(w.startswith(("callback", "wake")) and tw == t for tw, w in log[:position])
        if what.startswith("wake"):
            following = log[position + 1]
            assert following == (t, "woken " + what.split()[1])
    assert after == end


def test_a_long_run_of_lone_callbacks_stops_at_a_task_deadline_between_them() -> None:
    """Callbacks one per instant (the fast path runs them back to back) still give way to a
    task whose deadline falls between two of them."""
    log, _ = _run([(t / 10, 0) for t in range(1, 50)], sleeps=[2.05], wakes=[], end=10.0)
    position = log.index((2.05, "task 0"))
    assert log[position - 1] == (2.0, "callback 19") and log[position + 1] == (2.1, "callback 20")
