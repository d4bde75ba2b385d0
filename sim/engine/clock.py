"""A trio clock that reads virtual time and jumps whenever every task is waiting.

trio asks the clock how long to block only when no task is runnable; we answer by moving
virtual time straight to that deadline and saying "don't block". This is MockClock's
autojump at threshold 0 without its bookkeeping, and it lets the world kernel advance the
same time directly on its fast path (see ``sim.engine.kernel``).
"""

from __future__ import annotations

import math

import trio


class VirtualClock(trio.abc.Clock):
    """Virtual seconds since the start of the run; never tied to the wall clock."""

    def __init__(self) -> None:
        self.now = 0.0
        # While the kernel waits for every other task to block at this instant, time must
        # not move: trio then sees a (tiny, real) timeout and wakes its idle waiters.
        self.hold = False

    def start_clock(self) -> None:
        self.now = 0.0

    def current_time(self) -> float:
        return self.now

    def deadline_to_sleep_time(self, deadline: float) -> float:
        if math.isinf(deadline):
            # Nothing will ever wake: every task waits on something unscheduled. Block a
            # little in real time so a programming error shows up as a hang in one place.
            return 86400.0
        if self.hold:
            return 1e-6
        if deadline > self.now:
            self.now = deadline
        return 0.0
