"""Pins for four rules of the events hub that no other test checks (pubsub.md;
ORIGYN-SA/events ``modules/subscribe.mo`` and
``modules/broadcast.mo``): reactivation on subscribe, the inclusive ``to`` bound of
``request_missed_events``, requested sends to an inactive subscription, and the
publication-side send counters."""

from __future__ import annotations

from sim.sources.pubsub.stats import Stats
from tests.pubsub_harness import MIN, Harness


def test_subscribe_reactivates_the_same_inactive_subscription_keeping_its_settings() -> None:
    """pubsub.md: ``subscribe`` "creates or reactivates". In subscribe.mo
    ``registerSubscription`` an existing subscription (unsubscribed without purge, so still
    stored) is looked up and set active again, and the subscriber's active-subscription count
    rises again; the record is the same one, so options not given (skip, stopped, filter) keep
    their values."""
    h = Harness()
    h.hub.subscribe("s", "price", skip=2, stopped=True, filter="$.v > 1")
    sub = h.hub.state.subscriptions[("s", "price")]
    h.hub.unsubscribe("s", "price")
    assert not sub.active
    assert h.hub.state.subscribers["s"].active_subscriptions == 0
    assert h.hub.state.subscriptions[("s", "price")] is sub  # not purged

    h.hub.subscribe("s", "price")
    assert h.hub.state.subscriptions[("s", "price")] is sub
    assert sub.active
    assert h.hub.state.subscribers["s"].active_subscriptions == 1
    assert sub.skip == 2 and sub.stopped is True and sub.filter is not None
    assert h.hub.get_subscription_stats("s", active=True) == Stats()
    assert list(h.hub.state.subscribers["s"].subscriptions) == ["price"]


def test_request_missed_events_upper_bound_is_inclusive() -> None:
    """pubsub.md "Subscribe, unsubscribe, missed events": pending events with
    ``from_ <= created_at <= to`` are re-sent; subscribe.mo ``requestMissedEvents`` filters
    with ``created_at <= to``. So an event created at 100 is found for ``to=100`` and sent as
    a requested notification next cycle, and not found for ``to=99``."""
    h = Harness()
    h.hub.subscribe("s", "price", stopped=True)  # stopped: no normal send to muddy the count
    h.now = 100.0
    event_id = h.hub.publish("p", "price", 1)
    h.run_until(200.0)
    assert h.sent == []
    assert h.hub.state.events[event_id].created_at == 100.0

    assert h.hub.request_missed_events("s", "price", from_=0, to=99) == 0
    h.run_until(300.0)
    assert h.sent == []

    assert h.hub.request_missed_events("s", "price", from_=0, to=100) == 1
    h.run_until(400.0)
    assert [(n.event_id, n.requested) for n in h.sends_to("s")] == [(event_id, True)]


def test_requested_send_ignores_inactive_subscription_and_keeps_attempts() -> None:
    """pubsub.md: requested events are sent "ignoring active/stopped, without changing attempt
    counts". broadcast.mo's requested path checks only that the subscription and a listener
    exist (no ``active``/``stopped`` test, unlike the normal path) and does not touch the
    subscriber's attempt count. So after ``unsubscribe`` without purge the event is still
    re-sent, flagged requested, carrying the attempt count it had (1), which stays 1."""
    h = Harness()
    h.hub.subscribe("s", "price")
    event_id = h.hub.publish("p", "price", 1)
    h.run_until(10.0)  # the normal send at 0, attempt 0; the count for s becomes 1
    assert [(n.requested, n.attempt) for n in h.sends_to("s")] == [(False, 0)]
    h.hub.unsubscribe("s", "price")  # inactive, still stored
    assert not h.hub.state.subscriptions[("s", "price")].active
    assert h.hub.state.events[event_id].subscribers == {"s": 1}

    h.now = 20.0
    assert h.hub.request_missed_events("s", "price") == 1
    h.run_until(20.0)
    requested = [n for n in h.sends_to("s") if n.requested]
    assert [(n.event_id, n.attempt, n.sent_at) for n in requested] == [(event_id, 1, 20.0)]
    assert h.hub.state.events[event_id].subscribers == {"s": 1}
    assert h.hub.get_subscription_stats("s").number_of_requested_notifications == 1


def test_publication_counts_normal_resend_and_requested_sends_like_the_subscription() -> None:
    """pubsub.md "Stats (per publication and per subscription)": notifications +1 per send
    (normal or requested), resend per normal send with attempt count > 0, requested per
    requested send. broadcast.mo bumps these on the publication as well as the subscription
    for every ``handleEvent`` send. One send at 0, the resend at 15 min (attempt 1) and one
    requested send give notifications 3, resend 1, requested 1 on both sides."""
    h = Harness()
    h.hub.subscribe("s", "price")
    h.hub.publish("p", "price", 1)
    h.run_until(15 * MIN)  # normal send at 0 and the resend at RESEND_DELAY
    h.now = 1000.0
    assert h.hub.request_missed_events("s", "price") == 1
    h.run_until(1000.0)
    # the requested send carries the count after two offers (2), yet is not a resend
    assert [(n.attempt, n.requested) for n in h.sends_to("s")] == [(0, False), (1, False),
                                                                    (2, True)]
    expected = Stats(number_of_events=1, number_of_notifications=3,
                     number_of_resend_notifications=1, number_of_requested_notifications=1,
                     number_of_confirmations=0)
    assert h.hub.get_publication_stats("p") == expected
    assert h.hub.get_subscription_stats("s") == expected
