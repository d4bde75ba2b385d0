"""The world's small public interface, as a node sees it.

A node is handed one ``NodeHost``; it never imports the world. Everything a node does to
the outside (time, trace, randomness, gossip, external systems) goes through here.
"""

from __future__ import annotations

import random
from typing import Any, Protocol

from node.txs import Tx


class NodeHost(Protocol):
    def now(self) -> float: ...
    def emit(self, event: str, **fields: Any) -> None:
        """Add a record to the run's trace."""
    def stream(self, name: str) -> random.Random:
        """The seeded random stream called ``name``."""
    def dial(self, node: str, address: str) -> Any: ...
    def submit_tx(self, tx: Tx) -> None:
        """Gossip a tx from its sender's node to every other node."""
    def withdraw_tx(self, tx: Tx) -> None:
        """The sender re-votes instead of ``tx``: drop it from every mempool."""
    def received_txs(self, node: str, time: float) -> list[Tx]:
        """Txs from other senders that reached ``node`` by ``time`` and are not committed."""
    def votes_sent(self, node: str, ids: tuple[str, ...]) -> None:
        """``node`` sent a vote-ids tx for ``ids`` (the events became broadcasted there)."""
    def observed(self, node: str, resolution_id: str, event_type: str) -> None:
        """A listener on ``node`` stored a new event."""
    def node_failed(self, node: str, reason: str) -> None:
        """A node shut itself down (a listener raised)."""
