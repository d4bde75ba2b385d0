"""Block execution (votes, resolutions, validator txs, kwil's own assertions), without a world."""

from __future__ import annotations

from fractions import Fraction

import pytest

from node.app import AppState
from node.execute import Rules, execute_block
from node.resolutions import ResolutionConfig, ResolutionTypes, required_power
from node.txs import Approve, Block, Join, VoteBodies, VoteIDs, event_id


def rules(protocol: str = "kwil-0.7", expiry: int = 10, bugs: frozenset[str] = frozenset(),
          gas: bool = False) -> Rules:
    types = ResolutionTypes({"note": ResolutionConfig(expiration_period=expiry, refund_threshold=Fraction(1, 3)),
                             "validator_join": ResolutionConfig(),
                             "validator_remove": ResolutionConfig()})
    return Rules(protocol, types, bugs, gas)


def state(powers: dict[str, int]) -> AppState:
    return AppState(validators=dict(powers))


def run(pre: AppState, txs: list, r: Rules, proposer: str = "v0", height: int | None = None):
    block = Block(height if height is not None else pre.height + 1, 0, proposer, 0.0, tuple(txs))
    return execute_block(pre, block, r, block.hash)


@pytest.mark.parametrize(("total", "needed"), [(3, 2), (4, 3), (5, 4), (10, 7), (200, 134)])
def test_required_power_is_ceil_of_total_times_two_thirds(total: int, needed: int) -> None:
    assert required_power(total, Fraction(2, 3)) == needed


def test_two_approvals_of_power_100_count_200() -> None:
    pre = state({"a": 100, "b": 100, "c": 100})
    post, _ = run(pre, [VoteIDs("a", 1, (("r1", "note"),)), VoteIDs("b", 1, (("r1", "note"),))],
                  rules(), proposer="c")
    assert post.approved_power(post.resolutions["r1"]) == 200


def test_approving_a_missing_resolution_fails_under_0_8() -> None:
    _post, result = run(state({"a": 1, "b": 1}), [VoteIDs("a", 1, (("r1", "note"),))],
                        rules("kwil-0.8"), proposer="b")
    assert "does not exist" in (result.txs[0].error or "")


def test_vote_ids_local_delete_or_receive_and_non_validator_rejected() -> None:
    body = b"deposit"
    rid = event_id("note", body)
    pre = state({"v0": 1, "v1": 1, "v2": 1, "v3": 1})
    post, result = run(pre, [VoteIDs("v1", 1, ((rid, "note"),))], rules())
    assert result.local == {"v1": [("received", rid)]}  # no body yet: mark received
    post, result = run(post, [VoteBodies("v0", 1, (("note", body),)), VoteIDs("v2", 1, ((rid, "note"),))],
                       rules())
    assert ("delete", rid) in result.local["v2"] and ("delete", rid) in result.local["v0"]
    assert "v3" not in result.local
    _post, result = run(post, [VoteIDs("x", 1, ((rid, "note"),))], rules())
    assert result.txs[0].error == "vote ids from a non-validator"


def test_vote_bodies_from_a_non_proposer_are_rejected() -> None:
    _post, result = run(state({"v0": 1, "v1": 1}), [VoteBodies("v1", 1, (("note", b"x"),))], rules())
    assert "not the block's proposer" in (result.txs[0].error or "")


def test_resolution_passes_at_threshold_and_is_processed_once() -> None:
    body = b"x"
    rid = event_id("note", body)
    pre = state({"v0": 1, "v1": 1, "v2": 1, "v3": 1})
    post, result = run(pre, [VoteBodies("v0", 1, (("note", body),)),
                             VoteIDs("v1", 1, ((rid, "note"),)), VoteIDs("v2", 1, ((rid, "note"),))], rules())
    assert [o.status for o in result.outcomes] == ["passed"]
    assert post.is_processed(rid) and rid not in post.resolutions
    post2, result = run(post, [VoteIDs("v3", 1, ((rid, "note"),))], rules())
    assert result.outcomes == [] and ("delete", rid) in result.local["v3"]


def test_expiration_equal_to_height_expires_and_refund_follows_the_threshold() -> None:
    pre = state({"v0": 1, "v1": 1, "v2": 1})
    post, _ = run(pre, [VoteBodies("v0", 1, (("note", b"x"),))], rules(expiry=2))  # expires at 3
    post, result = run(post, [], rules(expiry=2))
    assert result.outcomes == []
    post, result = run(post, [], rules(expiry=2))
    assert [(o.status, o.refunded) for o in result.outcomes] == [("expired", True)]  # 1 >= ceil(3/3)


def test_refund_first_expired_defect_refunds_without_votes() -> None:
    pre = state({"v0": 1, "v1": 1, "v2": 1})
    # a proposer that is no longer a validator gives the body but no vote
    r_ok, r_bug = rules(expiry=1), rules(expiry=1, bugs=frozenset({"refund-first-expired"}))
    post, _ = run(pre, [VoteBodies("gone", 1, (("note", b"x"),))], r_ok, proposer="gone")
    _, fixed = run(post, [], r_ok)
    _, buggy = run(post, [], r_bug)
    assert [(o.status, o.approved, o.refunded) for o in fixed.outcomes] == [("expired", 0, False)]
    assert [(o.status, o.refunded) for o in buggy.outcomes] == [("expired", True)]


