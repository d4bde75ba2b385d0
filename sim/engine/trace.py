"""The run's trace: structured records in virtual-time order, and the hash over them.

Records go through structlog (so users can add processors or render them): the last
processor renders each one as its canonical line stamped with virtual time, which the
logger files into the trace list. ``trace_hash`` is
SHA-256 over canonical JSON lines; nothing wall-clock goes into a record.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from json import encoder as json_encoder
from typing import Any, overload

import structlog

from sim.engine.spill import SpillList


def _jsonable(value: object) -> object:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    return str(value)


# json.dumps with these options builds an encoder per call (most of a record's cost): one is kept
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=_jsonable)
# ``encode`` still builds the C encoder it runs on every call (a quarter of a line's cost):
# the one it builds is kept too, without its cycle check (a record is built of plain values).
_C_ENCODER = getattr(json_encoder, "c_make_encoder", None)  # None without the C accelerator
_ENCODE = None if _C_ENCODER is None else _C_ENCODER(
    None, _jsonable, json_encoder.encode_basestring_ascii, None, ":", ",", True, False, True)


def canonical_line(record: dict[str, Any]) -> str:
    """A record as one canonical JSON line (sorted keys, no spaces)."""
    if _ENCODE is None:
        return _CANONICAL.encode(record)
    return "".join(_ENCODE(record, 0))


# Lines kept in memory before they move to the file (~0.8 MB; a long run's peak holds them)
TRACE_CHUNK_LINES = 1 << 12


class TraceRecords(Sequence[dict[str, Any]]):
    """The trace's records, kept as their canonical lines (a ``SpillList``: older lines live
    in a temporary file, so a long run's trace costs no memory); each record read back is
    the line decoded, so it holds what ``trace.jsonl`` holds (tuples as lists, bytes as hex)."""

    def __init__(self, lines: Iterable[str] = ()) -> None:
        self._lines: SpillList[str] = SpillList(lines, chunk_items=TRACE_CHUNK_LINES)

    def append_line(self, line: str) -> None:
        self._lines.append(line)

    def lines(self) -> Iterator[str]:
        return iter(self._lines)

    def __len__(self) -> int:
        return len(self._lines)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return map(json.loads, self._lines)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [json.loads(line) for line in self._lines[index]]
        return json.loads(self._lines[index])  # type: ignore[no-any-return]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, TraceRecords):
            return self._lines == other._lines
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        return (TraceRecords, (list(self._lines),))

    def __repr__(self) -> str:
        return f"TraceRecords({len(self)} records)"


class _LineSink:
    """structlog's logger for the trace: files each rendered line (every level alike)."""

    def __init__(self, records: TraceRecords) -> None:
        self.msg = self.info = self.debug = self.warning = self.error = records.append_line


class Trace:
    """Structured records of one run, each stamped ``t`` (virtual seconds)."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self.records = TraceRecords()
        # bound now: the lazy proxy ``wrap_logger`` returns would look the bound logger up
        # again at every record
        self._logger = structlog.wrap_logger(
            _LineSink(self.records),
            processors=[self._render],
            wrapper_class=structlog.BoundLogger,
        ).bind()

    def _render(self, _logger: object, _method: str, event_dict: Any) -> str:
        record = {"t": round(self._now(), 9)}
        record.update(event_dict)
        # made a line now: what the record says is fixed when it happens
        return canonical_line(record)

    def emit(self, event: str, **fields: Any) -> None:
        """Add one record: ``event`` names what happened; fields must be JSON-able."""
        self._logger.info(event, **fields)

    def lines(self) -> Iterator[str]:
        return self.records.lines()

    def hash(self) -> str:
        digest = hashlib.sha256()
        for line in self.lines():
            digest.update(line.encode())
            digest.update(b"\n")
        return digest.hexdigest()
