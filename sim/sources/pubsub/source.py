"""The hub as a source in the world: publishers, delivery over the network, outages.

``PubSubSource.run`` runs three tasks: the hub's broadcast cycle, the publishers (Poisson
arrivals drawn from ``ctx.rng("publish")``) and the delivery queue. A notification leaves the
hub at its cycle and reaches the listener ``latency * (batch + 1)`` later (each batch of 100
goes out one message delay after the previous); whoever is attached for that listener at
arrival gets it, and if nobody is, it is lost (one-way). During an outage the hub drops what it
would send, refuses calls, and publishers' calls fail.
"""

from __future__ import annotations

import heapq
import itertools
import math

import trio

from sim.engine.sleep import sleep, wait_until
from sim.sources.context import SourceContext
from sim.sources.pubsub.config import PubSubSourceConfig
from sim.sources.pubsub.endpoint import HubEndpoint
from sim.sources.pubsub.hub import Hub
from sim.sources.pubsub.model import Notification
from sim.sources.pubsub.payload import fresh_copy

__all__ = ["PubSubSource", "PubSubSourceConfig", "SourceContext"]



class PubSubSource:
    """The pub/sub hub, its publishers, and one endpoint per node."""

    def __init__(self, config: PubSubSourceConfig, ctx: SourceContext) -> None:
        self.config = config
        self.address = config.address
        self._ctx = ctx
        self._rng = ctx.rng("publish")
        self.hub = Hub(clock=trio.current_time, deliver=self._deliver, trace=ctx.trace)
        self._outage_until = -math.inf
        self._endpoints: dict[str, HubEndpoint] = {}
        # The in-flight deliveries, ordered by (arrival time, send order).
        self._queue: list[tuple[float, int, Notification]] = []
        self._order = itertools.count()
        self._queue_changed = trio.Event()
        self.published = 0
        self.publish_failed = 0
        self.dropped = 0
        self.delivered = 0
        self.missed = 0

    # -- the world's side -----------------------------------------------------------------

    async def run(self) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self.hub.run)
            nursery.start_soon(self._publish_forever)
            nursery.start_soon(self._deliver_forever)

    def endpoint(self, node: str) -> HubEndpoint:
        """The handle a node's listener gets by dialing ``address``."""
        if node not in self._endpoints:
            self._endpoints[node] = HubEndpoint(self, node)
        return self._endpoints[node]

    def set_outage(self, until: float) -> None:
        """The hub is down until virtual time ``until`` (overlapping outages merge)."""
        if isinstance(until, bool) or not isinstance(until, int | float) or math.isnan(until):
            raise ValueError(f"set_outage: until must be a time in seconds, got {until!r}")
        self._outage_until = max(self._outage_until, float(until))
        self._ctx.trace("pubsub.outage", until=self._outage_until)

    def in_outage(self) -> bool:
        return trio.current_time() < self._outage_until

    def summary(self) -> dict[str, float | int]:
        totals = self.hub.state.totals
        return {
            "pubsub_published": self.published,
            "pubsub_publish_failed": self.publish_failed,
            "pubsub_events_stored": totals.events_stored,
            "pubsub_notifications": totals.notifications,
            "pubsub_notifications_requested": totals.notifications_requested,
            "pubsub_delivered": self.delivered,
            "pubsub_dropped": self.dropped,
            "pubsub_missed": self.missed,
            "pubsub_confirmations": totals.confirmations,
            "pubsub_deleted_confirmed": totals.deleted_confirmed,
            "pubsub_deleted_unconfirmed": totals.deleted_expired,
            "pubsub_deleted_purged": totals.deleted_purged,
            "pubsub_pending_events": len(self.hub.state.events),
        }

    def check_stats(self) -> list[str]:
        """Stats identities that failed after some cycle (for the ``pubsub-stats`` check)."""
        return self.hub.check_stats()

    # -- publishers -----------------------------------------------------------------------

    async def _publish_forever(self) -> None:
        config = self.config
        if config.rate <= 0:
            return
        for seq in itertools.count(1):
            await sleep(self._rng.expovariate(config.rate))
            # Draw everything before checking the outage, so an outage never shifts later draws.
            publisher = f"pub{self._rng.randrange(config.publishers)}"
            payload = {"seq": seq, "value": self._rng.randrange(1_000_000)}
            if self.in_outage():
                self.publish_failed += 1
                self._ctx.trace("pubsub.publish_failed", publisher=publisher, seq=seq)
                continue
            self.hub.publish(publisher, config.event_name, payload)
            self.published += 1

    # -- delivery -------------------------------------------------------------------------

    def _deliver(self, listener: str, notification: Notification) -> None:
        if self.in_outage():
            self.dropped += 1
            self._ctx.trace("pubsub.drop", event_id=notification.event_id, listener=listener)
            return
        arrival = trio.current_time() + self.config.latency * (notification.batch + 1)
        heapq.heappush(self._queue, (arrival, next(self._order), notification))
        self._queue_changed.set()

    async def _deliver_forever(self) -> None:
        while True:
            self._queue_changed = trio.Event()
            if not self._queue:
                await self._queue_changed.wait()
                continue
            arrival, _, n = self._queue[0]
            if arrival > trio.current_time():
                await wait_until(self._queue_changed, arrival)
                continue
            heapq.heappop(self._queue)
            actor = self.hub.actor(n.listener_id)
            if actor is None:  # the listener is offline: one-way delivery, so it is lost
                self.missed += 1
                continue
            self.delivered += 1
            # A copy each, so one listener's handling can never change what another sees.
            actor.handle_event(n.event_id, n.publisher_id, n.event_name, fresh_copy(n.payload))
