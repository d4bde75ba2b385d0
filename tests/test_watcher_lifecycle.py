"""Watcher: states, handlers, retries (BLOCK, SKIP), fetch backoff, ephemeral, bad options."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from sim.sources.watcher import (
    CheckpointError,
    Event,
    EventHandlingError,
    EventIterator,
    EventStore,
    GetEventsRequest,
    GetEventsResponse,
    HandlerExists,
    InvalidArgumentError,
    JSONSerializer,
    NoHandler,
    Operation,
    RetryStrategy,
    State,
    Watcher,
    WatcherError,
    caused_by,
)
from tests.watcher_harness import fails_first, run, virtual_now


def make_store() -> EventStore:
    return EventStore(serializer=JSONSerializer({"S": str}), clock=virtual_now,
                      long_polling_timeout=1.0)


def fill(store: EventStore, n: int) -> None:
    for i in range(n):
        store.store_event(Operation.CREATE, "S", f"e{i + 1}")


async def wait_next(watcher: Watcher, seq: int) -> None:
    with trio.fail_after(600):
        while watcher.stats().next_event_iterator != EventIterator.after(seq):
            await trio.sleep(0.01)


async def nothing(event: Event) -> None:
    return None


def test_block_retries_a_failing_event_100_times_then_succeeds() -> None:
    async def main() -> None:
        store = make_store()
        fill(store, 2)
        calls: list[int] = []

        async with trio.open_nursery() as nursery:
            watcher = Watcher("w", store, nursery, handler=fails_first(calls, 1, 100), max_retries=3,
                              initial_backoff=1e-9, max_backoff=1e-9,
                              retry_strategy=RetryStrategy.BLOCK)
            watcher.start()
            await wait_next(watcher, 2)
            await watcher.stop()
        assert calls.count(1) == 101  # max_retries is ignored by BLOCK
        assert calls[-1] == 2
        assert watcher.stats().last_processed_seq_num == 2
    run(main)


def test_skip_makes_exactly_max_retries_calls_then_moves_on() -> None:
    async def main() -> None:
        store = make_store()
        fill(store, 2)
        calls: list[int] = []

        async def handler(event: Event) -> None:
            calls.append(event.seq_num)
            if event.seq_num == 1:
                raise RuntimeError("handling error")

        async with trio.open_nursery() as nursery:
            watcher = Watcher("w", store, nursery, handler=handler, max_retries=3,
                              initial_backoff=1e-9, retry_strategy="SKIP")
            watcher.start()
            await wait_next(watcher, 2)
            await watcher.stop()
        assert calls == [1, 1, 1, 2]
        assert watcher.stats().last_processed_seq_num == 2
        assert watcher.skipped_events == 1
        assert isinstance(watcher.last_error, EventHandlingError)
        assert watcher.last_error.event_id == 1
        assert isinstance(watcher.last_error.__cause__, RuntimeError)
    run(main)


def test_skip_sleeps_a_doubling_backoff_after_every_failure() -> None:
    async def main() -> None:
        store = make_store()
        fill(store, 1)
        times: list[float] = []

        async def handler(event: Event) -> None:
            times.append(trio.current_time())
            raise RuntimeError("no")

        async with trio.open_nursery() as nursery:
            watcher = Watcher("w", store, nursery, handler=handler, max_retries=4,
                              initial_backoff=1.0, max_backoff=3.0, retry_strategy="SKIP")
            watcher.start()
            await wait_next(watcher, 1)
            assert trio.current_time() >= times[0] + 1 + 2 + 3 + 3  # slept after the last too
            await watcher.stop()
        gaps = [round(b - a, 6) for a, b in zip(times, times[1:], strict=False)]
        assert gaps == [1.0, 2.0, 3.0]
    run(main)


class FlakyStore:
    """A store whose reads fail a given number of times first."""

    def __init__(self, store: EventStore, failures: int) -> None:
        self.store = store
        self.failures = failures
        self.attempts: list[float] = []

    async def get_events(self, request: GetEventsRequest) -> GetEventsResponse:
        self.attempts.append(trio.current_time())
        if len(self.attempts) <= self.failures:
            raise OSError("store unavailable")
        return await self.store.get_events(request)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def test_fetch_errors_are_retried_with_backoff_doubling_up_to_the_maximum() -> None:
    async def main() -> None:
        store = FlakyStore(make_store(), failures=6)
        fill(store.store, 1)
        seen: list[int] = []

        async def handler(event: Event) -> None:
            seen.append(event.seq_num)

        async with trio.open_nursery() as nursery:
            watcher = Watcher("w", store, nursery, handler=handler,  # type: ignore[arg-type]
                              initial_backoff=0.2, max_backoff=1.0)
            watcher.start()
            await wait_next(watcher, 1)
            assert isinstance(watcher.last_error, OSError)
            await watcher.stop()
        gaps = [round(b - a, 6) for a, b in zip(store.attempts, store.attempts[1:], strict=False)]
        assert gaps[:6] == [0.2, 0.4, 0.8, 1.0, 1.0, 1.0]
        assert seen == [1]
    run(main)


def test_cancellation_inside_the_handler_ends_the_loop() -> None:
    async def main() -> None:
        store = make_store()
        fill(store, 2)
        entered = trio.Event()

        async def handler(event: Event) -> None:
            entered.set()
            await trio.sleep_forever()

        async with trio.open_nursery() as nursery:
            watcher = Watcher("w", store, nursery, handler=handler)
            watcher.start()
            await entered.wait()
            await watcher.stop()
            assert watcher.state is State.STOPPED
            assert watcher.stats().last_processed_seq_num == 0
    run(main)


def test_outer_cancellation_stops_the_watcher() -> None:
    async def main() -> None:
        store = make_store()
        with trio.move_on_after(5):
            async with trio.open_nursery() as nursery:
                watcher = Watcher("w", store, nursery, handler=nothing)
                watcher.start()
        assert watcher.state is State.STOPPED
    run(main)


def test_start_requires_a_handler_and_a_stopped_or_idle_state() -> None:
    async def main() -> None:
        store = make_store()
        async with trio.open_nursery() as nursery:
            watcher = Watcher("w", store, nursery)
            with pytest.raises(WatcherError) as info:
                watcher.start()
            assert caused_by(info.value, NoHandler)
            watcher.set_handler(nothing)
            with pytest.raises(HandlerExists):
                watcher.set_handler(nothing)
            watcher.start()
            with pytest.raises(WatcherError, match="cannot start watcher in state RUNNING"):
                watcher.start()
            await watcher.stop()
            await watcher.stop()  # stopping twice is fine
            assert watcher.state is State.STOPPED
    run(main)


def test_none_handler_is_an_error() -> None:
    async def main() -> None:
        async with trio.open_nursery() as nursery:
            watcher = Watcher("w", make_store(), nursery)
            with pytest.raises(InvalidArgumentError, match="handler cannot be None"):
                watcher.set_handler(None)  # type: ignore[arg-type]
    run(main)


def test_ephemeral_watchers_never_checkpoint_and_replay_from_their_initial_iterator() -> None:
    async def main() -> None:
        store = make_store()
        fill(store, 3)
        store.store_checkpoint("e", 2)  # ignored by an ephemeral watcher
        seen: list[int] = []

        async def handler(event: Event) -> None:
            seen.append(event.seq_num)

        async with trio.open_nursery() as nursery:
            watcher = Watcher("e", store, nursery, handler=handler, ephemeral=True,
                              initial_event_iterator=EventIterator.after(1))
            watcher.start()
            await wait_next(watcher, 3)
            with pytest.raises(CheckpointError, match="ephemeral"):
                watcher.checkpoint(3)
            await watcher.stop()
            watcher.start()
            await wait_next(watcher, 3)
            await watcher.stop()
        assert seen == [2, 3, 2, 3]
        assert store.get_checkpoint("e") == 2  # untouched
    run(main)


def test_seek_to_offset_moves_an_ephemeral_watcher_without_storing_a_checkpoint() -> None:
    """bacalhau's SeekToOffset: an ephemeral watcher only moves its in-memory checkpoint
    iterator and restarts (a stored checkpoint is for durable watchers); a later restart
    resumes after the sought seq too."""
    async def main() -> None:
        store = make_store()
        fill(store, 4)
        seen: list[int] = []

        async def handler(event: Event) -> None:
            seen.append(event.seq_num)

        async with trio.open_nursery() as nursery:
            watcher = Watcher("e", store, nursery, handler=handler, ephemeral=True)
            watcher.start()
            await wait_next(watcher, 4)
            await watcher.seek_to_offset(2)
            await wait_next(watcher, 4)
            await watcher.stop()
            watcher.start()
            await wait_next(watcher, 4)
            await watcher.stop()
            assert watcher.stats().checkpoint_iterator == EventIterator.after(2)
        assert seen == [1, 2, 3, 4, 3, 4, 3, 4]
        with pytest.raises(CheckpointError):
            store.get_checkpoint("e")  # nothing stored
    run(main)


@pytest.mark.parametrize(("options", "message"), [
    ({"batch_size": 0}, "batch_size must be an integer >= 1, got 0"),
    ({"initial_backoff": 2.0, "max_backoff": 1.0},
     r"max_backoff \(1.0s\) must be >= initial_backoff \(2.0s\)"),
    ({"max_retries": 0}, "max_retries must be an integer >= 1"),
    ({"retry_strategy": "PANIC"}, "retry_strategy must be one of BLOCK, SKIP"),
    ({"buffer_size": -1}, "buffer_size must be an integer >= 1"),
    ({"bacth_size": 5}, "unknown watch option 'bacth_size'"),
    ({"initial_event_iterator": "latest"}, "initial_event_iterator must be an EventIterator"),
])
def test_bad_watch_options_are_clear_errors(options: dict[str, Any], message: str) -> None:
    async def main() -> None:
        store = make_store()
        async with trio.open_nursery() as nursery:
            with pytest.raises(InvalidArgumentError, match=message):
                Watcher("w", store, nursery, handler=nothing, **options)
    run(main)


def test_unknown_iterator_type_is_a_clear_error() -> None:
    with pytest.raises(InvalidArgumentError, match="unknown event iterator type 'SIDEWAYS'"):
        EventIterator("SIDEWAYS", 1)  # type: ignore[arg-type]
