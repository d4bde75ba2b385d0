"""Invariants over each node's own state: its events, its listeners, its votes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from node.txs import VoteBodies, VoteIDs, event_id
from sim.checks.base import Checker
from sim.checks.progress_checks import SYNC_SLACK

if TYPE_CHECKING:
    from sim.consensus.chain import Committed
    from sim.world.views import NodeView

SWEEP_EVERY = 20  # blocks between full sweeps of every node's store


class NoLostEvents(Checker):
    """An event a node stored is in its store, covered by its own committed vote or body,
    resolved, or expired: never silently gone, across crashes and restarts."""

    name = "no-lost-events"

    def __init__(self, view: Any, report: Any) -> None:
        super().__init__(view, report)
        self._voted: dict[str, set[str]] = {}  # id -> nodes whose vote or body on it committed
        # (node, id) pairs stored and not yet covered for good by a vote or a processed id
        self._watch: dict[tuple[str, str], None] = {}
        self._cursor = 0

    def on_block(self, committed: Committed) -> None:
        voted = self._voted
        for outcome in committed.result.txs:
            tx = outcome.tx
            if isinstance(tx, VoteIDs):
                for rid in tx.ids:
                    voted.setdefault(rid, set()).add(tx.sender)
            elif isinstance(tx, VoteBodies):  # a committed body covers its proposer's events
                for t, b in tx.events:
                    voted.setdefault(event_id(t, b), set()).add(tx.sender)
        for voter, rid in committed.result.votes:
            voted.setdefault(rid, set()).add(voter)
        if committed.block.height % SWEEP_EVERY == 0:
            self._sweep()

    def at_end(self) -> None:
        self._sweep()

    def _sweep(self) -> None:
        observations = self.view.records.observations
        for node_name, rid, _time in observations[self._cursor:]:
            self._watch[(node_name, rid)] = None
        self._cursor = len(observations)
        chain_state = self.view.chain_state()
        for key in list(self._watch):
            node_name, rid = key
            node = self.view.node(node_name)
            if node_name in self._voted.get(rid, ()) or node.state.is_processed(rid) or \
                    chain_state.is_processed(rid):
                del self._watch[key]  # covered for good
                continue
            if node.has_event(rid):
                continue
            if rid in node.state.resolutions and self.view.scenario.protocol == "kwil-0.8":
                continue
            del self._watch[key]
            self.report((node_name,), f"event {rid} stored by {node_name} is gone without a vote, "
                        "a resolution or an expiry")
        # a processed id covers every node for good: its votes need not be remembered
        for rid in [r for r in self._voted if chain_state.is_processed(r)]:
            del self._voted[rid]


class ListenerLifecycle(Checker):
    """Listeners run exactly while their node is synced, online and a validator, and a
    cancellation completes within the same virtual instant."""

    name = "listener-lifecycle"

    def __init__(self, view: Any, report: Any) -> None:
        super().__init__(view, report)
        self._cancelled_at: dict[str, float] = {}
        # kwil 0.7.6's listener manager follows the status at its next one-second poll
        self._lag = 1.0 if view.scenario.protocol == "kwil-0.7" else 0.0
        self._should: dict[str, tuple[bool, float]] = {}
        self._listens: dict[int, bool] = {}

    def on_node_commit(self, node: NodeView, block: Any) -> None:
        # a node's listeners are registered when the world is built: asked once per node
        listens = self._listens.get(node.index)
        if listens is None:
            listens = self._listens[node.index] = node.has_listeners
        if listens:
            self._check(node)

    def at_end(self) -> None:
        for node in self.view.nodes:
            if node.has_listeners:  # else nothing could run or should
                self._check(node)

    def _check(self, node: NodeView) -> None:
        active = node.listeners_active
        should = node.online and node.synced and node.is_validator and node.shut_down is None
        previous = self._should.get(node.name)
        if active and should and previous is not None and previous[0]:
            # running as it should, as it did at the last look (every validator at almost
            # every commit: the path taken most, kept short)
            if self._cancelled_at:
                self._cancelled_at.pop(node.name, None)
            return
        now = self.view.now
        if previous is None or previous[0] != should:
            self._should[node.name] = (should, now)
        if active and should:
            self._cancelled_at.pop(node.name, None)
            return  # running as it should: nothing to report
        running = node.listeners_running
        settled = not node.online or now - self._should[node.name][1] > self._lag + 1e-6
        if active and not should and settled:
            self.report((node.name,), f"listeners of {node.name} run while it is not a synced, online validator")
        if not active and running:
            # A cancellation lands at the tasks' next checkpoint in the same virtual instant;
            # only still running at a later instant is a violation.
            since = self._cancelled_at.setdefault(node.name, now)
            if since < now:
                self.report((node.name,), f"listener(s) {sorted(running)} of {node.name} "
                            f"outlived their cancellation at t={since:.3f}s")
                del self._cancelled_at[node.name]
        else:
            self._cancelled_at.pop(node.name, None)
        if should and not active and node.has_listeners and node.height > 0 and settled:
            self.report((node.name,), f"{node.name} is a synced validator but its listeners are not running")


class VotesSent(Checker):
    """No event stays broadcasted on a node for more than ``rebroadcast_after`` blocks
    without that node's vote being pending or committed, or sent again within the last
    ``rebroadcast_after`` blocks (a re-vote its mempool rejected for a nonce gap is still
    the node doing its part). Only nodes keeping up with the chain are judged."""

    name = "votes-sent"

    def __init__(self, view: Any, report: Any) -> None:
        super().__init__(view, report)
        self._since: dict[tuple[str, str], int] = {}
        self._committed: dict[str, set[str]] = {}  # id -> nodes whose vote on it committed
        self._limit = view.scenario.validators.rebroadcast_after

    def on_block(self, committed: Committed) -> None:
        height = committed.block.height
        voted = self._committed
        for voter, rid in committed.result.votes:
            voted.setdefault(rid, set()).add(voter)
        for outcome in committed.result.txs:
            if isinstance(outcome.tx, VoteIDs):
                for rid in outcome.tx.ids:
                    voted.setdefault(rid, set()).add(outcome.tx.sender)
        if height % max(1, self._limit // 2) != 0:
            return
        state = committed.state
        if state is not None:  # a processed id needs no vote any more
            for rid in [r for r in voted if state.is_processed(r)]:
                del voted[rid]
        pending: set[tuple[str, str]] | None = None  # gathered once some node has an id to judge
        current: dict[tuple[str, str], int] = {}
        for node in self.view.nodes:
            if not (node.online and node.is_validator):
                continue
            broadcasted = node.broadcasted_ids()
            if not broadcasted:
                continue
            if node.height < height - SYNC_SLACK:
                # Behind the chain (cut off, or catching up) a node cannot get a vote into it,
                # and it repairs lost votes on its own commits: its window starts again once
                # it is back (node-in-sync judges whether it should have been by now).
                for rid in broadcasted:
                    current[(node.name, rid)] = height
                continue
            if pending is None:
                pending = self.view.pending_votes()
            # a vote sent within the last rebroadcast_after blocks, even one its own mempool
            # rejected (a nonce gap), is the node doing its part: the repair comes after it
            awaited = node.awaited_vote_ids(height - self._limit)
            for rid in broadcasted:
                key = (node.name, rid)
                current[key] = self._since.get(key, height)
                if key in pending or rid in awaited or node.name in voted.get(rid, ()) or \
                        node.state.is_processed(rid):
                    current[key] = height
                elif height - current[key] > self._limit + 2:
                    self.report((node.name,), f"event {rid} has stayed broadcasted on {node.name} "
                                f"for {height - current[key]} blocks with no vote pending or committed")
                    current[key] = height
        self._since = current


class NoNodePanic(Checker):
    """No node's software fails: a node shuts down only when a listener fails, as kwil means
    it to. A panic (FinalizeBlock failing under ``broadcast-error-panics``) is a defect."""

    name = "no-node-panic"

    def __init__(self, view: Any, report: Any) -> None:
        super().__init__(view, report)
        self._seen = 0

    def tick(self) -> None:
        panics = self.view.records.node_panics
        for node, error, time in panics[self._seen:]:
            self.report((node,), f"{node} panicked at t={time:g}s and shut down: {error}")
        self._seen = len(panics)
