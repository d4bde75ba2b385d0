"""The watcher library's values: events, iterators, filters, requests, states and stats."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol

import attrs

from sim.sources.watcher.errors import InvalidArgumentError


class Operation(enum.StrEnum):
    """What happened to the object an event describes."""

    CREATE = "CREATE"
    UPDATE = "UPDATE"
    DELETE = "DELETE"


class IteratorType(enum.StrEnum):
    """Where a read starts: the oldest event, after the newest, at or after a sequence number."""

    TRIM_HORIZON = "TRIM_HORIZON"
    LATEST = "LATEST"
    AT_SEQUENCE_NUMBER = "AT_SEQUENCE_NUMBER"
    AFTER_SEQUENCE_NUMBER = "AFTER_SEQUENCE_NUMBER"


class RetryStrategy(enum.StrEnum):
    """What a watcher does when its handler keeps failing on one event."""

    BLOCK = "BLOCK"  # retry the event forever; order is never broken
    SKIP = "SKIP"  # give up after max_retries calls and move on


class State(enum.StrEnum):
    """A watcher's lifecycle state."""

    IDLE = "IDLE"
    RUNNING = "RUNNING"
    STOPPING = "STOPPING"
    STOPPED = "STOPPED"


def _iterator_type(value: object) -> IteratorType:
    if isinstance(value, IteratorType):
        return value
    if isinstance(value, str) and value in IteratorType.__members__.values():
        return IteratorType(value)
    known = ", ".join(t.value for t in IteratorType)
    raise InvalidArgumentError(f"unknown event iterator type {value!r}; expected one of {known}")


def _sequence_number(_inst: object, _attr: object, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidArgumentError(f"sequence number must be an integer >= 0, got {value!r}")


@attrs.frozen
class EventIterator:
    """A position in the event log. Compares equal by value; build it with the classmethods."""

    type: IteratorType = attrs.field(converter=_iterator_type)
    sequence_number: int = attrs.field(default=0, validator=_sequence_number)

    @classmethod
    def trim_horizon(cls) -> EventIterator:
        """From the oldest surviving event."""
        return cls(IteratorType.TRIM_HORIZON)

    @classmethod
    def latest(cls) -> EventIterator:
        """Only events stored after the read resolves it."""
        return cls(IteratorType.LATEST)

    @classmethod
    def at(cls, seq: int) -> EventIterator:
        """From the first event whose seq is >= ``seq``."""
        return cls(IteratorType.AT_SEQUENCE_NUMBER, seq)

    @classmethod
    def after(cls, seq: int) -> EventIterator:
        """From the first event whose seq is > ``seq``."""
        return cls(IteratorType.AFTER_SEQUENCE_NUMBER, seq)

    def __str__(self) -> str:
        if self.type is IteratorType.TRIM_HORIZON:
            return "trim_horizon"
        if self.type is IteratorType.LATEST:
            return "latest"
        kind = "at" if self.type is IteratorType.AT_SEQUENCE_NUMBER else "after"
        return f"{kind}({self.sequence_number})"


def _operations(values: Iterable[Any]) -> tuple[Operation, ...]:
    if isinstance(values, str):
        raise InvalidArgumentError("filter operations must be a list of operations, not a string")
    result = []
    for value in values:
        try:
            result.append(Operation(value))
        except ValueError:
            known = ", ".join(o.value for o in Operation)
            raise InvalidArgumentError(
                f"unknown operation {value!r} in filter; expected one of {known}") from None
    return tuple(result)


def _object_types(values: Iterable[object]) -> tuple[str, ...]:
    if isinstance(values, str):
        raise InvalidArgumentError("filter object_types must be a list of names, not a string")
    result = tuple(values)
    for value in result:
        if not isinstance(value, str) or not value:
            raise InvalidArgumentError(f"filter object types must be non-empty strings, got {value!r}")
    return result  # type: ignore[return-value]


@attrs.frozen
class EventFilter:
    """Which events a read returns. An empty list matches all; both lists must match (AND)."""

    object_types: tuple[str, ...] = attrs.field(default=(), converter=_object_types)
    operations: tuple[Operation, ...] = attrs.field(default=(), converter=_operations)

    def matches(self, object_type: str, operation: Operation) -> bool:
        if self.object_types and object_type not in self.object_types:
            return False
        return not self.operations or operation in self.operations


@attrs.frozen(eq=True, hash=False)
class Event:
    """One stored event: a change to an object, numbered in store order.

    ``timestamp`` is the store's clock at store time, a UTC ``datetime``.
    """

    seq_num: int
    operation: Operation
    object_type: str
    object: Any
    timestamp: datetime


def _limit(_inst: object, _attr: object, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidArgumentError(f"limit must be an integer >= 0 (0 = no limit), got {value!r}")


def _is_iterator(_inst: object, _attr: object, value: Any) -> None:
    if not isinstance(value, EventIterator):
        raise InvalidArgumentError(f"event_iterator must be an EventIterator, got {value!r}")


def _is_filter(_inst: object, _attr: object, value: Any) -> None:
    if not isinstance(value, EventFilter):
        raise InvalidArgumentError(f"filter must be an EventFilter, got {value!r}")


@attrs.frozen
class GetEventsRequest:
    """A read: where to start, at most how many matching events (0 = all), and a filter."""

    event_iterator: EventIterator = attrs.field(validator=_is_iterator)
    limit: int = attrs.field(default=0, validator=_limit)
    filter: EventFilter = attrs.field(factory=EventFilter, validator=_is_filter)
    watcher_id: str = ""


@attrs.frozen
class GetEventsResponse:
    """The events read and where the next read should continue."""

    events: tuple[Event, ...]
    next_event_iterator: EventIterator


@attrs.frozen
class Stats:
    """A snapshot of a watcher's progress (``Watcher.stats()``)."""

    id: str
    state: State
    next_event_iterator: EventIterator
    checkpoint_iterator: EventIterator
    last_processed_seq_num: int
    last_processed_event_time: datetime | None  # the event's own timestamp
    last_listen_time: datetime | None  # the store clock at the last successful fetch


class EventHandler(Protocol):
    """What a watcher calls for every event, in order. Raising means "failed, retry"."""

    async def handle_event(self, event: Event) -> None: ...


class WatchableStore(Protocol):
    """The part of an event store a watcher uses (``EventStore`` is the real one)."""

    async def get_events(self, request: GetEventsRequest) -> GetEventsResponse: ...
    def get_checkpoint(self, watcher_id: str) -> int: ...
    def store_checkpoint(self, watcher_id: str, seq: int) -> None: ...
    def get_latest_event_num(self) -> int: ...
    def now(self) -> datetime: ...
