"""What one section of a scenario says about another, checked once the sections are read.

Each check raises a ``ScenarioError`` naming the key that breaks the rule: script events must
name declared resolution types and existing nodes; the total voting power must fit an int64;
blocks must take some time; a source whose listener needs extension config must have it.
"""

from __future__ import annotations

from typing import Any

from sim.errors import ScenarioError
from sim.faults.readers import node_range_text
from sim.network_model import LatencyModel
from sim.scenario_model import MAX_TOTAL_VOTING_POWER, Scenario
from sim.sources.evm.config import blocks_mined_before
from sim.sources.script_config import ScriptConfig, SeenBy
from sim.tables import describe
from sim.units import format_duration

# A source kind -> the extension its built-in listener reads its whole config from. Without
# that table no validator's listener knows where to look, so the source's events are emitted
# and never observed: a scenario that says so is a mistake, not an experiment.
LISTENER_CONFIG_NEEDED = {"evm": "eth_deposits", "pubsub": "pubsub_events"}


def check_scenario(scenario: Scenario, faults_in_file_order: list[Any]) -> None:
    """Every cross-section rule, in the order a reader of the file would meet them."""
    check_total_power(scenario, faults_in_file_order)
    check_blocks_take_time(scenario)
    check_listener_configs(scenario)
    check_script(scenario)
    check_reorg_bursts(scenario, faults_in_file_order)


def check_total_power(scenario: Scenario, faults_in_file_order: list[Any]) -> None:
    """The most power the validator set can ever hold must not exceed CometBFT's
    MaxTotalVotingPower (MaxInt64 / 8): CometBFT cannot make such a validator set, at genesis
    or after a validator update."""
    total = sum(node.power for node in scenario.nodes)
    if total > MAX_TOTAL_VOTING_POWER:
        raise ScenarioError(scenario.file, "validators.power",
                            f"expected powers whose total is at most CometBFT's MaxTotalVotingPower "
                            f"(MaxInt64 / 8 = {MAX_TOTAL_VOTING_POWER}), got a total of {total}")
    for i, fault in enumerate(faults_in_file_order):
        if fault.kind in ("promote", "join") and fault.power is not None:
            total += fault.power
            if total > MAX_TOTAL_VOTING_POWER:
                raise ScenarioError(scenario.file, f"faults[{i}].power",
                                    f"expected a power that keeps the total voting power at most "
                                    f"CometBFT's MaxTotalVotingPower (MaxInt64 / 8 = "
                                    f"{MAX_TOTAL_VOTING_POWER}), got {fault.power}")


def always_zero(latency: LatencyModel) -> bool:
    """Whether every draw of ``latency`` is 0 seconds."""
    if latency.dist == "fixed":
        return latency.value == 0
    if latency.dist == "uniform":
        return latency.high == 0
    return False  # a lognormal's median is > 0


def check_reorg_bursts(scenario: Scenario, faults_in_file_order: list[Any]) -> None:
    """A reorg burst replaces blocks the run has mined: no deeper than those mined before it
    (the chain's blocks from before the run, ``start_height``, are history it cannot replace).
    One mined at the fault's very instant is not counted: which comes first is not promised."""
    evm = scenario.sources.get("evm")
    if evm is None:
        return  # (a fault on a missing source is refused where faults are read)
    for i, fault in enumerate(faults_in_file_order):
        if fault.kind != "reorg_burst" or fault.depth is None:
            continue
        mined = blocks_mined_before(fault.at, evm.block_time)
        if fault.depth > mined:
            raise ScenarioError(scenario.file, f"faults[{i}].depth",
                                f"expected at most {mined} (the blocks the EVM chain mines before "
                                f"{format_duration(fault.at)}, one every {format_duration(evm.block_time)}), "
                                f"got {fault.depth}")


def check_blocks_take_time(scenario: Scenario) -> None:
    """No latency and no commit timeout would commit every block at t = 0, forever; no commit
    timeout and a validator that decides alone would commit the blocks it proposes in no time
    (``ConsensusDriver`` stops a run where that starts later, after a change of powers)."""
    if scenario.consensus.timeout_commit != 0:
        return
    if always_zero(scenario.network.latency):
        raise ScenarioError(scenario.file, "consensus.timeout_commit",
                            'expected a duration > 0 when network.latency is always 0 (blocks '
                            'would follow each other at t = 0 forever), got "0s"')
    powers = {node.name: node.power for node in scenario.nodes if node.start != "non-validator"}
    total = sum(powers.values())
    alone = [name for name, power in powers.items() if 3 * power > 2 * total]
    if alone:
        raise ScenarioError(scenario.file, "consensus.timeout_commit",
                            f"expected a duration > 0 when {alone[0]} alone holds more than 2/3 of the "
                            "power (the blocks it proposes need no message, so they would take no "
                            'time at all), got "0s"')


def check_listener_configs(scenario: Scenario) -> None:
    """A source whose listener reads an extension's config needs that config somewhere."""
    for kind, extension in LISTENER_CONFIG_NEEDED.items():
        if kind in scenario.sources and not any(extension in node.extensions for node in scenario.nodes):
            raise ScenarioError(scenario.file, f"sources.{kind}",
                                f"expected [app.extensions.{extension}] (the {extension} listener's "
                                f"config; without it no validator observes this source), got none")


def check_script(scenario: Scenario) -> None:
    """Script events must name declared resolution types and existing nodes."""
    cfg = scenario.sources.get("script")
    if not isinstance(cfg, ScriptConfig):
        return
    if cfg.type is not None:
        _check_type(scenario, "sources.script.type", cfg.type)
    _check_seen_by(scenario, "sources.script.seen_by", cfg.seen_by)
    for i, event in enumerate(cfg.events):
        path = f"sources.script.events[{i}]"
        _check_type(scenario, f"{path}.type", event.type)
        _check_seen_by(scenario, f"{path}.seen_by", event.seen_by)
        for node in event.delay or {}:
            _check_node(scenario, f"{path}.delay.{node}", node)


def _check_type(scenario: Scenario, path: str, name: str) -> None:
    if name not in scenario.resolutions:
        raise ScenarioError(scenario.file, path, "expected a resolution type declared under "
                            f"[resolutions] or built-in, got {describe(name)}")


def _check_seen_by(scenario: Scenario, path: str, seen_by: SeenBy) -> None:
    if not isinstance(seen_by, str):
        for i, node in enumerate(seen_by):
            _check_node(scenario, f"{path}[{i}]", node)


def _check_node(scenario: Scenario, path: str, name: str) -> None:
    if all(node.name != name for node in scenario.nodes):
        raise ScenarioError(scenario.file, path,
                            f"no such node {describe(name)} {node_range_text(len(scenario.nodes))}")
