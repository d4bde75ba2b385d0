"""What the watcher tests share: a virtual clock for trio, the store's clock on it, and a
handler that fails on purpose."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import trio
from trio.testing import MockClock

from sim.sources.watcher import Event

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)  # what virtual time 0 reads as
DAY = 86400.0


def virtual_now() -> datetime:
    """The store's clock: the run's virtual time from EPOCH."""
    return EPOCH + timedelta(seconds=trio.current_time())


def run(main: Callable[[], Awaitable[None]]) -> None:
    """Run ``main`` under a virtual clock that jumps whenever every task waits."""
    trio.run(main, clock=MockClock(autojump_threshold=0))


def fails_first(calls: list[int], seq: int, failures: int) -> Callable[[Event], Awaitable[None]]:
    """A watcher handler that records the seq of every event it is called with and raises
    for event ``seq`` its first ``failures`` times."""
    async def handler(event: Event) -> None:
        calls.append(event.seq_num)
        if event.seq_num == seq and calls.count(seq) <= failures:
            raise RuntimeError("handler fails on purpose")
    return handler
