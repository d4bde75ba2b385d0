"""Publications and publishing: the rules of the hub's ``publish.mo``.

Each function checks everything before it changes anything, so a call that raises leaves
the hub as it was (the canister's traps roll back).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sim.sources.pubsub.constants import (
    ACTIVE_PUBLICATIONS_LIMIT,
    PUBLICATIONS_LIMIT,
    WHITELIST_LIMIT,
)
from sim.sources.pubsub.errors import PubSubLimitError
from sim.sources.pubsub.listeners import check_principals
from sim.sources.pubsub.model import Event, HubState, Publication, Publisher
from sim.sources.pubsub.payload import payload_candy


def register_publication(state: HubState, caller: str, event_name: str, now: float,
                         whitelist: Sequence[str] | None = None,
                         whitelist_add: Sequence[str] | None = None,
                         whitelist_remove: Sequence[str] | None = None) -> Publication:
    """Create or reactivate ``caller``'s publication and apply the whitelist options."""
    for values, option, name in ((whitelist, "whitelist", "Whitelist"),
                                 (whitelist_add, "whitelist_add", "WhitelistAdd"),
                                 (whitelist_remove, "whitelist_remove", "WhitelistRemove")):
        check_principals(values, option, WHITELIST_LIMIT, name)
    publisher = state.publishers.get(caller)
    publication = state.publications.get((caller, event_name))
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
    if len(new_list) > WHITELIST_LIMIT:
        raise PubSubLimitError(f"Whitelist length limit reached: {len(new_list)} names, "
                               f"at most {WHITELIST_LIMIT}")
    for principal in whitelist_remove or ():
        new_list.pop(principal, None)
    # Every check passed: now change state.
    if publisher is None:
        publisher = state.publishers[caller] = Publisher(caller, now)
    if publication is None:
        publication = state.publications[(caller, event_name)] = Publication(caller, event_name)
        publisher.publications[event_name] = None
    if not publication.active:
        publication.active = True
        publisher.active_publications += 1
    publication.whitelist = new_list
    return publication


def remove_publication(state: HubState, caller: str, event_name: str, purge: bool) -> None:
    """Deactivate ``caller``'s publication; ``purge`` deletes it and its stats."""
    publisher = state.publishers.get(caller)
    publication = state.publications.get((caller, event_name))
    if publisher is None or publication is None:
        return
    if publication.active:
        publication.active = False
        publisher.active_publications -= 1
    if purge:
        del state.publications[(caller, event_name)]
        del publisher.publications[event_name]


def publish(state: HubState, caller: str, event_name: str, payload: Any,
            now: float) -> Event | None:
    """Publish ``payload``; the stored event, or None when no subscriber was targeted.

    The publication is registered (or reactivated) first. With no subscription to the name
    nothing is counted. Recipients are the whitelist, in its order, when it is not empty, else
    every subscriber of the name; only active subscriptions count (stopped is checked when
    sending). A filter that yields exactly false drops the event for that subscriber; then
    ``skip`` lets one in every ``skip + 1`` through. A stored event is due at once, and the
    next heartbeat runs a cycle (``next_broadcast_time = now``).
    """
    candy = payload_candy(payload)
    publication = register_publication(state, caller, event_name, now)
    group = state.subscribers_by_name.get(event_name)
    if not group:
        return None
    publication.stats.events += 1
    targeted: dict[str, int] = {}
    recipients = publication.whitelist if publication.whitelist else group
    for subscriber_id in recipients:
        subscription = state.subscriptions.get((subscriber_id, event_name))
        if subscription is None or not subscription.active:
            continue
        if subscription.filter is not None and not subscription.filter.passes(candy):
            continue
        if subscription.skipped >= subscription.skip:
            subscription.skipped = 0
            targeted[subscriber_id] = 0
        else:
            subscription.skipped += 1
    if not targeted:
        return None
    event = Event(state.next_event_id, caller, event_name, candy.to_python(), candy,
                  created_at=now, next_time=now, subscribers=targeted)
    state.next_event_id += 1
    state.events[event.event_id] = event
    state.due.push(event)
    state.next_broadcast_time = now
    state.totals.events_stored += 1
    for subscriber_id in targeted:
        key = (subscriber_id, event_name)
        subscription = state.subscriptions[key]
        subscription.events[event.event_id] = None
        subscription.stats.events += 1
        state.touched[key] = None
    return event
