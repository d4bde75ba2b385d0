"""The event store of a node whose "disk" is memory (``validators.storage = "memory"``).

Same contract as the SQLite ``EventStore`` (reads in the order events were first stored, the
rowid order; a stored id is ignored when stored again; block effects and the height land
together), kept in Python dicts: with a hundred nodes each storing every event, the SQL
round trips were a tenth of a listener-heavy run. Every write is complete when it returns,
so a crash keeps everything: there is nothing to snapshot. ``tests/test_eventstore.py``
runs every contract test on both stores and compares them over random operation sequences.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from node.eventstore import EventStore, StoredEvent


class MemoryEventStore(EventStore):
    """One node's events and KV in memory."""

    def __init__(self, is_known_type: Callable[[str], bool], is_processed: Callable[[str], bool]) -> None:
        # no SQLite connection: every method that used one is replaced below
        self.crashed = False
        self._is_known_type = is_known_type
        self._is_processed = is_processed
        self.may_have_unvoted = True
        self._height = 0
        self._events: dict[str, StoredEvent] = {}  # in rowid order: a new id goes last
        self._rowid: dict[str, int] = {}
        self._next_rowid = 0
        # ids neither received nor broadcasted (0.7's vote candidates), by rowid when sorted
        self._unvoted: dict[str, None] = {}
        self._unvoted_sorted = True
        self._kv: dict[str, bytes] = {}

    def close(self) -> None:
        pass  # nothing is held outside the process

    def crash(self) -> None:
        self.crashed = True

    def recover(self) -> None:
        if self.crashed:
            self.may_have_unvoted = True
            self.crashed = False

    # -- rows ------------------------------------------------------------------------------
    def _put(self, event: StoredEvent) -> None:
        """Replace a row's flags, keeping the unvoted index in step."""
        rid = event.id
        self._events[rid] = event
        if event.received or event.broadcasted:
            self._unvoted.pop(rid, None)
        elif rid not in self._unvoted:
            if self._unvoted and self._rowid[next(reversed(self._unvoted))] > self._rowid[rid]:
                self._unvoted_sorted = False
            self._unvoted[rid] = None

    def _drop(self, rid: str) -> None:
        if self._events.pop(rid, None) is not None:
            del self._rowid[rid]
            self._unvoted.pop(rid, None)

    def _set_flags(self, rid: str, *, received: bool | None = None, broadcasted: bool | None = None) -> None:
        event = self._events.get(rid)
        if event is None:
            return  # like an UPDATE that matches no row
        self._put(StoredEvent(event.id, event.data, event.event_type,
                              event.received if received is None else received,
                              event.broadcasted if broadcasted is None else broadcasted))

    # -- events ------------------------------------------------------------------------
    def _insert(self, rid: str, data: bytes, event_type: str) -> None:
        if rid not in self._events:
            self._next_rowid += 1
            self._rowid[rid] = self._next_rowid
            # the type interned as the SQLite store reads it back (the id is interned already)
            self._put(StoredEvent(rid, data, sys.intern(event_type), False, False))

    def get_unreceived_events(self, limit: int | None = None) -> list[StoredEvent]:
        if not self._unvoted_sorted:
            order = sorted(self._unvoted, key=self._rowid.__getitem__)
            self._unvoted = dict.fromkeys(order)
            self._unvoted_sorted = True
        events = self._events
        ids = list(self._unvoted)
        if limit is not None and int(limit) >= 0:  # SQLite reads a negative LIMIT as none
            ids = ids[:int(limit)]
        return [events[rid] for rid in ids]

    def get_events(self) -> list[StoredEvent]:
        return list(self._events.values())

    def broadcasted_ids(self) -> list[str]:
        return [e.id for e in self._events.values() if e.broadcasted]

    def get_event(self, rid: str) -> StoredEvent | None:
        return self._events.get(rid)

    def has_event(self, rid: str) -> bool:
        return rid in self._events

    def count(self) -> int:
        return len(self._events)

    def mark_broadcasted(self, ids: list[str]) -> None:
        for rid in ids:
            self._set_flags(rid, broadcasted=True)

    def mark_rebroadcast(self, ids: list[str]) -> None:
        self.may_have_unvoted = True
        for rid in ids:
            self._set_flags(rid, broadcasted=False)

    def mark_received(self, rid: str) -> None:
        self._set_flags(rid, received=True)

    def delete_event(self, rid: str) -> None:
        self._drop(rid)

    def apply_block_effects(self, height: int, effects: list[tuple[str, str]],
                            delete_ids: list[str]) -> None:
        # Nothing here can fail half-way, so the effects and the height land together.
        self._height = height
        for action, rid in effects:
            if action == "delete":
                self._drop(rid)
        for rid in delete_ids:
            self._drop(rid)
        for action, rid in effects:
            if action != "delete":
                self._set_flags(rid, received=True)

    # -- KV ---------------------------------------------------------------------------
    def kv_get(self, key: str) -> bytes | None:
        return self._kv.get(key)

    def kv_set(self, key: str, value: bytes) -> None:
        self._kv[key] = bytes(value)

    def kv_delete(self, key: str) -> None:
        self._kv.pop(key, None)
