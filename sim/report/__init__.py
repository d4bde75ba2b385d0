"""Seeing a run: an HTML report per run and per sweep, and a Perfetto (Chrome trace-event) export.

    import sim
    from sim.report import write_perfetto, write_report, write_sweep_report
    result = sim.load_run("runs/quickstart-7")     # or sim.run(...)
    write_report(result, "report.html")
    write_perfetto(result, "trace.perfetto.json")
    write_sweep_report("runs/explore")             # a sweep's folder -> runs/explore/report.html

The names load on first use, so ``nodesim`` commands that draw nothing do not import bokeh.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_HOMES = {"write_report": "sim.report.page", "write_perfetto": "sim.report.perfetto",
          "write_sweep_report": "sim.report.sweep"}
__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'sim.report' has no attribute {name!r}")
