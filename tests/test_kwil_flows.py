"""kwil's integration assertions and the listener/validator flows, played in a world."""

from __future__ import annotations

from pathlib import Path

import pytest

import sim
from tests.worlds import one_note, run_text, scenario_text, trace_events, violations

NOTE = """
[resolutions.note]
expiration_period = {expiry}

[sources.script]
"""


def event(at: str, data: str, seen_by: list[str]) -> str:
    nodes = ", ".join(f'"{n}"' for n in seen_by)
    return f'\n[[sources.script.events]]\nat = "{at}"\ntype = "note"\ndata = "{data}"\nseen_by = [{nodes}]\n'


def fault(at: str, kind: str, node: str, extra: str = "") -> str:
    return f'\n[[faults]]\nat = "{at}"\nkind = "{kind}"\nnode = "{node}"\n{extra}'


SILENT = '\n[nodes.v4]\nbyzantine = "silent"\n\n[nodes.v5]\nbyzantine = "silent"\n'


@pytest.mark.parametrize("protocol", ["kwil-0.7", "kwil-0.8"])
def test_six_validators_two_silent_leave_blocks_then_rejoin_passes(protocol: str) -> None:
    """kwil §7: after one honest validator leaves, 3 of 5 cannot pass an event; after it
    rejoins it re-observes the event, votes, and the event passes."""
    body = SILENT + NOTE.format(expiry=2000) + event("2m", "deposit-1", ["v0", "v1", "v2", "v3"])
    body += fault("1m", "leave", "v3") + fault("10m", "promote", "v3")
    result = run_text(body, count=6, duration="30m", protocol=protocol, timeout_commit="2s")
    assert violations(result) == []
    passed = trace_events(result, "resolution.passed", type="note")
    assert len(passed) == 1
    assert passed[0]["t"] > 600  # not before v3 rejoined
    assert passed[0]["approved"] == 4 and passed[0]["required"] == 4
    joined = trace_events(result, "resolution.passed", type="validator_join")
    assert joined and joined[0]["t"] < passed[0]["t"]


def test_without_the_rejoin_three_of_five_never_pass() -> None:
    body = SILENT + NOTE.format(expiry=2000) + event("2m", "deposit-1", ["v0", "v1", "v2", "v3"])
    body += fault("1m", "leave", "v3")
    result = run_text(body, count=6, duration="20m", timeout_commit="2s")
    assert result.summary["resolutions_passed"] == 0
    assert violations(result) == []


def test_join_with_two_of_three_approvals() -> None:
    """A non-validator joins once approvals reach 2 of 3 validators' power."""
    body = '\n[nodes.v3]\nstart = "non-validator"\n' + fault("1m", "join", "v3")
    result = run_text(body, count=4, duration="5m")
    join = trace_events(result, "resolution.passed", type="validator_join")
    assert join and join[0]["required"] == 2 and join[0]["approved"] >= 2
    updates = trace_events(result, "validator.update", validator="v3")
    assert updates and updates[0]["power"] == 1
    assert violations(result) == []


def test_removal_with_three_of_four() -> None:
    result = run_text(fault("1m", "remove", "v3"), count=4, duration="5m")
    updates = trace_events(result, "validator.update", validator="v3")
    assert updates and updates[0]["power"] == 0
    removal = trace_events(result, "resolution.passed", type="validator_remove")
    assert removal[0]["approved"] >= 3


@pytest.mark.parametrize("protocol", ["kwil-0.7", "kwil-0.8"])
def test_demotion_cancels_listeners_and_promotion_restarts_them(protocol: str) -> None:
    """0.8.4 follows the validator status at each commit: the listeners stop in the instant
    of the update. 0.7.6 polls it every second from the node's start (listeners/mgr.go), so
    they stop at the next whole second after the update, never later."""
    body = NOTE.format(expiry=100) + fault("1m", "demote", "v3") + fault("3m", "promote", "v3")
    result = run_text(body, count=4, duration="6m", protocol=protocol)
    cancel = trace_events(result, "listeners.cancel", node="v3")
    update = trace_events(result, "validator.update", validator="v3", power=0)
    assert cancel and update
    lag = cancel[0]["t"] - update[0]["t"]
    if protocol == "kwil-0.8":
        assert lag == 0
    else:
        assert 0 < lag <= 1.0 and float(cancel[0]["t"]).is_integer()
    starts = trace_events(result, "listeners.start", node="v3")
    assert len(starts) == 2 and starts[1]["t"] > cancel[0]["t"]
    assert violations(result) == []


def test_a_raising_listener_stops_its_node_and_nothing_else() -> None:
    body = NOTE.format(expiry=100) + event("30s", "a", ["v0", "v1", "v2", "v3"])
    body += event("3m", "b", ["v0", "v1", "v2"]) + fault("1m", "listener_error", "v3")
    result = run_text(body, count=4, duration="6m")
    assert result.summary["node_shutdowns"] == 1
    assert "v3" in result.summary["shutdown_errors"][0]
    assert result.summary["resolutions_passed"] == 2  # the other three carried on
    assert violations(result) == []


def test_crash_between_store_and_vote_loses_nothing_and_votes_once() -> None:
    """Crash v3 right after it stores an event and before its vote is committed. Only v1, v2
    and v3 see the event, and 3 of 4 votes are needed, so it passes only once v3, restarted,
    stores it again and votes; v3's vote is counted exactly once."""
    body = NOTE.format(expiry=200) + event("60s", "x", ["v1", "v2", "v3"])
    body += fault("60.5s", "crash", "v3") + fault("2m", "restart", "v3")
    result = run_text(body, count=4, duration="5m")
    assert violations(result) == []
    assert result.summary["resolutions_passed"] == 1
    passed = next(r for r in result.records.resolutions.values() if r.status == "passed")
    assert "v3" in passed.voters and passed.time is not None and passed.time > 120
    assert [voter for _rid, voter, _p, _h in result.records.votes].count("v3") == 1


