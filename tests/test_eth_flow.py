"""The eth_deposits → credit_account flow end to end (issue: EVM source)."""

from __future__ import annotations

import pytest

from sim.summary_text import verdict
from tests.worlds import run_text, trace_events, violations

EXT = """
[app.extensions.eth_deposits]
contract_address = "0x000000000000000000000000000000000000dEaD"
rpc_provider = "ws://evm"
required_confirmations = "{conf}"
{extra}
[sources.evm]
block_time = "12s"
deposits = {{ rate = "{rate}" }}
reorg = {{ probability = {reorg}, max_depth = {depth} }}
{evm_extra}
"""


def eth(conf: int = 3, depth: int = 3, reorg: float = 0.05, rate: str = "3/min", extra: str = "",
        evm_extra: str = "start_height = 50") -> str:
    """A scenario body with eth_deposits; by default the chain has 50 blocks of history, so
    the listeners (which start at t = 0) have a confirmed head to start from."""
    return EXT.format(conf=conf, depth=depth, reorg=reorg, rate=rate, extra=extra, evm_extra=evm_extra)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_confirmations_at_least_the_reorg_depth_credit_every_final_deposit_once(seed: int) -> None:
    """deposits-exact: every final deposit is credited exactly once and nothing else is."""
    result = run_text(eth(conf=3, depth=3, reorg=0.1), seed=seed, duration="40m")
    s = result.summary
    assert violations(result) == []
    assert s["deposits_final"] > 20
    assert s["credits_wrong"] == 0
    assert s["deposits_credited"] >= s["deposits_final"] - 2  # the newest may still be in flight
    assert s["deposits_unobserved"] == 0


def test_confirmations_below_the_reorg_depth_vote_on_reorged_deposits() -> None:
    found = None
    for seed in range(1, 20):
        result = run_text(eth(conf=0, depth=4, reorg=0.3, rate="6/min"), seed=seed, duration="20m")
        if result.summary["deposits_voted_reorged"] > 0:
            found = result
            break
    assert found is not None, "no seed made a reorged-out deposit get votes"
    assert found.summary["credits_wrong"] >= 0


def test_crash_mid_backfill_resumes_from_lh_without_double_credit() -> None:
    """Chunk size 1 and a head far ahead: v1 crashes during its backfill and restarts."""
    body = eth(conf=2, reorg=0.0, rate="6/min", extra='block_sync_chunk_size = "1"',
               evm_extra="start_height = 400")
    body += '\n[[faults]]\nat = "5s"\nkind = "crash"\nnode = "v1"\n'
    body += '\n[[faults]]\nat = "30s"\nkind = "restart"\nnode = "v1"\n'
    result = run_text(body, duration="30m", seed=3)
    assert violations(result) == []
    assert result.summary["credits_wrong"] == 0
    assert result.summary["deposits_credited"] >= result.summary["deposits_final"] - 2
    starts = trace_events(result, "eth_deposits.start", node="v1")
    assert len(starts) == 2
    resumed_from = starts[1]["from_"]
    assert 0 < resumed_from < 400  # the crash landed mid-backfill and it resumed from "lh"


def test_rpc_failing_past_max_retries_shuts_that_node_down_and_others_carry_on() -> None:
    body = eth(reorg=0.0, extra='max_retries = "2"')
    body += '\n[[faults]]\nat = "5m"\nkind = "rpc_outage"\nnode = "v3"\nduration = "2h"\n'
    result = run_text(body, duration="30m", seed=2)
    assert result.summary["node_shutdowns"] == 1
    assert result.summary["shutdown_errors"][0].startswith("v3:")
    assert result.summary["deposits_credited"] >= result.summary["deposits_final"] - 2


def test_outage_longer_than_expiry_without_two_thirds_expires_and_refunds() -> None:
    """Two of four validators lose their RPC: 2 of 4 power is below 2/3, so deposits
    expire after 600 blocks, and with 1/3 refund threshold they are refunded."""
    body = eth(reorg=0.0, rate="1/min", extra='max_retries = "100000"')
    body += '\n[resolutions.credit_account]\nexpiration_period = 30\n'
    for node in ("v2", "v3"):
        body += f'\n[[faults]]\nat = "0s"\nkind = "rpc_outage"\nnode = "{node}"\nduration = "3h"\n'
    result = run_text(body, duration="20m", seed=4)
    s = result.summary
    assert s["resolutions_passed"] == 0
    assert s["resolutions_expired"] > 0
    assert s["resolutions_refunded"] == s["resolutions_expired"]
    assert violations(result) == []


