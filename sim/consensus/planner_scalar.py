"""The same height plan as ``sim.consensus.planner.plan_height``, in plain Python, for small worlds.

With a handful of validators numpy's per-call overhead is most of a plan's cost, so small
worlds are planned here with floats and lists instead. Every arithmetic step is the one the
numpy planner takes, in the same order, and arrivals come from the same keyed draws, walked
through partitions, loss, extra delay and reordering the same way (``Network.row``), so the
plans are identical to the last bit (``tests/test_consensus_plan.py`` checks it over random
worlds). A large world, or a height that nodes left (``Absences``), takes the numpy path.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from sim.consensus.planner import HeightPlan, RoundPlan, Timeouts
from sim.net.network import Network

INF = math.inf
MAX_ROUNDS = 64
SMALL_WORLD = 12  # nodes; above this the numpy planner is faster


def first_entry(entry: np.ndarray) -> float:
    """The earliest entry time (inf when no node entered): for a small world through a list,
    as numpy's reduction costs more than the dozen values it reads."""
    return min(entry.tolist()) if len(entry) <= SMALL_WORLD else float(entry.min())


def applies(n: int) -> bool:
    """Whether a height of a world of ``n`` nodes is planned here (whatever its network)."""
    return n <= SMALL_WORLD


def _quorum(times: Sequence[float], powers: Sequence[int], total: int, k: int | None) -> float:
    """The first time the senders' summed power exceeds 2/3 of ``total``; ``k``: the senders
    have equal power and the quorum is the k-th earliest (``_order_index``)."""
    if not times or total <= 0:
        return INF
    if k is not None:
        return sorted(times)[k - 1] if k <= len(times) else INF
    cumulative = 0
    # Sorted as pairs, not by time alone (no key call per sender): senders tied in time may
    # come in another order, but the sum crosses 2/3 at that same time either way.
    for time, power in sorted(zip(times, powers, strict=True)):
        cumulative += power
        if 3 * cumulative > 2 * total:
            return time
    return INF


def _order_index(powers: Sequence[int], total: int) -> int | None:
    """With equal powers the quorum is an order statistic: how many senders it takes (the
    weighted sum's answer, as the cumulative count crosses 2/3 at that sender)."""
    if not powers or total <= 0 or min(powers) != max(powers):
        return None
    return (2 * total) // (3 * powers[0]) + 1


def _held(times: list[float], round_entry: list[float]) -> list[float]:
    """``planner._held``: max(quorum time, round entry) per node (``e if e > q else q`` is
    max(q, e) without a call per element)."""
    return [e if e > q else q for q, e in zip(times, round_entry, strict=True)]


def _held_quorums(rows: list[list[float]], powers: list[int], total: int, n: int, block: list[bool],
                  round_entry: list[float]) -> tuple[list[float], list[float], list[float]]:
    """Per receiver: quorum time for the block, for nil, and of any kind, each held until the
    receiver enters the round (``_held``). A quorum never reached stays inf, held or not:
    where every vote is of one kind, the other kind's times are inf without a pass."""
    k = _order_index(powers, total)
    columns = list(zip(*rows, strict=True)) if rows else [()] * n  # arrival times per receiver
    held_any = _held([_quorum(column, powers, total, k) for column in columns], round_entry)
    if all(block):
        return held_any, [INF] * n, held_any
    if not any(block):
        return [INF] * n, held_any, held_any
    yes = [k for k, b in enumerate(block) if b]
    no = [k for k, b in enumerate(block) if not b]
    yes_powers, no_powers = [powers[k] for k in yes], [powers[k] for k in no]
    k_yes, k_no = _order_index(yes_powers, total), _order_index(no_powers, total)
    for_block = [_quorum([rows[k][c] for k in yes], yes_powers, total, k_yes) for c in range(n)]
    for_nil = [_quorum([rows[k][c] for k in no], no_powers, total, k_no) for c in range(n)]
    return _held(for_block, round_entry), _held(for_nil, round_entry), held_any


def _received(network: Network, senders: list[int], times: list[float], key: int) -> list[list[float]]:
    """Per sender row: when each node receives its message (a node has its own at once).
    Holding a message until the receiver enters the round is applied to the quorum times
    (``_held_quorums``)."""
    rows = network.rows(senders, times, key)
    for sender, sent, row in zip(senders, times, rows, strict=True):
        row[sender] = sent
    return rows


