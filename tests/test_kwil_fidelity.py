"""kwil 0.7.6 and 0.8.4 as their Go code behaves (a second reading of kwil-db's source).

Each test names the Go file and function whose behaviour it pins; each failed on the
simulator before it followed that code.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from node.abci import KwilApp
from node.app import AppState
from node.behaviours import Behaviour
from node.eventstore import EventStore
from node.execute import Rules, execute_block
from node.mempool import Mempool, assemble_block
from node.protocols import Flow07, protocol_flow
from node.resolutions import ResolutionConfig, ResolutionTypes
from node.txs import VALIDATOR_TX_FEE, VOTE_ID_FEE, Block, Join, Leave, Remove, VoteBodies, VoteIDs, event_id
from tests.worlds import burst_of_notes, one_note, run_text, trace_events, violations

NOTE = ResolutionConfig(expiration_period=10, refund_threshold=Fraction(1, 3))
TYPES = ResolutionTypes({"note": NOTE, "validator_join": ResolutionConfig(), "validator_remove": ResolutionConfig()})


def rules(protocol: str = "kwil-0.7", *, gas: bool = False, vote_expiry: int = 14400,
          bugs: frozenset[str] = frozenset(), types: ResolutionTypes = TYPES) -> Rules:
    return Rules(protocol, types, bugs, gas, vote_expiry=vote_expiry)


def run(pre: AppState, txs: list, r: Rules, proposer: str = "v0"):  # type: ignore[type-arg]
    block = Block(pre.height + 1, 0, proposer, 0.0, tuple(txs))
    return execute_block(pre, block, r, block.hash)


def validators(n: int = 4, **balances: int) -> AppState:
    return AppState(validators={f"v{i}": 1 for i in range(n)}, balances=dict(balances))


# -- votes -----------------------------------------------------------------------------------
def test_0_8_vote_ids_naming_a_missing_resolution_fail_whole() -> None:
    """0.8.4 txapp/routes.go validatorVoteIDsRoute.InTx: approveResolution errors on a missing
    resolution and the tx's nested transaction is rolled back, so none of its votes count
    (its nonce is still consumed)."""
    body = b"x"
    rid = event_id("note", body)
    pre, _ = run(validators(), [VoteBodies("v0", 1, (("note", body),))], rules("kwil-0.8"))
    post, result = run(pre, [VoteIDs("v1", 1, ((rid, "note"), ("no-such-id", "note")))], rules("kwil-0.8"),
                       proposer="v2")
    assert not result.txs[0].ok and "does not exist" in (result.txs[0].error or "")
    assert post.resolutions[rid].voters == ("v0",) and post.nonce_of("v1") == 1
    assert result.local == {} and result.votes == []


def test_0_8_vote_body_for_an_existing_resolution_counts_as_the_proposers_vote() -> None:
    """0.8.4 voting/sql.go createResolution is insert-if-absent: a second body from another
    proposer is no error and counts as that proposer's vote."""
    body = b"x"
    rid = event_id("note", body)
    pre, _ = run(validators(), [VoteBodies("v0", 1, (("note", body),))], rules("kwil-0.8"))
    post, result = run(pre, [VoteBodies("v1", 1, (("note", body),))], rules("kwil-0.8"), proposer="v1")
    assert result.txs[0].ok
    assert post.resolutions[rid].voters == ("v0", "v1") and post.resolutions[rid].body_proposer == "v0"


def test_0_7_vote_bodies_are_all_or_nothing() -> None:
    """0.7.6 voting/voting.go CreateResolution: a body for a resolution that already has one
    errors, and routes.go rolls the whole vote-bodies tx back."""
    pre, _ = run(validators(), [VoteBodies("v0", 1, (("note", b"a"),))], rules())
    post, result = run(pre, [VoteBodies("v1", 1, (("note", b"b"), ("note", b"a")))], rules(), proposer="v1")
    assert not result.txs[0].ok and "already has a body" in (result.txs[0].error or "")
    assert event_id("note", b"b") not in post.resolutions


def test_0_7_body_after_vote_ids_resets_the_expiry_and_refunds_the_extra_id_fee() -> None:
    """0.7.6 voting/sql.go upsertResolution sets the expiration to the body block + the
    type's period; voting.go CreateResolution notes that the proposer already voted the id,
    and txapp.go gives that vote-ids fee back to it on pass or refund."""
    body = b"x"
    rid = event_id("note", body)
    r = rules(gas=True, vote_expiry=500)
    pre = AppState(validators={"v0": 1, "v1": 1, "v2": 1}, balances={"v0": 10**9, "v1": 10**9, "v2": 10**9})
    s1, _ = run(pre, [VoteIDs("v0", 1, ((rid, "note"),))], r, proposer="v2")
    assert s1.resolutions[rid].expiration == 1 + 500  # a placeholder: vote_expiry
    s2, _ = run(s1, [VoteBodies("v0", 2, (("note", body),))], r, proposer="v0")
    assert s2.resolutions[rid].expiration == 2 + 10 and s2.resolutions[rid].proposer_voted_ids
    s3, result = run(s2, [VoteIDs("v1", 1, ((rid, "note"),))], r, proposer="v2")
    assert [o.status for o in result.outcomes] == ["passed"]
    # v0 paid one id and the body; it gets both back
    assert s3.balance_of("v0") == 10**9


