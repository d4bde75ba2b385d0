"""The broadcast cycle and its heartbeat grid: when sends happen, attempts, expiry, batches,
round-robin and requested events (``main.mo`` heartbeat, ``modules/broadcast.mo``)."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from sim.sources.pubsub import constants as c
from sim.sources.pubsub.candy import Nat8
from sim.sources.pubsub.hub import Hub
from tests.pubsub_harness import MIN, H, Harness

# The retry gaps are 15 min * 2**k, all multiples of the 3-minute grid, so an event published
# on a whole second is retried exactly this long after its first send.
RETRY_OFFSETS = [0, 900, 2700, 6300, 13500, 27900, 56700, 114300]
DELETED_OFFSET = 229500  # 63.75 h


class Recorder:
    """An actor that records when it is pushed what."""

    def __init__(self) -> None:
        self.got: list[tuple[float, int]] = []

    def handle_event(self, event_id: int, publisher_id: str, event_name: str,
                     payload: object) -> None:
        self.got.append((trio.current_time(), event_id))


def run_hub(hub: Hub, body, seconds: float, instrument: trio.abc.Instrument | None = None) -> None:  # type: ignore[no-untyped-def]
    """Run ``hub.run`` (named "hub") and ``body`` under trio's mock clock for ``seconds``."""
    async def main() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(hub.run, name="hub")
            await body()
            await trio.sleep_until(seconds)
            nursery.cancel_scope.cancel()

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0),
             instruments=[] if instrument is None else [instrument])


def deletions(hub_trace: list[tuple[float, str, dict[str, object]]]) -> list[tuple[float, object]]:
    return [(t, f["event_id"]) for t, e, f in hub_trace if e == "pubsub.delete"]


# -- the heartbeat grid ------------------------------------------------------------------


def test_sends_fall_on_the_first_grid_cycle_at_or_after_their_due_time() -> None:
    """main.mo heartbeat / broadcast.mo ``broadcast``: cycles run every 3 minutes without pause;
    ``publish`` (publish.mo) sets ``nextBroadcastTime := now``, so the next heartbeat runs a
    cycle and the grid restarts there. E1 published at 0 and E2 at 1 min: E1 is due again at
    15 min, but the grid now runs 1, 4, ..., 16 min, so its sends fall at 0, 16, 46, 106 min.
    Run by the hub's own task, as in the world."""
    recorder = Recorder()
    trace: list[tuple[float, str, dict[str, object]]] = []
    hub = Hub(trace=lambda e, **f: trace.append((trio.current_time(), e, f)))
    hub.attach("s", recorder)

    async def body() -> None:
        hub.subscribe("s", "price")
        hub.publish("p", "price", "E1")
        await trio.sleep(60)
        hub.publish("p", "price", "E2")

    run_hub(hub, body, 70 * H)
    e1 = [t for t, i in recorder.got if i == 1]
    e2 = [t for t, i in recorder.got if i == 2]
    assert [t / MIN for t in e1] == [0, 16, 46, 106, 226, 466, 946, 1906]
    assert [t / MIN for t in e2] == [1, 16, 46, 106, 226, 466, 946, 1906]
    assert deletions(trace) == [(3826 * MIN, 1), (3826 * MIN, 2)]
    # Only cycles with work ran: 0, 1, 16, 46, ... min and the deleting one.
    assert hub.state.totals.cycles == 10


def test_a_publish_between_heartbeats_is_sent_at_the_next_whole_second() -> None:
    """main.mo heartbeat: the heartbeat runs once a round (here each whole second), so an
    event published at 600.4 s is first sent at 601 s, and the grid runs from there."""
    recorder = Recorder()
    hub = Hub()
    hub.attach("s", recorder)

    async def body() -> None:
        hub.subscribe("s", "price")
        await trio.sleep(600.4)
        hub.publish("p", "price", 1)

    run_hub(hub, body, 70 * H)
    assert [t for t, _ in recorder.got] == [601 + offset for offset in RETRY_OFFSETS]
    assert hub.state.events == {}
    assert hub.state.last_cycle == 601 + DELETED_OFFSET


