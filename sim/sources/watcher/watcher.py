"""Watcher: reads the event log in order and hands each event to a handler.

A watcher's loop runs as a task in a nursery it is given: fetch a batch (retrying store
errors with exponential backoff, forever), handle its events one at a time (BLOCK: retry a
failing event forever; SKIP: give up after ``max_retries`` calls), then advance its position.
Progress is made durable only by ``checkpoint(seq)``; every start replays from the last
checkpoint, so a handler must tolerate seeing events again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import trio

from sim.engine.sleep import sleep
from sim.sources.watcher.errors import (
    CheckpointError,
    CheckpointNotFound,
    EventHandlingError,
    HandlerExists,
    InvalidArgumentError,
    NoHandler,
    WatcherError,
    caused_by,
)
from sim.sources.watcher.options import WatchOptions
from sim.sources.watcher.types import (
    Event,
    EventHandler,
    EventIterator,
    GetEventsRequest,
    GetEventsResponse,
    IteratorType,
    RetryStrategy,
    State,
    Stats,
    WatchableStore,
)

HandlerLike = EventHandler | Callable[[Event], Awaitable[None]]


class _FunctionHandler:
    """Adapts a plain ``async def f(event)`` to the EventHandler protocol."""

    def __init__(self, function: Callable[[Event], Awaitable[None]]) -> None:
        self.function = function

    async def handle_event(self, event: Event) -> None:
        await self.function(event)


def as_handler(handler: object) -> EventHandler:
    """An EventHandler from a handler object or an async function; rejects anything else."""
    if handler is None:
        raise InvalidArgumentError("handler cannot be None")
    if hasattr(handler, "handle_event"):
        return handler  # type: ignore[return-value]
    if callable(handler):
        return _FunctionHandler(handler)  # type: ignore[arg-type]
    raise InvalidArgumentError(
        f"handler must have an async handle_event(event) method or be an async function, "
        f"got {handler!r}")


class Watcher:
    """One consumer of an event store, identified by ``watcher_id`` (its checkpoint key)."""

    def __init__(self, watcher_id: str, store: WatchableStore, nursery: trio.Nursery, *,
                 handler: HandlerLike | None = None, **options: Any) -> None:
        if not isinstance(watcher_id, str) or not watcher_id:
            raise InvalidArgumentError(f"watcher id must be a non-empty string, got {watcher_id!r}")
        self.id = watcher_id
        self.options = WatchOptions.create(**options)
        self._store = store
        self._nursery = nursery
        self._handler: EventHandler | None = None
        self._state = State.IDLE
        self._scope: trio.CancelScope | None = None
        self._stopped = trio.Event()
        self._stopped.set()
        self._last_seq = 0
        self._last_event_time: datetime | None = None
        self._last_listen_time: datetime | None = None
        self.last_error: BaseException | None = None
        self.skipped_events = 0
        start = self._starting_iterator(self.options.initial_event_iterator)
        self._checkpoint_iterator = start
        self._next_iterator = start
        if handler is not None:
            self.set_handler(handler)

    def _starting_iterator(self, initial: EventIterator) -> EventIterator:
        try:
            if not self.options.ephemeral:
                try:
                    return EventIterator.after(self._store.get_checkpoint(self.id))
                except Exception as error:
                    if not caused_by(error, CheckpointNotFound):
                        raise
            if initial.type is IteratorType.TRIM_HORIZON:
                return initial
            latest = self._store.get_latest_event_num()
        except Exception as error:
            raise WatcherError(self.id, error) from error
        if initial.type is IteratorType.LATEST or initial.sequence_number > latest:
            return EventIterator.after(latest)
        return initial

    # -- configuration ------------------------------------------------------------------
    @property
    def state(self) -> State:
        return self._state

    @property
    def ephemeral(self) -> bool:
        return self.options.ephemeral

    def set_handler(self, handler: HandlerLike) -> None:
        """Give the watcher its handler; it can be set only once (``HandlerExists``)."""
        checked = as_handler(handler)
        if self._handler is not None:
            raise HandlerExists()
        self._handler = checked

    def stats(self) -> Stats:
        return Stats(
            id=self.id,
            state=self._state,
            next_event_iterator=self._next_iterator,
            checkpoint_iterator=self._checkpoint_iterator,
            last_processed_seq_num=self._last_seq,
            last_processed_event_time=self._last_event_time,
            last_listen_time=self._last_listen_time,
        )

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> None:
        """Start the loop from the checkpoint iterator, as a task in the watcher's nursery."""
        if self._state not in (State.IDLE, State.STOPPED):
            raise WatcherError(self.id, RuntimeError(f"cannot start watcher in state {self._state}"))
        if self._handler is None:
            raise WatcherError(self.id, NoHandler())
        self._next_iterator = self._checkpoint_iterator
        self._state = State.RUNNING
        self._scope = scope = trio.CancelScope()
        self._stopped = stopped = trio.Event()
        self._nursery.start_soon(self._run, scope, stopped, name=f"watcher {self.id}")

    async def stop(self) -> None:
        """Stop the loop and wait until it has ended. Stopping a stopped watcher does nothing."""
        if self._state in (State.IDLE, State.STOPPED):
            self._state = State.STOPPED
            return
        self._state = State.STOPPING
        if self._scope is not None:
            self._scope.cancel()
        await self._stopped.wait()

    async def wait_stopped(self) -> None:
        """Wait until the loop has ended (it ends only by ``stop()`` or cancellation)."""
        await self._stopped.wait()

    # -- progress -------------------------------------------------------------------------
    def checkpoint(self, seq: int) -> None:
        """Durably record that everything up to ``seq`` is handled; restarts resume after it."""
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
            raise InvalidArgumentError(f"checkpoint must be an integer >= 0, got {seq!r}")
        if self.options.ephemeral:
            raise CheckpointError(self.id, InvalidArgumentError("ephemeral watchers do not checkpoint"))
        try:
            self._store.store_checkpoint(self.id, seq)
        except CheckpointError:
            raise
        except Exception as error:
            raise CheckpointError(self.id, error) from error
        self._checkpoint_iterator = EventIterator.after(seq)

    async def seek_to_offset(self, seq: int) -> None:
        """Stop, checkpoint ``seq`` and start again: the next event handled is the one after it.
        An ephemeral watcher stores nothing: it only moves its in-memory checkpoint, so
        later restarts also resume after ``seq`` (bacalhau's SeekToOffset)."""
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
            raise InvalidArgumentError(f"checkpoint must be an integer >= 0, got {seq!r}")
        await self.stop()
        if self.options.ephemeral:
            self._checkpoint_iterator = EventIterator.after(seq)
        else:
            self.checkpoint(seq)
        self.start()

    # -- the loop -------------------------------------------------------------------------
    async def _run(self, scope: trio.CancelScope, stopped: trio.Event) -> None:
        try:
            with scope:
                while True:
                    response = await self._fetch_with_backoff()
                    for event in response.events:
                        if await self._handle_with_retry(event):
                            self._last_seq = event.seq_num
                            self._last_event_time = event.timestamp
                    self._next_iterator = response.next_event_iterator
        finally:
            if self._scope is scope:  # a newer run may already own the state
                self._state = State.STOPPED
            stopped.set()

    async def _fetch_with_backoff(self) -> GetEventsResponse:
        backoff = self.options.initial_backoff
        request = GetEventsRequest(self._next_iterator, self.options.batch_size,
                                   self.options.filter, self.id)
        while True:
            try:
                response = await self._store.get_events(request)
                self._last_listen_time = self._store.now()
                return response
            except Exception as error:
                # Store errors are retried forever: giving up would silently lose events.
                self.last_error = error
            await sleep(backoff)
            backoff = min(backoff * 2, self.options.max_backoff)

    async def _handle_with_retry(self, event: Event) -> bool:
        """Handle one event; False if SKIP gave up on it."""
        assert self._handler is not None
        backoff = self.options.initial_backoff
        attempts = 0
        while True:
            try:
                await self._handler.handle_event(event)
                return True
            except Exception as error:
                attempts += 1
                failure: Exception = error
                self.last_error = error
            await sleep(backoff)
            backoff = min(backoff * 2, self.options.max_backoff)
            if self.options.retry_strategy is RetryStrategy.SKIP and \
                    attempts >= self.options.max_retries:
                self.last_error = EventHandlingError(self.id, event.seq_num, failure)
                self.skipped_events += 1
                return False

    def __repr__(self) -> str:
        return f"Watcher({self.id!r}, state={self._state}, next={self._next_iterator})"
