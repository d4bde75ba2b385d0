"""Watcher: starting positions, delivery order, filters, checkpoints, seeks and batching."""

from __future__ import annotations

import math
from typing import Any

import pytest
import trio

from sim.sources.watcher import (
    Event,
    EventFilter,
    EventIterator,
    EventStore,
    GetEventsRequest,
    GetEventsResponse,
    JSONSerializer,
    Operation,
    State,
    Watcher,
    WatcherError,
)
from tests.watcher_harness import run, virtual_now


def make_store() -> EventStore:
    # A tiny cache makes reads go through deserialization too, as in the original's tests.
    return EventStore(serializer=JSONSerializer({"StringObject": str, "OtherStringObject": str}),
                      clock=virtual_now, long_polling_timeout=1.0, cache_size=2)


def fill(store: EventStore, n: int) -> None:
    ops = [Operation.CREATE, Operation.UPDATE, Operation.DELETE]
    for i in range(n):
        store.store_event(ops[i % 3], "StringObject", f"test{i + 1}")


class Recorder:
    """A handler that records the seqs it was given."""

    def __init__(self) -> None:
        self.seqs: list[int] = []
        self.events: list[Event] = []

    async def handle_event(self, event: Event) -> None:
        self.seqs.append(event.seq_num)
        self.events.append(event)


