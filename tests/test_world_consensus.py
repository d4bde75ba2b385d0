"""Block production in a whole world: CometBFT's timing checks and partitions."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import sim
import sim.scenario
from sim.engine.floatlog import FloatLog
from sim.errors import SimulationError
from sim.world.world import World
from tests.worlds import run_text, scenario_text, violations

L = 0.05


def test_every_block_time_is_timeout_commit_plus_three_latencies() -> None:
    result = run_text(duration="2m", timeout_commit="1s")
    intervals = np.array(result.commit_intervals)
    assert len(intervals) > 100
    assert np.allclose(intervals, 1.0 + 3 * L)
    assert result.summary["block_time_p50"] == pytest.approx(1.15)
    # one per validator per block for the whole run: a FloatLog (older chunks on disk; a list
    # of floats held 50 MB at the end of a six-hour 100-validator run)
    assert isinstance(result.commit_intervals, FloatLog) and len(result.commit_intervals) == len(intervals)


def test_height_with_an_offline_round0_proposer_takes_propose_2l_precommit_longer() -> None:
    result = run_text('\n[nodes.v2]\nstart = "offline"\n', duration="1m", timeout_commit="1s")
    blocks = result.records.blocks
    slow = [b for b in blocks if b.round == 1]
    assert slow and all(b.proposer != "v2" for b in blocks)
    times = {b.height: b.time for b in blocks}
    for b in slow:
        if b.height - 1 in times:
            assert times[b.height] - times[b.height - 1] == pytest.approx(1.15 + 3.0 + 2 * L + 1.0)
    assert result.summary["rounds_above_zero"] == len(slow)


def test_partition_of_more_than_a_third_stops_commits_and_heal_resumes_them() -> None:
    body = """
[[faults]]
at = "1m"
kind = "partition"
groups = [["v0", "v1"], ["v2", "v3"]]

[[faults]]
at = "3m"
kind = "heal"
"""
    result = run_text(body, duration="5m", timeout_commit="1s")
    times = [b.time for b in result.records.blocks]
    assert not any(61.5 < t < 180 for t in times)
    assert any(t > 180 for t in times)
    assert violations(result) == []


def test_a_node_partitioned_away_catches_up_after_heal() -> None:
    body = """
[[faults]]
at = "1m"
kind = "partition"
groups = [["v3"], ["v0", "v1", "v2"]]
duration = "2m"
"""
    result = run_text(body, duration="5m", timeout_commit="1s")
    # v3 is back in consensus (so it has every block it missed): it proposes again
    proposed = [b.time for b in result.records.blocks if b.proposer == "v3"]
    assert not any(62 < t < 180 for t in proposed)
    assert any(180 < t < 200 for t in proposed)
    assert violations(result) == []


# seven validators: v5 and v6 cut off from the five others from 10 s to 40 s
MINORITY_CUT_OFF = """
[[faults]]
at = "10s"
kind = "partition"
groups = [["v5", "v6"], ["v0", "v1", "v2", "v3", "v4"]]
duration = "30s"
"""


def test_a_partitioned_minority_stays_in_consensus_until_it_reaches_a_peer_ahead() -> None:
    """v5 and v6, cut off from the five others for 30 s, cannot know the chain moved on: as in
    CometBFT they stay in consensus at their height (with nobody ahead to sync from), and fall
    behind once, when the heal lets them reach a peer with the next block. They used to fall
    behind and re-enter consensus every time the majority retired a height (ten times here)."""
    result = run_text(MINORITY_CUT_OFF, duration="60s", count=7)
    for name in ("v5", "v6"):
        behind = [r["t"] for r in result.trace if r["event"] == "node.behind" and r["node"] == name]
        assert behind == [40.0]
    heights = {r["node"]: r["height"] for r in result.trace if r["event"] == "node.status"}
    assert heights["v6"] >= heights["v0"] - 1
    assert violations(result) == []


def test_crash_and_restart_catches_up_by_block_sync() -> None:
    body = """
[[faults]]
at = "1m"
kind = "crash"
node = "v1"

