"""Mempool rules (kwil on CometBFT): only pending+1 is admitted; recheck evicts stale txs."""

from __future__ import annotations

from node.mempool import admissible_run, assemble_block
from node.txs import VoteBodies, VoteIDs


def vote(sender: str, nonce: int) -> VoteIDs:
    return VoteIDs(sender, nonce, ((f"id-{nonce}", "note"),))


def test_nonce_gap_is_rejected() -> None:
    assert admissible_run(3, [vote("a", 5)]) == []
    assert admissible_run(3, [vote("a", 4), vote("a", 6)]) == [vote("a", 4)]


def test_duplicate_nonce_is_rejected() -> None:
    first, second = VoteIDs("a", 1, (("x", "note"),)), VoteIDs("a", 1, (("y", "note"),))
    assert admissible_run(0, [first, second]) == [first]


def test_recheck_after_commit_evicts_stale_txs() -> None:
    pending = [vote("a", 1), vote("a", 2), vote("a", 3)]
    assert admissible_run(2, pending) == [vote("a", 3)]  # 1 and 2 are committed or stale


def test_block_order_own_then_bodies_then_others_and_byte_cap() -> None:
    bodies = VoteBodies("p", 2, (("note", b"x"),))
    others = [vote("b", 2), vote("b", 1), vote("c", 1)]
    block = assemble_block("p", [vote("p", 1)], bodies, others, 10_000)
    assert [(t.sender, t.nonce) for t in block] == [("p", 1), ("p", 2), ("b", 1), ("b", 2), ("c", 1)]
    small = assemble_block("p", [], None, others, vote("b", 1).size() + 1)
    assert [(t.sender, t.nonce) for t in small] == [("b", 1)]  # b's nonce 2 cut; c would not fit


def test_a_gap_rejected_at_the_first_check_leaves_the_ids_broadcasted() -> None:
    """kwil (broadcast.go, cometbft local_client.go): the broadcaster submits with
    BroadcastTxAsync, whose CheckTx rejection is not reported; the MarkRebroadcast of the
    bad-nonce check is overwritten by the MarkBroadcasted that follows. So nothing is
    rebroadcast at once; the event passes on the other three votes."""
    from tests.worlds import run_text

    body = """
[resolutions.note]
expiration_period = 100

[sources.script]

[[sources.script.events]]
at = "30s"
type = "note"
data = "x"
seen_by = ["v0", "v1", "v2", "v3"]

[[faults]]
at = "10s"
kind = "nonce_gap"
node = "v1"
"""
    result = run_text(body, duration="2m")
    rejected = [r for r in result.trace if r["event"] == "tx.rejected" and r["node"] == "v1"]
    assert rejected and rejected[0]["why"] == "nonce"
    assert result.summary["rebroadcasts"] == 0
    assert result.summary["resolutions_passed"] == 1
    passed = next(r for r in result.records.resolutions.values() if r.status == "passed")
    assert "v1" not in passed.voters



def test_a_lost_vote_is_withdrawn_with_the_senders_later_txs_leaving_no_gap() -> None:
    """Found by the campaign: v0 sent a vote (nonce 1) while catching up, then another on a
    new event (nonce 2). When the repair gives the first up as lost, the second cannot
    execute without it; kept, it sat behind a gap that the proposer's vote-bodies tx then
    filled, so it ran after the body and voted twice. Both go from every mempool, both votes
    are marked to be cast again, and the next vote takes nonce 1."""
    from types import SimpleNamespace

    from node.actor import BlockActor, OutstandingVote

    withdrawn: list[VoteIDs] = []
    marked: list[list[str]] = []
    traced: list[dict[str, object]] = []
    state = SimpleNamespace(nonce_of=lambda name: 0, is_processed=lambda rid: False)
    node = SimpleNamespace(
        name="v0", app=SimpleNamespace(state=state),
        host=SimpleNamespace(withdraw=withdrawn.append),
        settings=SimpleNamespace(bugs=(), rebroadcast_after=10, max_block_bytes=6 * 2**20),
        mark_rebroadcast=marked.append, trace=lambda event, **fields: traced.append(fields))
    actor = BlockActor(node)  # type: ignore[arg-type]
    first, second = vote("v0", 1), vote("v0", 2)
    for at, tx in enumerate((first, second)):
        actor.mempool.admit(tx, float(at))
    actor.outstanding = [OutstandingVote(first, 70), OutstandingVote(second, 81)]

    actor._repair_lost_votes(79)
    assert actor.mempool.of_sender("v0") == [first, second]  # not lost yet

    actor._repair_lost_votes(86)  # 16 blocks after the first, 5 after the second
    assert actor.mempool.of_sender("v0") == [] and withdrawn == [first, second]
    assert sorted(marked) == [["id-1"], ["id-2"]]
    assert actor.outstanding == [] and actor.pending_nonce() == 0
    assert traced == [{"nonce": 2, "kind": "VoteIDs", "why": "gap"}]
