"""The Perfetto export is valid trace-event JSON and keeps the run's counts."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

import sim
from sim.cli import main

DATA = Path(__file__).resolve().parent / "data"
REQUIRED = {"name", "ph", "ts", "pid", "tid"}
PHASES = {"X", "B", "E", "i", "s", "t", "f", "M"}


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Any]]:
    """tests/data/troubled.toml run to a folder, exported with ``nodesim export --perfetto``."""
    run_dir = tmp_path_factory.mktemp("perfetto") / "run"
    result = sim.run(sim.load_scenario(DATA / "troubled.toml"), out=run_dir)
    assert main(["export", str(run_dir), "--perfetto"]) == 0
    return result, json.loads((run_dir / "trace.perfetto.json").read_text(encoding="utf-8"))


def test_every_event_has_the_fields_its_phase_needs(exported: tuple[Any, dict[str, Any]]) -> None:
    _, trace = exported
    events = trace["traceEvents"]
    assert events
    for event in events:
        assert event["ph"] in PHASES, event
        if event["ph"] == "M":
            assert {"name", "ph", "pid", "args"} <= event.keys(), event
            assert "name" in event["args"] or "sort_index" in event["args"], event
            continue
        assert event.keys() >= REQUIRED, event
        assert isinstance(event["ts"], int | float) and event["ts"] >= 0, event
        if event["ph"] == "X":
            assert event["dur"] > 0, event
        if event["ph"] in "stf":
            assert "id" in event and event.get("cat"), event


def test_begin_end_pairs_match_and_time_never_goes_back_on_a_track(exported: tuple[Any, dict[str, Any]]) -> None:
    """Per (pid, tid): timestamps in file order never decrease, every E closes the innermost
    open B of the same name, nothing is left open, and complete slices nest (a slice that
    starts inside another ends inside it)."""
    _, trace = exported
    last: dict[tuple[int, int], float] = {}
    open_b: dict[tuple[int, int], list[str]] = defaultdict(list)
    stacks: dict[tuple[int, int], list[float]] = defaultdict(list)  # ends of enclosing X slices
    for event in trace["traceEvents"]:
        if event["ph"] == "M":
            continue
        track = (event["pid"], event["tid"])
        assert event["ts"] >= last.get(track, 0.0), ("time went back", event)
        last[track] = event["ts"]
        if event["ph"] == "B":
            open_b[track].append(event["name"])
        elif event["ph"] == "E":
            assert open_b[track] and open_b[track].pop() == event["name"], ("unmatched E", event)
        elif event["ph"] == "X":
            stack = stacks[track]
            while stack and stack[-1] <= event["ts"]:
                stack.pop()
            end = event["ts"] + event["dur"]
            assert not stack or end <= stack[-1] + 1e-6, ("overlapping slices on one track", event)
            stack.append(end)
    assert all(not names for names in open_b.values()), open_b


def test_flows_go_from_observation_to_vote_to_resolution(exported: tuple[Any, dict[str, Any]]) -> None:
    result, trace = exported
    steps: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for event in trace["traceEvents"]:
        if event["ph"] in "stf":
            steps[event["id"]].append(event)
    decided = [r for r in result.records.resolutions.values() if r.status and r.first_seen_by]
    assert len(steps) == len(decided) > 0
    for steps_of_one in steps.values():
        chain = sorted(steps_of_one, key=lambda e: e["ts"])
        phases = "".join(e["ph"] for e in chain)
        assert phases in ("stf", "sf"), phases
        start, finish = chain[0], chain[-1]
        assert start["pid"] != 0 and finish["pid"] == 0  # a node's observation, the chain's decision
    with_votes = sum(1 for chain in steps.values() if len(chain) == 3)
    assert with_votes > len(steps) // 2


def test_counts_round_trip(exported: tuple[Any, dict[str, Any]]) -> None:
    result, trace = exported
    events = [e for e in trace["traceEvents"] if e["ph"] != "M"]
    names = {(e["pid"], e["tid"]): e["args"]["name"] for e in trace["traceEvents"] if e["name"] == "thread_name"}
    processes = {e["pid"]: e["args"]["name"] for e in trace["traceEvents"] if e["name"] == "process_name"}
    assert [processes[i + 1] for i in range(len(result.node_names))] == result.node_names
    on = Counter(names[(e["pid"], e["tid"])].split(" ")[0] + ":" + e["ph"] for e in events)
    blocks = [e for e in events if e["pid"] == 0 and names[(0, e["tid"])] == "heights"]
    assert [e["args"]["height"] for e in blocks] == [b.height for b in result.records.blocks]
    sent = sum(e["args"]["ids"] for e in events if e["ph"] == "X" and e["name"] == "vote-ids tx")
    assert sent == len(result.records.votes_sent)
    executed = sum(e["args"]["votes"] for e in events if e["name"] == "votes executed")
    assert executed == len(result.records.votes)
    chain_faults = [e for e in events if e["pid"] == 0 and names[(0, e["tid"])].startswith("faults")]
    assert sorted((e["ts"], e["name"]) for e in chain_faults) == sorted(
        (round(f["time"] * 1e6, 3), f["kind"]) for f in result.records.faults)
    assert on["violations:i"] == len(result.summary["violations"])
    down = [e for e in events if e["ph"] == "B" and names[(e["pid"], e["tid"])] == "down"]
    assert [(processes[e["pid"]], e["ts"]) for e in down] == [("v3", 8e6)]
