"""Generated worlds with an EVM deposit chain (``scenarios(evm=True)``), the pub/sub hub
(``scenarios(pubsub=True)``) or the watcher source (``scenarios(watcher=True)``): what they
carry, which source faults they draw, and that they hold every invariant; a world without a
source never draws its faults."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

import sim
from sim.scenario import scenario_from_dict
from sim.testing.options import WorldOptions
from sim.testing.strategies import fault_schedules, scenario_dicts, scenarios
from sim.units import parse_duration
from tests.worlds import DRAWS, drawn

EVM_FAULTS = ("rpc_outage", "reorg_burst")
SOURCE_FAULTS = (*EVM_FAULTS, "hub_outage")
def test_evm_worlds_carry_the_chain_the_listener_and_source_faults() -> None:
    worlds = drawn(scenario_dicts(evm=True))
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
    worlds = drawn(scenario_dicts())
    worlds += drawn(scenario_dicts(liveness_within="90s"))
    # even a menu naming them, or options listing them as ordinary kinds
    worlds += drawn(scenario_dicts(fault_menu=("crash", "rpc_outage", "reorg_burst", "hub_outage")))
    worlds += drawn(scenario_dicts(options=WorldOptions(fault_kinds=("crash", "rpc_outage"))))
    for data in worlds:
        assert "evm" not in data["sources"] and "pubsub" not in data["sources"] and "app" not in data
        assert not {f["kind"] for f in data.get("faults", [])} & set(SOURCE_FAULTS)


@DRAWS
@given(fault_schedules(["v0", "v1", "v2"], 120.0))
def test_schedules_without_a_chain_leave_source_faults_out(schedule: list[dict[str, Any]]) -> None:
    assert not {f["kind"] for f in schedule} & set(SOURCE_FAULTS)


def test_a_world_without_the_chain_keeps_the_menu_it_had() -> None:
    options = WorldOptions()
    assert options.fault_menu(("script",)) == options.fault_kinds
    assert not set(options.fault_kinds) & set(SOURCE_FAULTS)
    assert options.fault_menu(("script", "evm")) == (*options.fault_kinds, *EVM_FAULTS)
    assert options.fault_menu(("script", "pubsub")) == (*options.fault_kinds, "hub_outage")
    assert options.fault_menu(("script", "evm", "pubsub")) == (*options.fault_kinds, *SOURCE_FAULTS)


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


# -- the pub/sub hub --------------------------------------------------------------------------
HUB_MENU = ("hub_outage", "crash", "restart", "partition")


def test_pubsub_worlds_carry_the_hub_the_listeners_and_hub_outages() -> None:
    from sim.sources.pubsub.filter import parse_filter

    worlds = drawn(scenario_dicts(pubsub=True)) + drawn(scenario_dicts(pubsub=True, fault_menu=HUB_MENU))
    outages = 0
    for data in worlds:
        hub = data["sources"]["pubsub"]
        extension = data["app"]["extensions"]["pubsub_events"]
        assert extension["event_name"] == hub["event_name"]  # every listener gets the hub's events
        assert "evm" not in data["sources"] and "eth_deposits" not in data["app"]["extensions"]
        assert "pubsub_event" in data["resolutions"]  # the type the listener broadcasts
        for table in [extension, *(n.get("extensions", {}).get("pubsub_events", {})
                                   for n in data.get("nodes", {}).values())]:
            if "filter" in table:
                parse_filter(table["filter"])  # the hub takes it (a bad one shuts a node down)
        scenario = scenario_from_dict(data, file="<test>")
        assert all("pubsub_events" in node.extensions for node in scenario.nodes)
        for fault in data.get("faults", []):
            if fault["kind"] == "hub_outage":
                outages += 1
                # over by the heal-and-restart point, 60% into the run (heal does not end it)
                end = parse_duration(fault["at"]) + parse_duration(fault["duration"])
                assert end <= 0.6 * parse_duration(data["scenario"]["duration"]) + 1e-9
    assert outages > 0
    assert len({data["sources"]["pubsub"]["rate"] for data in worlds}) > 1
    assert len({data["app"]["extensions"]["pubsub_events"].get("filter") for data in worlds}) > 1
    assert any("extensions" in node for data in worlds for node in data.get("nodes", {}).values())


def test_worlds_without_the_hub_never_draw_hub_outage() -> None:
    worlds = drawn(scenario_dicts(evm=True, fault_menu=("crash", *SOURCE_FAULTS)))
    worlds += drawn(scenario_dicts(evm=True, liveness_within="90s"))
    for data in worlds:
        assert "pubsub" not in data["sources"] and "pubsub_events" not in data["app"]["extensions"]
        assert "hub_outage" not in {f["kind"] for f in data.get("faults", [])}


def test_options_refuse_a_filter_the_hub_would_refuse() -> None:
    import pytest

    with pytest.raises(ValueError, match="hub_filters"):
        WorldOptions(hub_filters=("value >",))
    with pytest.raises(ValueError, match="publish_rates"):
        WorldOptions(publish_rates=("often",))


@settings(max_examples=5, derandomize=True, database=None, deadline=None,
          suppress_health_check=list(HealthCheck))
@given(scenarios(pubsub=True))
def test_pubsub_worlds_hold_every_invariant(scenario: Any) -> None:
    """Events pushed by the hub to every validator's pubsub_events listener (some filtered,
    some nodes with filters of their own), under random node faults, break no invariant."""
    assert sim.run(scenario).summary["violations"] == []


@settings(max_examples=4, derandomize=True, database=None, deadline=None,
          suppress_health_check=list(HealthCheck))
@given(scenarios(pubsub=True, fault_menu=HUB_MENU))
def test_pubsub_worlds_under_hub_outages_hold_every_invariant(scenario: Any) -> None:
    """The same with hub outages in every schedule's menu."""
    assert sim.run(scenario).summary["violations"] == []


