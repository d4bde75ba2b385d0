"""The eth_deposits listener against a real EvmSource under a virtual clock."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st
from trio.testing import MockClock

from node.extensions.credit import CREDIT_ACCOUNT_TYPE, decode_credit
from node.extensions.eth_deposits import (
    EthDepositsConfig,
    EthDepositsConfigError,
    EthDepositsError,
    backoff_delay,
    eth_deposits,
)
from sim.engine.rng import stable_hash64
from sim.sources.evm import CreditLog, EvmConfig, EvmSource, RpcEndpoint

CONTRACT = EvmConfig().contract_address


class FakeCtx:
    def __init__(self, seed: int) -> None:
        self.seed = seed

    def rng(self, name: str) -> random.Random:
        return random.Random(stable_hash64(self.seed, name))

    def trace(self, event: str, **fields: object) -> None:
        pass


class SpyRpc:
    """Wraps a node's endpoint and records each get_logs range that returned."""

    def __init__(self, inner: RpcEndpoint) -> None:
        self.inner = inner
        self.ranges: list[tuple[int, int]] = []

    async def block_number(self) -> int:
        return await self.inner.block_number()

    async def get_logs(self, from_block: int, to_block: int, address: str) -> list[CreditLog]:
        logs = await self.inner.get_logs(from_block, to_block, address)
        self.ranges.append((from_block, to_block))
        return logs

    async def subscribe_new_heads(self) -> Any:
        return await self.inner.subscribe_new_heads()


@attrs.define(eq=False)
class FakeService:
    """A ListenerService: one node's config, seeded rng, dial and log."""

    source: EvmSource
    config: dict[str, str] | None
    name: str = "v0"
    rng: random.Random = attrs.Factory(lambda: random.Random(42))
    logs: list[tuple[str, dict[str, object]]] = attrs.Factory(list)
    spy: SpyRpc | None = None

    @property
    def extension_configs(self) -> dict[str, dict[str, str]]:
        return {} if self.config is None else {"eth_deposits": self.config}

    def dial(self, address: str) -> Any:
        if address != self.source.address:
            raise ConnectionError(f"nothing listens at {address}")
        if self.spy is None:
            self.spy = SpyRpc(self.source.endpoint(self.name))
        return self.spy

    def log(self, event: str, **fields: object) -> None:
        self.logs.append((event, fields))


@attrs.define(eq=False)
class FakeStore:
    """An in-memory event store: a KV and the list of broadcasts (each may take time)."""

    kv: dict[str, bytes] = attrs.Factory(dict)
    broadcasts: list[tuple[str, bytes]] = attrs.Factory(list)
    broadcast_time: float = 0.0

    async def broadcast(self, event_type: str, data: bytes) -> None:
        await trio.sleep(self.broadcast_time)
        self.broadcasts.append((event_type, data))

    async def set(self, key: str, value: bytes) -> None:
        await trio.lowlevel.checkpoint()
        self.kv[key] = value

    async def get(self, key: str) -> bytes | None:
        await trio.lowlevel.checkpoint()
        return self.kv.get(key)

    async def delete(self, key: str) -> None:
        await trio.lowlevel.checkpoint()
        self.kv.pop(key, None)

    def tx_hashes(self) -> list[str]:
        assert all(t == CREDIT_ACCOUNT_TYPE for t, _ in self.broadcasts)
        return [decode_credit(data).tx_hash for _, data in self.broadcasts]


def listener_config(**values: str) -> dict[str, str]:
    config = {"contract_address": CONTRACT, "rpc_provider": "ws://evm"}
    config.update(values)
    return config


def lh(store: FakeStore) -> int:
    value = store.kv["lh"]
    assert len(value) == 8
    return int.from_bytes(value, "little")


def simulate(config: EvmConfig, body: Callable[[EvmSource], Awaitable[None]],
             *, mine: bool = True) -> EvmSource:
    """Run ``body`` under a virtual clock, with the source mining if ``mine``."""
    source = EvmSource(config, FakeCtx(3))

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            if mine:
                nursery.start_soon(source.run)
            await body(source)
            nursery.cancel_scope.cancel()

    trio.run(main, clock=MockClock(autojump_threshold=0))
    return source


async def run_listener_for(service: FakeService, store: FakeStore, seconds: float) -> None:
    with trio.move_on_after(seconds):
        await eth_deposits(service, store)


