"""Watcher library: defaults and small rules of watcher.md that no other test pins.

Each test says in its docstring what bacalhau's pkg/lib/watcher does, citing
watcher.md by line.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import trio

from sim.sources.watcher import (
    DeserializationError,
    Event,
    EventHandlingError,
    EventIterator,
    EventStore,
    GetEventsRequest,
    GetEventsResponse,
    JSONSerializer,
    Operation,
    RetryStrategy,
    Watcher,
    WatchOptions,
)
from tests.watcher_harness import DAY, EPOCH, fails_first, run, virtual_now


def make_store(**options: Any) -> EventStore:
    return EventStore(serializer=JSONSerializer({"S": str}), clock=virtual_now, **options)


def fill(store: EventStore, n: int, object_type: str = "S") -> None:
    store.store_events([(Operation.CREATE, object_type, f"e{i}") for i in range(n)])


async def first(store: EventStore, seq: int) -> Any:
    response = await store.get_events(GetEventsRequest(EventIterator.at(seq), limit=1))
    return response.events[0].object


async def wait_next(watcher: Watcher, seq: int) -> None:
    """Wait (virtual time) until the watcher's next iterator is ``after(seq)``."""
    with trio.fail_after(3600):
        while watcher.stats().next_event_iterator != EventIterator.after(seq):
            await trio.sleep(0.1)


class SpyStore:
    """Wraps a store: records fetch start times and sizes; the first ``failures`` fetches raise."""

    def __init__(self, store: EventStore, failures: int = 0) -> None:
        self.store, self.failures = store, failures
        self.times: list[float] = []
        self.sizes: list[int] = []

    async def get_events(self, request: GetEventsRequest) -> GetEventsResponse:
        self.times.append(trio.current_time())
        if len(self.times) <= self.failures:
            raise OSError("store down")
        response = await self.store.get_events(request)
        self.sizes.append(len(response.events))
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def test_watch_option_defaults() -> None:
    """watcher.md:64-66: bacalhau's defaults are batch size 100, max retries 3, retry strategy
    BLOCK, initial backoff 200 ms, max backoff 3 min, buffer size 1000; with no checkpoint a
    watcher starts from its initial iterator, trim_horizon unless told (watcher.md:60)."""
    options = WatchOptions()
    assert (options.batch_size, options.max_retries, options.retry_strategy, options.initial_backoff,
            options.max_backoff, options.buffer_size) == (100, 3, RetryStrategy.BLOCK, 0.2, 180.0, 1000)
    assert options.initial_event_iterator == EventIterator.trim_horizon()


def test_default_watcher_reads_from_trim_horizon_in_batches_of_100() -> None:
    """watcher.md:64,69: the default batch size is 100, so 250 events are fetched as 100, 100
    and 50; watcher.md:60: the default start is trim_horizon, so every event is handled."""
    async def main() -> None:
        spy = SpyStore(make_store())
        fill(spy.store, 250)
        handled: list[int] = []

        async def handler(event: Event) -> None:
            handled.append(event.seq_num)

        async with trio.open_nursery() as nursery:
            watcher = Watcher("w", spy, nursery, handler=handler)  # type: ignore[arg-type]
            assert watcher.stats().next_event_iterator == EventIterator.trim_horizon()
            watcher.start()
            await wait_next(watcher, 250)
            await watcher.stop()
        assert handled == list(range(1, 251))
        assert spy.sizes[:3] == [100, 100, 50]
        assert sum(spy.sizes) == 250
    run(main)


def test_default_fetch_backoff_doubles_from_200ms_to_3min() -> None:
    """watcher.md:67: a failing fetch is retried forever, waiting 200 ms and doubling up to 3 min."""
    async def main() -> None:
        spy = SpyStore(make_store(), failures=12)
        fill(spy.store, 1)
        async with trio.open_nursery() as nursery:
            watcher = Watcher("w", spy, nursery, handler=lambda e: trio.sleep(0))  # type: ignore[arg-type]
            watcher.start()
            await wait_next(watcher, 1)
            await watcher.stop()
        gaps = [b - a for a, b in zip(spy.times, spy.times[1:], strict=False)]
        expected = [0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 51.2, 102.4, 180.0, 180.0]
        assert gaps[:12] == pytest.approx(expected)
    run(main)


@pytest.mark.parametrize(("options", "calls_for_first"), [({}, 6), ({"retry_strategy": "SKIP"}, 3)],
                         ids=["default-BLOCK", "SKIP-default-max-retries"])
