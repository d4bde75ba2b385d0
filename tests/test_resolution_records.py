"""A run's per-resolution records: what they read back as, and what they cost to keep."""

from __future__ import annotations

import pickle
import subprocess
import sys

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


def test_a_resolution_with_a_hundred_voters_keeps_them_in_a_byte_each() -> None:
    """Every resolution of a run keeps its record: as a tuple, a hundred voters held ~850 bytes
    per event (a long listener run's largest growth per virtual hour), as one string ~440."""
    def build() -> list[ResolutionRecord]:
        records = []
        for i in range(1000):
            record = ResolutionRecord(f"id{i}", "note")
            # made by the block's execution, dropped with the block result: only the record keeps it
            record.voters = tuple(NAMES[(i + k) % 100] for k in range(100))
            records.append(record)
        return records

    _records, held = retained(build)
    assert held < 1000 * (150 + 250)  # voters and the record itself


def test_a_record_pickled_in_another_process_reads_back_its_voters() -> None:
    """Packed codes are the process's own: a record pickled where names got other codes (a
    sweep worker) still reads back the same voters here, and equals the same record made here."""
    script = ("import pickle, sys; from sim.world.records import ResolutionRecord; "
              "ResolutionRecord('x', None, voters=tuple(f'w{i}' for i in range(300))); "
              "sys.stdout.buffer.write(pickle.dumps(ResolutionRecord('id', 'note', voters=('v7', 'w299', 'v1'))))")
    data = subprocess.run([sys.executable, "-c", script], capture_output=True, check=True).stdout
    record = pickle.loads(data)
    assert record.voters == ("v7", "w299", "v1")
    assert record == ResolutionRecord("id", "note", voters=("v7", "w299", "v1"))
    wide = ResolutionRecord("id", "note", voters=tuple(f"w{i}" for i in range(300)))
    assert wide.voters == tuple(f"w{i}" for i in range(300)) and pickle.loads(pickle.dumps(wide)) == wide