# -- configuration -----------------------------------------------------------------------
def test_absent_section_returns_at_once_without_dialing() -> None:
    async def body(source: EvmSource) -> None:
        service = FakeService(source, None)
        await eth_deposits(service, FakeStore())
        assert trio.current_time() == 0.0
        assert service.spy is None
        assert [e for e, _ in service.logs] == ["eth_deposits.unconfigured"]

    simulate(EvmConfig(), body)


@pytest.mark.parametrize(("config", "message"), [
    ({"rpc_provider": "ws://evm"}, "eth_deposits: contract_address is required but missing"),
    ({"contract_address": CONTRACT}, "eth_deposits: rpc_provider is required but missing"),
    (listener_config(reconnection_interval="4"),
     "eth_deposits: reconnection_interval must be at least 5 seconds, got '4'"),
    (listener_config(required_confirmations="twelve"),
     "eth_deposits: required_confirmations must be an integer >= 0, got 'twelve'"),
    (listener_config(block_sync_chunk_size="0"),
     "eth_deposits: block_sync_chunk_size must be an integer >= 1, got '0'"),
    (listener_config(starting_height="-1"),
     "eth_deposits: starting_height must be an integer >= 0, got '-1'"),
])
def test_misconfiguration_raises_before_touching_anything(config: dict[str, str],
                                                          message: str) -> None:
    async def body(source: EvmSource) -> None:
        service = FakeService(source, config)
        store = FakeStore()
        with pytest.raises(EthDepositsConfigError) as info:
            await eth_deposits(service, store)
        assert str(info.value) == message
        assert service.spy is None and store.kv == {}

    simulate(EvmConfig(), body)


@pytest.mark.parametrize("provider", ["http://evm", "https://mainnet.example", "evm",
                                      "WS://evm"])
def test_an_rpc_provider_that_is_not_a_websocket_is_rejected(provider: str) -> None:
    """kwil (deposits.go, EthDepositConfig.setConfig) requires rpc_provider to start with
    "ws" ("rpc_provider must be a websocket URL"): the listener needs a new-heads
    subscription. It fails before dialing, so the node shuts down on misconfiguration."""
    async def body(source: EvmSource) -> None:
        service = FakeService(source, listener_config(rpc_provider=provider))
        store = FakeStore()
        with pytest.raises(EthDepositsConfigError) as info:
            await eth_deposits(service, store)
        assert str(info.value) == ('eth_deposits: rpc_provider must be a websocket URL '
                                   f'(starting with "ws"), got {provider!r}')
        assert service.spy is None and store.kv == {}

    simulate(EvmConfig(), body)


@pytest.mark.parametrize("provider", ["ws://evm", "wss://evm"])
def test_websocket_rpc_providers_are_accepted(provider: str) -> None:
    assert EthDepositsConfig.from_strings(
        listener_config(rpc_provider=provider)).rpc_provider == provider


def test_defaults_are_kwils() -> None:
    config = EthDepositsConfig.from_strings(listener_config())
    assert (config.starting_height, config.required_confirmations, config.reconnection_interval,
            config.max_retries, config.block_sync_chunk_size) == (0, 12, 60.0, 10, 1_000_000)
    assert EthDepositsConfig.from_strings(
        listener_config(reconnection_interval="90")).reconnection_interval == 90.0


# -- backfill and following ------------------------------------------------------------------
def deposits_every_block(blocks: int, **overrides: Any) -> EvmConfig:
    """One scripted deposit in each of the first ``blocks`` blocks (12 s apart)."""
    times = tuple(12.0 * k - 6.0 for k in range(1, blocks + 1))
    return EvmConfig(deposit_rate=0.0, deposit_times=times, **overrides)


def test_backfill_is_chunked_with_an_inclusive_from_and_stores_lh() -> None:
    async def body(source: EvmSource) -> None:
        await trio.sleep(12.0 * 20 + 1)  # head 20
        service = FakeService(source, listener_config(required_confirmations="2",
                                                       block_sync_chunk_size="5"))
        store = FakeStore()
        await run_listener_for(service, store, 1.0)
        assert service.spy is not None
        assert service.spy.ranges == [(0, 5), (5, 10), (10, 15), (15, 18)]
        assert store.kv["lh"] == (18).to_bytes(8, "little")
        # Blocks 5, 10 and 15 are the inclusive "from" of a chunk: processed twice.
        by_block = {d.tx_hash: d.block_number for d in source.canonical_deposits()}
        counts = Counter(by_block[h] for h in store.tx_hashes())
        assert counts == Counter({n: 2 if n in (5, 10, 15) else 1 for n in range(1, 19)})
        assert ("eth_deposits.backfill", {"from_": 0, "to": 18}) in service.logs

    simulate(deposits_every_block(30), body)


