"""kwil behaviours of kwil.md (§3, §5 and both §7 sections) that the simulator already follows
and no other test pins: each test states what kwil does and fails if the simulator stops."""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import sim
from node import txs as tx_sizes
from node.abci import Finalized, KwilApp
from node.actor import BlockActor
from node.app import AppState
from node.behaviours import Behaviour
from node.blockresult import Rules as BlockRules
from node.eventstore import EventStore
from node.execute import BlockResult, Rules, execute_block
from node.mempool import Mempool, assemble_block
from node.messages import AfterCommit
from node.protocols import protocol_flow
from node.resolutions import ResolutionConfig, ResolutionTypes
from node.txs import Approve, Block, Join, Leave, Remove, Tx, UserTx, VoteBodies, VoteIDs, event_id, tx_fee

ROOT = Path(__file__).resolve().parent.parent
NOTE = ResolutionConfig(expiration_period=10, refund_threshold=Fraction(1, 3))
TYPES = ResolutionTypes({"note": NOTE, "validator_join": ResolutionConfig(), "validator_remove": ResolutionConfig()})


def rules(protocol: str = "kwil-0.7", *, gas: bool = False) -> Rules:
    return Rules(protocol, TYPES, frozenset(), gas)


def run(pre: AppState, txs: list[Tx], r: Rules, proposer: str = "v0") -> tuple[AppState, BlockResult]:
    block = Block(pre.height + 1, 0, proposer, 0.0, tuple(txs))
    return execute_block(pre, block, r, block.hash)


def validators(powers: tuple[int, ...] = (1, 1, 1, 1), **balances: int) -> AppState:
    return AppState(validators={f"v{i}": p for i, p in enumerate(powers)}, balances=dict(balances))


def app_of(name: str, genesis: AppState, *, gas: bool = False, protocol: str = "kwil-0.7") -> KwilApp:
    store = EventStore(":memory:", lambda t: True, lambda rid: False)
    return KwilApp(name, rules(protocol, gas=gas), protocol_flow(protocol), Behaviour(), store,
                   lambda pre, block: (pre, None, ""), genesis,  # type: ignore[arg-type,return-value]
                   max_block_bytes=1 << 20)


def votes_sent_after_commit(name: str, genesis: AppState, events: int, *, gas: bool = False,
                            max_block_bytes: int = 6 * 2**20, mempool_size: int | None = None,
                            app: KwilApp | None = None) -> list[Tx]:
    """What node ``name``'s broadcaster sends after committing a block v0 proposed, with
    ``events`` unreceived events in its store: the real actor, app and store, a stub host."""
    app = app or app_of(name, genesis, gas=gas)
    for i in range(events):
        app.store.store(f"e{i}".encode(), "note")
    sent: list[Tx] = []
    node = SimpleNamespace(
        name=name, app=app, store=app.store, synced=True,
        settings=SimpleNamespace(bugs=(), gas=gas, rebroadcast_after=10, max_block_bytes=max_block_bytes),
        host=SimpleNamespace(votes_sent=lambda ids: None, now=lambda: 0.0, gossip=sent.append),
        trace=lambda event, **fields: None, behaviour_context=lambda: None)
    actor = BlockActor(node)  # type: ignore[arg-type]
    if mempool_size is not None:
        actor.mempool.size = mempool_size
    block = Block(genesis.height + 1, 0, "v0", 0.0, ())
    actor._after_commit(AfterCommit(Finalized(block, genesis, genesis, BlockResult(), block.hash)))
    return sent


# -- §7 (tests list): the vote broadcaster -------------------------------------------------------
def test_broadcaster_sends_one_vote_ids_tx_per_block_only_from_a_validator_with_events() -> None:
    """kwil.md §7 (what kwil's tests assert), §3 kwil-0.7 flow: a validator with no unreceived
    events sends no vote-ids tx, nor does a non-validator with events; several events go in
    ONE vote-ids tx carrying the sender's next nonce.

    Unit level: in a world a non-validator runs no listeners, so its store stays empty and
    its ``is_validator`` check is never reached."""
    genesis = AppState(validators={f"v{i}": 1 for i in range(4)}, nonces={"v1": 4})
    assert votes_sent_after_commit("v1", genesis, events=0) == []
    assert votes_sent_after_commit("v4", genesis, events=3) == []
    sent = votes_sent_after_commit("v1", genesis, events=3)
    assert len(sent) == 1 and isinstance(sent[0], VoteIDs)
    assert sent[0].nonce == 5  # committed nonce 4, nothing pending
    assert sorted(sent[0].ids) == sorted(event_id("note", f"e{i}".encode()) for i in range(3))


