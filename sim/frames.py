"""A finished run as pandas DataFrames, for notebooks and plots (``Result.frames()``).

Every frame is built from ``result.records`` (what the world recorded), ``result.trace`` and
``result.scenario``; nothing is re-simulated. Times are virtual seconds. Columns:

``blocks``
    height, round, proposer, time, interval, txs, vote_ids, vote_bodies. ``time`` is the
    block's *first* commit in the network (when the chain executed it): per-node commit times
    are not recorded, so every per-node time below that derives from a block uses this one too.
    ``interval`` is the time since the previous block (NaN for the first).
``votes``
    resolution, type, voter, power, height, time: one row per vote executed in a block
    (``time`` is that block's first-commit time).
``resolutions``
    id, type, first_seen, first_seen_by, created_height, created_time, status ("passed",
    "expired" or None while still open), height, time (of the decision), passed_height,
    passed_time, expired_height, expired_time, refunded, refunded_height, refunded_time
    (a refund happens at expiry), approved, required (power), votes, latency (time -
    first_seen for passed ones, else NaN), error. ``validator_join``/``validator_remove``
    rows are included; filter ``type`` to compare with summary.json, which leaves them out.
``events``
    node, id, type, stored_time, stores: one row per (node, event) in first-store order;
    ``stored_time`` is when the node's listener first stored it (``records.observations``)
    and ``stores`` how many times it broadcast it (a listener may see an event again, e.g.
    after an RPC retry or a restart);
    vote_sent_time (the first vote-ids tx of that node naming the id, ``records.votes_sent``: the event
    became *broadcasted* there; NaN when the node's vote went out as a vote body in a block
    it proposed, which sends no vote-ids tx), vote_height and received_time (the block that executed that
    node's vote: kwil marks the event *received* when its own vote is committed), resolved
    (the resolution's status), deleted_time (the decision block: the node deletes the event
    when the resolution passes or expires; NaN while open). Missing steps are NaN.
``faults``
    time, kind, node, until (time + duration for faults with one, else NaN), then every
    other key the fault was scheduled with (groups, from_, to, duration, ...), as recorded.
``validators``
    node, power, from, to, from_height, to_height: one row per interval during which the
    node held power > 0, from the genesis set (``scenario.nodes`` whose start is
    "validator" or "offline") and ``records.validator_changes``. An interval still open at the end has
    ``to`` = the run's virtual end and ``to_height`` = NaN.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

BLOCK_COLUMNS = ["height", "round", "proposer", "time", "interval", "txs", "vote_ids", "vote_bodies", "user_txs",
                 "bytes"]
VOTE_COLUMNS = ["resolution", "type", "voter", "power", "height", "time"]
RESOLUTION_COLUMNS = [
    "id", "type", "first_seen", "first_seen_by", "created_height", "created_time", "status",
    "height", "time", "passed_height", "passed_time", "expired_height", "expired_time", "refunded",
    "refunded_height", "refunded_time", "approved", "required", "votes", "latency", "error",
]
EVENT_COLUMNS = ["node", "id", "type", "stored_time", "stores", "vote_sent_time", "vote_height", "received_time",
                 "resolved", "deleted_time"]
FAULT_COLUMNS = ["time", "kind", "node", "until"]
VALIDATOR_COLUMNS = ["node", "power", "from", "to", "from_height", "to_height"]
NAN = math.nan


def build_frames(result: Any) -> dict[str, pd.DataFrame]:
    """blocks, votes, resolutions, events, faults and validators of ``result`` (see module doc)."""
    records = result.records
    block_time = {b.height: b.time for b in records.blocks}
    return {
        "blocks": blocks_frame(records),
        "votes": votes_frame(records, block_time),
        "resolutions": resolutions_frame(records),
        "events": events_frame(records, result.trace, block_time),
        "faults": faults_frame(records),
        "validators": validators_frame(result, block_time),
    }


def blocks_frame(records: Any) -> pd.DataFrame:
    rows = []
    previous = NAN
    for b in records.blocks:
        rows.append([b.height, b.round, b.proposer, b.time, b.time - previous, b.txs, b.vote_ids,
                     b.vote_bodies, b.user_txs, b.bytes])
        previous = b.time
    return pd.DataFrame(rows, columns=BLOCK_COLUMNS)


def votes_frame(records: Any, block_time: dict[int, float]) -> pd.DataFrame:
    outcomes = _outcomes(records)
    rows = [[rid, outcomes[rid][0] if rid in outcomes else None, voter, power, height,
             block_time.get(height, NAN)]
            for rid, voter, power, height in records.votes]
    return pd.DataFrame(rows, columns=VOTE_COLUMNS)


def _outcomes(records: Any) -> dict[str, tuple[str | None, str | None, float | None]]:
    """Resolution id -> (type, status, time), read once: a settled record is read back from
    its row each time it is asked for, and these tables ask once per vote or store."""
    return {r.id: (r.type, r.status, r.time) for r in records.resolutions.values()}


def _opt(value: float | int | None) -> float | int:
    return NAN if value is None else value


def resolutions_frame(records: Any) -> pd.DataFrame:
    rows = []
    for r in records.resolutions.values():  # first-recorded order
        passed = r.status == "passed"
        expired = r.status == "expired"
        refunded = bool(r.refunded and expired)
        first_seen = r.first_seen if math.isfinite(r.first_seen) else NAN
        latency = r.time - first_seen if passed and r.time is not None else NAN
        rows.append([
            r.id, r.type, first_seen, r.first_seen_by, _opt(r.created_height), _opt(r.created_time),
            r.status, _opt(r.height), _opt(r.time),
            _opt(r.height) if passed else NAN, _opt(r.time) if passed else NAN,
            _opt(r.height) if expired else NAN, _opt(r.time) if expired else NAN,
            refunded, _opt(r.height) if refunded else NAN, _opt(r.time) if refunded else NAN,
            r.approved, r.required, len(r.voters), latency, r.error,
        ])
    frame = pd.DataFrame(rows, columns=RESOLUTION_COLUMNS)
    for column in ("created_height", "height", "passed_height", "expired_height", "refunded_height"):
        frame[column] = frame[column].astype("Int64")  # nullable: an open resolution has none
    return frame


def events_frame(records: Any, trace: list[dict[str, Any]], block_time: dict[int, float]) -> pd.DataFrame:
    sent = records.votes_sent
    voted: dict[tuple[str, str], int] = {}
    for rid, voter, _power, height in records.votes:
        voted.setdefault((voter, rid), height)
    first: dict[tuple[str, str], list[float | int]] = {}  # (node, id) -> [first store, stores]
    for node, rid, stored in records.observations:
        entry = first.setdefault((node, rid), [stored, 0])
        entry[1] += 1
    rows = []
    outcomes = _outcomes(records)
    for (node, rid), (stored, stores) in first.items():
        event_type, status, time = outcomes.get(rid, (None, None, None))
        height = voted.get((node, rid))
        deleted = _opt(time) if status is not None else NAN
        rows.append([node, rid, event_type, stored, stores,
                     sent.get((node, rid), NAN), _opt(height),
                     NAN if height is None else block_time.get(height, NAN), status, deleted])
    frame = pd.DataFrame(rows, columns=EVENT_COLUMNS)
    frame["vote_height"] = frame["vote_height"].astype("Int64")
    return frame


def faults_frame(records: Any) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    extra: list[str] = []
    for fault in records.faults:
        row = dict(fault)
        row.setdefault("node", None)
        duration = fault.get("duration")
        row["until"] = fault["time"] + _seconds(duration) if duration is not None else NAN
        rows.append(row)
        extra += [key for key in fault if key not in FAULT_COLUMNS and key not in extra]
    return pd.DataFrame(rows, columns=FAULT_COLUMNS + extra)


def _seconds(duration: Any) -> float:
    """A fault's duration as recorded: ``to_table`` writes text like "2m"."""
    if isinstance(duration, str):
        from sim.units import parse_duration

        return parse_duration(duration)
    return float(duration)


