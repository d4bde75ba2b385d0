"""Hub calls: publications, subscriptions, purge, the small rules, limits and stats
(``modules/publish.mo``, ``modules/subscribe.mo``, ``modules/stats.mo``)."""

from __future__ import annotations

import re

import pytest

from sim.sources.pubsub import constants as c
from sim.sources.pubsub.candy import Class, Nat8, Principal
from sim.sources.pubsub.errors import FilterSyntaxError, PubSubError, PubSubLimitError
from sim.sources.pubsub.stats import Stats
from tests.pubsub_harness import Harness, same_state, snapshot

# -- publications --------------------------------------------------------------------------


def test_publish_auto_registers_and_reactivates_the_publication() -> None:
    """publish.mo ``publish`` calls ``registerPublication`` first: created, or reactivated."""
    h = Harness()
    h.hub.publish("p", "price", 1)
    publication = h.hub.state.publications[("p", "price")]
    assert publication.active
    h.hub.remove_publication("p", "price")
    assert not publication.active and h.hub.state.publishers["p"].active_publications == 0
    h.hub.publish("p", "price", 2)
    assert publication.active and h.hub.state.publishers["p"].active_publications == 1


def test_publish_without_subscription_counts_and_stores_nothing() -> None:
    """publish.mo ``publish``: no subscription group for the name, nothing counted or stored;
    event ids (``state.eventId``) are taken only when an event is stored."""
    h = Harness()
    assert h.hub.publish("p", "price", {"v": 1}) is None
    assert h.hub.state.events == {}
    assert h.hub.get_publication_stats("p") == Stats()
    h.hub.subscribe("s", "price")
    assert h.hub.publish("p", "price", {"v": 2}) == 1


def test_whitelist_options_select_recipients_in_whitelist_order() -> None:
    """publish.mo ``publish``: with a non-empty whitelist the recipients are walked in the
    whitelist's order (not the subscriptions'); an empty whitelist means every subscriber."""
    h = Harness()
    for s in ("s1", "s2", "s3"):
        h.hub.subscribe(s, "price")
    h.hub.register_publication("p", "price", whitelist=["s1", "s2"])
    h.hub.register_publication("p", "price", whitelist_add=["s3"], whitelist_remove=["s1"])
    event_id = h.hub.publish("p", "price", 1)
    assert event_id is not None
    assert list(h.hub.state.events[event_id].subscribers) == ["s2", "s3"]
    h.hub.register_publication("p", "price", whitelist=["s3", "nobody", "s1"])
    event_id = h.hub.publish("p", "price", 2)
    assert event_id is not None
    assert list(h.hub.state.events[event_id].subscribers) == ["s3", "s1"]
    h.hub.register_publication("p", "price", whitelist=[])  # empty: everyone again
    event_id = h.hub.publish("p", "price", 3)
    assert event_id is not None
    assert list(h.hub.state.events[event_id].subscribers) == ["s1", "s2", "s3"]


def test_inactive_subscriptions_are_not_targeted_but_stopped_ones_are() -> None:
    """publish.mo ``publish`` checks ``subscription.active`` only; stopped is checked at send."""
    h = Harness()
    h.hub.subscribe("a", "price")
    h.hub.subscribe("b", "price", stopped=True)
    h.hub.subscribe("c", "price")
    h.hub.unsubscribe("c", "price")
    event_id = h.hub.publish("p", "price", 1)
    assert event_id is not None
    assert list(h.hub.state.events[event_id].subscribers) == ["a", "b"]


def test_remove_publication_purge_deletes_it_and_its_stats() -> None:
    """publish.mo ``removePublication``: inactive; ``#purge`` deletes it and its counters."""
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


def test_payload_is_copied_and_must_be_candy_or_json_like() -> None:
    """publish.mo ``publish`` takes a ``Candy.CandyValue``: a Python form is converted (and so
    copied); anything else is refused and changes nothing."""
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
    deep: list[object] = []
    for _ in range(70):
        deep = [deep]
    with pytest.raises(PubSubError, match="payload is nested more than 64 levels deep"):
        h.hub.publish("p", "price", deep)
    assert same_state(before, snapshot(h.hub))


