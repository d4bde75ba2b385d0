"""Nodes in consensus that the network has moved past: they must block-sync what they wait for.

CometBFT's consensus reactor keeps sending a peer at a lower height the block and its commit
(gossipDataForCatchup); here such a node block-syncs it from a peer it reaches that has it.
With no such peer it stays in consensus at its old height, as in CometBFT: a partitioned
minority cannot learn that the chain moved on. Each function yields the nodes to send to
block sync one at a time, so the caller's change to one is seen when the next is judged.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterator, Sequence
from typing import TYPE_CHECKING

from node.node import IN_CONSENSUS

if TYPE_CHECKING:
    from node.node import Node

CommitComing = Callable[[int, int], bool]  # (node, height) -> a commit of it is scheduled
PeerHas = Callable[[int, int], bool]  # (node, height) -> it reaches a peer with that block


def stranded(nodes: Sequence[Node], decided: Container[int], commit_coming: CommitComing,
             peer_has: PeerHas) -> Iterator[Node]:
    """Nodes in consensus at a height the chain has decided, with no commit of it coming in
    the plan (a node that left the height more than once keeps only its last stay)."""
    for node in nodes:
        waiting_for = node.height + 1
        if node.online and node.phase == IN_CONSENSUS and waiting_for in decided \
                and not commit_coming(node.index, waiting_for) and peer_has(node.index, waiting_for):
            yield node


def laggers(nodes: Sequence[Node], i: int, height: int, commit_coming: CommitComing,
            peer_has: PeerHas) -> Iterator[Node]:
    """Nodes still in consensus at a height node ``i`` (now entering ``height``) has already
    committed, with no commit of it coming: its decision was lost with a peer that crashed
    right after committing."""
    if height <= 1:
        return  # no node can be a height behind the first (and at genesis all enter it)
    for node in nodes:
        if node.index == i or not node.online or node.phase != IN_CONSENSUS:
            continue
        waiting_for = node.height + 1
        if waiting_for < height and not commit_coming(node.index, waiting_for) \
                and peer_has(node.index, waiting_for):
            yield node


def left_behind(nodes: Sequence[Node], heights: Sequence[int], retired: int,
                peer_has: PeerHas) -> Iterator[Node]:
    """Nodes still in consensus at or below the ``retired`` height, which is planned no more
    (``heights``: theirs, read before the first is sent to block sync)."""
    for node, at in zip(nodes, heights, strict=True):
        if node.phase == IN_CONSENSUS and at < retired and peer_has(node.index, at + 1):
            yield node
