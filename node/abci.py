"""kwil's block side as CometBFT drives it: the ABCI application of one node.

The stages carry CometBFT's names so they can be read beside kwil's ``internal/abci``:

- ``check_tx``: mempool admission (new txs) and recheck (after a commit);
- ``prepare_proposal``: the proposer builds its block from its mempool;
- ``process_proposal``: a validator accepts or rejects a proposal (a reject is a nil prevote);
- ``finalize_block``: execute the block's txs and end-block resolution processing
  (``node.execute``, a pure function of state and block);
- ``commit``: adopt the new state and apply this node's own event-store effects atomically.

The app holds the committed application state; the mempool it checks txs against belongs to
the node's mempool/block actor (``node.actor``), which calls these stages in order.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from node.app import AppState
from node.behaviours import Behaviour, BehaviourContext
from node.eventstore import EventStore
from node.execute import PROTOCOL_08, BlockResult, Rules
from node.mempool import Mempool, admissible_run, assemble_block
from node.protocols import ProtocolFlow
from node.txs import Block, Tx, VoteBodies, VoteIDs


@attrs.frozen
class CheckResult:
    """What ``check_tx`` said of a tx: admitted, or rejected and why."""

    ok: bool
    why: str | None = None  # "nonce" | "duplicate"
    detail: str = ""


ACCEPTED = CheckResult(True)


@attrs.define(eq=False)
class Finalized:
    """``finalize_block``'s answer: the state after the block and what each tx did.

    Read-only by use; not ``frozen``, whose checked ``__init__`` costs three times as much
    and runs once per node per block."""

    block: Block
    pre_state: AppState
    state: AppState
    result: BlockResult
    block_hash: str


# (pre-state, block) -> (state, result, block hash): execution shared by every node that
# commits the same block on the same state (the world memoizes it).
Executor = Callable[[AppState, Block], tuple[AppState, BlockResult, str]]


class KwilApp:
    """One node's ABCI application: committed state plus the five lifecycle stages."""

    def __init__(self, name: str, rules: Rules, flow: ProtocolFlow, behaviour: Behaviour,
                 store: EventStore, execute: Executor, genesis: AppState, *,
                 max_block_bytes: int, max_votes_per_tx: int = 100) -> None:
        self.name = name
        self.rules = rules
        self.flow = flow
        self.behaviour = behaviour
        self.store = store
        self._execute = execute
        self.state = genesis
        self.max_block_bytes = max_block_bytes
        self.max_votes_per_tx = max_votes_per_tx
        # set by the node: what a behaviour hook may see and do
        self.behaviour_context: Callable[[], BehaviourContext] | None = None
        # set by the node: called when a check marks ids for rebroadcast on this node
        self.on_rebroadcast: Callable[[list[str]], None] = lambda ids: None

    @property
    def height(self) -> int:
        return self.state.height

    @property
    def is_validator(self) -> bool:
        return self.state.validators.get(self.name, 0) > 0  # power_of, a call fewer: asked ~20 times a block

    # -- mempool connection --------------------------------------------------------------
    def check_tx(self, tx: Tx, mempool: Mempool, *, recheck: bool = False) -> CheckResult:
        """kwil's CheckTx: a new tx must not be a duplicate, and its nonce must be exactly the
        sender's pending nonce + 1 (no gap buffer). A vote-ids tx rejected for its nonce marks
        its ids for rebroadcast on the sender's own node (and, under ``rebroadcast-any-sender``,
        on every node that has them)."""
        if not recheck and mempool.seen(tx):
            return CheckResult(False, "duplicate", "tx already in the mempool cache")
        if self.rules.gas and self.unfunded(tx.sender):
            return CheckResult(False, "balance", "an account with no balance and no nonce")
        expected = mempool.pending_nonce(tx.sender, self.state.nonce_of(tx.sender)) + 1
        if tx.nonce != expected:
            if isinstance(tx, VoteIDs):
                self._nonce_rejected_votes(tx, recheck)
            return CheckResult(False, "nonce", f"nonce {tx.nonce}, expected {expected}")
        return ACCEPTED

    def _nonce_rejected_votes(self, tx: VoteIDs, recheck: bool) -> None:
        if tx.sender == self.name:
            # On the first check of its own vote kwil marks the ids for rebroadcast, but the
            # broadcaster's MarkBroadcasted right after overwrites it (broadcast.go): only a
            # recheck's mark lasts, so only that one is made here.
            if recheck:
                self.on_rebroadcast(list(tx.ids))
        elif "rebroadcast-any-sender" in self.rules.bugs:
            mine = [rid for rid in tx.ids if self.store.has_event(rid)]
            if mine:
                self.on_rebroadcast(mine)

    # -- consensus connection ------------------------------------------------------------
    def prepare_proposal(self, height: int, mempool: Mempool) -> list[Tx]:
        """kwil's PrepareProposal: the proposer's own txs, its vote-bodies tx, then everyone
        else's, in nonce order per sender, cut at ``max_block_bytes``. A proposer that is no
        longer a validator proposes an empty block."""
        if not self.is_validator:
            return []
        committed = self.state.nonce_of(self.name)
        own = admissible_run(committed, mempool.of_sender(self.name))
        bodies = None if self.rules.gas and self.unfunded(self.name) else self._vote_bodies(committed + len(own) + 1)
        others = [tx for tx in mempool if tx.sender != self.name
                  and not (self.rules.gas and self.unfunded(tx.sender))]
        txs = assemble_block(self.name, own, bodies, others, self.max_block_bytes)
        if self.behaviour.overrides("prepare_proposal"):
            txs = self.behaviour.prepare_proposal(self._context(), txs)
        return txs

    def unfunded(self, account: str) -> bool:
        """With gas on, kwil refuses txs of an account with no balance and no nonce yet (its
        mempool and PrepareProposal), and such a proposer adds no vote bodies."""
        return self.state.balance_of(account) == 0 and self.state.nonce_of(account) == 0

    def _vote_bodies(self, nonce: int) -> VoteBodies | None:
        picked = self.flow.body_candidates(self.store, self.state, self.rules.types)
        bodies = VoteBodies(self.name, nonce, tuple((e.event_type, e.data) for e in picked)) if picked else None
        if self.behaviour.overrides("vote_bodies"):
            bodies = self.behaviour.vote_bodies(self._context(), bodies)
        return bodies

    def process_proposal(self, proposer: str, txs: tuple[Tx, ...], *,
                         shared: dict[str, bool] | None = None) -> bool:
        """kwil's ProcessProposal, then this validator's behaviour: reject a proposal with a
        nonce gap for any sender, a vote-bodies tx not sent by the proposer, (0.8) more than
        ``max_votes_per_tx`` ids or bodies in one tx, or txs from a proposer that is not a
        validator.

        The honest verdict is a pure function of the committed state and the proposal, so
        validators that committed the same state share it: ``shared`` maps a state hash to
        the verdict already reached on it for this proposal."""
        if shared is None:
            accept = self.validate_proposal(proposer, txs)
        else:
            known = shared.get(self.state.hash)
            accept = self.validate_proposal(proposer, txs) if known is None else known
            shared[self.state.hash] = accept
        if not self.behaviour.overrides("process_proposal"):
            return accept
        return self.behaviour.process_proposal(self._context(), proposer, txs, accept)

    def validate_proposal(self, proposer: str, txs: tuple[Tx, ...]) -> bool:
        """The honest verdict alone (a pure function of the committed state and the block)."""
        if self.state.power_of(proposer) <= 0:
            return not txs
        expected: dict[str, int] = {}
        for tx in txs:
            nonce = expected.get(tx.sender, self.state.nonce_of(tx.sender) + 1)
            if tx.nonce != nonce:
                return False
            expected[tx.sender] = nonce + 1
            if isinstance(tx, VoteBodies) and tx.sender != proposer:
                return False
            if self.rules.protocol == PROTOCOL_08:
                count = len(tx.votes) if isinstance(tx, VoteIDs) else \
                    len(tx.events) if isinstance(tx, VoteBodies) else 0
                if count > self.max_votes_per_tx:
                    return False
        return True

    def finalize_block(self, block: Block) -> Finalized:
        """kwil's FinalizeBlock: execute every tx, then end-block resolution processing."""
        state, result, block_hash = self._execute(self.state, block)
        return Finalized(block, self.state, state, result, block_hash)

    def commit(self, finalized: Finalized) -> None:
        """kwil's Commit: the new state becomes this node's, and the block's effects on this
        node's own event store (events its validator voted on, and in 0.8 every passed or
        expired resolution's event) are applied in one store transaction."""
        result = finalized.result
        self.store.apply_block_effects(finalized.block.height, result.local.get(self.name, []),
                                       result.delete_everywhere)
        self.state = finalized.state

    def _context(self) -> BehaviourContext:
        assert self.behaviour_context is not None, "the node sets behaviour_context"
        return self.behaviour_context()
