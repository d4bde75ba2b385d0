"""The admin API: looking inside the hub, and who may (the hub's ``admin.mo``).

An admin is the hub's deployer or a principal an admin added with ``add_admin``; every other
caller gets "Not authorized" (the canister traps). ``get_admins`` lists the added admins
only: the deployer is an admin without being listed.

``fetch_subscribers`` and ``fetch_events`` return one page of records in the hub's order
(subscribers by first registration, events by id): the records matching every filter given,
from ``offset`` (default 0), at most ``limit`` of them, and ``total_count`` of all matches.
A filter is a list; a record matches when its field is in the list (an empty list matches
nothing; None does not filter). At the commit the spec names, the canister's slice helper
traps whenever ``offset + limit`` is below the number of matches (fixed in its next
version); the page here is the one that version intended.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import attrs

from sim.sources.pubsub.errors import PubSubError
from sim.sources.pubsub.model import Event, HubState, Subscriber

T = TypeVar("T")


@attrs.frozen
class SubscriberInfo:
    """A subscriber as ``fetch_subscribers`` shows it (the canister's ``SharedSubscriber``)."""

    subscriber_id: str
    created_at: float
    active_subscriptions: int
    subscriptions: tuple[str, ...]


@attrs.frozen
class EventInfo:
    """A stored event as ``fetch_events`` shows it (the canister's ``SharedEvent``).

    ``payload`` is in its Python form; ``subscribers`` are those that have not confirmed.
    """

    event_id: int
    event_name: str
    payload: Any
    publisher_id: str
    created_at: float
    next_broadcast_time: float
    number_of_attempts: int
    subscribers: tuple[str, ...]


@attrs.frozen
class Page:
    """One page of a fetch: ``items`` and the number of all matching records."""

    items: tuple[Any, ...]
    total_count: int


def is_admin(state: HubState, deployer: str, principal: str) -> bool:
    return principal == deployer or principal in state.admins


def check_admin(state: HubState, deployer: str, caller: str) -> None:
    if not is_admin(state, deployer, caller):
        raise PubSubError(f"Not authorized: {caller} is not an admin of the hub")


def _check_filter(values: Sequence[Any] | None, what: str, kind: type) -> set[Any] | None:
    if values is None:
        return None
    if isinstance(values, str | bytes) or not all(
            isinstance(v, kind) and not isinstance(v, bool) for v in values):
        raise PubSubError(f"{what} must be a list of {kind.__name__} values, got {values!r}")
    return set(values)  # membership only: never iterated


def _page(matches: list[T], limit: int | None, offset: int | None) -> tuple[list[T], int]:
    for value, what in ((limit, "limit"), (offset, "offset")):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < 0):
            raise PubSubError(f"{what} must be an integer >= 0, got {value!r}")
    start = offset or 0
    end = len(matches) if limit is None else start + limit
    return matches[start:end], len(matches)


def fetch_subscribers(state: HubState, limit: int | None, offset: int | None,
                      subscriber_id: Sequence[str] | None,
                      subscriptions: Sequence[str] | None) -> Page:
    """Subscribers whose id is listed and that hold any of the listed subscriptions."""
    ids = _check_filter(subscriber_id, "subscriber_id", str)
    names = _check_filter(subscriptions, "subscriptions", str)
    matches = [s for s in state.subscribers.values()
               if (ids is None or s.subscriber_id in ids)
               and (names is None or any(name in names for name in s.subscriptions))]
    items, total = _page(matches, limit, offset)
    return Page(tuple(_subscriber_info(s) for s in items), total)


def fetch_events(state: HubState, limit: int | None, offset: int | None,
                 event_id: Sequence[int] | None, event_name: Sequence[str] | None,
                 publisher_id: Sequence[str] | None) -> Page:
    """Stored events matching the listed ids, names and publishers."""
    ids = _check_filter(event_id, "event_id", int)
    names = _check_filter(event_name, "event_name", str)
    publishers = _check_filter(publisher_id, "publisher_id", str)
    matches = [e for e in state.events.values()
               if (ids is None or e.event_id in ids)
               and (names is None or e.event_name in names)
               and (publishers is None or e.publisher_id in publishers)]
    items, total = _page(matches, limit, offset)
    return Page(tuple(_event_info(e) for e in items), total)


def _subscriber_info(subscriber: Subscriber) -> SubscriberInfo:
    return SubscriberInfo(subscriber.subscriber_id, subscriber.created_at,
                          subscriber.active_subscriptions, tuple(subscriber.subscriptions))


def _event_info(event: Event) -> EventInfo:
    return EventInfo(event.event_id, event.event_name, event.candy.to_python(),
                     event.publisher_id, event.created_at, event.next_time, event.attempts,
                     tuple(event.subscribers))