def test_request_missed_events_runs_a_cycle_at_once_and_restarts_the_grid() -> None:
    """subscribe.mo ``requestMissedEvents`` sets ``nextBroadcastTime := now``: the requested
    send goes out at the next heartbeat, and E1's retry due at 15 min falls on the new grid
    (100 s + k * 3 min), at 1000 s."""
    h = Harness()
    h.hub.subscribe("s", "price")
    h.hub.publish("p", "price", 1)
    h.run_until(100)
    assert h.hub.request_missed_events("s", "price") == 1
    assert h.hub.next_cycle_time() == 100
    h.run_until(2 * H)
    assert [(n.sent_at, n.requested, n.attempt) for n in h.sent] == [
        (0, False, 0), (100, True, 1), (1000, False, 1), (2800, False, 2), (6400, False, 3)]


def test_one_heartbeat_runs_at_most_one_cycle() -> None:
    """broadcast.mo ``broadcast`` runs when ``now >= nextBroadcastTime`` and then sets it 3 min
    ahead; a publish at the instant of a cycle that already ran waits for the next heartbeat.
    A cycle outside the grid is refused (``run_cycle``) or skipped (``heartbeat``)."""
    h = Harness()
    h.hub.subscribe("s", "price")
    h.hub.publish("p", "price", 1)
    h.cycle(0)
    h.hub.publish("p", "price", 2)  # still at 0 s, after that cycle
    assert h.hub.next_cycle_time() == 1
    with pytest.raises(ValueError, match=r"a broadcast cycle already ran at 0\s?"):
        h.hub.run_cycle(0)
    h.cycle(1)
    assert [(n.event_id, n.sent_at) for n in h.sent] == [(1, 0), (2, 1)]
    with pytest.raises(ValueError, match=r"no broadcast cycle is due at 100s: the next one may "
                                         r"start at 181.0s"):
        h.hub.run_cycle(100)
    assert h.hub.heartbeat(100) is None
    report = h.hub.heartbeat(181)  # an empty grid cycle: nothing due, but it runs
    assert report is not None and report.notifications == ()
    assert h.hub.state.next_broadcast_time == 361
    assert h.hub.next_cycle_time() == 901  # event 1's retry, on the grid 1 s + k * 3 min


def test_a_quiet_hub_costs_nothing() -> None:
    """main.mo heartbeat runs every round, but a cycle with nothing due changes nothing but the
    grid: the hub's task wakes only for cycles with work. An hour with nothing stored takes
    no cycle and no wake-up; 64 h with one unconfirmed event take its 9 cycles."""

    class Steps(trio.abc.Instrument):
        def __init__(self) -> None:
            self.count = 0

        def before_task_step(self, task: trio.lowlevel.Task) -> None:
            if task.name == "hub":
                self.count += 1

    quiet = Hub()

    async def nothing() -> None:
        quiet.subscribe("s", "price")
        await trio.lowlevel.checkpoint()

    steps = Steps()
    run_hub(quiet, nothing, H, steps)
    assert quiet.state.totals.cycles == 0
    assert steps.count <= 2  # start, then the cancellation at the end

    busy = Hub()
    steps = Steps()

    async def one_event() -> None:
        busy.subscribe("s", "price")
        busy.publish("p", "price", 1)
        await trio.lowlevel.checkpoint()

    run_hub(busy, one_event, 64 * H, steps)
    assert busy.state.totals.cycles == 9 and busy.state.events == {}
    assert steps.count <= 3 * 9 + 2


# -- attempts, expiry, confirmation --------------------------------------------------------


def test_deletion_at_the_end_of_the_window_and_attempt_counts() -> None:
    """broadcast.mo ``broadcastEvent``: 1 send + 7 retries; once ``numberOfAttempts`` reaches
    8 the event is deleted at its next due time, 63.75 h after the first send."""
    h = Harness()
    h.hub.subscribe("s", "price")
    event_id = h.hub.publish("p", "price", 1)
    assert event_id == 1
    h.run_until(63.7 * H)
    event = h.hub.state.events[1]
    assert event.attempts == c.RESEND_ATTEMPTS_LIMIT and event.subscribers == {"s": 8}
    assert h.send_times(1) == RETRY_OFFSETS
    h.run_until(63.75 * H)  # still stored (and confirmable) until then
    assert h.hub.state.events == {}
    assert h.hub.state.subscriptions[("s", "price")].events == {}
    assert h.hub.state.totals.deleted_expired == 1
    assert [n.attempt for n in h.sent] == list(range(8))
    assert h.hub.get_subscription_stats("s").number_of_resend_notifications == 7