@pytest.mark.parametrize("refused", ["too large", "full"])
def test_a_vote_the_mempool_itself_refuses_is_not_marked_broadcasted(refused: str) -> None:
    """CometBFT's BroadcastTxAsync returns its mempool's own refusals (full, or a tx larger
    than a block) as errors, and kwil's broadcaster returns before MarkBroadcasted (both
    versions; FinalizeBlock then fails and CometBFT panics, which the simulator corrects):
    the ids stay unbroadcasted, for the next block's vote to carry."""
    genesis = AppState(validators={f"v{i}": 1 for i in range(4)})
    app = app_of("v1", genesis)
    two_ids = tx_sizes.TX_BASE_BYTES + 2 * tx_sizes.VOTE_ID_BYTES
    room = {"max_block_bytes": two_ids} if refused == "too large" else {"mempool_size": 0}
    assert votes_sent_after_commit("v1", genesis, events=3, app=app, **room) == []  # type: ignore[arg-type]
    assert len(app.store.get_unreceived_events()) == 3
    assert len(votes_sent_after_commit("v1", genesis, events=0, app=app)) == 1  # a roomy mempool takes them


# -- §7 Corrections: votes -----------------------------------------------------------------------
def test_0_8_proposer_holding_the_threshold_alone_passes_in_the_body_block() -> None:
    """kwil.md §7 Corrections (0.8 vote timing): others' vote-ids reach a resolution created at
    H no sooner than H+2, unless the proposer alone holds the threshold: with powers
    {10, 1, 1, 1} the proposer's vote-bodies tx passes the resolution in block H itself."""
    rid = event_id("note", b"solo")
    post, result = run(validators((10, 1, 1, 1)), [VoteBodies("v0", 1, (("note", b"solo"),))], rules("kwil-0.8"))
    assert [(o.id, o.status, o.approved, o.required) for o in result.outcomes] == [(rid, "passed", 10, 9)]
    assert post.is_processed(rid) and rid not in post.resolutions


def test_0_8_vote_ids_naming_a_missing_resolution_still_pay_fee_and_nonce() -> None:
    """kwil.md §7 Corrections (0.8 vote-ids naming a missing resolution) and §3 Fees: the
    whole tx fails, none of its votes count, yet with gas on its nonce is consumed and its fee
    (16,000 per id) is charged."""
    bal = 10**9
    rid = event_id("note", b"x")
    pre, _ = run(validators(v0=bal, v1=bal, v2=bal, v3=bal), [VoteBodies("v0", 1, (("note", b"x"),))],
                 rules("kwil-0.8", gas=True))
    post, result = run(pre, [VoteIDs("v1", 1, ((rid, "note"), ("missing", "note")))], rules("kwil-0.8", gas=True),
                       proposer="v2")
    assert not result.txs[0].ok and "resolution missing does not exist" in (result.txs[0].error or "")
    assert post.nonce_of("v1") == 1
    assert bal - post.balance_of("v1") == 32_000  # 2 ids x 16,000
    assert post.resolutions[rid].voters == ("v0",) and result.votes == []


def test_0_7_vote_bodies_with_a_processed_id_fail_whole() -> None:
    """kwil.md §7 Corrections (0.7 vote bodies all-or-nothing): if any event of a vote-bodies tx
    is already processed, the whole tx fails ("... is already processed") and the tx's new
    body creates no resolution."""
    processed, new = event_id("note", b"p"), event_id("note", b"new")
    pre, _ = run(validators(), [VoteBodies("v0", 1, (("note", b"p"),)), VoteIDs("v1", 1, ((processed, "note"),)),
                                VoteIDs("v2", 1, ((processed, "note"),))], rules())
    assert pre.is_processed(processed)
    post, result = run(pre, [VoteBodies("v1", 2, (("note", b"new"), ("note", b"p")))], rules(), proposer="v1")
    assert not result.txs[0].ok
    assert result.txs[0].error == f"resolution {processed} is already processed"
    assert new not in post.resolutions and not post.is_processed(new)


def test_own_bad_nonce_vote_ids_marked_for_rebroadcast_only_on_recheck() -> None:
    """kwil.md §7 Corrections (rebroadcast only on recheck), §3 Rebroadcast: the broadcaster's
    MarkBroadcasted overwrites the mark a first CheckTx makes, so an own vote-ids tx with a bad
    nonce rejected at its first check leaves no rebroadcast mark; a rejection on recheck marks
    its ids for rebroadcast."""
    app = app_of("v1", validators((1, 1)))
    marks: list[list[str]] = []
    app.on_rebroadcast = marks.append
    bad = VoteIDs("v1", 5, (("id1", "note"),))
    assert app.check_tx(bad, Mempool()).why == "nonce"
    assert marks == []
    assert app.check_tx(bad, Mempool(), recheck=True).why == "nonce"
    assert marks == [["id1"]]