def validators_frame(result: Any, block_time: dict[int, float]) -> pd.DataFrame:
    end = float(result.summary.get("virtual_seconds", NAN))
    power: dict[str, int] = {}
    since: dict[str, tuple[float, int]] = {}
    rows: list[list[Any]] = []
    for node in result.scenario.nodes:
        power[node.name] = node.power if node.start != "non-validator" else 0
        if power[node.name] > 0:
            since[node.name] = (0.0, 0)
    for time, height, name, new_power in result.records.validator_changes:
        old = power.get(name, 0)
        if old == new_power:
            continue
        if old > 0:
            start, start_height = since.pop(name)
            rows.append([name, old, start, time, start_height, height])
        if new_power > 0:
            since[name] = (time, height)
        power[name] = new_power
    for name in sorted(since, key=_node_order(result)):
        start, start_height = since[name]
        rows.append([name, power[name], start, end, start_height, None])
    order = _node_order(result)
    rows.sort(key=lambda row: (row[2], order(row[0])))
    frame = pd.DataFrame(rows, columns=VALIDATOR_COLUMNS)
    frame["to_height"] = frame["to_height"].astype("Int64")
    return frame


def _node_order(result: Any) -> Any:
    order = {name: i for i, name in enumerate(result.node_names)}
    return lambda name: order.get(name, len(order))
