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

import numpy as np

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
    """Events gathered per (pid, tid), written out in time order per track."""

    def __init__(self) -> None:
        self.events: dict[tuple[int, int], list[Event]] = defaultdict(list)
        self.names: dict[tuple[int, int], str] = {}

    def add(self, pid: int, tid: int, name: str, event: Event) -> None:
        self.names.setdefault((pid, tid), name)
        self.events[(pid, tid)].append(event)

    def ordered(self) -> Iterator[Event]:
        for key in sorted(self.events):
            # Within a track: by time; at one time, ends first, then begins (longest first),
            # then the flow steps that bind to the slice just begun.
            rank = {"E": 0, "B": 1, "X": 1, "i": 2, "s": 3, "t": 3, "f": 3}
            yield from sorted(self.events[key], key=lambda e: (e["ts"], rank[e["ph"]], -e.get("dur", 0.0)))


def _packed(tracks: _Tracks, pid: int, base_tid: int, label: str, frame: Any, make: Any) -> None:
    """Spans on as many ``label N`` tracks as it takes for none to overlap another on its track."""
    if len(frame) == 0:
        return
    rows = pack_rows(frame["start"].to_numpy(dtype=float), frame["end"].to_numpy(dtype=float), max_rows=MAX_ROWS)
    for row, (_, item) in zip(rows, frame.iterrows(), strict=True):
        tracks.add(pid, base_tid + int(row), f"{label} {int(row) + 1}", make(item, base_tid + int(row)))


def build_tracks(result: Any, data: TimelineData | None = None) -> _Tracks:
    data = data or timeline_data(result)
    records = result.records
    pid = {name: i + 1 for i, name in enumerate(data.names)}
    tracks = _Tracks()
    for block in data.blocks.itertuples(index=False):
        name = f"height {block.height}" + (f" (round {block.round})" if block.round else "")
        tracks.add(CHAIN, HEIGHTS, "heights", _slice(name, CHAIN, HEIGHTS, block.start, block.time, "block", {
            "height": int(block.height), "round": int(block.round), "proposer": block.proposer,
            "txs": int(block.txs), "vote_ids": int(block.vote_ids), "vote_bodies": int(block.vote_bodies)}))
    faults = data.faults.assign(start=data.faults["time"],
                                end=data.faults["until"].fillna(data.faults["time"]).clip(upper=data.end))
    _packed(tracks, CHAIN, FAULTS, "faults", faults, lambda f, tid: _slice(
        f.kind, CHAIN, tid, f.start, f.end, "fault", {"nodes": f.nodes, "record": json.loads(f.record)}))
    for v in data.violations.itertuples(index=False):
        tracks.add(CHAIN, VIOLATIONS, "violations", _instant(v.invariant, CHAIN, VIOLATIONS, v.time, "violation", {
            "nodes": v.nodes, "explanation": v.explanation}))
    for span in data.validators.itertuples(index=False):
        tracks.add(pid[span.node], VALIDATOR, "validator", _slice(
            "validator", pid[span.node], VALIDATOR, span.start, span.end, "validator", {"power": int(span.power)}))
    for kind, tid, frame in (("listeners running", LISTENERS, data.listeners), ("down", DOWN, data.down)):
        track = "listeners" if tid == LISTENERS else "down"
        for span in frame.itertuples(index=False):
            p = pid[span.node]
            begin: Event = {"name": span.label if tid == DOWN else kind, "cat": track, "ph": "B", "ts": us(span.start),
                            "pid": p, "tid": tid, "args": {"record": json.loads(span.record)}}
            tracks.add(p, tid, track, begin)
            tracks.add(p, tid, track, {"name": begin["name"], "cat": track, "ph": "E", "ts": us(span.end),
                                       "pid": p, "tid": tid})
    node_faults = data.partitions.assign(label=data.partitions["label"].map(lambda s: f"partition ({s})"))
    for node, frame in _by_node(node_faults, data.node_faults):
        _packed(tracks, pid[node], NODE_FAULTS, "faults", frame, lambda f, tid, p=pid[node]: _slice(
            f.label, p, tid, f.start, f.end, "fault", {"record": json.loads(f.record)}))
    _events_and_votes(tracks, records, pid, data)
    return tracks


def _by_node(*frames: Any) -> Iterator[tuple[str, Any]]:
    import pandas as pd

    both = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) else None
    if both is None:
        return
    for node, frame in both.groupby("node", sort=True):
        yield str(node), frame.sort_values("start", kind="stable")