# -- §7 Corrections: gas -------------------------------------------------------------------------
def test_validator_tx_gas_prices_are_kwils_literal_numbers() -> None:
    """kwil.md §7 Corrections (validator txs): with gas on, a remove costs 100,000; a join, an
    approve and a leave cost 10^13 each (routes.go). The numbers are written out here: other
    tests import the constants, so a wrong constant would pass them."""
    assert tx_fee(Remove("v0", 1, "v1")) == 100_000
    assert tx_fee(Join("x", 1, 1)) == 10_000_000_000_000
    assert tx_fee(Approve("v0", 1, "x")) == 10_000_000_000_000
    assert tx_fee(Leave("v0", 1)) == 10_000_000_000_000


def test_prepare_proposal_leaves_out_an_unfunded_senders_tx_already_in_the_mempool() -> None:
    """kwil.md §7 Corrections (gas, insufficient balance): with gas on, PrepareProposal refuses
    an account with zero balance and zero nonce, even when its tx is already in the mempool
    (admitted before its balance went); the funded sender's tx is proposed."""
    genesis = validators(v0=10**9, v1=10**9)
    mempool = Mempool()
    funded, unfunded = VoteIDs("v1", 1, (("a", "note"),)), VoteIDs("v2", 1, (("a", "note"),))
    mempool.admit(funded, 0.0)
    mempool.admit(unfunded, 0.0)
    assert app_of("v0", genesis, gas=False).prepare_proposal(1, mempool) == [funded, unfunded]
    assert app_of("v0", genesis, gas=True).prepare_proposal(1, mempool) == [funded]


# -- §7 Corrections: placeholder expiry ---------------------------------------------------------
def test_vote_expiry_defaults_to_14400_blocks() -> None:
    """kwil.md §7 Corrections (placeholder expiry), §3: a placeholder created by vote-ids before
    any body expires after the genesis parameter ``vote_expiry``, 14400 blocks by default: a
    scenario that does not set it gets 14400, as do the node's rules."""
    scenario = sim.parse_scenario('[scenario]\nname = "t"\nduration = "1m"\n', file="t.toml")
    assert scenario.consensus.vote_expiry == 14400
    assert BlockRules("kwil-0.7", TYPES).vote_expiry == 14400


# -- §7 Corrections: a halted chain --------------------------------------------------------------
@pytest.mark.parametrize(("teeth", "cause"), [
    ("pass-at-expiry-halts", "passed in its expiry block and was marked processed twice"),
    ("resolve-error-halts", "resolve function of note"),
])
def test_halted_chain_is_exit_status_1_and_a_violation_not_a_crash(tmp_path: Path, teeth: str, cause: str) -> None:
    """kwil.md §7 Corrections (resolve-function failure): under ``pass-at-expiry-halts`` (0.8)
    and ``resolve-error-halts`` (0.7) a block fails and the chain halts; that is an outcome
    shown by the exit status (1) and a ``chain-halted`` violation naming the height and the
    cause, never a crash of the tool."""
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "sim.cli", "run", f"tests/data/teeth/{teeth}.toml",
                           "--out", str(out)], capture_output=True, text=True, cwd=ROOT, check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "violation chain-halted" in proc.stdout and "nodes=:" not in proc.stdout  # (no empty list)
    assert "the chain halted at height 4: " in proc.stdout and cause in proc.stdout
    violations = json.loads((out / "summary.json").read_text())["violations"]
    assert [v["invariant"] for v in violations] == ["chain-halted"]
    assert violations[0]["explanation"].startswith("the chain halted at height 4: ")


# -- §3: votes and end-block ----------------------------------------------------------------------
def test_votes_count_with_the_voters_current_power() -> None:
    """kwil.md §3: a resolution's approval is the sum of its voters' CURRENT powers, read at
    each end-block, not their powers when they voted: 2 of 4 unit votes do not pass, but once
    v1's power rises 1 -> 4 (total 7, 2/3 needs 5) the same 2 votes pass with 5."""
    rid = event_id("note", b"p")
    pre, result = run(validators(), [VoteBodies("v0", 1, (("note", b"p"),)), VoteIDs("v1", 1, ((rid, "note"),))],
                      rules())
    assert result.outcomes == [] and pre.resolutions[rid].voters == ("v0", "v1")
    block = Block(pre.height + 1, 0, "v0", 0.0, (), (("v1", 4),))
    _, result = execute_block(pre, block, rules(), block.hash)
    assert [(o.id, o.status, o.approved, o.required) for o in result.outcomes] == [(rid, "passed", 5, 5)]


