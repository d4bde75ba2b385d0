"""The world: one simulated network of nodes, the external systems they watch, and time.

``World`` wires the pieces together and is the ``NodeHost`` every node talks to: it owns
the kernel (clock and event heap), the RNG streams, the trace, the network, the chain,
the consensus driver, the sources, the fault schedule and the invariant checkers.
"""

from __future__ import annotations

import random
import time as wallclock
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import trio

from node.app import AppState
from node.eventstore import EventStore
from node.execute import Rules
from node.listeners import ListenerRegistry
from node.node import Node, NodeSettings
from node.txs import Tx, VoteBodies, VoteIDs, event_id
from sim.chain import Chain, Committed
from sim.checks import Checks, Violation
from sim.clock import VirtualClock
from sim.consensus import Timeouts
from sim.determinism import seed_trio_scheduler
from sim.driver import ConsensusDriver
from sim.errors import SimulationError
from sim.faults import FaultInjector
from sim.kernel import Kernel
from sim.network import Network
from sim.records import BlockRecord, RunRecords
from sim.rng import RngStreams
from sim.setup import build_listeners, build_resolution_types, build_sources
from sim.trace import Trace


@attrs.define(eq=False)
class PooledTx:
    tx: Tx
    sender: int
    submitted: float
    key: int


class SourceContextImpl:
    """What a source gets from the world: named RNG streams, the trace, node names."""

    def __init__(self, world: World, kind: str) -> None:
        self._world = world
        self._kind = kind
        self.node_names = list(world.names)

    def rng(self, name: str) -> random.Random:
        return self._world.rng.stream(f"source/{self._kind}/{name}")

    def trace(self, event: str, **fields: object) -> None:
        self._world.trace.emit(event, **fields)


