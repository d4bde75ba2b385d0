"""Hub calls: publications, subscribers and listeners, subscriptions, purge, limits, stats."""

from __future__ import annotations

import copy

import pytest

from sim.sources.pubsub import constants as c
from sim.sources.pubsub.errors import FilterSyntaxError, PubSubError, PubSubLimitError
from sim.sources.pubsub.hub import Hub
from sim.sources.pubsub.model import Notification
from sim.sources.pubsub.stats import Stats


class Harness:
    """A hub on a hand-moved clock that records every notification it sends."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sent: list[Notification] = []
        self.hub = Hub(clock=lambda: self.now, deliver=lambda _l, n: self.sent.append(n))

    def cycle(self, at: float) -> None:
        self.now = at
        self.hub.run_cycle(at)


def snapshot(hub: Hub) -> object:
    """Everything the hub stores, comparable before and after a failed call."""
    return copy.deepcopy(hub.state)


def same_state(a: object, b: object) -> bool:
    return repr(a) == repr(b)


# -- publications --------------------------------------------------------------------------


def test_publish_auto_registers_and_reactivates_the_publication() -> None:
    h = Harness()
    h.hub.publish("p", "price", 1)
    publication = h.hub.state.publications[("p", "price")]
    assert publication.active
    h.hub.remove_publication("p", "price")
    assert not publication.active and h.hub.state.publishers["p"].active_publications == 0
    h.hub.publish("p", "price", 2)
    assert publication.active and h.hub.state.publishers["p"].active_publications == 1


def test_publish_without_subscription_counts_and_stores_nothing() -> None:
    h = Harness()
    assert h.hub.publish("p", "price", {"v": 1}) is None
    assert h.hub.state.events == {}
    assert h.hub.get_publication_stats("p") == Stats()
    # Event ids are taken only when an event is stored.
    h.hub.subscribe("s", "price")
    assert h.hub.publish("p", "price", {"v": 2}) == 1


def test_whitelist_options_select_recipients() -> None:
    h = Harness()
    for s in ("s1", "s2", "s3"):
        h.hub.subscribe(s, "price")
    h.hub.register_publication("p", "price", whitelist=["s1", "s2"])
    h.hub.register_publication("p", "price", whitelist_add=["s3"], whitelist_remove=["s1"])
    event_id = h.hub.publish("p", "price", 1)
    assert event_id is not None
    assert list(h.hub.state.events[event_id].subscribers) == ["s2", "s3"]
    h.hub.register_publication("p", "price", whitelist=[])  # empty: everyone again
    event_id = h.hub.publish("p", "price", 2)
    assert event_id is not None
    assert list(h.hub.state.events[event_id].subscribers) == ["s1", "s2", "s3"]


def test_inactive_subscriptions_are_not_targeted_but_stopped_ones_are() -> None:
    h = Harness()
    h.hub.subscribe("a", "price")
    h.hub.subscribe("b", "price", stopped=True)
    h.hub.subscribe("c", "price")
    h.hub.unsubscribe("c", "price")
    event_id = h.hub.publish("p", "price", 1)
    assert event_id is not None
    assert list(h.hub.state.events[event_id].subscribers) == ["a", "b"]


def test_remove_publication_purge_deletes_it_and_its_stats() -> None:
    h = Harness()
    h.hub.subscribe("s", "price")
    h.hub.publish("p", "price", 1)
    h.hub.publish("p", "volume", 1)
    assert h.hub.get_publication_stats("p").number_of_events == 1
    h.hub.remove_publication("p", "price", purge=True)
    assert ("p", "price") not in h.hub.state.publications
    assert list(h.hub.state.publishers["p"].publications) == ["volume"]
    assert h.hub.get_publication_stats("p") == Stats()
    # The stored event stays: it belongs to its subscribers now.
    assert list(h.hub.state.events) == [1]
    h.hub.remove_publication("p", "unknown", purge=True)  # unknown: a no-op


def test_publication_stats_filter_by_active_and_names() -> None:
    h = Harness()
    h.hub.subscribe("s", "a")
    h.hub.subscribe("s", "b")
    h.hub.publish("p", "a", 1)
    h.hub.publish("p", "b", 1)
    h.hub.publish("p", "b", 2)
    h.hub.remove_publication("p", "a")
    assert h.hub.get_publication_stats("p").number_of_events == 3
    assert h.hub.get_publication_stats("p", active=True).number_of_events == 2
    assert h.hub.get_publication_stats("p", active=False).number_of_events == 1
    assert h.hub.get_publication_stats("p", event_names=["a"]).number_of_events == 1
    assert h.hub.get_subscription_stats("s", event_names=["b"]).number_of_events == 2
    assert h.hub.get_subscription_stats("nobody") == Stats()


def test_payload_is_copied_and_must_be_json_like() -> None:
    h = Harness()
    h.hub.subscribe("s", "price")
    payload = {"v": [1, 2]}
    event_id = h.hub.publish("p", "price", payload)
    payload["v"].append(3)
    assert event_id is not None and h.hub.state.events[event_id].payload == {"v": [1, 2]}
    before = snapshot(h.hub)
    with pytest.raises(PubSubError, match="payload must be JSON-like, found a set"):
        h.hub.publish("p", "price", {"v": {1}})
    with pytest.raises(PubSubError, match="payload object keys must be strings"):
        h.hub.publish("p", "price", {1: 2})
    with pytest.raises(PubSubError, match="payload numbers must be finite"):
        h.hub.publish("p", "price", float("nan"))
    assert same_state(before, snapshot(h.hub))


# -- subscriptions -------------------------------------------------------------------------


def test_subscribe_options_default_to_unchanged_and_filter_none_clears() -> None:
    h = Harness()
    h.hub.subscribe("s", "price", skip=2, filter="$.v > 1", stopped=True)
    sub = h.hub.state.subscriptions[("s", "price")]
    h.hub.subscribe("s", "price")
    assert (sub.skip, sub.stopped, sub.filter is not None) == (2, True, True)
    h.hub.subscribe("s", "price", filter=None, stopped=False)
    assert (sub.skip, sub.stopped, sub.filter) == (2, False, None)


def test_subscribe_rejects_bad_options_and_changes_nothing() -> None:
    h = Harness()
    h.hub.subscribe("s", "price")
    before = snapshot(h.hub)
    with pytest.raises(FilterSyntaxError, match="at position 5"):
        h.hub.subscribe("s", "price", filter="$.v >")
    with pytest.raises(PubSubError, match="skip must be an integer >= 0, got -1"):
        h.hub.subscribe("s", "price", skip=-1)
    with pytest.raises(PubSubError, match="stopped must be true or false, got 'yes'"):
        h.hub.subscribe("s", "price", stopped="yes")  # type: ignore[arg-type]
    with pytest.raises(PubSubError, match="caller must be a non-empty principal name"):
        h.hub.subscribe("", "price")
    with pytest.raises(FilterSyntaxError):
        h.hub.subscribe("new", "price", filter=")")
    assert same_state(before, snapshot(h.hub))


def test_unsubscribe_purge_removes_the_subscriber_from_pending_events() -> None:
    h = Harness()
    h.hub.subscribe("a", "price")
    h.hub.subscribe("b", "price")
    shared = h.hub.publish("p", "price", 1)
    h.hub.register_publication("p", "price", whitelist=["a"])
    only_a = h.hub.publish("p", "price", 2)
    assert shared == 1 and only_a == 2
    h.hub.unsubscribe("a", "price", purge=True)
    assert ("a", "price") not in h.hub.state.subscriptions
    assert list(h.hub.state.events) == [1]  # event 2 had no subscriber left
    assert list(h.hub.state.events[1].subscribers) == ["b"]
    assert h.hub.get_subscription_stats("a") == Stats()
    assert h.hub.state.totals.deleted_purged == 1
    # Subscribing again starts from fresh stats.
    h.hub.subscribe("a", "price")
    assert h.hub.get_subscription_stats("a") == Stats()


def test_unsubscribe_without_purge_keeps_pending_events_and_stats() -> None:
    h = Harness()
    h.hub.subscribe("a", "price")
    h.hub.publish("p", "price", 1)
    h.hub.unsubscribe("a", "price")
    sub = h.hub.state.subscriptions[("a", "price")]
    assert not sub.active and list(sub.events) == [1]
    assert h.hub.get_subscription_stats("a", active=False).number_of_events == 1
    assert h.hub.get_subscription_stats("a", active=True) == Stats()


def test_confirm_of_unknown_duplicate_or_foreign_event_is_a_no_op() -> None:
    h = Harness()
    h.hub.subscribe("a", "price")
    h.hub.subscribe("b", "price")
    event_id = h.hub.publish("p", "price", 1)
    assert event_id == 1
    before = snapshot(h.hub)
    assert h.hub.confirm_event_processed("a", 99) is False
    assert h.hub.confirm_event_processed("stranger", 1) is False
    assert same_state(before, snapshot(h.hub))
    assert h.hub.confirm_event_processed("a", 1) is True
    after_first = snapshot(h.hub)
    assert h.hub.confirm_event_processed("a", 1) is False
    assert same_state(after_first, snapshot(h.hub))
    assert h.hub.get_subscription_stats("a").number_of_confirmations == 1
    assert h.hub.confirm_event_processed("b", 1) is True
    assert h.hub.state.events == {}  # deleted when every subscriber confirmed
    assert h.hub.get_publication_stats("p").number_of_confirmations == 2


# -- listeners -----------------------------------------------------------------------------


def confirmed(h: Harness, subscriber: str) -> list[str]:
    return list(h.hub.state.subscribers[subscriber].confirmed_listeners)


def test_a_new_subscriber_is_its_own_confirmed_listener() -> None:
    h = Harness()
    h.hub.register_subscriber("s")
    assert list(h.hub.state.subscribers["s"].listeners) == ["s"]
    assert confirmed(h, "s") == ["s"]


@pytest.mark.parametrize("listed_first", [True, False])
def test_listener_is_confirmed_when_listed_and_confirming_in_either_order(
        listed_first: bool) -> None:
    h = Harness()
    h.hub.register_subscriber("s")
    if listed_first:
        h.hub.register_subscriber("s", listeners_add=["L"])
        assert confirmed(h, "s") == ["s"]
        h.hub.confirm_listener("L", "s", True)
    else:
        h.hub.confirm_listener("L", "s", True)
        assert confirmed(h, "s") == ["s"]
        h.hub.register_subscriber("s", listeners_add=["L"])
    assert confirmed(h, "s") == ["s", "L"]


def test_confirm_before_the_subscriber_exists_counts() -> None:
    h = Harness()
    h.hub.confirm_listener("L", "s", True)
    h.hub.register_subscriber("s", listeners=["L"])
    assert confirmed(h, "s") == ["L"]


def test_one_listener_serves_one_subscriber() -> None:
    h = Harness()
    h.hub.register_subscriber("s1", listeners_add=["L"])
    h.hub.register_subscriber("s2", listeners_add=["L"])
    h.hub.confirm_listener("L", "s1", True)
    assert "L" in confirmed(h, "s1") and "L" not in confirmed(h, "s2")
    h.hub.confirm_listener("L", "s2", True)  # moves it
    assert "L" not in confirmed(h, "s1") and "L" in confirmed(h, "s2")


def test_allow_false_removes_only_a_mapping_to_that_subscriber() -> None:
    h = Harness()
    h.hub.register_subscriber("s1", listeners_add=["L"])
    h.hub.confirm_listener("L", "s1", True)
    h.hub.confirm_listener("L", "s2", False)  # points to s1, not s2: nothing happens
    assert "L" in confirmed(h, "s1")
    h.hub.confirm_listener("L", "s1", False)
    assert "L" not in confirmed(h, "s1")
    assert "L" not in h.hub.state.listener_owner


def test_a_subscriber_cannot_confirm_itself() -> None:
    h = Harness()
    h.hub.register_subscriber("s")
    before = snapshot(h.hub)
    with pytest.raises(PubSubError, match=r"a subscriber cannot confirm itself as a listener \(s\)"):
        h.hub.confirm_listener("s", "s", True)
    assert same_state(before, snapshot(h.hub))


def test_listener_options_replace_add_and_remove() -> None:
    h = Harness()
    h.hub.confirm_listener("L1", "s", True)
    h.hub.confirm_listener("L2", "s", True)
    h.hub.register_subscriber("s", listeners=["L1", "L2"])
    assert list(h.hub.state.subscribers["s"].listeners) == ["L1", "L2"]
    assert confirmed(h, "s") == ["L1", "L2"]
    h.hub.register_subscriber("s", listeners_remove=["L1"])
    assert list(h.hub.state.subscribers["s"].listeners) == ["L2"]
    assert confirmed(h, "s") == ["L2"]  # removed from both sets
    h.hub.register_subscriber("s", listeners_add=["L1", "s"])
    assert confirmed(h, "s") == ["L2", "L1", "s"]


# -- limits --------------------------------------------------------------------------------


def test_event_name_length_limit() -> None:
    h = Harness()
    name = "x" * c.EVENT_NAME_LENGTH_LIMIT
    h.hub.subscribe("s", name)
    h.hub.publish("p", name, 1)
    before = snapshot(h.hub)
    long = name + "x"
    calls = [
        lambda: h.hub.subscribe("s", long),
        lambda: h.hub.publish("p", long, 1),
        lambda: h.hub.register_publication("p", long),
        lambda: h.hub.remove_publication("p", long),
        lambda: h.hub.unsubscribe("s", long),
        lambda: h.hub.request_missed_events("s", long),
    ]
    for call in calls:
        with pytest.raises(PubSubLimitError,
                           match="^Event name length limit reached: 51 characters, at most 50$"):
            call()
    assert same_state(before, snapshot(h.hub))


def test_active_publications_limit() -> None:
    h = Harness()
    for i in range(c.ACTIVE_PUBLICATIONS_LIMIT):
        h.hub.register_publication("p", f"e{i}")
    before = snapshot(h.hub)
    with pytest.raises(PubSubLimitError,
                       match="^Active publications limit reached: publisher p has 100, at most 100$"):
        h.hub.publish("p", "one-more", 1)
    assert same_state(before, snapshot(h.hub))
    h.hub.remove_publication("p", "e0")
    h.hub.register_publication("p", "one-more")  # room again


def test_publications_limit() -> None:
    h = Harness()
    for i in range(c.PUBLICATIONS_LIMIT):
        h.hub.register_publication("p", f"e{i}")
        h.hub.remove_publication("p", f"e{i}")
    before = snapshot(h.hub)
    with pytest.raises(PubSubLimitError,
                       match="^Publications limit reached: publisher p has 500, at most 500$"):
        h.hub.register_publication("p", "one-more")
    assert same_state(before, snapshot(h.hub))
    h.hub.register_publication("p", "e3")  # reactivating an existing one is fine
    h.hub.remove_publication("p", "e0", purge=True)
    h.hub.register_publication("p", "one-more")


def test_active_subscriptions_limit() -> None:
    h = Harness()
    for i in range(c.ACTIVE_SUBSCRIPTIONS_LIMIT):
        h.hub.subscribe("s", f"e{i}")
    before = snapshot(h.hub)
    with pytest.raises(PubSubLimitError,
                       match="^Active subscriptions limit reached: subscriber s has 100, "
                             "at most 100$"):
        h.hub.subscribe("s", "one-more")
    assert same_state(before, snapshot(h.hub))
    h.hub.subscribe("s", "e5", skip=1)  # an active one can still change its options
    h.hub.unsubscribe("s", "e0")
    h.hub.subscribe("s", "one-more")


def test_subscriptions_limit() -> None:
    h = Harness()
    for i in range(c.SUBSCRIPTIONS_LIMIT):
        h.hub.subscribe("s", f"e{i}")
        h.hub.unsubscribe("s", f"e{i}")
    before = snapshot(h.hub)
    with pytest.raises(PubSubLimitError,
                       match="^Subscriptions limit reached: subscriber s has 500, at most 500$"):
        h.hub.subscribe("s", "one-more")
    assert same_state(before, snapshot(h.hub))
    h.hub.unsubscribe("s", "e0", purge=True)
    h.hub.subscribe("s", "one-more")


def test_whitelist_limits() -> None:
    h = Harness()
    names = [f"s{i}" for i in range(c.WHITELIST_LIMIT)]
    h.hub.register_publication("p", "price", whitelist=names)
    before = snapshot(h.hub)
    with pytest.raises(PubSubLimitError,
                       match="^Whitelist length limit reached: 501 names, at most 500$"):
        h.hub.register_publication("p", "price", whitelist_add=["extra"])
    with pytest.raises(PubSubLimitError,
                       match="^Whitelist option length limit reached: 501 names, at most 500$"):
        h.hub.register_publication("p", "price", whitelist=[*names, "extra"])
    with pytest.raises(PubSubLimitError, match="^Whitelist_add option length limit reached"):
        h.hub.register_publication("p", "price", whitelist_add=[*names, "extra"])
    with pytest.raises(PubSubLimitError, match="^Whitelist_remove option length limit reached"):
        h.hub.register_publication("p", "price", whitelist_remove=[*names, "extra"])
    with pytest.raises(PubSubError, match="whitelist must be a list of non-empty principal"):
        h.hub.register_publication("p", "price", whitelist="s1")  # type: ignore[arg-type]
    assert same_state(before, snapshot(h.hub))


def test_listeners_limits() -> None:
    h = Harness()
    names = [f"L{i}" for i in range(c.LISTENERS_LIMIT)]
    h.hub.register_subscriber("s", listeners=names)
    before = snapshot(h.hub)
    with pytest.raises(PubSubLimitError,
                       match="^Listeners limit reached: subscriber s would have 101 listeners, "
                             "at most 100$"):
        h.hub.register_subscriber("s", listeners_add=["extra"])
    with pytest.raises(PubSubLimitError,
                       match="^Listeners option length limit reached: 101 names, at most 100$"):
        h.hub.register_subscriber("s", listeners=[*names, "extra"])
    assert same_state(before, snapshot(h.hub))
    # A new subscriber over the limit is not created at all.
    with pytest.raises(PubSubLimitError, match="^Listeners limit reached: subscriber t"):
        h.hub.register_subscriber("t", listeners_add=names)
    assert "t" not in h.hub.state.subscribers


def test_request_missed_events_rejects_a_bad_range() -> None:
    h = Harness()
    h.hub.subscribe("s", "price")
    with pytest.raises(PubSubError, match=r"from_ \(5\) must not be after to \(4\)"):
        h.hub.request_missed_events("s", "price", from_=5, to=4)
    with pytest.raises(PubSubError, match="from_ must be a time in seconds, got 'x'"):
        h.hub.request_missed_events("s", "price", from_="x")  # type: ignore[arg-type]
    assert h.hub.state.request_due is None
