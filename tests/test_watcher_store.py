"""EventStore: sequence numbers, reads, iterator resolution, filters, transactions, cache."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from sim.sources.watcher import (
    CheckpointError,
    CheckpointNotFound,
    DeserializationError,
    EventFilter,
    EventIterator,
    EventStore,
    GetEventsRequest,
    InvalidArgumentError,
    JSONSerializer,
    Operation,
    SerializationError,
    StoreClosedError,
    caused_by,
)
from tests.watcher_harness import EPOCH, run, virtual_now


def make_store(path: str = ":memory:", **options: object) -> EventStore:
    serializer = JSONSerializer({"StringObject": str, "OtherStringObject": str})
    return EventStore(path, serializer=serializer, clock=virtual_now, **options)  # type: ignore[arg-type]


FIVE = [
    (Operation.CREATE, "StringObject", "test1"),
    (Operation.UPDATE, "StringObject", "test2"),
    (Operation.DELETE, "StringObject", "test3"),
    (Operation.CREATE, "OtherStringObject", "test4"),
    (Operation.UPDATE, "OtherStringObject", "test5"),
]


def fill(store: EventStore, n: int) -> None:
    for i in range(n):
        store.store_event(*FIVE[i % 5])


def seqs(response: object) -> list[int]:
    return [e.seq_num for e in response.events]  # type: ignore[attr-defined]


def test_five_stored_events_come_back_as_seq_1_to_5_with_next_after_5() -> None:
    async def main() -> None:
        store = make_store()
        fill(store, 5)
        response = await store.get_events(GetEventsRequest(EventIterator.trim_horizon()))
        assert seqs(response) == [1, 2, 3, 4, 5]
        assert [e.object for e in response.events] == ["test1", "test2", "test3", "test4", "test5"]
        assert response.events[0].timestamp == EPOCH
        assert response.next_event_iterator == EventIterator.after(5)
        assert store.get_latest_event_num() == 5
    run(main)


@pytest.mark.parametrize(("event_filter", "expected"), [
    (EventFilter(object_types=["StringObject"]), [1, 2, 3]),
    (EventFilter(operations=[Operation.CREATE]), [1, 4]),
    (EventFilter(object_types=["OtherStringObject"], operations=[Operation.CREATE]), [4]),
    (EventFilter(object_types=["Nothing"]), []),
], ids=["by-type", "by-operation", "by-both", "none-match"])
def test_filter_returns_matching_events_and_next_iterator_passes_filtered_ones(
        event_filter: EventFilter, expected: list[int]) -> None:
    async def main() -> None:
        store = make_store()
        fill(store, 5)
        response = await store.get_events(
            GetEventsRequest(EventIterator.trim_horizon(), filter=event_filter))
        assert seqs(response) == expected
        assert response.next_event_iterator == EventIterator.after(5)
    run(main)


def test_limit_counts_returned_events_after_filtering() -> None:
    async def main() -> None:
        store = make_store()
        fill(store, 10)  # creates at 1, 4, 6, 9
        request = GetEventsRequest(EventIterator.trim_horizon(), limit=2,
                                   filter=EventFilter(operations=[Operation.CREATE]))
        response = await store.get_events(request)
        assert seqs(response) == [1, 4]
        assert response.next_event_iterator == EventIterator.after(4)
        unlimited = await store.get_events(GetEventsRequest(EventIterator.trim_horizon(), limit=0))
        assert seqs(unlimited) == list(range(1, 11))
    run(main)


# The iterator tables of the original's tests: (iterator, returned seqs, next iterator).
OVER_FIVE = [
    (EventIterator.trim_horizon(), [1, 2, 3, 4, 5], EventIterator.after(5)),
    (EventIterator.latest(), [], EventIterator.after(5)),
    (EventIterator.at(0), [1, 2, 3, 4, 5], EventIterator.after(5)),
    (EventIterator.at(1), [1, 2, 3, 4, 5], EventIterator.after(5)),
    (EventIterator.at(3), [3, 4, 5], EventIterator.after(5)),
    (EventIterator.at(5), [5], EventIterator.after(5)),
    (EventIterator.at(100), [], EventIterator.at(100)),
    (EventIterator.after(0), [1, 2, 3, 4, 5], EventIterator.after(5)),
    (EventIterator.after(3), [4, 5], EventIterator.after(5)),
    (EventIterator.after(5), [], EventIterator.after(5)),
    (EventIterator.after(100), [], EventIterator.after(100)),
]
OVER_ONE = [
    (EventIterator.trim_horizon(), [1], EventIterator.after(1)),
    (EventIterator.latest(), [], EventIterator.after(1)),
    (EventIterator.at(0), [1], EventIterator.after(1)),
    (EventIterator.at(1), [1], EventIterator.after(1)),
    (EventIterator.at(2), [], EventIterator.at(2)),
    (EventIterator.after(0), [1], EventIterator.after(1)),
    (EventIterator.after(1), [], EventIterator.after(1)),
    (EventIterator.after(2), [], EventIterator.after(2)),
]
OVER_EMPTY: list[tuple[EventIterator, list[int], EventIterator]] = [
    (EventIterator.trim_horizon(), [], EventIterator.after(0)),
    (EventIterator.latest(), [], EventIterator.after(0)),
    (EventIterator.at(0), [], EventIterator.at(0)),
    (EventIterator.at(1), [], EventIterator.at(1)),
    (EventIterator.after(0), [], EventIterator.after(0)),
    (EventIterator.after(1), [], EventIterator.after(1)),
]


def _check_table(count: int, iterator: EventIterator, expected: list[int],
                 next_iterator: EventIterator) -> None:
    async def main() -> None:
        store = make_store(long_polling_timeout=2.0)
        fill(store, count)
        start = trio.current_time()
        response = await store.get_events(GetEventsRequest(iterator))
        assert seqs(response) == expected
        assert response.next_event_iterator == next_iterator
        # Nothing new to report means the read long-polled for the whole timeout.
        waited = trio.current_time() - start
        assert waited == (2.0 if next_iterator == iterator else 0.0)
    run(main)


@pytest.mark.parametrize(("iterator", "expected", "next_iterator"), OVER_FIVE, ids=str)
def test_iterators_over_five_events(iterator: EventIterator, expected: list[int],
                                    next_iterator: EventIterator) -> None:
    _check_table(5, iterator, expected, next_iterator)


@pytest.mark.parametrize(("iterator", "expected", "next_iterator"), OVER_ONE, ids=str)
def test_iterators_over_one_event(iterator: EventIterator, expected: list[int],
                                  next_iterator: EventIterator) -> None:
    _check_table(1, iterator, expected, next_iterator)


@pytest.mark.parametrize(("iterator", "expected", "next_iterator"), OVER_EMPTY, ids=str)
def test_iterators_over_an_empty_store(iterator: EventIterator, expected: list[int],
                                       next_iterator: EventIterator) -> None:
    _check_table(0, iterator, expected, next_iterator)


def test_hundred_concurrent_stores_get_seq_1_to_100() -> None:
    async def main() -> None:
        store = make_store()
        stored: list[int] = []

        async def one(i: int) -> None:
            await trio.sleep(0.001 * (i % 7))
            stored.append(store.store_event(Operation.CREATE, "StringObject", f"e{i}").seq_num)

        async with trio.open_nursery() as nursery:
            for i in range(100):
                nursery.start_soon(one, i)
        assert sorted(stored) == list(range(1, 101))
        response = await store.get_events(GetEventsRequest(EventIterator.trim_horizon()))
        assert seqs(response) == list(range(1, 101))
    run(main)


def test_failed_store_does_not_consume_a_sequence_number() -> None:
    async def main() -> None:
        store = make_store()
        store.store_event(Operation.CREATE, "StringObject", "a")
        with pytest.raises(SerializationError):
            store.store_event(Operation.CREATE, "StringObject", {1, 2})  # sets are not JSON
        with pytest.raises(RuntimeError), store.transaction() as tx:
            tx.store_event(Operation.CREATE, "StringObject", "rolled back")
            raise RuntimeError("caller fails after storing")
        assert store.get_latest_event_num() == 1
        assert store.store_event(Operation.UPDATE, "StringObject", "b").seq_num == 2
    run(main)


def test_store_inside_caller_transaction_commits_or_rolls_back_with_caller_rows() -> None:
    async def main() -> None:
        store = make_store()
        with store.transaction() as tx:
            tx.execute("CREATE TABLE jobs (id TEXT)")
        with store.transaction() as tx:
            tx.execute("INSERT INTO jobs VALUES ('j1')")
            store.store_event_tx(tx, Operation.CREATE, "StringObject", "j1")
            assert store.get_latest_event_num() == 0  # not visible before commit
        with pytest.raises(ValueError, match="boom"), store.transaction() as tx:
            tx.execute("INSERT INTO jobs VALUES ('j2')")
            tx.store_event(Operation.CREATE, "StringObject", "j2")
            raise ValueError("boom")
        with store.transaction() as tx:
            rows = [r[0] for r in tx.execute("SELECT id FROM jobs")]
        assert rows == ["j1"]
        assert store.get_latest_event_num() == 1
    run(main)


def test_batch_api_stores_many_events_in_one_transaction() -> None:
    async def main() -> None:
        store = make_store()
        events = store.store_events([(Operation.CREATE, "StringObject", f"x{i}") for i in range(50)])
        assert [e.seq_num for e in events] == list(range(1, 51))
        response = await store.get_events(GetEventsRequest(EventIterator.at(50)))
        assert [e.object for e in response.events] == ["x49"]
    run(main)


def test_nested_transaction_is_a_clear_error() -> None:
    store = make_store()
    with store.transaction(), pytest.raises(InvalidArgumentError, match="already open"):
        store.store_event(Operation.CREATE, "StringObject", "x")


@pytest.mark.parametrize(("checkpoint", "latest_on_open"), [(2, 3), (3, 0)])
def test_sequence_numbers_are_never_reused_after_deletion_or_reopen(
        tmp_path: Path, checkpoint: int, latest_on_open: int) -> None:
    """On open, latest_event_num is the last stored event's seq (bacalhau reads the events
    bucket's last key): 0 once GC collected every event. A new event never reuses a seq."""
    path = str(tmp_path / "events.db")

    async def main() -> None:
        store = make_store(path)
        fill(store, 3)
        store.store_checkpoint("w", checkpoint)
        await trio.sleep(100 * 86400)  # everything is now old
        assert store.run_gc() == list(range(1, checkpoint + 1))
        store.close()
        reopened = make_store(path)
        assert reopened.get_latest_event_num() == latest_on_open
        assert reopened.store_event(Operation.CREATE, "StringObject", "x").seq_num == 4
        reopened.close()
    run(main)


