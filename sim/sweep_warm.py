"""Loads, once, what a world's first run in a process would otherwise load lazily: the
modules of every registered source kind and its listener, and the normal quantile table
lognormal latencies are drawn from.

The sweep fork server imports this module (``sim.sweep_exec.WORKER_PRELOAD``), so every
worker forked from it starts warm: a worker's first run cost ~30 ms more than its later ones,
and a small sweep's runs are mostly first runs.
"""

from __future__ import annotations

from sim.net.latency import standard_normal_quantiles
from sim.sources.registry import load, source_kinds


def warm() -> None:
    """Import every source kind's classes and listener, build the quantile table."""
    for kind in source_kinds().values():
        for spec in (kind.config, kind.source, kind.listen, kind.summary_fields):
            if spec is not None:
                load(spec)
    standard_normal_quantiles()


warm()
