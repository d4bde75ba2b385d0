"""The processed-id table: copies are independent values, and they share their bulk."""

from __future__ import annotations

import tracemalloc

import pytest

from node.app import AppState, StateChanges
from node.processed import COMPACT_AFTER, ProcessedTable


def test_a_copy_never_sees_marks_made_after_it_or_in_another_copy() -> None:
    table = ProcessedTable({f"r{i}": i for i in range(3 * COMPACT_AFTER)})
    first = table.copy()  # folds: the bulk is now shared
    second = first.copy()
    first["late"] = 7
    second["r0"] = 99
    assert "late" in first and "late" not in second and "late" not in table
    assert second["r0"] == 99 and first["r0"] == 0 and table["r0"] == 0
    assert len(first) == 3 * COMPACT_AFTER + 1 and len(second) == 3 * COMPACT_AFTER
    assert dict(first) == {**{f"r{i}": i for i in range(3 * COMPACT_AFTER)}, "late": 7}


def test_a_rolled_back_mark_is_gone_and_an_older_one_cannot_be_unmarked() -> None:
    state = AppState(processed={f"r{i}": 1 for i in range(2 * COMPACT_AFTER)}).clone()
    changes = StateChanges(state)
    changes.savepoint()
    changes.mark_processed("new", 5)
    changes.mark_processed("r1", 5)  # kwil 0.8.4 can mark an id twice
    changes.rollback()
    assert "new" not in state.processed and state.processed["r1"] == 1
    with pytest.raises(KeyError, match="before this state was copied"):
        del state.processed["r1"]


def test_the_states_a_chain_keeps_share_their_processed_ids() -> None:
    """64 successive states over 20,000 processed ids (what a six-hour run at one event a
    second keeps): a dict copy per state held 64 full tables; shared, they cost about one."""
    state = AppState(processed={f"resolution-{i}": i for i in range(20_000)})
    state = state.clone()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = []
        for height in range(64):
            state = state.clone()
            for k in range(6):
                StateChanges(state).mark_processed(f"new-{height}-{k}", height)
            kept.append(state)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    one_table = 20_000 * 50  # a dict entry is ~50 bytes at this size
    assert grown < 2 * one_table, f"64 states grew memory by {grown} bytes"
