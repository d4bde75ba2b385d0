"""Invariants that make silence impossible: the chain keeps committing, and every node that
can keep up does.

Both run on a tick as well as on blocks, because what they look for is the absence of
blocks. ``chain-stalled``: no block for longer than ``[checks] stall_after`` (by default
``stall_bound``: 10 times the slowest round the timeouts allow, or more with latencies of
seconds) while validators holding more than 2/3 of the power are online, in consensus and
can reach each other (a validator that restarted cannot vote until it has block-synced what
it missed, CometBFT waits for a peer to sync from; a link delayed past the round in progress
counts as cut); or an empty validator set; or no validator left running at the end; or a run
ending, however short, with nothing to come from the consensus engine while such a majority
is in consensus.
``node-in-sync``: an online node that can reach such a majority gets within two heights of the
chain, is marked synced and (when it is a validator) runs its listeners, within that bound plus
the time block sync needs for what it missed.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from node.node import IN_CONSENSUS
from sim.checks.base import Checker

if TYPE_CHECKING:
    from sim.consensus.chain import Committed
    from sim.world.views import NodeView, WorldView

SYNC_SLACK = 2  # heights a node in sync may trail the chain by


def round_wait(view: WorldView, stalled_for: float) -> float:
    """How long the round a height has reached ``stalled_for`` seconds after the last block
    waits for its proposal: each round's timeouts grow by ``round_increment``, so a delay that
    keeps every message out of the first rounds gets through once rounds wait long enough (a
    10 s extra delay with the default timeouts: round 14, about 200 s in). A link delayed by
    this much or more cannot help decide the height yet."""
    consensus = view.scenario.consensus
    step = consensus.round_increment
    elapsed = stalled_for - consensus.timeout_commit
    r = 0
    while r < 10_000:
        length = consensus.timeout_propose + consensus.timeout_prevote + consensus.timeout_precommit + 3 * step * r
        if elapsed < length:
            break
        elapsed -= length
        r += 1
    return consensus.timeout_propose + step * r


def stall_bound(view: WorldView) -> float:
    """``[checks] stall_after``; by default 10 times the slowest round the timeouts allow, or
    twice the longest a height takes on the network's slow latency when that is longer (with
    latencies of seconds, rounds fail until their timeouts outgrow them)."""
    configured = view.scenario.checks.stall_after
    if configured is not None:
        return float(configured)
    consensus = view.scenario.consensus
    default = 10 * consensus.slowest_round()
    height = consensus.height_time(view.scenario.network.latency.slow())
    return default if height is None else max(default, 2 * height)


class ChainStalled(Checker):
    """The chain commits while a connected +2/3 majority is online; it never halts silently."""

    name = "chain-stalled"

    def __init__(self, view: Any, report: Any) -> None:
        super().__init__(view, report)
        self.bound = stall_bound(view)
        self._last_block = 0.0
        self._healthy_since: float | None = 0.0
        self._reported = False

    def on_block(self, committed: Committed) -> None:
        self._last_block = self.view.now
        self._reported = False
        if committed.state is not None and not committed.state.validators:
            self._reported = True
            self.report((), f"the validator set is empty after height {committed.block.height}: "
                        "no block can ever be committed again")

    def tick(self) -> None:
        now = self.view.now
        majority = self.view.connected_majority(too_late=round_wait(self.view, now - self._last_block))
        if majority is None or not self._can_vote(majority):
            self._healthy_since = None
            return
        if self._healthy_since is None:
            self._healthy_since = now
        since = max(self._last_block, self._healthy_since)
        if now - since > self.bound and not self._reported:
            self._reported = True
            self.report(sorted(majority), f"no block for {now - self._last_block:.1f}s (bound "
                        f"{self.bound:g}s) while {', '.join(sorted(majority))} hold more than 2/3 of "
                        f"the power, are online and reach each other; chain height {self.view.chain.height}")

    def _can_vote(self, majority: set[str]) -> bool:
        """Whether the members in consensus hold more than 2/3 of the power: a member still
        block-syncing what it missed cannot vote yet (however slow its sync, the chain waits
        for it; node-in-sync reports a node that never catches up)."""
        powers = self.view.consensus_powers()
        voting = sum(powers.get(name, 0) for name in majority if self.view.node(name).phase == IN_CONSENSUS)
        return 3 * voting > 2 * sum(powers.values())

    def at_end(self) -> None:
        if self._reported:
            return
        validators = [v for v in self.view.nodes if v.is_validator]
        if validators and not any(v.online for v in validators):
            down = [f"{v.name} ({'shut down: ' + v.shut_down if v.shut_down else 'crashed'})"
                    for v in validators]
            self.report([v.name for v in validators], "every validator is down at the end: "
                        + ", ".join(down))
            return
        # A run shorter than the bound still must not end on a silent halt: a consensus
        # engine with nothing to come will never decide another height by itself.
        majority = self.view.connected_majority() if self.view.consensus_idle() else None
        if majority is not None and all(self.view.node(name).phase == IN_CONSENSUS for name in majority):
            self.report(sorted(majority), f"no proposal or commit is to come at height {self.view.chain.height + 1} "
                        f"(the last block was at t={self._last_block:g}s) while {', '.join(sorted(majority))} hold "
                        "more than 2/3 of the power, are online, in consensus and reach each other: the chain "
                        "has halted for good")


class NodeInSync(Checker):
    """Every online node that reaches a +2/3 majority keeps up with the chain."""

    name = "node-in-sync"

    def __init__(self, view: Any, report: Any) -> None:
        super().__init__(view, report)
        self.bound = stall_bound(view)
        self._rate = view.scenario.network.block_sync_rate
        # node -> (since when it could keep up, how far behind it was then)
        self._due: dict[str, tuple[float, int]] = {}
        self._reported: set[str] = set()

    def on_proposal(self, node: NodeView, height: int) -> None:
        if node.height != height - 1:
            self.report((node.name,), f"{node.name} proposed height {height} while at height {node.height}")

    def tick(self) -> None:
        now = self.view.now
        chain_height = self.view.chain.height
        keeping_up = {node.name: self._keeping_up(node, chain_height) for node in self.view.nodes}
        # the majority matters only for a node that lags (most ticks have none): finding it
        # is the costliest thing a tick does
        majority = self.view.connected_majority() if not all(keeping_up.values()) else None
        for node in self.view.nodes:
            # (asked only of a node that lags: a partitioned thousand asked it of every node)
            if keeping_up[node.name] or not (majority is not None and node.online
                                             and self.view.reaches(node.name, majority)):
                self._due.pop(node.name, None)
                self._reported.discard(node.name)
                continue
            since, behind = self._due.setdefault(node.name, (now, chain_height - node.height))
            allowed = self.bound + behind / self._rate
            if now - since > allowed and node.name not in self._reported:
                self._reported.add(node.name)
                self.report((node.name,), self._explain(node, chain_height, now - since))

    @staticmethod
    def _keeping_up(node: NodeView, chain_height: int) -> bool:
        listening = node.listeners_active or not node.has_listeners or not node.is_validator \
            or node.shut_down is not None
        return node.height >= chain_height - SYNC_SLACK and node.synced and listening

    def _explain(self, node: NodeView, chain_height: int, waited: float) -> str:
        problems = []
        if node.height < chain_height - SYNC_SLACK:
            problems.append(f"at height {node.height} of {chain_height}")
        if not node.synced:
            problems.append("never marked synced")
        if node.is_validator and node.has_listeners and not node.listeners_active:
            problems.append("its listeners are not running")
        return (f"{node.name} is online and reaches a +2/3 majority but for {waited:.1f}s has been "
                + ", ".join(problems))


def tick_interval(view: WorldView) -> float:
    """How often the progress checks look (a quarter of the stall bound, at most 30 s)."""
    return min(30.0, stall_bound(view) / 4) if math.isfinite(stall_bound(view)) else 30.0
