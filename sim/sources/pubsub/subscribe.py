"""Subscriptions, missed events and confirmations: the rules of the hub's ``subscribe.mo``.

(Subscribers and their listeners are in ``listeners.py``.) Each function checks everything
before it changes anything, so a call that raises leaves the hub as it was.
"""

from __future__ import annotations

import math
from typing import Any

from sim.sources.pubsub.constants import (
    ACTIVE_SUBSCRIPTIONS_LIMIT,
    SKIP_MAX,
    SUBSCRIPTIONS_LIMIT,
)
from sim.sources.pubsub.errors import PubSubError, PubSubLimitError
from sim.sources.pubsub.filter import Filter, parse_filter
from sim.sources.pubsub.listeners import register_subscriber
from sim.sources.pubsub.model import Event, HubState, Subscription


class _Unchanged:
    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED: Any = _Unchanged()
"""Default of ``subscribe(filter=...)``: keep the current filter (None clears it)."""


def subscribe(state: HubState, caller: str, event_name: str, now: float,
              stopped: bool | None, skip: int | None, filter: Any) -> Subscription:
    """Create or reactivate ``caller``'s subscription and set the options given."""
    if skip is not None:
        if isinstance(skip, bool) or not isinstance(skip, int) or skip < 0:
            raise PubSubError(f"skip must be an integer >= 0, got {skip!r}")
        if skip > SKIP_MAX:
            raise PubSubError(f"skip must be at most {SKIP_MAX} (it is a Nat8), got {skip}")
    if stopped is not None and not isinstance(stopped, bool):
        raise PubSubError(f"stopped must be true or false, got {stopped!r}")
    parsed: Filter | None | _Unchanged = UNCHANGED
    if filter is not UNCHANGED:
        parsed = None if filter is None else parse_filter(filter)
    subscriber = state.subscribers.get(caller)
    subscription = state.subscriptions.get((caller, event_name))
    if subscription is None and subscriber is not None \
            and len(subscriber.subscriptions) >= SUBSCRIPTIONS_LIMIT:
        raise PubSubLimitError(f"Subscriptions limit reached: subscriber {caller} has "
                               f"{len(subscriber.subscriptions)}, at most {SUBSCRIPTIONS_LIMIT}")
    if (subscription is None or not subscription.active) and subscriber is not None \
            and subscriber.active_subscriptions >= ACTIVE_SUBSCRIPTIONS_LIMIT:
        raise PubSubLimitError(f"Active subscriptions limit reached: subscriber {caller} "
                               f"has {subscriber.active_subscriptions}, at most "
                               f"{ACTIVE_SUBSCRIPTIONS_LIMIT}")
    # Every check passed: now change state.
    subscriber = register_subscriber(state, caller, now, None, None, None)
    if subscription is None:
        subscription = Subscription(caller, event_name)
        state.subscriptions[(caller, event_name)] = subscription
        subscriber.subscriptions[event_name] = None
        state.subscribers_by_name.setdefault(event_name, {})[caller] = None
    if not subscription.active:
        subscription.active = True
        subscriber.active_subscriptions += 1
    if stopped is not None:
        subscription.stopped = stopped
    if skip is not None:
        subscription.skip = skip  # the skipped counter is deliberately kept
    if not isinstance(parsed, _Unchanged):
        subscription.filter = parsed
    return subscription


def unsubscribe(state: HubState, caller: str, event_name: str, purge: bool) -> list[int]:
    """Deactivate; ``purge`` also deletes the subscription, its stats and its pending sends.

    Returns the ids of events deleted because no subscriber was left.
    """
    subscriber = state.subscribers.get(caller)
    subscription = state.subscriptions.get((caller, event_name))
    if subscriber is None or subscription is None:
        return []
    if subscription.active:
        subscription.active = False
        subscriber.active_subscriptions -= 1
    if not purge:
        return []
    del state.subscriptions[(caller, event_name)]
    del subscriber.subscriptions[event_name]
    group = state.subscribers_by_name[event_name]
    del group[caller]
    if not group:
        del state.subscribers_by_name[event_name]
    deleted = []
    for event_id in subscription.events:
        event = state.events.get(event_id)
        if event is None:
            continue
        event.subscribers.pop(caller, None)
        drop_request(state, event, caller)
        if not event.subscribers:
            state.remove_event(event)
            state.totals.deleted_purged += 1
            deleted.append(event_id)
    return deleted


def check_time(value: object, what: str) -> None:
    """A time argument is a number of seconds >= 0 (the original's ``Nat64``)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise PubSubError(f"{what} must be a time in seconds, got {value!r}")
    if value < 0:
        raise PubSubError(f"{what} must be >= 0 (it is a Nat64 time), got {value!r}")


def request_missed_events(state: HubState, caller: str, event_name: str, from_: float,
                          to: float, now: float) -> int:
    """Ask for ``caller``'s pending events created in [from_, to] to be sent next cycle.

    Works on a subscription in any state; ``from_ > to`` finds nothing (a quiet no-op). When
    something is found the next heartbeat runs a cycle. Returns how many events were found.
    """
    check_time(from_, "from_")
    check_time(to, "to")
    subscription = state.subscriptions.get((caller, event_name))
    if subscription is None:
        return 0
    count = 0
    for event_id in subscription.events:
        event = state.events[event_id]
        if from_ <= event.created_at <= to:
            event.requests[caller] = None
            state.requested[event_id] = None
            count += 1
    if count:
        state.next_broadcast_time = now
    return count


def confirm_event_processed(state: HubState, caller: str, event_id: object) -> Event | None:
    """``caller`` confirms a pending event; the event, or None (and no change) if not pending."""
    event = state.events.get(event_id) if isinstance(event_id, int) else None
    if event is None or caller not in event.subscribers:
        return None
    del event.subscribers[caller]
    drop_request(state, event, caller)
    subscription = state.subscriptions.get((caller, event.event_name))
    if subscription is not None:
        subscription.events.pop(event.event_id, None)
        subscription.stats.confirmations += 1
    publication = state.publications.get((event.publisher_id, event.event_name))
    if publication is not None:
        publication.stats.confirmations += 1
    state.totals.confirmations += 1
    if not event.subscribers:
        del state.events[event.event_id]
        state.requested.pop(event.event_id, None)
        state.totals.deleted_confirmed += 1
    return event


def drop_request(state: HubState, event: Event, subscriber_id: str) -> None:
    """Forget ``subscriber_id``'s unanswered request for ``event``, if any."""
    if subscriber_id in event.requests:
        del event.requests[subscriber_id]
        if not event.requests:
            state.requested.pop(event.event_id, None)