def test_outage_on_one_validator_others_still_pass() -> None:
    body = eth(reorg=0.0, extra='max_retries = "100000"')
    body += '\n[[faults]]\nat = "0s"\nkind = "rpc_outage"\nnode = "v3"\nduration = "3h"\n'
    result = run_text(body, duration="20m", seed=4)
    assert result.summary["resolutions_passed"] > 10
    assert result.summary["node_shutdowns"] == 0


def test_missing_contract_address_shuts_the_node_down_with_a_clear_error() -> None:
    body = eth().replace('contract_address = "0x000000000000000000000000000000000000dEaD"\n', "")
    result = run_text(body, duration="5m")
    assert result.summary["node_shutdowns"] == 4
    assert "contract_address" in result.summary["shutdown_errors"][0]


def test_an_http_rpc_provider_shuts_every_node_down_naming_the_key() -> None:
    """kwil (deposits.go, EthDepositConfig.setConfig): "rpc_provider must be a websocket
    URL"; the listener's error shuts its node down (misconfiguration)."""
    body = eth().replace('rpc_provider = "ws://evm"', 'rpc_provider = "http://evm"')
    result = run_text(body, duration="5m")
    assert result.summary["node_shutdowns"] == 4
    assert result.summary["events_observed"] == 0
    for error in result.summary["shutdown_errors"]:
        assert "rpc_provider must be a websocket URL" in error and "'http://evm'" in error


def test_a_chain_younger_than_the_confirmations_shuts_every_node_down() -> None:
    """kwil (deposits.go, Start) fails when max(lh, starting_height) is beyond head -
    required_confirmations: on a chain with no history and 3 confirmations, every
    validator's listener fails at start and its node shuts down, saying why."""
    result = run_text(eth(reorg=0.0, evm_extra=""), duration="5m")
    assert result.summary["node_shutdowns"] == 4
    assert result.summary["events_observed"] == 0
    for error in result.summary["shutdown_errors"]:
        assert "starting height 0 is greater than the last confirmed eth block height" in error


def test_absent_section_runs_the_node_without_the_listener() -> None:
    """A node without the section returns from the listener at once (kwil's behaviour); a
    scenario where no node has it is refused by the loader (tests/test_first_hour.py)."""
    body = eth()
    start = body.index("[app.extensions.eth_deposits]")
    section = body[start:body.index("[sources.evm]")]
    body = body[:start] + section.replace("[app.extensions.eth_deposits]", "[nodes.v0.extensions.eth_deposits]") \
        + body[body.index("[sources.evm]"):]
    result = run_text(body, duration="5m")
    assert result.summary["node_shutdowns"] == 0
    returned = {record["node"] for record in trace_events(result, "listener.return")}
    assert returned == {"v1", "v2", "v3"}


def test_a_required_confirmations_kwil_cannot_read_shuts_every_node_down_naming_the_key() -> None:
    """The listener refuses "1e9" as kwil's config does; the deposit checks read the same value
    (they raised ValueError, a traceback, before the run began)."""
    result = run_text(eth().replace('required_confirmations = "3"', 'required_confirmations = "1e9"'),
                      duration="5m")
    assert result.summary["node_shutdowns"] == 4
    for error in result.summary["shutdown_errors"]:
        assert "required_confirmations must be an integer >= 0, got '1e9'" in error


def test_final_deposits_no_validator_ever_reached_are_said_in_the_summary_and_the_verdict() -> None:
    """A listener still backfilling a chain of 10^15 blocks never reaches the deposits the run
    mines: no invariant breaks, as no validator saw them (liveness judges what was seen), and
    the verdict said "ok" alone with every final deposit uncredited. Now the summary counts
    them and the verdict says so."""
    body = eth(reorg=0.0, rate="6/min", evm_extra="start_height = 1000000000000000")
    body += '\n[checks]\nliveness = { within = "1m" }\n'
    result = run_text(body, duration="6m")
    s = result.summary
    assert violations(result) == []
    assert s["events_observed"] == 0 and s["deposits_credited"] == 0
    assert s["deposits_unobserved"] > 5
    assert s["deposits_unobserved"] <= s["deposits_final"]  # (the newest are within the grace)
    assert "but " + f"{s['deposits_unobserved']} final deposit(s) never observed by enough validators" in verdict(s)