class World:
    """One run of one scenario under one seed."""

    def __init__(self, scenario: Any, seed: int, out_dir: Path | None = None) -> None:
        self.scenario = scenario
        self.seed = seed
        self.out_dir = out_dir
        self.clock = VirtualClock()
        self.kernel = Kernel(self.clock)
        self.rng = RngStreams(seed)
        self.trace = Trace(self.clock.current_time)
        self.records = RunRecords()
        self.violations: list[Violation] = []
        self.names = [node.name for node in scenario.nodes]
        self.index = {name: i for i, name in enumerate(self.names)}
        net = scenario.network
        self.network = Network(self.names, net.latency, net.drop, self.rng)
        self.types = build_resolution_types(scenario)
        self.rules = Rules(scenario.protocol, self.types, frozenset(scenario.bug_compat),
                           scenario.validators.gas, scenario.validators.join_expiry)
        genesis = AppState(
            validators={n.name: n.power for n in scenario.nodes if n.start != "non-validator"},
            balances={n.name: scenario.validators.balance for n in scenario.nodes}
            if scenario.validators.gas else {},
        )
        self.chain = Chain(genesis, self.rules, self.names)
        self.registry: ListenerRegistry = build_listeners(scenario)
        self.nodes = [self._make_node(i, cfg, genesis) for i, cfg in enumerate(scenario.nodes)]
        self.sources = build_sources(scenario, self)
        self.addresses = {source.address: source for source in self.sources.values()}
        c = scenario.consensus
        self.timeouts = Timeouts(c.timeout_propose, c.timeout_prevote, c.timeout_precommit,
                                 c.timeout_commit, c.round_increment)
        self.driver = ConsensusDriver(self, self.timeouts, scenario.network.block_sync_rate)
        self.checks = Checks(self, scenario.checks)
        self.pool: dict[int, PooledTx] = {}
        self._pool_seq = 0
        self._nursery: trio.Nursery | None = None
        self._stop: trio.CancelScope | None = None
        self.wall_seconds = 0.0
        self.faults = FaultInjector(self)

    def _make_node(self, index: int, cfg: Any, genesis: AppState) -> Node:
        storage = self.scenario.validators.storage
        if storage == "file":
            if self.out_dir is None:
                raise SimulationError('validators.storage = "file" needs an output folder (--out)')
            folder = self.out_dir / "nodes"
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{cfg.name}.sqlite"
            path.unlink(missing_ok=True)
            db_path = str(path)
        else:
            db_path = ":memory:"
        node_ref: list[Node] = []
        store = EventStore(db_path, lambda t: t in self.types,
                           lambda rid: node_ref[0].state.is_processed(rid))
        s = self.scenario
        settings = NodeSettings(
            protocol=s.protocol, bugs=frozenset(s.bug_compat), gas=s.validators.gas,
            rebroadcast_after=s.validators.rebroadcast_after,
            max_block_bytes=s.consensus.max_block_bytes, byzantine=cfg.byzantine,
            extension_configs={k: dict(v) for k, v in cfg.extensions.items()})
        node = Node(cfg.name, index, self, settings, store, self.registry.copy(), self.types, genesis)
        node_ref.append(node)
        return node

    # -- NodeHost ------------------------------------------------------------------------
    def now(self) -> float:
        return self.clock.now

    def emit(self, event: str, **fields: Any) -> None:
        self.trace.emit(event, **fields)

    def stream(self, name: str) -> random.Random:
        return self.rng.stream(name)

    def dial(self, node: str, address: str) -> Any:
        source = self.addresses.get(address)
        if source is None:
            raise ConnectionError(f"nothing listens at {address!r} (known: {sorted(self.addresses)})")
        return source.endpoint(node)

    def submit_tx(self, tx: Tx) -> None:
        self._pool_seq += 1
        key = self.rng.counter_key("tx", self._pool_seq)
        entry = PooledTx(tx, self.index[tx.sender], self.clock.now, key)
        if "rebroadcast-any-sender" in self.rules.bugs and isinstance(tx, VoteIDs):
            self._watch_gossip_order(entry)
        self.pool[self._pool_seq] = entry

    def _watch_gossip_order(self, entry: PooledTx) -> None:
        """Under ``rebroadcast-any-sender``: every node this tx reaches before its
        predecessor (same sender, nonce - 1, still pending) rejects it for its nonce then."""
        previous = [p for p in self.pool.values()
                    if p.sender == entry.sender and p.tx.nonce == entry.tx.nonce - 1]
        if not previous:
            return
        senders = np.array([entry.sender, entry.sender])
        sent = np.array([entry.submitted, previous[0].submitted])
        keys = np.array([entry.key, previous[0].key], dtype=np.uint64)
        arrival = self.network.arrivals(senders, sent, keys)
        for i in np.flatnonzero(arrival[0] < arrival[1]):
            if int(i) != entry.sender:
                self.kernel.call_at(float(arrival[0, i]), self._bad_nonce_seen, int(i), entry.tx)

    def received_txs(self, node: str, time: float) -> list[Tx]:
        me = self.index[node]
        entries = [p for p in self.pool.values() if p.sender != me]
        if not entries:
            return []
        senders = np.array([p.sender for p in entries])
        sent = np.array([p.submitted for p in entries])
        keys = np.array([p.key & 0xFFFFFFFFFFFFFFFF for p in entries], dtype=np.uint64)
        arrival = self.network.arrivals(senders, sent, keys, np.array([me]))[:, 0]
        state = self.nodes[me].state
        by_sender: dict[str, list[tuple[float, Tx]]] = {}
        for entry, at in zip(entries, arrival, strict=True):
            if at <= time:
                by_sender.setdefault(entry.tx.sender, []).append((float(at), entry.tx))
        txs: list[Tx] = []
        for sender, arrived in by_sender.items():
            # Replay this mempool's admission in nonce order: only pending + 1 is admitted, so
            # a tx whose predecessor had not arrived before it was rejected there.
            expected = state.nonce_of(sender) + 1
            last = -1.0
            for at, tx in sorted(arrived, key=lambda a: (a[1].nonce, a[0])):
                if tx.nonce < expected:
                    continue  # a duplicate nonce
                if tx.nonce > expected or at < last:
                    self._bad_nonce_seen(me, tx)
                    break
                txs.append(tx)
                expected += 1
                last = at
        return txs

    def votes_sent(self, node: str, ids: tuple[str, ...]) -> None:
        now = self.clock.now
        for rid in ids:
            self.records.votes_sent.setdefault((node, rid), now)

    def observed(self, node: str, resolution_id: str, event_type: str) -> None:
        now = self.clock.now
        self.records.observations.append((node, resolution_id, now))
        record = self.records.resolution(resolution_id, event_type)
        if now < record.first_seen and self.nodes[self.index[node]].is_validator:
            if record.first_seen_by is None:
                # One record per event (its first observation); per-node stores are in
                # records.observations, which the hash covers through what they cause.
                self.trace.emit("event.observed", node=node, id=resolution_id, type=event_type)
            record.first_seen = now
            record.first_seen_by = node

    def node_failed(self, node: str, reason: str) -> None:
        self.records.node_shutdowns.append((node, reason))
        self.faults.shut_down(self.index[node])

    # -- chain callbacks -------------------------------------------------------------------
    def on_block(self, committed: Committed) -> None:
        block, result = committed.block, committed.result
        now = self.clock.now
        vote_ids = sum(len(tx.votes) for tx in block.txs if isinstance(tx, VoteIDs))
        vote_bodies = sum(len(tx.events) for tx in block.txs if isinstance(tx, VoteBodies))
        self.records.blocks.append(BlockRecord(block.height, block.round, block.proposer, now,
                                               len(block.txs), vote_ids, vote_bodies))
        self.trace.emit("block", height=block.height, round=block.round, proposer=block.proposer,
                        txs=len(block.txs), hash=committed.block_hash[:16])
        state = committed.state
        assert state is not None
        for voter, rid in result.votes:
            self.records.votes.append((rid, voter, state.power_of(voter), block.height))
            record = self.records.resolution(rid, None)
            if record.created_height is None:
                record.created_height = block.height
                record.created_time = now
        for outcome in result.outcomes:
            record = self.records.resolution(outcome.id, outcome.type)
            record.type = outcome.type
            record.status = outcome.status
            record.height = block.height
            record.time = now
            record.approved = outcome.approved
            record.required = outcome.required
            record.refunded = outcome.refunded and outcome.status == "expired"
            record.voters = outcome.voters
            record.error = outcome.error
            self.trace.emit(f"resolution.{outcome.status}", id=outcome.id, type=outcome.type,
                            approved=outcome.approved, required=outcome.required,
                            refunded=record.refunded)
            if outcome.error is not None:
                self.trace.emit("resolution.error", id=outcome.id, type=outcome.type, error=outcome.error)
        for name, power in result.validator_updates:
            self.records.validator_changes.append((now, block.height, name, power))
            self.trace.emit("validator.update", validator=name, power=power, height=block.height)
        for tx_outcome in result.txs:
            if isinstance(tx_outcome.tx, VoteBodies):
                for event_type, body in tx_outcome.tx.events:
                    self.records.bodies.setdefault(event_id(event_type, body), body)
            if not tx_outcome.ok:
                self.trace.emit("tx.failed", sender=tx_outcome.tx.sender, nonce=tx_outcome.tx.nonce,
                                error=tx_outcome.error)
        self._recheck_pool(block, state)
        self.checks.on_block(committed)
        self.faults.on_block(committed)

    def _recheck_pool(self, block: Any, state: AppState) -> None:
        """Every mempool drops what the block included and what is now stale.

        A stale vote-ids tx (its nonce was taken by another tx of the same sender) fails
        recheck everywhere. The corrected behaviour marks its ids for rebroadcast only on the
        sender's own node (``Node._recheck``); kwil 0.7.6 did it on every node that saw it
        (``rebroadcast-any-sender``).
        """
        included = set(block.txs)
        any_sender = "rebroadcast-any-sender" in self.rules.bugs
        for key in [k for k, p in self.pool.items() if p.tx.nonce <= state.nonce_of(p.tx.sender)]:
            tx = self.pool.pop(key).tx
            if any_sender and tx not in included:
                for i, node in enumerate(self.nodes):
                    if node.online and node.name != tx.sender:
                        self._bad_nonce_seen(i, tx)

    def _bad_nonce_seen(self, node: int, tx: Tx) -> None:
        """``node``'s mempool rejected another sender's vote-ids tx for its nonce. Corrected:
        nothing happens there. kwil 0.7.6 (``rebroadcast-any-sender``) marked those ids for
        rebroadcast on the node that saw it."""
        if "rebroadcast-any-sender" not in self.rules.bugs or not isinstance(tx, VoteIDs):
            return
        receiver = self.nodes[node]
        mine = [rid for rid in tx.ids if receiver.store.has_event(rid)]
        if mine:
            receiver.mark_rebroadcast(mine)

    def withdraw_tx(self, tx: Tx) -> None:
        """The sender gave up on ``tx`` (it re-votes instead): no mempool includes it any more."""
        for key in [k for k, p in self.pool.items() if p.tx == tx]:
            del self.pool[key]

    def on_node_commit(self, node: Node, block: Any) -> None:
        self.checks.on_node_commit(node, block)

    # -- violations ----------------------------------------------------------------------
    def violate(self, violation: Violation) -> None:
        self.violations.append(violation)
        self.trace.emit("violation", invariant=violation.invariant, nodes=list(violation.nodes),
                        explanation=violation.explanation)
        if self._stop is not None:
            self._stop.cancel()

    def request_stop(self, reason: str) -> None:
        """Stop the run now, keeping what happened so far (a wall-time limit, Ctrl-C)."""
        self.trace.emit("run.stopped", reason=reason)
        # The kernel's fast path runs callbacks without a trio checkpoint, so it would not see
        # the cancel; with nothing left to call it reaches one at once.
        self.kernel._heap.clear()
        if self._stop is not None:
            self._stop.cancel()

    # -- running -------------------------------------------------------------------------
    def start_node(self, node: Node) -> None:
        assert self._nursery is not None
        self._nursery.start_soon(node.run)

    async def _main(self) -> None:
        duration = self.scenario.duration
        with trio.CancelScope() as stop:
            self._stop = stop
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                for node, cfg in zip(self.nodes, self.scenario.nodes, strict=True):
                    if cfg.start != "offline":
                        node.synced = True
                        await nursery.start(node.run)
                for source in self.sources.values():
                    nursery.start_soon(source.run)
                self.faults.schedule()
                self.driver.start()
                await self.kernel.run_until(duration)
                self.checks.at_end()
                nursery.cancel_scope.cancel()
        self._nursery = None

    def run(self) -> None:
        started = wallclock.perf_counter()
        seed_trio_scheduler(self.seed)
        trio.run(self._main, clock=self.clock, strict_exception_groups=True)
        self.wall_seconds = wallclock.perf_counter() - started

    def close(self) -> None:
        for node in self.nodes:
            node.store.close()