def test_0_7_body_deletes_the_event_on_every_node_whose_validator_already_voted() -> None:
    """0.7.6 txapp/routes.go validatorVoteBodiesRoute: each node deletes the event when its
    own validator has voted on it (hasVoted), not only the proposer's node."""
    body = b"x"
    rid = event_id("note", body)
    s1, _ = run(validators(5), [VoteIDs("v1", 1, ((rid, "note"),)), VoteIDs("v2", 1, ((rid, "note"),))], rules(),
                proposer="v4")
    _s2, result = run(s1, [VoteBodies("v0", 1, (("note", body),))], rules())
    assert {node for node, effects in result.local.items() if ("delete", rid) in effects} == {"v0", "v1", "v2"}


def test_0_7_refund_threshold_counts_powers_after_this_blocks_resolve_functions() -> None:
    """0.7.6 txapp.go Finalize computes each expired resolution's refund threshold after the
    passed resolutions' resolve functions ran: a join passing in the same block raises it."""
    rid = event_id("note", b"x")
    powers = {"v0": 1, "v1": 1, "v2": 1}
    join = b"v9\x00" + b"6"
    join_id = event_id("validator_join", join)
    from node.app import Resolution

    pre = AppState(height=9, validators=dict(powers), resolutions={
        rid: Resolution(rid, "note", b"x", 10, ("v0",), "v0", 1),
        join_id: Resolution(join_id, "validator_join", join, 100, ("v0", "v1"), "v9", 1)})
    for protocol, refunded in (("kwil-0.7", False), ("kwil-0.8", True)):
        _post, result = run(pre, [], rules(protocol))
        expired = next(o for o in result.outcomes if o.id == rid)
        # 1 of 3 power reaches 1/3; 1 of 9 (after v9's join) does not
        assert expired.status == "expired" and expired.refunded is refunded


# -- the mempool and block assembly --------------------------------------------------------------
def test_block_assembly_stops_at_the_first_tx_that_does_not_fit() -> None:
    """0.7.6/0.8.4 abci.go prepareBlockTransactions: once a tx does not fit, no later tx is
    taken, even a smaller one from another sender."""
    big, small = VoteIDs("b", 1, tuple((f"id{i}", "note") for i in range(20))), VoteIDs("c", 1, (("x", "note"),))
    block = assemble_block("p", [], None, [big, small], small.size() + 10)
    assert block == []


def test_0_7_caps_bodies_at_50_before_dropping_those_with_a_body() -> None:
    """0.7.6 txapp.go ProposerTxs takes the first 50 stored events, then filters out those
    whose resolution has a body or is processed: fewer than 50 bodies although more wait."""
    store = EventStore(":memory:", lambda t: True, lambda rid: False)
    state = AppState(validators={"v0": 1})
    from node.app import Resolution

    for i in range(60):
        store.store(f"e{i}".encode(), "note")
    for i in range(10):  # the first ten already have bodies
        rid = event_id("note", f"e{i}".encode())
        state.resolutions[rid] = Resolution(rid, "note", b"body", 100, (), "v1", 1)
    picked = Flow07().body_candidates(store, state, TYPES)
    assert len(picked) == 40 and picked[0].data == b"e10"


def _app(protocol: str = "kwil-0.7", *, gas: bool = False, state: AppState | None = None) -> KwilApp:
    store = EventStore(":memory:", lambda t: True, lambda rid: False)
    genesis = state or validators()
    app = KwilApp("v0", rules(protocol, gas=gas), protocol_flow(protocol), Behaviour(), store,
                  lambda pre, block: (pre, None, ""), genesis, max_block_bytes=1 << 20)  # type: ignore[arg-type,return-value]
    return app


