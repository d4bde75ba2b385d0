"""One run's HTML report: verdict and violations, timeline, distributions, per-node table.

``write_report(result, path)`` writes a single self-contained file (bokeh's JavaScript is
inlined; it needs no network). ``result`` is what ``sim.run`` returns or what
``sim.load_run(DIR)`` reads back from a run folder. Every item's data lives in named
``ColumnDataSource``s in the page's embedded document JSON (``blocks``, ``faults``,
``violations``, ``resolutions``, ``votes_sent``, ``nodes``, ...), which is what tests read back.
"""

from __future__ import annotations

import html
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from bokeh.embed import file_html
from bokeh.layouts import column, row
from bokeh.models import ColumnDataSource, CustomJS, Range1d
from bokeh.models.annotations import Span
from bokeh.models.widgets import Button, DataTable, Div, NumberFormatter, TableColumn
from bokeh.plotting import figure
from bokeh.resources import INLINE

from sim.outdir import atomic_path
from sim.report.lanes import TimelineData, timeline_data
from sim.report.summary import format_value, summary_table_html, verdict
from sim.report.timeline import timeline_figures

MAX_VIOLATION_BUTTONS = 20
MAX_ECDF_POINTS = 2000
ZOOM_TO = "xr.setv({start: t0, end: t1})"


def report_layout(result: Any) -> Any:
    """The bokeh layout of the whole report (see the module doc)."""
    data = timeline_data(result)
    lanes, resolutions, x_range = timeline_figures(data)
    name = getattr(result.scenario, "name", "run")
    header = _header(result, name)
    jumps = _violation_buttons(data, x_range)
    distributions = row(_block_times(result, data), _latency_ecdf(data), sizing_mode="stretch_width")
    nodes = _node_table(result, data)
    parts = [header, *jumps, lanes, resolutions, distributions,
             Div(text="<h3>nodes</h3>"), nodes,
             Div(text=f"<h3>summary</h3>{summary_table_html(result.summary)}")]
    return column(*parts, sizing_mode="stretch_width", name="report")


def write_report(result: Any, path: str | Path) -> Path:
    """Write the report of ``result`` to ``path`` (a .html file); return the path."""
    target = Path(path)
    name = getattr(result.scenario, "name", "run")
    page = file_html(report_layout(result), INLINE, title=f"nodesim: {name}, seed {result.summary.get('seed')}")
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return target


def _header(result: Any, name: str) -> Div:
    summary = result.summary
    ok, line = verdict(summary)
    color = "#2e7d32" if ok else "#c62828"
    facts = (f"seed {summary.get('seed')} · {format_value(summary.get('virtual_seconds'), 'duration')} virtual · "
             f"{summary.get('blocks')} blocks · {len(result.node_names)} nodes · "
             f"trace_hash <code>{html.escape(str(summary.get('trace_hash')))}</code>")
    items = "".join(
        f"<li><b>{html.escape(v['invariant'])}</b> at t={float(v['time']):.3f} s, nodes "
        f"{html.escape(','.join(v.get('nodes') or []))}: {html.escape(str(v.get('explanation', '')))}</li>"
        for v in summary.get("violations") or [])
    errors = "".join(f"<li>node shut down: {html.escape(str(e))}</li>" for e in summary.get("shutdown_errors") or [])
    body = (f'<h2 style="margin:4px 0">{html.escape(str(name))}</h2>'
            f'<div style="font-size:18px;font-weight:bold;color:{color}" id="verdict">{html.escape(line)}</div>'
            f"<div>{facts}</div>")
    if items or errors:
        body += f"<ul>{items}{errors}</ul>"
    return Div(text=body, sizing_mode="stretch_width", name="header")


def _violation_buttons(data: TimelineData, x_range: Any) -> list[Any]:
    """A button per violation that zooms the timeline to its moment (a few blocks either side)."""
    if data.violations.empty:
        return []
    intervals = np.diff(data.blocks["time"].to_numpy()) if len(data.blocks) > 1 else np.array([data.end / 10])
    half = max(5 * float(np.median(intervals)), 1.0)
    buttons = []
    for t, invariant in list(zip(data.violations["time"], data.violations["invariant"], strict=True))[
            :MAX_VIOLATION_BUTTONS]:
        t0, t1 = max(0.0, float(t) - half), min(data.end, float(t) + half)
        button = Button(label=f"show {invariant} at t={float(t):.3f} s on the timeline", button_type="danger")
        button.js_on_click(CustomJS(args=dict(xr=x_range, t0=t0, t1=t1), code=ZOOM_TO))
        buttons.append(button)
    return [row(*buttons)] if len(buttons) <= 3 else [column(*buttons)]


def _quantile_spans(fig: Any, values: np.ndarray, dimension: Literal["width", "height"]) -> None:
    for q, dash in ((50, "solid"), (99, "dashed")):
        fig.add_layout(Span(location=float(np.percentile(values, q)), dimension=dimension, line_color="black",
                            line_dash=dash, line_width=1))