@pytest.mark.parametrize(("stored", "starting", "first_from"), [(7, 3, 7), (2, 5, 5), (None, 4, 4)])
def test_resumes_from_the_larger_of_lh_and_starting_height(stored: int | None, starting: int,
                                                           first_from: int) -> None:
    async def body(source: EvmSource) -> None:
        await trio.sleep(12.0 * 15 + 1)
        service = FakeService(source, listener_config(required_confirmations="0",
                                                      starting_height=str(starting)))
        store = FakeStore()
        if stored is not None:
            store.kv["lh"] = stored.to_bytes(8, "little")
        await run_listener_for(service, store, 1.0)
        assert service.spy is not None and service.spy.ranges == [(first_from, 15)]
        assert lh(store) == 15

    simulate(deposits_every_block(15), body)


def test_follows_new_heads_minus_confirmations_from_last_plus_one() -> None:
    """kwil (deposits.go, Start, the ListenToBlocks callback) reads each new head's logs
    with ``processEvents(lastHeight+1, newHeight)``: unlike a backfill chunk, the follow
    phase does not re-read the height it already processed, so every followed block's
    deposits are broadcast exactly once."""
    async def body(source: EvmSource) -> None:
        await trio.sleep(12.0 * 5 + 1)
        service = FakeService(source, listener_config(required_confirmations="3"))
        store = FakeStore()
        await run_listener_for(service, store, 12.0 * 10)  # until t = 181: head 15
        assert lh(store) == 12
        assert service.spy is not None
        assert service.spy.ranges[0] == (0, 2)
        assert service.spy.ranges[1:] == [(k, k) for k in range(3, 13)]
        expected = {d.tx_hash for d in source.final_deposits(3)}
        assert set(store.tx_hashes()) == expected
        by_block = {d.tx_hash: d.block_number for d in source.canonical_deposits()}
        counts = Counter(by_block[h] for h in store.tx_hashes())
        assert counts == Counter({n: 1 for n in range(1, 13)})

    simulate(deposits_every_block(40), body)


@pytest.mark.parametrize(("stored", "starting", "confirmations"),
                         [(11, 0, 2), (None, 11, 2), (0, 0, 12), (3, 0, 8)])
def test_fails_at_start_when_the_resume_point_is_past_the_confirmed_head(
        stored: int | None, starting: int, confirmations: int) -> None:
    """kwil (deposits.go, Start) returns "starting height is greater than the last confirmed
    eth block height" when max(lh, starting_height) > head - required_confirmations: it
    does not wait for the chain, it fails (and the node shuts down). It reads no logs and
    leaves "lh" as it was."""
    async def body(source: EvmSource) -> None:
        await trio.sleep(12.0 * 10 + 1)  # head 10
        service = FakeService(source, listener_config(
            required_confirmations=str(confirmations), starting_height=str(starting)))
        store = FakeStore()
        if stored is not None:
            store.kv["lh"] = stored.to_bytes(8, "little")
        before = dict(store.kv)
        with pytest.raises(EthDepositsError) as info, trio.fail_after(60.0):
            await eth_deposits(service, store)
        resume = max(stored or 0, starting)
        assert str(info.value) == (
            f"eth_deposits: starting height {resume} is greater than the last confirmed eth "
            f"block height {10 - confirmations} (head 10 - required_confirmations "
            f"{confirmations})")
        assert service.spy is not None and service.spy.ranges == []
        assert store.kv == before and store.broadcasts == []

    simulate(deposits_every_block(10), body)


def test_a_resume_point_exactly_at_the_confirmed_head_starts_and_follows() -> None:
    """kwil's start check is strict (``lastHeight > currentHeight - RequiredConfirmations``):
    a resume point equal to the confirmed head starts, backfills nothing and follows from
    the next block."""
    async def body(source: EvmSource) -> None:
        await trio.sleep(12.0 * 10 + 1)  # head 10
        service = FakeService(source, listener_config(required_confirmations="2"))
        store = FakeStore(kv={"lh": (8).to_bytes(8, "little")})
        await run_listener_for(service, store, 12.0 * 2)  # heads 11 and 12 arrive
        assert service.spy is not None and service.spy.ranges == [(9, 9), (10, 10)]
        assert lh(store) == 10

    simulate(deposits_every_block(20), body)


