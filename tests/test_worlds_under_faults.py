"""Worlds that stay correct under every fault: each test pins a defect the wide generated worlds
found (catch-up, restarts, skew, drops, empty sets, checker false positives) and failed before
its fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import sim
from tests.worlds import one_note, run_text, scenario_text, trace_events, violations


def fault(at: str, kind: str, node: str | None = None, **keys: Any) -> str:
    lines = [f'at = "{at}"', f'kind = "{kind}"'] + ([f'node = "{node}"'] if node else [])
    for key, value in keys.items():
        lines.append(f"{key} = {value!r}".replace("'", '"'))
    return "\n[[faults]]\n" + "\n".join(lines) + "\n"


NOTE = """
[resolutions.note]
expiration_period = 300

[sources.script]
"""


def event(at: str, data: str, seen_by: list[str]) -> str:
    nodes = ", ".join(f'"{n}"' for n in seen_by)
    return f'\n[[sources.script.events]]\nat = "{at}"\ntype = "note"\ndata = "{data}"\nseen_by = [{nodes}]\n'


def final_heights(result: sim.Result) -> dict[str, int]:
    return {r["node"]: r["height"] for r in trace_events(result, "node.status")}


def test_votes_a_validator_sent_before_it_crashed_still_decide_the_height() -> None:
    """Three validators of equal power, 50 ms links: height 2 starts at 1.15 s, every
    precommit is sent at 1.25 s and arrives at 1.3 s. v2 crashes at 1.27 s, after sending
    its precommit: v0 and v1 commit height 2 at 1.3 s, as in CometBFT. The re-plan after the
    crash used to start the height again without v2, so nothing committed it."""
    result = run_text(fault("1270ms", "crash", "v2"), duration="30s", count=3)
    assert [(b.height, round(b.time, 6)) for b in result.records.blocks] == [(1, 0.15), (2, 1.3)]
    before_precommit = run_text(fault("1220ms", "crash", "v2"), duration="30s", count=3)
    assert [b.height for b in before_precommit.records.blocks] == [1]


def test_a_validator_back_within_the_height_keeps_its_votes_and_its_round() -> None:
    """The same crash, with v2 back 10 ms later, still in height 2 (its peers have not
    committed it yet): as with CometBFT's WAL, v2 keeps the votes it sent and the round it
    was in, so the chain goes on exactly as without the crash. Entering the height afresh
    at its restart (round 0, its earlier votes forgotten) delayed every later block by 80 ms."""
    quiet = run_text(duration="10s", count=3)
    crashed = run_text(fault("1270ms", "crash", "v2") + fault("1280ms", "restart", "v2"), duration="10s", count=3)
    assert [(b.height, b.time) for b in crashed.records.blocks] == [(b.height, b.time) for b in quiet.records.blocks]
    assert violations(crashed) == []


def test_the_chain_resumes_once_crashed_validators_holding_a_third_restart() -> None:
    """Two of four crash between a commit and their entry into the next height, then restart
    apart: the restarted nodes enter at their restart, not inside their downtime, so the
    chain commits again (it used to stop for good, silently)."""
    body = (fault("29.4s", "crash", "v2") + fault("29.4s", "crash", "v3")
            + fault("60s", "restart", "v2") + fault("70s", "restart", "v3"))
    result = run_text(body, duration="3m", timeout_commit="1s")
    assert violations(result) == []
    assert sum(1 for b in result.records.blocks if b.time > 75) > 80
    assert set(final_heights(result).values()) <= {result.summary["blocks"], result.summary["blocks"] - 1}


def test_a_restarted_validator_is_synced_and_listens_again() -> None:
    """A validator that crashes and restarts within the same height catches up, is marked
    synced and runs its listeners, so an event only it and two others see can pass."""
    body = NOTE + event("90s", "x", ["v1", "v2", "v3"])
    body += fault("29.4s", "crash", "v1") + fault("29.6s", "restart", "v1")
    result = run_text(body, duration="3m")
    assert [r["t"] for r in trace_events(result, "listeners.start", node="v1")] == [0.0, 29.6]
    assert result.summary["resolutions_passed"] == 1 and violations(result) == []


def test_a_node_held_back_by_a_short_delay_falls_behind_then_block_syncs() -> None:
    """A 10 s extra delay for 5 s leaves v3 behind the chain; the consensus engine tells it so
    and it block-syncs back instead of staying stuck and proposing from a stale state."""
    body = fault("30s", "delay", nodes=["v3"], extra="10s", duration="5s")
    result = run_text(body, duration="3m")
    assert trace_events(result, "node.behind", node="v3")
    heights = final_heights(result)
    assert heights["v3"] >= result.summary["blocks"] - 1
    assert any(b.proposer == "v3" and b.time > 60 for b in result.records.blocks)
    assert violations(result) == []


def test_one_validator_crashing_and_restarting_in_one_instant_keeps_its_chain_going() -> None:
    """The generated worlds found a one-validator chain that stopped after a crash and a
    restart at the same instant (a commit from before the crash decided its next entry)."""
    result = run_text(fault("0s", "crash", "v0") + fault("0s", "restart", "v0"), count=1, duration="1m")
    assert violations(result) == [] and result.summary["blocks"] > 40


def test_a_total_loss_window_delays_the_chain_and_it_resumes_after() -> None:
    """Every message lost for 5 s: a lost message is sent again every 100 ms under the link's
    loss rate at that time, so the chain resumes right after the window (it used to draw all
    its retries at send time and halt for good)."""
    body = fault("30s", "drop", probability=1.0, duration="5s")
    result = run_text(body, duration="2m")
    times = [b.time for b in result.records.blocks]
    assert not [t for t in times if 30.2 < t < 35.0]
    assert any(35.0 <= t < 37.5 for t in times) and len(times) > 90
    assert violations(result) == []


def test_loss_from_the_network_and_from_a_fault_combine_as_chances() -> None:
    """A network that loses 50% and a fault that loses 50% lose 75% together, never more than
    all: the chain keeps committing."""
    text = scenario_text(fault("10s", "drop", probability=0.5, duration="30s"), duration="1m")
    text = text.replace('latency = { dist = "fixed", value = "50ms" }',
                        'latency = { dist = "fixed", value = "50ms" }\ndrop = 0.5')
    result = sim.run(sim.parse_scenario(text))
    assert result.summary["blocks"] > 30 and not result.summary["violations"]


def test_when_the_last_validator_leaves_the_chain_halts_and_says_so() -> None:
    """An empty validator set is a clean halt reported as chain-stalled (it used to crash
    the tool with an IndexError)."""
    body = "".join(fault(f"{10 * (i + 1)}s", "leave", f"v{i}") for i in range(4))
    result = run_text(body, duration="2m")
    assert violations(result) == ["chain-stalled"]
    assert "validator set is empty" in result.summary["violations"][0]["explanation"]


def test_a_stalled_chain_with_a_connected_majority_is_a_violation() -> None:
    """chain-stalled: no block for longer than the bound while validators holding more than
    2/3 are online and reach each other (here: three of four reject every proposal but their
    own, so every round fails)."""
    body = "".join(f'\n[nodes.v{i}]\nbyzantine = "tests.listeners_for_tests:Contrarian"\n' for i in range(3))
    text = scenario_text(body, duration="5m") + '\n[checks]\nstall_after = "30s"\n'
    result = sim.run(sim.parse_scenario(text))
    assert "chain-stalled" in {v["invariant"] for v in result.summary["violations"]}


def test_a_partitioned_minority_is_not_a_stall_and_catches_up_after_heal() -> None:
    """A partition with no +2/3 side stops the chain without a violation (nobody could
    commit); after heal everyone is in sync (node-in-sync holds)."""
    body = fault("20s", "partition", groups=[["v0", "v1"], ["v2", "v3"]], duration="3m")
    result = run_text(body, duration="6m")
    assert violations(result) == []
    heights = final_heights(result)
    assert min(heights.values()) >= result.summary["blocks"] - 1


@pytest.mark.parametrize("protocol", ["kwil-0.7", "kwil-0.8"])
def test_an_evicted_vote_is_repaired_even_when_a_later_vote_reuses_its_nonce(protocol: str) -> None:
    """Outstanding votes are matched by the tx, not by its nonce: when the evicted vote's
    nonce is taken by the next vote, the evicted ids are still voted again (votes-sent held
    up only because it was not reached before)."""
    body = NOTE + event("20s", "a", ["v1", "v2", "v3"]) + event("24s", "b", ["v1", "v2", "v3"])
    body += fault("21.2s", "evict_vote", "v1")
    result = run_text(body, duration="2m", protocol=protocol)
    assert violations(result) == [] and result.summary["resolutions_passed"] == 2


def test_0_8_re_stored_event_is_not_voted_twice_unless_the_switch_is_on() -> None:
    """kwil 0.8.4 (voting/events.go Store, broadcast.go) stores an event again after the
    validator's own vote executed and votes on it a second time; that is the
    ``revote-restored-event`` switch, caught by one-vote-per-validator. Corrected, the
    re-stored event is dropped."""
    body = NOTE + event("10s", "x", ["v0", "v1", "v2", "v3"])  # v4 never sees it: it stays open
    body += fault("30s", "crash", "v1") + fault("40s", "restart", "v1")
    body = body.replace("expiration_period = 300", "expiration_period = 300\nconfirmation_threshold = \"1/1\"")
    corrected = run_text(body, duration="2m", protocol="kwil-0.8", count=5)
    assert violations(corrected) == []
    buggy = run_text(body, duration="2m", protocol="kwil-0.8", count=5, bugs=("revote-restored-event",))
    assert violations(buggy) == ["one-vote-per-validator"]


def test_heal_ends_drop_and_delay_faults_without_a_duration() -> None:
    """heal ends every network fault, not only partitions."""
    body = fault("10s", "delay", nodes=["v3"], extra="5s") + fault("10s", "drop", nodes=["v2"], probability=0.9)
    body += fault("30s", "heal")
    result = run_text(body, duration="2m", timeout_commit="1s")
    after = [b.time for b in result.records.blocks if b.time > 35]
    gaps = [round(b - a, 6) for a, b in zip(after, after[1:], strict=False)]
    assert gaps and all(g == pytest.approx(1.15) for g in gaps)


def test_a_file_store_is_reopened_from_disk_after_a_crash(tmp_path: Any) -> None:
    """A crash closes the node's SQLite connection; the restart opens the file again and the
    stored events and KV are there (the node votes what it stored before the crash)."""
    body = NOTE + event("10s", "x", ["v1", "v2", "v3"])
    text = scenario_text(body + fault("10.3s", "crash", "v1") + fault("30s", "restart", "v1"), duration="1m")
    text = text.replace("power = 1\n", 'power = 1\nstorage = "file"\n')
    result = sim.run(sim.parse_scenario(text), out=tmp_path / "run")
    assert result.summary["resolutions_passed"] == 1 and result.ok
    assert (tmp_path / "run" / "nodes" / "v1.sqlite").is_file()


def test_in_memory_stores_survive_a_crash_through_a_snapshot() -> None:
    """An in-memory store keeps its committed rows across a crash (a snapshot stands in for
    the disk): only v1, v2, v3 see the event, so it passes only if v1 still has it."""
    from node.eventstore import EventStore

    store = EventStore(":memory:", lambda t: True, lambda rid: False)
    rid = store.store(b"x", "note")
    store.kv_set("lh", b"\x07")
    store.crash()
    assert store.has_event(rid or "") and store.crashed
    store.recover()
    assert store.has_event(rid or "") and store.kv_get("lh") == b"\x07" and not store.crashed


# -- worlds the campaign found after the fixes above ------------------------------------------
CAMPAIGN = Path(__file__).resolve().parent / "data" / "campaign"


@pytest.mark.parametrize("path", sorted(CAMPAIGN.glob("*.toml")), ids=lambda p: p.stem)
def test_worlds_the_campaign_found_hold_every_invariant(path: Path) -> None:
    """Each file is a wide world `nodesim campaign` found broken (its first lines say how and
    why); with the fix it holds every invariant."""
    result = sim.run(sim.load_scenario(path))
    assert result.summary["violations"] == []


def test_a_partition_ending_keeps_the_links_another_partition_still_cuts() -> None:
    """v0 is cut off for 10 s; meanwhile {v0, v1} | {v2, v3} is cut for good. When the first
    partition ends, v0 ↔ v2 and v0 ↔ v3 stay cut (the second still cuts them), so no group
    above 2/3 of the power reaches each other: the chain stays where it stopped, and
    `chain-stalled` (which needs such a group) rightly says nothing."""
    body = ('\n[[faults]]\nat = "10s"\nkind = "partition"\ngroups = [["v0"], ["v1", "v2", "v3"]]\nduration = "10s"\n'
            '\n[[faults]]\nat = "12s"\nkind = "partition"\ngroups = [["v0", "v1"], ["v2", "v3"]]\n')
    result = run_text(body, duration="2m")
    times = [b.time for b in result.records.blocks]
    assert times and max(times) < 13.0
    assert violations(result) == []


def test_a_group_joined_only_through_a_third_node_is_not_a_connected_majority() -> None:
    """The network does not relay: v0 and v3 both reach v1 and v2 but not each other, so the
    heaviest group whose members all reach each other is {v0, v1, v2} or {v1, v2, v3}."""
    import numpy as np

    from sim.world.cliques import heaviest_clique

    names = ["v0", "v1", "v2", "v3"]
    cut = np.zeros((4, 4), dtype=bool)
    cut[0, 3] = cut[3, 0] = True
    assert heaviest_clique(names, cut, [1, 1, 1, 5]) == ["v1", "v2", "v3"]
    assert heaviest_clique(names, np.zeros((4, 4), dtype=bool), [1, 1, 1, 1]) == names


def test_node_in_sync_looks_for_a_majority_only_while_a_node_lags(monkeypatch: pytest.MonkeyPatch) -> None:
    """Finding the connected majority is the costliest part of a tick: node-in-sync asks for
    it only on ticks where some node lags (a crashed node lags until it has caught up again),
    and still reports nothing in a world where every node keeps up."""
    from sim.world.views import WorldView

    asked: list[float] = []
    original = WorldView.connected_majority

    def counting(self: WorldView, too_late: float = float("inf")) -> set[str] | None:
        if too_late == float("inf"):  # (chain-stalled asks with a round's wait every tick)
            asked.append(self.now)
        return original(self, too_late)

    monkeypatch.setattr(WorldView, "connected_majority", counting)
    healthy = run_text("", duration="2m")
    assert violations(healthy) == [] and asked == []
    crashed = run_text(fault("30s", "crash", "v1") + fault("60s", "restart", "v1"), duration="2m")
    assert violations(crashed) == [] and asked and min(asked) >= 30


@pytest.mark.parametrize("down", ["listener_error", "crash"])
def test_the_only_validator_restarted_later_commits_again(down: str) -> None:
    """A lone validator that went down (a listener error shut it down, or a crash) and is
    restarted ten seconds later has no peer to block-sync from: CometBFT starts the only
    validator in consensus without block sync (node.go onlyValidatorIsUs), so the chain goes on."""
    body = (f'\n[[faults]]\nat = "30s"\nkind = "{down}"\nnode = "v0"\n'
            '\n[[faults]]\nat = "40s"\nkind = "restart"\nnode = "v0"\n')
    note = one_note(50).replace('seen_by = ["v0", "v1", "v2", "v3"]', 'seen_by = ["v0"]')
    result = run_text(note + body, count=1, duration="2m")
    times = [b.time for b in result.records.blocks]
    assert max(times) > 110 and not [t for t in times if 30 < t < 40]
    assert violations(result) == []


def test_a_listener_error_on_a_node_without_listeners_says_it_did_nothing() -> None:
    """Nothing is silent: a fault that finds nothing to act on leaves a trace record."""
    result = run_text('\n[[faults]]\nat = "5s"\nkind = "listener_error"\nnode = "v1"\n', duration="20s")
    assert trace_events(result, "fault.no_effect", node="v1", kind="listener_error")
    assert result.summary["node_shutdowns"] == 0


def test_a_restarted_validator_with_no_peer_waits_and_no_check_blames_it() -> None:
    """v0 holds 3 of 4 power. It crashes, v1 -> v0 is cut for good, and v0 restarts: it has no
    peer to block-sync from, and CometBFT's block sync switches to consensus only once it has
    one (pool IsCaughtUp), so the chain stays stalled without a violation (chain-stalled and
    node-in-sync used to blame v0 alone). Once the cut heals, v0 syncs and the chain goes on."""
    body = (fault("30s", "crash", "v0") + '\n[[faults]]\nat = "35s"\nkind = "partition"\nfrom = ["v1"]\nto = ["v0"]\n'
            + fault("40s", "restart", "v0"))
    stalled = run_text(body, count=2, power=[3, 1], duration="4m")
    assert violations(stalled) == []
    assert max(b.time for b in stalled.records.blocks) < 30.5
    assert [r["synced"] for r in trace_events(stalled, "node.status", node="v0")] == [False]
    healed = run_text(body + fault("3m", "heal"), count=2, power=[3, 1], duration="4m")
    assert violations(healed) == []
    assert max(b.time for b in healed.records.blocks) > 230


def test_a_link_delayed_past_the_round_in_progress_counts_as_cut_until_rounds_grow() -> None:
    """chain-stalled's clock: round r waits timeout_propose + r x round_increment for its
    proposal, and each round lasts its three timeouts, so a 10 s extra delay with the default
    timeouts (and a 1 s commit timeout) first fits round 14, about 207 s after the last block
    (before, the checker counted such a link as connected and blamed the stall it causes)."""
    from types import SimpleNamespace

    from sim.checks.progress_checks import round_wait
    from sim.scenario_model import ConsensusConfig

    view = SimpleNamespace(scenario=SimpleNamespace(consensus=ConsensusConfig(timeout_commit=1.0)))
    waits = [round_wait(view, t) for t in (0.5, 1.0, 6.0, 12.5, 207.4, 207.6)]  # type: ignore[arg-type]
    assert waits == [3.0, 3.0, 3.5, 4.0, 9.5, 10.0]


def test_a_nonce_gap_not_made_before_a_crash_is_gone_after_it() -> None:
    """A crash keeps only committed storage (simulator.md): a nonce gap ordered at 1 s, before
    v1 had anything to vote on, does not wait through its crash to spoil the first vote it
    sends after the restart (that vote used to be refused for its nonce, and the event's
    resolution waited for the lost-vote repair); the gap that never happened is traced."""
    body = fault("1s", "nonce_gap", "v1") + fault("2s", "crash", "v1") + fault("3s", "restart", "v1")
    result = run_text(one_note() + body, duration="1m")
    assert trace_events(result, "fault.no_effect", node="v1", kind="nonce_gap")
    assert not trace_events(result, "tx.rejected", node="v1")
    assert trace_events(result, "resolution.passed")
    assert violations(result) == []


@pytest.mark.parametrize("kind", ["nonce_gap", "evict_vote", "crash", "join", "leave"])
def test_a_vote_fault_on_a_node_that_is_down_says_it_did_nothing(kind: str) -> None:
    result = run_text(fault("2s", "crash", "v1") + fault("5s", kind, "v1"), duration="20s")
    assert [r["why"] for r in trace_events(result, "fault.no_effect", node="v1")] == ["the node is down"]


def test_evicting_a_vote_from_a_node_with_none_pending_says_it_did_nothing() -> None:
    result = run_text(fault("5s", "evict_vote", "v1"), duration="20s")
    assert [r["why"] for r in trace_events(result, "fault.no_effect", node="v1", kind="evict_vote")] == [
        "no vote-ids tx of the node is pending"]


def test_restarting_a_node_that_is_running_says_it_did_nothing() -> None:
    result = run_text(fault("5s", "restart", "v1"), duration="20s")
    assert [r["why"] for r in trace_events(result, "fault.no_effect", node="v1", kind="restart")] == [
        "the node is running"]
    assert violations(result) == []


def test_the_summary_counts_the_faults_that_did_nothing() -> None:
    """Two of three faults find nothing to act on: the summary says so beside the count."""
    body = fault("2s", "crash", "v1") + fault("5s", "evict_vote", "v1") + fault("6s", "restart", "v2")
    summary = run_text(body, duration="20s").summary
    assert (summary["faults_injected"], summary["faults_without_effect"]) == (3, 2)


def test_a_chain_waiting_for_a_validator_to_block_sync_is_not_reported_stalled() -> None:
    """v1 crashes at 60 s and v2 at 90 s: the chain halts with two of four. v1 restarts at
    300 s with 14 blocks to fetch at 0.1 blocks/s, 140 s, more than chain-stalled's 75 s bound.
    A validator still block-syncing cannot vote, so the chain waits for it, and only then
    commits again: that wait was reported as a stall (it counted v1 among the majority)."""
    body = fault("60s", "crash", "v1") + fault("90s", "crash", "v2") + fault("300s", "restart", "v1")
    text = scenario_text(body, duration="10m").replace("[network]\n", "[network]\nblock_sync_rate = 0.1\n")
    result = sim.run(sim.parse_scenario(text, file="t.toml"), seed=1)
    assert violations(result) == []
    resumed = min(b.time for b in result.records.blocks if b.time > 90)
    assert 300 + 120 < resumed < 300 + 150  # once v1 has fetched what it missed (140 s)
