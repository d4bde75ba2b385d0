"""Planning one consensus height: when each node commits, in which round, who proposed.

This computes the Tendermint algorithm's message timing (arXiv:1807.04938, as CometBFT runs
it under kwil) from sampled link latencies instead of sending n² vote messages: for every
round, the proposal's arrival per node, each node's prevote time and value, the time it
holds +2/3 prevotes (for the block, for nil, of any kind), its precommit, and the time it
holds +2/3 precommits. Quorum times are weighted order statistics over arrival matrices.
The plan is a pure function of its inputs, so the world re-plans a height whenever the
network changes and gets identical answers for everything that already happened.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import attrs
import numpy as np

from sim.consensus.order_stats import MIN_COLUMNS, kth_smallest_per_row, weighted_crossing_per_row
from sim.net.network import Network

INF = math.inf
MAX_ROUNDS = 64


@attrs.frozen
class Timeouts:
    """CometBFT's consensus timeouts, in seconds; the defaults are CometBFT's, with kwil's
    ``timeout_commit``. Every other place takes its defaults from here."""

    propose: float = 3.0
    prevote: float = 1.0
    precommit: float = 1.0
    commit: float = 6.0
    round_increment: float = 0.5  # added to each step's timeout per round


DEFAULT_TIMEOUTS = Timeouts()
DEFAULT_MAX_BLOCK_BYTES = 6 * 1024 * 1024  # kwil's consensus parameter


@attrs.define(eq=False)
class RoundPlan:
    round: int
    proposer: int
    proposal_time: float  # inf when the proposer never proposed


@attrs.define(eq=False)
class HeightPlan:
    """The outcome of one height given everything known when it was planned."""

    height: int
    entry: np.ndarray  # round-0 entry time per node (inf: not taking part)
    commit: np.ndarray  # commit time per node (inf: does not commit under this plan)
    rounds: list[RoundPlan]
    decided_round: int | None  # the first round whose block gathered +2/3 precommits

    @property
    def decided(self) -> RoundPlan | None:
        return None if self.decided_round is None else self.rounds[self.decided_round]


def quorum_times(arrivals: np.ndarray, powers: np.ndarray, total_power: int, *,
                 reorder: bool = False) -> np.ndarray:
    """Per receiver column, the first time the senders' summed power exceeds 2/3 of total.
    ``reorder``: the caller is done with ``arrivals``, which may be partitioned in place
    (a thousand-node world saves a copy of a million times)."""
    m, n = arrivals.shape
    if m == 0 or total_power <= 0:
        return np.full(n, INF)
    if powers.min() == powers.max():
        # Equal powers: the k-th smallest arrival, k = least count with 3·k·w > 2·total.
        w = int(powers[0])
        k = (2 * total_power) // (3 * w) + 1
        if k > m:
            return np.full(n, INF)
        if m >= MIN_COLUMNS and arrivals.flags.f_contiguous:  # receivers' senders contiguous
            return kth_smallest_per_row(arrivals.T, k)
        if reorder:
            arrivals.partition(k - 1, axis=0)
            return arrivals[k - 1].copy()
        return np.partition(arrivals, k - 1, axis=0)[k - 1]
    return weighted_crossing_per_row(arrivals.T, powers, total_power)


def _split_quorums(arrivals: np.ndarray, powers: np.ndarray, total: int,
                   for_block: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Quorum times for the block, for nil, and of any kind (``arrivals`` is used up)."""
    if for_block.all():
        any_kind = quorum_times(arrivals, powers, total, reorder=True)
        return any_kind, np.full_like(any_kind, INF), any_kind
    if not for_block.any():
        any_kind = quorum_times(arrivals, powers, total, reorder=True)
        return np.full_like(any_kind, INF), any_kind, any_kind
    block = quorum_times(arrivals[for_block], powers[for_block], total, reorder=True)
    nil = quorum_times(arrivals[~for_block], powers[~for_block], total, reorder=True)
    return block, nil, quorum_times(arrivals, powers, total, reorder=True)


def _held(quorums: tuple[np.ndarray, ...], round_entry: np.ndarray) -> tuple[np.ndarray, ...]:
    """Quorum times as a node sees them: a message is held until the node enters the round.

    Held per quorum, not per message: the first time a power sum crosses 2/3 over times
    ``max(arrival, entry)`` is ``max(that time over the arrivals, entry)`` (holding never
    reorders messages), the same float, for n values instead of n x n. A node's own vote
    is sent after it entered the round, so holding leaves it as it is."""
    return tuple(np.maximum(q, round_entry) for q in quorums)