def _events_and_votes(tracks: _Tracks, records: Any, pid: dict[str, int], data: TimelineData) -> None:
    resolution_type = {rid: r.type for rid, r in records.resolutions.items()}
    first_store: dict[tuple[str, str], float] = {}
    for node, rid, t in records.observations:
        first_store.setdefault((node, rid), t)
    for (node, rid), t in first_store.items():
        if node in pid:
            tracks.add(pid[node], EVENTS, "events", _mark(f"stored {resolution_type.get(rid) or 'event'}", pid[node],
                                                          EVENTS, t, "event", {"id": rid}))
    for vote in data.votes_sent.itertuples(index=False):
        tracks.add(pid[vote.node], VOTES, "votes", _mark("vote-ids tx", pid[vote.node], VOTES, vote.time, "vote",
                                                         {"ids": int(vote.ids)}))
    executed: dict[tuple[str, int], int] = defaultdict(int)
    for _rid, voter, _power, height in records.votes:
        executed[(voter, height)] += 1
    block_time = {b.height: b.time for b in records.blocks}
    for (voter, height), count in executed.items():
        if voter in pid and height in block_time:
            tracks.add(pid[voter], VOTES, "votes", _instant("votes executed", pid[voter], VOTES, block_time[height],
                                                            "vote", {"height": int(height), "votes": count}))
    _resolutions_and_flows(tracks, records, pid, data, first_store)


def _resolutions_and_flows(tracks: _Tracks, records: Any, pid: dict[str, int], data: TimelineData,
                           first_store: dict[tuple[str, str], float]) -> None:
    table = data.resolutions
    rows = pack_rows(table["start"].to_numpy(dtype=float), table["end"].to_numpy(dtype=float), max_rows=MAX_ROWS)
    for flow_id, (row, r) in enumerate(zip(rows, table.itertuples(index=False), strict=True), start=1):
        tid = RESOLUTIONS + int(row)
        label = f"resolutions {int(row) + 1}"
        tracks.add(CHAIN, tid, label, _slice(f"{r.type}: {r.status}", CHAIN, tid, r.start, r.end, "resolution", {
            "id": r.id, "status": r.status, "first_seen_by": r.first_seen_by, "votes": int(r.votes),
            "approved": int(r.approved), "required": int(r.required)}))
        node = r.first_seen_by
        if r.status == "open" or node not in pid or (node, r.id) not in first_store:
            continue
        flow = {"name": "event", "cat": "flow", "id": flow_id, "bp": "e"}
        tracks.add(pid[node], EVENTS, "events", {**flow, "ph": "s", "ts": us(first_store[(node, r.id)]),
                                                 "pid": pid[node], "tid": EVENTS})
        sent = records.votes_sent.get((node, r.id))
        if sent is not None and sent <= r.end:
            tracks.add(pid[node], VOTES, "votes", {**flow, "ph": "t", "ts": us(sent), "pid": pid[node], "tid": VOTES})
        end = us(r.end)
        inside = max(end - MARK_US / 2, us(r.start))  # within the resolution's slice, which the arrow binds to
        tracks.add(CHAIN, tid, label, {**flow, "ph": "f", "ts": inside, "pid": CHAIN, "tid": tid})


def _metadata(tracks: _Tracks, names: list[str], scenario: str) -> list[Event]:
    events = [_meta("process_name", CHAIN, None, f"chain ({scenario})"), _meta("process_sort_index", CHAIN, None, 0)]
    for i, name in enumerate(names):
        events += [_meta("process_name", i + 1, None, name), _meta("process_sort_index", i + 1, None, i + 1)]
    for (p, tid), track in sorted(tracks.names.items()):
        events += [_meta("thread_name", p, tid, track), _meta("thread_sort_index", p, tid, tid)]
    return events


def write_perfetto(result: Any, path: str | Path) -> Path:
    """Write ``result`` as trace-event JSON to ``path``; return the path."""
    target = Path(path)
    data = timeline_data(result)
    tracks = build_tracks(result, data)
    summary = result.summary
    scenario = str(getattr(result.scenario, "name", "run"))
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        other = {"scenario": scenario, "seed": summary.get("seed"), "trace_hash": summary.get("trace_hash"),
                 "time_unit": "virtual microseconds"}
        handle.write('{"displayTimeUnit":"ms","otherData":' + json.dumps(other) + ',"traceEvents":[\n')
        first = True
        for event in [*_metadata(tracks, data.names, scenario), *tracks.ordered()]:
            handle.write(("" if first else ",\n") + json.dumps(event, separators=(",", ":"), default=_plain))
            first = False
        handle.write("\n]}\n")
    tmp.replace(target)
    return target


def _plain(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if math.isnan(value) else float(value)
    return str(value)