def test_confirm_stops_resends() -> None:
    """subscribe.mo ``confirmEventProcessed``: a confirmed subscriber gets no more resends;
    the event is deleted once every subscriber confirmed."""
    h = Harness()
    h.hub.subscribe("a", "price")
    h.hub.subscribe("b", "price")
    h.hub.publish("p", "price", 1)
    h.run_until(0)
    assert [n.subscriber_id for n in h.sent] == ["a", "b"]
    h.hub.confirm_event_processed("a", 1)
    h.run_until(2 * H)
    assert len(h.sends_to("a")) == 1
    assert [n.sent_at for n in h.sends_to("b")] == [0, 900, 2700, 6300]
    h.hub.confirm_event_processed("b", 1)
    assert h.hub.state.events == {}
    h.run_until(70 * H)
    assert len(h.sent) == 5


def test_stopped_subscription_receives_nothing_but_attempts_count() -> None:
    """broadcast.mo ``broadcastEvent``: a stopped subscription is skipped, but its attempt
    count rises all the same, so after unstopping it gets the event as a resend."""
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
    """broadcast.mo ``broadcastEvent``: events withheld while stopped come with the next
    retry after unstopping."""
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
    """broadcast.mo ``broadcastEvent``: with no confirmed listener ``Set.popFront`` finds
    nothing, nothing is sent, and the attempt still counts."""
    h = Harness()
    h.hub.register_subscriber("s", listeners=["L"])  # L never confirms
    h.hub.subscribe("s", "price")
    h.hub.publish("p", "price", 1)
    h.run_until(0.3 * H)
    assert h.sent == [] and h.hub.state.events[1].subscribers == {"s": 2}
    h.hub.confirm_listener("L", "s", True)
    h.run_until(0.75 * H)
    assert [(n.listener_id, n.attempt) for n in h.sent] == [("L", 2)]


def test_delivery_is_one_way_and_an_offline_listener_misses_it() -> None:
    """broadcast.mo: ``handleEvent`` is a one-way call; nobody attached means it is lost."""
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


def test_each_push_carries_its_own_copy_of_the_payload() -> None:
    """broadcast.mo sends the payload by value: one receiver changing what it got cannot
    change what another receives, nor the stored event."""
    got: list[object] = []

    class Mutator:
        def handle_event(self, event_id: int, publisher_id: str, event_name: str,
                         payload: object) -> None:
            got.append(payload)
            assert isinstance(payload, dict)
            payload["items"].append("changed")
            payload["new"] = True

    hub = Hub(clock=lambda: 0.0)
    for name in ("a", "b"):
        hub.subscribe(name, "price")
        hub.attach(name, Mutator())
    hub.publish("p", "price", {"items": [1], "typed": Nat8(3)})
    hub.run_cycle(0)
    assert got[1] == {"items": [1, "changed"], "typed": Nat8(3), "new": True}
    assert hub.state.events[1].payload == {"items": [1], "typed": Nat8(3)}


# -- round-robin and batches ----------------------------------------------------------------


def test_round_robin_over_confirmed_listeners() -> None:
    """broadcast.mo: each send pops the first confirmed listener and adds it back last."""
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
    """subscribe.mo ``confirmListener``: confirming s2 takes L away from s1."""
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


def test_each_event_goes_out_in_batches_of_100() -> None:
    """broadcast.mo ``broadcastEvent``: each event's subscribers are offered in batches of
    ``BROADCAST_BATCH_SIZE`` (one message each); every event starts its own batches."""
    h = Harness()
    for i in range(250):
        h.hub.subscribe(f"s{i:03}", "price")
    h.hub.publish("p", "price", 1)
    h.hub.publish("p", "price", 2)
    report = h.cycle(0)
    assert report.batches == 6
    one = [0] * 100 + [1] * 100 + [2] * 50
    assert [n.batch for n in h.sent] == one + one


