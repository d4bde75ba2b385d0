"""Garbage collection of old events that every checkpointed watcher has moved past.

One run takes the minimum checkpoint over all watchers (0 counts as unset), walks the log
from the oldest event and stops at the first seq above that minimum, deleting what is older
than the age threshold. With no checkpoint at all nothing is deleted, because an unknown
consumer may still need everything.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime
from typing import Any

import attrs

from sim.sources.watcher.errors import InvalidArgumentError
from sim.sources.watcher.serializer import to_unix_nanos

_CHUNK = 100  # rows examined between two checks of the run's time budget


def _non_negative(_inst: object, attr: attrs.Attribute[Any], value: Any) -> None:
    if value < 0:
        raise InvalidArgumentError(f"{attr.name} must be >= 0 seconds, got {value!r}")


def _positive(_inst: object, attr: attrs.Attribute[Any], value: Any) -> None:
    if value <= 0:
        raise InvalidArgumentError(f"{attr.name} must be > 0, got {value!r}")


@attrs.frozen
class GCPolicy:
    """When and how much to collect. Durations are seconds; an age threshold of 0 disables GC.
    (The defaults are the store's keyword arguments: ``EventStore``.)"""

    age_threshold: float = attrs.field(validator=_non_negative)
    cadence: float = attrs.field(validator=_positive)
    max_records_per_run: int = attrs.field(validator=_positive)
    max_duration: float = attrs.field(validator=_positive)

    @property
    def enabled(self) -> bool:
        return self.age_threshold > 0


def minimum_checkpoint(conn: sqlite3.Connection, checkpoint_table: str) -> int:
    """The lowest non-zero checkpoint over all watchers, or 0 when there is none."""
    row = conn.execute(f"SELECT min(seq) FROM {checkpoint_table} WHERE seq > 0").fetchone()
    return int(row[0]) if row[0] is not None else 0


def collect_garbage(conn: sqlite3.Connection, events_table: str, checkpoint_table: str,
                    policy: GCPolicy, clock: Callable[[], datetime]) -> list[int]:
    """Run one collection; returns the deleted sequence numbers in increasing order."""
    if not policy.enabled:
        return []
    floor = minimum_checkpoint(conn, checkpoint_table)
    if floor == 0:
        return []
    start = clock()
    cutoff_ns = to_unix_nanos(start) - round(policy.age_threshold * 1e9)
    deleted: list[int] = []
    processed = 0
    last_seq = 0
    conn.execute("BEGIN IMMEDIATE")
    try:
        while processed < policy.max_records_per_run:
            chunk = min(_CHUNK, policy.max_records_per_run - processed)
            rows = conn.execute(
                f"SELECT seq, ts_ns FROM {events_table} WHERE seq > ? AND seq <= ? "
                "ORDER BY seq LIMIT ?", (last_seq, floor, chunk)).fetchall()
            if not rows:
                break
            old = [(seq,) for seq, ts_ns in rows if ts_ns < cutoff_ns]
            conn.executemany(f"DELETE FROM {events_table} WHERE seq = ?", old)
            deleted.extend(seq for (seq,) in old)
            processed += len(rows)
            last_seq = rows[-1][0]
            if (clock() - start).total_seconds() >= policy.max_duration:
                break  # keep each run short so writers are not held off for long
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return deleted
