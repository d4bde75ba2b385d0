"""The consensus engine: decides *when* each node proposes and commits, and asks the nodes *what*.

For every height in progress the driver keeps a plan (``sim.consensus.planner.plan_height``)
computed from the entry time of each node taking part, and turns it into kernel events: the
proposal of each round at its proposer and each node's commit. It talks to nodes over their
consensus connection: ``Propose`` (answered by ``proposal_ready``), ProcessProposal on every
validator (a rejection by more than a third of the power fails the round), and
``commit_block`` at each node's commit instant. Whenever the network, the online set or a
verdict changes, the heights in progress are re-planned; plans are causal, so what already
happened stays as it was.

Nodes own their catching up (``node.node``): a node enters a height by calling
``enter_consensus`` once it is level with its peers, and the driver tells a node that the
network has moved past it (``fell_behind``) so that it block-syncs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from node.blockresult import BlockFailed
from node.messages import Propose, TxArrivals
from node.node import IN_CONSENSUS
from node.txs import Block, Tx
from sim.consensus import catch_up, planner_scalar
from sim.consensus.blocksync import BlockSync
from sim.consensus.chain import Chain, Committed
from sim.consensus.participation import Participation
from sim.consensus.planner import HeightPlan, Timeouts, plan_height
from sim.consensus.planner_scalar import plan_height_scalar
from sim.consensus.still_time import StillTime
from sim.engine.floatlog import FloatLog
from sim.engine.kernel import Kernel, Timer
from sim.net.network import Network

if TYPE_CHECKING:
    from node.node import Node
    from sim.world.gossip import Gossip

INF = math.inf
REPLAN_PRIORITY = 2  # after every other callback of the instant that asked for it


class ConsensusDriver:
    """Heights in progress, their kernel events, and the nodes' consensus connection."""

    def __init__(self, kernel: Kernel, network: Network, chain: Chain, nodes: list[Node],
                 gossip: Gossip, blocksync: BlockSync, timeouts: Timeouts, *,
                 on_block: Callable[[Committed], None],
                 take_overrides: Callable[[], tuple[tuple[str, int], ...]],
                 trace: Callable[..., None], on_proposal: Callable[[int, int], None],
                 on_halt: Callable[[BlockFailed], None]) -> None:
        self.kernel = kernel
        self.network = network
        self.chain = chain
        self.nodes = nodes
        self.gossip = gossip
        self.blocksync = blocksync
        self.timeouts = timeouts
        self._on_block = on_block
        self._take_overrides = take_overrides
        self._trace = trace
        self._on_proposal = on_proposal
        self._on_halt = on_halt
        self._halted: BlockFailed | None = None
        n = len(nodes)
        self.plans: dict[int, HeightPlan] = {}
        self.participation = Participation(n)  # who is in each height in progress, from when
        self._commit_timers: dict[int, dict[int, Timer]] = {}
        self._propose_timers: dict[tuple[int, int], Timer] = {}
        # node -> (height, round) it proposes once its commit of the height before, due at
        # the same instant, is in (timeout_commit 0)
        self._propose_after_commit: dict[int, tuple[int, int]] = {}
        self._still_time = StillTime()  # heights that take no time stop the run
        self.proposals: dict[tuple[int, int], tuple[int, float, tuple[Tx, ...]]] = {}
        self._accepts: dict[int, dict[int, np.ndarray]] = {}
        self.commit_times: dict[int, np.ndarray] = {}
        self._never = np.full(n, INF)  # copied where a height starts with no times (cheaper than np.full)
        # per node, read and written at each of its commits: lists (a numpy element costs more)
        self._last_consensus_commit = [-1] * n
        self._last_commit_time = [INF] * n
        self.block_intervals = FloatLog()  # one per node per block: older ones on disk
        self._replan_timer: Timer | None = None
        self._voters_of: tuple[np.ndarray, list[int]] | None = None  # (powers array, its voters)

    # -- planning ----------------------------------------------------------------------
    @property
    def frontier(self) -> int:
        return max(self.plans, default=0)

    def _plan(self, height: int) -> None:
        entry = self.participation.entry(height)
        online = [node.online for node in self.nodes]
        offline = None if all(online) else ~np.array(online)
        if offline is not None:
            entry[offline] = INF
        absences = self.participation.absences(height, entry)
        powers, total = self.chain.power_array(height)
        args = (height, entry, powers, total, self.chain.proposer_fn(height), self.timeouts, self.network)
        if absences is None and planner_scalar.applies(len(entry)):
            plan = plan_height_scalar(*args, accepts=self._accepts.get(height))
        else:
            plan = plan_height(*args, accepts=self._accepts.get(height), absences=absences)
        if offline is not None:
            plan.commit[offline] = INF
        self.plans[height] = plan
        self._schedule(height, plan)

    def _schedule(self, height: int, plan: HeightPlan) -> None:
        now = self.kernel.now
        old_timers = self._commit_timers.pop(height, {})
        for timer in old_timers.values():
            timer.cancel()
        # Once the chain has decided a height, the precommits that decided it are on their way
        # to the nodes still in it: a re-plan (which keeps only the last stay of a node that
        # left the height more than once) cannot take a commit already coming back.
        coming = {i: timer.time for i, timer in old_timers.items()} if height in self.chain.committed else {}
        done = self.commit_times.get(height)
        committed = [False] * len(self.nodes) if done is None else np.isfinite(done).tolist()
        timers: dict[int, Timer] = {}
        # A re-plan can put events in the past: they happen now, in the order the plan has
        # them (a proposal before the commits that need it, a node's commit of one height
        # before its proposal of the next), not proposals first as at a planned instant.
        late: list[tuple[float, int, int, int]] = []  # (planned time, 0 proposal / 1 commit, round or node, proposer)
        call_at, on_commit = self.kernel.call_at, self._on_commit  # once per node per height
        for i, time in enumerate(plan.commit.tolist()):
            if i in coming and coming[i] < time:
                time = coming[i]
            if time < INF and not committed[i]:
                if time < now:
                    late.append((time, 1, i, -1))
                else:
                    timers[i] = call_at(time, on_commit, height, i, priority=1)
        for round_plan in plan.rounds:
            key = (height, round_plan.round)
            if key in self.proposals:
                continue
            old = self._propose_timers.pop(key, None)
            if old is not None:
                old.cancel()
            if round_plan.proposal_time < now:
                late.append((round_plan.proposal_time, 0, round_plan.round, round_plan.proposer))
            elif math.isfinite(round_plan.proposal_time):
                self._propose_timers[key] = call_at(round_plan.proposal_time, self._on_propose, height,
                                                    round_plan.round, round_plan.proposer)
        for _time, kind, which, proposer in sorted(late):
            if kind == 1:
                timers[which] = call_at(now, on_commit, height, which)
            else:
                self._propose_timers[(height, which)] = call_at(now, self._on_propose, height, which, proposer)
        self._commit_timers[height] = timers

    def _next_entries(self, height: int) -> np.ndarray:
        """Entry times into ``height + 1``: each node's commit of ``height`` + timeout_commit."""
        commits = self.plans[height].commit
        done = self.commit_times.get(height)
        if done is not None:
            commits = np.where(np.isfinite(done), done, commits)
        return commits + self.timeouts.commit  # a new array: the plan's stays as it is

    def replan(self) -> None:
        """The network, the online set or a verdict changed: re-plan every height in progress."""
        if self._replan_timer is not None:
            self._replan_timer.cancel()
            self._replan_timer = None
        for height in sorted(self.plans):
            if height - 1 in self.plans:
                self.participation.set_entries(height, self._next_entries(height - 1))
            self._plan(height)
        self._catch_up_stranded()
        self._wake_catching_up()

    def _catch_up_stranded(self) -> None:
        """After a re-plan: nodes waiting for a decided height they will not commit in consensus
        block-sync it (``catch_up.stranded``)."""
        for node in catch_up.stranded(self.nodes, self.chain.committed, self._commit_coming, self.blocksync.peer_has):
            self._fall_behind(node)

    def _commit_coming(self, i: int, height: int) -> bool:
        return i in self._commit_timers.get(height, {})

    def _fall_behind(self, node: Node) -> None:
        """``node`` takes part in no height and block-syncs what it waits for."""
        self._forget_node(node.index)
        node.fell_behind()

    def request_replan(self) -> None:
        """Re-plan once at the end of this instant, however many changes ask for it."""
        if self._replan_timer is None:
            self._replan_timer = self.kernel.call_later(0.0, self.replan, priority=REPLAN_PRIORITY)

    # -- the nodes' requests -------------------------------------------------------------
    def start(self) -> None:
        """Genesis: height 1 is planned for the nodes that entered it at t = 0."""
        if 1 not in self.plans:
            self._plan(1)

    def enter_consensus(self, i: int, height: int) -> None:
        """Node ``i`` caught up and takes part in ``height`` from now on."""
        self.participation.join(i, height, self.kernel.now)
        for node in catch_up.laggers(self.nodes, i, height, self._commit_coming, self.blocksync.peer_has):
            self._fall_behind(node)
        if self.plans:  # at genesis, start() plans height 1 once every node has entered
            self.request_replan()

    def node_down(self, i: int) -> None:
        """Node ``i`` crashed: it takes part in no height until it enters one again."""
        for timers in self._commit_timers.values():
            timer = timers.pop(i, None)
            if timer is not None:
                timer.cancel()
        self._forget_node(i)
        self._propose_after_commit.pop(i, None)
        # A commit from before the crash says nothing of when it enters again: a restarted
        # node enters only once it has caught up (enter_consensus).
        for times in self.commit_times.values():
            times[i] = INF
        self._last_consensus_commit[i] = -1
        self.request_replan()

    def _forget_node(self, i: int) -> None:
        """Node ``i`` takes part in no height from now on (until it enters one again); the
        proposal and votes it sent until now still count (``Participation.absences``)."""
        height = self.nodes[i].height + 1  # the one height a node is in: what it sent there counts
        # (a retired height is planned no more)
        self.participation.leave(i, height, self.kernel.now, planned=height in self.plans)

    def proposal_ready(self, i: int, height: int, round_: int, time: float, txs: list[Tx]) -> None:
        """Node ``i``'s answer to ``Propose``: ask every validator for its ProcessProposal."""
        proposal = tuple(txs)
        self._on_proposal(i, height)
        self.proposals[(height, round_)] = (i, time, proposal)
        proposer = self.nodes[i].name
        shared: dict[str, bool] = {}
        rejected_by: list[int] = []
        for j in self._voters(height):
            node = self.nodes[j]
            if node.online and node.height == height - 1 and \
                    not node.process_proposal(proposer, proposal, shared=shared):
                rejected_by.append(j)
        if rejected_by:
            accepts = np.ones(len(self.nodes), dtype=bool)
            accepts[rejected_by] = False
            rejected = [self.nodes[j].name for j in rejected_by]
            self._trace("proposal.rejected", height=height, round=round_, proposer=proposer, by=rejected)
            self._accepts.setdefault(height, {})[round_] = accepts
            self._plan(height)

    def _voters(self, height: int) -> list[int]:
        """Indices of the nodes with consensus power at ``height``, in index order."""
        powers, _total = self.chain.power_array(height)
        cached = self._voters_of
        if cached is None or cached[0] is not powers:  # the powers array is made once per height
            cached = self._voters_of = (powers, np.flatnonzero(powers > 0).tolist())
        return cached[1]

    # -- kernel events -----------------------------------------------------------------
    def _on_propose(self, height: int, round_: int, proposer: int) -> None:
        self._propose_timers.pop((height, round_), None)
        node = self.nodes[proposer]
        if self._commits_now(height - 1, proposer):
            # timeout_commit 0: it enters the height at the instant it commits the height
            # before (timers of an instant run proposals first), and proposes right after that
            # commit, before any commit of this height the proposal decides
            self._propose_after_commit[proposer] = (height, round_)
            return
        if not (node.online and node.phase == IN_CONSENSUS and node.height == height - 1):
            # It has not reached this height after all: it proposes nothing, and is not in it.
            self.participation.never_entered(proposer, height)
            self._plan(height)
            return
        arrivals = self.gossip.arrivals_for(proposer, self.kernel.now)
        if arrivals:
            node.post(TxArrivals(arrivals))
        node.post(Propose(height, round_))

    def idle(self) -> bool:
        """Whether nothing is to come: no proposal, commit or re-plan is scheduled and the
        chain has not halted on a failed block. Unless a fault or a catching-up node changes
        something, no height will ever be decided again."""
        return (self._halted is None and self._replan_timer is None and not self._propose_timers
                and not self._propose_after_commit and not any(self._commit_timers.values()))

    def _commits_now(self, height: int, i: int) -> bool:
        """Whether node ``i``'s commit of ``height`` is due at this very instant."""
        timer = self._commit_timers.get(height, {}).get(i)
        return timer is not None and timer.time == self.kernel.now

    def _on_commit(self, height: int, i: int) -> None:
        timers = self._commit_timers.get(height)
        if timers is not None:
            timers.pop(i, None)
        node = self.nodes[i]
        if node.phase != IN_CONSENSUS or node.height != height - 1:  # (a node down is not in it)
            self._propose_waiting(i)  # (it finds the node has not reached its height)
            return
        committed = self.chain.committed.get(height)
        if committed is None:
            committed = self._decide(height)
            if committed is None:
                return  # the chain halted here
        node.commit_block(committed.block, consensus=True)
        now = self.kernel.now
        times = self.commit_times.get(height)
        if times is None:
            times = self.commit_times[height] = self._never.copy()
        times[i] = now
        if self._last_consensus_commit[i] == height - 1 and node.is_validator:
            self.block_intervals.append(now - self._last_commit_time[i])
        self._last_consensus_commit[i] = height
        self._last_commit_time[i] = now
        if height + 1 not in self.plans and height == self.frontier:
            self.participation.set_entries(height + 1, self._next_entries(height))
            self._plan(height + 1)
            self._retire(height - 1)
        if self._propose_after_commit:  # (a call per node commit saved: most have none)
            self._propose_waiting(i)

    def _propose_waiting(self, i: int) -> None:
        """The proposal node ``i`` held back for its commit at this instant, if any."""
        waiting = self._propose_after_commit.pop(i, None)
        if waiting is not None:
            self._on_propose(waiting[0], waiting[1], i)

    def _decide(self, height: int) -> Committed | None:
        """The first commit of ``height``: build the block of the decided round, execute it once
        (None: the block failed, so the chain halts)."""
        plan = self.plans[height]
        assert plan.decided_round is not None
        key = (height, plan.decided_round)
        if key not in self.proposals:
            raise RuntimeError(f"height {height} was decided in round {plan.decided_round} "
                               "but its proposer never answered Propose")
        proposer, time, txs = self.proposals[key]
        block = Block(height, plan.decided_round, self.nodes[proposer].name, time, txs,
                      self._take_overrides())
        try:
            state, result, block_hash = self.chain.execute(self.chain.state_after(height - 1), block)
        except BlockFailed as failure:
            self._halted = failure
            for timers in self._commit_timers.values():
                for timer in timers.values():
                    timer.cancel()
            self._commit_timers.clear()
            self._on_halt(failure)
            return None
        self._still_time.decided(height, self.kernel.now)
        committed = self.chain.record(block, block_hash, state, result, self.kernel.now)
        self._on_block(committed)
        return committed

    def _retire(self, height: int) -> None:
        """Forget plans two heights behind the frontier; nodes still in them block-sync from a
        peer they reach that is ahead."""
        for h in [h for h in self.plans if h <= height]:
            for timer in self._commit_timers.pop(h, {}).values():
                timer.cancel()
            del self.plans[h]
            self.participation.forget(h)
            self._accepts.pop(h, None)
            self.commit_times.pop(h - 2, None)
            for key in [k for k in self.proposals if k[0] <= h]:
                del self.proposals[key]
        # A later round's proposal timer of a retired height would plan that height again (a
        # dead plan: no node is in it) and rebuild its proposer rotation from genesis.
        for key in [k for k in self._propose_timers if k[0] <= height]:
            self._propose_timers.pop(key).cancel()
        for i in [i for i, (h, _round) in self._propose_after_commit.items() if h <= height]:
            del self._propose_after_commit[i]
        heights = [node.height for node in self.nodes]  # read once (falling behind keeps them)
        lowest = min(heights)
        if lowest < height:  # (most heights: no node is behind)
            # (one that reaches no peer ahead stays in consensus until a re-plan finds it one)
            for node in catch_up.left_behind(self.nodes, heights, height, self.blocksync.peer_has):
                self._fall_behind(node)
        self.chain.release_blocks(lowest)
        # No message of a retired height will be sent again: older network epochs can go.
        entries = [planner_scalar.first_entry(p.entry) for p in self.plans.values()]
        pending = self.gossip.oldest_submission()
        if pending is not None:
            entries.append(pending)
        oldest = min(entries, default=INF)
        if math.isfinite(oldest):
            self.network.forget_before(oldest)

    def _wake_catching_up(self) -> None:
        """After a change, nodes that wait to catch up look at their peers again."""
        for node in self.nodes:
            if node.online and node.phase != IN_CONSENSUS:
                node.peers_changed()
