"""What the report's timeline draws, as tables: one lane per node, the chain, the faults.

``timeline_data(result)`` turns a ``Result`` (run in memory or read by ``sim.load_run``) into
pandas tables and numpy arrays in virtual seconds; the drawing (sim/report/timeline.py) only
maps them to glyphs, so what a lane shows can be tested without a browser. Spans still open
when the run ended close at its end. ``record`` columns hold the trace record (or fault
record) an item comes from, as canonical JSON, for the hover.
"""

from __future__ import annotations

import heapq
import math
from typing import Any

import attrs
import numpy as np
import pandas as pd

from sim.engine.trace import canonical_line

SPAN_COLUMNS = ["node", "lane", "start", "end", "label", "record"]
# Faults drawn as spans of their own (the others are a mark, or a span for their duration).
DOWN_KINDS = ("crash",)
OVERVIEW_BINS = 400  # columns of the zoomed-out vote heat map


@attrs.frozen
class TimelineData:
    """Everything one run's timeline shows (see the module doc)."""

    names: list[str]
    end: float
    blocks: pd.DataFrame        # height, round, proposer, start, time, txs, vote_ids, vote_bodies, parity
    validators: pd.DataFrame    # SPAN_COLUMNS (+ power)
    listeners: pd.DataFrame     # SPAN_COLUMNS
    down: pd.DataFrame          # SPAN_COLUMNS
    partitions: pd.DataFrame    # SPAN_COLUMNS; label is "both sides", "from side" or "to side"
    node_faults: pd.DataFrame   # SPAN_COLUMNS; every other fault naming a node (end == start: a moment)
    faults: pd.DataFrame        # one row per fault record: time, until, kind, nodes, record
    violations: pd.DataFrame    # time, invariant, nodes, explanation, record
    votes_sent: pd.DataFrame    # one row per vote-ids tx: time, lane, node, ids
    vote_grid: np.ndarray       # [lane third, bin] vote-ids txs sent, OVERVIEW_BINS bins over [0, end]
    resolutions: pd.DataFrame   # id, short, type, start, end, status, row, first_seen_by, latency, ...


def timeline_data(result: Any) -> TimelineData:
    names = list(result.node_names)
    lane = {name: i for i, name in enumerate(names)}
    end = max(float(result.summary.get("virtual_seconds") or 0.0), 1e-9)
    records = result.records
    votes = _votes_sent(records, lane)
    return TimelineData(
        names=names, end=end, blocks=_blocks(records), validators=_validators(result, lane),
        listeners=_listeners(result.trace, lane, end), down=_down(result.trace, lane, end),
        partitions=_partitions(records.faults, lane, end), node_faults=_node_faults(records.faults, lane, end),
        faults=_faults(records.faults), violations=_violations(result.summary), votes_sent=votes,
        vote_grid=_grid(votes, len(names), end), resolutions=_resolutions(records, end),
    )


def _blocks(records: Any) -> pd.DataFrame:
    blocks = records.blocks
    frame = pd.DataFrame({
        "height": np.array([b.height for b in blocks], dtype=np.int64),
        "round": np.array([b.round for b in blocks], dtype=np.int64),
        "proposer": [b.proposer for b in blocks],
        "time": np.array([b.time for b in blocks], dtype=float),
        "txs": np.array([b.txs for b in blocks], dtype=np.int64),
        "vote_ids": np.array([b.vote_ids for b in blocks], dtype=np.int64),
        "vote_bodies": np.array([b.vote_bodies for b in blocks], dtype=np.int64),
    })
    # A height lasts from the previous block's commit to its own (the first from t=0).
    frame.insert(3, "start", np.concatenate([[0.0], frame["time"].to_numpy()[:-1]]) if len(frame) else [])
    frame["parity"] = (frame["height"] % 2).astype(np.int64)
    return frame


