"""Generated worlds with an EVM deposit chain (``scenarios(evm=True)``): what they carry, which
source faults they draw, and that they hold every invariant; script-only worlds never draw a
source fault."""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import sim
from sim.scenario import scenario_from_dict
from sim.testing.options import WorldOptions
from sim.testing.strategies import fault_schedules, scenario_dicts, scenarios
from sim.units import parse_duration

SOURCE_FAULTS = ("rpc_outage", "reorg_burst")
DRAWS = settings(max_examples=60, derandomize=True, database=None, deadline=None,
                 phases=[Phase.generate], suppress_health_check=list(HealthCheck))


def _draws(strategy: st.SearchStrategy[dict[str, Any]]) -> list[dict[str, Any]]:
    """What ``strategy`` draws in one derandomized search (generation only)."""
    seen: list[dict[str, Any]] = []

    @DRAWS
    @given(strategy)
    def draw(data: dict[str, Any]) -> None:
        seen.append(data)

    draw()
    return seen


def test_evm_worlds_carry_the_chain_the_listener_and_source_faults() -> None:
    worlds = _draws(scenario_dicts(evm=True))
    kinds: Counter[str] = Counter()
    for data in worlds:
        extension = data["app"]["extensions"]["eth_deposits"]
        chain = data["sources"]["evm"]
        assert extension["rpc_provider"] == "ws://evm"
        confirmations = int(extension["required_confirmations"])  # a string, as kwil reads it
        # eth_deposits refuses to start while its resume point is past head - confirmations
        assert chain["start_height"] >= confirmations
        assert set(chain) >= {"block_time", "deposits", "reorg"}
        assert "script" in data["sources"]
        scenario_from_dict(data, file="<test>")  # the checker takes it (a source fault needs its source)
        for fault in data.get("faults", []):
            kinds[fault["kind"]] += 1
            if fault["kind"] == "reorg_burst":
                # no deeper than the confirmations, nor than the blocks mined before it
                assert fault["depth"] <= confirmations
                assert fault["depth"] * parse_duration(chain["block_time"]) < parse_duration(fault["at"])
            if fault["kind"] == "rpc_outage":
                # over by the heal-and-restart point, 60% into the run (heal does not end it)
                end = parse_duration(fault["at"]) + parse_duration(fault["duration"])
                assert end <= 0.6 * parse_duration(data["scenario"]["duration"]) + 1e-9
                assert {"at": _restart_at(data), "kind": "restart", "node": fault["node"]} in data["faults"]
    assert kinds["rpc_outage"] > 0 and kinds["reorg_burst"] > 0, kinds
    reorgs = {data["sources"]["evm"]["reorg"]["probability"] for data in worlds}
    assert 0.0 in reorgs and len(reorgs) > 1


def _restart_at(data: dict[str, Any]) -> str:
    """Where the schedule brings back what faults took down (60% into the run)."""
    restarts = [f["at"] for f in data["faults"] if f["kind"] == "restart"]
    return max(restarts, key=parse_duration)


def test_script_only_worlds_never_draw_source_faults() -> None:
    worlds = _draws(scenario_dicts())
    worlds += _draws(scenario_dicts(liveness_within="90s"))
    # even a menu naming them, or options listing them as ordinary kinds
    worlds += _draws(scenario_dicts(fault_menu=("crash", "rpc_outage", "reorg_burst")))
    worlds += _draws(scenario_dicts(options=WorldOptions(fault_kinds=("crash", "rpc_outage"))))
    for data in worlds:
        assert "evm" not in data["sources"] and "app" not in data
        assert not {f["kind"] for f in data.get("faults", [])} & set(SOURCE_FAULTS)


@DRAWS
@given(fault_schedules(["v0", "v1", "v2"], 120.0))
def test_schedules_without_a_chain_leave_source_faults_out(schedule: list[dict[str, Any]]) -> None:
    assert not {f["kind"] for f in schedule} & set(SOURCE_FAULTS)


def test_a_world_without_the_chain_keeps_the_menu_it_had() -> None:
    options = WorldOptions()
    assert options.fault_menu(("script",)) == options.fault_kinds
    assert not set(options.fault_kinds) & set(SOURCE_FAULTS)
    assert options.fault_menu(("script", "evm")) == (*options.fault_kinds, *SOURCE_FAULTS)
    assert "hub_outage" not in options.fault_menu(("script", "evm", "pubsub"))  # no generator


@settings(max_examples=5, derandomize=True, database=None, deadline=None,
          suppress_health_check=list(HealthCheck))
@given(scenarios(evm=True))
def test_evm_worlds_hold_every_invariant(scenario: Any) -> None:
    """Deposits through every validator's eth_deposits listener, under random node faults,
    RPC outages and reorg bursts, break no invariant."""
    assert sim.run(scenario).summary["violations"] == []


@settings(max_examples=4, derandomize=True, database=None, deadline=None,
          suppress_health_check=list(HealthCheck))
@given(scenarios(evm=True, fault_menu=("rpc_outage", "reorg_burst", "crash", "restart")))
def test_evm_worlds_under_source_faults_hold_every_invariant(scenario: Any) -> None:
    """The same with RPC outages and reorg bursts in every schedule's menu."""
    assert sim.run(scenario).summary["violations"] == []


@settings(max_examples=3, derandomize=True, database=None, deadline=None,
          suppress_health_check=list(HealthCheck))
@given(scenarios(evm=True, liveness_within="90s"))
def test_evm_liveness_worlds_hold_every_invariant(scenario: Any) -> None:
    """The same with liveness: outages end by the heal, and every deposit enough power saw
    is credited in time."""
    assert sim.run(scenario).summary["violations"] == []
