"""Invariant checkers, run as the world steps; each lives in its own module.

A checker sees the world through three hooks (a block committed on the chain, a node
committed a block, the run ended) and reports a ``Violation`` naming the invariant, the
virtual time, the nodes involved and a short explanation. ``[checks] invariants`` picks
which run (default: all).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sim.checks.base import Checker, Violation
from sim.checks.chain_checks import NonceOrder, SameState
from sim.checks.deposits import DepositsExact
from sim.checks.liveness import Liveness
from sim.checks.node_checks import ListenerLifecycle, NoLostEvents, NoNodePanic, VotesSent
from sim.checks.progress_checks import ChainStalled, NodeInSync, tick_interval
from sim.checks.resolution_checks import (
    ExpiryExact,
    NoFakeResolution,
    OneVotePerValidator,
    RefundsExact,
    ResolutionOnce,
    ThresholdRespected,
)
from sim.checks.source_checks import PubSubStats, WatcherOrder

if TYPE_CHECKING:
    from sim.consensus.chain import Committed
    from sim.world.views import NodeView, WorldView

__all__ = ["Checker", "Checks", "Violation", "ALL_CHECKERS"]

ALL_CHECKERS: dict[str, type[Checker]] = {
    checker.name: checker
    for checker in (SameState, NonceOrder, ResolutionOnce, ThresholdRespected, ExpiryExact,
                    RefundsExact, OneVotePerValidator, NoFakeResolution, NoLostEvents,
                    ListenerLifecycle, VotesSent, DepositsExact, WatcherOrder, PubSubStats, ChainStalled,
                    NodeInSync, NoNodePanic)
}


class Checks:
    """The checkers a run uses, fanned out from the world's hooks."""

    def __init__(self, view: WorldView, config: Any, report: Callable[[Violation], None]) -> None:
        wanted = config.invariants
        names = sorted(ALL_CHECKERS) if wanted == "all" else [n for n in wanted if n in ALL_CHECKERS]
        self.checkers = [ALL_CHECKERS[n](view, report) for n in names]
        self.checkers.append(Liveness(view, report))  # liveness only runs when configured
        # dispatch each hook only to the checkers that use it (on_node_commit runs per node)
        self._block = [c for c in self.checkers if type(c).on_block is not Checker.on_block]
        self._node = [c for c in self.checkers if type(c).on_node_commit is not Checker.on_node_commit]
        self._proposal = [c for c in self.checkers if type(c).on_proposal is not Checker.on_proposal]
        self._tick = [c for c in self.checkers if type(c).tick is not Checker.tick]
        self.tick_interval = tick_interval(view)

    def on_block(self, committed: Committed) -> None:
        for checker in self._block:
            checker.on_block(committed)

    def on_node_commit(self, node: NodeView, block: Any) -> None:
        for checker in self._node:
            checker.on_node_commit(node, block)

    def on_proposal(self, node: NodeView, height: int) -> None:
        for checker in self._proposal:
            checker.on_proposal(node, height)

    def tick(self) -> None:
        for checker in self._tick:
            checker.tick()

    def at_end(self) -> None:
        for checker in self.checkers:
            checker.tick()
            checker.at_end()
