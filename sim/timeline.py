"""Per-node intervals of a run (down, partitioned, listening, validator) for the timeline plot.

Each function turns the run's records and trace into ``{node: [(start, end), ...]}`` with
intervals in virtual seconds; an interval still open when the run ended closes at its end.
Kept apart from the drawing so what a lane shows can be tested without matplotlib.
"""

from __future__ import annotations

from typing import Any

Intervals = dict[str, list[tuple[float, float]]]


def run_end(result: Any) -> float:
    return float(result.summary.get("virtual_seconds", 0.0))


def _close(open_at: dict[str, float], spans: Intervals, node: str, t: float) -> None:
    start = open_at.pop(node, None)
    if start is not None:
        spans.setdefault(node, []).append((start, t))


def _finish(open_at: dict[str, float], spans: Intervals, end: float, names: list[str]) -> Intervals:
    for node in list(open_at):
        _close(open_at, spans, node, end)
    return {name: sorted(spans.get(name, [])) for name in names}


def listener_runs(result: Any) -> Intervals:
    """From each ``listeners.start`` to the node's next ``listeners.cancel`` (or the end)."""
    open_at: dict[str, float] = {}
    spans: Intervals = {}
    for record in result.trace:
        event = record.get("event")
        if event == "listeners.start":
            open_at.setdefault(record["node"], record["t"])
        elif event in ("listeners.cancel", "node.shutdown"):
            _close(open_at, spans, record["node"], record["t"])
    return _finish(open_at, spans, run_end(result), result.node_names)


def down_spans(result: Any) -> Intervals:
    """From a ``crash`` fault (or a node shutting itself down) to its ``restart`` (or the end)."""
    open_at: dict[str, float] = {}
    spans: Intervals = {}
    for record in result.trace:
        event = record.get("event")
        if event == "fault" and record.get("kind") == "crash" or event == "node.shutdown":
            open_at.setdefault(record["node"], record["t"])
        elif event == "fault" and record.get("kind") == "restart":
            _close(open_at, spans, record["node"], record["t"])
    return _finish(open_at, spans, run_end(result), result.node_names)


def partition_spans(result: Any) -> Intervals:
    """Nodes cut off by a ``partition`` fault, until its duration ends or a ``heal``.

    A partition marks every node it names (all groups, or ``from_`` and ``to``); any heal
    (scheduled or a partition's own timed end) closes every open partition span, which is
    exact for the common case of one partition at a time and conservative otherwise.
    """
    open_at: dict[str, float] = {}
    spans: Intervals = {}
    for record in result.trace:
        if record.get("event") != "fault":
            continue
        if record.get("kind") == "partition":
            named: list[str] = [n for group in record.get("groups", []) for n in group]
            named += _side(record, "from") + _side(record, "to")
            for node in named:
                open_at.setdefault(node, record["t"])
        elif record.get("kind") == "heal":
            for node in list(open_at):
                _close(open_at, spans, node, record["t"])
    return _finish(open_at, spans, run_end(result), result.node_names)


def _side(record: dict[str, Any], side: str) -> list[str]:
    # the trace spells a one-way partition's keys as the scenario does ("from"); older
    # records used the attribute name ("from_")
    return list(record.get(side, record.get(f"{side}_", [])))


def one_way_sides(result: Any) -> tuple[Intervals, Intervals]:
    """For one-way partitions: (the sending side's spans, the receiving side's spans).

    ``from = [a]``, ``to = [b]`` means messages from a do not reach b; a is drawn as the
    sending side, b as the receiving side, each until the next heal.
    """
    sides: tuple[Intervals, Intervals] = ({}, {})
    open_at: tuple[dict[str, float], dict[str, float]] = ({}, {})
    for record in result.trace:
        if record.get("event") != "fault":
            continue
        if record.get("kind") == "partition":
            for i, side in enumerate(("from", "to")):
                for node in _side(record, side):
                    open_at[i].setdefault(node, record["t"])
        elif record.get("kind") == "heal":
            for i in (0, 1):
                for node in list(open_at[i]):
                    _close(open_at[i], sides[i], node, record["t"])
    end = run_end(result)
    return (_finish(open_at[0], sides[0], end, result.node_names),
            _finish(open_at[1], sides[1], end, result.node_names))


def outage_spans(result: Any) -> Intervals:
    """External outages: a node's ``rpc_outage`` on its lane, ``hub_outage`` under "chain"."""
    spans: Intervals = {}
    end = run_end(result)
    for record in result.trace:
        if record.get("event") != "fault" or record.get("kind") not in ("rpc_outage", "hub_outage"):
            continue
        lane = record.get("node", "chain") if record["kind"] == "rpc_outage" else "chain"
        length = _seconds(record.get("duration"))
        spans.setdefault(lane, []).append((record["t"], min(end, record["t"] + length)))
    return spans


MARKED_FAULTS = ("join", "leave", "remove", "promote", "demote", "listener_error", "evict_vote",
                 "nonce_gap", "clock_skew")


def fault_marks(result: Any) -> list[tuple[float, str, str]]:
    """(time, node, kind) of every fault aimed at one node that the lanes do not already show
    as a span (validator-set changes, a listener error, vote faults, clock skew)."""
    return [(record["t"], record["node"], record["kind"]) for record in result.trace
            if record.get("event") == "fault" and record.get("kind") in MARKED_FAULTS and "node" in record]


def _seconds(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        from sim.units import parse_duration

        try:
            return parse_duration(value)
        except ValueError:
            return 0.0
    return 0.0


def validator_spans(result: Any, frames: dict[str, Any] | None = None) -> Intervals:
    """When each node held voting power (the ``validators`` frame)."""
    table = (frames or result.frames())["validators"]
    spans: Intervals = {name: [] for name in result.node_names}
    for node, start, end in zip(table["node"], table["from"], table["to"], strict=True):
        spans.setdefault(str(node), []).append((float(start), float(end)))
    return spans
