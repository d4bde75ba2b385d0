"""One validator node: its nursery of actors, its place in consensus, and how it catches up.

A node is a trio nursery holding its mempool/block actor (``node.actor``) and its listener
tasks (``node.listeners``), plus what survives a crash: its event store and its committed
application state (``node.abci.KwilApp``). The world's consensus engine decides *when*
things happen; the node decides *what*: it answers ProcessProposal, commits the blocks it is
given (FinalizeBlock + Commit, then the actor's follow-up work), and owns its catching up:
after a (re)start it fetches missing blocks from peers (block sync), counts as synced once
it is within one block of the best height it has heard of, and only then takes part in
consensus and runs its listeners (when it is a validator).
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable
from typing import Any

import attrs
import trio

from node.abci import Finalized, KwilApp
from node.actor import BlockActor
from node.behaviours import Behaviour, BehaviourContext
from node.eventstore import EventStore
from node.execute import PROTOCOL_08
from node.host import NodeHost
from node.listeners import (
    CommittedBlock,
    ListenerFailed,
    ListenerManager,
    ListenerRegistry,
    ListenerService,
    TxOutcomeInfo,
)
from node.messages import AfterCommit, Message, Submit
from node.proposer import address_key
from node.txs import Block, Tx


@attrs.frozen
class NodeSettings:
    protocol: str
    bugs: frozenset[str]
    gas: bool
    rebroadcast_after: int
    max_block_bytes: int
    max_votes_per_tx: int = 100
    extension_configs: dict[str, dict[str, str]] = attrs.Factory(dict)


@attrs.define
class NodeStats:
    """Counters a run's summary reads."""

    rebroadcasts: int = 0
    events_stored: int = 0
    duplicates_rejected: int = 0
    user_txs_rejected: int = 0


LISTENER_POLL_07 = 1.0  # seconds between kwil 0.7.6's listener manager checks

# Where a node stands in consensus.
DOWN = "down"  # crashed or shut down: its nursery is gone
CATCHING_UP = "catching-up"  # replaying and fetching blocks it missed
IN_CONSENSUS = "in-consensus"  # taking part in the height in progress