[[faults]]
at = "2m"
kind = "restart"
node = "v1"
"""
    result = run_text(body, duration="4m", timeout_commit="1s")
    synced = [r for r in result.trace if r["event"] == "node.synced" and r["node"] == "v1"]
    assert [r["t"] for r in synced][0] == 0.0  # every node is synced at genesis
    assert len(synced) == 2 and 120 <= synced[1]["t"] < 125
    assert any(b.proposer == "v1" and b.time > 125 for b in result.records.blocks)
    assert violations(result) == []


def test_a_retired_height_is_never_planned_again() -> None:
    """Once a height is retired (two behind the frontier) its pending proposal timers go with
    it: a later round's timer used to plan the height again (a dead plan, no node in it) and
    rebuild its proposer rotation from genesis, a cost growing with the chain's height. A
    validator down from the start and back after three minutes left such timers behind."""
    scenario = sim.scenario.scenario_from_dict({
        "scenario": {"name": "t", "seed": 0, "duration": "5m"},
        "network": {"latency": {"dist": "uniform", "low": "20ms", "high": "120ms"}},
        "consensus": {"timeout_commit": "1s"}, "validators": {"count": 5, "power": 1},
        "faults": [{"at": "0ms", "kind": "crash", "node": "v0"}, {"at": "3m", "kind": "restart", "node": "v0"}]})
    world = World(scenario, seed=0)
    driver = world.driver
    planned: list[tuple[int, bool]] = []
    plan = driver._plan

    def watched(height: int) -> None:
        planned.append((height, height in driver.plans or height > driver.frontier))
        plan(height)

    driver._plan = watched  # type: ignore[method-assign]
    try:
        world.run()
    finally:
        world.close()
    assert len(planned) > 150 and not world.violations
    assert [height for height, live in planned if not live] == []


def test_the_engine_forgets_who_left_a_height_once_the_height_is_retired() -> None:
    """What a node sent before leaving a height is kept for re-planning that height only: a
    node falling behind at a height already retired (a partitioned minority at the heal)
    adds nothing, and retiring a height drops its record, so the record stays small however
    long the run."""
    body = MINORITY_CUT_OFF + """
[[faults]]
at = "50s"
kind = "crash"
node = "v4"

