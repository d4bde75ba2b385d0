"""The report's interactive timeline (bokeh): node lanes, the chain, faults, resolutions.

Lanes, top to bottom: ``blocks`` (one bar per height, from the previous commit to its own;
rounds above zero in orange), ``faults`` (every fault as a diamond, a bar for its duration;
violations as red crosses with a red line across all lanes), then one lane per node: voting
power (pale blue), partitions (orange; the ``from`` and ``to`` sides of a one-way cut in two
shades), down time (red), other faults naming the node (purple), listener runs (green bar)
and each vote-ids tx sent (a tick). Below, every resolution from first sighting to its
decision. Zoomed out past ``detail_window`` seconds the vote ticks give way to a heat map of
vote txs per lane (one column per 1/400 of the run), and block boundaries are drawn across the
lanes only within ``block_lines_window``, so a 100-validator hour stays responsive; the switch
is one small callback on the x range.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from bokeh.models import (
    AdaptiveTicker,
    ColumnDataSource,
    CompositeTicker,
    CustomJS,
    CustomJSTickFormatter,
    FixedTicker,
    HoverTool,
    LinearColorMapper,
    Range1d,
)
from bokeh.plotting import figure

from sim.report.lanes import TimelineData

COLORS = {"validator": "#cfe3f7", "listening": "#2e9d4a", "down": "#d62728", "fault": "#8e44ad",
          "vote": "#333333", "passed": "#2e9d4a", "expired": "#d62728", "expired, refunded": "#8c1c13",
          "open": "#9e9e9e", "violation": "#e00000", "round": "#ff7f0e"}
PARTITION_COLORS = {"both sides": "#ff9f1c", "from side": "#ffbf69", "to side": "#c66a00"}
BLOCK_LANE, FAULT_LANE = -2, -1
MAX_DETAIL_ITEMS = 20_000  # vote ticks drawn at once, at most, before the heat map takes over
TOOLS = "xpan,xwheel_zoom,box_zoom,reset,save"
# h:mm:ss with fractions when zoomed in: the one formatter bokeh has no built-in for.
TIME_FORMAT = """
const s = Math.max(tick, 0), h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60), x = s % 60;
const sec = (Number.isInteger(x) ? String(x) : x.toFixed(2)).padStart(Number.isInteger(x) ? 2 : 5, "0");
return h + ":" + String(m).padStart(2, "0") + ":" + sec;
"""
# Each layer is drawn either only zoomed in (detail, at most ``limit`` seconds wide) or only
# zoomed out (overview, wider than ``limit``).
LOD_SWITCH = """
const w = xr.end - xr.start;
layers.forEach((r, i) => { r.visible = detail[i] ? w <= limits[i] : w > limits[i]; });
"""
MAX_BLOCK_LINES = 150  # block boundaries drawn across the lanes once at most this many are in view


def _source(frame: pd.DataFrame, name: str, **extra: Any) -> ColumnDataSource:
    data = {column: frame[column].to_numpy() for column in frame.columns}
    data.update(extra)
    return ColumnDataSource(data, name=name)


def _time_axis(fig: Any) -> None:
    # Ticks at clock-friendly steps: 1/2/5 x 10^k below ten seconds, 1-30 x 60^k above.
    fig.xaxis.ticker = CompositeTicker(tickers=[
        AdaptiveTicker(base=10, mantissas=[1, 2, 5], min_interval=1e-3, max_interval=5.0),
        AdaptiveTicker(base=60, mantissas=[1, 2, 5, 10, 15, 30], min_interval=10.0)])
    fig.xaxis.formatter = CustomJSTickFormatter(code=TIME_FORMAT)
    fig.xaxis.axis_label = "virtual time (h:mm:ss)"


def detail_window(data: TimelineData) -> float:
    """The widest x window (seconds) at which every vote tick is drawn."""
    items = len(data.votes_sent)
    if items <= MAX_DETAIL_ITEMS:
        return data.end
    return max(data.end * MAX_DETAIL_ITEMS / items, 4 * data.end / data.vote_grid.shape[1])


def block_lines_window(data: TimelineData) -> float:
    """The widest x window at which block boundaries are drawn across the lanes."""
    blocks = len(data.blocks)
    return data.end if blocks <= MAX_BLOCK_LINES else data.end * MAX_BLOCK_LINES / blocks


def timeline_figures(data: TimelineData) -> tuple[Any, Any, Range1d]:
    """(lanes figure, resolutions figure, their shared x range)."""
    n = len(data.names)
    x_range = Range1d(start=0.0, end=data.end, bounds=(0.0, data.end), min_interval=1e-3)
    ticks = [BLOCK_LANE, FAULT_LANE, *range(n)]
    labels: dict[Any, str] = {BLOCK_LANE: "blocks", FAULT_LANE: "faults", **dict(enumerate(data.names))}
    lanes = figure(height=min(1100, 120 + 16 * (n + 2)), sizing_mode="stretch_width", x_range=x_range,
                   y_range=Range1d(start=n - 0.5, end=BLOCK_LANE - 0.6), tools=TOOLS, active_scroll="xwheel_zoom",
                   title="timeline (scroll to zoom; hover for records)", name="timeline", output_backend="canvas")
    lanes.yaxis.ticker = FixedTicker(ticks=ticks)
    lanes.yaxis.major_label_overrides = labels  # type: ignore[assignment]
    lanes.yaxis.major_label_text_font_size = "8pt" if n > 40 else "10pt"
    lanes.ygrid.grid_line_color = None
    _time_axis(lanes)
    ticks, block_lines, heat = _draw_lanes(lanes, data)
    votes_limit = detail_window(data)
    layers = [(ticks, True, votes_limit), (heat, False, votes_limit), (block_lines, True, block_lines_window(data))]
    for renderer, detail, limit in layers:
        renderer.visible = data.end <= limit if detail else data.end > limit
    switched = [layer for layer in layers if layer[2] < data.end]
    if switched:
        callback = CustomJS(args=dict(xr=x_range, layers=[r for r, _, _ in switched],
                                      detail=[d for _, d, _ in switched], limits=[lim for _, _, lim in switched]),
                            code=LOD_SWITCH)
        x_range.js_on_change("start", callback)
        x_range.js_on_change("end", callback)
    return lanes, _resolutions_figure(data, x_range), x_range


def _hbar(fig: Any, frame: pd.DataFrame, name: str, height: float, color: Any, alpha: float,
          tooltips: list[tuple[str, str]]) -> Any:
    source = _source(frame, name)
    renderer = fig.hbar(y="lane", left="start", right="end", height=height, source=source, fill_color=color,
                        fill_alpha=alpha, line_color=None)
    fig.add_tools(HoverTool(renderers=[renderer], tooltips=tooltips))
    return renderer


def _draw_lanes(fig: Any, data: TimelineData) -> tuple[Any, Any, Any]:
    """Draw every layer; return the vote ticks, block lines and vote heat map (they switch on zoom)."""
    span_tips = [("node", "@node"), ("", "@label"), ("from", "@start{0.000} s"), ("to", "@end{0.000} s")]
    _hbar(fig, data.validators, "validator_spans", 0.9, COLORS["validator"], 1.0, span_tips)
    parts = data.partitions.assign(color=data.partitions["label"].map(PARTITION_COLORS))
    _hbar(fig, parts, "partition_spans", 0.9, "color", 0.6, [*span_tips, ("record", "@record")])
    _hbar(fig, data.down, "down_spans", 0.9, COLORS["down"], 0.6, [*span_tips, ("record", "@record")])
    timed = data.node_faults[data.node_faults["end"] > data.node_faults["start"]]
    _hbar(fig, timed, "node_fault_spans", 0.5, COLORS["fault"], 0.35, [*span_tips, ("record", "@record")])
    moments = _source(data.node_faults[data.node_faults["end"] <= data.node_faults["start"]], "node_fault_marks")
    marks = fig.scatter("start", "lane", source=moments, marker="inverted_triangle", size=9, color=COLORS["fault"])
    fig.add_tools(HoverTool(renderers=[marks], tooltips=[("node", "@node"), ("fault", "@label"),
                                                          ("record", "@record")]))
    _hbar(fig, data.listeners, "listener_spans", 0.2, COLORS["listening"], 1.0, [*span_tips, ("record", "@record")])
    _draw_chain(fig, data)
    n = len(data.names)
    votes = data.votes_sent
    vote_source = ColumnDataSource({"time": votes["time"].to_numpy(dtype=np.float32),
                                    "y": (votes["lane"].to_numpy() + 0.3).astype(np.float32),
                                    "ids": votes["ids"].to_numpy(dtype=np.int32)}, name="votes_sent")
    ticks = fig.scatter("time", "y", source=vote_source, marker="dash", angle=np.pi / 2, size=7,
                        color=COLORS["vote"], alpha=0.7, name="vote_ticks")
    fig.add_tools(HoverTool(renderers=[ticks], tooltips=[("vote-ids tx at", "@time{0.000} s"), ("ids", "@ids")]))
    block_lines = fig.segment(x0="time", x1="time", y0=BLOCK_LANE - 0.5, y1=n - 0.5, line_color="#bbbbbb",
                              line_alpha=0.5, line_width=1, source=ColumnDataSource(
                                  {"time": data.blocks["time"].to_numpy()}, name="block_lines"), level="underlay",
                              name="block_boundaries")
    grid = data.vote_grid
    mapper = LinearColorMapper(palette=["#b0b0b0", "#8a8a8a", "#646464", "#3e3e3e"], low=0.5,
                               high=max(float(grid.max()), 1.0), low_color=(0, 0, 0, 0))
    heat = fig.image(image=[grid], x=0.0, y=-0.5, dw=data.end, dh=float(n), color_mapper=mapper,
                     alpha=0.8, name="vote_overview")
    fig.add_tools(HoverTool(renderers=[heat], tooltips=[("vote-ids txs in this bin", "@image"),
                                                         ("lane", "$y{0}"), ("near", "$x{0.0} s")]))
    return ticks, block_lines, heat


def _draw_chain(fig: Any, data: TimelineData) -> None:
    blocks = data.blocks
    colors = np.where(blocks["round"].to_numpy() > 0, COLORS["round"],
                      np.where(blocks["parity"].to_numpy() == 0, "#6c7a89", "#a9b4bf"))
    source = _source(blocks, "blocks", color=colors, lane=np.full(len(blocks), BLOCK_LANE))
    bars = fig.hbar(y="lane", left="start", right="time", height=0.8, source=source, fill_color="color",
                    line_color=None)
    fig.add_tools(HoverTool(renderers=[bars], tooltips=[
        ("height", "@height"), ("round", "@round"), ("proposer", "@proposer"), ("committed", "@time{0.000} s"),
        ("txs", "@txs"), ("vote ids / bodies", "@vote_ids / @vote_bodies")]))
    faults = data.faults
    source = _source(faults, "faults", lane=np.full(len(faults), FAULT_LANE),
                     end=np.where(np.isnan(faults["until"].to_numpy(dtype=float)), faults["time"].to_numpy(dtype=float),
                                  faults["until"].to_numpy(dtype=float)))
    fig.hbar(y="lane", left="time", right="end", height=0.4, source=source, fill_color=COLORS["fault"],
             fill_alpha=0.3, line_color=None)
    diamonds = fig.scatter("time", "lane", source=source, marker="diamond", size=11, color=COLORS["fault"])
    fig.add_tools(HoverTool(renderers=[diamonds], tooltips=[("fault", "@kind"), ("nodes", "@nodes"),
                                                             ("record", "@record")]))
    violations = data.violations
    source = _source(violations, "violations", lane=np.full(len(violations), FAULT_LANE))
    fig.segment(x0="time", x1="time", y0=BLOCK_LANE - 0.5, y1=len(data.names) - 0.5, source=source,
                line_color=COLORS["violation"], line_width=2)
    crosses = fig.scatter("time", "lane", source=source, marker="x", size=14, line_width=3,
                          color=COLORS["violation"])
    fig.add_tools(HoverTool(renderers=[crosses], tooltips=[("violation", "@invariant"), ("nodes", "@nodes"),
                                                            ("why", "@explanation"), ("record", "@record")]))


def _resolutions_figure(data: TimelineData, x_range: Range1d) -> Any:
    table = data.resolutions
    rows = int(table["row"].max()) + 1 if len(table) else 1
    fig = figure(height=min(500, 90 + 14 * rows), sizing_mode="stretch_width", x_range=x_range,
                 y_range=Range1d(start=rows - 0.5, end=-0.5), tools=TOOLS, active_scroll="xwheel_zoom",
                 title=f"resolutions, first sighting to decision ({len(table)})", name="resolutions_timeline")
    fig.yaxis.visible = False
    fig.ygrid.grid_line_color = None
    _time_axis(fig)
    source = _source(table, "resolutions", color=table["status"].map(COLORS).fillna(COLORS["open"]).to_numpy())
    bars = fig.hbar(y="row", left="start", right="end", height=0.8, source=source, fill_color="color",
                    line_color=None, legend_field="status")
    fig.add_tools(HoverTool(renderers=[bars], tooltips=[
        ("id", "@short"), ("type", "@type"), ("status", "@status"), ("first seen", "@start{0.000} s by @first_seen_by"),
        ("decided", "@end{0.000} s at height @height"), ("latency", "@latency{0.000} s"),
        ("votes", "@votes (power @approved of @required)")]))
    if fig.legend:
        fig.add_layout(fig.legend[0], "right")  # beside the rows, not over them
    return fig