def _spans(rows: list[list[Any]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=SPAN_COLUMNS)


def _validators(result: Any, lane: dict[str, int]) -> pd.DataFrame:
    from sim.frames import validators_frame

    block_time = {b.height: b.time for b in result.records.blocks}
    table = validators_frame(result, block_time)
    rows = [[node, lane[node], float(start), float(stop), f"power {power}", ""]
            for node, power, start, stop in zip(table["node"], table["power"], table["from"], table["to"],
                                                strict=True) if node in lane]
    frame = _spans(rows)
    frame["power"] = [int(p) for node, p in zip(table["node"], table["power"], strict=True) if node in lane]
    return frame


def _listeners(trace: list[dict[str, Any]], lane: dict[str, int], end: float) -> pd.DataFrame:
    """From each ``listeners.start`` to the node's next ``listeners.cancel`` or shutdown."""
    open_at: dict[str, dict[str, Any]] = {}
    rows: list[list[Any]] = []
    for record in trace:
        event = record.get("event")
        node = record.get("node")
        if node not in lane:
            continue
        if event == "listeners.start":
            open_at.setdefault(node, record)
        elif event in ("listeners.cancel", "node.shutdown") and node in open_at:
            started = open_at.pop(node)
            rows.append([node, lane[node], started["t"], record["t"], "listeners running", canonical_line(started)])
    for node, started in open_at.items():
        rows.append([node, lane[node], started["t"], end, "listeners running", canonical_line(started)])
    return _spans(sorted(rows, key=lambda r: (r[2], r[1])))


def _down(trace: list[dict[str, Any]], lane: dict[str, int], end: float) -> pd.DataFrame:
    """From a ``crash`` fault or a node shutting itself down to its ``restart`` (or the end)."""
    open_at: dict[str, dict[str, Any]] = {}
    rows: list[list[Any]] = []
    for record in trace:
        event, kind, node = record.get("event"), record.get("kind"), record.get("node")
        if node not in lane:
            continue
        if event == "fault" and kind in DOWN_KINDS or event == "node.shutdown":
            open_at.setdefault(node, record)
        elif event == "fault" and kind == "restart" and node in open_at:
            started = open_at.pop(node)
            rows.append([node, lane[node], started["t"], record["t"], _down_label(started), canonical_line(started)])
    for node, started in open_at.items():
        rows.append([node, lane[node], started["t"], end, _down_label(started), canonical_line(started)])
    return _spans(sorted(rows, key=lambda r: (r[2], r[1])))


def _down_label(record: dict[str, Any]) -> str:
    return "crashed" if record.get("event") == "fault" else f"shut down: {record.get('error')}"


def _fault_end(fault: dict[str, Any], heals: list[float], end: float) -> float:
    """A timed fault ends after its duration; an untimed partition at the next heal."""
    start = float(fault["time"])
    if fault.get("duration") is not None:
        return min(start + float(fault["duration"]), end)
    later = [t for t in heals if t >= start]
    return min(later[0], end) if later else end


def _partitions(faults: list[dict[str, Any]], lane: dict[str, int], end: float) -> pd.DataFrame:
    """Both sides of every partition: groups cut each other; ``from`` cannot reach ``to``."""
    heals = sorted(float(f["time"]) for f in faults if f.get("kind") == "heal")
    rows: list[list[Any]] = []
    for fault in faults:
        if fault.get("kind") != "partition":
            continue
        start, stop = float(fault["time"]), _fault_end(fault, heals, end)
        record = canonical_line(fault)
        sides = [("both sides", n) for group in fault.get("groups") or [] for n in group]
        sides += [("from side", n) for n in fault.get("from") or []]
        sides += [("to side", n) for n in fault.get("to") or []]
        rows += [[n, lane[n], start, stop, label, record] for label, n in sides if n in lane]
    return _spans(rows)


def _named_nodes(fault: dict[str, Any]) -> list[str]:
    names = [fault["node"]] if fault.get("node") else []
    for key in ("nodes", "link", "from", "to"):
        names += list(fault.get(key) or [])
    names += [n for group in fault.get("groups") or [] for n in group]
    return list(dict.fromkeys(names))


def _node_faults(faults: list[dict[str, Any]], lane: dict[str, int], end: float) -> pd.DataFrame:
    """Every fault naming nodes that is not drawn as down time or a partition."""
    rows: list[list[Any]] = []
    for fault in faults:
        kind = fault.get("kind")
        if kind in ("partition", "crash", "restart"):
            continue
        start = float(fault["time"])
        stop = min(start + float(fault["duration"]), end) if fault.get("duration") is not None else start
        record = canonical_line(fault)
        rows += [[n, lane[n], start, stop, str(kind), record] for n in _named_nodes(fault) if n in lane]
    return _spans(rows)


def _faults(faults: list[dict[str, Any]]) -> pd.DataFrame:
    rows = []
    for fault in faults:
        start = float(fault["time"])
        until = start + float(fault["duration"]) if fault.get("duration") is not None else math.nan
        rows.append([start, until, str(fault.get("kind")), ",".join(_named_nodes(fault)) or "all",
                     canonical_line(fault)])
    return pd.DataFrame(rows, columns=["time", "until", "kind", "nodes", "record"])


def _violations(summary: dict[str, Any]) -> pd.DataFrame:
    rows = [[float(v["time"]), v["invariant"], ",".join(v.get("nodes") or []), v.get("explanation", ""),
             canonical_line(v)] for v in summary.get("violations") or []]
    return pd.DataFrame(rows, columns=["time", "invariant", "nodes", "explanation", "record"])


def _votes_sent(records: Any, lane: dict[str, int]) -> pd.DataFrame:
    """One row per vote-ids tx: a node sends one at a commit, naming every id it holds."""
    sent = records.votes_sent
    if not sent:
        return pd.DataFrame({"time": np.zeros(0), "lane": np.zeros(0, dtype=np.int64), "node": [],
                             "ids": np.zeros(0, dtype=np.int64)})
    frame = pd.DataFrame({"node": [node for node, _ in sent], "time": np.fromiter(sent.values(), dtype=float,
                                                                                   count=len(sent))})
    grouped = frame.groupby(["node", "time"], sort=False).size().reset_index(name="ids")
    grouped["lane"] = grouped["node"].map(lane).fillna(-1).astype(np.int64)
    grouped = grouped[grouped["lane"] >= 0]
    return grouped.sort_values(["time", "lane"], kind="stable").reset_index(drop=True)[
        ["time", "lane", "node", "ids"]]


GRID_ROWS_PER_LANE = 3  # the heat map fills the lower third of a lane, where the vote ticks are


def _grid(votes: pd.DataFrame, lanes: int, end: float) -> np.ndarray:
    """Vote-ids txs per (lane third, time bin): what the lanes show when zoomed out.

    Row ``3 * lane + 2`` holds the lane's counts; the other two rows of a lane stay empty so
    its listener and validator bars show through.
    """
    grid = np.zeros((max(lanes, 1) * GRID_ROWS_PER_LANE, OVERVIEW_BINS), dtype=np.float32)
    if len(votes):
        bins = np.minimum((votes["time"].to_numpy() / end * OVERVIEW_BINS).astype(np.int64), OVERVIEW_BINS - 1)
        rows = votes["lane"].to_numpy() * GRID_ROWS_PER_LANE + GRID_ROWS_PER_LANE - 1
        np.add.at(grid, (rows, bins), 1.0)
    return grid


def _resolutions(records: Any, end: float) -> pd.DataFrame:
    """Each resolution from its first sighting to its decision, packed into rows that do not overlap."""
    rows = []
    for r in records.resolutions.values():
        start = r.first_seen if math.isfinite(r.first_seen) else (r.created_time if r.created_time is not None
                                                                  else math.nan)
        if not math.isfinite(start):
            continue
        stop = r.time if r.time is not None else end
        status = r.status or "open"
        if status == "expired" and r.refunded:
            status = "expired, refunded"
        latency = stop - start if r.status == "passed" else math.nan
        rows.append([r.id, r.id[:16], r.type, start, max(stop, start), status, r.first_seen_by, latency,
                     len(r.voters), r.approved, r.required, r.created_height, r.height])
    frame = pd.DataFrame(rows, columns=["id", "short", "type", "start", "end", "status", "first_seen_by", "latency",
                                        "votes", "approved", "required", "created_height", "height"])
    frame["row"] = pack_rows(frame["start"].to_numpy(), frame["end"].to_numpy())
    return frame


def pack_rows(starts: np.ndarray, ends: np.ndarray, max_rows: int = 40) -> np.ndarray:
    """A row per interval so that intervals in one row do not overlap (greedy, fewest rows).

    Past ``max_rows`` rows, intervals share the least recently freed row (they may overlap):
    a report stays readable with thousands of open resolutions.
    """
    order = np.argsort(starts, kind="stable")
    rows = np.zeros(len(starts), dtype=np.int64)
    free: list[tuple[float, int]] = []  # (end of its last interval, row)
    used = 0
    for i in order:
        if free and free[0][0] <= starts[i]:
            _, row = heapq.heappop(free)
        elif used < max_rows:
            row, used = used, used + 1
        else:
            _, row = heapq.heappop(free)
        rows[i] = row
        heapq.heappush(free, (float(ends[i]), row))
    return rows