def test_0_8_event_seen_only_by_a_validator_that_never_proposes_is_never_voted() -> None:
    """Under 0.8 only a proposer creates a resolution: an event seen by a validator that does
    not propose within the expiry never gets a resolution; under 0.7 its vote-ids create a
    placeholder that expires after the genesis vote_expiry."""
    body = NOTE.format(expiry=10) + event("35s", "x", ["v3"])
    results = {p: run_text(body, count=4, power="[30, 30, 30, 1]", duration="100s", protocol=p,
                           consensus="vote_expiry = 10")
               for p in ("kwil-0.7", "kwil-0.8")}
    assert results["kwil-0.8"].summary["resolutions_expired"] == 0
    assert results["kwil-0.8"].summary["resolutions_passed"] == 0
    assert results["kwil-0.7"].summary["resolutions_expired"] == 1
    assert all(violations(r) == [] for r in results.values())


def test_a_gapped_vote_stays_broadcasted_until_the_repair_votes_again() -> None:
    """kwil (broadcast.go): a vote-ids tx rejected at its first CheckTx for a nonce gap is not
    reported, and the ids stay broadcasted. Only v1, v2, v3 see the events, so v1's vote is
    needed: it comes when the corrected node's repair marks them for rebroadcast after
    ``rebroadcast_after`` (10) blocks, and each event passes with v1's vote counted once."""
    body = NOTE.format(expiry=500) + event("30s", "x", ["v1", "v2", "v3"])
    body += event("30s", "y", ["v1", "v2", "v3"]) + fault("29s", "nonce_gap", "v1")
    result = run_text(body, count=4, duration="5m", timeout_commit="1s")
    rejected = trace_events(result, "tx.rejected", node="v1")
    repaired = trace_events(result, "votes.rebroadcast", node="v1")
    assert rejected and rejected[0]["why"] == "nonce"
    assert len(repaired) == 1 and repaired[0]["t"] - rejected[0]["t"] > 10 * 1.15 - 0.01
    assert result.summary["resolutions_passed"] == 2
    v1_votes = [height for _rid, voter, _p, height in result.records.votes if voter == "v1"]
    assert len(v1_votes) == 2
    assert violations(result) == []


def test_unregistered_event_type_shuts_the_listener_node_down_with_a_clear_error(tmp_path: object) -> None:
    body = """
[app.listeners]
bad = "tests.listeners_for_tests:broadcast_unknown_type"
"""
    result = run_text(body, count=4, duration="1m")
    assert result.summary["node_shutdowns"] == 4
    assert "not a registered resolution type" in result.summary["shutdown_errors"][0]


def test_two_removals_passing_in_one_block_are_decided_on_the_same_powers() -> None:
    """Found by the property tests: the second removal must not be re-counted after the
    first one already took a voter's power away."""
    body = fault("0s", "demote", "v0") + fault("0s", "demote", "v2")
    result = run_text(body, count=3, duration="1m")
    assert violations(result) == []
    removed = trace_events(result, "resolution.passed", type="validator_remove")
    assert removed and all(r["approved"] >= r["required"] for r in removed)


def test_0_8_a_validator_that_proposes_every_block_never_votes_on_anothers_resolution() -> None:
    """kwil 0.8 (broadcast.go RunBroadcast): a proposer does not broadcast vote-ids, and its
    vote-bodies tx takes only events with no resolution yet (events.go getNewEvents). v2
    creates e2's resolution with its body and is removed in the same block (its vote goes
    with its power); v0, the only validator left, proposes every block after and so never
    votes: the event expires although v0 holds all the power, and liveness says so."""
    path = Path(__file__).parent / "data" / "kwil" / "lone-proposer-never-votes.toml"
    result = sim.run(sim.parse_scenario(path.read_text(encoding="utf-8"), file=str(path)))
    [violation] = result.summary["violations"]
    assert violation["invariant"] == "liveness" and "expired unresolved" in violation["explanation"]
    rid = violation["explanation"].split()[1]
    [created] = [b for b in result.records.blocks if b.proposer == "v2" and b.height == 31]
    [expired] = [r for r in result.trace if r["event"] == "resolution.expired" and r["id"] == rid]
    assert expired["approved"] == 0
    later = [b for b in result.records.blocks if created.height < b.height and b.time <= expired["t"]]
    assert later and {b.proposer for b in later} == {"v0"}
    assert not [s for s in result.records.sends if s[:2] == ("v0", rid)]  # no vote-ids tx of v0 named it


def test_with_gas_and_no_balance_a_proposer_says_once_that_it_adds_no_vote_bodies() -> None:
    """Gas on and every balance 0: kwil refuses the txs of an account with no balance and no
    nonce, and such a proposer adds no vote bodies, so the event is never resolved. kwil says
    nothing; the run traces ``votes.skipped`` (reason ``unfunded``) once per proposer, where
    it used to end "ok" with nothing to say why nothing resolved."""
    text = scenario_text(one_note(), duration="1m").replace("[validators]\n", "[validators]\ngas = true\n")
    result = sim.run(sim.parse_scenario(text, file="t.toml"), seed=1)
    assert result.summary["resolutions_passed"] == 0
    skipped = trace_events(result, "votes.skipped", reason="unfunded")
    assert sorted(r["node"] for r in skipped) == ["v0", "v1", "v2", "v3"]