def test_cache_is_filled_on_store_and_evicts_least_recently_used() -> None:
    async def main() -> None:
        # "Unregistered" cannot be deserialized, so only cached events can be read back.
        store = EventStore(cache_size=2, clock=virtual_now)
        for i in range(3):
            store.store_event(Operation.CREATE, "Unregistered", i)
        response = await store.get_events(GetEventsRequest(EventIterator.at(2)))
        assert [e.object for e in response.events] == [1, 2]
        with pytest.raises(DeserializationError, match="unknown object type: Unregistered"):
            await store.get_events(GetEventsRequest(EventIterator.at(1)))
    run(main)


def test_cache_size_zero_is_an_error() -> None:
    with pytest.raises(InvalidArgumentError, match="cache_size must be an integer > 0, got 0"):
        EventStore(cache_size=0)


@pytest.mark.parametrize(("options", "message"), [
    ({"events_table": "drop table"}, "events_table must be a plain SQL identifier"),
    ({"events_table": "same", "checkpoint_table": "same"}, "must differ"),
    ({"long_polling_timeout": -1}, "long_polling_timeout must be >= 0 seconds"),
    ({"gc_cadence": 0}, "gc_cadence must be > 0 seconds"),
    ({"gc_max_records_per_run": 0}, "max_records_per_run must be > 0"),
    ({"synchronous": "SOMETIMES"}, "synchronous must be one of"),
])
def test_bad_store_options_are_named(options: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        EventStore(**options)  # type: ignore[arg-type]


def test_custom_table_names_are_used(tmp_path: Path) -> None:
    store = EventStore(str(tmp_path / "t.db"), events_table="my_events",
                       checkpoint_table="my_checkpoints", clock=lambda: EPOCH)
    store.store_event(Operation.CREATE, "StringObject", "x")
    store.store_checkpoint("w", 1)
    with store.transaction() as tx:
        names = {r[0] for r in tx.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"my_events", "my_checkpoints"} <= names
    assert "events" not in names
    store.close()


def test_bad_operation_or_object_type_is_rejected_and_stores_nothing() -> None:
    store = make_store()
    with pytest.raises(InvalidArgumentError, match="unknown operation 'MOVE'"):
        store.store_event("MOVE", "StringObject", "x")
    with pytest.raises(InvalidArgumentError, match="object type must be a non-empty string"):
        store.store_event(Operation.CREATE, "", "x")
    assert store.get_latest_event_num() == 0


def test_checkpoints_are_stored_and_a_missing_one_is_checkpoint_not_found() -> None:
    store = make_store()
    store.store_checkpoint("w1", 4)
    store.store_checkpoint("w1", 7)
    assert store.get_checkpoint("w1") == 7
    with pytest.raises(CheckpointError) as info:
        store.get_checkpoint("w2")
    assert caused_by(info.value, CheckpointNotFound)
    assert info.value.watcher_id == "w2"


def test_close_is_idempotent_and_later_use_is_a_clear_error() -> None:
    store = make_store()
    store.close()
    store.close()
    assert store.closed
    with pytest.raises(StoreClosedError):
        store.store_event(Operation.CREATE, "StringObject", "x")
    with pytest.raises(StoreClosedError):
        store.get_checkpoint("w")
