"""Sleeping in a trio run for a fraction of ``trio.sleep``'s cost, woken exactly when it would be.

``trio.sleep`` opens a cancel scope, registers its deadline, and is woken by cancelling that
scope: a ``Cancelled`` is made, raised through the task and caught at the scope's exit. A
simulated RPC or block interval sleeps a hundred times in a two-minute world, and that
machinery was a tenth of the run's CPU. An ``Alarm`` is instead a bare entry in trio's own
deadline heap: trio's run loop expires it at the same step of the same loop iteration as the
cancel scope it replaces and reschedules the sleeper there, so each batch of woken tasks is
the one ``trio.sleep`` gives (trio's seeded shuffle of the batch, and with it every trace
hash, stays as it was: ``tests/test_sleep.py``).

This reads trio's runner (``Deadlines`` of trio 0.35, pinned in pyproject.toml); where it is
not as expected, ``sleep`` and ``sleep_until`` are trio's.
"""

from __future__ import annotations

import math
from typing import Any

import trio
from trio.lowlevel import Abort, Task, current_task, reschedule, wait_task_rescheduled

INF = math.inf


_RUN = trio._core._run
# What an alarm relies on, checked once: trio's deadline heap with its add/remove/expire
# protocol, where the running loop keeps it, and the cancel state of a task.
_SUPPORTED = (hasattr(_RUN, "GLOBAL_RUN_CONTEXT")
              and all(hasattr(getattr(_RUN, "Deadlines", None), name) for name in ("add", "remove", "expire"))
              and hasattr(Task, "_cancel_status") and hasattr(trio.Cancelled, "_create"))


def _deadlines() -> Any | None:
    """trio's deadline heap of the running loop, or None where trio keeps it elsewhere."""
    if not _SUPPORTED:
        return None
    return getattr(getattr(_RUN.GLOBAL_RUN_CONTEXT, "runner", None), "deadlines", None)


def _cancelled(task: Task) -> bool:
    """Whether a cancel scope around ``task`` has been cancelled."""
    status = task._cancel_status  # type: ignore[attr-defined]
    return status is not None and bool(status.effectively_cancelled)


class Alarm:
    """One task's wake-up at a virtual time, registered in trio's deadline heap.

    trio's ``Deadlines`` keeps ``(deadline, id, scope)`` entries, counts the live ones in
    ``_active``, treats an entry as stale once ``scope._registered_deadline`` differs from its
    deadline, and calls ``scope._cancel(reason)`` on a live entry that is due: an alarm
    answers to that protocol the way a cancel scope does, with one task to wake.
    """

    __slots__ = ("_deadlines", "_registered_deadline", "_task")

    def __init__(self, deadlines: Any, task: Task, deadline: float) -> None:
        self._deadlines = deadlines
        self._task = task
        self._registered_deadline = deadline
        deadlines.add(deadline, self)

    @property
    def deadline(self) -> float:
        """When it rings (inf once it rang or was disarmed)."""
        return self._registered_deadline

    @deadline.setter
    def deadline(self, deadline: float) -> None:
        """Ring at ``deadline`` instead, as setting a cancel scope's deadline does: the old
        entry goes stale and a new one is pushed (an alarm that rang stays silent)."""
        if self._registered_deadline == INF or deadline == self._registered_deadline:
            return
        self._deadlines.remove(self._registered_deadline, self)
        self._registered_deadline = deadline
        self._deadlines.add(deadline, self)

    def disarm(self) -> None:
        """The task woke for another reason: the entry goes stale, as a closed scope's does."""
        if self._registered_deadline != INF:
            self._deadlines.remove(self._registered_deadline, self)
            self._registered_deadline = INF

    def _cancel(self, reason: object) -> None:
        """Called by trio when the deadline is due: wake the task (once)."""
        if self._registered_deadline != INF:
            self.disarm()
            reschedule(self._task)

    async def wait(self) -> None:
        """Park the task that set the alarm until it rings; an outer cancellation disarms it."""

        def abort(_: Any) -> Abort:
            self.disarm()
            return Abort.SUCCEEDED

        await wait_task_rescheduled(abort)
        if _cancelled(self._task):
            # Rung, then cancelled from outside before it ran (the same batch): trio's sleep
            # was woken by its scope's Cancelled, which the scope does not swallow while an
            # outer scope is cancelled, so the task stops here instead of taking one more step.
            raise trio.Cancelled._create(source="deadline")


def alarm_at(deadline: float) -> Alarm | None:
    """An alarm for the current task at ``deadline``; None for a deadline not in the finite
    future (trio's scope then wakes the task at once, or never) or where trio's internals
    differ: the caller then sleeps with a cancel scope instead."""
    if not trio.current_time() < deadline < INF:
        return None
    deadlines = _deadlines()
    return None if deadlines is None else Alarm(deadlines, current_task(), deadline)


async def sleep_until(deadline: float) -> None:
    """``trio.sleep_until``: the same wake-up, without a cancel scope."""
    alarm = alarm_at(deadline)
    if alarm is None:
        await trio.sleep_until(deadline)  # (also a deadline now or past: trio's checkpoint)
        return
    await alarm.wait()


async def sleep(seconds: float) -> None:
    """``trio.sleep``: the same wake-up, without a cancel scope."""
    if not seconds > 0:
        await trio.sleep(seconds)  # (zero: a checkpoint; negative or NaN: trio's error)
        return
    await sleep_until(trio.current_time() + seconds)
