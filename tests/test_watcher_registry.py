"""Registry: watch, duplicate ids, lookup, and a bounded concurrent stop."""

from __future__ import annotations

import pytest
import trio

from sim.sources.watcher import (
    Event,
    EventIterator,
    EventStore,
    JSONSerializer,
    Operation,
    Registry,
    State,
    WatcherAlreadyExists,
    WatcherError,
    WatcherNotFound,
    caused_by,
    open_registry,
)
from tests.watcher_harness import run


def make_store() -> EventStore:
    from datetime import UTC, datetime
    return EventStore(serializer=JSONSerializer({"S": str}),
                      clock=lambda: datetime(2026, 1, 1, tzinfo=UTC))


async def nothing(event: Event) -> None:
    return None


def test_watch_creates_and_starts_a_watcher_with_options() -> None:
    async def main() -> None:
        store = make_store()
        store.store_event(Operation.CREATE, "S", "a")
        seen: list[int] = []

        async def handler(event: Event) -> None:
            seen.append(event.seq_num)

        async with open_registry(store) as registry:
            watcher = registry.watch("w", handler, batch_size=5)
            assert watcher.state is State.RUNNING
            assert watcher.options.batch_size == 5
            assert registry.get_watcher("w") is watcher
            await trio.sleep(1)
        assert seen == [1]
        assert watcher.state is State.STOPPED
    run(main)


def test_duplicate_watcher_id_is_watcher_already_exists() -> None:
    async def main() -> None:
        async with open_registry(make_store()) as registry:
            registry.watch("w", nothing)
            with pytest.raises(WatcherError) as info:
                registry.watch("w", nothing)
            assert caused_by(info.value, WatcherAlreadyExists)
            assert info.value.watcher_id == "w"
    run(main)


def test_a_stopped_watcher_can_be_replaced_under_the_same_id() -> None:
    async def main() -> None:
        async with open_registry(make_store()) as registry:
            first = registry.watch("w", nothing)
            await first.stop()
            second = registry.watch("w", nothing)
            assert second is not first
            assert registry.get_watcher("w") is second
    run(main)


def test_get_watcher_of_unknown_id_is_watcher_not_found() -> None:
    async def main() -> None:
        async with open_registry(make_store()) as registry:
            with pytest.raises(WatcherError) as info:
                registry.get_watcher("nobody")
            assert caused_by(info.value, WatcherNotFound)
    run(main)


def test_stop_stops_every_watcher_concurrently_and_is_idempotent() -> None:
    async def main() -> None:
        store = make_store()
        async with trio.open_nursery() as nursery:
            registry = Registry(store, nursery)
            watchers = [registry.watch(f"w{i}", nothing,
                                       initial_event_iterator=EventIterator.latest())
                        for i in range(5)]
            await trio.sleep(1)
            start = trio.current_time()
            assert await registry.stop() is True
            assert trio.current_time() == start  # concurrent, nothing to wait for
            assert all(w.state is State.STOPPED for w in watchers)
            assert await registry.stop() is True
            assert [w.id for w in registry.watchers()] == [f"w{i}" for i in range(5)]
    run(main)


def test_stop_is_bounded_by_30_seconds_by_default() -> None:
    async def main() -> None:
        store = make_store()
        store.store_event(Operation.CREATE, "S", "a")

        async def stubborn(event: Event) -> None:
            with trio.CancelScope(shield=True):  # ignores the stop for 100 s
                await trio.sleep(100)

        async with trio.open_nursery() as nursery:
            registry = Registry(store, nursery)
            registry.watch("w", stubborn)
            await trio.sleep(1)
            start = trio.current_time()
            assert await registry.stop() is False
            assert trio.current_time() - start == pytest.approx(30.0)
            assert registry.get_watcher("w").state is State.STOPPING
    run(main)
