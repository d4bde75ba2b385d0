"""The run's trace: structured records in virtual-time order, and the hash over them.

Records go through structlog (so users can add processors or render them), and the last
processor files each one into the trace list stamped with virtual time. ``trace_hash`` is
SHA-256 over canonical JSON lines; nothing wall-clock goes into a record.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from typing import Any

import structlog


def canonical_line(record: dict[str, Any]) -> str:
    """A record as one canonical JSON line (sorted keys, no spaces)."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), default=_jsonable)


def _jsonable(value: object) -> object:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    return str(value)


class Trace:
    """Structured records of one run, each stamped ``t`` (virtual seconds)."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self.records: list[dict[str, Any]] = []
        self._logger = structlog.wrap_logger(
            None,
            processors=[self._file_record],
            wrapper_class=structlog.BoundLogger,
            cache_logger_on_first_use=True,
        )

    def _file_record(self, _logger: object, _method: str, event_dict: Any) -> Any:
        record = {"t": round(self._now(), 9)}
        record.update(event_dict)
        self.records.append(record)
        raise structlog.DropEvent

    def emit(self, event: str, **fields: Any) -> None:
        """Add one record: ``event`` names what happened; fields must be JSON-able."""
        self._logger.info(event, **fields)

    def lines(self) -> Iterator[str]:
        for record in self.records:
            yield canonical_line(record)

    def hash(self) -> str:
        digest = hashlib.sha256()
        for line in self.lines():
            digest.update(line.encode())
            digest.update(b"\n")
        return digest.hexdigest()