@pytest.mark.parametrize("protocol", ["kwil-0.7", "kwil-0.8"])
def test_process_proposal_rejects_gaps_and_foreign_bodies(protocol: str) -> None:
    """abci.go validateProposalTransactions: each sender's nonces must run from its committed
    nonce + 1 without a gap, and only the proposer may carry vote bodies; 0.8.4 also rejects
    a tx with more than max_votes_per_tx ids."""
    app = _app(protocol)
    assert app.validate_proposal("v1", (VoteIDs("v2", 1, (("a", "note"),)),))
    assert not app.validate_proposal("v1", (VoteIDs("v2", 2, (("a", "note"),)),))  # gap
    assert not app.validate_proposal("v1", (VoteBodies("v2", 1, (("note", b"x"),)),))  # not the proposer
    assert not app.validate_proposal("v9", (VoteIDs("v2", 1, (("a", "note"),)),))  # proposer not a validator
    assert app.validate_proposal("v9", ())
    huge = VoteIDs("v2", 1, tuple((f"id{i}", "note") for i in range(101)))
    assert app.validate_proposal("v1", (huge,)) is (protocol == "kwil-0.7")


def test_with_gas_an_unfunded_account_is_refused_by_the_mempool_and_adds_no_bodies() -> None:
    """0.7.6 txapp mempool and ProposerTxs: with gas on, an account with zero balance and zero
    nonce is refused, and a proposer in that state adds no vote bodies."""
    app = _app(gas=True, state=validators(v1=5))
    app.store.store(b"x", "note")
    assert app.check_tx(Leave("v2", 1), Mempool()).why == "balance"
    assert app.check_tx(Leave("v1", 1), Mempool()).ok
    assert app.prepare_proposal(1, Mempool()) == []  # v0 has nothing: no body


# -- validator txs and gas --------------------------------------------------------------------------
def test_remove_needs_no_validator_target_and_a_second_join_is_refused_whatever_its_power() -> None:
    """0.7.6/0.8.4 routes.go: validatorRemoveRoute does not check the target; validatorJoin
    is refused while the sender has any pending join."""
    post, result = run(validators(), [Remove("v1", 1, "v9"), Join("v7", 1, 1), Join("v7", 2, 5)], rules(),
                       proposer="v0")
    assert [o.ok for o in result.txs] == [True, True, False]
    assert "already pending" in (result.txs[2].error or "")
    assert event_id("validator_remove", b"v9") in post.resolutions


def test_gas_insufficient_balance_spends_it_and_skips_the_payload() -> None:
    """0.7.6 txapp.go checkAndSpend: a sender that cannot pay spends its whole balance, its
    payload does not run, and a balance never goes negative. Join, approve and leave cost
    10^13, remove 100,000 and a vote id 16,000."""
    post, result = run(validators(v1=VOTE_ID_FEE - 1, v2=VALIDATOR_TX_FEE), [
        VoteIDs("v1", 1, (("a", "note"),)), Leave("v2", 1)], rules(gas=True), proposer="v0")
    assert not result.txs[0].ok and "insufficient balance" in (result.txs[0].error or "")
    assert post.balance_of("v1") == 0 and "a" not in post.resolutions and post.nonce_of("v1") == 1
    assert result.txs[1].ok and post.balance_of("v2") == 0 and post.power_of("v2") == 0


# -- worlds -------------------------------------------------------------------------------------


def test_0_8_votes_come_only_for_resolutions_of_earlier_blocks() -> None:
    """0.8.4 abci.go FinalizeBlock runs the broadcaster before Commit, reading the event store
    through its own connection (voting/events.go, server/build.go): a resolution created at
    height H gets other validators' vote-ids in H+2 at the earliest, so it passes there."""
    for protocol, gap in (("kwil-0.8", 2), ("kwil-0.7", 1)):
        result = run_text(one_note(100), duration="40s", protocol=protocol)
        passed = next(r for r in result.records.resolutions.values() if r.status == "passed")
        assert passed.created_height is not None and passed.height is not None
        if protocol == "kwil-0.8":
            assert passed.height - passed.created_height == gap
        assert violations(result) == []


def test_resolve_error_halts_the_chain_under_the_switch() -> None:
    """0.7.6 txapp.go Finalize returns the resolve function's error, which fails the block:
    the chain halts (``resolve-error-halts``); corrected, the resolution passes with its
    changes rolled back (counted in ``resolve_errors``, not as cleanly passed)."""
    body = one_note(100).replace(
        "expiration_period = 100\n", 'expiration_period = 100\nresolve = "tests.listeners_for_tests:failing_resolve"\n')
    corrected = run_text(body, duration="40s")
    assert violations(corrected) == [] and corrected.summary["resolve_errors"] == 1
    assert [r.status for r in corrected.records.resolutions.values()] == ["passed"]
    halted = run_text(body, duration="40s", bugs=("resolve-error-halts",))
    assert violations(halted) == ["chain-halted"]
    explanation = halted.summary["violations"][0]["explanation"]
    assert "RuntimeError: cannot resolve" in explanation and "halted at height" in explanation
    assert trace_events(halted, "chain.halted")[0]["height"] == halted.summary["blocks"] + 1


