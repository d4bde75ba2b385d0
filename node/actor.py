"""The node's mempool/block actor: a trio task that owns the node's mempool and its votes.

The world hands a node what concerns it (txs that reached it over gossip, "propose round r of
height h", the work that follows a commit, an own tx to send) by posting messages to the
actor's mailbox. Messages posted at one virtual instant are handled as one batch, in the
order they were posted, when the actor next runs, which the kernel lets happen before virtual
time moves on; so a node pays one trio hop per instant it has work at, not one per message.
A crash cancels the node's nursery: the actor and its in-memory mempool vanish at once,
while the event store and the committed state stay.

What the actor does is kwil's node-side flow around the ABCI stages (``node.abci``):
admitting txs (``check_tx``), building proposals (``prepare_proposal``), and after each
commit: the mempool update and recheck, the vote broadcaster (one vote-ids tx per block on
a validator that did not propose it), the repair of lost votes, and the listeners' status.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

import attrs
import trio

from node.abci import CheckResult, Finalized, KwilApp
from node.behaviours import BehaviourContext
from node.blockresult import PROTOCOL_08
from node.eventstore import EventStore
from node.host import NO_EFFECT, NodeHost
from node.mempool import Mempool
from node.messages import AfterCommit, DropVote, ForgetTx, Message, Propose, SkipNonce, Submit, TxArrivals
from node.txs import Tx, VoteIDs


class ActorNode(Protocol):
    """What the actor uses of its node (``node.node.Node``)."""

    name: str
    host: NodeHost
    app: KwilApp
    store: EventStore
    settings: Any  # NodeSettings: bugs, gas, rebroadcast_after, max_block_bytes
    stats: Any  # NodeStats

    @property
    def synced(self) -> bool: ...
    def trace(self, event: str, **fields: Any) -> None: ...
    def mark_rebroadcast(self, ids: list[str]) -> None: ...
    def behaviour_context(self) -> BehaviourContext: ...
    def panic(self, error: str) -> None: ...




@attrs.define
class OutstandingVote:
    """A vote-ids tx this node sent and has not seen executed, and the height that sent it."""

    tx: VoteIDs
    height: int


class BlockActor:
    """The trio task that owns one node's mempool and outstanding votes."""

    def __init__(self, node: ActorNode) -> None:
        self.node = node
        self.mempool = Mempool(max_block_bytes=node.settings.max_block_bytes)
        # The votes this node sent and has not seen executed. Like the event store, this
        # record survives a crash (the corrected repair of lost votes relies on it).
        self.outstanding: list[OutstandingVote] = []
        self.skip_nonce = False
        self._inbox: deque[Message] = deque()
        self._wake: trio.Event | None = None
        self._drain_deferred = False
        self._failure: Exception | None = None
        self.open = False
        self._said_unfunded = False  # (``votes.skipped`` for a proposer that cannot pay, once)

    # -- the mailbox (called from world callbacks) ---------------------------------------
    def post(self, message: Message) -> None:
        """Queue ``message``; the actor handles it at this instant, after earlier ones.

        An idle actor (parked on an empty mailbox) does not need its task woken to handle
        messages: the host runs the drain at the end of the world's current step, as the
        woken task would have, without a trip through trio's scheduler (the hot path: one
        per node per commit). A handler that raises hands the error to the task, which
        raises it in the node's nursery as if it had handled the message itself."""
        if not self.open:
            return  # a crashed node hears nothing
        self._inbox.append(message)
        if self._drain_deferred or self._wake is None:
            return  # a drain is due, or the task is awake and will find the message
        self._drain_deferred = True
        self.node.host.defer(self._drain)

    def _drain(self) -> None:
        self._drain_deferred = False
        if not self.open:
            return
        try:
            while self._inbox:
                self._handle(self._inbox.popleft())
        except Exception as exc:  # raised in the node's nursery by the task, below
            self._failure = exc
            wake, self._wake = self._wake, None
            if wake is not None:
                wake.set()

    def close(self) -> None:
        """The node crashed: the mailbox, the mempool and a nonce gap not yet made (the
        process's memory) are gone at this instant."""
        self.open = False
        self._drain_deferred = False
        self._inbox.clear()
        self.mempool.clear()
        if self.skip_nonce:
            self.skip_nonce = False
            self.node.trace(NO_EFFECT, kind="nonce_gap", why="the node went down before its next vote-ids tx")

    def has_commit_work(self) -> bool:
        """Whether the work after a commit could do anything (else it is not posted): a
        non-empty mempool to recheck, votes in flight, events that may await a vote."""
        return bool(self.mempool or self.outstanding or self.node.store.may_have_unvoted)

    # -- the task ------------------------------------------------------------------------
    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        self.open = True
        task_status.started()
        try:
            while True:
                if not self._inbox:
                    self._wake = trio.Event()
                    await self._wake.wait()
                if self._failure is not None:
                    failure, self._failure = self._failure, None
                    raise failure
                while self._inbox:
                    self._handle(self._inbox.popleft())
        finally:
            self.open = False
            self._wake = None
            self._drain_deferred = False
            self._inbox.clear()
            self.mempool.clear()

    def _handle(self, message: Message) -> None:
        handler: Callable[..., None] = _HANDLERS[type(message)]
        handler(self, message)

    # -- handlers -----------------------------------------------------------------------
    def _arrivals(self, message: TxArrivals) -> None:
        app = self.node.app
        for at, tx in message.txs:
            # (a tx too large for a block never got past its first mempool: only "full" is asked)
            if tx.sender == self.node.name or self.mempool.full:
                continue
            result = app.check_tx(tx, self.mempool)
            if result.ok:
                self.mempool.admit(tx, at)
                self.mempool.remember(tx)
            elif result.why == "duplicate":
                self.node.stats.duplicates_rejected += 1

    def _propose(self, message: Propose) -> None:
        app = self.node.app
        txs = app.prepare_proposal(message.height, self.mempool)
        if self.node.settings.gas and not self._said_unfunded and app.unfunded(self.node.name):
            # kwil says nothing, and the oracle of a world where every validator is so never
            # resolves anything: said once a node's run
            self._said_unfunded = True
            self.node.trace("votes.skipped", reason="unfunded",
                            why="with gas on, a proposer with no balance and no nonce adds no vote bodies")
        self.node.host.proposal_ready(message.height, message.round, txs)

    def _submit(self, message: Submit) -> None:
        sender = message.sender or self.node.name
        nonce = self.mempool.pending_nonce(sender, self.node.app.state.nonce_of(sender)) + 1
        tx = message.make(nonce)
        if message.sender is None:
            self.submit(tx)
        elif self.mempool.refusal(tx) is None and self.node.app.check_tx(tx, self.mempool).ok:
            self.mempool.admit(tx, self.node.host.now())
            self.mempool.remember(tx)
            self.node.host.gossip(tx)
        else:
            self.node.stats.user_txs_rejected += 1

    def submit(self, tx: Tx) -> bool:
        """CheckTx an own tx and, when admitted, gossip it to every other node."""
        refusal = self.mempool.refusal(tx)
        result = CheckResult(False, refusal) if refusal else self.node.app.check_tx(tx, self.mempool)
        if not result.ok:
            self.node.trace("tx.rejected", nonce=tx.nonce, kind=type(tx).__name__, why=result.why)
            return False
        self.mempool.admit(tx, self.node.host.now())
        self.mempool.remember(tx)
        self.node.host.gossip(tx)
        return True

    def pending_nonce(self) -> int:
        name = self.node.name
        return self.mempool.pending_nonce(name, self.node.app.state.nonce_of(name))

    def _drop_vote(self, message: DropVote) -> None:
        votes = [tx for tx in self.mempool.of_sender(self.node.name) if isinstance(tx, VoteIDs)]
        if votes:
            self._withdraw(votes[-1])
        else:
            self.node.trace(NO_EFFECT, kind="evict_vote", why="no vote-ids tx of the node is pending")

    def _withdraw(self, tx: Tx) -> list[Tx]:
        """Give an own tx up in every mempool, and with it the node's own later txs: no
        mempool holds a nonce gap, and left there they could never execute, while the
        proposer's vote-bodies tx would take the free nonce and let them run after it (a
        second vote on an event its bodies carry). Their unresolved votes are cast again.
        Returns those later txs."""
        node = self.node
        later = sorted((t for t in self.mempool.of_sender(node.name) if t.nonce > tx.nonce),
                       key=lambda t: t.nonce)
        for gone in (tx, *later):
            self.mempool.remove(gone)
            node.host.withdraw(gone)
        if later:
            self.outstanding = [o for o in self.outstanding if o.tx not in later]
        for gone in later:
            if isinstance(gone, VoteIDs):
                self._vote_again(gone)
            node.trace("tx.rejected", nonce=gone.nonce, kind=type(gone).__name__, why="gap")
        return later

    def _vote_again(self, vote: VoteIDs) -> None:
        """Mark a withdrawn vote's ids not yet processed for the broadcaster's next vote."""
        pending = [i for i in vote.ids if not self.node.app.state.is_processed(i)]
        if pending:
            self.node.mark_rebroadcast(pending)

    def _skip_nonce(self, message: SkipNonce) -> None:
        self.skip_nonce = True

    def _forget(self, message: ForgetTx) -> None:
        self.mempool.remove(message.tx)

    def _after_commit(self, message: AfterCommit) -> None:
        finalized = message.finalized
        node = self.node
        height = finalized.block.height
        # kwil's broadcaster runs inside FinalizeBlock, before Commit, where CometBFT's mempool
        # Update frees the room the block's txs took: a mempool full now refuses the vote
        full_at_finalize = self.mempool.full
        if self.outstanding:
            # Matched by the tx itself: a later tx may reuse an evicted one's nonce.
            executed = finalized.result.executed_by(node.name)
            self.outstanding = [o for o in self.outstanding if o.tx not in executed]
        self._recheck(finalized)
        self._repair_lost_votes(height)
        if node.synced and node.app.is_validator and finalized.block.proposer != node.name:
            self._broadcast_votes(height, finalized, full_at_finalize)

    def _recheck(self, finalized: Finalized) -> None:
        """CometBFT's mempool Update and recheck: included and stale txs leave, the rest of the
        block's senders' txs are checked again in order against the new state (with gas on,
        every sender's: refunds change balances)."""
        if not self.mempool:
            return
        node = self.node
        app = node.app
        senders = None if node.settings.gas else finalized.result.senders()
        if senders is not None and not senders:
            return
        included = finalized.result.included()

        def still_valid(tx: Tx) -> bool:
            return app.check_tx(tx, self.mempool, recheck=True).ok

        for tx in self.mempool.recheck(senders, finalized.state.nonces, still_valid):
            # CometBFT keeps a committed tx in its cache so that a late copy is refused before
            # CheckTx. In the world a committed tx never travels again (gossip drops it at the
            # commit), so the cache lets it go: kept, every node's own votes stayed for the
            # whole run (10,000 per node), and no run could tell the difference.
            self.mempool.forget(tx)
            if tx in included:
                continue
            if tx.sender == node.name:
                node.trace("tx.rejected", nonce=tx.nonce, kind=type(tx).__name__, why="recheck")

    def _repair_lost_votes(self, height: int) -> None:
        """A vote-ids tx not committed within ``rebroadcast_after`` blocks is voted again
        (the corrected behaviour; off under ``lost-vote-stays-broadcasted``)."""
        node = self.node
        if "lost-vote-stays-broadcasted" in node.settings.bugs or not self.outstanding:
            return
        lost = [o for o in self.outstanding if height - o.height >= node.settings.rebroadcast_after]
        if not lost:
            return
        self.outstanding = [o for o in self.outstanding if o not in lost]
        withdrawn: set[Tx] = set()
        for entry in lost:
            if entry.tx in withdrawn:
                continue  # it went with an earlier lost vote, its ids marked again
            # withdrawn so that the re-vote can never be executed twice
            withdrawn.update(self._withdraw(entry.tx))
            self._vote_again(entry.tx)

    def _broadcast_votes(self, height: int, finalized: Finalized, full_at_finalize: bool) -> None:
        """kwil's event broadcaster: one vote-ids tx for the events this validator has not
        voted on, with the next nonce (skipped when the fee exceeds the balance).

        It runs inside FinalizeBlock, before Commit: in kwil 0.8 it reads the event store
        through its own connection, so it sees only resolutions committed in earlier blocks
        (abci.go FinalizeBlock, voting/events.go)."""
        node = self.node
        store = node.store
        if not store.may_have_unvoted:
            return
        state = finalized.pre_state if node.app.flow.name == PROTOCOL_08 else node.app.state
        candidates = node.app.flow.vote_candidates(store, state)
        if not candidates:
            store.may_have_unvoted = node.app.flow.awaits_resolutions(store, state)
            return
        behaviour = node.app.behaviour
        votes = behaviour.vote_ids(node.behaviour_context(), candidates) if behaviour.overrides("vote_ids") \
            else candidates
        if not votes:
            return
        nonce = self.pending_nonce() + (2 if self.skip_nonce else 1)
        self.skip_nonce = False
        tx = VoteIDs(node.name, nonce, tuple(votes))
        if node.settings.gas and node.app.state.balance_of(node.name) < tx.fee():
            node.trace("votes.skipped", reason="balance", fee=tx.fee())
            return
        refusal = "full" if full_at_finalize else self.mempool.refusal(tx)
        if refusal:
            # BroadcastTxAsync returns CometBFT's own refusals (a full mempool, a tx larger
            # than a block) as errors, and kwil's broadcaster returns before MarkBroadcasted.
            # FinalizeBlock then fails with it and CometBFT panics (kwil 0.7.6 and 0.8.4,
            # ``broadcast-error-panics``: here the node has committed the block when it goes
            # down); corrected, the ids stay unbroadcasted for the next block's vote.
            node.trace("tx.rejected", nonce=tx.nonce, kind="VoteIDs", why=refusal)
            if "broadcast-error-panics" in node.settings.bugs:
                node.panic(f"failed to apply block {height}: failed to broadcast events: {refusal}")
            return
        node.host.votes_sent(tx.ids)
        # kwil submits with BroadcastTxAsync: CheckTx runs at once and a rejection is not
        # reported, so the MarkRebroadcast its bad-nonce check did is overwritten by the
        # MarkBroadcasted that follows (broadcast.go). The ids stay broadcasted either way;
        # only a rejection on recheck, after a commit, sends them again.
        self.submit(tx)
        store.mark_broadcasted([v[0] for v in votes])
        self.outstanding.append(OutstandingVote(tx, height))


_HANDLERS: dict[type, Callable[..., None]] = {
    TxArrivals: BlockActor._arrivals,
    Propose: BlockActor._propose,
    AfterCommit: BlockActor._after_commit,
    Submit: BlockActor._submit,
    DropVote: BlockActor._drop_vote,
    SkipNonce: BlockActor._skip_nonce,
    ForgetTx: BlockActor._forget,
}
