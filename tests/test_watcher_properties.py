"""Property tests of the watcher library (Hypothesis)."""

from __future__ import annotations

import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from trio.testing import MockClock

from sim.sources.watcher import (
    CheckpointError,
    Event,
    EventFilter,
    EventIterator,
    EventStore,
    GetEventsRequest,
    JSONSerializer,
    Operation,
    Watcher,
)
from tests.watcher_harness import virtual_now

TYPES = ["Job", "Execution", "Node"]
OPS = list(Operation)
SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def make_store(**options: object) -> EventStore:
    return EventStore(serializer=JSONSerializer({t: str for t in TYPES}), clock=virtual_now,
                      long_polling_timeout=0.5, cache_size=3, **options)  # type: ignore[arg-type]


# The empty filter (match all) gets its own branch so it is drawn often.
filters = st.one_of(
    st.just(EventFilter()),
    st.builds(EventFilter, object_types=st.lists(st.sampled_from(TYPES), unique=True),
              operations=st.lists(st.sampled_from(OPS), unique=True)))
stores = st.tuples(st.just("store"), st.sampled_from(TYPES), st.sampled_from(OPS))
pauses = st.tuples(st.just("pause"), st.floats(0.0, 2.0), st.just(None))


@SETTINGS
@given(actions=st.lists(st.one_of(stores, pauses), max_size=30), event_filter=filters,
       batch_size=st.integers(1, 5))
def test_a_filtered_watcher_sees_exactly_the_matching_events_in_order(
        actions: list[tuple], event_filter: EventFilter, batch_size: int) -> None:
    """For any interleaving of stores and waiting, a watcher with a filter handles exactly
    the stored events that match the filter, each once, in strictly increasing seq order."""
    async def main() -> None:
        store = make_store()
        seen: list[int] = []
        stored: list[Event] = []

        async def handler(event: Event) -> None:
            seen.append(event.seq_num)

        async with trio.open_nursery() as nursery:
            watcher = Watcher("w", store, nursery, handler=handler, filter=event_filter,
                              batch_size=batch_size)
            watcher.start()
            for kind, a, b in actions:
                if kind == "store":
                    stored.append(store.store_event(b, a, "x"))
                else:
                    await trio.sleep(a)
            latest = store.get_latest_event_num()
            with trio.fail_after(60):
                while latest and watcher.stats().next_event_iterator != EventIterator.after(latest):
                    await trio.sleep(0.05)
            await watcher.stop()
        expected = [e.seq_num for e in stored if event_filter.matches(e.object_type, e.operation)]
        assert seen == expected
        assert all(a < b for a, b in zip(seen, seen[1:], strict=False))
    trio.run(main, clock=MockClock(autojump_threshold=0))


@SETTINGS
@given(actions=st.lists(st.one_of(stores, st.tuples(st.just("get"), st.integers(0, 4),
                                                    st.just(None))), max_size=40),
       event_filter=filters)
def test_chained_reads_return_each_matching_event_once_in_order(
        actions: list[tuple], event_filter: EventFilter) -> None:
    """Following next_event_iterator from trim_horizon through any interleaving of stores
    and limited reads returns every matching event exactly once, in increasing seq order."""
    async def main() -> None:
        store = make_store()
        iterator = EventIterator.trim_horizon()
        seen: list[int] = []
        stored: list[Event] = []
        for kind, a, b in [*actions, ("get", 0, None)]:
            if kind == "store":
                stored.append(store.store_event(b, a, "x"))
                continue
            response = await store.get_events(GetEventsRequest(iterator, a, event_filter))
            seen.extend(e.seq_num for e in response.events)
            iterator = response.next_event_iterator
        expected = [e.seq_num for e in stored if event_filter.matches(e.object_type, e.operation)]
        assert seen == expected
    trio.run(main, clock=MockClock(autojump_threshold=0))


