"""The world: one run of one scenario under one seed, assembled from its parts.

``World`` builds and wires the parts and runs them; it holds no logic of its own beyond
that. The parts, each with one job: the kernel and clock (``sim.engine``), the network
(``sim.net``), the chain, consensus engine and block sync (``sim.consensus``), gossip of txs
(``gossip``), the nodes with one host adapter each (``host``), the external systems
(``sources``), the fault injector (``sim.faults``), the recorder (``records``) and the
invariant checkers, which read the world through ``views``.
"""

from __future__ import annotations

import time as wallclock
from pathlib import Path
from typing import Any

import trio

from node.abci import KwilApp
from node.app import AppState
from node.behaviours import BehaviourFailed, load_behaviour
from node.control import NodeControl
from node.eventstore import EventStore
from node.execute import Rules
from node.memstore import MemoryEventStore
from node.node import Node, NodeSettings
from node.protocols import protocol_flow
from sim.checks import Checks, Violation
from sim.consensus.blocksync import BlockSync
from sim.consensus.chain import Chain, Committed
from sim.consensus.driver import ConsensusDriver
from sim.consensus.planner import Timeouts
from sim.engine.clock import VirtualClock
from sim.engine.determinism import seed_trio_scheduler
from sim.engine.gc_policy import run_gc_policy
from sim.engine.kernel import Kernel
from sim.engine.malloc_policy import LARGE_WORLD, keep_freed_memory
from sim.engine.rng import RngStreams
from sim.engine.trace import Trace
from sim.errors import HookFailed, ScenarioError, SimulationError
from sim.faults.context import FaultWorld
from sim.faults.injector import FaultInjector
from sim.net.network import Network
from sim.world.gossip import Gossip
from sim.world.host import NodeHostAdapter
from sim.world.load import UserLoad
from sim.world.records import Recorder, RunRecords
from sim.world.setup import build_listeners, build_resolution_types
from sim.world.sources import Sources
from sim.world.views import WorldView


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
        self.recorder = Recorder(self.records, self.trace, self.clock.current_time)
        self.violations: list[Violation] = []
        self.faults_without_effect = 0  # faults that found nothing to act on (counted by the hosts)
        self.names = [node.name for node in scenario.nodes]
        net = scenario.network
        self.network = Network(self.names, net.latency, net.drop, self.rng, net.duplicate)
        self.types = build_resolution_types(scenario)
        self.rules = Rules(scenario.protocol, self.types, frozenset(scenario.bug_compat),
                           scenario.validators.gas, scenario.validators.join_expiry,
                           scenario.consensus.vote_expiry)
        accounts = [n.name for n in scenario.nodes] + list(scenario.load.accounts if scenario.load else ())
        genesis = AppState(
            validators={n.name: n.power for n in scenario.nodes if n.start != "non-validator"},
            balances=dict.fromkeys(accounts, scenario.validators.balance) if scenario.validators.gas else {},
        )
        self.chain = Chain(genesis, self.rules, self.names)
        self.gossip = Gossip(self.network, self.rng, self.kernel, self._deliver_txs,
                             eager="rebroadcast-any-sender" in self.rules.bugs)
        self.hosts = [NodeHostAdapter(self, i, name) for i, name in enumerate(self.names)]
        registry = build_listeners(scenario)
        self.nodes = [self._make_node(i, cfg, genesis, registry) for i, cfg in enumerate(scenario.nodes)]
        self.sources = Sources(scenario, self.rng, self.trace, self.names)
        c = scenario.consensus
        self.timeouts = Timeouts(c.timeout_propose, c.timeout_prevote, c.timeout_precommit,
                                 c.timeout_commit, c.round_increment)
        self.faults = FaultInjector(FaultWorld(
            kernel=self.kernel, network=self.network, names=self.names,
            configured_power=[n.power for n in scenario.nodes],
            controls=[NodeControl(node, self.start_node) for node in self.nodes],
            set_skew=self._set_skew, network_changed=self._network_changed, sources=self.sources,
            trace=self.trace), self.records)
        self.blocksync = BlockSync(self.kernel, self.network, self.chain, self.nodes,
                                   scenario.network.block_sync_rate)
        self.driver = ConsensusDriver(self.kernel, self.network, self.chain, self.nodes, self.gossip,
                                      self.blocksync, self.timeouts, on_block=self._on_block,
                                      take_overrides=self.faults.take_overrides, trace=self.trace.emit,
                                      on_proposal=self._on_proposal, on_halt=self._on_halt)
        self.views = WorldView(now=self.clock.current_time, scenario=scenario, types=self.types,
                               records=self.records, trace_records=self.trace.records, chain=self.chain,
                               sources=self.sources, nodes=self.nodes, gossip=self.gossip,
                               network=self.network, consensus_idle=self.driver.idle)
        self.checks = Checks(self.views, scenario.checks, self.violate)
        self.load = UserLoad(scenario.load, self.kernel, self.rng, self.nodes) if scenario.load else None
        self._nursery: trio.Nursery | None = None
        self._stop: trio.CancelScope | None = None
        self.wall_seconds = 0.0

    def _make_node(self, index: int, cfg: Any, genesis: AppState, registry: Any) -> Node:
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
            db_path = None
        apps: list[KwilApp] = []
        known, processed = (lambda t: t in self.types), (lambda rid: apps[0].state.is_processed(rid))
        store = EventStore(db_path, known, processed) if db_path else MemoryEventStore(known, processed)
        s = self.scenario
        settings = NodeSettings(
            protocol=s.protocol, bugs=frozenset(s.bug_compat), gas=s.validators.gas,
            rebroadcast_after=s.validators.rebroadcast_after,
            max_block_bytes=s.consensus.max_block_bytes,
            extension_configs={k: dict(v) for k, v in cfg.extensions.items()})
        try:
            behaviour = load_behaviour(cfg.byzantine)
        except (ImportError, ValueError) as exc:
            raise ScenarioError(s.file, f"nodes.{cfg.name}.byzantine", f"cannot load {cfg.byzantine!r}: {exc}") \
                from None
        host = self.hosts[index]
        app = KwilApp(cfg.name, self.rules, protocol_flow(s.protocol), behaviour, store, host.execute, genesis,
                      max_block_bytes=s.consensus.max_block_bytes)
        apps.append(app)
        return Node(cfg.name, index, host, settings, store, app, registry.copy())

    # -- what the parts tell the world -------------------------------------------------------
    def _deliver_txs(self, i: int, txs: tuple[tuple[float, Any], ...]) -> None:
        from node.messages import TxArrivals

        self.nodes[i].post(TxArrivals(txs))

    def _on_block(self, committed: Committed) -> None:
        self.recorder.block(committed)
        assert committed.state is not None
        self.gossip.prune(committed.state.nonces)
        self.checks.on_block(committed)
        self.faults.on_block(committed)

    def _on_proposal(self, i: int, height: int) -> None:
        self.checks.on_proposal(self.views.nodes[i], height)

    def _on_halt(self, failure: Any) -> None:
        """A block failed (a kwil defect switched on): the chain halts, which is an outcome."""
        self.trace.emit("chain.halted", height=failure.height, cause=failure.cause)
        self.violate(Violation("chain-halted", self.clock.now, (),
                               f"the chain halted at height {failure.height}: {failure.cause}"))

    def _network_changed(self) -> None:
        self.driver.request_replan()

    def _set_skew(self, i: int, offset: float) -> None:
        self.hosts[i].skew = offset

    def node_went_down(self, i: int) -> None:
        """Node ``i`` crashed or shut down: it sends nothing and takes part in nothing."""
        epoch = self.network.change(self.clock.now)
        epoch.online[i] = False
        self.blocksync.cancel(i)
        self.driver.node_down(i)

    def start_node(self, node: Node) -> None:
        """Start (or restart) ``node``'s nursery; it comes up and catches up at once."""
        assert self._nursery is not None
        epoch = self.network.change(self.clock.now)
        epoch.online[node.index] = True
        self.driver.request_replan()
        self._nursery.start_soon(node.run)

    def _tick(self) -> None:
        self.checks.tick()
        self.kernel.call_later(self.checks.tick_interval, self._tick, priority=3)

    def _final_status(self) -> None:
        """One record per node with where it ended (its height, whether it kept up)."""
        for view in self.views.nodes:
            self.trace.emit("node.status", node=view.name, online=view.online, height=view.height,
                            synced=view.synced, validator=view.is_validator, listening=view.listeners_active)

    # -- violations ----------------------------------------------------------------------
    def violate(self, violation: Violation) -> None:
        self.violations.append(violation)
        self.trace.emit("violation", invariant=violation.invariant, nodes=list(violation.nodes),
                        explanation=violation.explanation)
        self._end_now()

    def request_stop(self, reason: str) -> None:
        """Stop the run now, keeping what happened so far (a wall-time limit, Ctrl-C)."""
        self.trace.emit("run.stopped", reason=reason)
        self._end_now()

    def _end_now(self) -> None:
        # The kernel's fast path runs callbacks without a trio checkpoint, where the cancel
        # would land: stopping the kernel ends that loop at once.
        self.kernel.stop()
        if self._stop is not None:
            self._stop.cancel()

    # -- running -------------------------------------------------------------------------
    async def _main(self) -> None:
        duration = self.scenario.duration
        with trio.CancelScope() as stop:
            self._stop = stop
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                for node, cfg in zip(self.nodes, self.scenario.nodes, strict=True):
                    if cfg.start != "offline":
                        await nursery.start(node.run)
                    else:
                        self.network.current.online[node.index] = False
                self.sources.start(nursery)
                self.faults.schedule(self.scenario.faults)
                self.driver.start()
                if self.load is not None:
                    self.load.start()
                self.kernel.call_later(self.checks.tick_interval, self._tick, priority=3)
                await self.kernel.run_until(duration)
                self.checks.at_end()
                self._final_status()
                nursery.cancel_scope.cancel()
        self._nursery = None

    def run(self) -> None:
        started = wallclock.perf_counter()
        seed_trio_scheduler(self.seed)
        if len(self.nodes) >= LARGE_WORLD:
            keep_freed_memory()
        with run_gc_policy():
            try:
                trio.run(self._main, clock=self.clock, strict_exception_groups=True)
            except BaseExceptionGroup as group:
                failed = group.subgroup(BehaviourFailed)
                if failed is not None:
                    first = _first_leaf(failed)
                    raise HookFailed(str(first)) from first
                impossible = group.subgroup(SimulationError)
                if impossible is None:
                    raise
                raise _first_leaf(impossible) from None
        self.wall_seconds = wallclock.perf_counter() - started

    def close(self) -> None:
        for node in self.nodes:
            node.store.close()


def _first_leaf(group: BaseExceptionGroup[Any]) -> BaseException:
    inner = group.exceptions[0]
    return _first_leaf(inner) if isinstance(inner, BaseExceptionGroup) else inner
