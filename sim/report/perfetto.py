"""A run as a Chrome trace-event JSON file, for ui.perfetto.dev and chrome://tracing.

The mapping (docs/perfetto.md has the table): process 0 is the chain, with a ``heights``
track (a slice per height, from the previous block's commit to its own; rounds above zero in
its name), ``faults`` (every fault: a slice for its duration or a moment), ``violations``
and ``resolutions N`` tracks (each resolution from first sighting to decision, packed so
slices never overlap on a track). Process i+1 is node i, with ``validator`` (a slice per
interval of voting power), ``listeners`` (B/E from start to cancel), ``events`` (a short
slice when the node first stored an event), ``votes`` (a short slice per vote-ids tx sent,
``ids`` naming how many; a moment per height at which its votes executed, ``votes``
counting them), ``down`` (B/E from crash or shutdown to restart) and ``faults N`` (the
partitions and other faults naming the node). Flow arrows join, for each decided resolution,
the first observation to that node's vote-ids tx to the decision.

Timestamps are microseconds of virtual time. Events are written track by track, each track
in time order, streamed to the file so a 100-validator hour does not sit in memory as dicts.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pandas as pd

from sim.outdir import atomic_path
from sim.report.lanes import TimelineData, pack_rows, timeline_data

CHAIN = 0
# Thread ids; packed tracks count up from their base, so the bases leave room for many rows.
HEIGHTS, VIOLATIONS, FAULTS, RESOLUTIONS = 1, 2, 1_000, 1_000_000
MAX_ROWS = 100_000
VALIDATOR, LISTENERS, EVENTS, VOTES, DOWN, NODE_FAULTS = 1, 2, 3, 4, 5, 100
MARK_US = 1.0  # length of a slice that marks a moment, so flow arrows have a slice to bind to

Event = dict[str, Any]


def us(seconds: float) -> float:
    return round(float(seconds) * 1e6, 3)


def _slice(name: str, pid: int, tid: int, start: float, end: float, cat: str, args: dict[str, Any] | None = None
           ) -> Event:
    event: Event = {"name": name, "cat": cat, "ph": "X", "ts": us(start), "dur": max(us(end) - us(start), MARK_US),
                    "pid": pid, "tid": tid}
    if args:
        event["args"] = args
    return event


def _mark(name: str, pid: int, tid: int, t: float, cat: str, args: dict[str, Any] | None = None) -> Event:
    event: Event = {"name": name, "cat": cat, "ph": "X", "ts": us(t), "dur": MARK_US, "pid": pid, "tid": tid}
    if args:
        event["args"] = args
    return event


def _instant(name: str, pid: int, tid: int, t: float, cat: str, args: dict[str, Any]) -> Event:
    return {"name": name, "cat": cat, "ph": "i", "s": "t", "ts": us(t), "pid": pid, "tid": tid, "args": args}


def _meta(kind: str, pid: int, tid: int | None, value: Any) -> Event:
    event: Event = {"name": kind, "ph": "M", "pid": pid, "args": {"name" if kind.endswith("name") else
                                                                   "sort_index": value}}
    event["tid"] = 0 if tid is None else tid
    return event


class _Tracks:
    """One process's events, gathered per track and written out in time order per track."""

    def __init__(self, pid: int, name: str) -> None:
        self.pid, self.name = pid, name
        self.events: dict[int, list[Event]] = defaultdict(list)
        self.names: dict[int, str] = {}

    def add(self, tid: int, track: str, event: Event) -> None:
        self.names.setdefault(tid, track)
        self.events[tid].append(event)

    def ordered(self) -> Iterator[Event]:
        yield _meta("process_name", self.pid, None, self.name)
        yield _meta("process_sort_index", self.pid, None, self.pid)
        for tid, track in sorted(self.names.items()):
            yield _meta("thread_name", self.pid, tid, track)
            yield _meta("thread_sort_index", self.pid, tid, tid)
        # Within a track: by time; at one time, ends first, then begins (longest first), then
        # the flow steps that bind to the slice just begun.
        rank = {"E": 0, "B": 1, "X": 1, "i": 2, "s": 3, "t": 3, "f": 3}
        for tid in sorted(self.events):
            yield from sorted(self.events[tid], key=lambda e: (e["ts"], rank[e["ph"]], -e.get("dur", 0.0)))


