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
            named += list(record.get("from_", [])) + list(record.get("to", []))
            for node in named:
                open_at.setdefault(node, record["t"])
        elif record.get("kind") == "heal":
            for node in list(open_at):
                _close(open_at, spans, node, record["t"])
    return _finish(open_at, spans, run_end(result), result.node_names)


def validator_spans(result: Any, frames: dict[str, Any] | None = None) -> Intervals:
    """When each node held voting power (the ``validators`` frame)."""
    table = (frames or result.frames())["validators"]
    spans: Intervals = {name: [] for name in result.node_names}
    for node, start, end in zip(table["node"], table["from"], table["to"], strict=True):
        spans.setdefault(str(node), []).append((float(start), float(end)))
    return spans
