"""The ``[sources.evm]`` scenario table: an external EVM chain with a deposit contract.

``EvmConfig.from_table`` reads every key with its default and rejects unknown keys;
``to_table`` writes it back so that reading the result gives an equal config.
"""

from __future__ import annotations

import math
import re
from typing import Any

import attrs
import numpy as np

from sim.errors import ScenarioError
from sim.network_model import LatencyModel
from sim.tables import INT64_MAX, TableReader, describe
from sim.units import format_duration, parse_duration

DEFAULT_CONTRACT = "0x000000000000000000000000000000000000dEaD"
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


def blocks_mined_before(at: float, block_time: float) -> int:
    """How many blocks the chain mines in a run strictly before ``at``: one every
    ``block_time`` from t = 0 (the source's loop). One due at ``at`` itself is not counted:
    whether it comes before something else at that instant is not promised."""
    return max(0, math.ceil(at / block_time) - 1)


@attrs.frozen
class EvmConfig:
    """Everything about the simulated chain, its deposits, reorgs and RPC endpoints.

    ``deposit_rate`` is per second (Poisson arrivals); ``deposit_times`` are scripted
    deposit times in virtual seconds. ``start_height`` is how many (empty) blocks the chain
    already has at t = 0: the first block mined in the run is ``start_height + 1``.
    """

    address: str = "ws://evm"
    block_time: float = 12.0
    deposit_rate: float = 2.0 / 60.0
    deposit_times: tuple[float, ...] = ()
    accounts: int = 10
    amount_low: int = 1
    amount_high: int = 1000
    reorg_probability: float = 0.0
    reorg_max_depth: int = 3
    rpc_errors: float = 0.0
    rpc_latency: LatencyModel = LatencyModel()
    view_lag: float = 0.0
    head_drop: float = 0.0
    contract_address: str = DEFAULT_CONTRACT
    start_height: int = 0

    @classmethod
    def from_table(cls, reader: TableReader) -> EvmConfig:
        address = reader.string("address", "ws://evm")
        block_time = reader.duration("block_time", "12s", positive=True)
        rate, times = _read_deposits(reader.table("deposits", {}))
        accounts = reader.integer("accounts", 10, min=1)
        amount = reader.table("amount", {})
        low = amount.integer("low", 1, min=1)
        high = amount.integer("high", 1000, min=1)
        if high < low:
            raise amount.error("high", f"an integer >= low ({low})", high)
        amount.finish()
        reorg = reader.table("reorg", {})
        reorg_probability = reorg.probability("probability", 0.0)
        reorg_max_depth = reorg.integer("max_depth", 3, min=1)
        reorg.finish()
        rpc_errors = reader.probability("rpc_errors", 0.0)
        rpc_latency = LatencyModel.from_table(
            reader.table("rpc_latency", {"dist": "fixed", "value": "50ms"}))
        view_lag = reader.duration("view_lag", "0s")
        head_drop = reader.probability("head_drop", 0.0)
        contract = reader.string("contract_address", DEFAULT_CONTRACT)
        if not _ADDRESS.match(contract):
            raise reader.error("contract_address", 'an address "0x" + 40 hex digits', contract)
        start_height = reader.integer("start_height", 0, min=0, max=INT64_MAX)  # kwil reads block numbers as int64s
        reader.finish()
        return cls(address, block_time, rate, times, accounts, low, high, reorg_probability,
                   reorg_max_depth, rpc_errors, rpc_latency, view_lag, head_drop, contract,
                   start_height)

    def to_table(self) -> dict[str, Any]:
        deposits: dict[str, Any] = {"rate": format_rate(self.deposit_rate)}
        if self.deposit_times:
            deposits["at"] = [format_duration(t) for t in self.deposit_times]
        return {
            "address": self.address,
            "block_time": format_duration(self.block_time),
            "deposits": deposits,
            "accounts": self.accounts,
            "amount": {"low": self.amount_low, "high": self.amount_high},
            "reorg": {"probability": self.reorg_probability, "max_depth": self.reorg_max_depth},
            "rpc_errors": self.rpc_errors,
            "rpc_latency": self.rpc_latency.to_table(),
            "view_lag": format_duration(self.view_lag),
            "head_drop": self.head_drop,
            "contract_address": self.contract_address,
            "start_height": self.start_height,
        }


def _read_deposits(reader: TableReader) -> tuple[float, tuple[float, ...]]:
    """``rate`` and/or ``at``: a table with only ``at`` scripts deposits and generates none."""
    has_at = reader.has("at")
    rate = reader.rate("rate", "0/s" if has_at else "2/min")
    times: list[float] = []
    if has_at:
        raw = reader.raw("at")
        if not isinstance(raw, list):
            raise reader.error("at", "an array of durations", raw)
        for i, item in enumerate(raw):
            try:
                if not isinstance(item, str):
                    raise ValueError
                times.append(parse_duration(item))
            except ValueError:
                raise ScenarioError(reader.file, f"{reader.key_path('at')}[{i}]",
                                    'expected a duration with a unit, like "250ms", "6s", '
                                    f'"10m" or "64h", got {describe(item)}') from None
    reader.finish()
    return rate, tuple(sorted(times))


def format_rate(per_second: float) -> str:
    """A rate as ``"N/s"``, ``"N/min"`` or ``"N/h"`` that ``parse_rate`` reads back exactly."""
    for unit, scale in (("s", 1.0), ("min", 60.0), ("h", 3600.0)):
        count = per_second * scale
        if count == int(count) and float(int(count)) / scale == per_second:
            return f"{int(count)}/{unit}"
    return f"{np.format_float_positional(per_second, trim='-')}/s"
