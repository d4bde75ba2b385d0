"""Property: the stats identity holds and no confirmed event is resent, whatever happens."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from sim.sources.pubsub import constants as c
from sim.sources.pubsub.hub import Hub
from sim.sources.pubsub.model import Notification

SUBSCRIBERS = ("A", "B")

ops = st.one_of(
    st.tuples(st.just("publish"), st.integers(0, 9)),
    st.tuples(st.just("advance"), st.integers(1, 24 * 60), st.sampled_from([0.0, 0.5])),
    st.tuples(st.just("lose"), st.booleans()),                      # deliveries lost or not
    st.tuples(st.just("confirm"), st.sampled_from(SUBSCRIBERS), st.integers(0, 5)),
    st.tuples(st.just("request"), st.sampled_from(SUBSCRIBERS), st.integers(0, 3),
              st.integers(0, 3)),
    st.tuples(st.just("skip"), st.sampled_from(SUBSCRIBERS), st.integers(0, 3)),
    st.tuples(st.just("filter"), st.sampled_from(SUBSCRIBERS),
              st.sampled_from([None, "$.v > 3", "$.v != 5", "$.nothing"])),
    st.tuples(st.just("stop"), st.booleans()),                      # B only
    st.tuples(st.just("active"), st.booleans()),                    # B only
    st.tuples(st.just("listener"), st.sampled_from(SUBSCRIBERS), st.booleans()),
)


class Run:
    def __init__(self) -> None:
        self.now = 0.0
        self.hub = Hub(clock=lambda: self.now, deliver=self.deliver)
        self.received: dict[str, list[int]] = {s: [] for s in SUBSCRIBERS}
        self.confirmed: set[tuple[str, int]] = set()
        self.resent_after_confirm: list[tuple[str, int]] = []
        self.losing = False
        for s in SUBSCRIBERS:
            self.hub.register_subscriber(s, listeners_add=[f"L{s}"])
            self.hub.subscribe(s, "price")

    def deliver(self, _listener: str, n: Notification) -> None:
        if (n.subscriber_id, n.event_id) in self.confirmed:
            self.resent_after_confirm.append((n.subscriber_id, n.event_id))
        if not self.losing:  # a lost push cannot be confirmed
            self.received[n.subscriber_id].append(n.event_id)

    def advance(self, seconds: float) -> None:
        end = self.now + seconds
        while (due := self.hub.next_cycle_time()) is not None and due <= end:
            assert due == int(due)  # cycles start on heartbeats, at whole seconds
            self.now = max(due, self.now)
            self.hub.run_cycle(self.now)
            self.check_after_cycle()
        self.now = end

    def check_after_cycle(self) -> None:
        assert self.hub.check_stats() == []
        # Subscriber A is always active, not stopped, and its own confirmed listener.
        s = self.hub.get_subscription_stats("A")
        assert (s.number_of_notifications - s.number_of_resend_notifications
                - s.number_of_requested_notifications) == s.number_of_events
        for event in self.hub.state.events.values():
            assert event.attempts <= c.RESEND_ATTEMPTS_LIMIT
            assert all(count == event.attempts for count in event.subscribers.values())

    def apply(self, op: tuple[Any, ...]) -> None:
        kind = op[0]
        hub = self.hub
        if kind == "publish":
            hub.publish("p", "price", {"v": op[1]})
        elif kind == "advance":
            self.advance(op[1] * 60.0 + op[2])
        elif kind == "lose":
            self.losing = op[1]
        elif kind == "confirm":
            subscriber, pick = op[1], op[2]
            got = self.received[subscriber]
            if got:
                event_id = got[pick % len(got)]
                if hub.confirm_event_processed(subscriber, event_id):
                    self.confirmed.add((subscriber, event_id))
        elif kind == "request":
            lo, span = op[2] * 600.0, op[3] * 600.0
            hub.request_missed_events(op[1], "price", from_=max(0.0, self.now - lo - span),
                                      to=self.now)
        elif kind == "skip":
            hub.subscribe(op[1], "price", skip=op[2])
        elif kind == "filter":
            hub.subscribe(op[1], "price", filter=op[2])
        elif kind == "stop":
            hub.subscribe("B", "price", stopped=op[1])
        elif kind == "active":
            if op[1]:
                hub.subscribe("B", "price")
            else:
                hub.unsubscribe("B", "price")
        elif kind == "listener":
            hub.confirm_listener(f"L{op[1]}", op[1], op[2])


@settings(max_examples=150, deadline=None)
@given(st.lists(ops, max_size=40))
def test_stats_identity_and_no_resend_after_confirm(sequence: list[tuple[Any, ...]]) -> None:
    """For any sequence of publishes, confirms, missed-event requests, option changes, lost
    pushes and time steps (on and between whole seconds): cycles start on whole seconds;
    after every cycle, an active, not stopped subscription with a confirmed listener (that
    never had a first send withheld) has notifications - resend - requested == events; no
    subscriber ever gets an event it already confirmed; and once time passes the 64-hour
    window, nothing is stored any more."""
    run = Run()
    for op in sequence:
        run.apply(op)
    assert run.resent_after_confirm == []
    run.advance(64 * 3600.0 + 2 * c.BROADCAST_DELAY)
    assert run.hub.state.events == {}
    assert run.resent_after_confirm == []
    for subscriber in SUBSCRIBERS:
        sub = run.hub.state.subscriptions[(subscriber, "price")]
        assert sub.events == {}