def test_typed_payloads_are_stored_and_pushed_as_published() -> None:
    """publish.mo ``publish`` stores the candy value and broadcast.mo pushes it unchanged:
    typed values (``Nat8``, ``Principal``) arrive as they were published."""
    h = Harness()
    h.hub.subscribe("s", "price")
    payload = {"amount": Nat8(7), "owner": Principal("pub0"), "memo": b"\x01\x02"}
    h.hub.publish("p", "price", payload)
    h.cycle(0)
    assert h.sent[0].payload == payload
    assert h.hub.state.events[1].candy == Class(payload)


# -- subscriptions -------------------------------------------------------------------------


def test_subscribe_options_default_to_unchanged_and_filter_none_clears() -> None:
    """subscribe.mo ``subscribe``: only the options given change; ``#filter(null)`` clears."""
    h = Harness()
    h.hub.subscribe("s", "price", skip=2, filter="$.v > 1", stopped=True)
    sub = h.hub.state.subscriptions[("s", "price")]
    h.hub.subscribe("s", "price")
    assert (sub.skip, sub.stopped, sub.filter is not None) == (2, True, True)
    h.hub.subscribe("s", "price", filter=None, stopped=False)
    assert (sub.skip, sub.stopped, sub.filter) == (2, False, None)


def test_subscribe_rejects_bad_options_and_changes_nothing() -> None:
    """subscribe.mo ``subscribe`` traps on a filter ``path`` cannot read: nothing changes."""
    h = Harness()
    h.hub.subscribe("s", "price")
    before = snapshot(h.hub)
    with pytest.raises(FilterSyntaxError, match="at position 5"):
        h.hub.subscribe("s", "price", filter="$.v >")
    with pytest.raises(PubSubError, match="stopped must be true or false, got 'yes'"):
        h.hub.subscribe("s", "price", stopped="yes")  # type: ignore[arg-type]
    with pytest.raises(PubSubError, match="caller must be a non-empty principal name"):
        h.hub.subscribe("", "price")
    with pytest.raises(FilterSyntaxError):
        h.hub.subscribe("new", "price", filter=")")
    assert same_state(before, snapshot(h.hub))


@pytest.mark.parametrize(("skip", "message"), [
    (256, "skip must be at most 255 (it is a Nat8), got 256"),
    (1000, "skip must be at most 255 (it is a Nat8), got 1000"),
    (-1, "skip must be an integer >= 0, got -1"),
    (2.0, "skip must be an integer >= 0, got 2.0"),
    (True, "skip must be an integer >= 0, got True"),
])
def test_skip_above_255_is_rejected(skip: object, message: str) -> None:
    """subscribe.mo ``SubscriptionOptions``: ``#skip: Nat8``, so only 0..255 is a skip."""
    h = Harness()
    h.hub.subscribe("s", "price", skip=3)
    before = snapshot(h.hub)
    with pytest.raises(PubSubError, match=rf"^{re.escape(message)}$"):
        h.hub.subscribe("s", "price", skip=skip)  # type: ignore[arg-type]
    assert same_state(before, snapshot(h.hub))
    h.hub.subscribe("s", "price", skip=255)
    assert h.hub.state.subscriptions[("s", "price")].skip == 255


@pytest.mark.parametrize("skip", [0, 1, 2, 3])
def test_skip_delivers_events_n_plus_1_then_2n_plus_2(skip: int) -> None:
    """publish.mo ``publish``: ``skipped >= skip`` resets it and delivers, else it counts up;
    events the filter drops do not touch the counter."""
    h = Harness()
    h.hub.subscribe("s", "price", skip=skip, filter="$.pass")
    delivered = []
    passed = 0
    for i in range(20):
        passes = i % 3 != 0
        event_id = h.hub.publish("p", "price", {"pass": passes, "i": i})
        if passes:
            passed += 1
            if event_id is not None:
                delivered.append(passed)
        else:
            assert event_id is None
    assert delivered == list(range(skip + 1, passed + 1, skip + 1))


def test_setting_skip_keeps_the_skipped_counter() -> None:
    """subscribe.mo ``subscribe`` sets ``skip`` and leaves ``skipped`` as it is."""
    h = Harness()
    h.hub.subscribe("s", "price", skip=5)
    for _ in range(3):
        h.hub.publish("p", "price", 1)
    h.hub.subscribe("s", "price", skip=2)  # skipped is already 3 >= 2
    assert h.hub.publish("p", "price", 1) == 1
    assert h.hub.state.subscriptions[("s", "price")].skipped == 0