[[faults]]
at = "55s"
kind = "restart"
node = "v4"
"""
    scenario = sim.scenario.parse_scenario(scenario_text(body, duration="90s", count=7), file="t.toml")
    world = World(scenario, seed=1)
    try:
        world.run()
        driver = world.driver
        assert driver.participation.heights_left() <= set(driver.plans)
    finally:
        world.close()


def test_the_connected_majority_counts_cut_and_too_slow_links_only() -> None:
    """Four online validators: with no link fault all four form the group; a link delayed by
    ``too_late`` or more counts as cut (its two ends cannot both be in), a shorter delay does
    not, and a blocked link cuts even one way."""
    scenario = sim.scenario.parse_scenario(scenario_text(duration="5s"), file="t.toml")
    world = World(scenario, seed=0)
    try:
        world.run()
        view = world.views
        assert view.connected_majority() == {"v0", "v1", "v2", "v3"}
        epoch = world.network.change(world.clock.now + 1.0)
        epoch.extra[0, 3] = 2.0
        assert view.connected_majority(too_late=5.0) == {"v0", "v1", "v2", "v3"}
        assert view.connected_majority(too_late=2.0) in ({"v0", "v1", "v2"}, {"v1", "v2", "v3"})
        epoch.extra[0, 3] = 0.0
        epoch.blocked[2, 1] = True
        assert view.connected_majority() in ({"v0", "v1", "v3"}, {"v0", "v2", "v3"})
    finally:
        world.close()


def test_with_timeout_commit_zero_a_proposer_commits_before_it_proposes_at_that_instant() -> None:
    """``timeout_commit = 0`` (CometBFT goes on to the next height at once): the proposer of
    height h enters it at the very instant it commits h-1, so its proposal is due then too. It
    proposes once its commit is in, and every block is decided in round 0, 3 latencies apart
    (the proposal's turn came before the commit and the chain stalled at height 2)."""
    result = run_text(duration="1m", timeout_commit="0s")
    assert violations(result) == []
    blocks = result.records.blocks
    assert len(blocks) > 300 and all(b.round == 0 for b in blocks)
    assert np.allclose(np.array(result.commit_intervals), 3 * L)


def test_a_run_shorter_than_the_stall_bound_still_reports_a_halt_for_good(monkeypatch: pytest.MonkeyPatch) -> None:
    """A run that ends before ``chain-stalled``'s bound (65 s here) with a consensus engine
    that has nothing left to schedule while a connected +2/3 majority is in consensus reports
    the halt (it ended silently). The halt is the one ``timeout_commit = 0`` made before the
    proposer waited for its commit, brought back by undoing that wait."""
    from sim.consensus.driver import ConsensusDriver
    monkeypatch.setattr(ConsensusDriver, "_commits_now", lambda self, height, i: False)
    result = run_text(duration="1m", timeout_commit="0s")
    assert len(result.records.blocks) == 2
    [stall] = [v for v in result.summary["violations"] if v["invariant"] == "chain-stalled"]
    assert "halted for good" in stall["explanation"] and "height 3" in stall["explanation"]
    assert stall["nodes"] == ["v0", "v1", "v2", "v3"]


def test_a_short_healthy_run_reports_no_halt() -> None:
    """The end-of-run halt check is quiet when blocks are still to come: runs that end
    between two blocks, or mid-height, of worlds of 1 to 7 validators."""
    for count in (1, 4, 7):
        for duration in ("3s", "7s", "30s"):
            result = run_text(duration=duration, count=count, timeout_commit="1s")
            assert violations(result) == [], (count, duration)


def test_a_chain_halted_by_design_is_said_in_the_summary_and_the_verdict() -> None:
    """Two of four validators shut themselves down (their listener fails) 30 s in: the chain
    halts for good, as BFT must with half the power gone, so no invariant is broken, yet the
    run used to end "ok (every invariant held)" with a healthy block time and nothing else.
    The summary now says when the last block came and the verdict that the chain halted; a
    healthy run says neither."""
    from sim.summary_text import verdict

    faults = "".join(f'\n[[faults]]\nat = "30s"\nkind = "listener_error"\nnode = "{n}"\n' for n in ("v1", "v2"))
    halted = run_text(ONE_SCRIPT + faults, duration="5m", timeout_commit="1s")
    assert violations(halted) == [] and halted.summary["node_shutdowns"] == 2
    last = halted.records.blocks[-1].time
    assert halted.summary["halted_at"] == last and 25 < last < 32  # (the last block before the shutdowns)
    assert "ok (every invariant held, but the chain halted: no block after t=" in verdict(halted.summary)
    healthy = run_text(ONE_SCRIPT, duration="5m", timeout_commit="1s")
    assert healthy.summary["halted_at"] is None and "halted" not in verdict(healthy.summary)


ONE_SCRIPT = """
[resolutions.note]
expiration_period = 100

[sources.script]
rate = "6/min"
type = "note"
"""


def _with_latency(latency: str, **kwargs: Any) -> sim.Result:
    text = scenario_text(**kwargs).replace('latency = { dist = "fixed", value = "50ms" }', f"latency = {latency}")
    return sim.run(sim.parse_scenario(text, file="t.toml"), seed=1)


def test_with_latencies_of_seconds_rounds_fail_until_their_timeouts_outgrow_them_and_no_stall_is_reported() -> None:
    """Every message takes 5 s, more than the 3 s propose timeout: rounds 0 to 3 see their
    proposal too late, round 4 (3 s + 4 x 0.5 s) decides, 78 s a height. That is slower than
    10 x the slowest round the timeouts allow (75 s), which chain-stalled took for a halt; its
    bound now covers a height at the network's slow latency."""
    result = _with_latency('{ dist = "fixed", value = "5s" }', duration="20m", timeout_commit="1s")
    assert violations(result) == []
    blocks = result.records.blocks
    assert len(blocks) == 15 and {b.round for b in blocks} == {4}
    assert np.allclose(np.diff([b.time for b in blocks]), 78.0)


def test_a_chain_whose_timeouts_never_outgrow_its_latency_is_reported_stalled() -> None:
    """With ``round_increment = 0`` and every message slower than the propose timeout, no
    round ever sees its proposal in time: the chain never commits, and chain-stalled says so
    within 10 x the slowest round."""
    result = _with_latency('{ dist = "fixed", value = "5s" }', duration="5m", timeout_commit="1s",
                           consensus='round_increment = "0s"')
    assert len(result.records.blocks) == 0
    [stall] = [v for v in result.summary["violations"] if v["invariant"] == "chain-stalled"]
    assert stall["time"] <= 10 * (1 + 3 + 1 + 1) + 30


LONE_LATER = """
[[faults]]
at = "5s"
kind = "leave"
node = "v1"
"""


def test_a_run_whose_heights_stop_taking_time_stops_with_one_line() -> None:
    """No commit timeout, and v1 leaves the validator set at 5 s: v0, alone with all the power,
    then decides each height it proposes the instant it enters it. The first such height used
    to end the run with a traceback (its commit came before the proposer's answer at that
    instant); now the proposal waits for the proposer's own commit, and once 64 heights in a
    row are decided at one instant the run stops with an error naming the cause."""
    scenario = sim.parse_scenario(scenario_text(LONE_LATER, count=2, duration="1m", timeout_commit="0s"),
                                  file="t.toml")
    with pytest.raises(SimulationError, match=r"^time stands still at t=5\.4s: heights \d+ to \d+ were all "
                                              r"decided at that instant .* consensus\.timeout_commit is 0"):
        sim.run(scenario, seed=1)
    # the same world with a commit timeout runs on, v0 alone deciding every height
    result = sim.run(sim.parse_scenario(scenario_text(LONE_LATER, count=2, duration="1m"), file="t.toml"), seed=1)
    assert result.ok and {b.proposer for b in result.records.blocks if b.time > 10} == {"v0"}
