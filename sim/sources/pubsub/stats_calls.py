"""The stats calls (``get_publication_stats``, ``get_subscription_stats``): sums over the
caller's publications or subscriptions, as ``stats.mo`` walks them."""

from __future__ import annotations

from collections.abc import Iterable

from sim.sources.pubsub.constants import PUBLICATIONS_LIMIT, SUBSCRIPTIONS_LIMIT
from sim.sources.pubsub.model import HubState
from sim.sources.pubsub.stats import Stats, sum_records


def publication_stats(state: HubState, caller: str, active: bool | None,
                      event_names: Iterable[str] | None) -> Stats:
    """``get_publication_stats``: the sum over ``caller``'s publications."""
    publisher = state.publishers.get(caller)
    if publisher is None:
        return Stats()
    records = {}
    for name in publisher.publications:
        publication = state.publications[(caller, name)]
        records[name] = (publication.active, publication.stats)
    return sum_records(records, active, event_names, PUBLICATIONS_LIMIT)


def subscription_stats(state: HubState, caller: str, active: bool | None,
                       event_names: Iterable[str] | None) -> Stats:
    """``get_subscription_stats``: the sum over ``caller``'s subscriptions."""
    subscriber = state.subscribers.get(caller)
    if subscriber is None:
        return Stats()
    records = {}
    for name in subscriber.subscriptions:
        subscription = state.subscriptions[(caller, name)]
        records[name] = (subscription.active, subscription.stats)
    return sum_records(records, active, event_names, SUBSCRIPTIONS_LIMIT)