@pytest.mark.parametrize(("flt", "targeted"), [
    ("$.v > 5", False),
    ("$.v < 5", True),
    ("$.missing", True),     # Empty passes
    ("$.name", True),        # a text passes
    ("$.flag", False),       # exactly false blocks
    ("", True),              # the empty filter passes everything
])
def test_filter_blocks_only_an_exact_false(flt: str, targeted: bool) -> None:
    """publish.mo ``publish``: ``switch (get(payload, filterPath)) { case (#Bool(bool)) bool;
    case (_) true }``."""
    h = Harness()
    h.hub.subscribe("s", "price", filter=flt)
    event_id = h.hub.publish("p", "price", {"v": 3, "name": "x", "flag": False})
    assert (event_id is not None) is targeted
    assert h.hub.get_subscription_stats("s").number_of_events == int(targeted)


def test_unsubscribe_purge_removes_the_subscriber_from_pending_events() -> None:
    """subscribe.mo ``unsubscribe`` with ``#purge``: the subscription and its counters go, the
    subscriber leaves its pending events, and events left with no subscriber are deleted."""
    h = Harness()
    h.hub.subscribe("a", "price")
    h.hub.subscribe("b", "price")
    shared = h.hub.publish("p", "price", 1)
    h.hub.register_publication("p", "price", whitelist=["a"])
    only_a = h.hub.publish("p", "price", 2)
    assert shared == 1 and only_a == 2
    h.hub.request_missed_events("a", "price")
    h.hub.unsubscribe("a", "price", purge=True)
    assert ("a", "price") not in h.hub.state.subscriptions
    assert list(h.hub.state.events) == [1]  # event 2 had no subscriber left
    assert list(h.hub.state.events[1].subscribers) == ["b"]
    assert h.hub.state.events[1].requests == {} and h.hub.state.requested == {}
    assert h.hub.get_subscription_stats("a") == Stats()
    assert h.hub.state.totals.deleted_purged == 1
    h.hub.subscribe("a", "price")  # subscribing again starts from fresh stats
    assert h.hub.get_subscription_stats("a") == Stats()


def test_purging_the_last_subscription_of_a_name_stops_counting_its_events() -> None:
    """subscribe.mo ``unsubscribe`` deletes an emptied subscription group, and publish.mo
    ``publish`` counts an event only when the name has a group."""
    h = Harness()
    h.hub.subscribe("a", "price")
    h.hub.unsubscribe("a", "price")
    h.hub.publish("p", "price", 1)  # an inactive subscription still makes a group
    assert h.hub.get_publication_stats("p").number_of_events == 1
    h.hub.unsubscribe("a", "price", purge=True)
    h.hub.publish("p", "price", 2)
    assert h.hub.get_publication_stats("p").number_of_events == 1


def test_unsubscribe_without_purge_keeps_pending_events_and_stats() -> None:
    """subscribe.mo ``unsubscribe``: without ``#purge`` it only deactivates."""
    h = Harness()
    h.hub.subscribe("a", "price")
    h.hub.publish("p", "price", 1)
    h.hub.unsubscribe("a", "price")
    sub = h.hub.state.subscriptions[("a", "price")]
    assert not sub.active and list(sub.events) == [1]
    assert h.hub.get_subscription_stats("a", active=False).number_of_events == 1
    assert h.hub.get_subscription_stats("a", active=True) == Stats()


def test_confirm_of_unknown_duplicate_or_foreign_event_is_a_no_op() -> None:
    """subscribe.mo ``confirmEventProcessed``: ``Map.remove(event.subscribers, caller)!`` —
    nothing happens unless the caller is still pending on that event."""
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


# -- request_missed_events ------------------------------------------------------------------


def test_request_missed_events_with_from_after_to_is_a_quiet_no_op() -> None:
    """subscribe.mo ``requestMissedEvents``: ``from > to`` matches no event, so nothing is
    requested and no cycle is scheduled; it is not an error."""
    h = Harness()
    h.hub.subscribe("s", "price")
    h.hub.publish("p", "price", 1)
    h.cycle(0)
    h.now = 100
    before = snapshot(h.hub)
    assert h.hub.request_missed_events("s", "price", from_=5, to=4) == 0
    assert same_state(before, snapshot(h.hub))
    assert h.hub.next_cycle_time() == 900