def _block_times(result: Any, data: TimelineData) -> Any:
    """Histogram of commit intervals (each validator's successive commits, pooled, as summary.json)."""
    values = np.asarray(result.commit_intervals, dtype=float)
    source_name = "commit intervals"
    if values.size == 0 and len(data.blocks) > 1:
        values, source_name = np.diff(data.blocks["time"].to_numpy()), "block intervals"
    fig = figure(height=300, sizing_mode="stretch_width", title=f"block time ({source_name}; p50 solid, p99 dashed)",
                 tools="xpan,xwheel_zoom,reset,save", name="block_times")
    fig.xaxis.axis_label = "seconds"
    if values.size:
        counts, edges = np.histogram(values, bins=min(60, max(5, int(np.sqrt(values.size)))))
        source = ColumnDataSource({"left": edges[:-1], "right": edges[1:], "count": counts}, name="block_time_hist")
        fig.quad(left="left", right="right", bottom=0, top="count", source=source, fill_color="#4c72b0",
                 line_color="white")
        _quantile_spans(fig, values, "height")
    return fig


def _latency_ecdf(data: TimelineData) -> Any:
    """Resolution latency (first sighting to pass) as an ECDF on a log axis: tails stay readable."""
    table = data.resolutions
    latency = np.sort(table.loc[(table["status"] == "passed") & ~table["type"].isin(
        ["validator_join", "validator_remove"]), "latency"].dropna().to_numpy(dtype=float))
    latency = latency[latency > 0]
    fig = figure(height=300, sizing_mode="stretch_width", x_axis_type="log", y_range=Range1d(start=0.0, end=1.02),
                 title=f"resolution latency, first sighting to pass ({latency.size}; p50 solid, p99 dashed)",
                 tools="xpan,xwheel_zoom,reset,save", name="latency_ecdf")
    fig.xaxis.axis_label = "seconds (log)"
    fig.yaxis.axis_label = "fraction passed within"
    if latency.size:
        fraction = np.arange(1, latency.size + 1) / latency.size
        if latency.size > MAX_ECDF_POINTS:  # thin evenly in rank; the curve looks the same
            keep = np.unique(np.linspace(0, latency.size - 1, MAX_ECDF_POINTS).astype(np.int64))
            latency, fraction = latency[keep], fraction[keep]
        source = ColumnDataSource({"latency": latency, "fraction": fraction}, name="latency")
        fig.step("latency", "fraction", source=source, mode="after", line_width=2, color="#4c72b0")
        _quantile_spans(fig, latency, "height")
    else:  # said on the plot (an empty figure also made bokeh warn on every report of such a run)
        fig.text(x=[1.0], y=[0.5], text=["no resolution passed"], text_align="center", text_color="#666666")
    return fig


def _union_seconds(frame: pd.DataFrame) -> dict[str, float]:
    """Per node, the length of the union of its spans (overlapping spans count once)."""
    totals: dict[str, float] = {}
    for node, part in frame.groupby("node", sort=False):
        spans = sorted(zip(part["start"], part["end"], strict=True))
        total, cur_start, cur_end = 0.0, None, None
        for start, end in spans:
            if cur_end is None or start > cur_end:
                if cur_end is not None:
                    total += cur_end - cur_start
                cur_start, cur_end = start, end
            else:
                cur_end = max(cur_end, end)
        if cur_end is not None:
            total += cur_end - cur_start
        totals[str(node)] = total
    return totals


def node_table(result: Any, data: TimelineData) -> pd.DataFrame:
    """One row per node: power at the end, time as validator / down / partitioned, listener runs,
    events stored, vote-ids txs sent, votes executed, first sightings, and a shutdown reason."""
    records = result.records
    names = data.names
    at_end = data.validators[data.validators["end"] >= data.end]
    power = dict(zip(at_end["node"], at_end["power"], strict=True))
    ids_of: dict[str, set[str]] = defaultdict(set)
    for node, rid, _t in records.observations:
        ids_of[node].add(rid)
    stored = {node: len(ids) for node, ids in ids_of.items()}
    executed = Counter(voter for _rid, voter, _power, _height in records.votes)
    sent = data.votes_sent["node"].value_counts()
    first = data.resolutions["first_seen_by"].value_counts()
    listeners = data.listeners["node"].value_counts()
    shutdown = dict(records.node_shutdowns)
    validator_s, down_s, cut_s = (_union_seconds(f) for f in (data.validators, data.down, data.partitions))
    return pd.DataFrame({
        "node": names,
        "power_at_end": [int(power.get(n, 0)) for n in names],
        "validator_s": [validator_s.get(n, 0.0) for n in names],
        "down_s": [down_s.get(n, 0.0) for n in names],
        "partitioned_s": [cut_s.get(n, 0.0) for n in names],
        "listener_runs": [int(listeners.get(n, 0)) for n in names],
        "events_stored": [int(stored.get(n, 0)) for n in names],
        "vote_txs_sent": [int(sent.get(n, 0)) for n in names],
        "votes_executed": [int(executed.get(n, 0)) for n in names],
        "first_sightings": [int(first.get(n, 0)) for n in names],
        "shutdown": [shutdown.get(n, "") for n in names],
    })


def _node_table(result: Any, data: TimelineData) -> DataTable:
    table = node_table(result, data)
    source = ColumnDataSource({c: table[c].to_numpy() for c in table.columns}, name="nodes")
    seconds = NumberFormatter(format="0.0")
    columns = [TableColumn(field=c, title=c.replace("_", " "), formatter=seconds) if c.endswith("_s")
               else TableColumn(field=c, title=c.replace("_", " ")) for c in table.columns]
    return DataTable(source=source, columns=columns, sizing_mode="stretch_width", height=min(600, 30 + 25 * len(table)),
                     index_position=None, reorderable=False, name="node_table")