def test_default_retry_blocks_and_skip_gives_up_after_3_calls(options: dict[str, Any],
                                                              calls_for_first: int) -> None:
    """watcher.md:64,70-71: the default strategy BLOCK retries a failing event beyond
    max_retries (here 5 failures, then success); SKIP with the default max_retries 3 calls
    the handler 3 times, then moves on to the next event."""
    async def main() -> None:
        store = make_store()
        fill(store, 2)
        calls: list[int] = []

        async with trio.open_nursery() as nursery:
            watcher = Watcher("w", store, nursery, handler=fails_first(calls, 1, 5), **options)
            watcher.start()
            await wait_next(watcher, 2)
            await watcher.stop()
        assert calls == [1] * calls_for_first + [2]
    run(main)


def test_default_cache_keeps_the_last_1000_stored_events() -> None:
    """watcher.md:45: the cache is an LRU of 1000 events by default. An unregistered object
    type can be read back only from the cache: after 1001 stores seq 2 is cached, seq 1 is not."""
    async def main() -> None:
        store = EventStore(clock=virtual_now)
        fill(store, 1001, "Unregistered")
        assert await first(store, 2) == "e1"
        with pytest.raises(DeserializationError, match="unknown object type: Unregistered"):
            await first(store, 1)
    run(main)


def test_cache_evicts_least_recently_used_not_first_stored() -> None:
    """watcher.md:28,45: stored events enter an LRU cache; reading a cached event makes it
    recent, so the next store evicts the other one (a FIFO would evict the one read)."""
    async def main() -> None:
        store = EventStore(cache_size=2, clock=virtual_now)
        fill(store, 2, "Unregistered")
        assert await first(store, 1) == "e0"  # touch seq 1
        store.store_event(Operation.CREATE, "Unregistered", "e2")
        assert await first(store, 1) == "e0"
        with pytest.raises(DeserializationError):
            await first(store, 2)
    run(main)


def test_cache_is_filled_on_store_only_not_by_reads() -> None:
    """watcher.md:45: the cache is filled on store only: an event read from the database is
    deserialized again on every read; a stored (cached) one is not deserialized at all."""
    class CountingSerializer(JSONSerializer):
        def __init__(self) -> None:
            super().__init__({"S": str})
            self.reads = 0

        def unmarshal(self, data: bytes) -> Event:
            self.reads += 1
            return super().unmarshal(data)

    async def main() -> None:
        serializer = CountingSerializer()
        store = EventStore(serializer=serializer, cache_size=2, clock=virtual_now)
        fill(store, 3)  # the cache holds 2 and 3
        assert [await first(store, 1), await first(store, 1)] == ["e0", "e0"]
        assert serializer.reads == 2
        assert await first(store, 3) == "e2"
        assert serializer.reads == 2
    run(main)


def test_close_drops_the_cache() -> None:
    """watcher.md:44: close() stops GC, releases waiters and drops the cache. A closed store
    cannot be read, so this looks at the cache itself."""
    store = EventStore(clock=lambda: EPOCH)
    fill(store, 3, "Unregistered")
    store.close()
    assert len(store._cache) == 0


def test_gc_and_long_polling_defaults() -> None:
    """watcher.md:40,46-47: defaults long_polling_timeout 10 s, gc_age_threshold 24 h,
    gc_cadence 10 min, gc_max_records_per_run 1000, gc_max_duration 10 s."""
    store = EventStore()
    policy = store.gc_policy
    assert (policy.age_threshold, policy.cadence, policy.max_records_per_run, policy.max_duration) \
        == (DAY, 600.0, 1000, 10.0)
    assert store.long_polling_timeout == 10.0

    async def main() -> None:
        store = make_store()
        start = trio.current_time()
        response = await store.get_events(GetEventsRequest(EventIterator.after(0)))
        assert (response.events, trio.current_time() - start) == ((), 10.0)
        fill(store, 1001)
        store.store_checkpoint("w", 1001)
        await trio.sleep(DAY - 1)  # the events are 24 h - 1 s old
        assert store.run_gc() == []
        await trio.sleep(2)  # 24 h + 1 s old
        assert store.run_gc() == list(range(1, 1001))  # at most 1000 per run
        async with trio.open_nursery() as nursery:
            nursery.start_soon(store.run_gc_loop)
            runs = store.gc_runs
            await trio.sleep(599)
            assert store.gc_runs == runs
            await trio.sleep(2)
            assert store.gc_runs == runs + 1
            nursery.cancel_scope.cancel()
    run(main)


def test_gc_run_stops_once_it_has_taken_10_seconds() -> None:
    """watcher.md:47: one GC run lasts at most gc_max_duration, 10 s by default (checked after
    every chunk of 100 rows here): a clock moving 10 s per look stops it after one chunk,
    9.9 s per look after two."""
    now, step = EPOCH, timedelta(0)

    def stepping() -> datetime:
        nonlocal now
        now += step
        return now

    store = EventStore(serializer=JSONSerializer({"S": str}), clock=stepping)
    fill(store, 500)
    store.store_checkpoint("w", 500)
    now, step = now + timedelta(days=5), timedelta(seconds=10)
    assert len(store.run_gc()) == 100
    step = timedelta(seconds=9.9)
    assert len(store.run_gc()) == 200


