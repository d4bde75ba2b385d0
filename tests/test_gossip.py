"""Txs in flight between mempools (``sim.world.gossip``): what the world asks of them."""

from __future__ import annotations

import types

from hypothesis import given, settings
from hypothesis import strategies as st

from node.txs import UserTx
from sim.engine.clock import VirtualClock
from sim.engine.kernel import Kernel
from sim.engine.rng import RngStreams
from sim.net.network import Network
from sim.world.gossip import Gossip

STEPS = st.lists(st.one_of(
    st.tuples(st.just("wait"), st.integers(0, 3)),
    st.tuples(st.just("submit"), st.integers(0, 3)),  # (sender index)
    st.tuples(st.just("withdraw"), st.integers(0, 50)),  # (which tx sent so far)
    st.tuples(st.just("prune"), st.integers(0, 6)),  # (nonces the chain consumed, every sender)
), max_size=40)


@settings(max_examples=150, deadline=None)
@given(steps=STEPS)
def test_the_oldest_submission_is_the_earliest_send_of_a_tx_still_travelling(
        steps: list[tuple[str, int]]) -> None:
    """Whatever was sent, withdrawn or consumed by the chain, ``oldest_submission`` is the
    earliest time one of the txs still in flight was sent (None when none is)."""
    names = ["v0", "v1", "v2", "v3"]
    clock = VirtualClock()
    network = Network(names, types.SimpleNamespace(dist="fixed", value=0.05), 0.0, RngStreams(1))
    gossip = Gossip(network, RngStreams(1), Kernel(clock), lambda node, txs: None)
    sent: dict[UserTx, float] = {}
    nonces = dict.fromkeys(names, 0)
    for action, value in steps:
        if action == "wait":
            clock.now += value * 0.5
        elif action == "submit":
            nonces[names[value]] += 1
            tx = UserTx(names[value], nonces[names[value]], 100, serial=len(sent))
            sent[tx] = clock.now
            gossip.submit(value, tx)
        elif action == "withdraw" and sent:
            gossip.withdraw(list(sent)[value % len(sent)])
        elif action == "prune":
            gossip.prune(dict.fromkeys(names, value))
        travelling = gossip.in_flight()
        expected = min((sent[tx] for tx in travelling), default=None)
        assert gossip.oldest_submission() == expected
