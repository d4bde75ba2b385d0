"""The broadcast cycle: what is sent when, attempt counting, expiry, and the stats identity.

Timing (the spec's rules, made precise):

- A cycle runs at ``next_cycle_time``: the earliest due moment (an event's ``next_time``, or
  the time of an unanswered ``request_missed_events``), but never sooner than
  ``BROADCAST_DELAY`` after the previous cycle. ``publish`` stores the event with
  ``next_time = created_at``, so a publish "makes it due at once": the first send happens at
  once if no cycle ran in the last 3 minutes, else when those 3 minutes are up.
- In a cycle, each due event with ``attempts < RESEND_ATTEMPTS_LIMIT`` is offered to every
  pending subscriber whose own count is <= the event's; each of those counts rises by one
  whether or not anything was sent. Then ``attempts += 1`` and
  ``next_time = cycle time + RESEND_DELAY * 2 ** (attempts - 1)``. A due event whose attempts
  reached the limit is deleted (63.75 h after the first send when every cycle is on time).
- Requested events are then sent to each requesting subscriber that is still pending,
  whatever its subscription's state, without touching attempt counts. A normal send to that
  subscriber in the same cycle answers the request instead. A request is answered once: with
  no confirmed listener nothing is sent.
- Sends are numbered in cycle order and grouped in batches of ``BROADCAST_BATCH_SIZE``; they
  are handed to the deliver hook only after the cycle has updated all state, so a handler that
  calls back into the hub never sees a half-done cycle.
"""

from __future__ import annotations

import attrs

from sim.sources.pubsub.constants import (
    BROADCAST_BATCH_SIZE,
    BROADCAST_DELAY,
    RESEND_ATTEMPTS_LIMIT,
    RESEND_DELAY,
)
from sim.sources.pubsub.model import Event, HubState, Notification

TIME_EPSILON = 1e-6
"""Slack for comparing virtual times, which may carry float rounding from clock jumps."""


@attrs.frozen
class CycleReport:
    """What one cycle did."""

    time: float
    notifications: tuple[Notification, ...]
    expired: tuple[int, ...]
    violations: tuple[str, ...]

    @property
    def batches(self) -> int:
        return -(-len(self.notifications) // BROADCAST_BATCH_SIZE)


def next_cycle_time(state: HubState) -> float | None:
    """When the next cycle is due, or None while nothing is stored or requested."""
    earliest = min((e.next_time for e in state.events.values()), default=None)
    if state.request_due is not None:
        earliest = state.request_due if earliest is None else min(earliest, state.request_due)
    if earliest is None or state.last_cycle is None:
        return earliest
    return max(state.last_cycle + BROADCAST_DELAY, earliest)


def run_cycle(state: HubState, now: float) -> CycleReport:
    """Run one cycle at virtual time ``now``; the caller delivers ``report.notifications``."""
    if state.last_cycle is not None and now < state.last_cycle + BROADCAST_DELAY - TIME_EPSILON:
        raise ValueError(f"broadcast cycle at {now}s is less than {BROADCAST_DELAY}s after "
                         f"the previous one at {state.last_cycle}s")
    sends: list[Notification] = []
    expired: list[int] = []
    for event in list(state.events.values()):
        if event.next_time <= now + TIME_EPSILON:
            if event.attempts >= RESEND_ATTEMPTS_LIMIT:
                expired.append(event.event_id)
                state.remove_event(event)
                continue
            _broadcast_event(state, event, now, sends)
        if event.requests:
            _answer_requests(state, event, now, sends)
    state.last_cycle = now
    state.request_due = None
    totals = state.totals
    totals.cycles += 1
    totals.notifications += len(sends)
    totals.notifications_requested += sum(1 for n in sends if n.requested)
    totals.deleted_expired += len(expired)
    return CycleReport(now, tuple(sends), tuple(expired), tuple(stats_violations(state)))


def _broadcast_event(state: HubState, event: Event, now: float,
                     sends: list[Notification]) -> None:
    for subscriber_id, count in list(event.subscribers.items()):
        if count > event.attempts:
            continue
        subscription = state.subscriptions.get((subscriber_id, event.event_name))
        subscriber = state.subscribers.get(subscriber_id)
        listener = None
        if (subscription is not None and subscriber is not None and subscription.active
                and not subscription.stopped):
            listener = subscriber.next_listener()
        if listener is None:
            if subscription is not None and count == 0:
                subscription.withheld_first += 1
        else:
            event.requests.pop(subscriber_id, None)
            _send(state, event, subscriber_id, listener, now, count, False, sends)
        # The count rises even when nothing was sent: a stopped subscriber loses that try.
        event.subscribers[subscriber_id] = count + 1
    event.attempts += 1
    event.next_time = now + RESEND_DELAY * 2 ** (event.attempts - 1)


def _answer_requests(state: HubState, event: Event, now: float,
                     sends: list[Notification]) -> None:
    for subscriber_id in list(event.requests):
        del event.requests[subscriber_id]
        subscriber = state.subscribers.get(subscriber_id)
        if subscriber_id not in event.subscribers or subscriber is None:
            continue
        listener = subscriber.next_listener()
        if listener is not None:
            _send(state, event, subscriber_id, listener, now, event.subscribers[subscriber_id],
                  True, sends)


def _send(state: HubState, event: Event, subscriber_id: str, listener: str, now: float,
          attempt: int, requested: bool, sends: list[Notification]) -> None:
    sends.append(Notification(
        event_id=event.event_id, publisher_id=event.publisher_id, event_name=event.event_name,
        payload=event.payload, subscriber_id=subscriber_id, listener_id=listener, sent_at=now,
        attempt=attempt, requested=requested, batch=len(sends) // BROADCAST_BATCH_SIZE))
    resend = attempt > 0
    subscription = state.subscriptions.get((subscriber_id, event.event_name))
    if subscription is not None:
        subscription.stats.count_send(requested=requested, resend=resend)
    publication = state.publications.get((event.publisher_id, event.event_name))
    if publication is not None:
        publication.stats.count_send(requested=requested, resend=resend)


def stats_violations(state: HubState) -> list[str]:
    """Subscriptions breaking ``notifications - resend - requested == events``.

    Checked, as the spec says, for active, not stopped subscriptions with a confirmed
    listener; also skipped are subscriptions that had a first send withheld while they were
    not in that state (that event is later sent as a resend, so the identity falls short by
    design, not by a bug).
    """
    found = []
    for (subscriber_id, name), sub in state.subscriptions.items():
        subscriber = state.subscribers.get(subscriber_id)
        if (not sub.active or sub.stopped or subscriber is None
                or not subscriber.confirmed_listeners or sub.withheld_first):
            continue
        s = sub.stats
        if s.notifications - s.resend_notifications - s.requested_notifications != s.events:
            found.append(f"subscription {subscriber_id}/{name}: notifications {s.notifications}"
                         f" - resend {s.resend_notifications} - requested "
                         f"{s.requested_notifications} != events {s.events}")
    return found