class CrashingRun:
    """One life of a watcher process: handles events, checkpoints some, then "crashes"."""

    def __init__(self, handled: set[int], crash_after: int, to_checkpoint: set[int]) -> None:
        self.handled = handled
        self.crash_after = crash_after
        self.to_checkpoint = to_checkpoint
        self.firsts: list[int] = []
        self.count = 0
        self.crashed = trio.Event()
        self.watcher: Watcher | None = None

    async def handle_event(self, event: Event) -> None:
        await trio.lowlevel.checkpoint()
        if not self.firsts:
            self.firsts.append(event.seq_num)
        self.handled.add(event.seq_num)
        if event.seq_num in self.to_checkpoint:
            assert self.watcher is not None
            self.watcher.checkpoint(event.seq_num)
        self.count += 1
        if self.count >= self.crash_after:
            self.crashed.set()


@SETTINGS
@given(rounds=st.lists(st.tuples(st.integers(0, 6), st.integers(1, 8),
                                 st.sets(st.integers(1, 40))), min_size=1, max_size=5))
def test_crash_and_restart_lose_nothing_and_replay_right_after_the_checkpoint(
        rounds: list[tuple[int, int, set[int]]]) -> None:
    """Across any sequence of crashes, where each run checkpoints an arbitrary subset of the
    events it handles, every restart starts exactly after the stored checkpoint and every
    stored event is handled at least once by the end."""
    async def main() -> None:
        store = make_store()
        handled: set[int] = set()
        for new_events, crash_after, to_checkpoint in [*rounds, (0, 10**6, set())]:
            for _ in range(new_events):
                store.store_event(Operation.CREATE, "Job", "x")
            latest = store.get_latest_event_num()
            try:
                resume_after = store.get_checkpoint("w")
            except CheckpointError:
                resume_after = 0
            life = CrashingRun(handled, crash_after, to_checkpoint)
            async with trio.open_nursery() as nursery:
                life.watcher = watcher = Watcher("w", store, nursery, handler=life)
                watcher.start()
                with trio.move_on_after(30):
                    while not life.crashed.is_set() and \
                            watcher.stats().next_event_iterator != EventIterator.after(latest):
                        await trio.sleep(0.01)
                nursery.cancel_scope.cancel()  # the crash: no stop(), no cleanup
            assert life.firsts == ([resume_after + 1] if latest > resume_after else [])
        assert handled == set(range(1, store.get_latest_event_num() + 1))
    trio.run(main, clock=MockClock(autojump_threshold=0))


@SETTINGS
@given(ages=st.lists(st.integers(0, 3), min_size=1, max_size=25),
       checkpoints=st.dictionaries(st.sampled_from(["a", "b", "c"]), st.integers(0, 30)),
       max_records=st.integers(1, 30))
def test_gc_never_deletes_an_event_above_the_minimum_checkpoint(
        ages: list[int], checkpoints: dict[str, int], max_records: int) -> None:
    """Whatever the event ages, checkpoints and per-run limit, GC deletes only events at or
    below the minimum non-zero checkpoint that are older than the threshold."""
    async def main() -> None:
        store = make_store(gc_age_threshold=1.5 * 86400, gc_max_records_per_run=max_records)
        ts: dict[int, float] = {}
        for days_old_delta in ages:
            await trio.sleep(days_old_delta * 86400 / 2)
            ts[store.store_event(Operation.CREATE, "Job", "x").seq_num] = trio.current_time()
        await trio.sleep(86400)
        for watcher_id, seq in sorted(checkpoints.items()):
            store.store_checkpoint(watcher_id, seq)
        nonzero = [s for s in checkpoints.values() if s > 0]
        floor = min(nonzero) if nonzero else 0
        deleted = store.run_gc()
        now = trio.current_time()
        for seq in deleted:
            assert seq <= floor
            assert now - ts[seq] > 1.5 * 86400
        assert len(deleted) <= max_records
        survivors = await store.get_events(GetEventsRequest(EventIterator.trim_horizon()))
        assert [e.seq_num for e in survivors.events] == [s for s in ts if s not in deleted]
    trio.run(main, clock=MockClock(autojump_threshold=0))
