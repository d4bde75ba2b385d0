"""What one broadcast cycle does: sends, attempt counting, expiry, requested events, stats.

As ``broadcast.mo`` does it, at cycle start ``now``:

1. Every stored event due at ``now`` (``next_time <= now``), in id order: if it was already
   offered ``RESEND_ATTEMPTS_LIMIT`` times it is deleted; otherwise each pending subscriber
   whose own count is <= the event's is offered it, and that count rises by one whether or
   not anything was sent (a send needs an active, not stopped subscription and a confirmed
   listener). Then ``attempts += 1`` and ``next_time = now + RESEND_DELAY * 2 **
   (attempts - 1)``. A normal send to a subscriber answers its pending request.
2. Then every event with unanswered ``request_missed_events``, in id order: each requesting
   subscriber gets it once more, whatever its subscription's state, without touching any
   attempt count; with no confirmed listener the request is dropped unanswered.
3. ``next_broadcast_time = now + BROADCAST_DELAY``.

Each pass over one event's subscribers goes out in batches (separate messages): a new batch
starts after every ``BROADCAST_BATCH_SIZE`` subscribers offered, counted with the canister's
8-bit counter (which wraps at 256, so a batch also ends there). Sends are handed to the
deliver hook only after the cycle has updated all state, so a handler that calls back into the
hub never sees a half-done cycle.
"""

from __future__ import annotations

import attrs

from sim.sources.pubsub.constants import (
    BROADCAST_BATCH_SIZE,
    BROADCAST_DELAY,
    RESEND_ATTEMPTS_LIMIT,
    RESEND_DELAY,
)
from sim.sources.pubsub.model import Event, HubState, Notification, Publication, Subscription
from sim.sources.pubsub.schedule import TIME_EPSILON, first_cycle_time, next_work_time
from sim.sources.pubsub.subscribe import drop_request


@attrs.frozen
class CycleReport:
    """What one cycle did."""

    time: float
    notifications: tuple[Notification, ...]
    expired: tuple[int, ...]
    violations: tuple[str, ...]

    @property
    def batches(self) -> int:
        """How many batch messages carried at least one send."""
        return len({(n.event_id, n.requested, n.batch) for n in self.notifications})


class _Batches:
    """The canister's per-pass batch counter (a ``Nat8`` that wraps)."""

    def __init__(self) -> None:
        self.count = 0
        self.batch = 0

    def offered(self) -> None:
        self.count = (self.count + 1) % 256
        if self.count % BROADCAST_BATCH_SIZE == 0:
            self.batch += 1


def next_cycle_time(state: HubState) -> float | None:
    """When the next cycle with work runs, or None while nothing is stored or requested."""
    return next_work_time(state.next_broadcast_time, state.last_cycle,
                          state.due.earliest(state.events), bool(state.requested))


def check_cycle_time(state: HubState, now: float) -> None:
    """Raise ``ValueError`` unless a heartbeat at ``now`` would start a cycle."""
    if now < state.next_broadcast_time - TIME_EPSILON:
        raise ValueError(f"no broadcast cycle is due at {now}s: the next one may start at "
                         f"{first_cycle_time(state.next_broadcast_time, state.last_cycle)}s")
    if state.last_cycle is not None and now <= state.last_cycle + TIME_EPSILON:
        raise ValueError(f"a broadcast cycle already ran at {state.last_cycle}s; one heartbeat "
                         f"runs at most one cycle")


def run_cycle(state: HubState, now: float) -> CycleReport:
    """Run one cycle at virtual time ``now``; the caller delivers ``report.notifications``."""
    check_cycle_time(state, now)
    sends: list[Notification] = []
    expired: list[int] = []
    for event_id in state.due.pop_due(now, state.events):
        event = state.events[event_id]
        if event.attempts >= RESEND_ATTEMPTS_LIMIT:
            expired.append(event_id)
            state.remove_event(event)
        else:
            _broadcast_event(state, event, now, sends)
    for event_id in sorted(state.requested):
        _answer_requests(state, state.events[event_id], now, sends)
    state.requested.clear()
    state.last_cycle = now
    state.next_broadcast_time = now + BROADCAST_DELAY
    totals = state.totals
    totals.cycles += 1
    totals.notifications += len(sends)
    totals.notifications_requested += sum(1 for n in sends if n.requested)
    totals.deleted_expired += len(expired)
    return CycleReport(now, tuple(sends), tuple(expired), tuple(stats_violations(state)))


