"""EvmSource: the world-facing side of the simulated chain.

The world builds it from ``[sources.evm]``, starts ``run()`` in its nursery (a block every
``block_time``), hands each node its ``endpoint(node)`` when the node dials ``address``,
applies the ``reorg_burst`` and ``rpc_outage`` faults through ``reorg_burst`` and
``set_outage``, and asks the chain queries when checking ``deposits-exact``.
"""

from __future__ import annotations

import trio

from sim.engine.sleep import sleep_until
from sim.sources.context import SourceContext
from sim.sources.evm.chain import Chain, Deposit, Reorg
from sim.sources.evm.config import EvmConfig
from sim.sources.evm.rpc import RpcEndpoint


class EvmSource:
    """An external EVM chain with a deposit contract and one RPC endpoint per node."""

    def __init__(self, config: EvmConfig, ctx: SourceContext) -> None:
        self.config = config
        self.address = config.address
        self._ctx = ctx
        self.chain = Chain(config, ctx.rng("deposits"), ctx.rng("reorg"))
        self._endpoints: dict[str, RpcEndpoint] = {}
        self._outages: dict[str, float] = {}
        self._changed = trio.Event()

    # -- the Source protocol ---------------------------------------------------------
    async def run(self) -> None:
        """Mine a block every ``block_time`` from the moment the world starts this task."""
        start = trio.current_time()
        k = 1
        while True:
            await sleep_until(start + k * self.config.block_time)
            block, reorg = self.chain.mine(trio.current_time())
            if reorg is not None:
                self._trace_reorg(reorg, "random")
            self._ctx.trace("evm.block", number=block.number, hash=block.hash,
                            deposits=len(block.transfers))
            self._notify()
            k += 1

    def endpoint(self, node: str) -> RpcEndpoint:
        """This node's RPC endpoint (the same object on every dial)."""
        endpoint = self._endpoints.get(node)
        if endpoint is None:
            endpoint = RpcEndpoint(self, node, self.config, self._ctx.rng(f"rpc/{node}"))
            self._endpoints[node] = endpoint
        return endpoint

    def summary(self) -> dict[str, float | int]:
        return {"evm_blocks": self.chain.head - self.chain.base,
                "evm_reorgs": self.chain.reorgs,
                "deposits_emitted": len(self.chain.ever_seen_deposits())}

    # -- faults ----------------------------------------------------------------------
    def reorg_burst(self, depth: int) -> Reorg:
        """Replace the last ``depth`` blocks now, whatever ``reorg.max_depth`` says."""
        reorg = self.chain.reorg(depth, trio.current_time())
        self._trace_reorg(reorg, "burst")
        self._notify()
        return reorg

    def set_outage(self, node: str, until: float) -> None:
        """Every RPC call of ``node`` fails, and its subscription drops, until ``until``."""
        if not isinstance(node, str) or not node:
            raise ValueError(f"set_outage: node must be a node name, got {node!r}")
        self._outages[node] = float(until)
        self._ctx.trace("evm.rpc_outage", node=node, until=float(until))
        self._notify()

    # -- for endpoints (RpcBackend) --------------------------------------------------
    def outage_until(self, node: str) -> float:
        return self._outages.get(node, float("-inf"))

    def changed(self) -> trio.Event:
        return self._changed

    # -- chain queries for checks ----------------------------------------------------
    def canonical_deposits(self) -> list[Deposit]:
        return self.chain.canonical_deposits()

    def final_deposits(self, confirmations: int) -> list[Deposit]:
        return self.chain.final_deposits(confirmations)

    def ever_seen_deposits(self) -> list[Deposit]:
        return self.chain.ever_seen_deposits()

    # -- internals -------------------------------------------------------------------
    def _notify(self) -> None:
        # Wake everything waiting for a change, and arm a fresh event for the next one.
        self._changed.set()
        self._changed = trio.Event()

    def _trace_reorg(self, reorg: Reorg, cause: str) -> None:
        self._ctx.trace("evm.reorg", cause=cause, depth=reorg.depth, head=reorg.head,
                        dropped=len(reorg.dropped), added=len(reorg.added))
