"""How the cyclic garbage collector runs while a world runs.

A run allocates many small objects that live for the whole run (blocks, records, resolutions);
with CPython's default thresholds the collector walks them again and again, which profiles
showed as up to a third of a large run. During a run the youngest generation is collected
less often and the older ones much less; the thresholds in force before are restored after.
Collection never changes what a run does, only when memory is reclaimed.

A process that does nothing but run worlds one after another (a local sweep worker) keeps the
run thresholds between runs too (``keep_run_thresholds``): restored defaults made the
collector walk each finished world while the run still held it (at the first allocation after
the run), then again as garbage a few runs later, ~3% of a short run's instructions.
Such a process frees each world as soon as its run is over (``free_finished_worlds``).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

RUN_THRESHOLDS = (50_000, 50, 100)


@contextmanager
def run_gc_policy() -> Iterator[None]:
    """Collect with ``RUN_THRESHOLDS`` inside the block."""
    before = gc.get_threshold()
    gc.set_threshold(*RUN_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def keep_run_thresholds() -> None:
    """Collect with ``RUN_THRESHOLDS`` from now on, between runs too (for a process of its own
    that only runs worlds: ``run_gc_policy`` then changes nothing)."""
    gc.set_threshold(*RUN_THRESHOLDS)


def free_finished_worlds() -> None:
    """Free the worlds that finished and are no longer referenced, now: for a process that runs
    worlds one after another (a sweep worker, between runs).

    A world is one cyclic graph (world, nodes, hosts, trio's tasks), so only the collector
    frees it; left to ``RUN_THRESHOLDS``, some thirty dead worlds piled up in a sweep worker
    before a collection, and every run in between took fresh memory instead of the memory the
    last world had just left warm: freeing each world after its run made 2-minute quickstart
    runs about a tenth faster. The young generations hold a run's objects (with
    ``RUN_THRESHOLDS`` they reach the oldest only after millions of allocations) and cost
    about what the dead world costs; a full collection would also walk every object of every
    imported module. Under the default thresholds (a test process) dead worlds are collected
    soon anyway, and this gained nothing for property examples.
    """
    gc.collect(1)
