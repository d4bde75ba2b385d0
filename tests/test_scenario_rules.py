"""Scenario rules that keep a run from failing silently or blowing up: finite numbers, int64
powers, 64-bit seeds, blocks that take time, safe names, listeners that can observe."""

from __future__ import annotations

import pytest

from sim.errors import ScenarioError
from sim.scenario import parse_scenario

BASE = '[scenario]\nname = "q"\nduration = "1h"\n'
EVM = """
[app.extensions.eth_deposits]
contract_address = "0x000000000000000000000000000000000000dEaD"
rpc_provider = "ws://evm"
[sources.evm]
"""


def error_of(text: str) -> str:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, file="q.toml")
    return str(info.value)


@pytest.mark.parametrize(("text", "message"), [
    (BASE + '[network]\nlatency = { dist = "lognormal", median = "80ms", sigma = nan }\n',
     "q.toml: network.latency.sigma: expected a finite number between 0.0 and 10.0, got nan"),
    (BASE + "[network]\ndrop = nan\n",
     "q.toml: network.drop: expected a finite number between 0.0 and 1.0, got nan"),
    (BASE + "[network]\nblock_sync_rate = inf\n",
     "q.toml: network.block_sync_rate: expected a finite number, got inf"),
    (BASE + "[network]\nblock_sync_rate = -inf\n",
     "q.toml: network.block_sync_rate: expected a finite number, got -inf"),
    (BASE.replace('"1h"', '"' + "9" * 400 + 'h"'),
     'q.toml: scenario.duration: expected a duration with a unit, like "250ms", "6s", "10m" or "64h", '
     f'got "{"9" * 400}h"'),
    (BASE + '[sources.script]\ntype = "credit_account"\nrate = "' + "9" * 400 + '/s"\n',
     'q.toml: sources.script.rate: expected a rate like "1/s", "2/min" or "3/h", '
     f'got "{"9" * 400}/s"'),
])
def test_nan_and_infinities_are_rejected_wherever_a_number_is_read(text: str, message: str) -> None:
    assert error_of(text) == message


def test_a_power_above_int64_is_rejected() -> None:
    assert error_of(BASE + "[validators]\npower = 9223372036854775808\n") == (
        "q.toml: validators.power: expected an integer <= 9223372036854775807 (voting power is an "
        "int64), got 9223372036854775808")
    assert error_of(BASE + "[validators]\npower = [1, 9223372036854775808, 1, 1]\n").startswith(
        "q.toml: validators.power[1]: expected an integer <= 9223372036854775807")
    assert error_of(BASE + "[nodes.v2]\npower = 9223372036854775808\n").startswith(
        "q.toml: nodes.v2.power: expected an integer <= 9223372036854775807")


def test_a_total_power_above_cometbfts_max_total_voting_power_is_rejected() -> None:
    """CometBFT cannot make a validator set whose total exceeds MaxInt64 / 8 (a total that
    fit an int64 was accepted before, and 13 such validators silently committed nothing)."""
    cap = (2**63 - 1) // 8
    big = 2**61
    assert error_of(BASE + f"[validators]\npower = {big}\n") == (
        "q.toml: validators.power: expected powers whose total is at most CometBFT's "
        f"MaxTotalVotingPower (MaxInt64 / 8 = {cap}), got a total of {4 * big}")
    for kind in ("promote", "join"):
        grows = f'[validators]\ncount = 2\npower = [{big // 4}, 1]\n[[faults]]\nat = "1m"\nkind = "heal"\n' \
                f'[[faults]]\nat = "1m"\nkind = "{kind}"\nnode = "v1"\npower = {big // 4}\n'
        assert error_of(BASE + grows).startswith(
            "q.toml: faults[1].power: expected a power that keeps the total voting power at most "
            "CometBFT's MaxTotalVotingPower"), kind
    # the largest total allowed is fine
    parse_scenario(BASE + f"[validators]\ncount = 1\npower = {cap}\n")


