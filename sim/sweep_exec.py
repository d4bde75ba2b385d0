"""Running sweep tasks: the worker function, and the local-process and Dask executors.

A task is (overrides, seed); tasks travel in chunks so a worker parses each scenario variant
once per chunk and pays no start-up cost per run. Workers get the scenario *text*, so a remote
Dask worker needs the same nodesim install but not the file. Each executor yields the results
of chunks as they complete, in completion order; the caller sorts rows afterwards.
"""

from __future__ import annotations

import functools
import multiprocessing
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from sim.engine.gc_policy import free_finished_worlds, keep_run_thresholds
from sim.errors import NodesimError
from sim.optional import require
from sim.process_pool import ignore_interrupts, interrupts_after_workers_start, stop_workers

Task = tuple[dict[str, str], int]  # (overrides, seed)
Outcome = tuple[dict[str, str], int, dict[str, Any] | None, str | None]  # ..., row, error
WALL_COLUMNS = ("wall_seconds",)
CONNECT_TIMEOUT = 5.0  # seconds to reach a Dask scheduler before saying it cannot be reached
UNGUARDED = ('a script that runs a sweep must do it under `if __name__ == "__main__":` '
             "(each worker process imports the script again)")

# What the fork server imports before it forks workers. A worker also imports the caller's
# script again (multiprocessing's main-module rule): a sweep script imports ``sim.sweep``, and
# with it pandas and pyarrow, which cost each worker ~0.2 s when not inherited (most of a
# small sweep's time); ``sim.sweep_warm`` then loads what a first run would load lazily.
WORKER_PRELOAD = ("sim.sweep", "sim.sweep_exec", "sim.scenario", "sim.runner", "sim.world.world",
                  "sim.sweep_warm")

# trio's scheduler RNG is process-global (sim/determinism.py seeds it before each run), so two
# runs must never interleave in one process, as they could on a threaded Dask worker.
_RUN_LOCK = threading.Lock()


def summary_row(summary: dict[str, Any]) -> dict[str, Any]:
    """A summary as one flat table row: lists become a count and a ``;``-joined text."""
    row: dict[str, Any] = {}
    for key, value in summary.items():
        if key == "violations":
            row["violations"] = len(value)
            row["violation_invariants"] = ";".join(sorted({v["invariant"] for v in value}))
        elif isinstance(value, list | tuple):
            row[key] = "; ".join(str(item) for item in value)
        elif isinstance(value, dict):
            for sub, item in value.items():
                row[f"{key}.{sub}"] = item
        else:
            row[key] = value.item() if hasattr(value, "item") else value  # numpy scalars
    return row


def run_chunk(scenario_text: str, file: str, tasks: list[Task], keep_dir: str | None = None) -> list[Outcome]:
    """Run each task (in a worker); a run that raises becomes an error text, not a lost chunk.

    With ``keep_dir``, each run also writes its run folder there (``run_folder_name``).
    """
    outcomes: list[Outcome] = []
    for overrides, seed in tasks:
        outcomes.append(_run_task(scenario_text, file, overrides, seed, keep_dir))
        free_finished_worlds()  # only the run's row is kept: its world is garbage now
    return outcomes


def _run_task(scenario_text: str, file: str, overrides: dict[str, str], seed: int,
              keep_dir: str | None) -> Outcome:
    """One task's outcome: the summary row of its run, or the error text of a run that raised."""
    from pathlib import Path

    import sim

    try:
        scenario = _parsed(scenario_text, file, tuple(sorted(overrides.items())))
        with _RUN_LOCK:
            out = None
            if keep_dir is not None:
                from sim.sweep_store import run_folder_name  # brings pandas: only when runs are kept

                out = Path(keep_dir) / run_folder_name(overrides, seed)
            result = sim.run(scenario, seed=seed, out=out)
        return (overrides, seed, summary_row(result.summary), None)
    except Exception as exc:  # reported per run by the caller; the sweep goes on
        return (overrides, seed, None, f"{type(exc).__name__}: {exc}")


@functools.lru_cache(maxsize=8)
def _parsed(scenario_text: str, file: str, overrides: tuple[tuple[str, str], ...]) -> Any:
    """The scenario of a combination, parsed once per worker process (not once per chunk: the
    last chunks of a sweep are single runs)."""
    from sim.scenario import parse_scenario

    return parse_scenario(scenario_text, file=file, overrides=dict(overrides))


