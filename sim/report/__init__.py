"""Seeing a run: an HTML report per run and per sweep, and a Perfetto (Chrome trace-event) export.

    import sim
    from sim.report import write_report, write_perfetto
    result = sim.load_run("runs/quickstart-7")     # or sim.run(...)
    write_report(result, "report.html")
    write_perfetto(result, "trace.perfetto.json")
"""

from sim.report.page import write_report as write_report

__all__ = ["write_report"]
