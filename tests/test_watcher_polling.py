"""EventStore long-polling: wake on store, timeout, close, cancellation, other processes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import trio

from sim.sources.watcher import (
    EventIterator,
    EventStore,
    GetEventsRequest,
    GetEventsResponse,
    JSONSerializer,
    Operation,
)
from tests.watcher_harness import run, virtual_now


def make_store(path: str = ":memory:", **options: object) -> EventStore:
    return EventStore(path, serializer=JSONSerializer({"S": str}), clock=virtual_now,
                      **options)  # type: ignore[arg-type]


WAIT_AFTER_1 = GetEventsRequest(EventIterator.after(1))


def test_waiting_get_returns_when_an_event_is_stored() -> None:
    async def main() -> None:
        store = make_store()
        store.store_event(Operation.CREATE, "S", "a")
        results: list[tuple[float, GetEventsResponse]] = []

        async def reader() -> None:
            response = await store.get_events(WAIT_AFTER_1)
            results.append((trio.current_time(), response))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(reader)
            await trio.sleep(3)
            store.store_event(Operation.UPDATE, "S", "b")
        assert len(results) == 1
        when, response = results[0]
        assert when == 3
        assert [e.seq_num for e in response.events] == [2]
        assert response.next_event_iterator == EventIterator.after(2)
    run(main)


def test_without_an_event_get_returns_empty_at_the_timeout_and_not_before() -> None:
    async def main() -> None:
        store = make_store()
        with trio.move_on_after(9.999) as early:
            await store.get_events(GetEventsRequest(EventIterator.after(0)))
        assert early.cancelled_caught  # still waiting just before the default 10 s
        start = trio.current_time()
        response = await store.get_events(GetEventsRequest(EventIterator.after(0)))
        assert trio.current_time() - start == pytest.approx(10.0)
        assert response.events == ()
        assert response.next_event_iterator == EventIterator.after(0)
    run(main)


def test_custom_long_polling_timeout_is_honoured() -> None:
    async def main() -> None:
        store = make_store(long_polling_timeout=timedelta(seconds=2.5))
        start = trio.current_time()
        await store.get_events(GetEventsRequest(EventIterator.at(7)))
        assert trio.current_time() - start == 2.5
    run(main)


def test_close_releases_all_waiters_with_an_empty_result_and_is_idempotent() -> None:
    async def main() -> None:
        store = make_store()
        results: list[tuple[float, GetEventsResponse]] = []

        async def reader(iterator: EventIterator) -> None:
            response = await store.get_events(GetEventsRequest(iterator))
            results.append((trio.current_time(), response))

        async with trio.open_nursery() as nursery:
            for n in range(3):
                nursery.start_soon(reader, EventIterator.after(n))
            await trio.sleep(1)
            store.close()
            store.close()
        assert len(results) == 3
        assert all(when == 1 and response.events == () for when, response in results)
        assert sorted(r.next_event_iterator.sequence_number for _, r in results) == [0, 1, 2]
    run(main)


def test_several_concurrent_waiters_all_receive_the_event() -> None:
    async def main() -> None:
        store = make_store()
        received: list[list[int]] = []

        async def reader() -> None:
            response = await store.get_events(GetEventsRequest(EventIterator.after(0)))
            received.append([e.seq_num for e in response.events])

        async with trio.open_nursery() as nursery:
            for _ in range(5):
                nursery.start_soon(reader)
            await trio.sleep(1)
            store.store_event(Operation.CREATE, "S", "x")
        assert received == [[1]] * 5
    run(main)


def test_cancelling_a_waiting_get_raises_cancelled() -> None:
    async def main() -> None:
        store = make_store()
        finished = False
        with trio.move_on_after(1) as scope:
            await store.get_events(GetEventsRequest(EventIterator.after(0)))
            finished = True
        assert scope.cancelled_caught
        assert not finished
        # The store is still usable and a later waiter still gets woken.
        async with trio.open_nursery() as nursery:
            got: list[int] = []

            async def reader() -> None:
                got.extend(e.seq_num for e in
                           (await store.get_events(GetEventsRequest(EventIterator.after(0)))).events)
            nursery.start_soon(reader)
            await trio.sleep(1)
            store.store_event(Operation.CREATE, "S", "x")
        assert got == [1]
    run(main)


def test_a_filtered_out_store_wakes_the_reader_which_returns_the_advanced_iterator() -> None:
    async def main() -> None:
        from sim.sources.watcher import EventFilter
        store = make_store()
        request = GetEventsRequest(EventIterator.after(0), filter=EventFilter(object_types=["T"]))
        result: list[GetEventsResponse] = []

        async def reader() -> None:
            result.append(await store.get_events(request))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(reader)
            await trio.sleep(1)
            store.store_event(Operation.CREATE, "S", "x")
        assert result[0].events == ()
        assert result[0].next_event_iterator == EventIterator.after(1)
    run(main)


def test_a_wake_that_brings_nothing_restarts_the_timeout() -> None:
    """bacalhau's GetEvents selects on a fresh ``clock.After(longPollingTimeout)`` at every
    pass: a reader at ``at(100)`` woken at 3 s by a store below 100 re-queries, finds nothing
    and waits a whole timeout again, returning empty at 13 s, not at 10 s."""
    async def main() -> None:
        store = make_store()
        store.store_event(Operation.CREATE, "S", "a")
        request = GetEventsRequest(EventIterator.at(100))
        results: list[tuple[float, GetEventsResponse]] = []

        async def reader() -> None:
            response = await store.get_events(request)
            results.append((trio.current_time(), response))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(reader)
            await trio.sleep(3)
            store.store_event(Operation.UPDATE, "S", "b")
        [(when, response)] = results
        assert when == 13 and response.events == ()
        assert response.next_event_iterator == EventIterator.at(100)
    run(main)


def test_file_waiter_learns_of_another_connections_store_within_100ms(tmp_path: Path) -> None:
    """A second store object on the same file stands in for another process: it shares
    nothing in memory, so only polling the file can wake the reader."""
    path = str(tmp_path / "shared.db")

    async def main() -> None:
        reader_store = make_store(path)
        writer_store = make_store(path)
        woke: list[tuple[float, list[int]]] = []

        async def reader() -> None:
            response = await reader_store.get_events(GetEventsRequest(EventIterator.after(0)))
            woke.append((trio.current_time(), [e.seq_num for e in response.events]))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(reader)
            await trio.sleep(1.05)
            writer_store.store_event(Operation.CREATE, "S", "from elsewhere")
        when, seqs = woke[0]
        assert seqs == [1]
        assert 1.05 <= when <= 1.05 + 0.1 + 1e-9
        assert reader_store.get_latest_event_num() == 1
        reader_store.close()
        writer_store.close()
    run(main)


def test_memory_store_does_not_poll() -> None:
    async def main() -> None:
        store = make_store()
        assert not store.shared
        # One timeout-long wait: with autojump, virtual time moves straight to the deadline.
        start = trio.current_time()
        await store.get_events(GetEventsRequest(EventIterator.after(0)))
        assert trio.current_time() - start == pytest.approx(10.0)
    run(main)
