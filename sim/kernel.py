"""The world's single event heap and the loop that drives it inside trio.

World callbacks (message deliveries, consensus steps, fault firings) are plain functions
ordered by ``(time, priority, insertion counter)``. The loop runs them without a trio
timer each: it advances the virtual clock itself while no trio task is runnable and no trio
deadline comes first, and only yields to trio when a callback has woken a task or a task's
own sleep is due. That keeps per-message cost near a bare ``heapq`` loop.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable
from typing import Any

import attrs
import trio

from sim.clock import VirtualClock


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
        self._sleep_scope: trio.CancelScope | None = None
        self.events_run = 0
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
        scope = self._sleep_scope
        if scope is not None and time < scope.deadline:
            scope.deadline = time
        return timer

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any,
                   priority: int = 0) -> Timer:
        return self.call_at(self.clock.now + delay, callback, *args, priority=priority)

    async def run_until(self, end: float) -> None:
        """Run callbacks in order until virtual time ``end``; returns with the clock at ``end``."""
        heap = self._heap
        clock = self.clock
        statistics = trio.lowlevel.current_statistics
        while True:
            # Let tasks woken by earlier callbacks (and tasks they wake) run at this instant.
            stats = statistics()
            while stats.tasks_runnable:
                await trio.lowlevel.checkpoint()
                stats = statistics()
            next_deadline = clock.now + stats.seconds_to_next_deadline
            next_event = heap[0][0] if heap else math.inf
            if next_event > end and next_deadline > end:
                break
            if next_event < next_deadline:
                # Fast path: nothing in trio is due before this callback.
                clock.now = max(clock.now, next_event)
                self._run_due()
                continue
            # A trio task is due first (or at the same instant): let trio jump there.
            with trio.CancelScope(deadline=min(next_event, end)) as scope:
                self._sleep_scope = scope
                try:
                    await trio.sleep_forever()
                finally:
                    self._sleep_scope = None
            self._run_due()
        if clock.now < end:
            await trio.sleep_until(end)

    def _run_due(self) -> None:
        heap = self._heap
        now = self.clock.now
        while heap and heap[0][0] <= now:
            timer = heapq.heappop(heap)[3]
            callback = timer.callback
            if callback is None:
                continue
            timer.callback = None
            self.events_run += 1
            callback(*timer.args)
            if not self.events_run & 0xFFF and self.progress is not None:
                self.progress(now)
