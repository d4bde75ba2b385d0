"""The node as kwil runs it: ABCI stages in order, the mempool/block actor, behaviours."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import sim
from node.abci import KwilApp
from node.txs import VoteIDs
from sim.errors import HookFailed
from sim.world.world import World
from tests.worlds import one_note, run_text, scenario_text, trace_events, violations

L = 0.05  # the fixed latency of tests.worlds
NOTE_EVENT = one_note(100)


def test_a_vote_tx_goes_through_every_abci_stage_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """gossip -> check_tx on the sender and on the proposer it reaches -> prepare_proposal ->
    process_proposal on every validator -> finalize_block -> commit on every node."""
    log: list[tuple[str, str, Any]] = []

    def spy(stage: str) -> Any:
        original = getattr(KwilApp, stage)

        def wrapper(self: KwilApp, *args: Any, **kwargs: Any) -> Any:
            result = original(self, *args, **kwargs)
            log.append((stage, self.name, (args, kwargs, result)))
            return result

        return wrapper

    for stage in ("check_tx", "prepare_proposal", "process_proposal", "finalize_block", "commit"):
        monkeypatch.setattr(KwilApp, stage, spy(stage))
    result = run_text(NOTE_EVENT, duration="20s")
    assert result.summary["resolutions_passed"] == 1 and violations(result) == []

    votes = [(name, args[0]) for stage, name, (args, _kw, res) in log
             if stage == "check_tx" and isinstance(args[0], VoteIDs) and res.ok]
    tx = votes[0][1]  # the first vote-ids tx that was admitted anywhere
    sender = tx.sender

    def first(stage: str, match: Any) -> int:
        return next(i for i, entry in enumerate(log) if entry[0] == stage and match(entry))

    checked_by_sender = first("check_tx", lambda e: e[1] == sender and e[2][0][0] == tx)
    proposed = first("prepare_proposal", lambda e: tx in e[2][2])
    proposer = log[proposed][1]
    checked_by_proposer = first("check_tx", lambda e: e[1] == proposer and e[2][0][0] == tx)
    judged = [i for i, e in enumerate(log) if e[0] == "process_proposal" and tx in e[2][0][1]]
    finalized = [i for i, e in enumerate(log) if e[0] == "finalize_block" and tx in e[2][0][0].txs]
    committed = [i for i, e in enumerate(log) if e[0] == "commit" and tx in e[2][0][0].block.txs]
    assert proposer != sender
    assert checked_by_sender < checked_by_proposer < proposed < min(judged)
    assert {log[i][1] for i in judged} == {"v0", "v1", "v2", "v3"}
    assert max(judged) < min(finalized) and len(finalized) == len(committed) == 4
    assert all(f < c for f, c in zip(sorted(finalized), sorted(committed), strict=True))
    # after the commit, no mempool keeps or rechecks the included tx
    assert not any(e[0] == "check_tx" and e[2][0][0] == tx for e in log[min(committed):])


def test_a_propose_invalid_proposer_costs_its_heights_one_failed_round() -> None:
    """Honest validators reject the proposal in ProcessProposal and prevote nil when it
    arrives: +2/3 nil prevotes (L later) make them precommit nil, +2/3 precommits (L later)
    start timeout_precommit, then the next proposer's round commits in 3L. So a height whose
    round-0 proposer is the byzantine one takes exactly 3L + timeout_precommit longer (the
    propose timeout is never paid: the proposal did arrive)."""
    result = run_text('[nodes.v0]\nbyzantine = "propose-invalid"\n', duration="1m", timeout_commit="1s")
    assert violations(result) == []
    blocks = result.records.blocks
    times = np.array([0.0] + [b.time for b in blocks])
    gaps = np.diff(times)
    normal, failed = 1.0 + 3 * L, 1.0 + 3 * L + (3 * L + 1.0)
    for block, gap in zip(blocks, gaps, strict=True):
        if block.height == 1:
            continue  # genesis: no timeout_commit before the first height
        assert gap == pytest.approx(failed if block.round == 1 else normal)
    assert {b.proposer for b in blocks if b.round == 1} == {"v1"}
    assert sum(1 for b in blocks if b.round == 1) == len(trace_events(result, "proposal.rejected"))
    assert all(r["by"] == ["v1", "v2", "v3"] for r in trace_events(result, "proposal.rejected"))


def test_a_user_written_byzantine_class_runs_and_is_traced() -> None:
    """A scenario names its own behaviour as "module:Class"; its hook runs at the lifecycle
    stage it overrides, and what it does is in the trace."""
    result = run_text('[nodes.v2]\nbyzantine = "tests.listeners_for_tests:Contrarian"\n', duration="30s")
    rejected = trace_events(result, "byzantine.reject", node="v2")
    assert rejected and all(r["behaviour"] == "tests.listeners_for_tests:Contrarian" for r in rejected)
    assert {r["proposer"] for r in rejected} == {"v0", "v1", "v3"}
    assert result.summary["rounds_above_zero"] == 0  # one rejecter holds less than a third
    assert violations(result) == []


def test_a_crash_cancels_the_actor_at_once_and_the_node_commits_nothing_after() -> None:
    """The crash empties the mailbox and the mempool in the same instant; the node's
    committed height stays where it was until it restarts."""
    scenario = sim.parse_scenario(scenario_text(
        NOTE_EVENT + '\n[[faults]]\nat = "30s"\nkind = "crash"\nnode = "v3"\n', duration="1m"))
    world = World(scenario, seed=1)
    crashed_at: dict[str, Any] = {}
    node = world.nodes[3]
    original = node.crash

    def crash(reason: str = "crash") -> None:
        original(reason)
        crashed_at.update(height=node.height, inbox=len(node.actor._inbox), pool=len(node.actor.mempool),
                          open=node.actor.open)

    node.crash = crash  # type: ignore[method-assign]
    try:
        world.run()
    finally:
        world.close()
    assert crashed_at == {"height": crashed_at["height"], "inbox": 0, "pool": 0, "open": False}
    assert node.height == crashed_at["height"] and world.chain.height > node.height + 10
    assert not world.violations


def test_listeners_can_follow_the_chain() -> None:
    """``service.blocks()`` yields each committed block once, in height order, at commit."""
    body = '[app.listeners]\nfollower = "tests.listeners_for_tests:follow_blocks"\n'
    result = run_text(body, duration="20s")
    seen = trace_events(result, "follower.block", node="v1")
    heights = [r["height"] for r in seen]
    assert heights == list(range(heights[0], heights[0] + len(heights))) and len(heights) > 10
    block_time = {b.height: b.time for b in result.records.blocks}
    assert all(r["t"] == pytest.approx(block_time[r["height"]]) for r in seen)  # all commit at once


def test_clock_skew_shows_in_the_proposers_block_time() -> None:
    """A skewed node stamps the blocks it proposes with its own clock."""
    body = ('[app.listeners]\nfollower = "tests.listeners_for_tests:follow_blocks"\n'
            '\n[[faults]]\nat = "1s"\nkind = "clock_skew"\nnode = "v2"\noffset = "-90s"\n')
    result = run_text(body, duration="30s")
    skewed = [r for r in trace_events(result, "follower.block", node="v0") if r["proposer"] == "v2"]
    honest = [r for r in trace_events(result, "follower.block", node="v0") if r["proposer"] == "v1"]
    assert skewed and all(r["t"] - r["block_time"] > 85 for r in skewed)
    assert honest and all(0 <= r["t"] - r["block_time"] < 1 for r in honest)


def test_an_error_in_the_actors_work_is_raised_not_swallowed() -> None:
    """The actor handles an idle node's messages without waking its task; an error in that
    work (here a user's behaviour that raises when asked what to vote) still ends the run
    with that error, as an error in the task would."""
    body = NOTE_EVENT + '\n[nodes.v2]\nbyzantine = "tests.listeners_for_tests:BrokenVoter"\n'
    with pytest.raises(HookFailed, match="v2: byzantine behaviour 'tests.listeners_for_tests:BrokenVoter' "
                       "raised in vote_ids: ValueError: broken voter") as caught:
        run_text(body, duration="30s")
    assert isinstance(caught.value.__cause__.__cause__, ValueError)  # the user's own error stays attached


def test_blocks_every_node_has_passed_are_released_and_a_long_absence_still_syncs() -> None:
    """The world keeps one chain for all nodes: a block stays while some node (a crashed one
    too) is below it, so a validator down for hundreds of heights block-syncs every one of
    them and ends on the chain's state; blocks every node is past are released (memory
    stays flat in duration) and reading one says so instead of returning stale data."""
    scenario = sim.parse_scenario(scenario_text(
        NOTE_EVENT + '\n[[faults]]\nat = "20s"\nkind = "crash"\nnode = "v3"\n'
        '\n[[faults]]\nat = "4m"\nkind = "restart"\nnode = "v3"\n', duration="6m"))
    world = World(scenario, seed=1)
    node = world.nodes[3]
    try:
        world.run()
    finally:
        world.close()
    synced = [r for r in world.trace.records if r["event"] == "node.synced" and r.get("node") == "v3"
              and r["t"] >= 240]
    assert synced and synced[0]["height"] > 100  # it synced about a hundred blocks after its restart
    assert node.height >= world.chain.height - 1 and not world.violations
    assert node.state.hash == world.chain.committed[node.height].state_hash
    kept = sorted(world.chain.committed)
    released = list(range(1, kept[0]))
    # v3 was down from about height 10 to about 118: it synced blocks that were kept for it,
    # and once it passed them they went too (the heights kept are one run up to the chain's)
    assert kept == list(range(kept[0], world.chain.height + 1))
    assert released and max(released) >= 100 and max(released) < min(n.height for n in world.nodes)
    with pytest.raises(RuntimeError, match="was released"):
        world.chain.state_after(released[-1])
    # proposer bookkeeping is kept for the heights in progress only, not one entry per height
    assert len(world.chain._round0) <= 4 and len(world.chain._rotations) <= 4


def test_committed_txs_leave_every_mempool_cache() -> None:
    """A committed tx never travels again in the world (gossip drops it at the commit), so no
    mempool cache keeps it: caches hold only txs still pending, and a long run's memory does
    not grow with every node's own votes (CometBFT would keep them; nothing could tell)."""
    scenario = sim.parse_scenario(scenario_text(NOTE_EVENT, duration="1m"))
    world = World(scenario, seed=1)
    cached: dict[str, set[Any]] = {}

    def look() -> None:  # before the run's end cancels the actors (and empties their mempools)
        cached.update({node.name: set(node.actor.mempool._cache) for node in world.nodes})

    world.kernel.call_at(50.0, look)
    try:
        world.run()
    finally:
        world.close()
    committed = {outcome.tx for entry in world.chain.committed.values() for outcome in entry.result.txs
                 if entry.first_commit < 50.0}
    assert committed and len(cached) == 4
    for name, txs in cached.items():
        assert not txs & committed, name
