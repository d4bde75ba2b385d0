"""When broadcast cycles run: the heartbeat grid, computed instead of ticked.

The canister's heartbeat runs every round (here: every whole second of virtual time) and
starts a cycle when ``now >= next_broadcast_time`` (``main.mo`` heartbeat,
``broadcast.mo``); a cycle sets ``next_broadcast_time = cycle start + BROADCAST_DELAY``, so
cycles run every 3 minutes without pause, whether or not anything is due. ``publish`` (when it
stores an event) and ``request_missed_events`` (when it finds one) set
``next_broadcast_time = now``: the next heartbeat runs a cycle and the grid restarts there.

A cycle with nothing due changes nothing but ``next_broadcast_time``, and the grid it leaves
is the grid it found, so those cycles are skipped: ``next_cycle_time`` jumps straight to the
first grid point where some event is due or a request waits. A quiet hub costs nothing.

Heartbeats at the same instant as a call: a call made at a whole second is seen by that
second's heartbeat unless a cycle already ran at that instant (one cycle per heartbeat).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping
from typing import Protocol

import attrs

from sim.sources.pubsub.constants import BROADCAST_DELAY, HEARTBEAT_INTERVAL


class Event(Protocol):
    """What the schedule reads of a stored event (``model.Event``)."""

    event_id: int
    next_time: float

TIME_EPSILON = 1e-6
"""Slack for comparing virtual times, which may carry float rounding from clock jumps."""


@attrs.define
class DueIndex:
    """Stored events ordered by when their next normal broadcast is due.

    A heap of ``(next_time, event_id)``; an entry is stale once its event is gone or has a
    later ``next_time`` (a new entry is pushed whenever ``next_time`` is set), and stale
    entries are dropped as they surface. This keeps a cycle's cost to the events it sends,
    not the events stored.
    """

    _heap: list[tuple[float, int]] = attrs.Factory(list)

    def push(self, event: Event) -> None:
        heapq.heappush(self._heap, (event.next_time, event.event_id))

    def earliest(self, events: Mapping[int, Event]) -> float | None:
        """The earliest ``next_time`` among ``events``, or None when none is stored."""
        heap = self._heap
        while heap:
            time, event_id = heap[0]
            event = events.get(event_id)
            if event is not None and event.next_time == time:
                return time
            heapq.heappop(heap)
        return None

    def pop_due(self, now: float, events: Mapping[int, Event]) -> list[int]:
        """Ids of the events due at ``now``, in id order (the order the canister walks)."""
        due: dict[int, None] = {}
        heap = self._heap
        while heap and heap[0][0] <= now + TIME_EPSILON:
            time, event_id = heapq.heappop(heap)
            event = events.get(event_id)
            if event is not None and event.next_time == time:
                due[event_id] = None
        return sorted(due)


def heartbeat_at_or_after(time: float) -> float:
    """The first whole second at or after ``time``."""
    return float(math.ceil(time - TIME_EPSILON))


def first_cycle_time(next_broadcast_time: float, last_cycle: float | None) -> float:
    """The first heartbeat that may run a cycle."""
    first = heartbeat_at_or_after(next_broadcast_time)
    if last_cycle is not None:
        first = max(first, last_cycle + HEARTBEAT_INTERVAL)
    return first


def next_work_time(next_broadcast_time: float, last_cycle: float | None,
                   earliest_due: float | None, requests_waiting: bool) -> float | None:
    """The first grid cycle with something to do, or None while nothing is stored.

    Cycles fall on ``first, first + 3 min, first + 6 min, ...``; an event is sent by the
    first of them at or after its due time.
    """
    if earliest_due is None and not requests_waiting:
        return None
    first = first_cycle_time(next_broadcast_time, last_cycle)
    if requests_waiting or earliest_due is None or earliest_due <= first + TIME_EPSILON:
        return first
    steps = math.ceil((earliest_due - first) / BROADCAST_DELAY - TIME_EPSILON)
    return first + steps * BROADCAST_DELAY
