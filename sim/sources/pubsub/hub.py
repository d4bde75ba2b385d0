"""The hub: the events canister's public methods, its heartbeat, and delivery.

Every call names its caller (the principal) first, as on the Internet Computer. A call that
breaks a rule or a limit raises ``PubSubError`` (``PubSubLimitError`` for limits) before it
changes anything, as the original's traps roll back. Time is read from ``clock`` (by default
``trio.current_time``, the world's virtual seconds). Delivery is one-way: the hub hands each
notification to ``deliver`` and never waits for a handler.

The rules live in modules named after the canister's: ``publish.py``, ``subscribe.py`` and
``listeners.py``, ``broadcast.py`` (a cycle) and ``schedule.py`` (when cycles run),
``stats.py``, ``admin.py``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

import trio

from sim.engine.sleep import wait_until
from sim.sources.pubsub import admin, broadcast, publish, subscribe
from sim.sources.pubsub import listeners as listener_rules
from sim.sources.pubsub.constants import TIME_MAX
from sim.sources.pubsub.model import HubState, JsonValue, Notification, SubscriberActor
from sim.sources.pubsub.payload import fresh_copy
from sim.sources.pubsub.schedule import TIME_EPSILON
from sim.sources.pubsub.stats import Stats
from sim.sources.pubsub.stats_calls import publication_stats, subscription_stats
from sim.sources.pubsub.subscribe import UNCHANGED as UNCHANGED
from sim.sources.pubsub.validate import check_name, check_principal

Deliver = Callable[[str, Notification], None]
Trace = Callable[..., None]

VIOLATIONS_KEPT = 100


class Hub:
    """The single-hub events system (see /work/shared/spec/pubsub.md).

    ``deployer`` is the principal that deployed the canister: always an admin.
    """

    def __init__(self, *, clock: Callable[[], float] = trio.current_time,
                 deliver: Deliver | None = None, trace: Trace | None = None,
                 deployer: str = "deployer") -> None:
        check_principal(deployer, "deployer")
        self.state = HubState()
        """All stored records; read them, change them only through the methods."""
        self.deployer = deployer
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
        publish.register_publication(self.state, caller, event_name, self._clock(), whitelist,
                                     whitelist_add, whitelist_remove)

    def remove_publication(self, caller: str, event_name: str, *, purge: bool = False) -> None:
        """Publisher ``caller`` deactivates a publication; ``purge`` deletes it and its stats."""
        check_name(event_name)
        publish.remove_publication(self.state, caller, event_name, purge)

    def publish(self, caller: str, event_name: str, payload: JsonValue) -> int | None:
        """Publisher ``caller`` publishes ``payload`` (a candy value or its Python form).

        Returns the stored event's id, or None when no subscriber was targeted.
        """
        check_principal(caller, "caller")
        check_name(event_name)
        event = publish.publish(self.state, caller, event_name, payload, self._clock())
        self.state.totals.publishes += 1
        self._emit("pubsub.publish", publisher=caller, name=event_name,
                   event_id=None if event is None else event.event_id,
                   subscribers=0 if event is None else len(event.subscribers))
        if event is None:
            return None
        self._wake.set()
        return event.event_id

    # -- subscribers and subscriptions -------------------------------------------------------

    def register_subscriber(self, caller: str, *, listeners: Sequence[str] | None = None,
                            listeners_add: Sequence[str] | None = None,
                            listeners_remove: Sequence[str] | None = None) -> None:
        """Subscriber ``caller`` registers (its own listener) and edits its listener list."""
        check_principal(caller, "caller")
        listener_rules.register_subscriber(self.state, caller, self._clock(), listeners,
                                           listeners_add, listeners_remove)

    def confirm_listener(self, caller: str, subscriber_id: str, allow: bool = True) -> None:
        """Listener ``caller`` agrees (or stops agreeing) to receive ``subscriber_id``'s events."""
        check_principal(caller, "caller")
        check_principal(subscriber_id, "subscriber_id")
        listener_rules.confirm_listener(self.state, caller, subscriber_id, allow)

    def subscribe(self, caller: str, event_name: str, *, stopped: bool | None = None,
                  skip: int | None = None, filter: str | None = UNCHANGED) -> None:
        """Subscriber ``caller`` creates or reactivates a subscription and sets its options.

        ``stopped`` and ``skip`` (0 to 255) default to unchanged (False and 0 for a new
        subscription); ``filter`` is unchanged unless given, and ``None`` clears it.
        """
        check_principal(caller, "caller")
        check_name(event_name)
        subscribe.subscribe(self.state, caller, event_name, self._clock(), stopped, skip, filter)

    def unsubscribe(self, caller: str, event_name: str, *, purge: bool = False) -> None:
        """Deactivate; ``purge`` also deletes the subscription, its stats and pending sends."""
        check_name(event_name)
        for event_id in subscribe.unsubscribe(self.state, caller, event_name, purge):
            self._emit("pubsub.delete", event_id=event_id, reason="purged")

    def request_missed_events(self, caller: str, event_name: str, *, from_: float = 0.0,
                              to: float = TIME_MAX) -> int:
        """Ask for ``caller``'s pending events created in [from_, to] to be sent next cycle.

        Returns how many events were requested (none when ``from_ > to``).
        """
        check_name(event_name)
        count = subscribe.request_missed_events(self.state, caller, event_name, from_, to,
                                                self._clock())
        if count:
            self._wake.set()
        return count

    def confirm_event_processed(self, caller: str, event_id: int) -> bool:
        """Subscriber ``caller`` confirms an event; False (and no change) if not pending."""
        event = subscribe.confirm_event_processed(self.state, caller, event_id)
        if event is None:
            return False
        self._emit("pubsub.confirm", event_id=event.event_id, subscriber=caller)
        if event.event_id not in self.state.events:
            self._emit("pubsub.delete", event_id=event.event_id, reason="confirmed")
        return True

    # -- stats ---------------------------------------------------------------------------------

    def get_publication_stats(self, caller: str, *, active: bool | None = None,
                              event_names: Iterable[str] | None = None) -> Stats:
        """The sum of ``caller``'s publication stats, by state and over ``event_names``.

        ``event_names`` is walked as given: a name listed twice counts twice.
        """
        return publication_stats(self.state, caller, active, event_names)

    def get_subscription_stats(self, caller: str, *, active: bool | None = None,
                               event_names: Iterable[str] | None = None) -> Stats:
        """The sum of ``caller``'s subscription stats, by state and over ``event_names``."""
        return subscription_stats(self.state, caller, active, event_names)

    def check_stats(self) -> list[str]:
        """Stats identity violations recorded after cycles (empty when all held)."""
        return list(self.violations)

    # -- admin ---------------------------------------------------------------------------------

    def fetch_subscribers(self, caller: str, limit: int | None = None,
                          offset: int | None = None, *,
                          subscriber_id: Sequence[str] | None = None,
                          subscriptions: Sequence[str] | None = None) -> admin.Page:
        """Admins only: a page of subscribers (``SubscriberInfo``), optionally filtered."""
        admin.check_admin(self.state, self.deployer, caller)
        return admin.fetch_subscribers(self.state, limit, offset, subscriber_id, subscriptions)

    def fetch_events(self, caller: str, limit: int | None = None, offset: int | None = None,
                     *, event_id: Sequence[int] | None = None,
                     event_name: Sequence[str] | None = None,
                     publisher_id: Sequence[str] | None = None) -> admin.Page:
        """Admins only: a page of stored events (``EventInfo``), optionally filtered."""
        admin.check_admin(self.state, self.deployer, caller)
        return admin.fetch_events(self.state, limit, offset, event_id, event_name, publisher_id)

    def get_admins(self, caller: str) -> list[str]:
        """Admins only: the admins added with ``add_admin`` (not the deployer)."""
        admin.check_admin(self.state, self.deployer, caller)
        return list(self.state.admins)

    def add_admin(self, caller: str, principal: str) -> None:
        """Admins only: make ``principal`` an admin."""
        admin.check_admin(self.state, self.deployer, caller)
        check_principal(principal, "principal")
        self.state.admins[principal] = None

    def remove_admin(self, caller: str, principal: str) -> None:
        """Admins only: ``principal`` is no longer an added admin (the deployer always is)."""
        admin.check_admin(self.state, self.deployer, caller)
        self.state.admins.pop(principal, None)

    def whoami(self, caller: str) -> str:
        """The caller's own principal, as the hub sees it."""
        check_principal(caller, "caller")
        return caller

    def get_time(self, caller: str | None = None) -> float:
        """The hub's clock, in the seconds its times (``created_at``, ``from_``) use.

        Anyone may ask; ``caller`` is accepted for symmetry with the other calls.
        """
        return float(self._clock())

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
        """The heartbeat of the next cycle that has work, or None while nothing is stored."""
        return broadcast.next_cycle_time(self.state)

    def run_cycle(self, now: float) -> broadcast.CycleReport:
        """Run one broadcast cycle at ``now`` and hand its notifications to ``deliver``.

        ``now`` must be a moment a heartbeat would start one (``ValueError`` otherwise).
        """
        report = broadcast.run_cycle(self.state, now)
        for event_id in report.expired:
            self._emit("pubsub.delete", event_id=event_id, reason="expired")
        if self._trace is not None:
            for n in report.notifications:
                self._emit("pubsub.send", event_id=n.event_id, subscriber=n.subscriber_id,
                           listener=n.listener_id, attempt=n.attempt, requested=n.requested)
        if report.violations and len(self.violations) < VIOLATIONS_KEPT:
            self.violations.extend(report.violations[:VIOLATIONS_KEPT - len(self.violations)])
        for notification in report.notifications:
            self._deliver(notification.listener_id, notification)
        return report

    def heartbeat(self, now: float) -> broadcast.CycleReport | None:
        """What the canister's heartbeat does at ``now``: a cycle if one is due, else nothing."""
        try:
            broadcast.check_cycle_time(self.state, now)
        except ValueError:
            return None
        return self.run_cycle(now)

    async def run(self) -> None:
        """The heartbeat task: sleeps until the next cycle with work, runs it, and repeats."""
        while True:
            self._wake = trio.Event()
            due = self.next_cycle_time()
            if due is not None and due <= self._clock() + TIME_EPSILON:
                self.run_cycle(due)
                await trio.lowlevel.checkpoint()
                continue
            # Woken early by publish or request_missed_events: recompute the due time.
            await wait_until(self._wake, math.inf if due is None else due)

    # -- helpers ----------------------------------------------------------------------------

    def _deliver_to_actor(self, listener: str, n: Notification) -> None:
        actor = self._actors.get(listener)
        if actor is not None:  # one-way: an offline listener simply misses it
            # A copy each, so one handler can never change what another receives.
            actor.handle_event(n.event_id, n.publisher_id, n.event_name, fresh_copy(n.payload))

    def _emit(self, event: str, **fields: object) -> None:
        if self._trace is not None:
            self._trace(event, **fields)

