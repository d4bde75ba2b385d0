"""The event store's contract (kwil's voting store and its assertions)."""

from __future__ import annotations

import uuid

import pytest

from node.eventstore import EventStore, UnknownEventType
from node.txs import event_id


def store(processed: set[str] | None = None) -> EventStore:
    done = processed if processed is not None else set()
    return EventStore(":memory:", lambda t: t in {"note", "credit_account"}, lambda rid: rid in done)


def test_event_id_is_uuid5_over_type_then_body() -> None:
    namespace = uuid.UUID("cc1cd90f-b4db-47f4-b6df-4bbe5fca88eb")
    # uuid.uuid5 takes text: for ASCII bodies it must agree with the byte-level computation
    assert event_id("note", b"hello") == str(uuid.uuid5(namespace, "notehello"))
    assert uuid.UUID(event_id("note", b"\xff\x00")).version == 5


def test_store_then_read_and_storing_twice_keeps_one_row() -> None:
    s = store()
    rid = s.store(b"a", "note")
    assert s.store(b"a", "note") == rid
    events = s.get_events()
    assert [(e.id, e.data, e.event_type) for e in events] == [(rid, b"a", "note")]


def test_unregistered_type_is_an_error_and_processed_is_a_noop() -> None:
    s = store({event_id("note", b"done")})
    with pytest.raises(UnknownEventType, match="not a registered resolution type"):
        s.store(b"x", "nope")
    assert s.store(b"done", "note") is None
    assert s.get_events() == []


def test_deleting_a_missing_event_is_fine() -> None:
    s = store()
    s.delete_event("missing")
    assert s.count() == 0


def test_mark_received_or_broadcasted_hides_from_unreceived_and_rebroadcast_brings_back() -> None:
    s = store()
    a, b = s.store(b"a", "note"), s.store(b"b", "note")
    assert a and b
    s.mark_received(a)
    s.mark_broadcasted([b])
    assert s.get_unreceived_events() == []
    assert len(s.get_events()) == 2
    s.mark_rebroadcast([b])
    assert [e.id for e in s.get_unreceived_events()] == [b]


def test_kv_prefixes_are_isolated() -> None:
    s = store()
    one, two = s.kv("eth_deposits"), s.kv("other")
    one.set("lh", b"\x01")
    assert one.get("lh") == b"\x01" and two.get("lh") is None
    assert s.kv_get("eth_deposits lh") == b"\x01"
    one.delete("lh")
    assert one.get("lh") is None


def test_block_effects_are_atomic_with_the_height() -> None:
    s = store()
    a = s.store(b"a", "note")
    assert a
    s.apply_block_effects(5, [("received", a)], [])
    assert s.committed_height() == 5 and s.get_unreceived_events() == []
