"""Read-only views of a running world, handed to invariant checkers and the run's summary.

Checkers never hold the world or a node: they read a ``WorldView`` (time, the chain, the
run's records, the sources, one ``NodeView`` per node) and report violations.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from node.app import AppState
from node.resolutions import ResolutionTypes
from node.txs import Tx, UserTx, VoteIDs
from sim.world.cliques import heaviest_clique

if TYPE_CHECKING:
    from node.node import Node
    from sim.consensus.chain import Chain
    from sim.net.network import Network
    from sim.world.gossip import Gossip
    from sim.world.records import RunRecords
    from sim.world.sources import Sources


class NodeView:
    """What may be read of one node from outside: its status, its state, its store."""

    def __init__(self, node: Node) -> None:
        self._node = node
        self.name = node.name
        self.index = node.index

    @property
    def online(self) -> bool:
        return self._node.online

    @property
    def phase(self) -> str:
        return self._node.phase

    @property
    def synced(self) -> bool:
        return self._node.synced

    @property
    def waiting_for_peer(self) -> bool:
        """Catching up with no peer to sync from (it cannot take part until one is reachable)."""
        return self._node.waiting_for_peer

    @property
    def is_validator(self) -> bool:
        return self._node.is_validator

    @property
    def shut_down(self) -> str | None:
        return self._node.shut_down

    @property
    def height(self) -> int:
        return self._node.height

    @property
    def state(self) -> AppState:
        return self._node.state

    @property
    def byzantine(self) -> bool:
        return self._node.byzantine

    @property
    def behaviour(self) -> str:
        return self._node.behaviour.name

    @property
    def extension_configs(self) -> dict[str, dict[str, str]]:
        return self._node.settings.extension_configs

    # -- listeners --------------------------------------------------------------------------
    @property
    def listeners_active(self) -> bool:
        return self._node.listeners.active

    @property
    def listeners_running(self) -> frozenset[str]:
        return frozenset(self._node.listeners.running)

    @property
    def has_listeners(self) -> bool:
        return self._node.listeners.registered > 0

    @property
    def listener_starts(self) -> int:
        return self._node.listeners.starts

    @property
    def listener_cancellations(self) -> int:
        return self._node.listeners.cancellations

    # -- store and mempool ------------------------------------------------------------------
    def has_event(self, rid: str) -> bool:
        return self._node.store.has_event(rid)

    def broadcasted_ids(self) -> list[str]:
        return self._node.store.broadcasted_ids()

    def pending_vote_ids(self) -> set[str]:
        """Ids in this node's own vote-ids txs still in its mempool."""
        return {rid for tx in self._node.actor.mempool.of_sender(self.name) if isinstance(tx, VoteIDs)
                for rid in tx.ids}

    def mempool_txs(self) -> list[Tx]:
        """The txs in this node's mempool, in admission order."""
        return list(self._node.actor.mempool)

    def awaited_vote_ids(self, since_height: int) -> set[str]:
        """Ids of the vote-ids txs this node sent at ``since_height`` or later and has not
        seen executed (a tx its mempool rejected included): it votes them again if they
        are not executed within ``rebroadcast_after`` blocks."""
        return {rid for vote in self._node.actor.outstanding if vote.height >= since_height
                for rid in vote.tx.ids}

    @property
    def rebroadcasts(self) -> int:
        return self._node.stats.rebroadcasts

    @property
    def duplicates_rejected(self) -> int:
        return self._node.stats.duplicates_rejected

    @property
    def user_txs_rejected(self) -> int:
        return self._node.stats.user_txs_rejected