def test_request_missed_events_rejects_times_that_are_not_nat64() -> None:
    """subscribe.mo ``MissedEventOptions``: ``#from``/``#to`` are ``Nat64`` times."""
    h = Harness()
    h.hub.subscribe("s", "price")
    before = snapshot(h.hub)
    with pytest.raises(PubSubError, match="from_ must be a time in seconds, got 'x'"):
        h.hub.request_missed_events("s", "price", from_="x")  # type: ignore[arg-type]
    with pytest.raises(PubSubError, match=r"to must be >= 0 \(it is a Nat64 time\), got -1"):
        h.hub.request_missed_events("s", "price", to=-1)
    assert same_state(before, snapshot(h.hub))


# -- stats ------------------------------------------------------------------------------


def test_stats_filter_by_active_and_names() -> None:
    """stats.mo ``getPublicationStats``/``getSubscriptionStats`` with ``#active`` and
    ``#eventNames``."""
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


def test_stats_event_names_sum_each_listed_name_duplicates_twice() -> None:
    """stats.mo walks ``eventNames.vals()`` as given: a name listed twice is summed twice, a
    name with no record is skipped, and a list over the limit traps."""
    h = Harness()
    h.hub.subscribe("s", "a")
    h.hub.subscribe("s", "b")
    h.hub.publish("p", "a", 1)
    h.hub.publish("p", "b", 1)
    h.hub.publish("p", "b", 2)
    assert h.hub.get_publication_stats("p", event_names=["b", "b"]).number_of_events == 4
    assert h.hub.get_publication_stats("p", event_names=["a", "b", "a", "zz"]) \
        .number_of_events == 4
    assert h.hub.get_subscription_stats("s", event_names=["a", "a", "a"]).number_of_events == 3
    with pytest.raises(PubSubLimitError,
                       match="^EventNames option length limit reached: 501 names, at most 500$"):
        h.hub.get_publication_stats("p", event_names=["a"] * 501)
    with pytest.raises(PubSubError, match="event_names must be a list of event names"):
        h.hub.get_subscription_stats("s", event_names="ab")


# -- limits --------------------------------------------------------------------------------


def test_event_name_length_limit() -> None:
    """publish.mo / subscribe.mo: "Event name length limit reached" above 50 characters."""
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
    """publish.mo ``registerPublication``: "Active publications limit reached" above 100."""
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
    """publish.mo ``registerPublication``: "Publications limit reached" above 500."""
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
    """subscribe.mo ``subscribe``: "Active subscriptions limit reached" above 100."""
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
    """subscribe.mo ``subscribe``: "Subscriptions limit reached" above 500."""
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
    """publish.mo ``registerPublication``: the whitelist option and length limits, named as the
    original names them."""
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
    with pytest.raises(PubSubLimitError, match="^WhitelistAdd option length limit reached"):
        h.hub.register_publication("p", "price", whitelist_add=[*names, "extra"])
    with pytest.raises(PubSubLimitError, match="^WhitelistRemove option length limit reached"):
        h.hub.register_publication("p", "price", whitelist_remove=[*names, "extra"])
    with pytest.raises(PubSubError, match="whitelist must be a list of non-empty principal"):
        h.hub.register_publication("p", "price", whitelist="s1")  # type: ignore[arg-type]
    assert same_state(before, snapshot(h.hub))


def test_listeners_limits() -> None:
    """subscribe.mo ``registerSubscriber``: the listener option and length limits."""
    h = Harness()
    names = [f"L{i}" for i in range(c.LISTENERS_LIMIT)]
    h.hub.register_subscriber("s", listeners=names)
    before = snapshot(h.hub)
    with pytest.raises(PubSubLimitError,
                       match="^Listeners length limit reached: subscriber s would have 101 "
                             "listeners, at most 100$"):
        h.hub.register_subscriber("s", listeners_add=["extra"])
    with pytest.raises(PubSubLimitError,
                       match="^Listeners option length limit reached: 101 names, at most 100$"):
        h.hub.register_subscriber("s", listeners=[*names, "extra"])
    with pytest.raises(PubSubLimitError, match="^ListenersRemove option length limit reached"):
        h.hub.register_subscriber("s", listeners_remove=[*names, "extra"])
    assert same_state(before, snapshot(h.hub))
    # A new subscriber over the limit is not created at all.
    with pytest.raises(PubSubLimitError, match="^Listeners length limit reached: subscriber t"):
        h.hub.register_subscriber("t", listeners_add=names)
    assert "t" not in h.hub.state.subscribers