def _packed(tracks: _Tracks, base_tid: int, label: str, frame: Any, make: Any) -> None:
    """Spans on as many ``label N`` tracks as it takes for none to overlap another on its track."""
    if len(frame) == 0:
        return
    rows = pack_rows(frame["start"].to_numpy(dtype=float), frame["end"].to_numpy(dtype=float), max_rows=MAX_ROWS)
    for row, item in zip(rows, frame.itertuples(index=False), strict=True):
        tracks.add(base_tid + int(row), f"{label} {int(row) + 1}", make(item, base_tid + int(row)))


@attrs.frozen
class _Flow:
    """One arrow: first observation (node, time) -> that node's vote-ids tx -> decision."""

    id: int
    node: str
    observed: float
    voted: float | None


def _chain(result: Any, data: TimelineData, first_store: dict[str, dict[str, float]]) -> tuple[_Tracks, list[_Flow]]:
    """The chain's process, and the flows that end on it."""
    scenario = str(getattr(result.scenario, "name", "run"))
    tracks = _Tracks(CHAIN, f"chain ({scenario})")
    for block in data.blocks.itertuples(index=False):
        name = f"height {block.height}" + (f" (round {block.round})" if block.round else "")
        tracks.add(HEIGHTS, "heights", _slice(name, CHAIN, HEIGHTS, block.start, block.time, "block", {
            "height": int(block.height), "round": int(block.round), "proposer": block.proposer,
            "txs": int(block.txs), "vote_ids": int(block.vote_ids), "vote_bodies": int(block.vote_bodies)}))
    faults = data.faults.assign(start=data.faults["time"],
                                end=data.faults["until"].fillna(data.faults["time"]).clip(upper=data.end))
    _packed(tracks, FAULTS, "faults", faults, lambda f, tid: _slice(
        f.kind, CHAIN, tid, f.start, f.end, "fault", {"nodes": f.nodes, "record": json.loads(f.record)}))
    for v in data.violations.itertuples(index=False):
        tracks.add(VIOLATIONS, "violations", _instant(v.invariant, CHAIN, VIOLATIONS, v.time, "violation", {
            "nodes": v.nodes, "explanation": v.explanation}))
    table = data.resolutions
    rows = pack_rows(table["start"].to_numpy(dtype=float), table["end"].to_numpy(dtype=float), max_rows=MAX_ROWS)
    flows: list[_Flow] = []
    sent = result.records.votes_sent
    for flow_id, (row, r) in enumerate(zip(rows, table.itertuples(index=False), strict=True), start=1):
        tid, label = RESOLUTIONS + int(row), f"resolutions {int(row) + 1}"
        tracks.add(tid, label, _slice(f"{r.type}: {r.status}", CHAIN, tid, r.start, r.end, "resolution", {
            "id": r.id, "status": r.status, "first_seen_by": r.first_seen_by, "votes": int(r.votes),
            "approved": int(r.approved), "required": int(r.required)}))
        observed = first_store.get(r.first_seen_by or "", {}).get(r.id)
        if r.status == "open" or observed is None:
            continue
        voted = sent.get((r.first_seen_by, r.id))
        flows.append(_Flow(flow_id, r.first_seen_by, observed, voted if voted is not None and voted <= r.end else None))
        end = us(r.end)
        inside = max(end - MARK_US / 2, us(r.start))  # within the resolution's slice, which the arrow binds to
        tracks.add(tid, label, {**_flow(flow_id), "ph": "f", "ts": inside, "pid": CHAIN, "tid": tid})
    return tracks, flows


def _flow(flow_id: int) -> Event:
    return {"name": "event", "cat": "flow", "id": flow_id, "bp": "e"}