class Node:
    """A validator (or full) node inside the world; it sees the world only through ``host``."""

    def __init__(self, name: str, index: int, host: NodeHost, settings: NodeSettings, store: EventStore,
                 app: KwilApp, registry: ListenerRegistry) -> None:
        self.name = name
        self.index = index
        self.host = host
        self.settings = settings
        self.store = store
        self.app = app
        self.stats = NodeStats()
        self.phase = DOWN
        self.synced = False
        self.shut_down: str | None = None
        self.actor = BlockActor(self)
        self.listeners = ListenerManager(self, registry,
                                         error_after_cancel_shuts_down=settings.protocol != PROTOCOL_08)
        # kwil 0.7.6's listener manager polls the validator status every second
        # (listeners/mgr.go); 0.8.4 reacts at each commit.
        self._listener_poll = LISTENER_POLL_07 if settings.protocol != PROTOCOL_08 else 0.0
        self._poll_pending = False
        self._started_at = 0.0
        self._fetching = False
        self._block_subscribers: list[trio.MemorySendChannel[CommittedBlock]] = []
        self._scope: trio.CancelScope | None = None
        self._nursery: trio.Nursery | None = None
        self._listener_rng = host.stream(f"node/{name}/listener")
        app.behaviour_context = self.behaviour_context
        app.on_rebroadcast = self.mark_rebroadcast
        self._deviates_after_commit = app.behaviour.overrides("after_commit")

    # -- identity and status --------------------------------------------------------------
    @property
    def height(self) -> int:
        return self.app.height

    @property
    def state(self) -> Any:
        return self.app.state

    @property
    def is_validator(self) -> bool:
        return self.app.is_validator

    @property
    def online(self) -> bool:
        return self.phase != DOWN

    @property
    def behaviour(self) -> Behaviour:
        return self.app.behaviour

    @property
    def byzantine(self) -> bool:
        return self.app.behaviour.name != Behaviour.name

    def trace(self, event: str, **fields: Any) -> None:
        self.host.emit(event, node=self.name, **fields)

    # -- lifecycle ---------------------------------------------------------------------
    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """The node's lifetime: a nursery for its actor and listeners, cancelled by a crash."""
        self.store.recover()
        with trio.CancelScope() as scope:
            self._scope = scope
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                await nursery.start(self.actor.run)
                self._started_at = trio.current_time()
                self._poll_pending = False
                self.phase = CATCHING_UP
                self.shut_down = None
                self._catch_up()
                task_status.started()
                await trio.sleep_forever()

    def crash(self, reason: str = "crash") -> None:
        """Cancel everything at once; the event store and committed state survive."""
        if self.phase == DOWN:
            return
        self.listeners.stop(reason)
        self.actor.close()
        self.phase = DOWN
        self.synced = False
        self._fetching = False
        self._block_subscribers.clear()
        if self._scope is not None:
            self._scope.cancel()
        self._scope = None
        self._nursery = None
        self.store.crash()
        self.host.went_down()

    def post(self, message: Message) -> None:
        """Hand the node's actor a message (dropped when the node is down)."""
        self.actor.post(message)

    # -- catching up (block sync) and consensus membership ---------------------------------
    def _catch_up(self) -> None:
        """One step of catching up: fetch the next missing block from a peer, or, once level
        with the best height heard of, enter consensus at the next height."""
        if self.phase != CATCHING_UP or self._fetching:
            return
        best = self.host.best_peer_height()
        if best is None:
            if self._needs_a_peer():
                return  # no peer reachable: the world calls peers_changed() when that changes
            best = self.height  # at genesis, or as the only validator, it goes on alone
        if self.height >= best - 1:
            self.mark_synced()
        if self.height < best:
            self._fetching = True
            self.host.fetch_block(self.height + 1)
            return
        self.phase = IN_CONSENSUS
        self.host.enter_consensus(self.height + 1)

    @property
    def waiting_for_peer(self) -> bool:
        """Catching up with no peer to sync from: CometBFT's block sync switches to consensus
        only once it has a peer (blocksync pool ``IsCaughtUp``), so until one is reachable this
        node cannot take part, however much power it holds."""
        return self.phase == CATCHING_UP and self.host.best_peer_height() is None and self._needs_a_peer()

    def _needs_a_peer(self) -> bool:
        # genesis (every node starts at height 0 together), or the only validator, which
        # CometBFT starts in consensus without block sync (node.go onlyValidatorIsUs)
        return self.height > 0 and not self._only_validator()

    def _only_validator(self) -> bool:
        return [name for name, power in self.app.state.validators.items() if power > 0] == [self.name]

    def block_fetched(self, block: Block | None) -> None:
        """Block sync delivered ``block`` (None: the peer had nothing new after all)."""
        if not self._fetching:
            return
        self._fetching = False
        if block is not None and block.height == self.height + 1:
            self.commit_block(block, consensus=False)
        self._catch_up()

    def peers_changed(self) -> None:
        """Peers became reachable or moved on: a node catching up tries again."""
        self._catch_up()

    def fell_behind(self) -> None:
        """The network decided heights past this node's: leave consensus and block-sync."""
        if self.phase == IN_CONSENSUS:
            self.phase = CATCHING_UP
            self.trace("node.behind", height=self.height)
            self._catch_up()

    def mark_synced(self) -> None:
        if not self.synced:
            self.synced = True
            self.trace("node.synced", height=self.height)
            self.update_listeners("synced")

    # -- the consensus connection -----------------------------------------------------------
    def process_proposal(self, proposer: str, txs: tuple[Tx, ...], *,
                         shared: dict[str, bool] | None = None) -> bool:
        """ProcessProposal on this node's committed state (a reject is a nil prevote)."""
        return self.app.process_proposal(proposer, txs, shared=shared)

    def commit_block(self, block: Block, *, consensus: bool) -> Finalized:
        """FinalizeBlock and Commit ``block`` at this instant; the mempool update, votes and
        the rest follow in the actor."""
        was_validator = self.app.is_validator
        finalized = self.app.finalize_block(block)
        self.app.commit(finalized)
        if self.app.is_validator != was_validator:
            self.trace("node.validator", validator=self.app.is_validator,
                       power=self.app.state.power_of(self.name))
            # the only status a commit changes: listeners follow it (asked on every commit,
            # this was one call in 30 of a hundred-validator run)
            self.update_listeners("validator set")
        if self._deviates_after_commit and self.app.is_validator and self.online:
            self.behaviour.after_commit(self.behaviour_context())
        if self.actor.has_commit_work():
            self.actor.post(AfterCommit(finalized))
        if self._block_subscribers:
            self._notify_block_subscribers(finalized)
        self.host.committed(finalized, consensus=consensus)
        return finalized

    def submit(self, make: Callable[[int], Tx]) -> None:
        """Send an own tx, built by ``make(nonce)`` with this node's next nonce, through its
        mempool (its actor checks and gossips it)."""
        self.post(Submit(make))

    # -- listeners ---------------------------------------------------------------------
    def update_listeners(self, reason: str) -> None:
        """Start or stop the listeners to follow the node's status: at once (0.8.4), or at the
        listener manager's next poll (0.7.6 polls every second from the node's start)."""
        if not self.listeners.registered:
            return
        if self._listener_poll and self._nursery is not None and self._listeners_should_change():
            if not self._poll_pending:
                self._poll_pending = True
                self._nursery.start_soon(self._update_at_next_poll, reason)
            return
        self._update_listeners_now(reason)

    def _listeners_should_change(self) -> bool:
        if not self.listeners.registered:
            return False  # nothing to start or stop
        return self._should_listen() != self.listeners.active

    def _should_listen(self) -> bool:
        return (self.online and self.synced and self.is_validator and self.shut_down is None
                and self._nursery is not None)

    async def _update_at_next_poll(self, reason: str) -> None:
        now = trio.current_time()
        polls = math.ceil((now - self._started_at) / self._listener_poll - 1e-9)
        await trio.sleep_until(self._started_at + max(polls, 0) * self._listener_poll)
        self._poll_pending = False
        self._update_listeners_now(reason)

    def _update_listeners_now(self, reason: str) -> None:
        should_run = self._should_listen()
        if should_run and not self.listeners.active:
            assert self._nursery is not None
            self.listeners.start(self._nursery)
        elif not should_run and self.listeners.active:
            self.listeners.stop(reason)

    def listener_failed(self, failure: BaseException) -> None:
        """A listener raised: the node shuts down (the operator sees why)."""
        if self.phase == DOWN:
            return  # it crashed: an error on the way down changes nothing
        cause = failure
        if isinstance(failure, BaseExceptionGroup):
            found = [e for e in failure.exceptions if isinstance(e, ListenerFailed)]
            cause = found[0] if found else failure
        self._shut_down(str(cause))

    def panic(self, error: str) -> None:
        """The node's software failed (CometBFT panics on an error from the app): the process
        dies, its committed storage survives, and the operator sees why."""
        if self.phase != DOWN:
            self._shut_down(error, panic=True)

    def _shut_down(self, reason: str, *, panic: bool = False) -> None:
        self.shut_down = reason
        self.trace("node.shutdown", error=reason, **({"panic": True} if panic else {}))
        self.host.node_failed(reason, panic=panic)
        self.crash("shutdown")

    def listener_service(self) -> ListenerService:
        return ListenerService(self.name, self.settings.extension_configs, self._listener_rng,
                               self.host.dial, self.trace, self.blocks)

    async def blocks(self) -> AsyncIterator[CommittedBlock]:
        """This node's committed blocks from now on (``ListenerService.blocks``)."""
        send, receive = trio.open_memory_channel[CommittedBlock](math.inf)
        self._block_subscribers.append(send)
        try:
            async for block in receive:
                yield block
        finally:
            if send in self._block_subscribers:
                self._block_subscribers.remove(send)

    def _notify_block_subscribers(self, finalized: Finalized) -> None:
        block = finalized.block
        info = CommittedBlock(block.height, block.time, block.proposer, tuple(
            TxOutcomeInfo(type(o.tx).__name__, o.tx.sender, o.tx.nonce, o.ok, o.error)
            for o in finalized.result.txs))
        for send in self._block_subscribers:
            send.send_nowait(info)

    # -- events from listeners -----------------------------------------------------------
    def broadcast_event(self, event_type: str, data: bytes, listener: str) -> None:
        rid = self.store.store(data, event_type)
        if rid is not None:
            self.stats.events_stored += 1
            self.host.observed(rid, event_type)
            resolution = self.app.state.resolutions.get(rid)
            if resolution is not None and self.name in resolution.voters:
                self._stored_after_own_vote(rid)

    def _stored_after_own_vote(self, rid: str) -> None:
        """Seen again after this node's vote was committed (eth_deposits re-reads its
        inclusive ``from`` block; a restarted listener re-reads what it saw): the vote is on
        chain. kwil 0.7.6 counts it as received. kwil 0.8.4 stores it again and votes on the
        resolution a second time (``revote-restored-event``); corrected, it is dropped."""
        if self.app.flow.name == PROTOCOL_08:
            if "revote-restored-event" not in self.settings.bugs:
                self.store.delete_event(rid)
        else:
            self.store.mark_received(rid)

    def mark_rebroadcast(self, ids: list[str]) -> None:
        self.store.mark_rebroadcast(ids)
        self.stats.rebroadcasts += 1
        self.trace("votes.rebroadcast", ids=ids)

    def behaviour_context(self) -> BehaviourContext:
        state = self.app.state
        return BehaviourContext(
            node=self.name, height=state.height, is_validator=self.app.is_validator,
            event_types=tuple(self.app.rules.types.names()),
            validators=tuple(sorted(state.validators, key=address_key)),
            store_event=lambda event_type, data: self.broadcast_event(event_type, data, "byzantine"),
            trace=lambda event, **fields: self.trace(f"byzantine.{event}", behaviour=self.behaviour.name,
                                                     **fields))
