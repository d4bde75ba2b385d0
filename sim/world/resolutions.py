"""What a run remembers of each resolution: its ``ResolutionRecord``, and the log that keeps
them (``RunRecords.resolutions``) with the settled ones out of memory.

A run records one resolution per event it sees and keeps them all for its results: as
objects they made a long run's memory grow by ~1 MB an hour at one event a second. So a
record that has settled (passed or expired) is kept as a row of a ``SpillList`` (older rows
in the run's temporary file) and read back as a new record whenever it is asked for. Nothing
changes a record but the recorder, through ``ResolutionLog.open``: it hands out the live
record, reviving a settled one (kwil 0.7 revives an expired resolution when a vote for it
arrives again), and ``settle`` files it away once its outcome is recorded.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, MutableMapping
from typing import Any

import attrs

from sim.engine.spill import SpillList
from sim.world.names import pack_names, unpack_names

# Settled rows kept in memory before they move to the file
SETTLED_CHUNK = 1 << 10


@attrs.define
class ResolutionRecord:
    """What the run saw of one resolution: who observed its event first and when, when it was
    created on chain, and how it settled (its height, time, approving power and voters)."""

    id: str
    type: str | None
    first_seen: float = math.inf
    first_seen_by: str | None = None
    created_height: int | None = None
    created_time: float | None = None
    status: str | None = None  # "passed" | "expired"
    height: int | None = None
    time: float | None = None
    approved: int = 0
    required: int = 0
    refunded: bool = False
    # packed (``sim.world.names``): a hundred names as a tuple held ~850 bytes for the whole run
    _voters: bytes | tuple[str, ...] = attrs.field(default=(), alias="voters", converter=pack_names,
                                                   repr=lambda packed: repr(unpack_names(packed)))
    error: str | None = None

    @property
    def voters(self) -> tuple[str, ...]:
        """The validators whose votes counted, in the order they voted."""
        return unpack_names(self._voters)

    @voters.setter
    def voters(self, names: tuple[str, ...]) -> None:
        self._voters = names  # type: ignore[assignment]  # packed by the converter

    def __getstate__(self) -> dict[str, object]:
        # codes mean something only in this process: a pickled record carries the names
        state = {a.name: getattr(self, a.name) for a in attrs.fields(type(self))}
        state["_voters"] = self.voters
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, pack_names(value) if name == "_voters" else value)  # type: ignore[arg-type]


def _row(record: ResolutionRecord) -> tuple[Any, ...]:
    """A record's fields in their order, voters packed (rows never leave the process)."""
    return (record.id, record.type, record.first_seen, record.first_seen_by, record.created_height,
            record.created_time, record.status, record.height, record.time, record.approved,
            record.required, record.refunded, record._voters, record.error)


class ResolutionLog(MutableMapping[str, ResolutionRecord]):
    """Resolution records by event id, in the order they were first recorded.

    Open records are objects; settled ones are rows, each read back as a new record (so
    changing a record read from here changes nothing: ``open`` it).
    """

    def __init__(self, records: Iterable[ResolutionRecord] = ()) -> None:
        # id -> the open record, or the settled one's row; a dict keeps first-recorded order
        # however often a record moves between the two
        self._index: dict[str, ResolutionRecord | int] = {}
        self._settled: SpillList[tuple[Any, ...]] = SpillList(chunk_items=SETTLED_CHUNK)
        for record in records:
            self._index[record.id] = record

    def open(self, rid: str, event_type: str | None) -> ResolutionRecord:
        """The record of ``rid`` to change: a new one if there is none, the settled one
        revived if it had settled."""
        entry = self._index.get(rid)
        if entry is None:
            entry = self._index[rid] = ResolutionRecord(rid, event_type)
        elif not isinstance(entry, ResolutionRecord):
            entry = self._index[rid] = ResolutionRecord(*self._settled[entry])
        return entry

    def settle(self, rid: str) -> None:
        """``rid``'s outcome is recorded: keep its record as a row from now on."""
        entry = self._index[rid]
        if isinstance(entry, ResolutionRecord):
            self._index[rid] = len(self._settled)
            self._settled.append(_row(entry))

    def unsettled(self) -> Iterator[ResolutionRecord]:
        """The records without an outcome yet, in first-recorded order (none is read back
        from the rows: a settled record always has one)."""
        for entry in self._index.values():
            if isinstance(entry, ResolutionRecord) and entry.status is None:
                yield entry

    def __getitem__(self, rid: str) -> ResolutionRecord:
        entry = self._index[rid]
        return entry if isinstance(entry, ResolutionRecord) else ResolutionRecord(*self._settled[entry])

    def __setitem__(self, rid: str, record: ResolutionRecord) -> None:
        self._index[rid] = record

    def __delitem__(self, rid: str) -> None:
        del self._index[rid]

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def __reduce__(self) -> tuple[Any, ...]:
        # the temporary file cannot travel: a copy carries the records (names, not codes)
        return (ResolutionLog, (list(self.values()),))

    def __repr__(self) -> str:
        return f"ResolutionLog({len(self)} records)"
