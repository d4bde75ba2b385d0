"""Local worker processes that stop with the command: what a sweep's and a campaign's process
pools share so that Ctrl-C or SIGTERM ends them at once, leaving no worker behind.

Ctrl-C reaches the whole process group, so workers ignore it (``ignore_interrupts``, their
initializer) and only the parent decides how to stop: it stops its workers itself
(``stop_workers``), having let any interrupt that came while they started wait until they
had (``interrupts_after_workers_start``).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor


def ignore_interrupts() -> None:
    """A worker's initializer: Ctrl-C is the parent's to act on, and SIGTERM (how the parent
    stops it) ends it quietly, whatever handler a forked worker inherited from the command."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


@contextlib.contextmanager
def interrupts_after_workers_start() -> Iterator[None]:
    """Ctrl-C or SIGTERM while the pool starts its workers acts right after they have started.

    Taken in the middle of a start, it left a worker running that the pool did not know yet
    (so nothing stopped it), or one that printed a traceback of its own for the set-up it
    never received. The signal is noted and raised again, to whatever handles it, once the
    starts are over."""
    if threading.current_thread() is not threading.main_thread():  # handlers belong to that one
        yield
        return
    noted: list[int] = []
    previous = {signum: signal.signal(signum, lambda signum, _frame: noted.append(signum))
                for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for noted_signal in dict.fromkeys(noted):
            signal.raise_signal(noted_signal)


def stop_workers(pool: ProcessPoolExecutor) -> None:
    """Stop the pool's workers now (an interrupt): their work in flight is given up; the
    caller then shuts the pool down with its queued work cancelled."""
    # concurrent.futures has no public way to stop a running task; its worker table is the
    # only handle (a missing one just means there is nothing to stop).
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.terminate()
