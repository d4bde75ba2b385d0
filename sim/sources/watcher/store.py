"""EventStore: the durable, ordered event log on SQLite (the original's BoltDB store).

One store owns one SQLite connection (a file in WAL mode, or ``":memory:"``). Writes happen
in transactions (``store_event`` opens its own; ``transaction()`` lets a caller store many
events, and write its own tables, atomically). Reads long-poll: a reader with nothing to read
waits on a trio event that every commit sets, and on a file store also polls the sequence
high-water mark at most every ``poll_interval`` so a writer in another process wakes it.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import trio

from sim.engine.sleep import sleep
from sim.sources.watcher.cache import EventCache
from sim.sources.watcher.errors import (
    CheckpointError,
    CheckpointNotFound,
    InvalidArgumentError,
    StoreClosedError,
)
from sim.sources.watcher.gc import GCPolicy, collect_garbage
from sim.sources.watcher.serializer import JSONSerializer, Serializer
from sim.sources.watcher.transaction import Transaction
from sim.sources.watcher.types import (
    Event,
    EventFilter,
    EventIterator,
    GetEventsRequest,
    GetEventsResponse,
    IteratorType,
)

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")


def utc_now() -> datetime:
    """The real library's default clock. The simulator always passes its own."""
    return datetime.now(UTC)


