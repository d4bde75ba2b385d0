"""The broadcast cycle: retry schedule, expiry, attempts, skip, filter, round-robin, requests."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from sim.sources.pubsub import constants as c
from sim.sources.pubsub.hub import Hub
from sim.sources.pubsub.model import Notification

H = 3600.0
SCHEDULE_H = [0, 0.25, 0.75, 1.75, 3.75, 7.75, 15.75, 31.75]


class Harness:
    """A hub on a hand-moved clock that records every notification it sends."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sent: list[Notification] = []
        self.hub = Hub(clock=lambda: self.now, deliver=lambda _l, n: self.sent.append(n))

    def cycle(self, at: float) -> None:
        self.now = at
        self.hub.run_cycle(at)

    def run_until(self, end: float) -> None:
        """Run every cycle the hub asks for up to ``end``, then leave the clock at ``end``."""
        while (due := self.hub.next_cycle_time()) is not None and due <= end:
            self.cycle(max(due, self.now))
        self.now = end

    def sends_to(self, subscriber: str) -> list[Notification]:
        return [n for n in self.sent if n.subscriber_id == subscriber]


def test_retry_schedule_of_an_unconfirmed_event_to_the_minute() -> None:
    """Run by the hub's own task under trio's mock clock, as in the world."""
    sends: list[float] = []
    deleted: list[float] = []

    class Actor:
        def handle_event(self, event_id: int, publisher_id: str, event_name: str,
                         payload: object) -> None:
            sends.append(trio.current_time())

    def trace(event: str, **fields: object) -> None:
        if event == "pubsub.delete":
            deleted.append(trio.current_time())

    async def main() -> None:
        hub = Hub(trace=trace)
        hub.subscribe("s", "price")
        hub.attach("s", Actor())
        async with trio.open_nursery() as nursery:
            nursery.start_soon(hub.run)
            await trio.sleep(10 * 60)  # the first send is at publish time, not at t=0
            hub.publish("p", "price", {"v": 1})
            await trio.sleep(70 * H)
            nursery.cancel_scope.cancel()

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    start = 10 * 60
    assert [round((t - start) / 60) for t in sends] == [h * 60 for h in SCHEDULE_H]
    assert [round((t - start) / 60) for t in deleted] == [63.75 * 60]


def test_deletion_at_the_end_of_the_window_and_attempt_counts() -> None:
    h = Harness()
    h.hub.subscribe("s", "price")
    event_id = h.hub.publish("p", "price", 1)
    assert event_id == 1
    h.run_until(63.7 * H)
    event = h.hub.state.events[1]
    assert event.attempts == c.RESEND_ATTEMPTS_LIMIT and event.subscribers == {"s": 8}
    assert len(h.sent) == 8
    # Still stored (and confirmable) until its next due time, 63.75 h.
    h.run_until(63.75 * H)
    assert h.hub.state.events == {}
    assert h.hub.state.subscriptions[("s", "price")].events == {}
    assert h.hub.state.totals.deleted_expired == 1
    assert [n.attempt for n in h.sent] == list(range(8))
    assert h.hub.get_subscription_stats("s").number_of_resend_notifications == 7


def test_confirm_stops_resends() -> None:
    h = Harness()
    h.hub.subscribe("a", "price")
    h.hub.subscribe("b", "price")
    h.hub.publish("p", "price", 1)
    h.run_until(0)
    assert [n.subscriber_id for n in h.sent] == ["a", "b"]
    h.hub.confirm_event_processed("a", 1)
    h.run_until(2 * H)
    assert len(h.sends_to("a")) == 1
    assert len(h.sends_to("b")) == 4  # 0, 0.25, 0.75, 1.75 h
    h.hub.confirm_event_processed("b", 1)
    assert h.hub.state.events == {}
    h.run_until(70 * H)
    assert len(h.sent) == 5


def test_a_cycle_runs_at_most_once_per_broadcast_delay() -> None:
    h = Harness()
    h.hub.subscribe("s", "price")
    h.hub.publish("p", "price", 1)
    h.cycle(0)
    h.now = 60
    h.hub.publish("p", "price", 2)  # due at once, but the last cycle was 1 minute ago
    assert h.hub.next_cycle_time() == c.BROADCAST_DELAY
    with pytest.raises(ValueError, match="less than 180.0s after the previous one"):
        h.hub.run_cycle(120)
    h.run_until(c.BROADCAST_DELAY)
    assert [(n.event_id, n.sent_at) for n in h.sent] == [(1, 0), (2, c.BROADCAST_DELAY)]
    assert h.hub.next_cycle_time() == c.RESEND_DELAY  # event 1's first retry


