"""A run's per-resolution records: what they read back as, and what they cost to keep."""

from __future__ import annotations

import pickle
import subprocess
import sys

import attrs

from sim.world.resolutions import ResolutionLog, ResolutionRecord
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
    script = ("import pickle, sys; from sim.world.resolutions import ResolutionRecord; "
              "ResolutionRecord('x', None, voters=tuple(f'w{i}' for i in range(300))); "
              "sys.stdout.buffer.write(pickle.dumps(ResolutionRecord('id', 'note', voters=('v7', 'w299', 'v1'))))")
    data = subprocess.run([sys.executable, "-c", script], capture_output=True, check=True).stdout
    record = pickle.loads(data)
    assert record.voters == ("v7", "w299", "v1")
    assert record == ResolutionRecord("id", "note", voters=("v7", "w299", "v1"))
    wide = ResolutionRecord("id", "note", voters=tuple(f"w{i}" for i in range(300)))
    assert wide.voters == tuple(f"w{i}" for i in range(300)) and pickle.loads(pickle.dumps(wide)) == wide


def _settled(log: ResolutionLog, rid: str, status: str = "passed", voters: tuple[str, ...] = NAMES[:3]) -> None:
    record = log.open(rid, "note")
    record.status, record.height, record.time, record.voters = status, 7, 12.5, voters
    log.settle(rid)


def test_settled_records_read_back_as_they_were_and_in_first_recorded_order() -> None:
    log = ResolutionLog()
    log.open("a", "note").first_seen = 1.0
    for i in range(3000):  # past a chunk of settled rows: most read back from the file
        _settled(log, f"id{i}", voters=NAMES[i % 7:i % 7 + 3])
    log.open("b", None)
    assert list(log) == ["a", *(f"id{i}" for i in range(3000)), "b"]
    assert log["id1234"] == ResolutionRecord("id1234", "note", status="passed", height=7, time=12.5,
                                             voters=NAMES[2:5])
    assert [r.id for r in log.values()] == list(log) and len(log) == 3002
    assert log["a"].first_seen == 1.0 and "b" in log and "c" not in log and log.get("c") is None


def test_a_settled_record_changes_only_when_opened_again() -> None:
    """A record read back is a copy (changing it changes nothing); ``open`` revives the
    settled record (0.7 revives an expired resolution) and keeps its place in the order."""
    log = ResolutionLog()
    _settled(log, "x", status="expired")
    _settled(log, "y")
    log["x"].status = "passed"
    assert log["x"].status == "expired"
    revived = log.open("x", None)
    assert revived.status == "expired" and revived.type == "note" and revived.voters == NAMES[:3]
    revived.status = "passed"
    assert log["x"] is revived and log["x"].status == "passed"
    log.settle("x")
    assert log["x"].status == "passed" and list(log) == ["x", "y"]


def test_a_log_pickles_with_its_records() -> None:
    log = ResolutionLog()
    for i in range(1500):
        _settled(log, f"id{i}")
    log.open("open", "note")
    copy = pickle.loads(pickle.dumps(log))
    assert copy == log and list(copy) == list(log) and copy["id3"] == log["id3"]


def test_settled_records_cost_little_memory() -> None:
    """A long run keeps a record per event: settled, a record with a hundred voters costs its
    entry in the index, not the ~330 bytes of a record object with its packed voters."""
    ids = [f"{i:08d}-0000-5000-8000-000000000000" for i in range(20_000)]

    def fill() -> ResolutionLog:
        log = ResolutionLog()
        for rid in ids:
            _settled(log, rid, voters=NAMES)
        return log

    log, held = retained(fill)
    assert held < 20_000 * 150, f"20,000 settled records kept {held} bytes"
    assert log[ids[-1]].voters == NAMES and log[ids[5]].voters == NAMES