def _start_worker() -> None:
    """Set up a local worker process (it runs worlds and nothing else)."""
    ignore_interrupts()
    keep_run_thresholds()


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """``workers`` local processes (forkserver: no inherited threads or state)."""
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if context.get_start_method() == "forkserver":
        # The fork server imports nodesim once and outlives this pool, so every later worker
        # (of this sweep and of the next) starts as a fork of it, not as a fresh interpreter.
        context.set_forkserver_preload(list(WORKER_PRELOAD))
    return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_start_worker)


def run_local(chunks: list[list[Task]], scenario_text: str, file: str, workers: int,
              keep_dir: str | None = None) -> Iterator[list[Outcome]]:
    """Chunks on a pool of ``workers`` local processes (``worker_pool``)."""
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        # A worker importing the caller's script (as multiprocessing does) reached its sweep:
        # one line, not multiprocessing's traceback; the caller's pool reports the cause.
        raise SystemExit(f"nodesim: {UNGUARDED}")
    pool = worker_pool(workers)
    index: dict[Future[list[Outcome]], int] = {}  # submission order, to handle done ones in it

    def submit_next() -> None:
        if len(index) < len(chunks):
            index[pool.submit(run_chunk, scenario_text, file, chunks[len(index)], keep_dir)] = len(index)

    try:
        # A bounded number of chunks in flight, so an interrupt leaves little half-done.
        with interrupts_after_workers_start():
            for _ in range(2 * workers):  # (the pool starts its workers in the first submits)
                submit_next()
        pending = set(index)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in sorted(done, key=index.__getitem__):
                before = len(index)
                submit_next()
                if len(index) > before:
                    pending.add(next(reversed(index)))
                yield future.result()
    except BrokenProcessPool:
        stop_workers(pool)
        raise NodesimError(f"a sweep worker process died before its runs were done: killed (out of memory?), "
                           f"or {UNGUARDED}") from None
    except BaseException:
        stop_workers(pool)  # interrupted: runs in flight are not waited for; a resume reruns them
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def dask_client(executor: Any, workers: int, processes: bool) -> tuple[Any, Any]:
    """(client, cluster to close or None) for ``"dask"``, ``"dask://host:port"`` or a Client."""
    distributed = require("distributed", "--executor dask")
    Client, LocalCluster = distributed.Client, distributed.LocalCluster
    if not isinstance(executor, str):
        return executor, None
    if executor == "dask":
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=processes,
                               dashboard_address=None)
        return Client(cluster), cluster
    address = executor.removeprefix("dask://")
    try:
        return Client("tcp://" + address, timeout=CONNECT_TIMEOUT), None
    except (OSError, TimeoutError) as exc:
        raise NodesimError(f"--executor {executor}: cannot reach the Dask scheduler ({exc})") from None


def run_dask(chunks: list[list[Task]], scenario_text: str, file: str, executor: Any, workers: int,
             processes: bool = True, keep_dir: str | None = None) -> Iterator[list[Outcome]]:
    """Chunks on a Dask cluster (a ``LocalCluster`` of ``workers`` when no address is given)."""
    from distributed import as_completed

    client, cluster = dask_client(executor, workers, processes)
    futures: list[Any] = []
    try:
        futures = [client.submit(run_chunk, scenario_text, file, chunk, keep_dir, pure=False) for chunk in chunks]
        for future in as_completed(futures):
            yield future.result()
    finally:
        if futures:
            client.cancel(futures)
        if cluster is not None:
            client.close()
            cluster.close()


def check_executor(executor: Any) -> None:
    """``local``, ``dask``, ``dask://host:port`` or a ``distributed.Client``; else a clear error."""
    if not isinstance(executor, str):
        if hasattr(executor, "submit"):
            return
        raise NodesimError(f"--executor: expected local, dask or dask://host:port, got {executor!r}")
    if executor == "local":
        return
    if executor == "dask":
        require("distributed", "--executor dask")
        return
    host, _, port = executor.removeprefix("dask://").rpartition(":")
    if not executor.startswith("dask://") or not host or not port.isdigit():
        raise NodesimError(f"--executor: expected local, dask or dask://host:port, got {executor!r}")
    require("distributed", "--executor dask")


def check_reachable(executor: Any) -> None:
    """A ``dask://host:port`` scheduler must accept a connection before a sweep starts."""
    if not isinstance(executor, str) or not executor.startswith("dask://"):
        return
    host, _, port = executor.removeprefix("dask://").rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT).close()
    except OSError as exc:
        raise NodesimError(f"--executor {executor}: cannot reach the Dask scheduler "
                           f"({exc.strerror or exc})") from None