def test_stopped_subscription_receives_nothing_but_attempts_count() -> None:
    h = Harness()
    h.hub.subscribe("s", "price", stopped=True)
    h.hub.publish("p", "price", 1)
    h.run_until(1 * H)  # cycles at 0, 0.25 h, 0.75 h
    assert h.sent == []
    assert h.hub.state.events[1].subscribers == {"s": 3}
    h.hub.subscribe("s", "price", stopped=False)
    h.run_until(1.75 * H)
    assert [(n.attempt, n.requested) for n in h.sent] == [(3, False)]
    stats = h.hub.get_subscription_stats("s")
    assert stats.number_of_resend_notifications == 1 and stats.number_of_notifications == 1


def test_missed_events_arrive_as_resends_after_unstopping() -> None:
    h = Harness()
    h.hub.subscribe("s", "price", stopped=True)
    for v in range(3):
        h.hub.publish("p", "price", v)
    h.run_until(0.5 * H)
    h.hub.subscribe("s", "price", stopped=False)
    h.run_until(0.75 * H)
    assert sorted(n.event_id for n in h.sent) == [1, 2, 3]
    assert all(n.attempt == 2 and not n.requested for n in h.sent)


def test_no_confirmed_listener_sends_nothing_but_attempts_count() -> None:
    h = Harness()
    h.hub.register_subscriber("s", listeners=["L"])  # L never confirms
    h.hub.subscribe("s", "price")
    h.hub.publish("p", "price", 1)
    h.run_until(0.3 * H)
    assert h.sent == [] and h.hub.state.events[1].subscribers == {"s": 2}
    h.hub.confirm_listener("L", "s", True)
    h.run_until(0.75 * H)
    assert [(n.listener_id, n.attempt) for n in h.sent] == [("L", 2)]


@pytest.mark.parametrize("skip", [0, 1, 2, 3])
def test_skip_delivers_events_n_plus_1_then_2n_plus_2(skip: int) -> None:
    h = Harness()
    h.hub.subscribe("s", "price", skip=skip, filter="$.pass")
    delivered = []
    passed = 0
    for i in range(20):
        passes = i % 3 != 0  # every third is filtered out and does not touch the counter
        event_id = h.hub.publish("p", "price", {"pass": passes, "i": i})
        if passes:
            passed += 1
            if event_id is not None:
                delivered.append(passed)
        else:
            assert event_id is None
    assert delivered == list(range(skip + 1, passed + 1, skip + 1))


def test_setting_skip_keeps_the_skipped_counter() -> None:
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
    ("$.missing", True),     # null passes
    ("$.name", True),        # a string passes
    ("$.flag", False),       # exactly false blocks
])
def test_filter_blocks_only_an_exact_false(flt: str, targeted: bool) -> None:
    h = Harness()
    h.hub.subscribe("s", "price", filter=flt)
    event_id = h.hub.publish("p", "price", {"v": 3, "name": "x", "flag": False})
    assert (event_id is not None) is targeted
    assert h.hub.get_subscription_stats("s").number_of_events == int(targeted)


def test_round_robin_over_confirmed_listeners() -> None:
    h = Harness()
    h.hub.register_subscriber("s", listeners=["L1", "L2", "L3"])
    for listener in ("L1", "L2", "L3"):
        h.hub.confirm_listener(listener, "s", True)
    h.hub.subscribe("s", "price")
    for v in range(5):
        h.hub.publish("p", "price", v)
    h.run_until(0)
    assert [n.listener_id for n in h.sent] == ["L1", "L2", "L3", "L1", "L2"]
    h.hub.confirm_listener("L3", "s", False)
    h.run_until(c.RESEND_DELAY)
    assert [n.listener_id for n in h.sent[5:]] == ["L1", "L2", "L1", "L2", "L1"]


def test_one_listener_serves_one_subscriber_in_delivery() -> None:
    h = Harness()
    h.hub.register_subscriber("s1", listeners=["L"])
    h.hub.register_subscriber("s2", listeners=["L"])
    h.hub.confirm_listener("L", "s1", True)
    h.hub.confirm_listener("L", "s2", True)
    h.hub.subscribe("s1", "price")
    h.hub.subscribe("s2", "price")
    h.hub.publish("p", "price", 1)
    h.run_until(0)
    assert [(n.subscriber_id, n.listener_id) for n in h.sent] == [("s2", "L")]


