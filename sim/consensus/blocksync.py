"""Block sync: how a node that is catching up gets the blocks it missed, and what its peers have.

A node catching up asks for one block at a time; the block arrives ``1 / block_sync_rate``
seconds later from any peer it can reach (both ways) that has committed it. A node learns
the best height of the peers it can reach, which is how it knows when it has caught up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.consensus.chain import Chain
from sim.engine.kernel import Kernel, Timer
from sim.net.network import Network

if TYPE_CHECKING:
    from node.node import Node


class BlockSync:
    """Serves committed blocks to nodes that fetch them."""

    def __init__(self, kernel: Kernel, network: Network, chain: Chain, nodes: list[Node],
                 rate: float) -> None:
        self._kernel = kernel
        self._network = network
        self._chain = chain
        self._nodes = nodes
        self._interval = 1.0 / rate
        self._fetches: dict[int, Timer] = {}
        # each node's committed height, kept by node_committed: asking a thousand nodes their
        # height at every fetched block was most of a catch-up's cost
        self._heights = np.array([node.height for node in nodes], dtype=np.int64)

    def node_committed(self, i: int, height: int) -> None:
        """Node ``i`` committed ``height`` (FinalizeBlock and Commit, by consensus or sync)."""
        self._heights[i] = height

    def best_peer_height(self, i: int) -> int | None:
        """The best committed height among the peers node ``i`` can reach (None: none)."""
        peers = self._network.both_ways(i)
        if not len(peers):
            return None
        heights = self._heights[peers]
        nodes = self._nodes
        best = int(heights.argmax())
        if nodes[int(peers[best])].online:
            return int(heights[best])
        # a peer the network counts online whose node has not started yet (restarted now)
        up = [k for k, j in enumerate(peers.tolist()) if nodes[j].online]
        return int(heights[up].max()) if up else None

    def peer_has(self, i: int, height: int) -> bool:
        """Whether a peer node ``i`` can reach (both ways) has committed ``height``: one it
        could get that block from."""
        peers = self._network.both_ways(i)
        nodes = self._nodes
        return any(nodes[j].online for j in peers[self._heights[peers] >= height].tolist())

    def fetch(self, i: int, height: int) -> None:
        """Node ``i`` asks for block ``height``; it gets it (or None) after one sync interval."""
        old = self._fetches.pop(i, None)
        if old is not None:
            old.cancel()
        self._fetches[i] = self._kernel.call_later(self._interval, self._deliver, i, height)

    def cancel(self, i: int) -> None:
        timer = self._fetches.pop(i, None)
        if timer is not None:
            timer.cancel()

    def _deliver(self, i: int, height: int) -> None:
        self._fetches.pop(i, None)
        node = self._nodes[i]
        if not node.online:
            return
        committed = self._chain.committed.get(height)
        has_it = committed is not None and self.peer_has(i, height)
        node.block_fetched(committed.block if has_it and committed is not None else None)