def test_a_silent_subscription_is_renewed_after_reconnection_interval() -> None:
    async def body(source: EvmSource) -> None:
        # No mining: the head stays at start_height, so no head ever arrives.
        service = FakeService(source, listener_config(reconnection_interval="30",
                                                      required_confirmations="0"))
        await run_listener_for(service, FakeStore(), 100.0)
        renewals = [f for e, f in service.logs if e == "eth_deposits.resubscribe"]
        assert renewals == [{"reason": "no new head"}] * 3

    simulate(EvmConfig(), body, mine=False)


# -- failures ----------------------------------------------------------------------------------
@pytest.mark.parametrize("max_retries", [0, 3])
def test_retries_with_backoff_then_raises_after_max_retries_plus_two_calls(
        max_retries: int) -> None:
    """kwil (ethereum.go, retry) checks ``retrier.Attempt() > maxRetries`` after each
    failure, where Attempt() counts the backoffs already taken (jpillora/backoff): a call
    that keeps failing is made max_retries + 2 times, with max_retries + 1 jittered
    backoffs (1 s doubling, capped at 10 s) between them."""
    calls = max_retries + 2

    async def body(source: EvmSource) -> None:
        service = FakeService(source, listener_config(max_retries=str(max_retries)))
        with pytest.raises(EthDepositsError, match=rf"block_number failed {calls} times in a "
                                                   rf"row \(max_retries = {max_retries}\)"):
            await eth_deposits(service, FakeStore())
        retries = [f for e, f in service.logs if e == "eth_deposits.retry"]
        assert [f["attempt"] for f in retries] == list(range(1, calls))
        delays = [float(f["delay"]) for f in retries]  # type: ignore[arg-type]
        rng = random.Random(42)  # FakeService's
        assert delays == [round(backoff_delay(k, rng), 6) for k in range(calls - 1)]
        assert delays[0] == 1.0
        assert trio.current_time() == pytest.approx(calls * 0.05 + sum(delays), abs=1e-5)
        assert source.endpoint("v0").calls == calls

    simulate(EvmConfig(rpc_errors=1.0), body)


def test_a_call_that_succeeds_on_its_last_try_is_not_a_failure() -> None:
    """With max_retries = 1 kwil makes up to 3 calls: failing twice and then succeeding
    carries on (the old "first try + max_retries" rule gave up after the second)."""
    async def body(source: EvmSource) -> None:
        # Calls end at 0.05 and 1.1 (in the outage) and at 2.15 or later (after it).
        source.set_outage("v0", until=1.5)
        service = FakeService(source, listener_config(max_retries="1",
                                                      required_confirmations="0"))
        await run_listener_for(service, FakeStore(), 30.0)
        retries = [f for e, f in service.logs if e == "eth_deposits.retry"]
        assert [f["attempt"] for f in retries] == [1, 2]
        assert ("eth_deposits.start", {"from_": 0, "head": 0}) in service.logs

    simulate(EvmConfig(), body, mine=False)


def test_an_unknown_rpc_provider_fails_like_a_dead_connection() -> None:
    async def body(source: EvmSource) -> None:
        service = FakeService(source, listener_config(rpc_provider="ws://nowhere",
                                                      max_retries="0"))
        with pytest.raises(EthDepositsError, match=r"dial failed 5 times in a row "
                                                   r"\(max_retries = 3\)"):
            await eth_deposits(service, FakeStore())
        # kwil (ethereum.go, newEthClient) dials with retry(3, ...) whatever max_retries says.
        assert [f["attempt"] for e, f in service.logs if e == "eth_deposits.retry"] == \
            [1, 2, 3, 4]

    simulate(EvmConfig(), body)


def test_backoff_doubles_from_one_second_and_caps_at_ten() -> None:
    rng = random.Random(0)
    for attempt in range(12):
        delay = backoff_delay(attempt, rng)
        assert 1.0 <= delay <= min(10.0, 2.0**attempt)
    assert backoff_delay(0, rng) == 1.0
    assert backoff_delay(40, random.Random(1)) == 10.0


