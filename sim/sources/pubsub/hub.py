"""The hub: publications, subscriptions, listeners, confirmations and stats.

Every call names its caller (the principal) first, as on the Internet Computer. A call that
breaks a rule or a limit raises ``PubSubError`` (``PubSubLimitError`` for limits) before it
changes anything, as the original's traps roll back. Time is read from ``clock`` (by default
``trio.current_time``, the world's virtual seconds). Delivery is one-way: the hub hands each
notification to ``deliver`` and never waits for a handler.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final

import trio

from sim.sources.pubsub import broadcast
from sim.sources.pubsub import listeners as listener_rules
from sim.sources.pubsub.constants import (
    ACTIVE_PUBLICATIONS_LIMIT,
    ACTIVE_SUBSCRIPTIONS_LIMIT,
    PUBLICATIONS_LIMIT,
    SUBSCRIPTIONS_LIMIT,
    TIME_MAX,
    WHITELIST_LIMIT,
)
from sim.sources.pubsub.errors import PubSubError, PubSubLimitError
from sim.sources.pubsub.filter import Filter, parse_filter
from sim.sources.pubsub.model import (
    Event,
    HubState,
    JsonValue,
    Notification,
    Publication,
    Publisher,
    Subscriber,
    SubscriberActor,
    Subscription,
)
from sim.sources.pubsub.stats import Stats, sum_stats
from sim.sources.pubsub.validate import check_name, check_principal, json_copy


class _Unchanged:
    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED: Final[Any] = _Unchanged()
"""Default of ``subscribe(filter=...)``: keep the current filter (None clears it)."""

Deliver = Callable[[str, Notification], None]
Trace = Callable[..., None]


class Hub:
    """The single-hub events system (see /work/shared/spec/pubsub.md)."""

    def __init__(self, *, clock: Callable[[], float] = trio.current_time,
                 deliver: Deliver | None = None, trace: Trace | None = None) -> None:
        self.state = HubState()
        """All stored records; read them, change them only through the methods."""
        self._clock = clock
        self._deliver = deliver if deliver is not None else self._deliver_to_actor
        self._trace = trace
        self._actors: dict[str, SubscriberActor] = {}
        self._wake = trio.Event()
        self.violations: list[str] = []
        """Stats identity violations seen after cycles (at most 100 kept)."""

    # -- publications -------------------------------------------------------------------------

    def register_publication(self, caller: str, event_name: str, *,
                             whitelist: Sequence[str] | None = None,
                             whitelist_add: Sequence[str] | None = None,
                             whitelist_remove: Sequence[str] | None = None) -> None:
        """Publisher ``caller`` creates or reactivates a publication and edits its whitelist."""
        check_principal(caller, "caller")
        check_name(event_name)
        for values, option in ((whitelist, "whitelist"), (whitelist_add, "whitelist_add"),
                               (whitelist_remove, "whitelist_remove")):
            listener_rules.check_principals(values, option, WHITELIST_LIMIT)
        st = self.state
        publisher = st.publishers.get(caller)
        publication = st.publications.get((caller, event_name))
        if publication is None:
            count = len(publisher.publications) if publisher else 0
            if count >= PUBLICATIONS_LIMIT:
                raise PubSubLimitError(f"Publications limit reached: publisher {caller} has "
                                       f"{count}, at most {PUBLICATIONS_LIMIT}")
        if publication is None or not publication.active:
            active = publisher.active_publications if publisher else 0
            if active >= ACTIVE_PUBLICATIONS_LIMIT:
                raise PubSubLimitError(f"Active publications limit reached: publisher {caller} "
                                       f"has {active}, at most {ACTIVE_PUBLICATIONS_LIMIT}")
        new_list = dict.fromkeys(whitelist) if whitelist is not None else (
            dict(publication.whitelist) if publication else {})
        new_list.update(dict.fromkeys(whitelist_add or ()))
        for principal in whitelist_remove or ():
            new_list.pop(principal, None)
        if len(new_list) > WHITELIST_LIMIT:
            raise PubSubLimitError(f"Whitelist length limit reached: {len(new_list)} names, "
                                   f"at most {WHITELIST_LIMIT}")
        # Every check passed: now change state.
        if publisher is None:
            publisher = st.publishers[caller] = Publisher(caller, self._clock())
        if publication is None:
            publication = st.publications[(caller, event_name)] = Publication(caller, event_name)
            publisher.publications[event_name] = None
        if not publication.active:
            publication.active = True
            publisher.active_publications += 1
        publication.whitelist = new_list

    def remove_publication(self, caller: str, event_name: str, *, purge: bool = False) -> None:
        """Publisher ``caller`` deactivates a publication; ``purge`` deletes it and its stats."""
        check_name(event_name)
        publisher = self.state.publishers.get(caller)
        publication = self.state.publications.get((caller, event_name))
        if publisher is None or publication is None:
            return
        if publication.active:
            publication.active = False
            publisher.active_publications -= 1
        if purge:
            del self.state.publications[(caller, event_name)]
            del publisher.publications[event_name]

    def publish(self, caller: str, event_name: str, payload: JsonValue) -> int | None:
        """Publisher ``caller`` publishes; returns the stored event's id, or None if none."""
        check_name(event_name)
        payload = json_copy(payload)
        self.register_publication(caller, event_name)
        st = self.state
        st.totals.publishes += 1
        names = st.subscribers_by_name.get(event_name)
        if not names:
            self._emit("pubsub.publish", publisher=caller, name=event_name, event_id=None,
                       subscribers=0)
            return None
        publication = st.publications[(caller, event_name)]
        publication.stats.events += 1
        targeted: dict[str, int] = {}
        for subscriber_id in names:
            if publication.whitelist and subscriber_id not in publication.whitelist:
                continue
            subscription = st.subscriptions[(subscriber_id, event_name)]
            if not subscription.active:
                continue  # stopped is checked at send time, not here
            if subscription.filter is not None and not subscription.filter.passes(payload):
                continue
            if subscription.skipped >= subscription.skip:
                subscription.skipped = 0
                targeted[subscriber_id] = 0
            else:
                subscription.skipped += 1
        if not targeted:
            self._emit("pubsub.publish", publisher=caller, name=event_name, event_id=None,
                       subscribers=0)
            return None
        now = self._clock()
        event = Event(st.next_event_id, caller, event_name, payload, created_at=now,
                      next_time=now, subscribers=targeted)
        st.next_event_id += 1
        st.events[event.event_id] = event
        st.totals.events_stored += 1
        for subscriber_id in targeted:
            subscription = st.subscriptions[(subscriber_id, event_name)]
            subscription.events[event.event_id] = None
            subscription.stats.events += 1
        self._emit("pubsub.publish", publisher=caller, name=event_name,
                   event_id=event.event_id, subscribers=len(targeted))
        self._wake.set()
        return event.event_id

    # -- subscribers and subscriptions -------------------------------------------------------

    def register_subscriber(self, caller: str, *, listeners: Sequence[str] | None = None,
                            listeners_add: Sequence[str] | None = None,
                            listeners_remove: Sequence[str] | None = None) -> None:
        """Subscriber ``caller`` registers (listing itself) and edits its listener list."""
        check_principal(caller, "caller")
        st = self.state
        subscriber = st.subscribers.get(caller)
        # Validate against what the subscriber has, or would have when new, before creating.
        base = subscriber or Subscriber(caller, 0.0, listeners={caller: None})
        new_list = listener_rules.updated_listeners(base, listeners, listeners_add, listeners_remove)
        if subscriber is None:
            subscriber = self._new_subscriber(caller)
        listener_rules.set_listeners(st, subscriber, new_list)

    def confirm_listener(self, caller: str, subscriber_id: str, allow: bool = True) -> None:
        """Listener ``caller`` agrees (or stops agreeing) to receive ``subscriber_id``'s events."""
        check_principal(caller, "caller")
        check_principal(subscriber_id, "subscriber_id")
        listener_rules.confirm_listener(self.state, caller, subscriber_id, allow)

    def subscribe(self, caller: str, event_name: str, *, stopped: bool | None = None,
                  skip: int | None = None, filter: str | None = UNCHANGED) -> None:
        """Subscriber ``caller`` creates or reactivates a subscription and sets its options.

        ``stopped`` and ``skip`` default to unchanged (False and 0 for a new subscription);
        ``filter`` is unchanged unless given, and ``None`` clears it.
        """
        check_principal(caller, "caller")
        check_name(event_name)
        if skip is not None and (isinstance(skip, bool) or not isinstance(skip, int) or skip < 0):
            raise PubSubError(f"skip must be an integer >= 0, got {skip!r}")
        if stopped is not None and not isinstance(stopped, bool):
            raise PubSubError(f"stopped must be true or false, got {stopped!r}")
        parsed: Filter | None | _Unchanged = UNCHANGED
        if filter is not UNCHANGED:
            parsed = None if filter is None else parse_filter(filter)
        st = self.state
        subscriber = st.subscribers.get(caller)
        subscription = st.subscriptions.get((caller, event_name))
        if subscription is None and subscriber is not None \
                and len(subscriber.subscriptions) >= SUBSCRIPTIONS_LIMIT:
            raise PubSubLimitError(f"Subscriptions limit reached: subscriber {caller} has "
                                   f"{len(subscriber.subscriptions)}, at most "
                                   f"{SUBSCRIPTIONS_LIMIT}")
        if (subscription is None or not subscription.active) and subscriber is not None \
                and subscriber.active_subscriptions >= ACTIVE_SUBSCRIPTIONS_LIMIT:
            raise PubSubLimitError(f"Active subscriptions limit reached: subscriber {caller} "
                                   f"has {subscriber.active_subscriptions}, at most "
                                   f"{ACTIVE_SUBSCRIPTIONS_LIMIT}")
        if subscriber is None:
            subscriber = self._new_subscriber(caller)
        if subscription is None:
            subscription = Subscription(caller, event_name)
            st.subscriptions[(caller, event_name)] = subscription
            subscriber.subscriptions[event_name] = None
            st.subscribers_by_name.setdefault(event_name, {})[caller] = None
        if not subscription.active:
            subscription.active = True
            subscriber.active_subscriptions += 1
        if stopped is not None:
            subscription.stopped = stopped
        if skip is not None:
            subscription.skip = skip  # the skipped counter is deliberately kept
        if not isinstance(parsed, _Unchanged):
            subscription.filter = parsed

    def unsubscribe(self, caller: str, event_name: str, *, purge: bool = False) -> None:
        """Deactivate; ``purge`` also deletes the subscription, its stats and pending sends."""
        check_name(event_name)
        st = self.state
        subscriber = st.subscribers.get(caller)
        subscription = st.subscriptions.get((caller, event_name))
        if subscriber is None or subscription is None:
            return
        if subscription.active:
            subscription.active = False
            subscriber.active_subscriptions -= 1
        if not purge:
            return
        del st.subscriptions[(caller, event_name)]
        del subscriber.subscriptions[event_name]
        del st.subscribers_by_name[event_name][caller]
        for event_id in list(subscription.events):
            event = st.events.get(event_id)
            if event is None:
                continue
            event.subscribers.pop(caller, None)
            event.requests.pop(caller, None)
            if not event.subscribers:
                st.remove_event(event)
                st.totals.deleted_purged += 1
                self._emit("pubsub.delete", event_id=event_id, reason="purged")

    def request_missed_events(self, caller: str, event_name: str, *, from_: float = 0.0,
                              to: float = TIME_MAX) -> int:
        """Ask for ``caller``'s pending events created in [from_, to] to be sent next cycle.

        Returns how many events were requested.
        """
        check_name(event_name)
        for value, what in ((from_, "from_"), (to, "to")):
            if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
                raise PubSubError(f"{what} must be a time in seconds, got {value!r}")
        if from_ > to:
            raise PubSubError(f"from_ ({from_}) must not be after to ({to})")
        subscription = self.state.subscriptions.get((caller, event_name))
        if subscription is None:
            return 0
        count = 0
        for event_id in subscription.events:
            event = self.state.events[event_id]
            if from_ <= event.created_at <= to:
                event.requests[caller] = None
                count += 1
        if count:
            now = self._clock()
            due = self.state.request_due
            self.state.request_due = now if due is None else min(due, now)
            self._wake.set()
        return count

    def confirm_event_processed(self, caller: str, event_id: int) -> bool:
        """Subscriber ``caller`` confirms an event; False (and no change) if not pending."""
        st = self.state
        event = st.events.get(event_id) if isinstance(event_id, int) else None
        if event is None or caller not in event.subscribers:
            return False
        del event.subscribers[caller]
        event.requests.pop(caller, None)
        subscription = st.subscriptions.get((caller, event.event_name))
        if subscription is not None:
            subscription.events.pop(event_id, None)
            subscription.stats.confirmations += 1
        publication = st.publications.get((event.publisher_id, event.event_name))
        if publication is not None:
            publication.stats.confirmations += 1
        st.totals.confirmations += 1
        self._emit("pubsub.confirm", event_id=event_id, subscriber=caller)
        if not event.subscribers:
            del st.events[event_id]
            st.totals.deleted_confirmed += 1
            self._emit("pubsub.delete", event_id=event_id, reason="confirmed")
        return True

    # -- stats ---------------------------------------------------------------------------------

    def get_publication_stats(self, caller: str, *, active: bool | None = None,
                              event_names: Iterable[str] | None = None) -> Stats:
        """The sum of ``caller``'s publication stats, optionally by state and names."""
        publisher = self.state.publishers.get(caller)
        if publisher is None:
            return Stats()
        records = [self.state.publications[(caller, n)] for n in publisher.publications]
        return sum_stats(((p.active, p.event_name, p.stats) for p in records), active, event_names)

    def get_subscription_stats(self, caller: str, *, active: bool | None = None,
                               event_names: Iterable[str] | None = None) -> Stats:
        """The sum of ``caller``'s subscription stats, optionally by state and names."""
        subscriber = self.state.subscribers.get(caller)
        if subscriber is None:
            return Stats()
        records = [self.state.subscriptions[(caller, n)] for n in subscriber.subscriptions]
        return sum_stats(((s.active, s.event_name, s.stats) for s in records), active, event_names)

    def check_stats(self) -> list[str]:
        """Stats identity violations recorded after cycles (empty when all held)."""
        return list(self.violations)

    # -- delivery and the cycle -----------------------------------------------------------------

    def attach(self, principal: str, actor: SubscriberActor) -> None:
        """Make ``actor`` the receiver of notifications addressed to ``principal``."""
        self._actors[principal] = actor

    def detach(self, principal: str, actor: SubscriberActor | None = None) -> None:
        """Stop delivering to ``principal`` (only if ``actor`` is still the attached one)."""
        if actor is None or self._actors.get(principal) is actor:
            self._actors.pop(principal, None)

    def actor(self, principal: str) -> SubscriberActor | None:
        return self._actors.get(principal)

    def next_cycle_time(self) -> float | None:
        return broadcast.next_cycle_time(self.state)

    def run_cycle(self, now: float) -> broadcast.CycleReport:
        """Run one broadcast cycle at ``now`` and hand its notifications to ``deliver``."""
        report = broadcast.run_cycle(self.state, now)
        for event_id in report.expired:
            self._emit("pubsub.delete", event_id=event_id, reason="expired")
        for n in report.notifications:
            self._emit("pubsub.send", event_id=n.event_id, subscriber=n.subscriber_id,
                       listener=n.listener_id, attempt=n.attempt, requested=n.requested)
        if report.violations and len(self.violations) < 100:
            self.violations.extend(report.violations[:100 - len(self.violations)])
        for notification in report.notifications:
            self._deliver(notification.listener_id, notification)
        return report

    async def run(self) -> None:
        """The cycle task: sleeps until the next cycle is due, runs it, and repeats."""
        while True:
            self._wake = trio.Event()
            due = self.next_cycle_time()
            now = self._clock()
            if due is not None and due <= now + broadcast.TIME_EPSILON:
                self.run_cycle(now)
                await trio.lowlevel.checkpoint()
                continue
            # Woken early by publish or request_missed_events: recompute the due time.
            with trio.move_on_at(math.inf if due is None else due):
                await self._wake.wait()

    # -- helpers ----------------------------------------------------------------------------

    def _new_subscriber(self, subscriber_id: str) -> Subscriber:
        return listener_rules.new_subscriber(self.state, subscriber_id, self._clock())

    def _deliver_to_actor(self, listener: str, n: Notification) -> None:
        actor = self._actors.get(listener)
        if actor is not None:  # one-way: an offline listener simply misses it
            actor.handle_event(n.event_id, n.publisher_id, n.event_name, n.payload)

    def _emit(self, event: str, **fields: object) -> None:
        if self._trace is not None:
            self._trace(event, **fields)