@settings(max_examples=3, derandomize=True, database=None, deadline=None,
          suppress_health_check=list(HealthCheck))
@given(scenarios(pubsub=True, liveness_within="90s"))
def test_pubsub_liveness_worlds_hold_every_invariant(scenario: Any) -> None:
    """The same with liveness: hub outages end by the heal, restarted listeners ask for what
    they missed, and every event enough power saw resolves in time."""
    assert sim.run(scenario).summary["violations"] == []


# -- the watcher source ------------------------------------------------------------------------
def test_watcher_worlds_carry_the_source_and_every_validators_listener() -> None:
    from node.extensions.watcher_events import WatcherEventsConfig
    from sim.faults.kinds import fault_kind

    worlds = drawn(scenario_dicts(watcher=True))
    for data in worlds:
        source = data["sources"]["watcher"]
        extension = data["app"]["extensions"]["watcher_events"]
        assert extension["address"] == source["address"]  # every listener dials the one store
        assert "watcher_event" in data["resolutions"]  # the type the listener broadcasts
        assert not {"evm", "pubsub"} & set(data["sources"])
        scenario = scenario_from_dict(data, file="<test>")
        for node in scenario.nodes:
            # the listener takes each node's table (a bad one shuts the node down mid-run)
            WatcherEventsConfig.from_extension_config(node.extensions["watcher_events"])
        # the watcher brings no fault kind: only faults that need no source are drawn
        assert all(fault_kind(f["kind"]).source is None for f in data.get("faults", []))
    assert len({data["sources"]["watcher"]["rate"] for data in worlds}) > 1
    assert {data["sources"]["watcher"]["gc_age_threshold"] for data in worlds} == {"0s", "20s", "1m", "24h"}
    assert len({data["app"]["extensions"]["watcher_events"].get("operations") for data in worlds}) > 1
    assert any("batch_size" in data["app"]["extensions"]["watcher_events"] for data in worlds)
    assert any("watcher_events" in node.get("extensions", {})
               for data in worlds for node in data.get("nodes", {}).values())


def test_a_node_keeps_its_own_pubsub_and_watcher_tables_side_by_side() -> None:
    worlds = drawn(scenario_dicts(pubsub=True, watcher=True))
    both = [node["extensions"] for data in worlds for node in data.get("nodes", {}).values()
            if {"pubsub_events", "watcher_events"} <= set(node.get("extensions", {}))]
    assert both


@pytest.mark.parametrize(("source", "extension"), [("watcher", "watcher_events"), ("pubsub", "pubsub_events")])
def test_liveness_worlds_keep_their_core_configured_as_the_rest(source: str, extension: str) -> None:
    """A node with a listener table or a filter of its own is a misconfigured node: liveness
    worlds spare their core that, as they spare it faults."""
    from sim.testing.strategies import _core

    own = 0
    for data in drawn(scenario_dicts(liveness_within="90s", **{source: True})):
        scenario = scenario_from_dict(data, file="<test>")
        core = _core([node.power for node in scenario.nodes],
                     [node.name for node in scenario.nodes if node.start != "validator"])
        for name, table in data.get("nodes", {}).items():
            if extension in table.get("extensions", {}):
                own += 1
                assert name not in core
    assert own > 0


def test_worlds_without_the_watcher_never_carry_it() -> None:
    worlds = drawn(scenario_dicts(evm=True, pubsub=True))
    worlds += drawn(scenario_dicts(pubsub=True, liveness_within="90s"))
    for data in worlds:
        assert "watcher" not in data["sources"] and "watcher_events" not in data["app"]["extensions"]
        assert "watcher_event" not in data["resolutions"]
        assert all("watcher_events" not in node.get("extensions", {}) for node in data.get("nodes", {}).values())


def test_options_refuse_watcher_fields_its_source_or_listener_would_refuse() -> None:
    import pytest

    with pytest.raises(ValueError, match="watch_operations"):
        WorldOptions(watch_operations=("create", "upsert"))
    with pytest.raises(ValueError, match="gc_cadences"):
        WorldOptions(gc_cadences=("0s",))
    with pytest.raises(ValueError, match="job_rates"):
        WorldOptions(job_rates=("often",))
    with pytest.raises(ValueError, match="batch_sizes"):
        WorldOptions(batch_sizes=(0,))
    with pytest.raises(ValueError, match="job_object_types"):
        WorldOptions(job_object_types=("Job,Execution",))


@settings(max_examples=6, derandomize=True, database=None, deadline=None,
          suppress_health_check=list(HealthCheck))
@given(scenarios(watcher=True))
def test_watcher_worlds_hold_every_invariant(scenario: Any) -> None:
    """Job events read by every validator's watcher_events listener (some filtered, some
    nodes with a table of their own, GC deleting what every checkpoint passed), under random
    node faults, break no invariant."""
    assert sim.run(scenario).summary["violations"] == []


@settings(max_examples=3, derandomize=True, database=None, deadline=None,
          suppress_health_check=list(HealthCheck))
@given(scenarios(watcher=True, liveness_within="90s"))
def test_watcher_liveness_worlds_hold_every_invariant(scenario: Any) -> None:
    """The same with liveness: restarted listeners resume from their checkpoints, and every
    job event enough power saw resolves in time."""
    assert sim.run(scenario).summary["violations"] == []
