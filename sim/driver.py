"""Drives consensus through virtual time: plans heights, fires proposals and commits.

The driver keeps a plan (``sim.consensus.plan_height``) for the heights in progress and
turns it into kernel events: the proposal of each round at its proposer, and each node's
commit. Whenever the network or the set of online nodes changes, every height in progress
is re-planned; plans are causal, so what already happened stays as it was. Nodes that fall
more than a height behind (a partition, a restart) catch up by block sync and then join
the height in progress.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from node.txs import Block, Tx
from sim.consensus import HeightPlan, Timeouts, plan_height
from sim.kernel import Timer

if TYPE_CHECKING:
    from sim.world import World

INF = math.inf


class ConsensusDriver:
    """Heights in progress, their kernel events, and block sync for lagging nodes."""

    def __init__(self, world: World, timeouts: Timeouts, block_sync_rate: float) -> None:
        self.world = world
        self.kernel = world.kernel
        self.network = world.network
        self.chain = world.chain
        self.nodes = world.nodes
        self.timeouts = timeouts
        self.block_sync_rate = block_sync_rate
        n = len(self.nodes)
        self.plans: dict[int, HeightPlan] = {}
        self.entries: dict[int, np.ndarray] = {}
        self._joins: dict[int, dict[int, float]] = {}
        self._commit_timers: dict[int, dict[int, Timer]] = {}
        self._propose_timers: dict[tuple[int, int], Timer] = {}
        self.proposals: dict[tuple[int, int], tuple[int, float, list[Tx]]] = {}
        self.commit_times: dict[int, np.ndarray] = {}
        self.skew = np.zeros(n)
        self._last_consensus_commit = np.full(n, -1, dtype=np.int64)
        self._last_commit_time = np.full(n, INF)
        self.block_intervals: list[float] = []
        self._syncing: dict[int, Timer] = {}

    # -- planning ----------------------------------------------------------------------
    @property
    def frontier(self) -> int:
        return max(self.plans, default=0)

    def start(self) -> None:
        entry = np.array([0.0 if node.online else INF for node in self.nodes])
        self.entries[1] = entry
        self._plan(1)

    def _plan(self, height: int) -> None:
        entry = self.entries[height].copy()
        for i, t in self._joins.get(height, {}).items():
            entry[i] = min(entry[i], t) if math.isfinite(entry[i]) else t
        online = np.array([node.online for node in self.nodes])
        entry[~online] = INF
        powers, total = self.chain.power_array(height)
        plan = plan_height(height, entry, powers, total, self.chain.proposer_fn(height),
                           self.timeouts, self.network)
        plan.commit[~online] = INF
        self.plans[height] = plan
        self._schedule(height, plan)

    def _schedule(self, height: int, plan: HeightPlan) -> None:
        now = self.kernel.now
        for timer in self._commit_timers.pop(height, {}).values():
            timer.cancel()
        done = self.commit_times.get(height)
        timers: dict[int, Timer] = {}
        for i in np.flatnonzero(np.isfinite(plan.commit)):
            if done is not None and math.isfinite(done[i]):
                continue
            timers[int(i)] = self.kernel.call_at(max(float(plan.commit[i]), now), self._on_commit,
                                                 height, int(i), priority=1)
        self._commit_timers[height] = timers
        for round_plan in plan.rounds:
            key = (height, round_plan.round)
            if key in self.proposals or not math.isfinite(round_plan.proposal_time):
                continue
            old = self._propose_timers.pop(key, None)
            if old is not None:
                old.cancel()
            self._propose_timers[key] = self.kernel.call_at(
                max(round_plan.proposal_time, now), self._on_propose, height, round_plan.round,
                round_plan.proposer)

    def _next_entries(self, height: int) -> np.ndarray:
        """Entry times into ``height + 1``: each node's commit of ``height`` + timeout_commit."""
        plan = self.plans[height]
        commits = plan.commit.copy()
        done = self.commit_times.get(height)
        if done is not None:
            commits = np.where(np.isfinite(done), done, commits)
        return commits + self.timeouts.commit + self.skew

    def replan(self) -> None:
        """The network or the online set changed: re-plan every height in progress."""
        for height in sorted(self.plans):
            if height - 1 in self.plans:
                self.entries[height] = self._next_entries(height - 1)
            self._plan(height)
        self.resume_syncs()

    # -- kernel events -----------------------------------------------------------------
    def _on_propose(self, height: int, round_: int, proposer: int) -> None:
        self._propose_timers.pop((height, round_), None)
        node = self.nodes[proposer]
        txs = node.propose(height, self.kernel.now) if node.online else []
        self.proposals[(height, round_)] = (proposer, self.kernel.now, txs)

    def _on_commit(self, height: int, i: int) -> None:
        self._commit_timers.get(height, {}).pop(i, None)
        node = self.nodes[i]
        if not node.online or node.height != height - 1:
            return
        plan = self.plans[height]
        assert plan.decided_round is not None
        committed = self.chain.committed.get(height)
        if committed is None:
            proposer, time, txs = self.proposals[(height, plan.decided_round)]
            block = Block(height, plan.decided_round, self.nodes[proposer].name, time, tuple(txs),
                          self.world.faults.take_overrides())
            state, result, block_hash = self.chain.execute(self.chain.state_after(height - 1), block)
            committed = self.chain.record(block, block_hash, state, result, self.kernel.now)
            self.world.on_block(committed)
        self._commit_node(i, committed.block, consensus=True)
        if height + 1 not in self.plans and height == self.frontier:
            self.entries[height + 1] = self._next_entries(height)
            self._plan(height + 1)
            self._retire(height - 1)
            self.resume_syncs()

    def _commit_node(self, i: int, block: Block, *, consensus: bool) -> None:
        node = self.nodes[i]
        now = self.kernel.now
        state, result, _hash = self.chain.execute(node.state, block)
        node.commit(block, state, result)
        times = self.commit_times.get(block.height)
        if times is None:
            times = self.commit_times[block.height] = np.full(len(self.nodes), INF)
        times[i] = now
        if consensus:
            if self._last_consensus_commit[i] == block.height - 1 and node.state.power_of(node.name) > 0:
                self.block_intervals.append(now - self._last_commit_time[i])
            self._last_consensus_commit[i] = block.height
            self._last_commit_time[i] = now
        self.world.on_node_commit(node, block)

    def _retire(self, height: int) -> None:
        """Forget a plan two heights behind the frontier; its stragglers will block-sync."""
        for h in [h for h in self.plans if h <= height]:
            for timer in self._commit_timers.pop(h, {}).values():
                timer.cancel()
            del self.plans[h]
            self.entries.pop(h, None)
            self._joins.pop(h, None)
            self.commit_times.pop(h - 2, None)
            for key in [k for k in self.proposals if k[0] <= h]:
                del self.proposals[key]
        # No message of a retired height will be sent again: older network epochs can go.
        entries = [float(np.min(p.entry)) for p in self.plans.values()]
        entries += [p.submitted for p in self.world.pool.values()]  # pending txs still travel
        if entries and np.isfinite(min(entries)):
            self.network.forget_before(min(entries))

    # -- crashes, restarts, block sync ---------------------------------------------------
    def node_down(self, i: int) -> None:
        for timers in self._commit_timers.values():
            timer = timers.pop(i, None)
            if timer is not None:
                timer.cancel()
        sync = self._syncing.pop(i, None)
        if sync is not None:
            sync.cancel()
        self._last_consensus_commit[i] = -1

    def _in_consensus(self, i: int) -> bool:
        frontier = self.frontier
        if frontier and math.isfinite(self.plans[frontier].entry[i]):
            return True
        return any(i in timers for timers in self._commit_timers.values())

    def resume_syncs(self) -> None:
        """Start block sync for every online node that is not taking part in consensus."""
        for i, node in enumerate(self.nodes):
            if node.online and i not in self._syncing and not self._in_consensus(i):
                self._sync_step(i)

    def _best_peer_height(self, i: int) -> int:
        best = -1
        for j, peer in enumerate(self.nodes):
            if j != i and peer.online and self.network.reachable(i, j) and self.network.reachable(j, i):
                best = max(best, peer.height)
        return best

    def _sync_step(self, i: int) -> None:
        self._syncing.pop(i, None)
        node = self.nodes[i]
        if not node.online:
            return
        best = self._best_peer_height(i)
        if best < 0:
            return  # nobody reachable: wait for the network to change
        if node.height >= best - 1:
            node.mark_synced()
        if node.height < best:
            delay = 1.0 / self.block_sync_rate
            self._syncing[i] = self.kernel.call_later(delay, self._fetch_block, i)
            return
        self._join(i)

    def _fetch_block(self, i: int) -> None:
        self._syncing.pop(i, None)
        node = self.nodes[i]
        height = node.height + 1
        committed = self.chain.committed.get(height)
        if node.online and committed is not None:
            self._commit_node(i, committed.block, consensus=False)
        self._sync_step(i)

    def _join(self, i: int) -> None:
        """A caught-up node enters the next height now."""
        node = self.nodes[i]
        height = node.height + 1
        now = self.kernel.now
        self._joins.setdefault(height, {})[i] = now
        if height in self.plans:
            self._plan(height)
            if height + 1 in self.plans:
                self.entries[height + 1] = self._next_entries(height)
                self._plan(height + 1)