@attrs.frozen(eq=False)
class Absences:
    """Nodes away from a height for a while: node ``i`` does nothing from ``down[i]`` until
    ``back[i]`` (inf: it never comes back to the height). What it would have done meanwhile
    it does at ``back[i]``: CometBFT restores a restarted node's round state from its WAL, and
    its peers send it again the proposal and votes of its round. What it sent before
    ``down[i]`` still arrives."""

    down: np.ndarray
    back: np.ndarray

    def postpone(self, times: np.ndarray) -> np.ndarray:
        """Per node, its time, or its return where the time falls while it is away."""
        return np.where((times >= self.down) & (times < self.back), self.back, times)


def plan_height(height: int, entry: np.ndarray, powers: np.ndarray, total_power: int,
                proposer_of_round: Callable[[int], int], timeouts: Timeouts,
                network: Network, *, accepts: Mapping[int, np.ndarray] | None = None,
                absences: Absences | None = None) -> HeightPlan:
    """Plan height ``height``; ``powers`` are consensus voting powers (0 = not a validator).

    ``accepts[r]`` says per node whether it accepted round ``r``'s proposal in
    ProcessProposal (rounds not in it: everyone accepts). A node that rejects the proposal
    prevotes nil when it arrives, as CometBFT does.

    ``absences``: nodes that left the height (they crashed, or fell behind and went to block
    sync) and, for a while or for good, send and commit nothing (``Absences``).
    """
    n = len(entry)
    nodes = np.arange(n)
    commit = np.full(n, INF)
    rounds: list[RoundPlan] = []
    decided: int | None = None
    round_entry = entry.astype(float).copy()
    for r in range(MAX_ROUNDS):
        if absences is not None:
            round_entry = absences.postpone(round_entry)
        active = np.isfinite(round_entry) & (round_entry < commit)
        if not active.any():
            break
        step = timeouts.round_increment * r
        proposer = proposer_of_round(r)
        proposal = np.full(n, INF)
        proposal_time = INF
        if 0 <= proposer < n and active[proposer]:
            proposal_time = float(round_entry[proposer])
            sent = network.arrivals(np.array([proposer]), np.array([proposal_time]),
                                    network.message_key("proposal", height, r))[0]
            proposal = np.maximum(sent, round_entry)
            proposal[proposer] = proposal_time
            proposal[~active] = INF
            if absences is not None:
                proposal = absences.postpone(proposal)
        rounds.append(RoundPlan(r, proposer, proposal_time))

        propose_timeout = round_entry + timeouts.propose + step
        prevote_time = np.minimum(proposal, propose_timeout)
        prevote_time[~active] = INF
        if absences is not None:
            prevote_time = absences.postpone(prevote_time)
        prevote_block = proposal <= propose_timeout
        if accepts is not None and r in accepts:
            prevote_block &= accepts[r]
        voters = nodes[active & (powers > 0)]
        if len(voters) == 0:
            break
        arrivals = network.arrivals(voters, prevote_time[voters],
                                    network.message_key("prevote", height, r))
        arrivals[np.arange(len(voters)), voters] = prevote_time[voters]
        pv_block, pv_nil, pv_any = _held(_split_quorums(arrivals, powers[voters], total_power,
                                                        prevote_block[voters]), round_entry)
        t_block = np.maximum(np.maximum(pv_block, proposal), prevote_time)
        t_nil = np.maximum(pv_nil, prevote_time)
        t_wait = np.maximum(pv_any, prevote_time) + timeouts.prevote + step
        t_other = np.minimum(t_nil, t_wait)
        precommit_time = np.minimum(t_block, t_other)
        precommit_block = np.isfinite(t_block) & (t_block <= t_other)
        precommit_time[~active] = INF
        if absences is not None:
            precommit_time = absences.postpone(precommit_time)

        senders = voters[np.isfinite(precommit_time[voters])]
        if len(senders) == 0:
            break
        arrivals = network.arrivals(senders, precommit_time[senders],
                                    network.message_key("precommit", height, r))
        arrivals[np.arange(len(senders)), senders] = precommit_time[senders]
        pc_block, _pc_nil, pc_any = _held(_split_quorums(arrivals, powers[senders], total_power,
                                                         precommit_block[senders]), round_entry)
        pc_block = np.maximum(pc_block, np.where(np.isfinite(proposal), proposal, pc_block))
        if decided is None and np.isfinite(pc_block).any():
            decided = r
        if decided is not None:
            commit = np.minimum(commit, np.where(decided == r, pc_block, commit))
            if absences is not None:
                commit = absences.postpone(commit)
        next_entry = pc_any + timeouts.precommit + step
        next_entry[~active] = INF
        next_entry[commit <= next_entry] = INF
        round_entry = next_entry
    return HeightPlan(height, entry.copy(), commit, rounds, decided)