def test_batches_count_offers_with_an_8_bit_counter() -> None:
    """broadcast.mo ``broadcastEvent``: the batch counter is a ``Nat8`` (``+%= 1``), so it
    wraps to 0 at 256, which also ends a batch: 300 subscribers go 100, 100, 56, 44. Stopped
    subscribers are offered (and counted) without a send."""
    h = Harness()
    for i in range(300):
        h.hub.subscribe(f"s{i:03}", "price", stopped=i < 10)
    h.hub.publish("p", "price", 1)
    h.cycle(0)
    sizes = [sum(1 for n in h.sent if n.batch == b) for b in range(4)]
    assert sizes == [90, 100, 56, 44]


# -- requested events -----------------------------------------------------------------------


def test_request_missed_events_in_range_ignoring_stopped_without_attempts() -> None:
    """subscribe.mo ``requestMissedEvents`` and broadcast.mo ``broadcastResendRequests``: the
    caller's pending events created in [from, to] are sent whatever its subscription's
    state, without changing any attempt count."""
    h = Harness()
    h.hub.subscribe("s", "price", stopped=True)
    for t in (0, 100, 200):
        h.run_until(t)
        h.hub.publish("p", "price", t)
    h.run_until(600)  # each publish ran a cycle at once: every event had its (withheld) try
    attempts_before = {i: dict(e.subscribers) for i, e in h.hub.state.events.items()}
    assert attempts_before == {1: {"s": 1}, 2: {"s": 1}, 3: {"s": 1}}
    assert h.sent == []
    assert h.hub.request_missed_events("s", "price", from_=100, to=250) == 2
    assert h.hub.next_cycle_time() == 600
    h.cycle(600)
    assert [(n.event_id, n.requested, n.attempt) for n in h.sent] == [(2, True, 1), (3, True, 1)]
    assert {i: dict(e.subscribers) for i, e in h.hub.state.events.items()} == attempts_before
    assert [e.attempts for e in h.hub.state.events.values()] == [1, 1, 1]
    stats = h.hub.get_subscription_stats("s")
    assert stats.number_of_requested_notifications == 2
    assert stats.number_of_resend_notifications == 0
    assert all(not e.requests for e in h.hub.state.events.values())
    assert h.hub.state.requested == {}


def test_requests_are_answered_after_every_due_event_is_broadcast() -> None:
    """broadcast.mo ``broadcast``: first every due event (``broadcastEvent``), then every
    event's requests (``broadcastResendRequests``), so a requested old event goes out after
    a new one, and the round-robin follows that order."""
    h = Harness()
    h.hub.register_subscriber("s", listeners=["s", "L"])
    h.hub.confirm_listener("L", "s", True)
    h.hub.subscribe("s", "price")
    h.hub.publish("p", "price", "old")
    h.run_until(100)
    h.hub.publish("p", "price", "new")
    h.hub.request_missed_events("s", "price", to=50)
    h.cycle(100)
    assert [(n.event_id, n.requested, n.listener_id) for n in h.sent] == [
        (1, False, "s"), (2, False, "L"), (1, True, "s")]


def test_a_normal_send_in_the_same_cycle_answers_the_request() -> None:
    """broadcast.mo ``broadcastEvent`` deletes the subscriber's resend request when it sends."""
    h = Harness()
    h.hub.subscribe("s", "price")
    h.hub.publish("p", "price", 1)
    h.hub.request_missed_events("s", "price")
    h.cycle(0)
    assert [(n.event_id, n.requested) for n in h.sent] == [(1, False)]
    assert h.hub.state.requested == {}


def test_request_missed_events_of_confirmed_or_other_names_sends_nothing() -> None:
    """subscribe.mo ``requestMissedEvents`` walks only the caller's pending events of that name."""
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
    """stats.mo counters: notifications - resend - requested == events for an active, not
    stopped subscription with a confirmed listener, after resends and requested sends."""
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