def test_strict_sequential_nonces() -> None:
    pre = state({"v0": 1, "v1": 1})
    post, result = run(pre, [VoteIDs("v1", 2, (("r", "note"),))], rules())
    assert result.txs[0].error == "nonce 2, expected 1" and post.nonce_of("v1") == 0


def test_join_needs_two_thirds_of_approvals() -> None:
    pre = state({"v0": 1, "v1": 1, "v2": 1})
    post, _ = run(pre, [Join("v3", 1, 1), Approve("v0", 1, "v3")], rules())
    assert post.power_of("v3") == 0
    post, result = run(post, [Approve("v1", 1, "v3")], rules())
    assert post.power_of("v3") == 1 and result.validator_updates == [("v3", 1)]
    _, result = run(post, [Approve("v3", 2, "v3")], rules())
    assert "own join" in (result.txs[0].error or "")


@pytest.mark.parametrize("proposer", ["v0", "node-ä\"\\x", ""])
@pytest.mark.parametrize("txs", [(), (VoteIDs("a", 1, (("r1", "note"),)),)])
def test_a_block_hash_is_the_sha256_of_its_canonical_json(proposer: str, txs: tuple) -> None:
    """The hash of a block (empty ones take a shortcut) is that of its canonical JSON text:
    changing either changes every trace hash."""
    import hashlib
    import json

    from node.txs import tx_record

    block = Block(17, 0, proposer, 2.5, txs)
    text = json.dumps([17, proposer, [tx_record(t) for t in txs], []], sort_keys=True, separators=(",", ":"))
    assert block.hash == hashlib.sha256(text.encode()).hexdigest()


def test_an_empty_block_seals_the_state_with_the_json_of_no_writes() -> None:
    import hashlib

    pre = state({"a": 1})
    post, _ = run(pre, [], rules(), proposer="a")
    block = Block(1, 0, "a", 0.0, ())
    assert post.hash == hashlib.sha256(f"{pre.hash}|{block.hash}|[]".encode()).hexdigest()


def test_each_vote_is_written_as_that_one_vote(monkeypatch: pytest.MonkeyPatch) -> None:
    """A block of a thousand validators' votes on one event writes about a thousand short
    records, not the whole list of voters again at every vote: that was quadratic in the
    voters (~5 MB of writes to hash for one such block, most of a 1,000-validator run)."""
    from node.app import StateChanges

    written: list[int] = []
    seal = StateChanges.seal

    def measured(self: StateChanges, block_hash: str) -> None:
        written.append(len(repr(self.writes)))
        seal(self, block_hash)

    monkeypatch.setattr(StateChanges, "seal", measured)
    names = [f"v{i}" for i in range(1000)]
    rid = event_id("note", b"x")
    post, result = run(state(dict.fromkeys(names, 1)), [VoteIDs(n, 1, ((rid, "note"),)) for n in names],
                       rules(), proposer="v0")
    assert post.resolutions[rid].voters == tuple(names)
    assert written[0] < 100 * len(names)


def test_votes_counted_once_and_the_state_hash_follows_who_voted() -> None:
    """A voter naming an id twice in one block counts once; the same votes give the same state
    hash, other voters another."""
    rid = event_id("note", b"x")
    pre = state({"a": 1, "b": 1, "c": 1, "d": 1, "e": 1})
    twice = [VoteIDs("a", 1, ((rid, "note"),)), VoteIDs("b", 1, ((rid, "note"),)), VoteIDs("a", 2, ((rid, "note"),))]
    post, _ = run(pre, twice, rules(), proposer="e")
    assert post.resolutions[rid].voters == ("a", "b") and post.approved_power(post.resolutions[rid]) == 2
    again, _ = run(pre, twice, rules(), proposer="e")
    other, _ = run(pre, [VoteIDs("a", 1, ((rid, "note"),)), VoteIDs("c", 1, ((rid, "note"),))], rules(), proposer="e")
    assert again.hash == post.hash != other.hash


def test_a_state_converts_its_tables_when_made_and_writes_its_fields_plainly() -> None:
    """Plain mappings given to a state become layered tables when it is made (and its clone
    holds the same items), while writing a field afterwards, as executing every block does for
    ``height`` and ``hash``, goes through no attrs hook (those hooks cost ~0.7% of a small
    world's run)."""
    from node.layered import LayeredTable

    made = AppState(processed={"a": 1}, kv={"k": b"v"})
    assert isinstance(made.processed, LayeredTable) and isinstance(made.kv, LayeredTable)
    assert dict(made.clone().processed) == {"a": 1}
    assert type(made).__setattr__ is object.__setattr__
    made.height = 7
    assert made.height == 7
