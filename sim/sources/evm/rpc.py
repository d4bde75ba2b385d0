"""A node's RPC endpoint to the simulated chain: latency, errors, outages, a lagged view.

Every call sleeps a latency drawn from the node's own stream (``rpc/<node>``) and then
fails with ``RpcError`` with probability ``rpc_errors``, or always while the node's RPC is
in an outage. The node sees the head ``view_lag`` seconds late; logs are read from the
canonical chain as it is now.
"""

from __future__ import annotations

import math
import random
from typing import Protocol

import trio

from sim.engine.sleep import sleep, sleep_until, wait_until
from sim.sources.evm.chain import Chain, CreditLog
from sim.sources.evm.config import EvmConfig

INF = math.inf


class RpcError(ConnectionError):
    """A transient RPC failure: a failed call, an outage, or a dropped subscription."""


class RpcBackend(Protocol):
    """What an endpoint needs from its source: the chain, outages and change notices."""

    chain: Chain

    def outage_until(self, node: str) -> float: ...

    def changed(self) -> trio.Event:
        """An event set at the next new head or outage change (a fresh one after that)."""
        ...


class RpcEndpoint:
    """One node's connection to the chain (what ``service.dial(rpc_provider)`` returns)."""

    def __init__(self, backend: RpcBackend, node: str, config: EvmConfig,
                 rng: random.Random) -> None:
        self.node = node
        self._backend = backend
        self._config = config
        self._rng = rng
        self.calls = 0
        self.failures = 0

    # -- the RPC surface ----------------------------------------------------------------
    async def block_number(self) -> int:
        """The head block number as this node sees it (``view_lag`` late)."""
        await self._call("eth_blockNumber")
        return self.visible_head()

    async def get_logs(self, from_block: int, to_block: int, address: str) -> list[CreditLog]:
        """Credit logs of ``address`` in blocks ``from_block..to_block`` (inclusive)."""
        for name, value in (("from_block", from_block), ("to_block", to_block)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"get_logs: {name} must be an integer >= 0, got {value!r}")
        if from_block > to_block:
            raise ValueError(f"get_logs: from_block {from_block} is after to_block {to_block}")
        await self._call("eth_getLogs")
        return self._backend.chain.get_logs(from_block, to_block, address)

    async def subscribe_new_heads(self) -> HeadSubscription:
        """A subscription delivering each later head number as this node sees it."""
        await self._call("eth_subscribe")
        seen = self._backend.chain.heads_until(trio.current_time() - self._config.view_lag)
        return HeadSubscription(self, seen)

    # -- helpers ------------------------------------------------------------------------
    @property
    def view_lag(self) -> float:
        return self._config.view_lag

    def visible_head(self) -> int:
        return self._backend.chain.head_at(trio.current_time() - self._config.view_lag)

    def in_outage(self) -> bool:
        return trio.current_time() < self._backend.outage_until(self.node)

    async def _call(self, method: str) -> None:
        self.calls += 1
        await sleep(self._config.rpc_latency.sample(self._rng))
        if self.in_outage():
            self.failures += 1
            raise RpcError(f"{method}: RPC of node {self.node} is unreachable (outage)")
        errors = self._config.rpc_errors
        if errors > 0 and self._rng.random() < errors:
            self.failures += 1
            raise RpcError(f"{method}: RPC of node {self.node} failed (transient error)")

    async def deliver_head(self, deadline: float = INF) -> bool:
        """A head's trip to the node: latency, then maybe a drop (outage or head_drop).
        False: ``deadline`` came first, and the head is still on its way."""
        latency = self._config.rpc_latency.sample(self._rng)
        if latency > 0:
            arrival = trio.current_time() + latency  # (what ``sleep`` computes)
            if arrival >= deadline:
                await sleep_until(deadline)
                return False
            await sleep_until(arrival)
        else:
            await sleep(latency)  # (a checkpoint, as before)
        if self.in_outage():
            raise RpcError(f"new-heads subscription of node {self.node} lost (outage)")
        drop = self._config.head_drop
        if drop > 0 and self._rng.random() < drop:
            raise RpcError(f"new-heads subscription of node {self.node} dropped")
        return True

    def watch(self) -> tuple[Chain, trio.Event]:
        """The chain, and an event set at its next change (for subscriptions)."""
        return self._backend.chain, self._backend.changed()


class HeadSubscription:
    """An async iterator of new head numbers; raises ``RpcError`` once it drops."""

    def __init__(self, endpoint: RpcEndpoint, cursor: int) -> None:
        self._endpoint = endpoint
        self._cursor = cursor  # index into the chain's head history of the next head
        self._closed = False

    def __aiter__(self) -> HeadSubscription:
        return self

    async def __anext__(self) -> int:
        head = await self.next_head(INF)
        assert head is not None  # (no deadline)
        return head

    async def next_head(self, timeout: float) -> int | None:
        """The next head number, or None when it is not delivered within ``timeout`` seconds
        (a subscriber's reconnection timer; the subscription stays open, and a head cut off
        on its way comes with the next call).

        The same wake-ups as ``with trio.move_on_after(timeout): await anext(heads)``, without
        the cancel scope: one scope per head was ~5% of a two-minute quickstart run."""
        deadline = trio.current_time() + timeout if timeout < INF else INF
        if self._closed:
            raise RpcError("new-heads subscription is closed")
        lag = self._endpoint.view_lag
        while True:
            chain, changed = self._endpoint.watch()
            if self._endpoint.in_outage():
                self._closed = True
                raise RpcError(f"new-heads subscription of node {self._endpoint.node} "
                               "lost (outage)")
            if self._cursor < len(chain.head_history):
                seen_at, number = chain.head_history[self._cursor]
                due = seen_at + lag
                if due <= trio.current_time():
                    break
                # Sleep until the node sees it, but wake early for an outage.
                await wait_until(changed, min(due, deadline))
            else:
                await wait_until(changed, deadline)
            if trio.current_time() >= deadline:
                return None
        try:
            delivered = await self._endpoint.deliver_head(deadline)
        except RpcError:
            self._closed = True
            raise
        if not delivered:
            return None  # still on its way: the next call delivers it
        self._cursor += 1
        return number

    def close(self) -> None:
        """Unsubscribe; later ``__anext__`` calls raise ``RpcError``."""
        self._closed = True