def _broadcast_event(state: HubState, event: Event, now: float,
                     sends: list[Notification]) -> None:
    batches = _Batches()
    name = event.event_name
    publication = state.publications.get((event.publisher_id, name))
    for subscriber_id, count in list(event.subscribers.items()):
        if count > event.attempts:
            continue
        subscription = state.subscriptions.get((subscriber_id, name))
        subscriber = state.subscribers.get(subscriber_id)
        listener = None
        if (subscription is not None and subscriber is not None and subscription.active
                and not subscription.stopped):
            listener = subscriber.next_listener()
        if listener is None:
            if subscription is not None and count == 0:
                subscription.withheld_first += 1
        else:
            assert subscription is not None
            drop_request(state, event, subscriber_id)
            _send(state, event, subscription, publication, listener, now, count, False,
                  batches.batch, sends)
        # The count rises even when nothing was sent: a stopped subscriber loses that try.
        event.subscribers[subscriber_id] = count + 1
        batches.offered()
    event.attempts += 1
    state.set_next_time(event, now + RESEND_DELAY * 2 ** (event.attempts - 1))


def _answer_requests(state: HubState, event: Event, now: float,
                     sends: list[Notification]) -> None:
    batches = _Batches()
    publication = state.publications.get((event.publisher_id, event.event_name))
    for subscriber_id in list(event.requests):
        del event.requests[subscriber_id]
        subscription = state.subscriptions.get((subscriber_id, event.event_name))
        subscriber = state.subscribers.get(subscriber_id)
        if subscription is not None and subscriber is not None:
            listener = subscriber.next_listener()
            if listener is not None:
                _send(state, event, subscription, publication, listener, now,
                      event.subscribers[subscriber_id], True, batches.batch, sends)
        batches.offered()


def _send(state: HubState, event: Event, subscription: Subscription,
          publication: Publication | None, listener: str, now: float, attempt: int,
          requested: bool, batch: int, sends: list[Notification]) -> None:
    subscriber_id = subscription.subscriber_id
    sends.append(Notification(
        event_id=event.event_id, publisher_id=event.publisher_id, event_name=event.event_name,
        payload=event.payload, subscriber_id=subscriber_id, listener_id=listener, sent_at=now,
        attempt=attempt, requested=requested, batch=batch))
    resend = attempt > 0
    subscription.stats.count_send(requested=requested, resend=resend)
    state.touched[(subscriber_id, event.event_name)] = None
    if publication is not None:
        publication.stats.count_send(requested=requested, resend=resend)


def stats_violations(state: HubState) -> list[str]:
    """Subscriptions breaking ``notifications - resend - requested == events``.

    Checked, as the spec says, for active, not stopped subscriptions with a confirmed
    listener; also skipped are subscriptions that had a first send withheld while they were
    not in that state (that event is later sent as a resend, so the identity falls short by
    design, not by a bug). Only subscriptions whose counters moved since the last check are
    looked at: the identity can change only when they do.
    """
    found = []
    touched, state.touched = state.touched, {}
    for subscriber_id, name in touched:
        sub = state.subscriptions.get((subscriber_id, name))
        subscriber = state.subscribers.get(subscriber_id)
        if (sub is None or not sub.active or sub.stopped or subscriber is None
                or not subscriber.confirmed_listeners or sub.withheld_first):
            continue
        s = sub.stats
        if s.notifications - s.resend_notifications - s.requested_notifications != s.events:
            found.append(f"subscription {subscriber_id}/{name}: notifications {s.notifications}"
                         f" - resend {s.resend_notifications} - requested "
                         f"{s.requested_notifications} != events {s.events}")
    return found
