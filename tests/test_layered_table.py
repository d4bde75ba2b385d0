"""The state's growing tables (processed ids, key-value store): copies are independent values,
and they share their bulk."""

from __future__ import annotations

import pytest

from node.app import AppState, StateChanges
from node.layered import COMPACT_AFTER, LayeredTable
from tests.memory import retained


def test_a_copy_never_sees_writes_made_after_it_or_in_another_copy() -> None:
    table = LayeredTable({f"r{i}": i for i in range(3 * COMPACT_AFTER)})
    first = table.copy()  # folds: the bulk is now shared
    second = first.copy()
    first["late"] = 7
    second["r0"] = 99
    assert "late" in first and "late" not in second and "late" not in table
    assert second["r0"] == 99 and first["r0"] == 0 and table["r0"] == 0
    assert len(first) == 3 * COMPACT_AFTER + 1 and len(second) == 3 * COMPACT_AFTER
    assert dict(first) == {**{f"r{i}": i for i in range(3 * COMPACT_AFTER)}, "late": 7}


def test_deleting_a_shared_entry_hides_it_in_that_copy_only() -> None:
    table = LayeredTable({f"k{i}": i for i in range(2 * COMPACT_AFTER)}).copy()
    other = table.copy()
    del table["k5"]
    assert "k5" not in table and table.get("k5") is None and other["k5"] == 5
    assert len(table) == 2 * COMPACT_AFTER - 1 and "k5" not in list(table)
    with pytest.raises(KeyError):
        table["k5"]
    with pytest.raises(KeyError):
        del table["k5"]
    for i in range(COMPACT_AFTER + 1):  # enough writes to fold: the deletion stays
        table[f"new{i}"] = i
    folded = table.copy()
    assert "k5" not in folded and folded["new0"] == 0 and len(folded) == len(table)


def test_a_rolled_back_resolution_leaves_both_tables_as_they_were() -> None:
    state = AppState(processed={f"r{i}": 1 for i in range(2 * COMPACT_AFTER)},
                     kv={f"resolved/note/r{i}": b"x" for i in range(2 * COMPACT_AFTER)}).clone()
    changes = StateChanges(state)
    changes.savepoint()
    changes.mark_processed("new", 5)
    changes.mark_processed("r1", 5)  # kwil 0.8.4 can mark an id twice
    changes.put("resolved/note/new", b"y")
    changes.put("resolved/note/r1", b"z")
    changes.rollback()
    assert "new" not in state.processed and state.processed["r1"] == 1
    assert "resolved/note/new" not in state.kv and state.kv["resolved/note/r1"] == b"x"


def test_the_states_a_chain_keeps_share_their_growing_tables() -> None:
    """64 successive states over 20,000 processed ids and 20,000 resolved bodies (what a
    six-hour run at one event a second keeps): dict copies per state held 64 full tables of
    each; shared, they cost about one."""
    state = AppState(processed={f"resolution-{i}": i for i in range(20_000)},
                     kv={f"resolved/note/resolution-{i}": b"body" for i in range(20_000)})
    first = state.clone()

    def keep_64() -> list[AppState]:
        kept, current = [], first
        for height in range(64):
            current = current.clone()
            changes = StateChanges(current)
            for k in range(6):
                changes.mark_processed(f"new-{height}-{k}", height)
                changes.put(f"resolved/note/new-{height}-{k}", b"body")
            kept.append(current)
        return kept

    _kept, grown = retained(keep_64)
    one_table = 20_000 * 50  # a dict entry is ~50 bytes at this size
    assert grown < 2 * one_table, f"64 states grew memory by {grown} bytes"
