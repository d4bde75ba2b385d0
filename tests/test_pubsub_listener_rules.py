"""Which listeners receive a subscriber's events (``modules/subscribe.mo``
``registerSubscriber`` and ``confirmListener``; round-robin in ``modules/broadcast.mo``)."""

from __future__ import annotations

import pytest

from sim.sources.pubsub.errors import PubSubError
from tests.pubsub_harness import Harness, same_state, snapshot


def confirmed(h: Harness, subscriber: str) -> list[str]:
    return list(h.hub.state.subscribers[subscriber].confirmed_listeners)


def listeners_of_sends(h: Harness, subscriber: str) -> list[str]:
    return [n.listener_id for n in h.sends_to(subscriber)]


def test_a_new_subscriber_is_its_own_confirmed_listener_outside_the_map() -> None:
    """subscribe.mo ``registerSubscriber``: a new subscriber starts with ``listeners`` and
    ``confirmedListeners`` = {itself}; the listener map (``confirmedListeners`` in the state)
    is not touched."""
    h = Harness()
    h.hub.register_subscriber("s")
    assert list(h.hub.state.subscribers["s"].listeners) == ["s"]
    assert confirmed(h, "s") == ["s"]
    assert h.hub.state.listener_owner == {}


def test_a_subscriber_serving_as_another_ones_listener_still_gets_its_own_events() -> None:
    """subscribe.mo ``confirmListener``: S confirming as T's listener maps S -> T, which only
    touches T's confirmed set; S's own confirmation of itself stays, so S receives both its
    own events and T's."""
    h = Harness()
    h.hub.subscribe("S", "price")
    h.hub.register_subscriber("T", listeners=["S"])
    h.hub.confirm_listener("S", "T", True)
    h.hub.subscribe("T", "price")
    h.hub.publish("p", "price", 1)
    h.run_until(0)
    assert [(n.subscriber_id, n.listener_id) for n in h.sent] == [("S", "S"), ("T", "S")]
    assert confirmed(h, "S") == ["S"] and confirmed(h, "T") == ["S"]


def test_a_listener_that_registers_later_receives_its_own_events() -> None:
    """subscribe.mo ``registerSubscriber`` creates the subscriber with itself confirmed,
    whatever the listener map says: L was T's listener before it subscribed, and still gets
    its own events (and T's)."""
    h = Harness()
    h.hub.register_subscriber("T", listeners=["L"])
    h.hub.confirm_listener("L", "T", True)
    h.hub.subscribe("T", "price")
    h.hub.subscribe("L", "price")
    assert confirmed(h, "L") == ["L"]
    h.hub.publish("p", "price", 1)
    h.run_until(0)
    assert [(n.subscriber_id, n.listener_id) for n in h.sent] == [("T", "L"), ("L", "L")]


@pytest.mark.parametrize("listed_first", [True, False])
def test_listener_is_confirmed_when_listed_and_confirming_in_either_order(
        listed_first: bool) -> None:
    """subscribe.mo ``registerSubscriber`` (``#listenersAdd``) and ``confirmListener``: L is
    confirmed for S once S lists L and L confirmed S, in either order."""
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
    """subscribe.mo ``confirmListener`` records L -> S even before S exists."""
    h = Harness()
    h.hub.confirm_listener("L", "s", True)
    h.hub.register_subscriber("s", listeners=["L"])
    assert confirmed(h, "s") == ["L"]


def test_one_listener_serves_one_subscriber() -> None:
    """subscribe.mo ``confirmListener``: confirming another subscriber moves the listener."""
    h = Harness()
    h.hub.register_subscriber("s1", listeners_add=["L"])
    h.hub.register_subscriber("s2", listeners_add=["L"])
    h.hub.confirm_listener("L", "s1", True)
    assert "L" in confirmed(h, "s1") and "L" not in confirmed(h, "s2")
    h.hub.confirm_listener("L", "s2", True)
    assert "L" not in confirmed(h, "s1") and "L" in confirmed(h, "s2")