def test_removing_a_validator_deletes_its_votes() -> None:
    """kwil.md §3: when a validator's power goes to 0 (here it leaves) its votes are deleted
    from every open resolution."""
    rid = event_id("note", b"q")
    pre, _ = run(validators((1,) * 6), [VoteBodies("v0", 1, (("note", b"q"),)), VoteIDs("v1", 1, ((rid, "note"),))],
                 rules())
    assert pre.resolutions[rid].voters == ("v0", "v1")
    post, _ = run(pre, [Leave("v1", 2)], rules(), proposer="v2")
    assert post.power_of("v1") == 0 and post.resolutions[rid].voters == ("v0",)


_resolved: list[tuple[str, str]] = []


def _writes_then_fails(ctx: Any) -> None:
    _resolved.append(("a_type", ctx.resolution_id))
    ctx.state.put("a-wrote", b"1")
    ctx.state.credit("acct", 5)
    raise RuntimeError("boom")


def _writes_ok(ctx: Any) -> None:
    _resolved.append(("b_type", ctx.resolution_id))
    ctx.state.put("b-wrote/" + ctx.resolution_id, b"1")


def _pass_a_and_two_b() -> tuple[AppState, BlockResult, list[str]]:
    """One ``a_type`` (its resolve function writes, then raises) and two ``b_type`` events
    (theirs write), all passing in one block; bodies listed b, a, b."""
    types = ResolutionTypes({"a_type": ResolutionConfig(resolve_func=_writes_then_fails),
                             "b_type": ResolutionConfig(resolve_func=_writes_ok)})
    events = (("b_type", b"2"), ("a_type", b"1"), ("b_type", b"1"))
    votes = tuple((event_id(t, d), t) for t, d in events)
    _resolved.clear()
    post, result = run(validators(), [VoteBodies("v0", 1, events), VoteIDs("v1", 1, votes), VoteIDs("v2", 1, votes)],
                       Rules("kwil-0.7", types, frozenset(), False))
    return post, result, [rid for rid, _ in votes]


def test_end_block_resolves_types_by_name_then_ids_in_order() -> None:
    """kwil.md §3 (end-block): passed resolutions are resolved type by type, types sorted by
    name, and within a type in id order."""
    _, _, (b2, a1, b1) = _pass_a_and_two_b()
    assert _resolved == [("a_type", a1)] + sorted([("b_type", b1), ("b_type", b2)])


def test_a_resolve_error_rolls_back_only_that_resolution() -> None:
    """kwil.md §3: a resolve function's error rolls back only its own changes (its write and
    credit vanish); the resolution is still removed and marked processed, and the other
    resolutions' writes in the same block stay."""
    post, result, (b2, a1, b1) = _pass_a_and_two_b()
    assert [(o.id, o.error) for o in result.outcomes if o.type == "a_type"] == [(a1, "RuntimeError: boom")]
    assert post.kv.get("a-wrote") is None and post.balance_of("acct") == 0
    assert post.is_processed(a1) and a1 not in post.resolutions
    assert post.kv.get("b-wrote/" + b1) == b"1" and post.kv.get("b-wrote/" + b2) == b"1"


def test_vote_bodies_cost_1000_per_body_byte_with_gas_on() -> None:
    """kwil.md §3 Fees: with gas on, a vote-bodies tx costs 1,000 per byte of its bodies: a
    5-byte body costs 5,000 (written out, not imported)."""
    tx = VoteBodies("v0", 1, (("note", b"12345"),))
    assert tx_fee(tx) == 5_000
    post, _ = run(validators(v0=10**9), [tx], rules(gas=True))
    assert 10**9 - post.balance_of("v0") == 5_000


def test_0_7_vote_ids_tx_carries_at_most_100_ids() -> None:
    """kwil.md §3 (kwil 0.7 flow): a validator's vote-ids tx names at most 100 ids; with 150
    unreceived events it sends one tx of 100."""
    sent = votes_sent_after_commit("v1", validators(), events=150)
    assert [len(tx.ids) for tx in sent if isinstance(tx, VoteIDs)] == [100] and len(sent) == 1