def _seconds(name: str, value: float | timedelta, *, allow_zero: bool) -> float:
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgumentError(f"{name} must be a duration in seconds, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise InvalidArgumentError(f"{name} must be {bound} seconds, got {value!r}")
    return float(value)


def _table_name(name: str, value: object) -> str:
    if not isinstance(value, str) or not _IDENTIFIER.match(value):
        raise InvalidArgumentError(
            f"{name} must be a plain SQL identifier (letters, digits, _), got {value!r}")
    return value


class EventStore:
    """A durable ordered log of events plus per-watcher checkpoints, on SQLite."""

    def __init__(
        self,
        path: str | os.PathLike[str] = ":memory:",
        *,
        events_table: str = "events",
        checkpoint_table: str = "checkpoints",
        serializer: Serializer | None = None,
        cache_size: int = 1000,
        long_polling_timeout: float | timedelta = 10.0,
        gc_age_threshold: float | timedelta = 86400.0,
        gc_cadence: float | timedelta = 600.0,
        gc_max_records_per_run: int = 1000,
        gc_max_duration: float | timedelta = 10.0,
        clock: Callable[[], datetime] | None = None,
        poll_interval: float | timedelta = 0.1,
        synchronous: str = "FULL",
    ) -> None:
        # Validate everything before touching the database: bad input changes nothing.
        self.events_table = _table_name("events_table", events_table)
        self.checkpoint_table = _table_name("checkpoint_table", checkpoint_table)
        if self.events_table == self.checkpoint_table:
            raise InvalidArgumentError("events_table and checkpoint_table must differ")
        self._cache = EventCache(cache_size)
        self.long_polling_timeout = _seconds("long_polling_timeout", long_polling_timeout,
                                             allow_zero=True)
        if isinstance(gc_max_records_per_run, bool) or not isinstance(gc_max_records_per_run, int):
            raise InvalidArgumentError(
                f"gc_max_records_per_run must be an integer > 0, got {gc_max_records_per_run!r}")
        self.gc_policy = GCPolicy(
            age_threshold=_seconds("gc_age_threshold", gc_age_threshold, allow_zero=True),
            cadence=_seconds("gc_cadence", gc_cadence, allow_zero=False),
            max_records_per_run=gc_max_records_per_run,
            max_duration=_seconds("gc_max_duration", gc_max_duration, allow_zero=False),
        )
        self.poll_interval = _seconds("poll_interval", poll_interval, allow_zero=False)
        if synchronous not in _SYNCHRONOUS:
            raise InvalidArgumentError(
                f"synchronous must be one of {', '.join(_SYNCHRONOUS)}, got {synchronous!r}")
        if serializer is not None and not (hasattr(serializer, "marshal")
                                           and hasattr(serializer, "unmarshal")):
            raise InvalidArgumentError(f"serializer must have marshal/unmarshal, got {serializer!r}")
        self.serializer: Serializer = serializer if serializer is not None else JSONSerializer()
        self._clock = clock if clock is not None else utc_now
        self.path = os.fspath(path)
        # Only a file can be written by another process, so only a file store polls it.
        self.shared = self.path != ":memory:" and not self.path.startswith("file::memory:")

        self._conn = sqlite3.connect(self.path, isolation_level=None, uri=self.path.startswith("file:"))
        try:
            self._open_schema(synchronous)
        except BaseException:
            self._conn.close()
            raise
        self._latest = self._read_latest()
        self._closed = False
        self._wakeup = trio.Event()
        self._waiters = 0
        self._gc_scopes: list[trio.CancelScope] = []
        self.gc_runs = 0
        self.gc_deleted = 0

    def _open_schema(self, synchronous: str) -> None:
        if self.shared:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA busy_timeout=5000")
        self._conn.execute(f"PRAGMA synchronous={synchronous}")
        self._conn.execute(
            f"CREATE TABLE IF NOT EXISTS {self.events_table} ("
            "seq INTEGER PRIMARY KEY AUTOINCREMENT, operation TEXT NOT NULL, "
            "object_type TEXT NOT NULL, ts_ns INTEGER NOT NULL, data BLOB NOT NULL)")
        self._conn.execute(
            f"CREATE TABLE IF NOT EXISTS {self.checkpoint_table} ("
            "watcher_id TEXT PRIMARY KEY, seq INTEGER NOT NULL)")

    def _read_latest(self) -> int:
        # The last stored event's seq, as bacalhau reads its bucket's last key on open: 0
        # once GC collected every event.
        row = self._conn.execute(f"SELECT MAX(seq) FROM {self.events_table}").fetchone()
        return int(row[0]) if row[0] is not None else 0

    def _high_water(self) -> int:
        # The last seq ever stored, even if GC deleted it: a new event never reuses one
        # (AUTOINCREMENT's mark, as Bolt's NextSequence).
        row = self._conn.execute("SELECT seq FROM sqlite_sequence WHERE name = ?",
                                 (self.events_table,)).fetchone()
        return int(row[0]) if row is not None else 0

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosedError()

    # -- writing ------------------------------------------------------------------------
    def now(self) -> datetime:
        """The store's clock: what event timestamps and GC ages are measured with."""
        return self._clock()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Open a write transaction; events stored in it become visible only on commit.

        Use ``tx.store_event(...)`` / ``tx.store_events(...)`` for events and ``tx.execute``
        for your own tables. An exception rolls everything back and consumes no seq.
        """
        self._check_open()
        if self._conn.in_transaction:
            raise InvalidArgumentError(
                "a transaction is already open on this store; store inside it with tx.store_event()")
        self._conn.execute("BEGIN IMMEDIATE")
        tx = Transaction(self._conn, self.events_table, self.serializer, self._clock,
                         self._high_water() + 1)
        try:
            yield tx
            tx.close()
            self._conn.execute("COMMIT")
        except BaseException:
            tx.close()
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise
        self._committed(tx.stored)

    def store_event(self, operation: Any, object_type: str, object: Any) -> Event:
        """Store one event in its own transaction and return it (with its seq and timestamp)."""
        with self.transaction() as tx:
            return tx.store_event(operation, object_type, object)

    def store_events(self, items: Iterable[tuple[Any, str, Any]]) -> list[Event]:
        """Store many ``(operation, object_type, object)`` events in one transaction."""
        with self.transaction() as tx:
            return tx.store_events(items)

    @staticmethod
    def store_event_tx(tx: Transaction, operation: Any, object_type: str, object: Any) -> Event:
        """Store one event inside the caller's open transaction (``store.transaction()``)."""
        return tx.store_event(operation, object_type, object)

    def _committed(self, events: list[Event]) -> None:
        if not events:
            return
        for event in events:
            self._cache.add(event)
        self._latest = max(self._latest, events[-1].seq_num)
        self._wake_waiters()

    def _wake_waiters(self) -> None:
        # One event per generation: setting it wakes every waiter, not just one.
        if self._waiters:
            self._wakeup.set()
            self._wakeup = trio.Event()

    # -- checkpoints ----------------------------------------------------------------------
    def store_checkpoint(self, watcher_id: str, seq: int) -> None:
        """Record that ``watcher_id`` has handled everything up to and including ``seq``."""
        self._check_open()
        if not isinstance(watcher_id, str) or not watcher_id:
            raise InvalidArgumentError(f"watcher id must be a non-empty string, got {watcher_id!r}")
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
            raise InvalidArgumentError(f"checkpoint must be an integer >= 0, got {seq!r}")
        self._conn.execute(
            f"INSERT INTO {self.checkpoint_table} (watcher_id, seq) VALUES (?, ?) "
            "ON CONFLICT(watcher_id) DO UPDATE SET seq = excluded.seq", (watcher_id, seq))

    def get_checkpoint(self, watcher_id: str) -> int:
        """The stored checkpoint; ``CheckpointError`` caused by ``CheckpointNotFound`` if none."""
        self._check_open()
        row = self._conn.execute(f"SELECT seq FROM {self.checkpoint_table} WHERE watcher_id = ?",
                                 (watcher_id,)).fetchone()
        if row is None:
            raise CheckpointError(watcher_id, CheckpointNotFound())
        return int(row[0])

    # -- reading --------------------------------------------------------------------------
    def get_latest_event_num(self) -> int:
        """The seq of the last event stored (0 for an empty log; on open, 0 again if GC
        collected every event, as bacalhau reads it)."""
        self._check_open()
        if self.shared:
            self._latest = max(self._latest, self._read_latest())
        return self._latest

    @property
    def latest_event_num(self) -> int:
        return self.get_latest_event_num()

    async def get_events(self, request: GetEventsRequest) -> GetEventsResponse:
        """Read events from ``request.event_iterator``, long-polling when there are none.

        Returns at once if there are events or the iterator resolved to something new;
        otherwise waits for a store, the long-polling timeout (empty result) or ``close()``
        (empty result); a store that brings nothing for this request starts the wait over.
        Cancellation propagates.
        """
        self._check_open()
        if not isinstance(request, GetEventsRequest):
            raise InvalidArgumentError(f"expected a GetEventsRequest, got {request!r}")
        while True:
            wakeup = self._wakeup
            response, seen_latest = self._read(request)
            if response.events or response.next_event_iterator != request.event_iterator:
                return response
            # a fresh timeout at every pass, as bacalhau's select on clock.After
            deadline = trio.current_time() + self.long_polling_timeout
            if not await self._wait_for_new_events(wakeup, seen_latest, deadline):
                return response

    async def _wait_for_new_events(self, wakeup: trio.Event, seen_latest: int,
                                   deadline: float) -> bool:
        """Wait until something may have been stored; False on timeout or close."""
        self._waiters += 1
        try:
            while not self._closed:
                remaining = deadline - trio.current_time()
                if remaining <= 0:
                    return False
                step = min(remaining, self.poll_interval) if self.shared else remaining
                with trio.move_on_after(step):
                    await wakeup.wait()
                if self._closed:
                    return False
                if wakeup.is_set():
                    return True
                if self.shared and self._read_latest() != seen_latest:
                    return True  # another process stored an event
            return False
        finally:
            self._waiters -= 1

    def _read(self, request: GetEventsRequest) -> tuple[GetEventsResponse, int]:
        # A file may change under us: read the high-water mark and the rows in one snapshot.
        own_snapshot = self.shared and not self._conn.in_transaction
        if own_snapshot:
            self._conn.execute("BEGIN")
        try:
            latest = self._read_latest() if self.shared else self._latest
            self._latest = max(self._latest, latest)
            return self._scan(request, latest), latest
        finally:
            if own_snapshot:
                self._conn.execute("COMMIT")

    def _scan(self, request: GetEventsRequest, latest: int) -> GetEventsResponse:
        iterator = request.event_iterator
        if iterator.type is IteratorType.TRIM_HORIZON:
            iterator = EventIterator.after(0)
        elif iterator.type is IteratorType.LATEST:
            iterator = EventIterator.after(latest)
        first = iterator.sequence_number
        if iterator.type is IteratorType.AFTER_SEQUENCE_NUMBER:
            first += 1
        where, params = _filter_sql(request.filter)
        rows = self._conn.execute(
            f"SELECT seq, data FROM {self.events_table} WHERE seq >= ?{where} "
            "ORDER BY seq LIMIT ?", (first, *params, request.limit or -1)).fetchall()
        # The next read continues after the last event *scanned*, matching or not.
        if rows and (not where or len(rows) == request.limit):
            last_scanned: int | None = rows[-1][0]
        elif where:
            row = self._conn.execute(f"SELECT max(seq) FROM {self.events_table} WHERE seq >= ?",
                                     (first,)).fetchone()
            last_scanned = row[0]
        else:
            last_scanned = None
        events = []
        for seq, data in rows:
            cached = self._cache.get(seq)
            events.append(cached if cached is not None else self.serializer.unmarshal(data))
        next_iterator = EventIterator.after(last_scanned) if last_scanned is not None else iterator
        return GetEventsResponse(tuple(events), next_iterator)

    # -- garbage collection and shutdown ----------------------------------------------------
    def run_gc(self) -> list[int]:
        """Run one garbage collection now; returns the deleted seqs."""
        self._check_open()
        deleted = collect_garbage(self._conn, self.events_table, self.checkpoint_table,
                                  self.gc_policy, self._clock)
        self.gc_runs += 1
        self.gc_deleted += len(deleted)
        return deleted

    async def run_gc_loop(self) -> None:
        """Collect every ``gc_cadence`` until ``close()`` or cancellation (start it in a nursery).

        Returns at once when GC is disabled (``gc_age_threshold`` 0).
        """
        if not self.gc_policy.enabled:
            return
        with trio.CancelScope() as scope:
            self._gc_scopes.append(scope)
            if self._closed:
                scope.cancel()
            while True:
                await sleep(self.gc_policy.cadence)
                self.run_gc()

    def close(self) -> None:
        """Stop GC, release every waiter with an empty result and drop the cache. Idempotent."""
        if self._closed:
            return
        self._closed = True
        for scope in self._gc_scopes:
            scope.cancel()
        self._wakeup.set()
        self._cache.clear()
        self._conn.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> EventStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"EventStore({self.path!r}, latest={self._latest}, closed={self._closed})"


def _filter_sql(event_filter: EventFilter) -> tuple[str, list[str]]:
    clauses = []
    params: list[str] = []
    if event_filter.object_types:
        clauses.append(f" AND object_type IN ({','.join('?' * len(event_filter.object_types))})")
        params.extend(event_filter.object_types)
    if event_filter.operations:
        clauses.append(f" AND operation IN ({','.join('?' * len(event_filter.operations))})")
        params.extend(op.value for op in event_filter.operations)
    return "".join(clauses), params