def test_default_file_store_has_events_and_checkpoints_tables_and_json(tmp_path: Path) -> None:
    """watcher.md:52: by default the store's tables are `events` and `checkpoints` and events
    are serialized as JSON (JSONSerializer, bacalhau's wire shape with objectType etc.)."""
    path = tmp_path / "events.db"
    store = EventStore(str(path), clock=lambda: EPOCH)
    assert isinstance(store.serializer, JSONSerializer)
    store.store_event(Operation.CREATE, "S", "x")
    store.close()
    with contextlib.closing(sqlite3.connect(path)) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        (data,) = conn.execute("SELECT data FROM events").fetchone()
    assert tables - {"sqlite_sequence"} == {"events", "checkpoints"}
    assert json.loads(data)["objectType"] == "S"


def test_next_iterator_advances_once_per_batch() -> None:
    """watcher.md:68-69: the next iterator is advanced once per batch, after all its events
    are handled: with batch_size 3 over 5 events it is trim_horizon while handling 1-3,
    after(3) while handling 4-5 and after(5) afterwards."""
    async def main() -> None:
        store = make_store()
        fill(store, 5)
        seen: list[tuple[int, EventIterator]] = []
        async with trio.open_nursery() as nursery:
            watcher: Watcher

            async def handler(event: Event) -> None:
                seen.append((event.seq_num, watcher.stats().next_event_iterator))

            watcher = Watcher("w", store, nursery, handler=handler, batch_size=3)
            watcher.start()
            await wait_next(watcher, 5)
            await watcher.stop()
        th, after3 = EventIterator.trim_horizon(), EventIterator.after(3)
        assert seen == [(1, th), (2, th), (3, th), (4, after3), (5, after3)]
        assert watcher.stats().next_event_iterator == EventIterator.after(5)
    run(main)


def test_skip_giving_up_does_not_update_last_processed() -> None:
    """watcher.md:71-72: when SKIP gives up on an event it records EventHandlingError and
    moves on without updating last_processed (seq stays 0, event time stays unset)."""
    async def main() -> None:
        store = make_store()
        fill(store, 1)

        async def handler(event: Event) -> None:
            raise RuntimeError("always")

        async with trio.open_nursery() as nursery:
            watcher = Watcher("w", store, nursery, handler=handler, retry_strategy=RetryStrategy.SKIP)
            watcher.start()
            await wait_next(watcher, 1)
            await watcher.stop()
        stats, error = watcher.stats(), watcher.last_error
        assert (stats.last_processed_seq_num, stats.last_processed_event_time) == (0, None)
        assert (stats.next_event_iterator, watcher.skipped_events) == (EventIterator.after(1), 1)
        assert isinstance(error, EventHandlingError) and isinstance(error.__cause__, RuntimeError)
        assert (error.watcher_id, error.event_id) == ("w", 1)
    run(main)


def test_gc_ignores_ephemeral_watchers() -> None:
    """watcher.md:76-77: ephemeral watchers never checkpoint and GC ignores them: with only an
    ephemeral watcher (even one that handled and seeked past every event) GC deletes nothing,
    while a durable watcher's checkpoint at the same place lets it delete."""
    async def main() -> None:
        store = make_store(long_polling_timeout=1.0)
        fill(store, 5)
        async with trio.open_nursery() as nursery:
            watcher = Watcher("e", store, nursery, handler=lambda e: trio.sleep(0), ephemeral=True)
            watcher.start()
            await wait_next(watcher, 5)
            await watcher.seek_to_offset(5)
            await watcher.stop()
        await trio.sleep(2 * DAY)
        assert store.run_gc() == []
        store.store_checkpoint("durable", 5)
        assert store.run_gc() == [1, 2, 3, 4, 5]
    run(main)


@pytest.mark.parametrize(("data", "cause"), [
    (b'{"seqNum":1,"operation":"CREATE","objectType":"M","object":{},"timestamp":0}', KeyError),
    (b"not json", json.JSONDecodeError),
], ids=["unknown-type", "bad-json"])
def test_deserialization_error_keeps_its_cause(data: bytes, cause: type[Exception]) -> None:
    """watcher.md:90-91: DeserializationError keeps its cause (`__cause__`): the KeyError of an
    unknown object type, or the JSON decoder's error."""
    with pytest.raises(DeserializationError) as info:
        JSONSerializer().unmarshal(data)
    assert isinstance(info.value.__cause__, cause)
