"""Plots of one run (timeline, latency) and of a sweep table (a metric against parameters).

Every function draws on ``ax`` when given one and returns it; without one it makes a figure
on matplotlib's Agg canvas (no pyplot, no GUI, no global figure state), so scripts and CI can
call ``ax.figure.savefig(...)`` anywhere. Notebooks pass their own ``ax``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MultipleLocator

from sim import timeline
from sim.errors import NodesimError

VALIDATOR_CHANGE_TYPES = ("validator_join", "validator_remove")
# Two-sided 95% Student t quantiles by degrees of freedom; beyond 30 the normal 1.96 is close.
_T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
        2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060,
        2.056, 2.052, 2.048, 2.045, 2.042]
COLORS = {"validator": "#cfe3f7", "listening": "#2e9d4a", "down": "#d62728", "partition": "#ff9f1c",
          "vote": "#333333", "passed": "#2e9d4a", "expired": "#d62728", "outage": "#9467bd",
          "fault": "#8c564b", "round": "#ff7f0e"}


def new_axes(width: float = 10.0, height: float = 4.0) -> Axes:
    """An Axes on a fresh Agg-backed figure."""
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure.add_subplot()


# -- one run --------------------------------------------------------------------------------
MAX_LANES = 24  # above this, nodes with the same history share a lane


def time_axis(ax: Axes, end: float) -> None:
    """Virtual time as h:mm (m:ss for runs under an hour) instead of raw seconds."""
    hours = end >= 3600

    def label(seconds: float, _pos: int) -> str:
        whole = int(round(seconds))
        if hours:
            return f"{whole // 3600}:{whole % 3600 // 60:02d}"
        return f"{whole // 60}:{whole % 60:02d}"

    steps = (1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 43200, 86400)
    step = next((q for q in steps if end / q <= 10), 86400 * max(1, math.ceil(end / 86400 / 10)))
    ax.xaxis.set_major_locator(MultipleLocator(step))
    ax.xaxis.set_major_formatter(FuncFormatter(label))
    ax.set_xlabel(f"virtual time ({'h:mm' if hours else 'm:ss'})")


def _lanes(names: list[str], layers: list[dict[str, Any]], marks: list[tuple[float, str, str]],
           votes: dict[str, list[float]]) -> list[tuple[str, list[str]]]:
    """(label, members) per lane: one node each, or, past ``MAX_LANES``, the nodes whose
    spans, fault marks and vote count are all the same share one lane ("v5-v99 (95)")."""
    if len(names) <= MAX_LANES:
        return [(name, [name]) for name in names]
    by_history: dict[Any, list[str]] = {}
    for name in names:
        history = (tuple(tuple(layer.get(name, ())) for layer in layers),
                   tuple((t, k) for t, n, k in marks if n == name), len(votes.get(name, ())))
        by_history.setdefault(history, []).append(name)
    return [(_group_label(members), members) for members in by_history.values()]


def _group_label(members: list[str]) -> str:
    if len(members) == 1:
        return members[0]
    if len(members) == 2:
        return ", ".join(members)
    return f"{members[0]} +{len(members) - 1} alike"


def plot_timeline(result: Any, ax: Axes | None = None) -> Axes:
    """One lane per node over virtual time (h:mm).

    A lane shows when the node held voting power (pale band), when its listeners ran (green
    bar), when it was down (red, crash to restart), partitioned (orange; a one-way partition
    hatches the sending side ``//`` and the receiving side ``\\``), when its EVM RPC was out
    (purple), a tick for each of its votes executed in a block, and a labelled diamond for
    validator-set and other node faults (join, leave, demote, ...). The top lane, "chain",
    marks every block (grey ticks; a block decided after round 0 in orange), hub outages, and
    each resolution's decision: passed (green triangle) or expired (red cross). With more than
    24 nodes, nodes with identical histories share one lane, so 100 validators stay readable.
    """
    names = list(result.node_names)
    frames = result.frames()
    sending, receiving = timeline.one_way_sides(result)
    outages = timeline.outage_spans(result)
    layers = [
        (timeline.validator_spans(result, frames), 0.8, COLORS["validator"], 1.0, None),
        (timeline.partition_spans(result), 0.8, COLORS["partition"], 0.55, None),
        (sending, 0.8, "none", 1.0, "//"),
        (receiving, 0.8, "none", 1.0, "\\\\"),
        (timeline.down_spans(result), 0.8, COLORS["down"], 0.65, None),
        (outages, 0.5, COLORS["outage"], 0.5, None),
        (timeline.listener_runs(result), 0.22, COLORS["listening"], 1.0, None),
    ]
    marks = timeline.fault_marks(result)
    votes = frames["votes"]
    vote_times: dict[str, list[float]] = {}
    for voter, t in zip(votes["voter"], votes["time"], strict=True):
        vote_times.setdefault(str(voter), []).append(float(t))
    lanes = _lanes(names, [layer[0] for layer in layers], marks, vote_times)
    if ax is None:
        ax = new_axes(11.0, 1.2 + 0.4 * (len(lanes) + 1))
    row = {member: i + 1 for i, (_, members) in enumerate(lanes) for member in members}
    row["chain"] = 0
    for spans, height, color, alpha, hatch in layers:
        for i, (_, members) in enumerate(lanes):
            intervals = spans.get(members[0], [])
            if intervals:
                ax.broken_barh([(a, b - a) for a, b in intervals], (i + 1 - height / 2, height),
                               facecolors=color, alpha=alpha, linewidth=0, hatch=hatch,
                               edgecolor=COLORS["partition"] if hatch else None)
        if "chain" in spans and spans is outages:
            ax.broken_barh([(a, b - a) for a, b in spans["chain"]], (-0.25, 0.5), facecolors=color, alpha=alpha)
    for i, (_, members) in enumerate(lanes):
        times = vote_times.get(members[0], [])
        if times:
            ax.plot(times, np.full(len(times), i + 1.3), "|", color=COLORS["vote"], markersize=5, alpha=0.6)
    for t, node, kind in marks:
        if node in row and lanes[row[node] - 1][1][0] == node:
            ax.plot([t], [row[node] - 0.3], "D", color=COLORS["fault"], markersize=4)
            ax.annotate(kind, (t, row[node] - 0.3), xytext=(3, 0), textcoords="offset points",
                        fontsize="x-small", va="center")
    blocks = frames["blocks"]
    if len(blocks):
        later = blocks["round"] > 0
        ax.plot(blocks.loc[~later, "time"], np.full(int((~later).sum()), -0.3), "|", color="#999999",
                markersize=3, alpha=0.5)
        ax.plot(blocks.loc[later, "time"], np.full(int(later.sum()), -0.3), "^", color=COLORS["round"],
                markersize=4)
    decided = frames["resolutions"]
    for status, marker in (("passed", "v"), ("expired", "x")):
        times = decided.loc[decided["status"] == status, "time"].to_numpy(dtype=float)
        ax.plot(times, np.zeros_like(times) + 0.15, marker, color=COLORS[status], markersize=5, linestyle="none")
    ax.set_yticks(range(len(lanes) + 1), ["chain"] + [label for label, _ in lanes])
    ax.set_ylim(len(lanes) + 0.7, -0.7)  # v0 at the top, under the chain lane
    end = max(timeline.run_end(result), 1e-9)
    ax.set_xlim(0.0, end)
    time_axis(ax, end)
    ax.set_title(f"{result.scenario.name}, seed {result.summary['seed']}")
    ax.legend(handles=[
        Patch(color=COLORS["validator"], label="validator"),
        Patch(color=COLORS["listening"], label="listeners running"),
        Patch(color=COLORS["down"], alpha=0.65, label="down (crash..restart)"),
        Patch(color=COLORS["partition"], alpha=0.55, label="partitioned"),
        Patch(facecolor="none", edgecolor=COLORS["partition"], hatch="//", label="one-way: sending side"),
        Patch(facecolor="none", edgecolor=COLORS["partition"], hatch="\\\\", label="one-way: receiving side"),
        Patch(color=COLORS["outage"], alpha=0.5, label="RPC / hub outage"),
        Line2D([], [], color=COLORS["fault"], marker="D", linestyle="none", label="node fault (labelled)"),
        Line2D([], [], color=COLORS["vote"], marker="|", linestyle="none", label="vote executed"),
        Line2D([], [], color="#999999", marker="|", linestyle="none", label="block"),
        Line2D([], [], color=COLORS["round"], marker="^", linestyle="none", label="block after round 0"),
        Line2D([], [], color=COLORS["passed"], marker="v", linestyle="none", label="resolution passed"),
        Line2D([], [], color=COLORS["expired"], marker="x", linestyle="none", label="resolution expired"),
    ], loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
    return ax


def plot_latency(result: Any, ax: Axes | None = None) -> Axes:
    """Histogram of resolution latency (first seen -> passed), with its p50 and p99 marked.

    A heavy tail (p99 more than 10x the median) gets log-spaced bins on a log axis, so the
    bulk and the tail are both visible. Validator join/remove resolutions are left out, as in
    summary.json.
    """
    if ax is None:
        ax = new_axes(7.0, 4.0)
    table = result.frames()["resolutions"]
    latency = table.loc[~table["type"].isin(VALIDATOR_CHANGE_TYPES), "latency"].dropna().to_numpy(dtype=float)
    ax.set_xlabel("resolution latency (s): first seen -> passed")
    ax.set_ylabel("resolutions")
    if latency.size == 0:
        ax.text(0.5, 0.5, "no resolution passed", ha="center", va="center", transform=ax.transAxes)
        return ax
    p50, p99 = (float(np.percentile(latency, q)) for q in (50, 99))
    count = min(40, max(5, latency.size // 3))
    low = float(latency[latency > 0].min()) if (latency > 0).any() else 0.0
    if low > 0 and p99 > 10 * p50 and latency.min() > 0:
        edges = np.geomspace(low, float(latency.max()) * 1.0001, count).tolist()
        ax.hist(latency, bins=edges, color="#4c72b0", alpha=0.85)
        ax.set_xscale("log")
        ax.set_xlabel("resolution latency (s, log scale): first seen -> passed")
    else:
        ax.hist(latency, bins=count, color="#4c72b0", alpha=0.85)
    for q, value, style in ((50, p50, "-"), (99, p99, "--")):
        ax.axvline(value, color="black", linestyle=style, linewidth=1, label=f"p{q} = {value:.2f}s")
    ax.legend(frameon=False)
    ax.set_title(f"{latency.size} resolutions passed")
    return ax


# -- sweeps ---------------------------------------------------------------------------------
def mean_ci(values: Any) -> tuple[float, float, int]:
    """Mean, half-width of its 95% confidence interval (Student t) and the sample size."""
    array = np.asarray(values, dtype=float)
    array = array[np.isfinite(array)]
    n = int(array.size)
    if n == 0:
        return math.nan, math.nan, 0
    mean = float(array.mean())
    if n == 1:
        return mean, 0.0, 1
    t = _T95[n - 2] if n - 1 <= len(_T95) else 1.96
    return mean, t * float(array.std(ddof=1)) / math.sqrt(n), n


def _axis_positions(values: pd.Series) -> tuple[dict[Any, float], bool]:
    """Where each distinct parameter value goes on the x axis, and whether that axis is numeric.

    Numbers stay numbers; strings that are all durations ("1s", "250ms") go at their seconds
    and keep their text as tick labels; anything else is categorical, in sorted text order.
    """
    distinct = list(dict.fromkeys(values.tolist()))
    if all(isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool) for v in distinct):
        return {v: float(v) for v in distinct}, True
    from sim.units import parse_duration

    try:
        return {v: parse_duration(str(v)) for v in distinct}, True
    except (ValueError, NodesimError):
        ordered = sorted(distinct, key=str)
        return {v: float(i) for i, v in enumerate(ordered)}, False


def value_range(values: pd.Series) -> tuple[float | None, float | None]:
    """The range a metric can take, judged from its values: never below 0 when no value is
    (counts, latencies, rates), and within [0, 1] when every value is 0/1 or a boolean."""
    numbers = pd.to_numeric(values, errors="coerce").dropna()
    if numbers.empty or (numbers < 0).any():
        return None, None
    if values.dtype == bool or set(numbers.unique()) <= {0, 1}:
        return 0.0, 1.0
    return 0.0, None


def sweep_summary(table: pd.DataFrame, metric: str, x: str, hue: str | None = None) -> pd.DataFrame:
    """Per (hue, x): mean of ``metric`` over seeds, its 95% CI half-width and the run count."""
    keys = [hue, x] if hue else [x]
    rows = []
    for key, group in table.groupby(keys, sort=False, dropna=False):
        mean, half, n = mean_ci(pd.to_numeric(group[metric], errors="coerce"))
        values = key if isinstance(key, tuple) else (key,)
        rows.append([*values, mean, half, n])
    return pd.DataFrame(rows, columns=[*keys, "mean", "ci95", "n"])


def plot_sweep(table: pd.DataFrame | str | Path, metric: str, x: str, hue: str | None = None,
               ax: Axes | None = None, *, label: str | None = None) -> Axes:
    """``metric`` (mean over seeds, with a 95% confidence band) against parameter ``x``.

    ``table`` is a sweep table (``sim.sweep.sweep`` or a ``sweep.parquet``/``.csv`` path).
    With ``hue`` (a second parameter), one line per value of it. A boolean or 0/1 metric
    gives a probability with its (normal-approximation) band. Bands are clipped to the range
    the metric can take (``value_range``): a latency's band never dips below 0. ``label`` names the line (to
    draw several metrics on one ``ax``).
    """
    if not isinstance(table, pd.DataFrame):
        from sim.sweep import read_table

        table = read_table(Path(table))
    for column in (metric, x, hue):
        if column is not None and column not in table.columns:
            raise NodesimError(f"plot_sweep: no column {column!r} in the sweep table "
                               f"(columns: {', '.join(map(str, table.columns))})")
    if ax is None:
        ax = new_axes(7.0, 4.0)
    summary = sweep_summary(table, metric, x, hue)
    bounds = value_range(table[metric])
    positions, numeric = _axis_positions(table[x])
    summary["pos"] = summary[x].map(positions)
    levels = list(dict.fromkeys(summary[hue].tolist())) if hue else [None]
    for level in levels:
        part = summary if hue is None else summary[summary[hue] == level]
        part = part.sort_values("pos", kind="stable")
        label_of = label if hue is None else f"{label + ', ' if label else ''}{hue} = {level}"
        line = ax.plot(part["pos"], part["mean"], marker="o", label=label_of)[0]
        low, high = (part["mean"] - part["ci95"]).clip(*bounds), (part["mean"] + part["ci95"]).clip(*bounds)
        ax.fill_between(part["pos"], low, high, color=line.get_color(), alpha=0.2, linewidth=0)
    if not numeric or any(isinstance(v, str) for v in positions):
        ax.set_xticks(list(positions.values()), [str(v) for v in positions])
    ax.set_xlabel(x)
    ax.set_ylabel(f"{metric} (mean, 95% CI)")
    if hue or label:
        ax.legend(frameon=False, fontsize="small")
    return ax