class WorldView:
    """What checkers may read of a running world."""

    def __init__(self, *, now: Callable[[], float], scenario: Any, types: ResolutionTypes,
                 records: RunRecords, trace_records: Sequence[dict[str, Any]], chain: Chain,
                 sources: Sources, nodes: list[Node], gossip: Gossip, network: Network,
                 consensus_idle: Callable[[], bool]) -> None:
        self._now = now
        self.consensus_idle = consensus_idle  # () -> whether the consensus engine has nothing to come
        self.scenario = scenario
        self.types = types
        self.records = records
        self.trace_records = trace_records
        self.chain = chain
        self.sources = sources
        self.nodes = [NodeView(node) for node in nodes]
        self.by_name = {view.name: view for view in self.nodes}
        self._gossip = gossip
        self._network = network

    @property
    def now(self) -> float:
        return self._now()

    def node(self, name: str) -> NodeView:
        return self.by_name[name]

    def chain_state(self) -> AppState:
        """The application state after the chain's last committed block."""
        return self.chain.state_after(self.chain.height)

    def consensus_powers(self) -> dict[str, int]:
        """Voting powers of the validator set deciding the next height."""
        return self.chain.consensus_powers(self.chain.height + 1)

    def reaches(self, name: str, group: set[str]) -> bool:
        """Whether node ``name`` and some member of ``group`` reach each other."""
        if group == {name}:
            return True
        peers = self._network.both_ways(self.by_name[name].index)
        if not len(peers):
            return False
        members = np.fromiter((self.by_name[g].index for g in group), dtype=np.intp, count=len(group))
        return bool(np.isin(members, peers).any())

    def connected_majority(self, too_late: float = math.inf) -> set[str] | None:
        """Online validators holding more than 2/3 of the consensus power that all reach each
        other directly, links both ways, or None when there is no such group. Directly:
        the simulated network does not relay, so a group joined only through a third node
        cannot agree (the heaviest such group is found exactly up to 12 validators, greedily
        beyond). A validator waiting for a peer to block-sync from counts as absent: alone
        with more than 2/3 of the power after a restart, it still cannot take part; so does
        one left behind the chain that reaches no peer with the blocks it lacks. A link
        whose extra delay (a ``delay`` fault) is ``too_late`` or more counts as cut: what
        crosses it misses the deadlines of the round in progress; so does a link that loses
        every message (a ``drop`` fault of probability 1: its re-sends are lost too)."""
        powers = self.consensus_powers()
        total = sum(powers.values())
        if total <= 0:
            return None
        members = [v for v in self.nodes if v.online and powers.get(v.name, 0) > 0 and not v.waiting_for_peer]
        stranded = self._stranded(members)
        if stranded:
            members = [v for v in members if v.index not in stranded]
        names = [v.name for v in members]
        epoch = self._network.current
        index = np.array([v.index for v in members], dtype=np.intp)
        up = epoch.online[index]
        if epoch.blocked.any() or epoch.extra.max(initial=0.0) >= too_late or epoch.drop.max(initial=0.0) >= 1.0:
            links = np.ix_(index, index)
            cut = epoch.blocked[links] | (epoch.extra[links] >= too_late) | (epoch.drop[links] >= 1.0)
            cut = cut | cut.T | ~(up[:, None] & up[None, :])
        else:  # no link is cut (the common case: two million-cell gathers saved at 1,000 nodes)
            cut = ~(up[:, None] & up[None, :])
        np.fill_diagonal(cut, False)
        group = heaviest_clique(names, cut, [powers[n] for n in names])
        return set(group) if 3 * sum(powers[n] for n in group) > 2 * total else None

    def _stranded(self, members: list[NodeView]) -> set[int]:
        """Indices of the members behind the chain that no online peer they reach (both
        ways) is ahead of: a partitioned minority cannot learn that the chain moved on (it
        stays in consensus at its old height, as in CometBFT), so it cannot help decide the
        next height however much power the chain now gives it."""
        height = self.chain.height
        behind = [v for v in members if v.height < height]
        if not behind:
            return set()
        heights = np.array([v.height if v.online else -1 for v in self.nodes], dtype=np.int64)
        rows = np.array([v.index for v in behind], dtype=np.intp)
        reach = self._network.both_ways_rows(rows)
        ahead: np.ndarray = heights[None, :] > heights[rows][:, None]  # (never a node itself)
        has_peer: list[bool] = (reach & ahead).any(axis=1).tolist()
        return {v.index for v, found in zip(behind, has_peer, strict=True) if not found}

    def pending_user_txs(self) -> set[UserTx]:
        """Users' txs still travelling or waiting in an online node's mempool."""
        pending = {tx for tx in self._gossip.in_flight() if isinstance(tx, UserTx)}
        for view in self.nodes:
            if view.online:
                pending.update(tx for tx in view.mempool_txs() if isinstance(tx, UserTx))
        return pending

    def pending_votes(self) -> set[tuple[str, str]]:
        """(sender, id) of every vote-ids tx still travelling or waiting in its sender's mempool."""
        pending = self._gossip.pending_votes()
        for view in self.nodes:
            if view.online:
                pending.update((view.name, rid) for rid in view.pending_vote_ids())
        return pending
