"""A run's summary for people: the verdict, grouped headline figures with units, and HTML.

Used by the report's header and by ``Result._repr_html_`` (a notebook shows a run as a small
table). Values are formatted for reading (``1.26 s``, ``3 h 59 m``, ``–`` for nothing); the
summary itself is left as it is.
"""

from __future__ import annotations

import html
import math
from typing import Any

MISSING = "–"
# (group, [(summary key, how to show it)]): the order a reader wants, verdict first.
GROUPS: list[tuple[str, list[tuple[str, str]]]] = [
    ("run", [("seed", "int"), ("virtual_seconds", "duration"), ("wall_seconds", "seconds"),
             ("trace_hash", "text")]),
    ("consensus", [("blocks", "int"), ("block_time_p50", "seconds"), ("block_time_p99", "seconds"),
                   ("rounds_above_zero", "int")]),
    ("resolutions", [("events_observed", "int"), ("resolutions_passed", "int"), ("resolutions_expired", "int"),
                     ("resolutions_refunded", "int"), ("resolution_latency_p50", "seconds"),
                     ("resolution_latency_p99", "seconds"), ("votes_per_resolution_mean", "float"),
                     ("rebroadcasts", "int")]),
    ("nodes", [("listener_starts", "int"), ("listener_cancellations", "int"), ("node_shutdowns", "int")]),
]


def format_duration(seconds: float) -> str:
    """``3 h 59 m``, ``12 m 5 s``, ``42.3 s``: the two largest units that matter."""
    if seconds < 60:
        return format_seconds(seconds)
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} m" if minutes else f"{hours} h"
    return f"{minutes} m {secs} s" if secs else f"{minutes} m"


def format_seconds(seconds: float) -> str:
    """Three significant digits with a unit: ``1.26 s``, ``85 ms``, ``1.23e+04 s``."""
    if seconds != 0 and abs(seconds) < 1:
        return f"{seconds * 1000:.3g} ms"
    return f"{seconds:.3g} s"


def format_value(value: Any, how: str = "auto") -> str:
    if value is None or isinstance(value, float) and math.isnan(value):
        return MISSING
    if how == "duration":
        return format_duration(float(value))
    if how == "seconds":
        return format_seconds(float(value))
    if how == "float":
        return f"{float(value):.3g}"
    if isinstance(value, list):
        return str(len(value))
    return str(value)


def verdict(summary: dict[str, Any]) -> tuple[bool, str]:
    """(ok, one line): every invariant held, or how many violations and of which invariants."""
    violations = summary.get("violations") or []
    if not violations:
        return True, "OK: every invariant held"
    names = sorted({v["invariant"] for v in violations})
    return False, f"{len(violations)} violation(s): {', '.join(names)}"


def grouped_rows(summary: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(group, key, text) for every summary field: the known groups, then the sources' own."""
    rows: list[tuple[str, str, str]] = []
    shown = {"violations", "shutdown_errors"}
    for group, fields in GROUPS:
        for key, how in fields:
            if key in summary:
                rows.append((group, key, format_value(summary[key], how)))
                shown.add(key)
    for key in sorted(summary):
        if key not in shown:
            how = "seconds" if key.endswith(("_p50", "_p99")) and "latency" in key else "auto"
            rows.append(("sources", key, format_value(summary[key], how)))
    return rows


def summary_table_html(summary: dict[str, Any], keys: set[str] | None = None) -> str:
    """An HTML table of the grouped rows (all of them, or only ``keys``)."""
    parts = ['<table class="nodesim-summary" style="border-collapse:collapse">']
    last_group = None
    for group, key, text in grouped_rows(summary):
        if keys is not None and key not in keys:
            continue
        if group != last_group:
            parts.append(f'<tr><th colspan="2" style="text-align:left;padding-top:6px">{html.escape(group)}</th></tr>')
            last_group = group
        parts.append(f'<tr><td style="padding-right:12px">{html.escape(key)}</td>'
                     f'<td style="text-align:right;font-family:monospace">{html.escape(text)}</td></tr>')
    parts.append("</table>")
    return "".join(parts)


NOTEBOOK_KEYS = {"seed", "virtual_seconds", "trace_hash", "blocks", "block_time_p50", "resolutions_passed",
                 "resolutions_expired", "resolution_latency_p50", "resolution_latency_p99"}


def result_html(result: Any) -> str:
    """What a notebook shows for a ``Result``: name, verdict and the headline figures."""
    summary = result.summary
    ok, line = verdict(summary)
    color = "#2e7d32" if ok else "#c62828"
    name = getattr(result.scenario, "name", "run")
    return (f'<div><b>{html.escape(str(name))}</b> '
            f'<span style="color:{color};font-weight:bold">{html.escape(line)}</span>'
            f"{summary_table_html(summary, NOTEBOOK_KEYS)}</div>")