def test_gas_on_validator_skips_vote_ids_it_cannot_pay_for() -> None:
    """kwil.md §3 Fees: with gas on, a validator does not send its vote-ids tx when its balance
    is below the fee (3 ids x 16,000 = 48,000): 47,999 sends nothing, 48,000 sends it."""
    assert votes_sent_after_commit("v1", validators(v1=47_999), events=3, gas=True) == []
    sent = votes_sent_after_commit("v1", validators(v1=48_000), events=3, gas=True)
    assert len(sent) == 1 and isinstance(sent[0], VoteIDs) and len(sent[0].ids) == 3


def test_0_8_proposer_includes_up_to_100_bodies() -> None:
    """kwil.md §3 (kwil 0.8 flow): the proposer's vote-bodies tx carries at most 100 bodies;
    with 150 events in its store it proposes 100."""
    app = app_of("v0", validators(), protocol="kwil-0.8")
    for i in range(150):
        app.store.store(f"e{i}".encode(), "note")
    txs = app.prepare_proposal(1, Mempool())
    assert [len(tx.events) for tx in txs if isinstance(tx, VoteBodies)] == [100]


def test_0_8_passed_and_expired_resolutions_delete_the_event_everywhere() -> None:
    """kwil.md §3 (kwil 0.8): a resolution that passes or expires deletes its event from every
    node's store (the block result lists its id); kwil 0.7 deletes nothing that way."""
    rid = event_id("note", b"e")
    for protocol, expect in (("kwil-0.8", [rid]), ("kwil-0.7", [])):
        pre, _ = run(validators(), [VoteBodies("v0", 1, (("note", b"e"),))], rules(protocol))
        _, result = run(pre, [VoteIDs("v1", 1, ((rid, "note"),)), VoteIDs("v2", 1, ((rid, "note"),))],
                        rules(protocol))
        assert [o.status for o in result.outcomes] == ["passed"] and result.delete_everywhere == expect
    state, _ = run(validators(), [VoteBodies("v0", 1, (("note", b"e"),))], rules("kwil-0.8"))
    deleted: list[str] = []
    for _ in range(NOTE.expiration_period):
        state, result = run(state, [], rules("kwil-0.8"))
        deleted += result.delete_everywhere
    assert rid not in state.resolutions and deleted == [rid]


# -- §4, §5: proposals ----------------------------------------------------------------------------
def test_proposer_no_longer_a_validator_proposes_an_empty_block() -> None:
    """kwil.md §4: a proposer that is no longer a validator proposes an empty block, leaving
    out both the mempool's txs and its own vote bodies."""
    mempool = Mempool()
    mempool.admit(VoteIDs("v1", 1, (("a", "note"),)), 0.0)
    apps = {name: app_of(name, validators()) for name in ("v0", "v9")}
    for app in apps.values():
        app.store.store(b"x", "note")
    assert len(apps["v0"].prepare_proposal(1, mempool)) == 2
    assert apps["v9"].prepare_proposal(1, mempool) == []


def test_block_assembly_drops_a_repeated_nonce_from_the_same_sender() -> None:
    """kwil.md §5 (PrepareProposal): each sender's txs are sorted by nonce in place, then a tx
    repeating its predecessor's nonce from the same sender is dropped (the first one stays)."""
    a1, a1_again, a2, c1 = UserTx("a", 1, 100, serial=1), UserTx("a", 1, 100, serial=2), UserTx("a", 2, 100), \
        UserTx("c", 1, 100)
    assert assemble_block("p", [], None, [a2, a1, a1_again, c1], 10**6) == [a1, a2, c1]


# -- §1: listeners -------------------------------------------------------------------------------
async def returns_at_once(service: Any, eventstore: Any) -> None:
    """A listener that logs its start and returns (None) at once."""
    service.log("ret.start")


def test_a_listener_that_returns_is_not_restarted_until_demoted_and_promoted() -> None:
    """kwil.md §1: a listener that returns without error is over; kwil does not restart it
    while its node stays a validator, only when the node's listeners start again after a
    demotion and a promotion."""
    from tests.worlds import run_text, trace_events, violations
    body = ('[app.listeners]\nret = "tests.test_kwil_spec_pins:returns_at_once"\n'
            '[[faults]]\nat = "10s"\nkind = "demote"\nnode = "v3"\n'
            '[[faults]]\nat = "20s"\nkind = "promote"\nnode = "v3"\n')
    result = run_text(body, duration="30s", protocol="kwil-0.8")
    assert violations(result) == []
    starts = {n: [r["t"] for r in trace_events(result, "ret.start", node=n)] for n in ("v0", "v3")}
    assert starts["v0"] == [0.0]
    assert len(starts["v3"]) == 2 and starts["v3"][0] == 0.0 and 20.0 <= starts["v3"][1] < 25.0
