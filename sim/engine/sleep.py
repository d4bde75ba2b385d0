"""Sleeping in a trio run for a fraction of ``trio.sleep``'s cost, woken exactly when it would be.

``trio.sleep`` opens a cancel scope, registers its deadline, and is woken by cancelling that
scope: a ``Cancelled`` is made, raised through the task and caught at the scope's exit. A
simulated RPC or block interval sleeps a hundred times in a two-minute world, and that
machinery was a tenth of the run's CPU. An ``Alarm`` is instead a bare entry in trio's own
deadline heap: trio's run loop expires it at the same step of the same loop iteration as the
cancel scope it replaces and reschedules the sleeper there, so each batch of woken tasks is
the one ``trio.sleep`` gives (trio's seeded shuffle of the batch, and with it every trace
hash, stays as it was: ``tests/test_sleep.py``). ``wait_until`` does the same for waiting on
an event with a deadline (``move_on_at`` around ``Event.wait``).

This reads trio's runner (``Deadlines`` of trio 0.35, pinned in pyproject.toml) and an
event's set of waiting tasks; where they are not as expected, these are trio's own calls.
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import trio
from trio.lowlevel import Abort, Task, current_task, reschedule, wait_task_rescheduled

INF = math.inf


_RUN = trio._core._run
# What an alarm relies on, checked once: trio's deadline heap with its add/remove/expire
# protocol, where the running loop keeps it, and the cancel state of a task.
_SUPPORTED = (hasattr(_RUN, "GLOBAL_RUN_CONTEXT") and attrs.has(getattr(_RUN, "Runner", object))
              and {"clock", "deadlines"} <= {a.name for a in attrs.fields(_RUN.Runner)}
              and all(hasattr(getattr(_RUN, "Deadlines", None), name) for name in ("add", "remove", "expire"))
              and hasattr(Task, "_cancel_status") and hasattr(trio.Cancelled, "_create"))


def _runner() -> Any | None:
    """trio's runner of the running loop (its clock and deadline heap), or None where trio
    keeps them elsewhere."""
    return getattr(_RUN.GLOBAL_RUN_CONTEXT, "runner", None) if _SUPPORTED else None


class Alarm:
    """One task's wake-up at a virtual time, registered in trio's deadline heap.

    trio's ``Deadlines`` keeps ``(deadline, id, scope)`` entries, counts the live ones in
    ``_active``, treats an entry as stale once ``scope._registered_deadline`` differs from its
    deadline, and calls ``scope._cancel(reason)`` on a live entry that is due: an alarm
    answers to that protocol the way a cancel scope does, with one task to wake. With
    ``waiters`` (a ``trio.Event``'s waiting tasks), the task also waits on that event and
    whichever comes first wakes it, as ``with move_on_at(deadline): await event.wait()``.
    """

    __slots__ = ("_aborted", "_deadlines", "_registered_deadline", "_task", "_waiters", "rang")

    def __init__(self, deadlines: Any, task: Task, deadline: float, waiters: set[Task] | None = None) -> None:
        self._deadlines = deadlines
        self._task = task
        self._registered_deadline = deadline
        self._waiters = waiters
        self.rang = self._aborted = False  # woken by its deadline / by a cancellation
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
        """Called by trio when the deadline is due: wake the task, unless it was woken already
        (by the event it also waits on, or by a cancellation: a cancel scope then finds
        nothing to abort either)."""
        if self._registered_deadline == INF:
            return
        self.disarm()
        if self._aborted:
            return
        if self._waiters is not None:
            if self._task not in self._waiters:
                return
            self._waiters.remove(self._task)
        self.rang = True
        reschedule(self._task)

    async def wait(self) -> None:
        """Park the task that set the alarm until it rings (or its event is set)."""
        task, waiters = self._task, self._waiters

        def abort(_: Any) -> Abort:
            self._aborted = True
            if waiters is not None:
                waiters.discard(task)
            return Abort.SUCCEEDED

        if waiters is not None:
            waiters.add(task)
        try:
            await wait_task_rescheduled(abort)
        except BaseException:
            # Cancelled from outside: the deadline stays trio's to count until the task runs,
            # as a cancel scope's stays until the task leaves it.
            self.disarm()
            raise
        if not self.rang:
            self.disarm()  # the event came first (the same: until the task runs)
        elif task._cancel_status.effectively_cancelled:  # type: ignore[attr-defined]
            # Rung, then cancelled from outside before it ran (the same batch): trio's sleep
            # was woken by its scope's Cancelled, which the scope does not swallow while an
            # outer scope is cancelled, so the task stops here instead of taking one more step.
            raise trio.Cancelled._create(source="deadline")


def alarm_at(deadline: float, waiters: set[Task] | None = None) -> Alarm | None:
    """An alarm for the current task at ``deadline`` (also waiting among an event's
    ``waiters``); None for a deadline not in the finite future (trio's scope then wakes the
    task at once, or never) or where trio's internals differ: the caller then sleeps with a
    cancel scope instead."""
    runner = _runner()
    if runner is None or not runner.clock.current_time() < deadline < INF:
        return None
    return Alarm(runner.deadlines, current_task(), deadline, waiters)


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


async def wait_until(event: trio.Event, deadline: float) -> None:
    """``with trio.move_on_at(deadline): await event.wait()``: the same wake-up (the event, or
    the deadline, whichever comes first), without a cancel scope."""
    waiters = getattr(event, "_tasks", None)
    alarm = None
    if not event.is_set() and isinstance(waiters, set):
        if deadline == INF:  # (a scope that never expires changes nothing)
            await event.wait()
            return
        alarm = alarm_at(deadline, waiters)
    if alarm is None:
        with trio.move_on_at(deadline):
            await event.wait()
        return
    await alarm.wait()
