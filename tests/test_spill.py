"""Lists that move their older items to a temporary file read back exactly as appended."""

from __future__ import annotations

import pickle

import pytest

from sim.engine.spill import SpillList
from sim.engine.trace import Trace, canonical_line
from tests.memory import retained


def test_items_moved_to_the_file_read_back_in_every_way() -> None:
    items = [("type", bytes([i % 256]) * 40, i) for i in range(1000)]
    spilled = SpillList(items, chunk_items=64)
    assert len(spilled) == 1000 and list(spilled) == items and spilled == items
    assert spilled[0] == items[0] and spilled[-1] == items[-1] and spilled[700] == items[700]
    assert spilled[60:200] == items[60:200] and spilled[990:] == items[990:]
    assert spilled[::-7] == items[::-7]
    assert pickle.loads(pickle.dumps(spilled)) == items
    with pytest.raises(IndexError):
        spilled[1000]


def test_a_long_list_keeps_only_its_newest_items_in_memory() -> None:
    """Memory of a SpillList stays under a chunk however many items it holds; as a list
    these 100,000 lines of ~100 characters held ~15 MB."""
    lines = [f'{{"event":"block","height":{i},"proposer":"v{i % 100}","t":{i * 0.75}}}' + "x" * 40
             for i in range(100_000)]

    def fill() -> SpillList[str]:
        spilled: SpillList[str] = SpillList(chunk_items=1024)
        for line in lines:
            spilled.append(line)
        return spilled

    spilled, grown = retained(fill)
    assert grown < 1_000_000, f"100,000 lines kept {grown} bytes in memory"
    assert spilled[54_321] == lines[54_321]


def test_reading_a_long_list_through_keeps_none_of_it() -> None:
    """Streaming every item (hashing a trace at the end of a run) leaves no chunk read back
    in memory; only reading by position keeps the last chunk, for the next read nearby."""
    spilled = SpillList((f"line {i} " + "x" * 100 for i in range(20_000)), chunk_items=4096)

    def read_through() -> int:
        return sum(len(line) for line in spilled)

    total, kept = retained(read_through)
    assert total == sum(len(f"line {i} ") + 100 for i in range(20_000))
    assert kept < 50_000, f"reading 20,000 lines through kept {kept} bytes"
    _line, kept_by_position = retained(lambda: spilled[5])
    assert kept_by_position > 400_000  # the chunk of 4,096 lines around it


def test_a_trace_keeps_few_lines_in_memory() -> None:
    """A trace holds at most a few thousand lines in memory (~0.8 MB): its tail is part of
    a long run's peak memory."""
    now = [0.0]
    trace = Trace(lambda: now[0])

    def emit_many() -> None:
        for i in range(30_000):
            now[0] = i * 0.5
            trace.emit("block", height=i, proposer=f"v{i % 100}", txs=3, hash="0123456789abcdef" * 4)

    _none, kept = retained(emit_many)
    assert kept < 1_500_000, f"30,000 trace lines kept {kept} bytes in memory"
    assert trace.records[12_345]["height"] == 12_345


def test_trace_records_read_back_as_the_trace_file_has_them() -> None:
    now = [0.0]
    trace = Trace(lambda: now[0])
    for i in range(3):
        now[0] = i * 0.5
        trace.emit("node.status", node="v1", nodes=("v2", "v3"), data=b"\x01\x02", height=i)
    records = trace.records
    assert len(records) == 3
    assert records[1] == {"t": 0.5, "event": "node.status", "node": "v1", "nodes": ["v2", "v3"],
                          "data": "0102", "height": 1}
    assert [canonical_line(r) for r in records] == list(trace.lines())
    assert [r["height"] for r in records[1:]] == [1, 2]


def test_a_run_that_moves_its_records_to_disk_is_the_same_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Moving older records, trace lines and shown events to the temporary file after every
    few items changes nothing a run produces: the same summary, trace and tables, with a node
    that restarts and reads every event it was shown again (most of them from the file)."""
    import sim
    import sim.engine.spill
    import sim.sources.script
    import sim.world.columns
    from tests.worlds import scenario_text

    text = scenario_text(
        '\n[resolutions.note]\n\n[sources.script]\nrate = "2/s"\ntype = "note"\n'
        '\n[[faults]]\nat = "40s"\nkind = "crash"\nnode = "v3"\n'
        '\n[[faults]]\nat = "2m"\nkind = "restart"\nnode = "v3"\n', duration="3m")

    def run() -> sim.Result:
        return sim.run(sim.parse_scenario(text, file="spill.toml"), seed=3)

    kept = run()
    monkeypatch.setattr(sim.engine.spill, "CHUNK_ITEMS", 5)
    monkeypatch.setattr(sim.world.columns, "CHUNK_ROWS", 7)
    monkeypatch.setattr(sim.sources.script, "SHOWN_CHUNK", 3)
    spilled = run()
    assert spilled.records.observations._rows and spilled.records.observations == kept.records.observations
    assert spilled.summary == {**kept.summary, "wall_seconds": spilled.summary["wall_seconds"]}
    assert list(spilled.trace) == list(kept.trace) and spilled.records.votes == kept.records.votes
    restarted = [r for r in spilled.trace if r["event"] == "node.synced" and r.get("node") == "v3"]
    assert restarted and restarted[-1]["t"] >= 120  # v3 came back and read its whole feed again


def test_a_trace_line_is_the_sorted_compact_json_of_the_record() -> None:
    """Every record's line is ``json.dumps`` with sorted keys, no spaces, bytes as hex, sets
    sorted, tuples as lists and anything else as its text: the trace hash is over these."""
    import json

    class Odd:
        def __str__(self) -> str:
            return "odd!"

    trace = Trace(lambda: 2.0000000001234)
    fields = {"b": b"\x01\xff", "s": {3, 1}, "tu": (1, "x"), "u": "ä\"", "f": float("inf"), "n": None,
              "o": Odd(), "nested": {"z": 1, "a": [2]}}
    trace.emit("odd", **fields)
    expected = json.dumps({"t": 2.0, "event": "odd", **{**fields, "b": "01ff", "s": [1, 3], "tu": [1, "x"],
                                                         "o": "odd!"}},
                          sort_keys=True, separators=(",", ":"))
    assert list(trace.lines()) == [expected]
