"""EventStore garbage collection: the minimum checkpoint, age, limits and the GC loop."""

from __future__ import annotations

import trio

from sim.sources.watcher import EventIterator, EventStore, GetEventsRequest, JSONSerializer, Operation
from tests.watcher_harness import DAY, run, virtual_now


def make_store(**options: object) -> EventStore:
    return EventStore(serializer=JSONSerializer({"S": str}), clock=virtual_now,
                      **options)  # type: ignore[arg-type]


async def remaining(store: EventStore) -> list[int]:
    response = await store.get_events(GetEventsRequest(EventIterator.trim_horizon()))
    return [e.seq_num for e in response.events]


def test_checkpoints_3_and_6_over_5_old_and_1_recent_leave_4_5_6() -> None:
    async def main() -> None:
        store = make_store()
        for i in range(5):
            store.store_event(Operation.CREATE, "S", f"old{i}")
        await trio.sleep(2 * DAY)
        store.store_event(Operation.CREATE, "S", "recent")
        store.store_checkpoint("w1", 3)
        store.store_checkpoint("w2", 6)
        assert store.run_gc() == [1, 2, 3]
        assert await remaining(store) == [4, 5, 6]
    run(main)


def test_without_checkpoints_nothing_is_deleted() -> None:
    async def main() -> None:
        store = make_store()
        for i in range(5):
            store.store_event(Operation.CREATE, "S", f"e{i}")
        await trio.sleep(10 * DAY)
        assert store.run_gc() == []
        store.store_checkpoint("w", 0)  # a checkpoint of 0 counts as unset
        assert store.run_gc() == []
        assert await remaining(store) == [1, 2, 3, 4, 5]
    run(main)


def test_zero_checkpoint_is_ignored_when_others_exist() -> None:
    async def main() -> None:
        store = make_store()
        for i in range(4):
            store.store_event(Operation.CREATE, "S", f"e{i}")
        await trio.sleep(2 * DAY)
        store.store_checkpoint("fresh", 0)
        store.store_checkpoint("w", 2)
        assert store.run_gc() == [1, 2]
    run(main)


def test_recent_events_below_the_minimum_checkpoint_survive() -> None:
    async def main() -> None:
        store = make_store(gc_age_threshold=3600)
        store.store_event(Operation.CREATE, "S", "old")
        await trio.sleep(7200)
        store.store_event(Operation.CREATE, "S", "young")
        store.store_checkpoint("w", 2)
        assert store.run_gc() == [1]
        assert await remaining(store) == [2]
    run(main)


def test_age_threshold_zero_disables_gc() -> None:
    async def main() -> None:
        store = make_store(gc_age_threshold=0)
        store.store_event(Operation.CREATE, "S", "x")
        store.store_checkpoint("w", 1)
        await trio.sleep(100 * DAY)
        assert store.run_gc() == []
        await store.run_gc_loop()  # returns at once when disabled
        assert await remaining(store) == [1]
    run(main)


def test_max_records_per_run_bounds_each_run() -> None:
    async def main() -> None:
        store = make_store(gc_max_records_per_run=3)
        store.store_events([(Operation.CREATE, "S", f"e{i}") for i in range(8)])
        store.store_checkpoint("w", 8)
        await trio.sleep(2 * DAY)
        assert store.run_gc() == [1, 2, 3]
        assert store.run_gc() == [4, 5, 6]
        assert store.run_gc() == [7, 8]
    run(main)


def test_reading_from_a_collected_seq_starts_at_the_next_surviving_event() -> None:
    async def main() -> None:
        store = make_store()
        for i in range(5):
            store.store_event(Operation.CREATE, "S", f"e{i}")
        store.store_checkpoint("w", 3)
        await trio.sleep(2 * DAY)
        store.run_gc()
        at_two = await store.get_events(GetEventsRequest(EventIterator.at(2)))
        assert [e.seq_num for e in at_two.events] == [4, 5]
        horizon = await store.get_events(GetEventsRequest(EventIterator.trim_horizon()))
        assert horizon.events[0].seq_num == 4
    run(main)


def test_gc_loop_runs_at_its_cadence_and_stops_on_close() -> None:
    async def main() -> None:
        store = make_store(gc_cadence=600, gc_age_threshold=1000)
        store.store_event(Operation.CREATE, "S", "x")
        store.store_checkpoint("w", 1)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(store.run_gc_loop)
            await trio.sleep(601)
            assert store.gc_runs == 1 and store.gc_deleted == 0  # not old enough yet
            await trio.sleep(600)
            assert store.gc_runs == 2 and store.gc_deleted == 1
            store.close()  # ends the loop, so the nursery can exit
        assert store.gc_runs == 2
    run(main)
