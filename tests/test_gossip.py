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


CONFLICTS = st.lists(st.one_of(
    st.tuples(st.just("submit"), st.integers(0, 3), st.integers(1, 6)),  # (node, nonce)
    st.tuples(st.just("withdraw"), st.integers(0, 60), st.just(0)),  # (which tx sent so far)
    st.tuples(st.just("prune"), st.integers(0, 3), st.integers(0, 6)),  # (account, nonce consumed)
), max_size=60)


@settings(max_examples=200, deadline=None)
@given(steps=CONFLICTS)
def test_the_txs_in_flight_are_those_sent_and_neither_withdrawn_nor_consumed(
        steps: list[tuple[str, int, int]]) -> None:
    """Whatever was sent (several txs of one account may share a nonce, as when two nodes
    admit a user's txs on their own views), withdrawn (only the very tx, not another of its
    nonce) or consumed by the chain (each account up to its own nonce), ``in_flight`` holds
    exactly the txs sent and neither withdrawn nor consumed, in the order they were sent. (The
    world finds them by sender and nonce rather than by a scan: a scan per withdrawn vote and
    per block was a third of a saturated chain's run.)"""
    names = ["v0", "v1", "v2", "v3"]
    network = Network(names, types.SimpleNamespace(dist="fixed", value=0.05), 0.0, RngStreams(1))
    gossip = Gossip(network, RngStreams(1), Kernel(VirtualClock()), lambda node, txs: None)
    sent: list[UserTx] = []
    model: list[UserTx] = []
    consumed = dict.fromkeys(["u0", "u1", "u2", "u3"], 0)
    for action, a, b in steps:
        if action == "submit":
            tx = UserTx(f"u{b % 4}", b, 100, serial=len(sent))
            sent.append(tx)
            model.append(tx)
            gossip.submit(a, tx)
        elif action == "withdraw" and sent:
            gone = sent[a % len(sent)]
            gossip.withdraw(gone)
            model = [tx for tx in model if tx != gone]
        elif action == "prune":
            consumed[f"u{a}"] = max(consumed[f"u{a}"], b)
            gossip.prune(dict(consumed))
            model = [tx for tx in model if tx.nonce > consumed[tx.sender]]
        assert gossip.in_flight() == model