def test_allow_false_removes_only_a_mapping_to_that_subscriber() -> None:
    """subscribe.mo ``confirmListener`` with ``allow = false`` acts only if the map names S."""
    h = Harness()
    h.hub.register_subscriber("s1", listeners_add=["L"])
    h.hub.confirm_listener("L", "s1", True)
    h.hub.confirm_listener("L", "s2", False)  # points to s1, not s2: nothing happens
    assert "L" in confirmed(h, "s1")
    h.hub.confirm_listener("L", "s1", False)
    assert "L" not in confirmed(h, "s1")
    assert "L" not in h.hub.state.listener_owner


def test_a_subscriber_cannot_confirm_itself() -> None:
    """subscribe.mo ``confirmListener`` traps with "Can not confirm self as listener"."""
    h = Harness()
    h.hub.register_subscriber("s")
    before = snapshot(h.hub)
    with pytest.raises(PubSubError, match="^Can not confirm self as listener: s is the "
                                          "subscriber$"):
        h.hub.confirm_listener("s", "s", True)
    assert same_state(before, snapshot(h.hub))


def test_listener_options_replace_add_and_remove() -> None:
    """subscribe.mo ``registerSubscriber``: ``#listeners`` replaces, ``#listenersAdd`` appends
    (the subscriber itself is confirmed when listed), ``#listenersRemove`` removes from both
    sets."""
    h = Harness()
    h.hub.confirm_listener("L1", "s", True)
    h.hub.confirm_listener("L2", "s", True)
    h.hub.register_subscriber("s", listeners=["L1", "L2"])
    assert list(h.hub.state.subscribers["s"].listeners) == ["L1", "L2"]
    assert confirmed(h, "s") == ["L1", "L2"]
    h.hub.register_subscriber("s", listeners_remove=["L1"])
    assert list(h.hub.state.subscribers["s"].listeners) == ["L2"]
    assert confirmed(h, "s") == ["L2"]
    h.hub.register_subscriber("s", listeners_add=["L1", "s"])
    assert confirmed(h, "s") == ["L2", "L1", "s"]


def test_replacing_the_list_restarts_round_robin_in_list_order() -> None:
    """subscribe.mo ``registerSubscriber`` ``#listeners``: ``Set.clear`` both sets, then re-add
    the confirmed ones in list order, so the next sends follow the new list's order."""
    h = Harness()
    h.hub.register_subscriber("s", listeners=["A", "B", "C"])
    for listener in ("A", "B", "C"):
        h.hub.confirm_listener(listener, "s", True)
    h.hub.subscribe("s", "price")
    h.hub.publish("p", "price", 1)
    h.hub.publish("p", "price", 2)
    h.run_until(0)
    assert listeners_of_sends(h, "s") == ["A", "B"]
    assert confirmed(h, "s") == ["C", "A", "B"]  # round-robin moved A and B to the back
    h.hub.register_subscriber("s", listeners=["B", "X", "A", "C"])  # X never confirmed
    assert confirmed(h, "s") == ["B", "A", "C"]
    h.now = 10
    for v in range(4):
        h.hub.publish("p", "price", v)
    h.run_until(10)
    assert listeners_of_sends(h, "s")[2:] == ["B", "A", "C", "B"]


def test_adding_listeners_keeps_the_round_robin_places() -> None:
    """subscribe.mo ``registerSubscriber`` ``#listenersAdd``: ``Set.add`` leaves listeners
    already confirmed where they are and puts a newly confirmed one at the back."""
    h = Harness()
    h.hub.register_subscriber("s", listeners=["A", "B"])
    h.hub.confirm_listener("A", "s", True)
    h.hub.confirm_listener("B", "s", True)
    h.hub.confirm_listener("C", "s", True)
    h.hub.subscribe("s", "price")
    h.hub.publish("p", "price", 1)
    h.run_until(0)
    assert confirmed(h, "s") == ["B", "A"]
    h.hub.register_subscriber("s", listeners_add=["A", "C"])
    assert confirmed(h, "s") == ["B", "A", "C"]
