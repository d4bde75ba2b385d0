"""Per-node RPC endpoints: latency, errors, outages, view lag and new-heads subscriptions."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable

import pytest
import trio
from trio.testing import MockClock

from sim.engine.rng import stable_hash64
from sim.network_model import LatencyModel
from sim.sources.evm import EvmConfig, EvmSource, RpcError


class FakeCtx:
    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.records: list[tuple[str, dict[str, object]]] = []

    def rng(self, name: str) -> random.Random:
        return random.Random(stable_hash64(self.seed, name))

    def trace(self, event: str, **fields: object) -> None:
        self.records.append((event, fields))


def run_with_source(config: EvmConfig,
                    body: Callable[[EvmSource], Awaitable[None]], seed: int = 1) -> EvmSource:
    """Run ``body`` under a virtual clock while the source mines blocks."""
    source = EvmSource(config, FakeCtx(seed))

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(source.run)
            await body(source)
            nursery.cancel_scope.cancel()

    trio.run(main, clock=MockClock(autojump_threshold=0))
    return source


def test_calls_take_the_latency_in_virtual_time_and_see_the_head() -> None:
    async def body(source: EvmSource) -> None:
        rpc = source.endpoint("v0")
        await trio.sleep(30.0)
        assert await rpc.block_number() == 2
        assert trio.current_time() == pytest.approx(30.05)
        logs = await rpc.get_logs(1, 2, source.config.contract_address)
        assert [log.block_number for log in logs] == [1, 2]
        assert trio.current_time() == pytest.approx(30.1)

    run_with_source(EvmConfig(deposit_rate=0.0, deposit_times=(1.0, 13.0)), body)


def test_uniform_latency_is_drawn_per_node_and_stays_in_bounds() -> None:
    config = EvmConfig(rpc_latency=LatencyModel("uniform", value=0.0, low=0.1, high=0.3))
    spent: dict[str, list[float]] = {"v0": [], "v1": []}

    async def body(source: EvmSource) -> None:
        for node in ("v0", "v1"):
            rpc = source.endpoint(node)
            assert source.endpoint(node) is rpc
            for _ in range(20):
                start = trio.current_time()
                await rpc.block_number()
                spent[node].append(trio.current_time() - start)

    run_with_source(config, body)
    assert all(0.1 <= s <= 0.3 for s in spent["v0"] + spent["v1"])
    assert spent["v0"] != spent["v1"]


def test_view_lag_delays_the_head_a_node_sees() -> None:
    async def body(source: EvmSource) -> None:
        await trio.sleep(12.5)  # block 1 mined at 12 s, seen by v0 from 15 s
        assert await source.endpoint("v0").block_number() == 0
        await trio.sleep(3.0)
        assert await source.endpoint("v0").block_number() == 1

    run_with_source(EvmConfig(view_lag=3.0), body)


def test_rpc_errors_raise_a_connection_error() -> None:
    async def body(source: EvmSource) -> None:
        rpc = source.endpoint("v0")
        with pytest.raises(RpcError, match="eth_blockNumber: RPC of node v0 failed"):
            await rpc.block_number()
        with pytest.raises(ConnectionError):
            await rpc.get_logs(0, 1, source.config.contract_address)
        assert rpc.failures == 2

    run_with_source(EvmConfig(rpc_errors=1.0), body)


def test_an_outage_fails_one_node_until_it_ends() -> None:
    async def body(source: EvmSource) -> None:
        source.set_outage("v0", until=20.0)
        with pytest.raises(RpcError, match="outage"):
            await source.endpoint("v0").block_number()
        assert await source.endpoint("v1").block_number() == 0
        await trio.sleep_until(20.0)
        assert await source.endpoint("v0").block_number() == 1

    source = run_with_source(EvmConfig(), body)
    assert ("evm.rpc_outage", {"node": "v0", "until": 20.0}) in source._ctx.records  # type: ignore[attr-defined]


def test_get_logs_rejects_a_backwards_range() -> None:
    async def body(source: EvmSource) -> None:
        with pytest.raises(ValueError, match="from_block 5 is after to_block 4"):
            await source.endpoint("v0").get_logs(5, 4, source.config.contract_address)
        assert source.endpoint("v0").calls == 0

    run_with_source(EvmConfig(), body)


def test_new_heads_arrive_at_block_time_plus_lag_plus_latency() -> None:
    arrivals: list[tuple[int, float]] = []

    async def body(source: EvmSource) -> None:
        # Block 1 (12 s) is visible to v0 from 14 s; a later subscription only gets later heads.
        await trio.sleep(15.0)
        heads = await source.endpoint("v0").subscribe_new_heads()
        for _ in range(3):
            number = await heads.__anext__()
            arrivals.append((number, trio.current_time()))

    run_with_source(EvmConfig(view_lag=2.0), body)
    assert [n for n, _ in arrivals] == [2, 3, 4]
    assert [t for _, t in arrivals] == pytest.approx([26.05, 38.05, 50.05])


def test_next_head_gives_up_at_its_timeout_and_keeps_the_subscription() -> None:
    """``next_head(timeout)`` returns None once ``timeout`` seconds pass without a delivered
    head: while no head is due, while the next one is not yet visible (view lag), and while
    one is on its way (then the next call delivers that same head)."""
    results: list[tuple[int | None, float]] = []

    async def body(source: EvmSource) -> None:
        heads = await source.endpoint("v0").subscribe_new_heads()  # at 0.05 s
        for timeout in (5.0, 10.0, 6.99, 60.0):
            results.append((await heads.next_head(timeout), trio.current_time()))

    # blocks every 12 s, each visible 10 s later, delivered 50 ms after that
    run_with_source(EvmConfig(view_lag=10.0), body)
    assert [head for head, _ in results] == [None, None, None, 1]
    assert [at for _, at in results] == pytest.approx([5.05, 15.05, 22.04, 22.09])


def test_reorg_burst_is_announced_as_a_new_head() -> None:
    async def body(source: EvmSource) -> None:
        await trio.sleep(30.0)
        heads = await source.endpoint("v0").subscribe_new_heads()
        source.reorg_burst(2)
        assert await heads.__anext__() == 2
        assert trio.current_time() == pytest.approx(30.1)

    run_with_source(EvmConfig(), body)


def test_a_subscription_drops_with_head_drop_and_stays_closed() -> None:
    async def body(source: EvmSource) -> None:
        heads = await source.endpoint("v0").subscribe_new_heads()
        with pytest.raises(RpcError, match="dropped"):
            await heads.__anext__()
        assert trio.current_time() == pytest.approx(12.05)
        with pytest.raises(RpcError, match="closed"):
            await heads.__anext__()

    run_with_source(EvmConfig(head_drop=1.0), body)


def test_an_outage_drops_a_waiting_subscription_at_once() -> None:
    async def body(source: EvmSource) -> None:
        heads = await source.endpoint("v0").subscribe_new_heads()

        async def outage() -> None:
            await trio.sleep(5.0)
            source.set_outage("v0", until=100.0)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(outage)
            with pytest.raises(RpcError, match="outage"):
                await heads.__anext__()
        assert trio.current_time() == pytest.approx(5.05)  # subscribing took 50 ms

    run_with_source(EvmConfig(), body)


def test_a_head_not_yet_visible_at_subscription_is_still_delivered() -> None:
    async def body(source: EvmSource) -> None:
        await trio.sleep(13.0)  # block 1 mined at 12 s; v0 sees it only from 14 s
        heads = await source.endpoint("v0").subscribe_new_heads()
        assert await heads.__anext__() == 1
        assert trio.current_time() == pytest.approx(14.05)

    run_with_source(EvmConfig(view_lag=2.0), body)
