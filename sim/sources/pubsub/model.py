"""The hub's records: publishers, publications, subscribers, subscriptions, stored events.

Sets are kept as insertion-ordered dicts (``dict[key, None]``) so every walk over them is in
a fixed order whatever the hash seed; that order is also the round-robin order of listeners.
"""

from __future__ import annotations

from typing import Any, Protocol

import attrs

from sim.sources.pubsub.candy import Candy
from sim.sources.pubsub.filter import Filter
from sim.sources.pubsub.schedule import DueIndex
from sim.sources.pubsub.stats import Counters, HubTotals

JsonValue = Any
"""A payload in its Python form (see ``candy.py``): JSON-like values, and candy objects for
the typed ones (``Nat8(5)``, ``Principal("p")``)."""


class SubscriberActor(Protocol):
    """What the hub pushes to: a listener's non-blocking, one-way event handler."""

    def handle_event(self, event_id: int, publisher_id: str, event_name: str,
                     payload: JsonValue) -> None: ...


@attrs.frozen
class Notification:
    """One ``handle_event`` call the hub sends to ``listener_id`` on behalf of a subscriber.

    ``batch`` is the index of the batch (one message of up to ``BROADCAST_BATCH_SIZE``
    subscribers offered) it went out in, counted within its event's pass of the cycle;
    ``requested`` says it answers ``request_missed_events``.
    """

    event_id: int
    publisher_id: str
    event_name: str
    payload: JsonValue
    subscriber_id: str
    listener_id: str
    sent_at: float
    attempt: int
    requested: bool
    batch: int


@attrs.define(eq=False)
class Publisher:
    publisher_id: str
    created_at: float
    publications: dict[str, None] = attrs.Factory(dict)
    active_publications: int = 0


@attrs.define(eq=False)
class Publication:
    publisher_id: str
    event_name: str
    active: bool = False
    whitelist: dict[str, None] = attrs.Factory(dict)
    stats: Counters = attrs.Factory(Counters)


@attrs.define(eq=False)
class Subscriber:
    """A subscriber and the listeners that receive its events.

    ``confirmed_listeners`` is in round-robin order: each send goes to the first, which then
    moves to the back.
    """

    subscriber_id: str
    created_at: float
    listeners: dict[str, None] = attrs.Factory(dict)
    confirmed_listeners: dict[str, None] = attrs.Factory(dict)
    subscriptions: dict[str, None] = attrs.Factory(dict)
    active_subscriptions: int = 0

    def next_listener(self) -> str | None:
        """The listener for the next send (moved to the back), or None if none is confirmed."""
        if not self.confirmed_listeners:
            return None
        listener = next(iter(self.confirmed_listeners))
        del self.confirmed_listeners[listener]
        self.confirmed_listeners[listener] = None
        return listener


@attrs.define(eq=False)
class Subscription:
    """One subscriber's subscription to one event name.

    ``withheld_first`` counts events whose first send to this subscription was withheld
    (stopped, inactive or no confirmed listener): those make the stats identity
    ``notifications - resend - requested == events`` fall short, so the check skips them.
    """

    subscriber_id: str
    event_name: str
    active: bool = False
    stopped: bool = False
    skip: int = 0
    skipped: int = 0
    filter: Filter | None = None
    events: dict[int, None] = attrs.Factory(dict)
    stats: Counters = attrs.Factory(Counters)
    withheld_first: int = 0


@attrs.define(eq=False)
class Event:
    """A stored event: pending subscribers with their own attempt counts, and requests.

    ``candy`` is the payload as stored and filtered; ``payload`` its Python form, as pushed.
    ``next_time`` is when the next normal broadcast is due; ``requests`` are subscribers that
    asked for it through ``request_missed_events`` since their last send.
    """

    event_id: int
    publisher_id: str
    event_name: str
    payload: JsonValue
    candy: Candy
    created_at: float
    next_time: float
    subscribers: dict[str, int]
    attempts: int = 0
    requests: dict[str, None] = attrs.Factory(dict)


@attrs.define(eq=False)
class HubState:
    """Everything the hub stores; the ``Hub`` methods and the broadcast cycle change it."""

    publishers: dict[str, Publisher] = attrs.Factory(dict)
    publications: dict[tuple[str, str], Publication] = attrs.Factory(dict)
    subscribers: dict[str, Subscriber] = attrs.Factory(dict)
    subscriptions: dict[tuple[str, str], Subscription] = attrs.Factory(dict)
    subscribers_by_name: dict[str, dict[str, None]] = attrs.Factory(dict)
    """Event name -> ids of subscribers with a subscription to it, in creation order."""
    listener_owner: dict[str, str] = attrs.Factory(dict)
    """Listener -> the subscriber it confirmed with ``confirm_listener`` (one at a time).

    The canister's ``confirmedListeners`` map. A subscriber is never in it as its own
    listener: that confirmation is kept only in the subscriber's own set."""
    events: dict[int, Event] = attrs.Factory(dict)
    next_event_id: int = 1
    next_broadcast_time: float = 0.0
    """The canister's ``nextBroadcastTime``: a heartbeat at or after it runs a cycle."""
    last_cycle: float | None = None
    """When the last cycle ran (cycles with nothing due are skipped; see ``schedule.py``)."""
    due: DueIndex = attrs.Factory(DueIndex)
    requested: dict[int, None] = attrs.Factory(dict)
    """Ids of events with an unanswered ``request_missed_events``."""
    touched: dict[tuple[str, str], None] = attrs.Factory(dict)
    """Subscriptions whose counters moved since the last stats identity check."""
    admins: dict[str, None] = attrs.Factory(dict)
    """Admins added with ``add_admin`` (the deployer is an admin without being listed)."""
    totals: HubTotals = attrs.Factory(HubTotals)

    def set_next_time(self, event: Event, time: float) -> None:
        """Set when ``event``'s next normal broadcast is due (keeping the due index)."""
        event.next_time = time
        self.due.push(event)

    def remove_event(self, event: Event) -> None:
        """Forget ``event`` and drop it from its pending subscribers' event lists."""
        del self.events[event.event_id]
        self.requested.pop(event.event_id, None)
        for subscriber_id in event.subscribers:
            subscription = self.subscriptions.get((subscriber_id, event.event_name))
            if subscription is not None:
                subscription.events.pop(event.event_id, None)
