"""[sources.evm] parsing: defaults, round trip, and errors that name the key."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.errors import ScenarioError
from sim.network_model import LatencyModel
from sim.sources.evm import EvmConfig
from sim.sources.evm.config import format_rate
from sim.tables import TableReader
from sim.units import parse_rate


def read(table: dict[str, object]) -> EvmConfig:
    return EvmConfig.from_table(TableReader(table, "sources.evm", "s.toml"))


def test_empty_table_gives_the_documented_defaults() -> None:
    cfg = read({})
    assert cfg == EvmConfig()
    assert cfg.address == "ws://evm"
    assert cfg.block_time == 12.0
    assert cfg.deposit_rate == pytest.approx(2 / 60)
    assert cfg.deposit_times == ()
    assert (cfg.accounts, cfg.amount_low, cfg.amount_high) == (10, 1, 1000)
    assert (cfg.reorg_probability, cfg.reorg_max_depth) == (0.0, 3)
    assert cfg.rpc_latency == LatencyModel("fixed", value=0.05)
    assert cfg.contract_address == "0x000000000000000000000000000000000000dEaD"
    assert (cfg.view_lag, cfg.head_drop, cfg.rpc_errors, cfg.start_height) == (0.0, 0.0, 0.0, 0)


@pytest.mark.parametrize("latency", [
    {"dist": "fixed", "value": "20ms"},
    {"dist": "uniform", "low": "10ms", "high": "200ms"},
    {"dist": "lognormal", "median": "80ms", "sigma": 0.6},
])
def test_to_table_reads_back_equal(latency: dict[str, object]) -> None:
    cfg = read({
        "address": "ws://chain", "block_time": "2s",
        "deposits": {"rate": "3/h", "at": ["5m", "1m"]},
        "accounts": 3, "amount": {"low": 5, "high": 9},
        "reorg": {"probability": 0.25, "max_depth": 4}, "rpc_errors": 0.1,
        "rpc_latency": latency, "view_lag": "1500ms", "head_drop": 0.5,
        "contract_address": "0x" + "ab" * 20, "start_height": 100,
    })
    assert cfg.deposit_times == (60.0, 300.0)
    assert read(cfg.to_table()) == cfg


def test_deposits_with_only_scripted_times_generate_none() -> None:
    cfg = read({"deposits": {"at": ["30s"]}})
    assert cfg.deposit_rate == 0.0
    assert cfg.deposit_times == (30.0,)


@pytest.mark.parametrize(("table", "message"), [
    ({"block_time": "0s"}, 's.toml: sources.evm.block_time: expected a duration > 0, got "0s"'),
    ({"blocktime": "1s"}, "s.toml: sources.evm.blocktime: unknown key"),
    ({"deposits": {"at": ["1m", 5]}},
     's.toml: sources.evm.deposits.at[1]: expected a duration with a unit, like "250ms", '
     '"6s", "10m" or "64h", got 5'),
    ({"amount": {"low": 10, "high": 2}},
     "s.toml: sources.evm.amount.high: expected an integer >= low (10), got 2"),
    ({"contract_address": "0xdead"},
     's.toml: sources.evm.contract_address: expected an address "0x" + 40 hex digits, '
     'got "0xdead"'),
    ({"rpc_latency": {"dist": "gauss"}},
     's.toml: sources.evm.rpc_latency.dist: expected one of "fixed", "uniform", '
     '"lognormal", got "gauss"'),
    ({"reorg": {"max_depth": 0}},
     "s.toml: sources.evm.reorg.max_depth: expected an integer >= 1, got 0"),
    ({"start_height": 2**64},  # (past kwil's int64 block numbers: it ran, nothing was ever credited)
     "s.toml: sources.evm.start_height: expected an integer between 0 and 9223372036854775807, "
     "got 18446744073709551616"),
    ({"rpc_errors": 1.5}, "s.toml: sources.evm.rpc_errors: expected a number between 0.0 "
                          "and 1.0, got 1.5"),
])
def test_bad_values_name_the_key(table: dict[str, object], message: str) -> None:
    with pytest.raises(ScenarioError) as info:
        read(table)
    assert str(info.value) == message


@given(st.integers(0, 10_000), st.sampled_from(["s", "min", "h"]))
def test_format_rate_round_trips(count: int, unit: str) -> None:
    """Any rate written as N/unit is formatted back to a string that parses to the same rate."""
    rate = parse_rate(f"{count}/{unit}")
    assert parse_rate(format_rate(rate)) == rate
