"""The admin API and its access rules (``modules/admin.mo``; ``whoami`` and ``getTime`` in
``main.mo``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sim.sources.pubsub.admin import EventInfo, Page, SubscriberInfo
from sim.sources.pubsub.candy import Nat8
from sim.sources.pubsub.errors import PubSubError
from tests.pubsub_harness import Harness, same_state, snapshot


def populated() -> Harness:
    h = Harness(deployer="root")
    h.now = 10
    h.hub.subscribe("s1", "price")
    h.now = 20
    h.hub.subscribe("s2", "price")
    h.hub.subscribe("s2", "volume")
    h.hub.register_subscriber("s3")
    h.now = 30
    h.hub.publish("p1", "price", {"v": Nat8(1)})
    h.hub.publish("p2", "volume", 2)
    h.hub.publish("p1", "price", 3)
    return h


ADMIN_CALLS: list[tuple[str, Callable[[Harness, str], Any]]] = [
    ("fetch_subscribers", lambda h, who: h.hub.fetch_subscribers(who, 10)),
    ("fetch_events", lambda h, who: h.hub.fetch_events(who, 10)),
    ("get_admins", lambda h, who: h.hub.get_admins(who)),
    ("add_admin", lambda h, who: h.hub.add_admin(who, "mallory")),
    ("remove_admin", lambda h, who: h.hub.remove_admin(who, "alice")),
]


@pytest.mark.parametrize(("name", "call"), ADMIN_CALLS, ids=[n for n, _ in ADMIN_CALLS])
def test_only_admins_may_call_the_admin_api(name: str, call: Callable[[Harness, str], Any]) -> None:
    """admin.mo: every admin method starts ``if (not isAdmin(caller)) Debug.trap("Not
    authorized")``; ``isAdmin`` is the deployer or a member of ``admins``."""
    h = populated()
    h.hub.add_admin("root", "alice")
    before = snapshot(h.hub)
    for stranger in ("s1", "p1", "mallory"):
        with pytest.raises(PubSubError, match=f"^Not authorized: {stranger} is not an admin "
                                              "of the hub$"):
            call(h, stranger)
    assert same_state(before, snapshot(h.hub))
    call(h, "alice")
    call(h, "root")


def test_admins_are_added_and_removed_and_the_deployer_stays_one() -> None:
    """admin.mo ``getAdmins``/``addAdmin``/``removeAdmin``: the list holds the added admins;
    the deployer is an admin without being listed, and removing it changes nothing."""
    h = Harness(deployer="root")
    assert h.hub.get_admins("root") == []
    h.hub.add_admin("root", "alice")
    h.hub.add_admin("alice", "bob")
    h.hub.add_admin("bob", "alice")  # already there: no duplicate
    assert h.hub.get_admins("bob") == ["alice", "bob"]
    h.hub.remove_admin("bob", "alice")
    assert h.hub.get_admins("root") == ["bob"]
    with pytest.raises(PubSubError, match="^Not authorized: alice"):
        h.hub.get_admins("alice")
    h.hub.remove_admin("bob", "root")
    assert h.hub.get_admins("root") == ["bob"]


def test_fetch_subscribers_pages_and_filters() -> None:
    """admin.mo ``fetchSubscribers``: subscribers in registration order, filtered by
    ``subscriberId`` and by holding any of ``subscriptions``; ``offset``/``limit`` cut the
    page and ``totalCount`` counts every match."""
    h = populated()
    page = h.hub.fetch_subscribers("root", 10)
    assert page == Page((SubscriberInfo("s1", 10, 1, ("price",)),
                         SubscriberInfo("s2", 20, 2, ("price", "volume")),
                         SubscriberInfo("s3", 20, 0, ())), 3)
    assert [s.subscriber_id for s in h.hub.fetch_subscribers("root", 1, 1).items] == ["s2"]
    assert h.hub.fetch_subscribers("root", 1, 1).total_count == 3
    assert h.hub.fetch_subscribers("root", 10, 5) == Page((), 3)
    assert h.hub.fetch_subscribers("root", 0).items == ()
    volume = h.hub.fetch_subscribers("root", 10, subscriptions=["volume", "other"])
    assert [s.subscriber_id for s in volume.items] == ["s2"] and volume.total_count == 1
    chosen = h.hub.fetch_subscribers("root", 10, subscriber_id=["s3", "s1"])
    assert [s.subscriber_id for s in chosen.items] == ["s1", "s3"]
    assert h.hub.fetch_subscribers("root", 10, subscriber_id=[]) == Page((), 0)
    h.hub.unsubscribe("s2", "volume", purge=True)
    assert h.hub.fetch_subscribers("root", 10, subscriptions=["volume"]) == Page((), 0)


def test_fetch_events_pages_and_filters() -> None:
    """admin.mo ``fetchEvents``: stored events by id, filtered by ``eventId``, ``eventName``
    and ``publisherId``, with the pending subscribers, attempts and next broadcast time."""
    h = populated()
    h.cycle(30)
    h.hub.confirm_event_processed("s1", 3)
    page = h.hub.fetch_events("root")
    assert page.total_count == 3
    assert page.items[0] == EventInfo(1, "price", {"v": Nat8(1)}, "p1", 30, 930, 1,
                                      ("s1", "s2"))
    assert page.items[2].subscribers == ("s2",)
    assert [e.event_id for e in h.hub.fetch_events("root", event_name=["price"]).items] == [1, 3]
    assert [e.event_id for e in h.hub.fetch_events("root", publisher_id=["p2"]).items] == [2]
    both = h.hub.fetch_events("root", event_id=[3, 1, 99], publisher_id=["p1"])
    assert [e.event_id for e in both.items] == [1, 3]
    assert h.hub.fetch_events("root", 1, 2) == Page((page.items[2],), 3)
    assert h.hub.fetch_events("root", event_name=[]) == Page((), 0)


def test_fetch_rejects_bad_paging_and_filters() -> None:
    """admin.mo: ``limit`` and ``offset`` are ``Nat``; filters are lists of their type."""
    h = populated()
    with pytest.raises(PubSubError, match="^limit must be an integer >= 0, got -1$"):
        h.hub.fetch_events("root", -1)
    with pytest.raises(PubSubError, match="^offset must be an integer >= 0, got 'x'$"):
        h.hub.fetch_subscribers("root", 1, "x")  # type: ignore[arg-type]
    with pytest.raises(PubSubError, match="^event_id must be a list of int values"):
        h.hub.fetch_events("root", event_id=["1"])  # type: ignore[list-item]
    with pytest.raises(PubSubError, match="^subscriber_id must be a list of str values"):
        h.hub.fetch_subscribers("root", subscriber_id="s1")


def test_whoami_and_get_time_answer_anyone() -> None:
    """main.mo ``whoami`` returns the caller; ``getTime`` the canister's clock (here in the
    seconds every other time of the hub uses)."""
    h = Harness()
    h.now = 1234.5
    assert h.hub.whoami("s1") == "s1"
    assert h.hub.get_time() == 1234.5 and h.hub.get_time("anyone") == 1234.5
