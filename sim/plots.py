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

from sim import timeline
from sim.errors import NodesimError

VALIDATOR_CHANGE_TYPES = ("validator_join", "validator_remove")
# Two-sided 95% Student t quantiles by degrees of freedom; beyond 30 the normal 1.96 is close.
_T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
        2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060,
        2.056, 2.052, 2.048, 2.045, 2.042]
COLORS = {"validator": "#cfe3f7", "listening": "#2e9d4a", "down": "#d62728", "partition": "#ff9f1c",
          "vote": "#333333", "passed": "#2e9d4a", "expired": "#d62728"}


def new_axes(width: float = 10.0, height: float = 4.0) -> Axes:
    """An Axes on a fresh Agg-backed figure."""
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure.add_subplot()


# -- one run --------------------------------------------------------------------------------
def plot_timeline(result: Any, ax: Axes | None = None) -> Axes:
    """One lane per node over virtual time.

    A lane shows when the node held voting power (pale band), when its listeners ran (green
    bar), when it was down (red, crash to restart) or partitioned (orange), and a tick for
    each of its votes executed in a block. The top lane, "chain", marks each resolution's
    decision: passed (green triangle) or expired (red cross).
    """
    names = list(result.node_names)
    if ax is None:
        ax = new_axes(11.0, 1.0 + 0.45 * (len(names) + 1))
    frames = result.frames()
    lane = {name: i + 1 for i, name in enumerate(names)}
    layers = [
        (timeline.validator_spans(result, frames), 0.8, COLORS["validator"], 1.0),
        (timeline.partition_spans(result), 0.8, COLORS["partition"], 0.55),
        (timeline.down_spans(result), 0.8, COLORS["down"], 0.65),
        (timeline.listener_runs(result), 0.22, COLORS["listening"], 1.0),
    ]
    for spans, height, color, alpha in layers:
        for name, intervals in spans.items():
            if name in lane and intervals:
                ax.broken_barh([(a, b - a) for a, b in intervals], (lane[name] - height / 2, height),
                               facecolors=color, alpha=alpha, linewidth=0)
    votes = frames["votes"]
    if len(votes):
        ys = votes["voter"].map(lane).to_numpy(dtype=float) + 0.3
        ax.plot(votes["time"].to_numpy(), ys, "|", color=COLORS["vote"], markersize=5, alpha=0.6)
    decided = frames["resolutions"]
    for status, marker in (("passed", "v"), ("expired", "x")):
        times = decided.loc[decided["status"] == status, "time"].to_numpy(dtype=float)
        ax.plot(times, np.zeros_like(times), marker, color=COLORS[status], markersize=5, linestyle="none")
    ax.set_yticks(range(len(names) + 1), ["chain"] + names)
    ax.set_ylim(len(names) + 0.7, -0.7)  # v0 at the top, under the chain lane
    ax.set_xlim(0.0, max(timeline.run_end(result), 1e-9))
    ax.set_xlabel("virtual time (s)")
    ax.set_title(f"{result.scenario.name}, seed {result.summary['seed']}")
    ax.legend(handles=[
        Patch(color=COLORS["validator"], label="validator"),
        Patch(color=COLORS["listening"], label="listeners running"),
        Patch(color=COLORS["down"], alpha=0.65, label="down (crash..restart)"),
        Patch(color=COLORS["partition"], alpha=0.55, label="partitioned"),
        Line2D([], [], color=COLORS["vote"], marker="|", linestyle="none", label="vote executed"),
        Line2D([], [], color=COLORS["passed"], marker="v", linestyle="none", label="resolution passed"),
        Line2D([], [], color=COLORS["expired"], marker="x", linestyle="none", label="resolution expired"),
    ], loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
    return ax


def plot_latency(result: Any, ax: Axes | None = None) -> Axes:
    """Histogram of resolution latency (first seen -> passed), with its p50 and p99 marked.

    Validator join/remove resolutions are left out, as in summary.json.
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
    ax.hist(latency, bins=min(40, max(5, latency.size // 3)), color="#4c72b0", alpha=0.85)
    for q, style in ((50, "-"), (99, "--")):
        value = float(np.percentile(latency, q))
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
    gives a probability with its (normal-approximation) band. ``label`` names the line (to
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
    positions, numeric = _axis_positions(table[x])
    summary["pos"] = summary[x].map(positions)
    levels = list(dict.fromkeys(summary[hue].tolist())) if hue else [None]
    for level in levels:
        part = summary if hue is None else summary[summary[hue] == level]
        part = part.sort_values("pos", kind="stable")
        label_of = label if hue is None else f"{label + ', ' if label else ''}{hue} = {level}"
        line = ax.plot(part["pos"], part["mean"], marker="o", label=label_of)[0]
        ax.fill_between(part["pos"], part["mean"] - part["ci95"], part["mean"] + part["ci95"],
                        color=line.get_color(), alpha=0.2, linewidth=0)
    if not numeric or any(isinstance(v, str) for v in positions):
        ax.set_xticks(list(positions.values()), [str(v) for v in positions])
    ax.set_xlabel(x)
    ax.set_ylabel(f"{metric} (mean, 95% CI)")
    if hue or label:
        ax.legend(frameon=False, fontsize="small")
    return ax
