"""The per-node event store: events a node's listeners saw, and their KV (kwil's voting store).

It lives outside consensus, on the node's own SQLite database (its "disk"): a crash loses
the node's tasks, never a committed row. Names follow kwil's (snake_case).
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable

import attrs

from node.txs import event_id

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY,
    data BLOB NOT NULL,
    event_type TEXT NOT NULL,
    received INTEGER NOT NULL DEFAULT 0,
    broadcasted INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value BLOB NOT NULL);
"""


@attrs.frozen
class StoredEvent:
    id: str
    data: bytes
    event_type: str
    received: bool
    broadcasted: bool


def _connect(path: str) -> sqlite3.Connection:
    """A connection in autocommit mode that does not sync to the physical disk.

    The store's "disk" has to outlive a simulated crash (its connection closed, another one
    opened), which every committed write does once SQLite hands it to the operating system;
    it never has to outlive a power cut of the machine running the simulator. Syncing each
    write and keeping the rollback journal in a file made every statement a trip to the
    disk: with ``storage = "file"`` a hundred listening validators ran 8 times slower than in
    memory. The journal is kept in memory, so a transaction still rolls back."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA synchronous = OFF")
    db.execute("PRAGMA journal_mode = MEMORY")
    return db


class UnknownEventType(ValueError):
    """``store`` was asked to keep an event of a type no resolution handles."""


class EventStore:
    """One node's events and KV on SQLite (``path`` ":memory:" or a file)."""

    def __init__(self, path: str, is_known_type: Callable[[str], bool],
                 is_processed: Callable[[str], bool]) -> None:
        self._path = path
        self._db = _connect(path)
        self._db.executescript(_SCHEMA)
        self._snapshot: sqlite3.Connection | None = None
        self.crashed = False
        self._is_known_type = is_known_type
        self._is_processed = is_processed
        # False only when no event can be waiting for a vote: saves a query per block.
        self.may_have_unvoted = True
        self._height = 0

    def close(self) -> None:
        self._db.close()
        self._snapshot = None

    # -- crash and recovery ------------------------------------------------------------------
    def crash(self) -> None:
        """The node died: its connection is gone. Every write was committed when it returned
        (autocommit, and block effects in one transaction), so the disk keeps all of them; an
        in-memory store keeps them in a snapshot taken now, standing in for the disk."""
        if self.crashed:
            return
        if self._path == ":memory:":
            self._snapshot = sqlite3.connect(":memory:", isolation_level=None)
            self._db.backup(self._snapshot)
        else:
            self._snapshot = sqlite3.connect(self._path, isolation_level=None)  # the disk, read by checks
        self._db.close()
        self._db = self._snapshot
        self.crashed = True

    def recover(self) -> None:
        """The node restarts: reopen the store from disk (or from the snapshot)."""
        if not self.crashed:
            return
        snapshot = self._snapshot
        assert snapshot is not None
        self._db = _connect(self._path)
        if self._path == ":memory:":
            snapshot.backup(self._db)
        snapshot.close()
        self._snapshot = None
        self._db.executescript(_SCHEMA)
        self.may_have_unvoted = True
        self.crashed = False

    # -- events ------------------------------------------------------------------------
    def store(self, data: bytes, event_type: str) -> str | None:
        """Keep an event; returns its id, or None when it was already processed on chain."""
        if not self._is_known_type(event_type):
            raise UnknownEventType(f"event type {event_type!r} is not a registered resolution type")
        rid = event_id(event_type, data)
        if self._is_processed(rid):
            return None
        self._insert(rid, bytes(data), event_type)
        self.may_have_unvoted = True
        return rid

    def _insert(self, rid: str, data: bytes, event_type: str) -> None:
        """A new row for ``rid``; nothing when it is stored already."""
        self._db.execute("INSERT OR IGNORE INTO events (id, data, event_type) VALUES (?, ?, ?)",
                         (rid, data, event_type))

    def _rows(self, where: str, args: tuple[object, ...] = (), limit: int | None = None) -> list[StoredEvent]:
        sql = f"SELECT id, data, event_type, received, broadcasted FROM events {where} ORDER BY rowid"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        # Ids and types read back are interned: votes, blocks and records then share one
        # string per event instead of one per node and query.
        intern = sys.intern
        return [StoredEvent(intern(r[0]), r[1], intern(r[2]), bool(r[3]), bool(r[4]))
                for r in self._db.execute(sql, args)]

    def get_unreceived_events(self, limit: int | None = None) -> list[StoredEvent]:
        """Events neither received nor broadcasted (0.7's candidates for a vote)."""
        return self._rows("WHERE received = 0 AND broadcasted = 0", limit=limit)

    def get_events(self) -> list[StoredEvent]:
        """Every stored event, in the order it was stored."""
        return self._rows("")

    def broadcasted_ids(self) -> list[str]:
        """Ids of events marked broadcasted (for checks; cheaper than ``get_events``)."""
        return [r[0] for r in self._db.execute("SELECT id FROM events WHERE broadcasted = 1 ORDER BY rowid")]

    def get_event(self, rid: str) -> StoredEvent | None:
        rows = self._rows("WHERE id = ?", (rid,))
        return rows[0] if rows else None

    def has_event(self, rid: str) -> bool:
        return self._db.execute("SELECT 1 FROM events WHERE id = ?", (rid,)).fetchone() is not None

    def count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM events").fetchone()[0])

    def mark_broadcasted(self, ids: list[str]) -> None:
        self._db.executemany("UPDATE events SET broadcasted = 1 WHERE id = ?", [(i,) for i in ids])

    def mark_rebroadcast(self, ids: list[str]) -> None:
        self.may_have_unvoted = True
        self._db.executemany("UPDATE events SET broadcasted = 0 WHERE id = ?", [(i,) for i in ids])

    def mark_received(self, rid: str) -> None:
        self._db.execute("UPDATE events SET received = 1 WHERE id = ?", (rid,))

    def delete_event(self, rid: str) -> None:
        """Idempotent: deleting a missing id is fine."""
        self._db.execute("DELETE FROM events WHERE id = ?", (rid,))

    # -- the node's committed height, written atomically with a block's local effects ----
    def apply_block_effects(self, height: int, effects: list[tuple[str, str]],
                            delete_ids: list[str]) -> None:
        """Apply one block's effects on this store and record the height, in one transaction."""
        self._height = height
        if not effects and not delete_ids:
            return  # nothing changes on disk; the committed state is kept by the node
        db = self._db
        deletes = [(rid,) for action, rid in effects if action == "delete"]
        deletes += [(rid,) for rid in delete_ids]
        received = [(rid,) for action, rid in effects if action != "delete"]
        if not received:
            db.executemany("DELETE FROM events WHERE id = ?", deletes)  # one statement: atomic
            return
        db.execute("BEGIN")
        try:
            db.executemany("DELETE FROM events WHERE id = ?", deletes)
            db.executemany("UPDATE events SET received = 1 WHERE id = ?", received)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def committed_height(self) -> int:
        """The last height whose effects this store applied."""
        return self._height
    # -- KV ---------------------------------------------------------------------------
    def kv_get(self, key: str) -> bytes | None:
        row = self._db.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def kv_set(self, key: str, value: bytes) -> None:
        self._db.execute("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", (key, bytes(value)))

    def kv_delete(self, key: str) -> None:
        self._db.execute("DELETE FROM kv WHERE key = ?", (key,))

    def kv(self, prefix: str) -> ScopedKV:
        """A KV whose keys are stored as ``prefix + " " + key`` (kwil's scoping)."""
        return ScopedKV(self, prefix)


@attrs.frozen
class ScopedKV:
    store: EventStore
    prefix: str

    def _key(self, key: str) -> str:
        return f"{self.prefix} {key}"

    def get(self, key: str) -> bytes | None:
        return self.store.kv_get(self._key(key))

    def set(self, key: str, value: bytes) -> None:
        self.store.kv_set(self._key(key), value)

    def delete(self, key: str) -> None:
        self.store.kv_delete(self._key(key))