def test_pass_at_expiry_halts_the_chain_under_the_switch() -> None:
    """0.8.4 txapp.go Finalize puts a resolution that reaches its threshold in its expiry
    block in both the passed and the expired lists; the second ``processed`` insert fails
    the block (voting/sql.go), so the chain halts (``pass-at-expiry-halts``)."""
    body = one_note(2)  # 0.8 votes arrive two blocks after the body
    corrected = run_text(body, duration="40s", protocol="kwil-0.8")
    assert violations(corrected) == [] and corrected.summary["resolutions_passed"] == 1
    halted = run_text(body, duration="40s", protocol="kwil-0.8", bugs=("pass-at-expiry-halts",))
    assert violations(halted) == ["chain-halted"]
    assert "passed in its expiry block" in halted.summary["violations"][0]["explanation"]


@pytest.mark.parametrize("protocol", ["kwil-0.7", "kwil-0.8"])
def test_broadcast_error_panics_the_voters_under_the_switch(protocol: str) -> None:
    """kwil's broadcaster returns CometBFT's refusal of its vote (here: 12 ids, larger than a
    block of 350 bytes, which holds the 12 bodies) as an error; FinalizeBlock fails with it and CometBFT panics, in both
    versions (``broadcast-error-panics``): every validator that votes in that block shuts
    down, and no-node-panic says so. Corrected, they carry on, refused block after block."""
    body = burst_of_notes(12)
    corrected = run_text(body, duration="1m", protocol=protocol, consensus="max_block_bytes = 350")
    assert violations(corrected) == [] and corrected.summary["node_shutdowns"] == 0
    assert len(trace_events(corrected, "tx.rejected", why="too large")) > 10
    panicked = run_text(body, duration="1m", protocol=protocol, consensus="max_block_bytes = 350",
                        bugs=("broadcast-error-panics",))
    found = panicked.summary["violations"]
    assert {v["invariant"] for v in found} == {"no-node-panic"} and len(found) >= 2  # half the power or more
    assert all("failed to broadcast events: too large" in v["explanation"] for v in found)
    assert panicked.summary["node_shutdowns"] == len(found)


class _FakeListenerNode:
    """Just enough of a node for a ListenerManager: it records traces and failures."""

    def __init__(self) -> None:
        self.store = EventStore(":memory:", lambda _type: True, lambda _id: False)
        self.traces: list[str] = []
        self.failures: list[BaseException] = []

    def trace(self, event: str, **fields: object) -> None:
        self.traces.append(event)

    def listener_service(self) -> object:
        return object()

    def listener_failed(self, failure: BaseException) -> None:
        self.failures.append(failure)

    def broadcast_event(self, event_type: str, data: bytes, listener: str) -> None:
        pass


@pytest.mark.parametrize("protocol", ["kwil-0.7", "kwil-0.8"])
def test_the_end_of_a_run_shuts_no_node_down(protocol: str) -> None:
    """The end of a run is not a kwil event: a listener that raises when the world cancels
    it at the end is traced as ignored, and no node is counted as shut down (it was, at the
    last instant, under both protocols)."""
    body = '[app.listeners]\ngrumpy = "tests.listeners_for_tests:complains_when_cancelled"\n'
    result = run_text(body, count=4, duration="1m", protocol=protocol)
    assert result.summary["node_shutdowns"] == 0 and result.summary["shutdown_errors"] == []
    ignored = trace_events(result, "listener.error_ignored")
    assert len(ignored) == 4 and {r["t"] for r in ignored} == {60.0}
    assert violations(result) == []


@pytest.mark.parametrize(("shuts_down", "failures"), [(True, 1), (False, 0)])
def test_a_listener_error_after_cancellation_shuts_down_only_under_0_7(shuts_down: bool, failures: int) -> None:
    """listeners/mgr.go: 0.7.6 shuts the node down when a listener returns an error after
    its context was cancelled; 0.8.4 ignores an error that follows the cancellation."""
    import trio
    import trio.testing

    from node.listeners import ListenerManager, ListenerRegistry

    async def complains_when_cancelled(service: object, store: object) -> None:
        try:
            await trio.sleep_forever()
        except trio.Cancelled:
            raise RuntimeError("context canceled") from None

    async def main(node: _FakeListenerNode) -> None:
        registry = ListenerRegistry()
        registry.register("grumpy", complains_when_cancelled)  # type: ignore[arg-type]
        manager = ListenerManager(node, registry, error_after_cancel_shuts_down=shuts_down)  # type: ignore[arg-type]
        async with trio.open_nursery() as nursery:
            manager.start(nursery)
            await trio.sleep(1)
            manager.stop("demoted")
        assert not manager.active and not manager.running

    node = _FakeListenerNode()
    trio.run(main, node, clock=trio.testing.MockClock(autojump_threshold=0))
    assert len(node.failures) == failures
    assert ("listener.error_ignored" in node.traces) is (not shuts_down)
