"""The event store's contract (kwil's voting store and its assertions), on both stores: SQLite
(``storage = "file"``, and in memory) and the dict-backed one ``storage = "memory"`` runs on."""

from __future__ import annotations

import random
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from node.eventstore import EventStore, UnknownEventType
from node.memstore import MemoryEventStore
from node.txs import event_id

TYPES = {"note", "credit_account"}
Factory = Callable[..., EventStore]


@pytest.fixture(params=["sqlite-memory", "sqlite-file", "memory"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Factory]:
    made: list[EventStore] = []

    def make(processed: set[str] | None = None) -> EventStore:
        done = processed if processed is not None else set()
        known, is_processed = (lambda t: t in TYPES), (lambda rid: rid in done)
        if request.param == "memory":
            s: EventStore = MemoryEventStore(known, is_processed)
        else:
            path = ":memory:" if request.param == "sqlite-memory" else str(tmp_path / f"s{len(made)}.sqlite")
            s = EventStore(path, known, is_processed)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


def test_event_id_is_uuid5_over_type_then_body() -> None:
    namespace = uuid.UUID("cc1cd90f-b4db-47f4-b6df-4bbe5fca88eb")
    # uuid.uuid5 takes text: for ASCII bodies it must agree with the byte-level computation
    assert event_id("note", b"hello") == str(uuid.uuid5(namespace, "notehello"))
    assert uuid.UUID(event_id("note", b"\xff\x00")).version == 5


def test_store_then_read_and_storing_twice_keeps_one_row(make_store: Factory) -> None:
    s = make_store()
    rid = s.store(b"a", "note")
    assert s.store(b"a", "note") == rid
    events = s.get_events()
    assert [(e.id, e.data, e.event_type) for e in events] == [(rid, b"a", "note")]


def test_unregistered_type_is_an_error_and_processed_is_a_noop(make_store: Factory) -> None:
    s = make_store({event_id("note", b"done")})
    with pytest.raises(UnknownEventType, match="not a registered resolution type"):
        s.store(b"x", "nope")
    assert s.store(b"done", "note") is None
    assert s.get_events() == []


def test_deleting_a_missing_event_is_fine(make_store: Factory) -> None:
    s = make_store()
    s.delete_event("missing")
    assert s.count() == 0


def test_mark_received_or_broadcasted_hides_from_unreceived_and_rebroadcast_brings_back(make_store: Factory) -> None:
    s = make_store()
    a, b = s.store(b"a", "note"), s.store(b"b", "note")
    assert a and b
    s.mark_received(a)
    s.mark_broadcasted([b])
    assert s.get_unreceived_events() == []
    assert len(s.get_events()) == 2
    s.mark_rebroadcast([b])
    assert [e.id for e in s.get_unreceived_events()] == [b]


def test_kv_prefixes_are_isolated(make_store: Factory) -> None:
    s = make_store()
    one, two = s.kv("eth_deposits"), s.kv("other")
    one.set("lh", b"\x01")
    assert one.get("lh") == b"\x01" and two.get("lh") is None
    assert s.kv_get("eth_deposits lh") == b"\x01"
    one.delete("lh")
    assert one.get("lh") is None


def test_block_effects_are_atomic_with_the_height(make_store: Factory) -> None:
    s = make_store()
    a = s.store(b"a", "note")
    assert a
    s.apply_block_effects(5, [("received", a)], [])
    assert s.committed_height() == 5 and s.get_unreceived_events() == []


def test_an_event_sent_again_keeps_its_place_among_the_candidates(make_store: Factory) -> None:
    """Candidates come in the order events were first stored (SQLite's rowid), also for an
    event whose vote is sent again after later ones were stored."""
    s = make_store()
    a, b, c = (s.store(x, "note") for x in (b"a", b"b", b"c"))
    s.mark_broadcasted([a or "", b or ""])
    s.mark_rebroadcast([b or ""])
    s.mark_rebroadcast([a or ""])
    assert [e.id for e in s.get_unreceived_events()] == [a, b, c]
    assert [e.id for e in s.get_unreceived_events(2)] == [a, b]
    s.delete_event(a or "")
    assert s.store(b"a", "note") == a  # stored again after a delete: now the newest
    assert [e.id for e in s.get_events()] == [b, c, a]


def test_a_crash_keeps_every_row_and_recovery_reads_them(make_store: Factory) -> None:
    s = make_store()
    a = s.store(b"a", "note") or ""
    s.mark_broadcasted([a])
    s.kv_set("eth_deposits lh", b"\x07")
    s.may_have_unvoted = False
    s.crash()
    assert s.crashed and s.has_event(a)
    s.recover()
    assert not s.crashed and s.may_have_unvoted
    assert s.get_events()[0].broadcasted and s.kv_get("eth_deposits lh") == b"\x07"



def _pragmas(store: EventStore) -> tuple[int, str]:
    db = store._db
    return db.execute("PRAGMA synchronous").fetchone()[0], db.execute("PRAGMA journal_mode").fetchone()[0]


def test_a_file_store_does_not_sync_each_write_yet_another_connection_reads_every_one(tmp_path: Path) -> None:
    """The store's disk must outlive a simulated crash, not a power cut: no fsync and no
    journal file per statement (``storage = "file"`` ran 8 times slower than memory), before
    and after a crash; every committed write is in the file for any other reader."""
    path = tmp_path / "v0.sqlite"
    s = EventStore(str(path), lambda t: t in TYPES, lambda rid: False)
    assert _pragmas(s) == (0, "memory")  # synchronous OFF
    a = s.store(b"a", "note") or ""
    s.kv_set("k", b"v")
    s.crash()
    s.recover()
    assert _pragmas(s) == (0, "memory")
    s.apply_block_effects(1, [("received", a)], [])
    reader = sqlite3.connect(path)
    try:
        assert reader.execute("SELECT id, received FROM events").fetchall() == [(a, 1)]
        assert reader.execute("SELECT value FROM kv").fetchall() == [(b"v",)]
    finally:
        reader.close()
        s.close()


@pytest.mark.parametrize("where", [":memory:", "file"])
def test_a_block_whose_effects_fail_half_way_leaves_the_sqlite_store_as_it_was(where: str, tmp_path: Path) -> None:
    """The block's effects are one SQLite transaction: with the journal in memory it still
    rolls back. (The dict-backed store of ``storage = "memory"`` does not undo: a failing
    write there is a bug that ends the run.)"""
    s = EventStore(str(tmp_path / "s.sqlite") if where == "file" else where, lambda t: t in TYPES, lambda rid: False)
    a, b = s.store(b"a", "note") or "", s.store(b"b", "note") or ""
    with pytest.raises((sqlite3.Error, TypeError)):
        s.apply_block_effects(1, [("delete", a), ("received", b), ("received", ["not", "an", "id"])], [])  # type: ignore[list-item]
    assert [e.id for e in s.get_events()] == [a, b] and not any(e.received for e in s.get_events())
    s.close()


_BODIES = [b"a", b"b", b"c"]
_KINDS = ["store"] * 3 + ["broadcasted", "rebroadcast"] * 3 + ["received", "delete", "block", "kv", "crash"]


def _rid(body: bytes) -> str:
    return event_id("note", body)


def _apply(s: EventStore, kind: str, rng: random.Random, height: int) -> None:
    # hypothesis drives ``rng`` (shrinking included); its own choice of list elements kept
    # every operation on one body far too often to reach an order bug
    body = rng.choice(_BODIES)
    if kind == "store":
        s.store(body, "note")
    elif kind in ("broadcasted", "rebroadcast"):
        ids = [_rid(b) for b in rng.sample(_BODIES, rng.randint(1, 2))]
        s.mark_broadcasted(ids) if kind == "broadcasted" else s.mark_rebroadcast(ids)
    elif kind == "received":
        s.mark_received(_rid(body))
    elif kind == "delete":
        s.delete_event(_rid(body))
    elif kind == "block":
        effects = [(rng.choice(["received", "delete"]), _rid(rng.choice(_BODIES))) for _ in range(rng.randint(0, 3))]
        s.apply_block_effects(height, effects, [_rid(rng.choice(_BODIES)) for _ in range(rng.randint(0, 2))])
    elif kind == "kv":
        key, value = rng.choice(["x", "y"]), rng.choice([b"1", b"2", None])
        s.kv_set(key, value) if value is not None else s.kv_delete(key)
    else:
        s.recover() if s.crashed else s.crash()


def _same_reads(sqlite: EventStore, memory: EventStore) -> None:
    assert memory.get_events() == sqlite.get_events()
    for limit in (None, 0, 1, 2):
        assert memory.get_unreceived_events(limit) == sqlite.get_unreceived_events(limit)
    assert memory.broadcasted_ids() == sqlite.broadcasted_ids()
    assert memory.count() == sqlite.count()
    assert memory.committed_height() == sqlite.committed_height()
    assert memory.crashed == sqlite.crashed and memory.may_have_unvoted == sqlite.may_have_unvoted
    for body in _BODIES:
        assert memory.get_event(_rid(body)) == sqlite.get_event(_rid(body))
        assert memory.has_event(_rid(body)) == sqlite.has_event(_rid(body))
    for key in ("x", "y"):
        assert memory.kv_get(key) == sqlite.kv_get(key)


@settings(max_examples=100, deadline=None)
@given(seed=st.randoms(use_true_random=False), steps=st.integers(1, 40))
def test_the_memory_store_reads_as_sqlite_after_any_operations(seed: random.Random, steps: int) -> None:
    """Invariant: after every operation of any sequence (stores, flag changes, deletes, block
    effects, KV writes, crashes and recoveries), the dict-backed store answers every read
    exactly as the SQLite store does: events, candidates (with a limit), broadcasted ids,
    counts, single rows, KV values, the committed height and the crash flags."""
    sqlite = EventStore(":memory:", lambda t: t == "note", lambda r: False)
    memory = MemoryEventStore(lambda t: t == "note", lambda r: False)
    for height in range(1, steps + 1):
        kind = seed.choice(_KINDS)
        state = seed.getstate()
        for s in (sqlite, memory):
            seed.setstate(state)  # both stores get the same operation
            _apply(s, kind, seed, height)
        _same_reads(sqlite, memory)
    sqlite.close()
    memory.close()
