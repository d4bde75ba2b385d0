"""The world's interface, as one node sees it.

A node is handed one ``NodeHost``; it never imports the world. Everything a node does to
the outside (time, trace, randomness, gossip, external systems, the consensus engine, block
sync) goes through here, and the host knows which node it serves.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from node.app import AppState
from node.execute import BlockResult
from node.txs import Block, Tx

if TYPE_CHECKING:
    from node.abci import Finalized


# The trace event of a fault that found nothing to act on (the host counts them for the
# run's summary: a fault that did nothing is never silent).
NO_EFFECT = "fault.no_effect"


class NodeHost(Protocol):
    # -- time, trace, randomness, external systems ---------------------------------------
    def now(self) -> float:
        """This node's reading of the clock (virtual seconds, plus any clock skew)."""
    def emit(self, event: str, **fields: Any) -> None:
        """Add a record to the run's trace."""
    def stream(self, name: str) -> random.Random:
        """The seeded random stream called ``name``."""
    def dial(self, address: str) -> Any:
        """This node's endpoint of the external system at ``address``."""
    def defer(self, work: Callable[[], None]) -> None:
        """Run ``work()`` at this instant, once the world's current step is done and before
        anything later happens."""

    # -- the chain -----------------------------------------------------------------------
    def execute(self, pre: AppState, block: Block) -> tuple[AppState, BlockResult, str]:
        """The state after ``block`` on ``pre`` (a pure function, shared by every node)."""

    # -- gossip ----------------------------------------------------------------------------
    def gossip(self, tx: Tx) -> None:
        """Send an admitted own tx to every other node."""
    def withdraw(self, tx: Tx) -> None:
        """The node gave ``tx`` up (it votes again instead): no other node includes it."""

    # -- the consensus engine and block sync -----------------------------------------------
    def proposal_ready(self, height: int, round_: int, txs: list[Tx]) -> None:
        """The answer to ``Propose``: this node's proposal for (height, round)."""
    def enter_consensus(self, height: int) -> None:
        """This node, caught up, takes part in ``height`` from now on."""
    def best_peer_height(self) -> int | None:
        """The best height of the peers this node can reach (None: none reachable)."""
    def fetch_block(self, height: int) -> None:
        """Block sync: fetch ``height`` from a peer; ``Node.block_fetched`` gets it."""
    def went_down(self) -> None:
        """The node crashed or shut down: it takes part in nothing until it restarts."""

    # -- what the run records --------------------------------------------------------------
    def committed(self, finalized: Finalized, *, consensus: bool) -> None:
        """The node committed a block (by consensus, or by block sync)."""
    def votes_sent(self, ids: tuple[str, ...]) -> None:
        """The node sent a vote-ids tx for ``ids`` (the events became broadcasted there)."""
    def observed(self, resolution_id: str, event_type: str) -> None:
        """A listener on the node stored a new event."""
    def node_failed(self, reason: str, *, panic: bool = False) -> None:
        """The node shut itself down: a listener raised, or (``panic``) its software failed."""
