"""The world as one node sees it: the ``NodeHost`` a node is handed, and nothing more.

Each node gets its own adapter, which knows the node's index and turns the node's requests
into calls on the world's parts (clock, trace, gossip, consensus engine, block sync,
recorder, sources).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from node.app import AppState
from node.execute import BlockResult
from node.host import NO_EFFECT
from node.messages import ForgetTx
from node.txs import Block, Tx

if TYPE_CHECKING:
    from node.abci import Finalized
    from node.node import Node
    from sim.checks import Checks
    from sim.consensus.blocksync import BlockSync
    from sim.consensus.chain import Chain
    from sim.consensus.driver import ConsensusDriver
    from sim.engine.clock import VirtualClock
    from sim.engine.kernel import Kernel
    from sim.engine.rng import RngStreams
    from sim.engine.trace import Trace
    from sim.world.gossip import Gossip
    from sim.world.records import Recorder
    from sim.world.sources import Sources
    from sim.world.views import WorldView


class HostedWorld(Protocol):
    """The parts of the world a host adapter forwards to (``sim.world.world.World``)."""

    clock: VirtualClock
    kernel: Kernel
    trace: Trace
    rng: RngStreams
    sources: Sources
    chain: Chain
    gossip: Gossip
    recorder: Recorder
    nodes: list[Node]
    driver: ConsensusDriver
    blocksync: BlockSync
    checks: Checks
    views: WorldView
    faults_without_effect: int

    def node_went_down(self, i: int) -> None: ...


class NodeHostAdapter:
    """``node.host.NodeHost`` for node ``index`` of ``world``."""

    def __init__(self, world: HostedWorld, index: int, name: str) -> None:
        self._world = world
        self._index = index
        self._name = name
        self.skew = 0.0  # this node's clock offset (the ``clock_skew`` fault)

    # -- time, trace, randomness, external systems ---------------------------------------
    def now(self) -> float:
        return self._world.clock.now + self.skew

    def emit(self, event: str, **fields: Any) -> None:
        if event == NO_EFFECT:
            self._world.faults_without_effect += 1
        self._world.trace.emit(event, **fields)

    def stream(self, name: str) -> random.Random:
        return self._world.rng.stream(name)

    def dial(self, address: str) -> Any:
        return self._world.sources.endpoint(address, self._name)

    def defer(self, work: Callable[[], None]) -> None:
        self._world.kernel.defer(work)

    # -- the chain -----------------------------------------------------------------------
    def execute(self, pre: AppState, block: Block) -> tuple[AppState, BlockResult, str]:
        return self._world.chain.execute(pre, block)

    # -- gossip ----------------------------------------------------------------------------
    def gossip(self, tx: Tx) -> None:
        self._world.gossip.submit(self._index, tx)

    def withdraw(self, tx: Tx) -> None:
        self._world.gossip.withdraw(tx)
        for node in self._world.nodes:
            if node.index != self._index and node.online:
                node.post(ForgetTx(tx))

    # -- the consensus engine and block sync -----------------------------------------------
    def proposal_ready(self, height: int, round_: int, txs: list[Tx]) -> None:
        self._world.driver.proposal_ready(self._index, height, round_, self.now(), txs)

    def enter_consensus(self, height: int) -> None:
        self._world.driver.enter_consensus(self._index, height)

    def best_peer_height(self) -> int | None:
        return self._world.blocksync.best_peer_height(self._index)

    def fetch_block(self, height: int) -> None:
        self._world.blocksync.fetch(self._index, height)

    def went_down(self) -> None:
        self._world.node_went_down(self._index)

    # -- what the run records --------------------------------------------------------------
    def committed(self, finalized: Finalized, *, consensus: bool) -> None:
        self._world.blocksync.node_committed(self._index, finalized.block.height)
        self._world.checks.on_node_commit(self._world.views.nodes[self._index], finalized.block)

    def votes_sent(self, ids: tuple[str, ...]) -> None:
        self._world.recorder.votes_sent(self._name, ids)

    def observed(self, resolution_id: str, event_type: str) -> None:
        node = self._world.nodes[self._index]
        self._world.recorder.observed(self._name, node.is_validator, resolution_id, event_type)

    def node_failed(self, reason: str, *, panic: bool = False) -> None:
        self._world.recorder.node_shutdown(self._name, reason, panic=panic)
