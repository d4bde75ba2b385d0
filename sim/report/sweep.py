"""A sweep's HTML report: each metric against each parameter (mean and 95% band over seeds),
and the table of runs, each row linking to its run's report when its run folder was kept
(``nodesim sweep --keep-runs``; the run reports are written beside their folders if missing).
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from bokeh.embed import file_html
from bokeh.layouts import column, gridplot
from bokeh.models import ColumnDataSource, HoverTool
from bokeh.models.widgets import DataTable, Div, HTMLTemplateFormatter, TableColumn
from bokeh.palettes import Category10_10
from bokeh.plotting import figure
from bokeh.resources import INLINE

from sim.errors import NodesimError
from sim.outdir import atomic_path
from sim.sweep_store import JOURNAL, RUNS_DIR, read_table, run_folder_name

METRICS = ["resolution_latency_p50", "resolution_latency_p99", "block_time_p50", "resolutions_passed",
           "resolutions_expired", "rounds_above_zero", "violations"]
REPORT_FILE = "report.html"


def is_sweep_dir(path: Path) -> bool:
    return path.is_dir() and any((path / name).is_file() for name in (JOURNAL, "sweep.parquet", "sweep.csv"))


def _params(table: pd.DataFrame) -> list[str]:
    """The parameter columns: every column before ``seed``."""
    columns = list(table.columns)
    return columns[:columns.index("seed")] if "seed" in columns else []


def _overrides(out: Path) -> list[dict[str, str]]:
    """Each journaled run's override texts and seed, in the journal's order."""
    path = out / JOURNAL
    if not path.is_file():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue  # an interrupted last line: that run is not in the table either
        entries.append({**entry["params"], "seed": entry["seed"]})
    return entries


def run_links(out: Path, table: pd.DataFrame, report_dir: Path,
              progress: Callable[[str], Any] | None = None) -> list[str]:
    """Per table row, the link (relative to ``report_dir``) to its run's report, "" when its
    folder was not kept. A kept run without a report gets one written now."""
    from sim.report.page import write_report
    from sim.run_files import is_run_dir, load_run

    params = _params(table)
    texts = _texts(out, params)
    links = []
    for i, row in enumerate(table.to_dict("records")):
        overrides = {p: texts[p].get(row[p], str(row[p])) for p in params}
        run_dir = out / RUNS_DIR / run_folder_name(overrides, int(row["seed"]))
        if not is_run_dir(run_dir):
            links.append("")
            continue
        report = run_dir / REPORT_FILE
        if not report.is_file():
            if progress is not None:
                progress(f"writing run report {i + 1}/{len(table)}: {report}")
            write_report(load_run(run_dir), report)
        links.append(Path(os.path.relpath(report.resolve(), report_dir.resolve())).as_posix())
    return links


def _texts(out: Path, params: list[str]) -> dict[str, dict[Any, str]]:
    """Table value -> override text, per parameter (the journal holds texts, the table values)."""
    from sim.sweep_params import table_values

    by_param: dict[str, list[str]] = {p: [] for p in params}
    for entry in _overrides(out):
        for p in params:
            text = str(entry.get(p))
            if text not in by_param[p]:
                by_param[p].append(text)
    values = table_values(by_param)
    return {p: dict(zip(values[p], by_param[p], strict=True)) for p in params}


def _varies(values: pd.Series) -> bool:
    finite = values.dropna()
    return len(finite) > 0 and finite.nunique() > 1


def _metric_figure(table: pd.DataFrame, metric: str, x: str, hue: str | None) -> Any:
    from sim.plots import _axis_positions, sweep_summary

    summary = sweep_summary(table, metric, x, hue)
    positions, numeric = _axis_positions(table[x])
    summary["pos"] = summary[x].map(positions)
    fig = figure(height=260, width=420, title=f"{metric} against {x}", tools="pan,wheel_zoom,reset,save",
                 name=f"sweep:{metric}:{x}")
    fig.xaxis.axis_label = x
    fig.yaxis.axis_label = f"{metric} (mean, 95% CI)"
    if not numeric or any(isinstance(v, str) for v in positions):
        fig.xaxis.ticker = sorted(set(positions.values()))
        fig.xaxis.major_label_overrides = {float(p): str(v) for v, p in positions.items()}  # type: ignore[assignment]
    levels = list(dict.fromkeys(summary[hue].tolist())) if hue else [None]
    for i, level in enumerate(levels):
        part = summary if hue is None else summary[summary[hue] == level]
        part = part.sort_values("pos", kind="stable")
        low = part["mean"] - part["ci95"]
        if (pd.to_numeric(table[metric], errors="coerce").dropna() >= 0).all():
            low = low.clip(lower=0.0)  # a count or a latency never goes below zero: nor does its band
        source = ColumnDataSource({"pos": part["pos"].to_numpy(dtype=float), "mean": part["mean"].to_numpy(dtype=float),
                                   "low": low.to_numpy(dtype=float),
                                   "high": (part["mean"] + part["ci95"]).to_numpy(dtype=float),
                                   "n": part["n"].to_numpy(), "value": part[x].astype(str).to_numpy()},
                                  name=f"sweep:{metric}:{x}" + (f":{hue}={level}" if hue else ""))
        color = Category10_10[i % 10]
        label = f"{hue} = {level}" if hue else metric
        fig.varea(x="pos", y1="low", y2="high", source=source, fill_color=color, fill_alpha=0.2)
        line = fig.line("pos", "mean", source=source, color=color, legend_label=label, line_width=2)
        fig.scatter("pos", "mean", source=source, color=color, size=6)
        fig.add_tools(HoverTool(renderers=[line], tooltips=[(x, "@value"), ("mean", "@mean"),
                                                            ("95% CI", "@low – @high"), ("runs", "@n")]))
    fig.legend.location = "top_left"
    fig.legend.label_text_font_size = "8pt"
    return fig


def sweep_layout(out: Path, report_dir: Path, progress: Callable[[str], Any] | None = None) -> Any:
    table = read_table(out)
    params = _params(table)
    if not params and "seed" not in table.columns:
        raise NodesimError(f"{out}: the sweep table has no seed column; is it a nodesim sweep?")
    metrics = [m for m in METRICS if m in table.columns and _varies(pd.to_numeric(table[m], errors="coerce"))]
    # A parameter given one value is a setting, not an axis.
    varying = [p for p in params if table[p].nunique(dropna=False) > 1] or params[:1]
    figures = []
    for i, x in enumerate(varying):
        hue = varying[1 - i] if len(varying) == 2 else None
        figures += [_metric_figure(table, metric, x, hue) for metric in metrics]
    links = run_links(out, table, report_dir, progress)
    shown = [*params, "seed", *[m for m in metrics if m in table.columns]]
    rows = table[shown].copy()
    for name in rows.columns:
        if rows[name].dtype == object:
            rows[name] = rows[name].astype(str)
    rows["report"] = links
    source = ColumnDataSource({c: rows[c].to_numpy() for c in rows.columns}, name="sweep_table")
    link = HTMLTemplateFormatter(template='<% if (value) { %><a href="<%= value %>">report</a><% } %>')
    columns = [TableColumn(field=c, title=c, formatter=link) if c == "report" else TableColumn(field=c, title=c)
               for c in rows.columns]
    kept = sum(1 for value in links if value)
    header = Div(text=f"<h2>sweep {html.escape(out.name)}</h2><div>{len(table)} runs, "
                      f"{len(params)} parameter(s): {html.escape(', '.join(params) or '–')}; "
                      f"{int(np.sum(pd.to_numeric(table.get('violations', pd.Series([0])), errors='coerce') > 0))} "
                      f"with violations; {kept} run folder(s) kept (nodesim sweep --keep-runs)</div>",
                 sizing_mode="stretch_width")
    grid = gridplot(figures, ncols=3) if figures else Div(text="no numeric metric to plot")
    table_widget = DataTable(source=source, columns=columns, sizing_mode="stretch_width",
                             height=min(700, 30 + 25 * len(rows)), index_position=None, reorderable=False,
                             name="runs_table")
    return column(header, grid, Div(text="<h3>runs</h3>"), table_widget, sizing_mode="stretch_width")


def write_sweep_report(out: str | Path, path: str | Path | None = None,
                       progress: Callable[[str], Any] | None = None) -> Path:
    """Write the report of the sweep folder ``out`` (default ``out/report.html``); return its path."""
    folder = Path(out)
    if not is_sweep_dir(folder):
        raise NodesimError(f"{folder}: not a sweep folder (no {JOURNAL}, sweep.parquet or sweep.csv)")
    target = Path(path) if path is not None else folder / REPORT_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    page = file_html(sweep_layout(folder, target.parent, progress), INLINE, title=f"nodesim sweep: {folder.name}")
    with atomic_path(target) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return target
