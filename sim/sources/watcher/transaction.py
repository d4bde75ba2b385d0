"""A write transaction on an event store: store events and your own rows atomically."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sim.sources.watcher.errors import InvalidArgumentError
from sim.sources.watcher.serializer import Serializer, to_unix_nanos
from sim.sources.watcher.types import Event, Operation


def _operation(value: Any) -> Operation:
    try:
        return Operation(value)
    except ValueError:
        known = ", ".join(o.value for o in Operation)
        raise InvalidArgumentError(f"unknown operation {value!r}; expected one of {known}") from None


def _object_type(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidArgumentError(f"object type must be a non-empty string, got {value!r}")
    return value


class Transaction:
    """An open ``BEGIN IMMEDIATE`` transaction, handed out by ``EventStore.transaction()``.

    Sequence numbers are assigned here, from the high-water mark read when the transaction
    began: the write lock is held, so no other writer can take them, and a rollback gives
    them back because nothing was committed.
    """

    def __init__(self, conn: sqlite3.Connection, events_table: str, serializer: Serializer,
                 clock: Callable[[], datetime], next_seq: int) -> None:
        self._conn = conn
        self._insert = (f"INSERT INTO {events_table} (seq, operation, object_type, ts_ns, data) "
                        "VALUES (?, ?, ?, ?, ?)")
        self._serializer = serializer
        self._clock = clock
        self._next_seq = next_seq
        self._open = True
        self.stored: list[Event] = []

    def _check_open(self) -> None:
        if not self._open:
            raise InvalidArgumentError("this transaction has already ended")

    @property
    def connection(self) -> sqlite3.Connection:
        """The store's connection, inside this transaction (for the caller's own tables)."""
        return self._conn

    def execute(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
        """Run the caller's own SQL inside this transaction."""
        self._check_open()
        return self._conn.execute(sql, tuple(params))

    def _event(self, seq: int, operation: Any, object_type: Any, obj: Any) -> tuple[Event, tuple]:
        event = Event(seq, _operation(operation), _object_type(object_type), obj, self._clock())
        data = self._serializer.marshal(event)
        row = (seq, event.operation.value, event.object_type, to_unix_nanos(event.timestamp), data)
        return event, row

    def store_event(self, operation: Any, object_type: str, object: Any) -> Event:
        """Store one event; it becomes visible (cache, latest, waiters) when this commits."""
        self._check_open()
        event, row = self._event(self._next_seq, operation, object_type, object)
        self._conn.execute(self._insert, row)
        self._next_seq += 1
        self.stored.append(event)
        return event

    def store_events(self, items: Iterable[tuple[Any, str, Any]]) -> list[Event]:
        """Store many ``(operation, object_type, object)`` events with one batched insert."""
        self._check_open()
        events: list[Event] = []
        rows: list[tuple] = []
        seq = self._next_seq
        for operation, object_type, obj in items:
            event, row = self._event(seq, operation, object_type, obj)
            events.append(event)
            rows.append(row)
            seq += 1
        self._conn.executemany(self._insert, rows)
        self._next_seq = seq
        self.stored.extend(events)
        return events

    def close(self) -> None:
        self._open = False
