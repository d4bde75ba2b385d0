"""A run's per-resolution records: what they read back as, and what they cost to keep."""

from __future__ import annotations

import pickle

import attrs

from sim.world.records import ResolutionRecord
from tests.memory import retained

NAMES = tuple(f"v{i}" for i in range(100))


def test_voters_read_back_as_the_tuple_they_were_set_to() -> None:
    record = ResolutionRecord("id", "note", voters=("v3", "v1"))
    assert record.voters == ("v3", "v1") and isinstance(record.voters, tuple)
    record.voters = NAMES
    assert record.voters == NAMES
    assert ResolutionRecord("id", None).voters == ()
    assert pickle.loads(pickle.dumps(record)) == record
    assert attrs.evolve(record, status="passed").voters == NAMES
    assert record == ResolutionRecord("id", "note", voters=list(NAMES))  # type: ignore[arg-type]
    assert record != ResolutionRecord("id", "note", voters=NAMES[:-1])
    assert "'v99')" in repr(record)
    odd = ("a\x00b", "c")  # no node is named so, but nothing is lost if one were
    assert ResolutionRecord("id", None, voters=odd).voters == odd


def test_a_resolution_with_a_hundred_voters_keeps_under_half_a_kilobyte_of_them() -> None:
    """Every resolution of a run keeps its record: as a tuple, a hundred voters held ~850 bytes
    per event (a long listener run's largest growth per virtual hour)."""
    def build() -> list[ResolutionRecord]:
        records = []
        for i in range(1000):
            record = ResolutionRecord(f"id{i}", "note")
            # made by the block's execution, dropped with the block result: only the record keeps it
            record.voters = tuple(NAMES[(i + k) % 100] for k in range(100))
            records.append(record)
        return records

    _records, held = retained(build)
    assert held < 1000 * (500 + 250)  # voters and the record itself
