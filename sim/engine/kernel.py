"""The world's single event heap and the loop that drives it inside trio.

World callbacks (message deliveries, consensus steps, fault firings) are plain functions
ordered by ``(time, priority, insertion counter)``. The loop runs them without a trio
timer each: it advances the virtual clock itself while no trio task is runnable and no trio
deadline comes first, and only yields to trio when a callback has woken a task or a task's
own sleep is due. That keeps per-message cost near a bare ``heapq`` loop.

Work that must happen at this instant but after the current callback (an idle actor's
mailbox, see ``node.actor``) is ``defer``red: the loop runs it once the callback returns and
before anything else, which costs a function call where waking a trio task costs a trip
through trio's scheduler.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import deque
from collections.abc import Callable
from typing import Any

import attrs
import trio

from sim.engine.clock import VirtualClock
from sim.engine.sleep import Alarm, alarm_at, sleep_until

try:
    # Importing trio.testing imports pytest wherever pytest is installed (~0.2 s and ~7 MB
    # per process): take the one function from where trio defines it (trio 0.35, pinned),
    # and from the public module if it moved.
    from trio._core._run import wait_all_tasks_blocked
except ImportError:  # pragma: no cover
    from trio.testing import wait_all_tasks_blocked


@attrs.define(eq=False, slots=True)
class Timer:
    """A handle on a scheduled callback; ``cancel()`` makes it a no-op."""

    time: float
    callback: Callable[..., Any] | None
    args: tuple[Any, ...]

    def cancel(self) -> None:
        self.callback = None

    @property
    def pending(self) -> bool:
        return self.callback is not None


class Kernel:
    """The event heap plus the run loop; owns the virtual clock."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self._heap: list[tuple[float, int, int, Timer]] = []
        self._counter = itertools.count()
        self._sleep_wake: Alarm | trio.CancelScope | None = None  # while the loop sleeps
        self.events_run = 0
        self._deferred: deque[Callable[[], None]] = deque()
        self._stopped = False
        # called with the virtual time every few thousand callbacks (progress bars)
        self.progress: Callable[[float], None] | None = None

    @property
    def now(self) -> float:
        return self.clock.now

    def call_at(self, time: float, callback: Callable[..., Any], *args: Any,
                priority: int = 0) -> Timer:
        """Run ``callback(*args)`` at virtual ``time`` (never earlier than now)."""
        if time < self.clock.now:
            time = self.clock.now
        timer = Timer(time, callback, args)
        heapq.heappush(self._heap, (time, priority, next(self._counter), timer))
        wake = self._sleep_wake
        if wake is not None and time < wake.deadline:
            wake.deadline = time
        return timer

    def defer(self, work: Callable[[], None]) -> None:
        """Run ``work()`` at this instant, once the running callback (or task step) is
        done and before the next callback; deferred work runs in the order it was deferred."""
        self._deferred.append(work)

    def _run_deferred(self) -> None:
        deferred = self._deferred
        while deferred:
            deferred.popleft()()

    def stop(self) -> None:
        """Stop running callbacks: ``run_until`` returns at once (the run is over)."""
        self._stopped = True
        self._heap.clear()

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any,
                   priority: int = 0) -> Timer:
        return self.call_at(self.clock.now + delay, callback, *args, priority=priority)

    async def run_until(self, end: float) -> None:
        """Run callbacks in order until virtual time ``end``; returns with the clock at ``end``."""
        heap = self._heap
        clock = self.clock
        runnable, next_trio_deadline = _scheduler_probe()
        await self._settle()  # the caller was just scheduled by trio: flush its batch-mates
        while not self._stopped:
            await self._quiesce(runnable)
            next_deadline = next_trio_deadline()
            next_event = heap[0][0] if heap else math.inf
            if next_event > end and next_deadline > end:
                break
            if next_event < next_deadline:
                # Fast path: nothing in trio is due before this callback.
                clock.now = max(clock.now, next_event)
                self._run_due(runnable, end, next_trio_deadline)
                continue
            # A trio task is due first (or at the same instant): let trio jump there.
            await self._sleep_until(min(next_event, end))
            await self._settle()
            await self._quiesce(runnable)
            self._run_due(runnable, end, next_trio_deadline)
        if clock.now < end and not self._stopped:
            await sleep_until(end)
            await self._settle()
            await self._quiesce(runnable)

    async def _sleep_until(self, deadline: float) -> None:
        """Sleep until ``deadline``, or earlier if a callback is scheduled before it meanwhile
        (``call_at`` moves the wake-up)."""
        wake = alarm_at(deadline)
        try:
            if wake is not None:
                self._sleep_wake = wake
                await wake.wait()
            else:  # (due at once, or trio's internals moved: a cancel scope does the same)
                with trio.CancelScope(deadline=deadline) as self._sleep_wake:
                    await trio.sleep_forever()
        finally:
            self._sleep_wake = None

    async def _quiesce(self, runnable: Callable[[], int]) -> None:
        """Run deferred work and let woken tasks run, until neither is left at this instant."""
        while True:
            if self._deferred:
                self._run_deferred()
            elif runnable():
                await self._settle()
            else:
                return

    async def _settle(self) -> None:
        """Let every other task run until it blocks, without moving virtual time.

        Tasks woken by a callback, or woken by trio in the same batch as the kernel, must
        run at this instant before the kernel moves the clock on.
        """
        self.clock.hold = True
        try:
            await wait_all_tasks_blocked()
        finally:
            self.clock.hold = False

    def _run_due(self, runnable: Callable[[], int], end: float,
                 next_trio_deadline: Callable[[], float]) -> None:
        """Run the callbacks due now, in order, until one wakes a trio task: the caller then
        lets the woken tasks run before the next callback (an actor answers before anything
        later in the same instant happens).

        While no task is woken, it goes on to later callbacks up to ``end`` that come
        before trio's next deadline, moving the clock itself: what ``run_until``'s fast path
        would do, without a trip through its loop per instant (most instants are one
        callback: a node's commit)."""
        heap = self._heap
        clock = self.clock
        now = clock.now
        while heap and not self._stopped:
            if heap[0][0] > now:
                next_event = heap[0][0]
                if next_event > end or next_event >= next_trio_deadline():
                    return
                clock.now = now = next_event
            timer = heapq.heappop(heap)[3]
            callback = timer.callback
            if callback is None:
                continue
            timer.callback = None
            self.events_run += 1
            callback(*timer.args)
            if self._deferred:
                self._run_deferred()
            if not self.events_run & 0xFFF and self.progress is not None:
                self.progress(now)
            if runnable():
                return


def _scheduler_probe() -> tuple[Callable[[], int], Callable[[], float]]:
    """Cheap questions to trio's scheduler: how many tasks are runnable, when is the next
    deadline. ``current_statistics()`` answers both but also polls the I/O backend, which
    costs more than a whole world callback; the run loop asks after every instant, so read
    the runner directly (trio 0.35, pinned) and fall back to the public call if it moved."""
    runner = getattr(getattr(trio._core._run, "GLOBAL_RUN_CONTEXT", None), "runner", None)
    runq = getattr(runner, "runq", None)
    deadlines = getattr(runner, "deadlines", None)
    if runq is not None and deadlines is not None and hasattr(deadlines, "next_deadline"):
        return runq.__len__, deadlines.next_deadline
    statistics = trio.lowlevel.current_statistics

    def runnable() -> int:
        return statistics().tasks_runnable

    def next_deadline() -> float:
        return trio.current_time() + statistics().seconds_to_next_deadline

    return runnable, next_deadline