class _Nodes:
    """Each node's process, built one node at a time from the run's records grouped by node."""

    def __init__(self, result: Any, data: TimelineData, first_store: dict[str, dict[str, float]],
                 flows: list[_Flow]) -> None:
        self.data, self.first_store = data, first_store
        self.types = {rid: r.type for rid, r in result.records.resolutions.items()}
        block_time = {b.height: b.time for b in result.records.blocks}
        executed: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        for _rid, voter, _power, height in result.records.votes:
            executed[voter][height] += 1
        self.executed = {voter: [(block_time[h], h, n) for h, n in counts.items() if h in block_time]
                         for voter, counts in executed.items()}
        self.votes = dict(tuple(data.votes_sent.groupby("node", sort=False)))
        self.flows: dict[str, list[_Flow]] = defaultdict(list)
        for flow in flows:
            self.flows[flow.node].append(flow)
        partitions = data.partitions.assign(label=data.partitions["label"].map(lambda s: f"partition ({s})"))
        faults = pd.concat([f for f in (partitions, data.node_faults) if len(f)], ignore_index=True) \
            if len(partitions) or len(data.node_faults) else data.node_faults
        self.faults = dict(tuple(faults.sort_values("start", kind="stable").groupby("node", sort=False)))
        self.spans = {name: dict(tuple(frame.groupby("node", sort=False))) for name, frame in
                      (("validator", data.validators), ("listeners", data.listeners), ("down", data.down))}

    def process(self, index: int, node: str) -> _Tracks:
        pid = index + 1
        tracks = _Tracks(pid, node)
        for span in self._spans("validator", node):
            tracks.add(VALIDATOR, "validator", _slice("validator", pid, VALIDATOR, span.start, span.end, "validator",
                                                      {"power": int(span.power)}))
        for track, tid in (("listeners", LISTENERS), ("down", DOWN)):
            for span in self._spans(track, node):
                name = "listeners running" if tid == LISTENERS else span.label
                tracks.add(tid, track, {"name": name, "cat": track, "ph": "B", "ts": us(span.start), "pid": pid,
                                        "tid": tid, "args": {"record": json.loads(span.record)}})
                tracks.add(tid, track, {"name": name, "cat": track, "ph": "E", "ts": us(span.end), "pid": pid,
                                        "tid": tid})
        if node in self.faults:
            _packed(tracks, NODE_FAULTS, "faults", self.faults[node], lambda f, tid: _slice(
                f.label, pid, tid, f.start, f.end, "fault", {"record": json.loads(f.record)}))
        for rid, t in self.first_store.get(node, {}).items():
            tracks.add(EVENTS, "events", _mark(f"stored {self.types.get(rid) or 'event'}", pid, EVENTS, t, "event",
                                               {"id": rid}))
        if node in self.votes:
            for t, ids in zip(self.votes[node]["time"], self.votes[node]["ids"], strict=True):
                tracks.add(VOTES, "votes", _mark("vote-ids tx", pid, VOTES, t, "vote", {"ids": int(ids)}))
        for t, height, count in self.executed.get(node, []):
            tracks.add(VOTES, "votes", _instant("votes executed", pid, VOTES, t, "vote",
                                                {"height": int(height), "votes": count}))
        for flow in self.flows.get(node, []):
            tracks.add(EVENTS, "events", {**_flow(flow.id), "ph": "s", "ts": us(flow.observed), "pid": pid,
                                          "tid": EVENTS})
            if flow.voted is not None:
                tracks.add(VOTES, "votes", {**_flow(flow.id), "ph": "t", "ts": us(flow.voted), "pid": pid,
                                            "tid": VOTES})
        return tracks

    def _spans(self, kind: str, node: str) -> Iterator[Any]:
        frame = self.spans[kind].get(node)
        return iter(()) if frame is None else frame.itertuples(index=False)


def processes(result: Any, data: TimelineData | None = None) -> Iterator[_Tracks]:
    """The chain's process, then each node's, built one at a time."""
    data = data or timeline_data(result)
    first_store: dict[str, dict[str, float]] = defaultdict(dict)
    for node, rid, t in result.records.observations:
        first_store[node].setdefault(rid, t)
    chain, flows = _chain(result, data, first_store)
    yield chain
    nodes = _Nodes(result, data, first_store, flows)
    for index, node in enumerate(data.names):
        yield nodes.process(index, node)


def write_perfetto(result: Any, path: str | Path) -> Path:
    """Write ``result`` as trace-event JSON to ``path``; return the path."""
    target = Path(path)
    summary = result.summary
    target.parent.mkdir(parents=True, exist_ok=True)
    encode = json.JSONEncoder(separators=(",", ":"), default=_plain).encode
    with atomic_path(target) as tmp, tmp.open("w", encoding="utf-8") as handle:
        other = {"scenario": str(getattr(result.scenario, "name", "run")), "seed": summary.get("seed"),
                 "trace_hash": summary.get("trace_hash"), "time_unit": "virtual microseconds"}
        handle.write('{"displayTimeUnit":"ms","otherData":' + json.dumps(other) + ',"traceEvents":[\n')
        separator = ""
        for process in processes(result):
            # One encode call per process (its events as one list, brackets dropped): the
            # encoder's per-call cost dominates when called per event.
            text = encode(list(process.ordered()))[1:-1]
            if text:
                handle.write(separator + text)
                separator = ",\n"
        handle.write("\n]}\n")
    return target


def _plain(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if math.isnan(value) else float(value)
    return str(value)