def test_powers_near_the_largest_total_decide_as_small_ones_do() -> None:
    """Quorums are power sums against two thirds of the total: thirteen validators (planned
    with numpy) whose powers add up to nearly MaxTotalVotingPower commit the same blocks at
    the same times as the same world with powers 1 to 13."""
    import sim

    def blocks(scale: int) -> list[tuple[int, int, str, float]]:
        powers = [scale * (1 + i) for i in range(13)]
        scenario = parse_scenario(BASE.replace('duration = "1h"', 'duration = "40s"') +
                                  f"[validators]\ncount = 13\npower = {powers}\n")
        return [(b.height, b.round, b.proposer, b.time) for b in sim.run(scenario).records.blocks]

    cap = (2**63 - 1) // 8
    huge = blocks(cap // 91)  # 91 = 1 + 2 + ... + 13
    assert len(huge) > 3
    assert huge == blocks(1)


def test_seed_must_be_64_bit() -> None:
    assert error_of(BASE + f"seed = {2**64}\n") == (
        f"q.toml: scenario.seed: expected an integer <= {2**64 - 1} (seeds are 64-bit), got {2**64}")
    assert parse_scenario(BASE + f"seed = {2**64 - 1}\n").seed == 2**64 - 1


@pytest.mark.parametrize("latency", ['{ dist = "fixed", value = "0s" }',
                                     '{ dist = "uniform", low = "0s", high = "0s" }'])
def test_zero_latency_with_zero_timeout_commit_is_rejected(latency: str) -> None:
    text = BASE + f'[network]\nlatency = {latency}\n[consensus]\ntimeout_commit = "0s"\n'
    assert error_of(text) == (
        'q.toml: consensus.timeout_commit: expected a duration > 0 when network.latency is always 0 '
        '(blocks would follow each other at t = 0 forever), got "0s"')
    # either one alone is fine
    parse_scenario(BASE + f'[network]\nlatency = {latency}\n')
    parse_scenario(BASE + '[consensus]\ntimeout_commit = "0s"\n')


@pytest.mark.parametrize(("validators", "alone"), [("count = 1", "v0"), ("count = 4\npower = [1, 1, 1, 7]", "v3")])
def test_zero_timeout_commit_with_a_validator_that_decides_alone_is_rejected(validators: str, alone: str) -> None:
    """Its own proposal, prevote and precommit are a quorum: with no commit timeout the blocks
    it proposes came at one virtual instant, one after another (a lone validator's run never
    ended)."""
    text = BASE + f'[validators]\n{validators}\n[consensus]\ntimeout_commit = "0s"\n'
    assert error_of(text) == (
        f"q.toml: consensus.timeout_commit: expected a duration > 0 when {alone} alone holds more than "
        "2/3 of the power (the blocks it proposes need no message, so they would take no time at all), "
        'got "0s"')
    # exactly 2/3 is not a quorum alone
    parse_scenario(BASE + '[validators]\ncount = 4\npower = [1, 1, 1, 6]\n[consensus]\ntimeout_commit = "0s"\n')


@pytest.mark.parametrize(("name", "message"), [
    ("café", 'expected a name of letters, digits, "_", "-" and ".", got "café"'),
    ("../x", 'expected a name of letters, digits, "_", "-" and ".", got "../x"'),
    (".hidden", 'expected a name that does not start with "." and has at most 100 characters, '
                'got ".hidden"'),
    ("x" * 101, 'expected a name that does not start with "." and has at most 100 characters, '
                f'got "{"x" * 101}"'),
])
def test_scenario_names_are_safe_file_names_and_unicode_is_shown_as_characters(name: str,
                                                                                 message: str) -> None:
    assert error_of(f'[scenario]\nname = "{name}"\nduration = "1h"\n') == f"q.toml: scenario.name: {message}"


def test_unicode_found_values_are_shown_as_characters() -> None:
    assert error_of(BASE + '[validators]\nstorage = "диск"\n') == (
        'q.toml: validators.storage: expected one of "memory", "file", got "диск"')


@pytest.mark.parametrize(("source", "extension"), [("evm", "eth_deposits"), ("pubsub", "pubsub_events")])
def test_a_source_whose_listener_has_no_config_is_an_error(source: str, extension: str) -> None:
    assert error_of(BASE + f"[sources.{source}]\n") == (
        f"q.toml: sources.{source}: expected [app.extensions.{extension}] (the {extension} listener's "
        "config; without it no validator observes this source), got none")
    # configured on one node only is a choice (the others' listeners return at once, as in kwil)
    parse_scenario(BASE + f'[nodes.v1.extensions.{extension}]\nx = "1"\n[sources.{source}]\n')
    assert "evm" in parse_scenario(BASE + EVM).sources
