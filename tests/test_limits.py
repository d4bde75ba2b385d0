"""Hostile sizes: refused at load time, in bounded memory, naming the key and the limit."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

import sim
import sim.sources.evm
import sim.sources.pubsub.source
import sim.sources.watcher.source  # noqa: F401  (imported up front: their import is not the scenario's cost)
from sim.errors import ScenarioError
from sim.estimate import estimate
from sim.scenario import parse_scenario, scenario_to_toml

BASE = '[scenario]\nname = "big"\nduration = "1h"\n'
HOW = "pass --allow-large or raise it in [limits] to run it on purpose"


def refused(text: str) -> tuple[str, int]:
    """The error message, and the peak bytes allocated while reading ``text``."""
    tracemalloc.start()
    try:
        with pytest.raises(ScenarioError) as info:
            parse_scenario(text, file="big.toml")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return str(info.value), peak


@pytest.mark.parametrize("count", [10**7, 10**9, 10**30])
def test_a_huge_node_count_is_refused_before_anything_per_node_is_built(count: int) -> None:
    message, peak = refused(BASE + f"[validators]\ncount = {count}\n")
    assert message == (f"big.toml: validators.count: {count} nodes is over the limit of 1000 "
                       f"(limits.nodes); {HOW}")
    assert peak < 2_000_000  # bytes: nothing proportional to the count


def test_a_huge_duration_is_refused_naming_the_duration() -> None:
    message, peak = refused(BASE.replace('"1h"', '"100000000h"'))
    assert message.startswith("big.toml: scenario.duration: an estimated 2.4e+11 steps of work (")
    assert message.endswith(f"is over the limit of 1e+08 (limits.work); {HOW}")
    assert peak < 2_000_000


@pytest.mark.parametrize(("table", "key"), [
    ('[sources.script]\ntype = "credit_account"\nrate = "1000000000/s"\n', "sources.script.rate"),
    ('[app.extensions.eth_deposits]\nx = "1"\n[sources.evm]\ndeposits = { rate = "1000000000/s" }\n',
     "sources.evm.deposits.rate"),
    ('[sources.watcher]\nrate = "1000000000/s"\n', "sources.watcher.rate"),
    ('[app.extensions.pubsub_events]\nx = "1"\n[sources.pubsub]\nrate = "1000000000/s"\n',
     "sources.pubsub.rate"),
])
def test_a_huge_event_rate_is_refused_naming_the_rate(table: str, key: str) -> None:
    message, peak = refused(BASE + table)
    assert message.startswith(f"big.toml: {key}: an estimated ")
    assert "observations" in message and "(limits.work)" in message
    assert peak < 2_000_000


def test_a_huge_user_tx_rate_is_refused_naming_the_rate() -> None:
    """[load] was left out of the estimate: a million txs a second passed as a 1-second run."""
    message, peak = refused(BASE + '[load]\nrate = "1000000/s"\n')
    assert message.startswith("big.toml: load.rate: an estimated ")
    assert "user txs" in message and "(limits.work)" in message
    assert peak < 2_000_000


def test_a_huge_account_count_is_refused_before_any_name_is_made() -> None:
    """A count of 10**12 accounts was read into 10**12 names: it never finished."""
    message, peak = refused(BASE + '[load]\nrate = "1/s"\naccounts = 1000000000000\n')
    assert message == "big.toml: load.accounts: expected an integer between 1 and 1000000, got 1000000000000"
    assert peak < 2_000_000


def test_users_outsending_the_blocks_are_estimated_with_full_mempools_rechecked() -> None:
    """When users send more bytes than blocks carry, every node rechecks a full mempool after
    each commit (CometBFT's recheck): scenarios/busy-chain.toml measured 5 s of CPU on a 2-core
    machine for 20 minutes, 0.3 s without its users; blocks 200 times larger took 1.7 s."""
    root = Path(__file__).resolve().parent.parent
    busy = sim.load_scenario(root / "scenarios" / "busy-chain.toml")
    roomy = sim.load_scenario(root / "scenarios" / "busy-chain.toml",
                              overrides={"consensus.max_block_bytes": 200 * 32768})
    busy_terms = {term.what: term for term in estimate(busy).terms}
    roomy_terms = {term.what: term for term in estimate(roomy).terms}
    assert busy_terms["mempool rechecks"].steps > 10 * roomy_terms["mempool rechecks"].steps
    assert 3 < estimate(busy).wall_seconds < 30 and 1 < estimate(roomy).wall_seconds < 6


def test_memory_over_its_limit_is_refused() -> None:
    text = BASE + '[limits]\nmemory_mb = 62\n[sources.script]\ntype = "credit_account"\nrate = "1/s"\n'
    message, _ = refused(text)
    assert message.startswith("big.toml: sources.script.rate: an estimated ")
    assert message.endswith(f"is over the limit of 62 MB (limits.memory_mb); {HOW}")


def test_limits_can_be_raised_in_the_file_or_lifted() -> None:
    text = BASE + "[validators]\ncount = 1500\n"
    with pytest.raises(ScenarioError):
        parse_scenario(text)
    assert len(parse_scenario(text + "[limits]\nnodes = 2000\n").nodes) == 1500
    assert len(parse_scenario(text, allow_large=True).nodes) == 1500


def test_limits_round_trip_and_reject_bad_values() -> None:
    s = parse_scenario(BASE + "[limits]\nwork = 5\n", allow_large=True)
    assert s.limits.work == 5
    assert parse_scenario(scenario_to_toml(s), allow_large=True) == s
    with pytest.raises(ScenarioError) as info:
        parse_scenario(BASE + "[limits]\nwrok = 5\n")
    assert str(info.value) == "<string>: limits.wrok: unknown key"


def test_the_block_estimate_is_within_a_factor_of_two_of_a_real_run() -> None:
    """The estimate is a model, but it must be the right size: blocks within 2x of a run."""
    scenario = sim.load_scenario("scenarios/quickstart.toml", overrides={"scenario.duration": "10m"})
    guess = estimate(scenario)
    result = sim.run(scenario)
    assert result.summary["blocks"] / 2 <= guess.blocks <= result.summary["blocks"] * 2
    assert guess.events > 0 and guess.memory_mb > 0


def test_a_sweep_of_too_many_runs_is_refused_before_it_is_planned() -> None:
    from sim.errors import NodesimError
    from sim.sweep import sweep

    tracemalloc.start()
    try:
        with pytest.raises(NodesimError) as info:
            sweep("scenarios/quickstart.toml", seeds=10**9)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(info.value) == "--seeds: expected at most 1,000,000 seeds, got 1,000,000,000"
    assert peak < 2_000_000
    with pytest.raises(NodesimError, match="2,000,000 runs .* is over the limit of 1,000,000"):
        sweep("scenarios/quickstart.toml", seeds=1000, params={"consensus.timeout_commit": ["1s"] * 2000})


def test_a_long_listener_run_is_estimated_at_what_it_costs_now() -> None:
    """Eight virtual hours of 100 validators storing an event a second: what a run keeps moves
    to a temporary file as it grows, so it needs a few hundred MB (six hours measured 193 MB
    in bench/scale.py), and the default 4096 MB limit lets it run. The model before the spill
    (1.5 kB per observation) put it at 4.3 GB and refused it."""
    root = Path(__file__).resolve().parent.parent
    scenario = sim.load_scenario(root / "scenarios" / "bench-100-listeners.toml",
                                 overrides={"scenario.duration": "8h"})
    guess = estimate(scenario)
    assert 150 < guess.memory_mb < 600
