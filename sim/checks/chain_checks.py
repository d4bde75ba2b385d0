"""Invariants over the replicated chain: ``same-state`` and ``nonce-order``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sim.checks.base import Checker

if TYPE_CHECKING:
    from sim.consensus.chain import Committed
    from sim.world.views import NodeView


class SameState(Checker):
    """Every node that committed height h has the same application state hash at h."""

    name = "same-state"

    def on_node_commit(self, node: NodeView, block: Any) -> None:
        committed = self.view.chain.committed.get(block.height)
        if committed is not None and node.state.hash != committed.state_hash:
            self.report((node.name, committed.block.proposer),
                        f"state hash at height {block.height} differs: {node.state.hash[:12]} on "
                        f"{node.name}, {committed.state_hash[:12]} on the chain")


class NonceOrder(Checker):
    """Committed txs of each account have consecutive nonces."""

    name = "nonce-order"

    def __init__(self, view: Any, report: Any) -> None:
        super().__init__(view, report)
        self._last: dict[str, int] = {}

    def on_block(self, committed: Committed) -> None:
        for outcome in committed.result.txs:
            if outcome.error is not None and outcome.error.startswith("nonce"):
                continue
            tx = outcome.tx
            expected = self._last.get(tx.sender, 0) + 1
            if tx.nonce != expected:
                self.report((tx.sender,), f"committed nonce {tx.nonce} of {tx.sender} at height "
                            f"{committed.block.height}, expected {expected}")
            self._last[tx.sender] = tx.nonce
