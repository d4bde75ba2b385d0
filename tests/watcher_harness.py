"""What the watcher tests share: a virtual clock for trio and the store's clock on it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import trio
from trio.testing import MockClock

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)  # what virtual time 0 reads as
DAY = 86400.0


def virtual_now() -> datetime:
    """The store's clock: the run's virtual time from EPOCH."""
    return EPOCH + timedelta(seconds=trio.current_time())


def run(main: Callable[[], Awaitable[None]]) -> None:
    """Run ``main`` under a virtual clock that jumps whenever every task waits."""
    trio.run(main, clock=MockClock(autojump_threshold=0))
