"""Generated worlds with gas on (``scenarios(gas=True)``) and with users sending txs
(``scenarios(load=True)``): what they carry, that the options refuse what the scenario reader
would, that they hold every invariant, and that worlds without them never carry them."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

import sim
from sim.testing.options import WorldOptions
from sim.testing.strategies import scenario_dicts, scenarios
from tests.worlds import drawn


def test_gas_and_load_worlds_carry_balances_users_fees_and_block_sizes() -> None:
    options = WorldOptions()
    worlds = drawn(scenario_dicts(gas=True, load=True))
    for data in worlds:
        assert data["validators"]["gas"] is True and data["validators"]["balance"] in options.balances
        load = data["load"]
        assert load["rate"] in options.load_rates and load["size"] in options.load_sizes
        assert load["fee"] in options.load_fees
        users = [a for a in load["accounts"] if a.startswith("u")]
        low, high = options.load_accounts
        assert low <= len(users) <= high
        assert data["consensus"]["max_block_bytes"] in options.block_bytes
    # now and then a node's own account sends user txs (its nonces shared with its votes)
    nodes = [{f"v{i}" for i in range(d["validators"]["count"])} for d in worlds]
    assert any(set(d["load"]["accounts"]) & names for d, names in zip(worlds, nodes, strict=True))
    assert len({d["consensus"]["max_block_bytes"] for d in worlds}) > 1


def test_load_without_gas_charges_no_fee_and_liveness_worlds_keep_the_default_block_size() -> None:
    for data in drawn(scenario_dicts(load=True, liveness_within="60s")):
        assert "gas" not in data["validators"] and data["load"]["fee"] == 0
        assert "max_block_bytes" not in data["consensus"]


def test_worlds_without_gas_or_load_never_carry_them() -> None:
    for data in drawn(scenario_dicts(evm=True)):
        assert "gas" not in data["validators"] and "load" not in data
        assert "max_block_bytes" not in data["consensus"]


@pytest.mark.parametrize(("fields", "message"), [
    ({"balances": ()}, "balances"),
    ({"balances": (-1,)}, "balances"),
    ({"load_rates": ("6 per minute",)}, "load_rates"),
    ({"load_accounts": (0, 3)}, "load_accounts"),
    ({"load_sizes": (100,)}, "load_sizes: expected integers >= 180"),
    ({"load_fees": (-5,)}, "load_fees"),
    ({"block_bytes": (179,)}, "block_bytes: expected integers >= 180"),
])
def test_options_refuse_gas_and_load_fields_the_scenario_reader_would_refuse(
        fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WorldOptions(**fields)


@settings(max_examples=5, derandomize=True, database=None, deadline=None,
          suppress_health_check=list(HealthCheck))
@given(scenarios(gas=True, load=True))
def test_gas_and_load_worlds_hold_every_invariant(scenario: Any) -> None:
    """Validators and users paying fees, user txs competing with votes for mempool room,
    nonces and block bytes, under random faults: no invariant breaks."""
    assert sim.run(scenario).summary["violations"] == []


@settings(max_examples=3, derandomize=True, database=None, deadline=None,
          suppress_health_check=list(HealthCheck))
@given(scenarios(gas=True, load=True, liveness_within="90s"))
def test_gas_and_load_liveness_worlds_hold_every_invariant(scenario: Any) -> None:
    """The same with liveness: with blocks of the default size, users do not keep the votes
    out, and every event enough power saw resolves in time after the faults."""
    assert sim.run(scenario).summary["violations"] == []