def test_an_outage_on_one_node_delays_only_that_node() -> None:
    async def body(source: EvmSource) -> None:
        source.set_outage("v0", until=40.0)
        configs = listener_config(required_confirmations="0", max_retries="10")
        services = [FakeService(source, configs, name=n, rng=random.Random(i))
                    for i, n in enumerate(("v0", "v1"))]
        stores = [FakeStore(), FakeStore()]
        async with trio.open_nursery() as nursery:
            for service, store in zip(services, stores, strict=True):
                nursery.start_soon(run_listener_for, service, store, 12.0 * 8 + 1)
            await trio.sleep(30.0)
            assert "lh" not in stores[0].kv and lh(stores[1]) == 2
        assert lh(stores[0]) == lh(stores[1]) == 8
        assert set(stores[0].tx_hashes()) == set(stores[1].tx_hashes())
        assert any(e == "eth_deposits.retry" for e, _ in services[0].logs)
        assert not any(e == "eth_deposits.retry" for e, _ in services[1].logs)

    simulate(deposits_every_block(20), body)


# -- reorgs --------------------------------------------------------------------------------------
@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32))
def test_with_enough_confirmations_each_final_deposit_is_broadcast_and_nothing_else(
        seed: int) -> None:
    """With required_confirmations >= reorg.max_depth, the listener broadcasts exactly the
    canonical deposits up to its stored height: none that a reorg removed, none missed."""
    config = EvmConfig(block_time=12.0, deposit_rate=0.2, reorg_probability=0.3,
                       reorg_max_depth=3, start_height=3)
    source = EvmSource(config, FakeCtx(seed))
    store = FakeStore()

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(source.run)
            service = FakeService(source, listener_config(required_confirmations="3"))
            await run_listener_for(service, store, 12.0 * 40 + 5)
            nursery.cancel_scope.cancel()

    trio.run(main, clock=MockClock(autojump_threshold=0))
    height = lh(store)
    assert height >= source.chain.head - 4
    expected = {d.tx_hash for d in source.canonical_deposits() if d.block_number <= height}
    assert set(store.tx_hashes()) == expected


def test_with_too_few_confirmations_a_reorged_out_deposit_is_broadcast() -> None:
    async def body(source: EvmSource) -> None:
        service = FakeService(source, listener_config(required_confirmations="1"))
        store = FakeStore()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(run_listener_for, service, store, 100.0)
            await trio.sleep(12.0 * 4 + 1)  # head 5; blocks up to 4 processed
            reorged = {d.tx_hash for d in source.canonical_deposits() if d.block_number >= 3}
            source.reorg_burst(3)
        canonical = {d.tx_hash for d in source.canonical_deposits()}
        broadcast = set(store.tx_hashes())
        assert reorged & broadcast and not reorged & canonical

    simulate(deposits_every_block(10, start_height=1), body)


# -- restarts ------------------------------------------------------------------------------------
def broadcasts_per_block(cancel_at: float | None) -> Counter[int]:
    """Backfill 30 blocks with chunk size 1, optionally cancelled at ``cancel_at`` and then
    started again on the same KV; how many times each block's deposit was broadcast."""
    store = FakeStore(broadcast_time=0.01)

    async def body(source: EvmSource) -> None:
        await trio.sleep(12.0 * 30 + 1)
        for k in range(1, 31):  # mined by hand, so no head arrives during the test
            source.chain.mine(12.0 * k)
        config = listener_config(required_confirmations="0", block_sync_chunk_size="1")
        if cancel_at is not None:
            await run_listener_for(FakeService(source, config), store, cancel_at)
        await run_listener_for(FakeService(source, config), store, 100.0)
        assert lh(store) == 30

    source = simulate(deposits_every_block(30), body, mine=False)
    by_block = {d.tx_hash: d.block_number for d in source.canonical_deposits()}
    return Counter(by_block[h] for h in store.tx_hashes())


@settings(max_examples=25, deadline=None)
@given(cancel_at=st.floats(0.0, 2.2))
def test_a_restart_mid_backfill_reprocesses_at_most_one_block(cancel_at: float) -> None:
    """Cancelling the listener anywhere in a chunk-size-1 backfill and calling it again on
    the same KV broadcasts at most one block's deposits more often than an uninterrupted run."""
    extra = broadcasts_per_block(cancel_at) - broadcasts_per_block(None)
    assert len(extra) <= 1
