"""Turning events into bytes and back: JSON with a registry of object types.

The wire shape follows the original (``seqNum``, ``operation``, ``objectType``, ``object``,
``timestamp`` in integer nanoseconds since the Unix epoch, UTC). Writing accepts any
JSON-able object (attrs classes and dataclasses become dicts); reading needs the object type
registered, because that is what says which Python type to rebuild.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import attrs

from sim.sources.watcher.errors import (
    DeserializationError,
    InvalidArgumentError,
    SerializationError,
)
from sim.sources.watcher.types import Event, Operation

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_JSON_SCALARS: tuple[type, ...] = (dict, list, str, int, float, bool)


class Serializer(Protocol):
    """What an event store needs to persist events."""

    def marshal(self, event: Event) -> bytes: ...
    def unmarshal(self, data: bytes) -> Event: ...


def to_unix_nanos(moment: datetime) -> int:
    """A timezone-aware datetime as integer nanoseconds since the Unix epoch."""
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {moment!r} has no timezone; event timestamps are UTC")
    return ((moment - EPOCH) // _MICROSECOND) * 1000


def from_unix_nanos(nanos: int) -> datetime:
    """The inverse of ``to_unix_nanos`` (microsecond precision, as Python keeps)."""
    return EPOCH + timedelta(microseconds=nanos // 1000)


def _to_json(value: Any) -> Any:
    # json.dumps calls this only for values it cannot encode itself.
    if attrs.has(type(value)):
        return attrs.asdict(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(f"object of type {type(value).__name__} is not JSON serializable")


class JSONSerializer:
    """JSON event encoding with a registry mapping object-type names to Python types."""

    def __init__(self, types: Mapping[str, type] | None = None) -> None:
        self._types: dict[str, type] = {}
        for name, kind in (types or {}).items():
            self.register_type(name, kind)

    def register_type(self, name: str, kind: type) -> None:
        """Register ``kind`` (a JSON type, an attrs class or a dataclass) for ``name``."""
        if not isinstance(name, str) or not name:
            raise InvalidArgumentError(f"type name must be a non-empty string, got {name!r}")
        if name in self._types:
            raise InvalidArgumentError(f"type {name!r} is already registered")
        if not isinstance(kind, type):
            raise InvalidArgumentError(f"cannot register {kind!r} for {name!r}: not a type")
        if not (issubclass(kind, _JSON_SCALARS) or attrs.has(kind)
                or dataclasses.is_dataclass(kind)):
            raise InvalidArgumentError(
                f"cannot register {kind.__name__} for {name!r}: expected a JSON type "
                "(dict, list, str, int, float, bool), an attrs class or a dataclass")
        self._types[name] = kind

    def is_type_registered(self, name: str) -> bool:
        return name in self._types

    def marshal(self, event: Event) -> bytes:
        try:
            record = {
                "seqNum": event.seq_num,
                "operation": event.operation.value,
                "objectType": event.object_type,
                "object": event.object,
                "timestamp": to_unix_nanos(event.timestamp),
            }
            return json.dumps(record, default=_to_json, separators=(",", ":")).encode()
        except (TypeError, ValueError, AttributeError) as error:
            raise SerializationError(event, error) from error

    def unmarshal(self, data: bytes) -> Event:
        try:
            record = json.loads(data)
            object_type = record["objectType"]
            event_object = self._cast(object_type, record["object"])
            return Event(
                seq_num=int(record["seqNum"]),
                operation=Operation(record["operation"]),
                object_type=object_type,
                object=event_object,
                timestamp=from_unix_nanos(int(record["timestamp"])),
            )
        except DeserializationError:
            raise
        except (ValueError, KeyError, TypeError) as error:
            raise DeserializationError(error) from error

    def _cast(self, object_type: str, value: Any) -> Any:
        kind = self._types.get(object_type)
        if kind is None:
            raise DeserializationError(KeyError(f"unknown object type: {object_type}"))
        if value is None:
            return None
        if issubclass(kind, _JSON_SCALARS):
            # int is acceptable where float was registered; bool is never an int here.
            ok = isinstance(value, kind) or (kind is float and type(value) is int)
            if not ok:
                raise DeserializationError(TypeError(
                    f"object of type {object_type} should be {kind.__name__}, "
                    f"got {type(value).__name__}"))
            return value
        if not isinstance(value, dict):
            raise DeserializationError(TypeError(
                f"object of type {object_type} should be a JSON object, got {type(value).__name__}"))
        try:
            return kind(**value)
        except TypeError as error:
            raise DeserializationError(error) from error
