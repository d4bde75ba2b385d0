"""The simulated chain: determinism, deposits in blocks, reorgs, finality, the source loop."""

from __future__ import annotations

import random

import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st
from trio.testing import MockClock

from sim.engine.rng import stable_hash64
from sim.sources.evm import Chain, EvmConfig, EvmSource


class FakeCtx:
    """A SourceContext: named seeded streams and a list of trace records."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.records: list[tuple[str, dict[str, object]]] = []

    def rng(self, name: str) -> random.Random:
        return random.Random(stable_hash64(self.seed, name))

    def trace(self, event: str, **fields: object) -> None:
        self.records.append((event, fields))


def make_chain(seed: int, **overrides: object) -> Chain:
    config = EvmConfig(**overrides)  # type: ignore[arg-type]
    return Chain(config, random.Random(seed), random.Random(seed + 1))


def mine(chain: Chain, blocks: int) -> None:
    for k in range(1, blocks + 1):
        chain.mine(k * chain.config.block_time)


def test_same_seed_gives_the_same_blocks_and_another_seed_does_not() -> None:
    a, b, c = (make_chain(s, deposit_rate=0.2, reorg_probability=0.2) for s in (5, 5, 6))
    for chain in (a, b, c):
        mine(chain, 60)
    assert [blk.hash for blk in a.blocks] == [blk.hash for blk in b.blocks]
    assert a.ever_seen_deposits() == b.ever_seen_deposits()
    assert [blk.hash for blk in a.blocks] != [blk.hash for blk in c.blocks]


def test_blocks_are_numbered_from_one_linked_and_stamped_with_time() -> None:
    chain = make_chain(1, block_time=12.0)
    mine(chain, 5)
    assert [b.number for b in chain.blocks] == [1, 2, 3, 4, 5]
    assert [b.timestamp for b in chain.blocks] == [12.0, 24.0, 36.0, 48.0, 60.0]
    for parent, child in zip(chain.blocks, chain.blocks[1:], strict=False):
        assert child.parent_hash == parent.hash
    assert chain.head == 5


def test_scripted_deposits_land_in_the_block_after_their_time() -> None:
    chain = make_chain(1, deposit_rate=0.0, deposit_times=(1.0, 12.0, 13.0, 30.0))
    mine(chain, 3)
    assert [d.block_number for d in chain.canonical_deposits()] == [1, 1, 2, 3]
    deposit = chain.canonical_deposits()[0]
    assert deposit.account.startswith("acct-") and 1 <= deposit.amount <= 1000
    assert deposit.tx_hash.startswith("0x") and len(deposit.tx_hash) == 66


def test_poisson_deposits_come_at_about_the_configured_rate() -> None:
    chain = make_chain(3, deposit_rate=0.5, block_time=1.0)
    mine(chain, 2000)
    assert 850 <= len(chain.canonical_deposits()) <= 1150


def test_start_height_offsets_block_numbers_and_logs_below_it_are_empty() -> None:
    chain = make_chain(1, start_height=100, deposit_rate=0.0, deposit_times=(1.0,))
    assert chain.head == 100
    mine(chain, 2)
    assert chain.head == 102 and chain.blocks[0].number == 101
    assert chain.get_logs(0, 100, chain.config.contract_address) == []
    assert [log.block_number for log in chain.get_logs(0, 200, chain.config.contract_address)] \
        == [101]


def test_get_logs_is_inclusive_and_filters_by_address_case_insensitively() -> None:
    chain = make_chain(1, deposit_rate=0.0, deposit_times=(1.0, 13.0, 25.0, 37.0))
    mine(chain, 4)
    address = chain.config.contract_address.upper().replace("0X", "0x")
    logs = chain.get_logs(2, 3, address)
    assert [log.block_number for log in logs] == [2, 3]
    assert logs[0].block_hash == chain.blocks[1].hash and logs[0].log_index == 0
    assert chain.get_logs(1, 4, "0x" + "11" * 20) == []


def test_reorg_replaces_the_top_blocks_and_their_logs() -> None:
    chain = make_chain(2, deposit_rate=0.0, deposit_times=tuple(float(t) for t in range(1, 60)))
    mine(chain, 5)
    before = list(chain.blocks)
    old_top = {d.tx_hash for d in chain.canonical_deposits() if d.block_number >= 4}
    reorg = chain.reorg(2, 61.0)
    assert reorg.depth == 2 and reorg.head == 5 and chain.head == 5
    assert chain.blocks[:3] == before[:3]
    assert [b.hash for b in chain.blocks[3:]] != [b.hash for b in before[3:]]
    assert [b.timestamp for b in chain.blocks[3:]] == [48.0, 60.0]
    canonical = {d.tx_hash for d in chain.canonical_deposits()}
    assert set(reorg.dropped) == old_top and not old_top & canonical
    ever = {d.tx_hash for d in chain.ever_seen_deposits()}
    assert old_top <= ever and canonical <= ever
    assert chain.reorgs == 1


def test_reorg_depth_must_be_positive_and_within_the_chain() -> None:
    chain = make_chain(1)
    mine(chain, 2)
    with pytest.raises(ValueError, match="reorg depth must be an integer >= 1, got 0"):
        chain.reorg(0, 30.0)
    with pytest.raises(ValueError, match="reorg depth 3 exceeds the 2 mined blocks"):
        chain.reorg(3, 30.0)
    assert chain.reorgs == 0 and chain.head == 2


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32), depth=st.integers(1, 4), probability=st.floats(0.05, 0.6))
def test_final_deposits_survive_reorgs_within_their_depth(seed: int, depth: int,
                                                          probability: float) -> None:
    """A deposit final at `max_depth` confirmations stays canonical forever after, and the
    final set only grows; random reorgs never go deeper than `max_depth`."""
    chain = make_chain(seed, block_time=1.0, deposit_rate=0.7, reorg_probability=probability,
                       reorg_max_depth=depth)
    final: set[str] = set()
    for k in range(1, 80):
        chain.mine(float(k))
        now_final = {d.tx_hash for d in chain.final_deposits(depth)}
        assert final <= now_final
        final = now_final
        canonical = {d.tx_hash for d in chain.canonical_deposits()}
        assert final <= canonical
    limit = chain.head - depth
    assert all(d.block_number <= limit for d in chain.final_deposits(depth))


def test_source_mines_every_block_time_and_reports() -> None:
    ctx = FakeCtx(9)
    source = EvmSource(EvmConfig(block_time=12.0, deposit_rate=0.1, reorg_probability=0.2), ctx)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(source.run)
            await trio.sleep(12.0 * 50 + 1)
            burst = source.reorg_burst(5)
            assert burst.depth == 5 and source.chain.head == 50
            nursery.cancel_scope.cancel()

    trio.run(main, clock=MockClock(autojump_threshold=0))
    blocks = [f for e, f in ctx.records if e == "evm.block"]
    reorgs = [f for e, f in ctx.records if e == "evm.reorg"]
    assert [f["number"] for f in blocks] == list(range(1, 51))
    assert reorgs[-1]["cause"] == "burst" and reorgs[-1]["depth"] == 5
    summary = source.summary()
    assert summary["evm_blocks"] == 50
    assert summary["evm_reorgs"] == len(reorgs) >= 2
    assert summary["deposits_emitted"] == len(source.ever_seen_deposits())
    assert source.final_deposits(0) == source.canonical_deposits()