def test_sends_go_in_batches_of_100() -> None:
    h = Harness()
    for i in range(250):
        h.hub.subscribe(f"s{i:03}", "price")
    h.hub.publish("p", "price", 1)
    h.now = 0
    report = h.hub.run_cycle(0)
    assert report.batches == 3
    assert [n.batch for n in h.sent] == [0] * 100 + [1] * 100 + [2] * 50


def test_delivery_is_one_way_and_an_offline_listener_misses_it() -> None:
    got: list[int] = []

    class Actor:
        def handle_event(self, event_id: int, publisher_id: str, event_name: str,
                         payload: object) -> None:
            got.append(event_id)

    now = [0.0]
    hub = Hub(clock=lambda: now[0])
    hub.subscribe("s", "price")
    hub.publish("p", "price", 1)
    hub.run_cycle(0)  # nobody attached: missed, and the attempt counts
    assert got == [] and hub.state.events[1].subscribers == {"s": 1}
    actor = Actor()
    hub.attach("s", actor)
    hub.detach("s", Actor())  # another actor: not detached
    now[0] = c.RESEND_DELAY
    hub.run_cycle(now[0])
    assert got == [1]
    hub.detach("s", actor)
    assert hub.actor("s") is None


def test_request_missed_events_in_range_ignoring_stopped_without_attempts() -> None:
    h = Harness()
    h.hub.subscribe("s", "price", stopped=True)
    for t in (0, 100, 200):
        h.run_until(t)
        h.hub.publish("p", "price", t)
    h.run_until(600)  # cycles at 0, 180 and 360 gave each event its first (withheld) try
    attempts_before = {i: dict(e.subscribers) for i, e in h.hub.state.events.items()}
    assert attempts_before == {1: {"s": 1}, 2: {"s": 1}, 3: {"s": 1}}
    assert h.sent == []
    assert h.hub.request_missed_events("s", "price", from_=100, to=250) == 2
    assert h.hub.next_cycle_time() == 600  # due at once (the last cycle was at 360)
    h.cycle(600)
    assert [(n.event_id, n.requested, n.attempt) for n in h.sent] == [(2, True, 1), (3, True, 1)]
    assert {i: dict(e.subscribers) for i, e in h.hub.state.events.items()} == attempts_before
    assert [e.attempts for e in h.hub.state.events.values()] == [1, 1, 1]
    stats = h.hub.get_subscription_stats("s")
    assert stats.number_of_requested_notifications == 2
    assert stats.number_of_resend_notifications == 0
    assert all(not e.requests for e in h.hub.state.events.values())


def test_a_normal_send_in_the_same_cycle_answers_the_request() -> None:
    h = Harness()
    h.hub.subscribe("s", "price")
    h.hub.publish("p", "price", 1)
    h.hub.request_missed_events("s", "price")
    h.cycle(0)
    assert [(n.event_id, n.requested) for n in h.sent] == [(1, False)]


def test_request_missed_events_of_confirmed_or_other_names_sends_nothing() -> None:
    h = Harness()
    h.hub.subscribe("s", "price")
    h.hub.subscribe("s", "volume")
    h.hub.publish("p", "price", 1)
    h.hub.publish("p", "volume", 1)
    h.run_until(0)
    h.hub.confirm_event_processed("s", 1)
    assert h.hub.request_missed_events("s", "price") == 0
    assert h.hub.request_missed_events("other", "price") == 0
    h.run_until(c.BROADCAST_DELAY)
    assert [n.event_id for n in h.sent] == [1, 2]


def test_stats_identity_for_a_served_subscription() -> None:
    h = Harness()
    h.hub.subscribe("s", "price")
    for i in range(5):
        h.now = i * 100.0
        h.hub.publish("p", "price", i)
        h.run_until(h.now)
    h.hub.confirm_event_processed("s", 2)
    h.hub.request_missed_events("s", "price")
    h.run_until(2 * H)
    s = h.hub.get_subscription_stats("s")
    assert s.number_of_requested_notifications > 0 and s.number_of_resend_notifications > 0
    assert (s.number_of_notifications - s.number_of_resend_notifications
            - s.number_of_requested_notifications) == s.number_of_events == 5
    assert h.hub.check_stats() == []
