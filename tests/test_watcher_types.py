"""Iterators, filters, the JSON serializer, the errors and the public names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import attrs
import pytest

import sim.sources.watcher as watcher_pkg
from sim.sources.watcher import (
    CheckpointError,
    CheckpointNotFound,
    DeserializationError,
    Event,
    EventFilter,
    EventIterator,
    InvalidArgumentError,
    JSONSerializer,
    Operation,
    SerializationError,
    WatcherError,
    WatcherNotFound,
    caused_by,
)

STAMP = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)


@attrs.frozen
class Job:
    id: str
    state: str


def test_iterators_compare_by_value_and_print_readably() -> None:
    assert EventIterator.at(3) == EventIterator.at(3)
    assert EventIterator.at(3) != EventIterator.after(3)
    assert EventIterator.trim_horizon() == EventIterator.trim_horizon()
    assert [str(i) for i in (EventIterator.trim_horizon(), EventIterator.latest(),
                             EventIterator.at(2), EventIterator.after(9))] == \
        ["trim_horizon", "latest", "at(2)", "after(9)"]


def test_negative_sequence_number_is_rejected() -> None:
    with pytest.raises(InvalidArgumentError, match="sequence number must be an integer >= 0"):
        EventIterator.at(-1)


def test_filter_is_an_and_of_non_empty_lists() -> None:
    both = EventFilter(object_types=["Job"], operations=["CREATE"])
    assert both.matches("Job", Operation.CREATE)
    assert not both.matches("Job", Operation.DELETE)
    assert not both.matches("Execution", Operation.CREATE)
    assert EventFilter().matches("Anything", Operation.DELETE)
    with pytest.raises(InvalidArgumentError, match="unknown operation 'MOVE'"):
        EventFilter(operations=["MOVE"])
    with pytest.raises(InvalidArgumentError, match="not a string"):
        EventFilter(object_types="Job")  # type: ignore[arg-type]


def test_serializer_round_trips_events_with_utc_timestamps() -> None:
    serializer = JSONSerializer({"Job": Job, "Text": str, "Blob": dict})
    for obj, kind in ((Job("j1", "running"), "Job"), ("hello", "Text"), ({"a": [1]}, "Blob"),
                      (None, "Text")):
        event = Event(7, Operation.UPDATE, kind, obj, STAMP)
        assert serializer.unmarshal(serializer.marshal(event)) == event
    offset = datetime(2026, 3, 4, 7, 6, 7, tzinfo=timezone(timedelta(hours=2)))
    back = serializer.unmarshal(serializer.marshal(Event(1, Operation.CREATE, "Text", "x", offset)))
    assert back.timestamp == offset and back.timestamp.tzinfo == UTC


def test_serializer_uses_the_original_wire_shape() -> None:
    data = JSONSerializer().marshal(Event(3, Operation.DELETE, "Text", "x", STAMP))
    assert data.startswith(b'{"seqNum":3,"operation":"DELETE","objectType":"Text","object":"x",')
    assert b'"timestamp":1772600767891011000' in data


def test_unknown_object_type_on_read_is_a_deserialization_error() -> None:
    data = JSONSerializer().marshal(Event(1, Operation.CREATE, "Mystery", {}, STAMP))
    with pytest.raises(DeserializationError, match="unknown object type: Mystery"):
        JSONSerializer().unmarshal(data)
    with pytest.raises(DeserializationError):
        JSONSerializer().unmarshal(b"not json")
    with pytest.raises(DeserializationError, match="should be str"):
        JSONSerializer({"Mystery": str}).unmarshal(data)


def test_unserializable_object_or_naive_timestamp_is_a_serialization_error() -> None:
    serializer = JSONSerializer()
    with pytest.raises(SerializationError) as info:
        serializer.marshal(Event(1, Operation.CREATE, "T", object(), STAMP))
    assert isinstance(info.value.__cause__, TypeError)
    with pytest.raises(SerializationError, match="no timezone"):
        serializer.marshal(Event(1, Operation.CREATE, "T", "x", datetime(2026, 1, 1)))


def test_type_registry_rejects_duplicates_and_invalid_types() -> None:
    serializer = JSONSerializer({"Job": Job})
    assert serializer.is_type_registered("Job")
    assert not serializer.is_type_registered("Execution")
    with pytest.raises(InvalidArgumentError, match="type 'Job' is already registered"):
        serializer.register_type("Job", dict)
    with pytest.raises(InvalidArgumentError, match="not a type"):
        serializer.register_type("Bad", None)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="expected a JSON type"):
        serializer.register_type("Bad", object)


def test_wrappers_keep_their_cause() -> None:
    error = WatcherError("w", WatcherNotFound())
    assert caused_by(error, WatcherNotFound)
    assert not caused_by(error, CheckpointNotFound)
    assert "watcher 'w'" in str(error)
    nested = CheckpointError("w", OSError("disk"))
    assert isinstance(nested.__cause__, OSError)


SPEC_NAMES = [
    "EventStore", "Registry", "Watcher", "EventHandler", "Event", "Operation", "EventFilter",
    "EventIterator", "GetEventsRequest", "GetEventsResponse", "RetryStrategy", "State", "Stats",
    "JSONSerializer", "WatcherAlreadyExists", "WatcherNotFound", "CheckpointNotFound",
    "NoHandler", "HandlerExists", "WatcherError", "CheckpointError", "EventHandlingError",
    "SerializationError", "DeserializationError",
]


def test_every_spec_name_is_exported_once_from_the_package() -> None:
    public = [n for n in vars(watcher_pkg) if not n.startswith("_")]
    for name in SPEC_NAMES:
        assert name in public, name
    exported = [getattr(watcher_pkg, n) for n in public if n[0].isupper()]
    # No object is exported under two names.
    assert len({id(obj) for obj in exported}) == len(exported)
