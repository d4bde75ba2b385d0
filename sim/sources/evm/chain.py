"""The simulated EVM chain: blocks, Credit logs from a deposit contract, and reorgs.

A plain object with no clock of its own: ``EvmSource`` calls ``mine(now)`` every block
time and ``reorg(depth, now)`` for a fault, and the RPC endpoints read it. All randomness
comes from the two streams handed in, so the same seed gives the same chain.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import random

import attrs

from sim.sources.evm.config import EvmConfig

# Each deposit of a reorged-out block survives into the replacement chain (with a new
# transaction hash) with this probability; the rest are gone. Not a scenario key: a reorg's
# depth and rate are what experiments vary.
REORG_KEEP = 0.5


@attrs.frozen
class Transfer:
    """A deposit transaction: one Credit(account, amount, tx_hash) log when mined."""

    tx_hash: str
    account: str
    amount: int


@attrs.frozen
class Block:
    """One block; ``hash`` commits to the parent, the position, the fork and the transfers."""

    number: int
    hash: str
    parent_hash: str
    timestamp: float
    transfers: tuple[Transfer, ...]


@attrs.frozen
class Deposit:
    """A deposit as it sits in a block (for checks: what should be credited)."""

    block_number: int
    block_time: float
    tx_hash: str
    account: str
    amount: int


@attrs.frozen
class CreditLog:
    """A Credit log as ``get_logs`` returns it."""

    address: str
    block_number: int
    block_hash: str
    log_index: int
    tx_hash: str
    account: str
    amount: int


@attrs.frozen
class Reorg:
    """What one reorg did: blocks above ``head - depth`` were replaced."""

    depth: int
    head: int
    dropped: tuple[str, ...]  # tx hashes no longer canonical
    added: tuple[str, ...]  # tx hashes of the replacement blocks


def block_hash(number: int, parent: str, timestamp: float, fork: int,
               transfers: tuple[Transfer, ...]) -> str:
    """A deterministic 0x-hex hash of a block's header fields and contents."""
    body = [number, parent, repr(timestamp), fork,
            [[t.tx_hash, t.account, t.amount] for t in transfers]]
    text = json.dumps(body, separators=(",", ":"))
    return "0x" + hashlib.sha256(text.encode()).hexdigest()


def random_hash(rng: random.Random) -> str:
    """A 0x-prefixed 32-byte hex string drawn from ``rng``."""
    return f"0x{rng.getrandbits(256):064x}"