class CountingStore:
    """Wraps a store, counting reads and optionally failing checkpoints reads."""

    def __init__(self, store: EventStore, fail_checkpoint: bool = False) -> None:
        self.store = store
        self.fetches = 0
        self.fail_checkpoint = fail_checkpoint

    async def get_events(self, request: GetEventsRequest) -> GetEventsResponse:
        self.fetches += 1
        return await self.store.get_events(request)

    def get_checkpoint(self, watcher_id: str) -> int:
        if self.fail_checkpoint:
            raise OSError("disk on fire")
        return self.store.get_checkpoint(watcher_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


async def wait_next(watcher: Watcher, seq: int, limit: float = 60.0) -> None:
    """Wait (virtual time) until the watcher has moved past ``seq``."""
    with trio.fail_after(limit):
        while watcher.stats().next_event_iterator != EventIterator.after(seq):
            await trio.sleep(0.01)
    assert watcher.state is State.RUNNING


# (name, checkpoint or None, initial iterator, handled seqs, starting iterator)
START_RULES = [
    ("no-checkpoint-trim-horizon", None, EventIterator.trim_horizon(), [1, 2, 3, 4, 5],
     EventIterator.trim_horizon()),
    ("checkpoint-trim-horizon", 2, EventIterator.trim_horizon(), [3, 4, 5], EventIterator.after(2)),
    ("no-checkpoint-after-3", None, EventIterator.after(3), [4, 5], EventIterator.after(3)),
    ("checkpoint-lower-than-start", 2, EventIterator.after(4), [3, 4, 5], EventIterator.after(2)),
    ("checkpoint-higher-than-start", 4, EventIterator.after(2), [5], EventIterator.after(4)),
    ("checkpoint-equal-to-start", 3, EventIterator.after(3), [4, 5], EventIterator.after(3)),
    ("no-checkpoint-latest", None, EventIterator.latest(), [], EventIterator.after(5)),
    ("checkpoint-latest", 2, EventIterator.latest(), [3, 4, 5], EventIterator.after(2)),
    ("no-checkpoint-at-2", None, EventIterator.at(2), [2, 3, 4, 5], EventIterator.at(2)),
    ("checkpoint-at-2", 3, EventIterator.at(2), [4, 5], EventIterator.after(3)),
    ("no-checkpoint-at-beyond-latest", None, EventIterator.at(100), [], EventIterator.after(5)),
    ("no-checkpoint-after-beyond-latest", None, EventIterator.after(100), [],
     EventIterator.after(5)),
    ("checkpoint-at-beyond-latest", 1, EventIterator.at(100), [2, 3, 4, 5], EventIterator.after(1)),
]


@pytest.mark.parametrize(("checkpoint", "initial", "handled", "start"),
                         [r[1:] for r in START_RULES], ids=[r[0] for r in START_RULES])
def test_starting_position(checkpoint: int | None, initial: EventIterator, handled: list[int],
                           start: EventIterator) -> None:
    async def main() -> None:
        store = make_store()
        fill(store, 5)
        if checkpoint is not None:
            store.store_checkpoint("w", checkpoint)
        recorder = Recorder()
        async with trio.open_nursery() as nursery:
            watcher = Watcher("w", store, nursery, handler=recorder, initial_event_iterator=initial)
            assert watcher.stats().next_event_iterator == start
            assert watcher.stats().checkpoint_iterator == start
            watcher.start()
            await wait_next(watcher, 5)
            await watcher.stop()
        assert recorder.seqs == handled
        assert watcher.state is State.STOPPED
    run(main)


def test_a_failing_store_fails_watcher_creation() -> None:
    async def main() -> None:
        store = CountingStore(make_store(), fail_checkpoint=True)
        async with trio.open_nursery() as nursery:
            with pytest.raises(WatcherError, match="disk on fire") as info:
                Watcher("w", store, nursery, handler=Recorder())  # type: ignore[arg-type]
            assert isinstance(info.value.__cause__, OSError)
            assert info.value.watcher_id == "w"
    run(main)


@pytest.mark.parametrize(("initial", "expected"), [
    (EventIterator.trim_horizon(), EventIterator.after(0)),
    (EventIterator.latest(), EventIterator.after(0)),
    (EventIterator.at(1), EventIterator.after(0)),  # beyond latest (0) → after(latest)
    (EventIterator.after(0), EventIterator.after(0)),
    (EventIterator.after(1), EventIterator.after(0)),
], ids=str)
def test_empty_store_next_iterator_after_first_fetch(initial: EventIterator,
                                                     expected: EventIterator) -> None:
    async def main() -> None:
        store = make_store()
        async with trio.open_nursery() as nursery:
            watcher = Watcher("w", store, nursery, handler=Recorder(), initial_event_iterator=initial)
            watcher.start()
            await trio.sleep(5)
            assert watcher.stats().next_event_iterator == expected
            await watcher.stop()
    run(main)


def test_events_are_handled_in_order_and_stats_follow() -> None:
    async def main() -> None:
        store = make_store()
        fill(store, 2)
        recorder = Recorder()
        async with trio.open_nursery() as nursery:
            watcher = Watcher("w", store, nursery, handler=recorder)
            assert watcher.stats().state is State.IDLE
            watcher.start()
            await wait_next(watcher, 2)
            stats = watcher.stats()
            assert stats.id == "w" and stats.state is State.RUNNING
            assert stats.last_processed_seq_num == 2
            assert stats.last_processed_event_time == recorder.events[-1].timestamp
            assert stats.last_listen_time is not None
            await watcher.stop()
        assert recorder.seqs == [1, 2]
        assert watcher.stats().state is State.STOPPED
    run(main)


def test_filter_delivers_only_matching_events() -> None:
    async def main() -> None:
        store = make_store()
        store.store_event(Operation.CREATE, "StringObject", "test1")
        store.store_event(Operation.UPDATE, "StringObject", "test2")
        store.store_event(Operation.DELETE, "StringObject", "test3")
        store.store_event(Operation.CREATE, "StringObject", "test4")
        store.store_event(Operation.CREATE, "OtherStringObject", "test5")
        recorder = Recorder()
        event_filter = EventFilter(object_types=["StringObject"],
                                   operations=[Operation.CREATE, Operation.UPDATE])
        async with trio.open_nursery() as nursery:
            watcher = Watcher("w", store, nursery, handler=recorder, filter=event_filter)
            watcher.start()
            await wait_next(watcher, 5)
            await watcher.stop()
        assert recorder.seqs == [1, 2, 4]
        assert watcher.stats().last_processed_seq_num == 4
    run(main)


def test_a_new_watcher_resumes_after_its_checkpoint() -> None:
    async def main() -> None:
        store = make_store()
        fill(store, 2)
        first, second = Recorder(), Recorder()
        async with trio.open_nursery() as nursery:
            watcher = Watcher("w", store, nursery, handler=first)
            watcher.start()
            await wait_next(watcher, 2)
            watcher.checkpoint(1)
            await watcher.stop()
            assert store.get_checkpoint("w") == 1
            again = Watcher("w", store, nursery, handler=second)
            again.start()
            await wait_next(again, 2)
            await again.stop()
        assert first.seqs == [1, 2]
        assert second.seqs == [2]
    run(main)


def test_restart_replays_from_the_checkpoint_not_the_last_processed_event() -> None:
    async def main() -> None:
        store = make_store()
        fill(store, 4)
        recorder = Recorder()
        async with trio.open_nursery() as nursery:
            watcher = Watcher("w", store, nursery, handler=recorder)
            watcher.start()
            await wait_next(watcher, 4)
            watcher.checkpoint(2)
            await watcher.stop()
            watcher.start()
            assert watcher.stats().next_event_iterator == EventIterator.after(2)
            await wait_next(watcher, 4)
            await watcher.stop()
        assert recorder.seqs == [1, 2, 3, 4, 3, 4]
    run(main)


def test_seek_to_offset_re_handles_from_there() -> None:
    async def main() -> None:
        store = make_store()
        fill(store, 3)
        recorder = Recorder()
        async with trio.open_nursery() as nursery:
            watcher = Watcher("w", store, nursery, handler=recorder)
            watcher.start()
            await wait_next(watcher, 3)
            await watcher.seek_to_offset(2)
            assert store.get_checkpoint("w") == 2
            await wait_next(watcher, 3)
            await watcher.stop()
        assert recorder.seqs == [1, 2, 3, 3]
    run(main)


@pytest.mark.parametrize("batch_size", [1, 2, 10])
def test_fetch_count_is_ceil_n_over_batch_size_plus_one(batch_size: int) -> None:
    async def main() -> None:
        store = CountingStore(make_store())
        fill(store.store, 5)
        recorder = Recorder()
        async with trio.open_nursery() as nursery:
            watcher = Watcher("w", store, nursery, handler=recorder,  # type: ignore[arg-type]
                              batch_size=batch_size)
            watcher.start()
            await wait_next(watcher, 5)
            await watcher.stop()
        # One extra read is the long poll for events that have not been stored yet.
        assert store.fetches == math.ceil(5 / batch_size) + 1
        assert recorder.seqs == [1, 2, 3, 4, 5]
    run(main)


def test_events_stored_while_watching_arrive_in_order() -> None:
    async def main() -> None:
        store = make_store()
        recorder = Recorder()
        async with trio.open_nursery() as nursery:
            watcher = Watcher("w", store, nursery, handler=recorder, batch_size=7)
            watcher.start()
            await trio.sleep(0.5)
            for i in range(100):
                store.store_event(Operation.CREATE, "StringObject", f"t{i}")
                if i % 9 == 0:
                    await trio.sleep(0.1)
            await wait_next(watcher, 100)
            await watcher.stop()
        assert recorder.seqs == list(range(1, 101))
    run(main)


def test_events_stored_by_the_handler_itself_are_seen() -> None:
    async def main() -> None:
        store = make_store()
        seen: list[int] = []

        async def handler(event: Event) -> None:
            seen.append(event.seq_num)
            if event.seq_num == 1:
                fill(store, 2)

        fill(store, 2)
        async with trio.open_nursery() as nursery:
            watcher = Watcher("w", store, nursery, handler=handler, batch_size=2)
            watcher.start()
            await wait_next(watcher, 4)
            await watcher.stop()
        assert seen == [1, 2, 3, 4]
    run(main)