def plan_height_scalar(height: int, entry: np.ndarray, powers: np.ndarray, total_power: int,
                       proposer_of_round: Callable[[int], int], timeouts: Timeouts,
                       network: Network, *, accepts: Mapping[int, np.ndarray] | None = None) -> HeightPlan:
    """``plan_height`` for a small world (same arguments, same plan)."""
    n = len(entry)
    network.draw_ahead(height)
    power: list[int] = powers.tolist()  # Python ints, in one call
    commit = [INF] * n
    rounds: list[RoundPlan] = []
    decided: int | None = None
    round_entry: list[float] = entry.tolist()  # Python floats, in one call
    for r in range(MAX_ROUNDS):
        active = [math.isfinite(e) and e < c for e, c in zip(round_entry, commit, strict=True)]
        if not any(active):
            break
        step = timeouts.round_increment * r
        proposer = proposer_of_round(r)
        proposal = [INF] * n
        proposal_time = INF
        if 0 <= proposer < n and active[proposer]:
            proposal_time = round_entry[proposer]
            sent = network.row(proposer, proposal_time, network.message_key("proposal", height, r))
            proposal = [(e if e > s else s) if active[i] else INF
                        for i, (s, e) in enumerate(zip(sent, round_entry, strict=True))]
            proposal[proposer] = proposal_time
        rounds.append(RoundPlan(r, proposer, proposal_time))

        timeout = [e + timeouts.propose + step for e in round_entry]
        prevote_time = [(t if t < p else p) if active[i] else INF
                        for i, (p, t) in enumerate(zip(proposal, timeout, strict=True))]
        prevote_block = [p <= t for p, t in zip(proposal, timeout, strict=True)]
        if accepts is not None and r in accepts:
            prevote_block = [b and bool(a) for b, a in zip(prevote_block, accepts[r], strict=True)]
        voters = [i for i in range(n) if active[i] and power[i] > 0]
        if not voters:
            break
        rows = _received(network, voters, [prevote_time[v] for v in voters],
                         network.message_key("prevote", height, r))
        pv_block, pv_nil, pv_any = _held_quorums(rows, [power[v] for v in voters], total_power, n,
                                                 [prevote_block[v] for v in voters], round_entry)
        precommit_time = [INF] * n
        precommit_block = [False] * n
        for i in range(n):
            # max(a, b) written ``b if b > a else a`` and min(a, b) ``b if b < a else a``:
            # the same float, signed zeros included, without a call each
            voted, quorum = prevote_time[i], pv_block[i]
            held = proposal[i] if proposal[i] > quorum else quorum
            t_block = voted if voted > held else held
            t_nil = voted if voted > pv_nil[i] else pv_nil[i]
            t_wait = (voted if voted > pv_any[i] else pv_any[i]) + timeouts.prevote + step
            t_other = t_wait if t_wait < t_nil else t_nil
            precommit_block[i] = math.isfinite(t_block) and t_block <= t_other
            precommit_time[i] = (t_other if t_other < t_block else t_block) if active[i] else INF

        senders = [v for v in voters if math.isfinite(precommit_time[v])]
        if not senders:
            break
        rows = _received(network, senders, [precommit_time[v] for v in senders],
                         network.message_key("precommit", height, r))
        pc_block, _pc_nil, pc_any = _held_quorums(rows, [power[v] for v in senders], total_power, n,
                                                  [precommit_block[v] for v in senders], round_entry)
        pc_block = [(p if p > b else b) if math.isfinite(p) else b for b, p in zip(pc_block, proposal, strict=True)]
        if decided is None and min(pc_block) < INF:  # some quorum reached (a time is never -inf)
            decided = r
        if decided == r:
            commit = [b if b < c else c for c, b in zip(commit, pc_block, strict=True)]
        next_entry = [a + timeouts.precommit + step if active[i] else INF for i, a in enumerate(pc_any)]
        round_entry = [INF if c <= e else e for c, e in zip(commit, next_entry, strict=True)]
    return HeightPlan(height, entry.copy(), np.array(commit), rounds, decided)