@attrs.define(eq=False)
class Chain:
    """The canonical chain, the deposits waiting for a block, and what was ever mined."""

    config: EvmConfig
    _deposits_rng: random.Random
    _reorg_rng: random.Random
    blocks: list[Block] = attrs.field(init=False, factory=list)
    reorgs: int = attrs.field(init=False, default=0)
    # (time, head number) at every change of head, in time order, for lagged views.
    head_history: list[tuple[float, int]] = attrs.field(init=False, factory=list)
    _head_times: list[float] = attrs.field(init=False, factory=list)
    _ever: list[Deposit] = attrs.field(init=False, factory=list)
    _pending: list[tuple[float, int, Transfer]] = attrs.field(init=False, factory=list)
    _next_arrival: float = attrs.field(init=False, default=0.0)
    _scripted: int = attrs.field(init=False, default=0)
    _arrivals: int = attrs.field(init=False, default=0)

    def __attrs_post_init__(self) -> None:
        self._record_head(float("-inf"))
        self._next_arrival = self._draw_gap(0.0)

    # -- reading ----------------------------------------------------------------------
    @property
    def base(self) -> int:
        """The last pre-existing (empty) block; mined blocks are numbered from base + 1."""
        return self.config.start_height

    @property
    def head(self) -> int:
        return self.base + len(self.blocks)

    def block(self, number: int) -> Block | None:
        index = number - self.base - 1
        return self.blocks[index] if 0 <= index < len(self.blocks) else None

    def head_at(self, time: float) -> int:
        """The head number as it was at virtual time ``time``."""
        return self.head_history[self.heads_until(time) - 1][1]

    def heads_until(self, time: float) -> int:
        """How many entries of ``head_history`` happened at or before ``time``."""
        return bisect.bisect_right(self._head_times, time)

    def get_logs(self, from_block: int, to_block: int, address: str) -> list[CreditLog]:
        """Credit logs of canonical blocks from..to inclusive, emitted by ``address``."""
        if address.lower() != self.config.contract_address.lower():
            return []
        logs: list[CreditLog] = []
        for number in range(max(from_block, self.base + 1), min(to_block, self.head) + 1):
            block = self.blocks[number - self.base - 1]
            for index, t in enumerate(block.transfers):
                logs.append(CreditLog(self.config.contract_address, number, block.hash, index,
                                      t.tx_hash, t.account, t.amount))
        return logs

    def canonical_deposits(self) -> list[Deposit]:
        return [_deposit(block, t) for block in self.blocks for t in block.transfers]

    def final_deposits(self, confirmations: int) -> list[Deposit]:
        """Canonical deposits at least ``confirmations`` blocks below the head."""
        limit = self.head - confirmations
        return [d for d in self.canonical_deposits() if d.block_number <= limit]

    def ever_seen_deposits(self) -> list[Deposit]:
        """Every deposit that was ever in a block, canonical or reorged out, in mining order."""
        return list(self._ever)

    # -- writing ----------------------------------------------------------------------
    def mine(self, now: float) -> tuple[Block, Reorg | None]:
        """Mine the block due at ``now``, possibly reorging first (per reorg.probability)."""
        self._collect_arrivals(now)
        reorg = None
        p = self.config.reorg_probability
        if p > 0 and self.blocks and self._reorg_rng.random() < p:
            depth = self._reorg_rng.randint(1, self.config.reorg_max_depth)
            reorg = self._replace(min(depth, len(self.blocks)))
        transfers = tuple(t for _, _, t in sorted(self._pending, key=lambda p: p[:2]))
        self._pending.clear()
        block = self._append(now, transfers)
        self._record_head(now)
        return block, reorg

    def reorg(self, depth: int, now: float) -> Reorg:
        """Replace the last ``depth`` blocks now (a fault); the head number stays the same."""
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
            raise ValueError(f"reorg depth must be an integer >= 1, got {depth!r}")
        if depth > len(self.blocks):
            raise ValueError(f"reorg depth {depth} exceeds the {len(self.blocks)} mined blocks")
        result = self._replace(depth)
        self._record_head(now)
        return result

    def _replace(self, depth: int) -> Reorg:
        self.reorgs += 1
        old = self.blocks[-depth:]
        del self.blocks[-depth:]
        rng = self._reorg_rng
        expected_new = self.config.deposit_rate * self.config.block_time
        for block in old:
            kept = [Transfer(random_hash(rng), t.account, t.amount)
                    for t in block.transfers if rng.random() < REORG_KEEP]
            kept += [self._draw_transfer(rng) for _ in range(_poisson(rng, expected_new))]
            self._append(block.timestamp, tuple(kept))
        dropped = tuple(t.tx_hash for b in old for t in b.transfers)
        added = tuple(t.tx_hash for b in self.blocks[-depth:] for t in b.transfers)
        return Reorg(depth, self.head, dropped, added)

    def _append(self, timestamp: float, transfers: tuple[Transfer, ...]) -> Block:
        parent = self.blocks[-1].hash if self.blocks else _genesis_hash(self.base)
        number = self.head + 1
        block = Block(number, block_hash(number, parent, timestamp, self.reorgs, transfers),
                      parent, timestamp, transfers)
        self.blocks.append(block)
        self._ever.extend(_deposit(block, t) for t in transfers)
        return block

    def _record_head(self, now: float) -> None:
        self.head_history.append((now, self.head))
        self._head_times.append(now)

    def _collect_arrivals(self, now: float) -> None:
        """Queue every deposit (generated or scripted) that arrived by ``now``."""
        while self._next_arrival <= now:
            self._queue(self._next_arrival, self._draw_transfer(self._deposits_rng))
            self._next_arrival = self._draw_gap(self._next_arrival)
        times = self.config.deposit_times
        while self._scripted < len(times) and times[self._scripted] <= now:
            self._queue(times[self._scripted], self._draw_transfer(self._deposits_rng))
            self._scripted += 1

    def _queue(self, time: float, transfer: Transfer) -> None:
        self._pending.append((time, self._arrivals, transfer))
        self._arrivals += 1

    def _draw_gap(self, after: float) -> float:
        rate = self.config.deposit_rate
        return after + self._deposits_rng.expovariate(rate) if rate > 0 else float("inf")

    def _draw_transfer(self, rng: random.Random) -> Transfer:
        account = f"acct-{rng.randrange(self.config.accounts)}"
        amount = rng.randint(self.config.amount_low, self.config.amount_high)
        return Transfer(random_hash(rng), account, amount)


def _deposit(block: Block, t: Transfer) -> Deposit:
    return Deposit(block.number, block.timestamp, t.tx_hash, t.account, t.amount)


def _genesis_hash(base: int) -> str:
    return "0x" + hashlib.sha256(f"evm-genesis/{base}".encode()).hexdigest()


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson count by summing exponential gaps (means here are small)."""
    if mean <= 0:
        return 0
    count, total = 0, rng.expovariate(1.0)
    while total < mean:
        count += 1
        total += rng.expovariate(1.0)
    return count
