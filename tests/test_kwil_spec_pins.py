"""kwil behaviours of kwil.md (§3, §5 and both §7 sections) that the simulator already follows
and no other test pins: each test states what kwil does and fails if the simulator stops."""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import pytest

import sim
from node.abci import Finalized, KwilApp
from node.actor import AfterCommit, BlockActor
from node.app import AppState
from node.behaviours import Behaviour
from node.blockresult import Rules as BlockRules
from node.eventstore import EventStore
from node.execute import BlockResult, Rules, execute_block
from node.mempool import Mempool
from node.protocols import protocol_flow
from node.resolutions import ResolutionConfig, ResolutionTypes
from node.txs import Approve, Block, Join, Leave, Remove, Tx, VoteBodies, VoteIDs, event_id, tx_fee

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


def app_of(name: str, genesis: AppState, *, gas: bool = False) -> KwilApp:
    store = EventStore(":memory:", lambda t: True, lambda rid: False)
    return KwilApp(name, rules(gas=gas), protocol_flow("kwil-0.7"), Behaviour(), store,
                   lambda pre, block: (pre, None, ""), genesis,  # type: ignore[arg-type,return-value]
                   max_block_bytes=1 << 20)


def votes_sent_after_commit(name: str, genesis: AppState, events: int) -> list[Tx]:
    """What node ``name``'s broadcaster sends after committing a block v0 proposed, with
    ``events`` unreceived events in its store: the real actor, app and store, a stub host."""
    app = app_of(name, genesis)
    for i in range(events):
        app.store.store(f"e{i}".encode(), "note")
    sent: list[Tx] = []
    node = SimpleNamespace(
        name=name, app=app, store=app.store, synced=True,
        settings=SimpleNamespace(bugs=(), gas=False, rebroadcast_after=10),
        host=SimpleNamespace(votes_sent=lambda ids: None, now=lambda: 0.0, gossip=sent.append),
        trace=lambda event, **fields: None, behaviour_context=lambda: None)
    actor = BlockActor(node)  # type: ignore[arg-type]
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
