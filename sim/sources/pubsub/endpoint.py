"""A node's handle on the hub: its calls go over the network, as that node."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from sim.engine.sleep import sleep
from sim.sources.pubsub.admin import Page
from sim.sources.pubsub.constants import TIME_MAX
from sim.sources.pubsub.hub import UNCHANGED
from sim.sources.pubsub.model import SubscriberActor
from sim.sources.pubsub.stats import Stats

if TYPE_CHECKING:
    from sim.sources.pubsub.hub import Hub


class HubHost(Protocol):
    """What an endpoint uses of the source that made it (``PubSubSource``)."""

    address: str
    config: Any
    hub: Hub

    def in_outage(self) -> bool: ...

T = TypeVar("T")


class HubEndpoint:
    """What a listener gets by dialing the hub's address: hub calls with ``caller = node``.

    Each call takes one ``latency`` to reach the hub and one to come back. During a hub outage
    a call raises ``ConnectionError`` (when it arrives) and changes nothing. ``attach`` and
    ``detach`` only set where this node receives pushed events; they are local.
    """

    def __init__(self, source: HubHost, node: str) -> None:
        self._source = source
        self.node = node

    async def _call(self, what: str, call: Callable[[], T]) -> T:
        latency = self._source.config.latency
        await sleep(latency)
        if self._source.in_outage():
            raise ConnectionError(f"{self._source.address} is unreachable (hub outage): {what}")
        result = call()
        await sleep(latency)
        return result

    # -- hub calls ------------------------------------------------------------------------

    async def register_subscriber(self, *, listeners: Sequence[str] | None = None,
                                  listeners_add: Sequence[str] | None = None,
                                  listeners_remove: Sequence[str] | None = None) -> None:
        hub = self._source.hub
        await self._call("register_subscriber", lambda: hub.register_subscriber(
            self.node, listeners=listeners, listeners_add=listeners_add,
            listeners_remove=listeners_remove))

    async def confirm_listener(self, subscriber_id: str, allow: bool = True) -> None:
        hub = self._source.hub
        await self._call("confirm_listener",
                         lambda: hub.confirm_listener(self.node, subscriber_id, allow))

    async def subscribe(self, event_name: str, *, stopped: bool | None = None,
                        skip: int | None = None, filter: Any = UNCHANGED) -> None:
        hub = self._source.hub
        await self._call("subscribe", lambda: hub.subscribe(
            self.node, event_name, stopped=stopped, skip=skip, filter=filter))

    async def unsubscribe(self, event_name: str, *, purge: bool = False) -> None:
        hub = self._source.hub
        await self._call("unsubscribe", lambda: hub.unsubscribe(self.node, event_name,
                                                                purge=purge))

    async def request_missed_events(self, event_name: str, *, from_: float = 0.0,
                                    to: float = TIME_MAX) -> int:
        hub = self._source.hub
        return await self._call("request_missed_events", lambda: hub.request_missed_events(
            self.node, event_name, from_=from_, to=to))

    async def confirm_event_processed(self, event_id: int) -> bool:
        hub = self._source.hub
        return await self._call("confirm_event_processed",
                                lambda: hub.confirm_event_processed(self.node, event_id))

    async def get_subscription_stats(self, *, active: bool | None = None,
                                     event_names: Iterable[str] | None = None) -> Stats:
        hub = self._source.hub
        return await self._call("get_subscription_stats", lambda: hub.get_subscription_stats(
            self.node, active=active, event_names=event_names))

    async def get_publication_stats(self, *, active: bool | None = None,
                                    event_names: Iterable[str] | None = None) -> Stats:
        hub = self._source.hub
        return await self._call("get_publication_stats", lambda: hub.get_publication_stats(
            self.node, active=active, event_names=event_names))

    async def fetch_subscribers(self, limit: int | None = None, offset: int | None = None, *,
                                subscriber_id: Sequence[str] | None = None,
                                subscriptions: Sequence[str] | None = None) -> Page:
        hub = self._source.hub
        return await self._call("fetch_subscribers", lambda: hub.fetch_subscribers(
            self.node, limit, offset, subscriber_id=subscriber_id, subscriptions=subscriptions))

    async def fetch_events(self, limit: int | None = None, offset: int | None = None, *,
                           event_id: Sequence[int] | None = None,
                           event_name: Sequence[str] | None = None,
                           publisher_id: Sequence[str] | None = None) -> Page:
        hub = self._source.hub
        return await self._call("fetch_events", lambda: hub.fetch_events(
            self.node, limit, offset, event_id=event_id, event_name=event_name,
            publisher_id=publisher_id))

    async def get_admins(self) -> list[str]:
        hub = self._source.hub
        return await self._call("get_admins", lambda: hub.get_admins(self.node))

    async def add_admin(self, principal: str) -> None:
        hub = self._source.hub
        await self._call("add_admin", lambda: hub.add_admin(self.node, principal))

    async def remove_admin(self, principal: str) -> None:
        hub = self._source.hub
        await self._call("remove_admin", lambda: hub.remove_admin(self.node, principal))

    async def whoami(self) -> str:
        hub = self._source.hub
        return await self._call("whoami", lambda: hub.whoami(self.node))

    async def get_time(self) -> float:
        hub = self._source.hub
        return await self._call("get_time", lambda: hub.get_time(self.node))

    # -- local ----------------------------------------------------------------------------

    def attach(self, actor: SubscriberActor) -> None:
        """Receive pushed events for this node (as its listener) at ``actor``."""
        self._source.hub.attach(self.node, actor)

    def detach(self, actor: SubscriberActor) -> None:
        """Stop receiving at ``actor`` (a newer actor attached since is left alone)."""
        self._source.hub.detach(self.node, actor)
