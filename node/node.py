"""One validator node: its event store, its own txs, its listeners, and its side of blocks.

Block timing is planned by the world (``sim.consensus``); the node supplies what only it
knows: the block it proposes, what committing a block does to its own store and mempool,
the vote it sends after finalizing a block, and when its listeners run. A node is a trio
nursery: a crash cancels it at once and only the SQLite store and committed state remain.
"""

from __future__ import annotations

from typing import Any

import attrs
import trio

from node.app import AppState
from node.eventstore import EventStore
from node.execute import PROTOCOL_08, BlockResult
from node.host import NodeHost
from node.listeners import ListenerFailed, ListenerManager, ListenerRegistry, ListenerService
from node.mempool import admissible_run, assemble_block
from node.resolutions import ResolutionTypes
from node.txs import Block, Tx, VoteBodies, VoteIDs

MAX_VOTE_IDS_07 = 100
MAX_VOTE_BODIES_07 = 50


@attrs.frozen
class NodeSettings:
    protocol: str
    bugs: frozenset[str]
    gas: bool
    rebroadcast_after: int
    max_block_bytes: int
    max_votes_per_tx: int = 100
    byzantine: str | None = None
    extension_configs: dict[str, dict[str, str]] = attrs.Factory(dict)


@attrs.define
class OutstandingVote:
    tx: VoteIDs
    height: int  # the height whose finalization sent it


class Node:
    """A validator (or full) node inside the world."""

    def __init__(self, name: str, index: int, host: NodeHost, settings: NodeSettings,
                 store: EventStore, registry: ListenerRegistry, types: ResolutionTypes,
                 genesis: AppState) -> None:
        self.name = name
        self.index = index
        self.host = host
        self.settings = settings
        self.store = store
        self.types = types
        self.state = genesis
        self.online = False
        self.synced = False
        self.shut_down: str | None = None
        self.listeners = ListenerManager(self, registry)
        self.own_txs: list[Tx] = []
        self.outstanding: list[OutstandingVote] = []
        self.rebroadcasts = 0
        self.skip_nonce = False  # the ``nonce_gap`` fault: the next vote skips a nonce
        self.events_stored = 0
        self._scope: trio.CancelScope | None = None
        self._nursery: trio.Nursery | None = None
        self._listener_rng = host.stream(f"node/{name}/listener")

    # -- identity and status --------------------------------------------------------------
    @property
    def height(self) -> int:
        return self.state.height

    @property
    def is_validator(self) -> bool:
        return self.state.power_of(self.name) > 0

    def trace(self, event: str, **fields: Any) -> None:
        self.host.emit(event, node=self.name, **fields)

    # -- lifecycle ---------------------------------------------------------------------
    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """The node's lifetime: a nursery its listeners live in, cancelled by a crash."""
        with trio.CancelScope() as scope:
            self._scope = scope
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                self.online = True
                task_status.started()
                self.update_listeners("start")
                await trio.sleep_forever()

    def crash(self, reason: str = "crash") -> None:
        """Cancel everything at once; committed storage and state survive."""
        self.listeners.stop(reason)
        self.online = False
        self.synced = False
        self.own_txs.clear()
        if self._scope is not None:
            self._scope.cancel()
        self._scope = None
        self._nursery = None

    def mark_synced(self) -> None:
        if not self.synced:
            self.synced = True
            self.trace("node.synced", height=self.height)
            self.update_listeners("synced")

    def update_listeners(self, reason: str) -> None:
        should_run = (self.online and self.synced and self.is_validator and self.shut_down is None
                      and self._nursery is not None)
        if should_run and not self.listeners.active:
            assert self._nursery is not None
            self.listeners.start(self._nursery)
        elif not should_run and self.listeners.active:
            self.listeners.stop(reason)

    def listener_failed(self, failure: BaseException) -> None:
        cause = failure
        if isinstance(failure, BaseExceptionGroup):
            found = [e for e in failure.exceptions if isinstance(e, ListenerFailed)]
            cause = found[0] if found else failure
        reason = str(cause)
        self.shut_down = reason
        self.trace("node.shutdown", error=reason)
        self.host.node_failed(self.name, reason)

    def listener_service(self) -> ListenerService:
        return ListenerService(self.name, self.settings.extension_configs, self._listener_rng,
                               lambda address: self.host.dial(self.name, address), self.trace)

    # -- events from listeners -----------------------------------------------------------
    def broadcast_event(self, event_type: str, data: bytes, listener: str) -> None:
        rid = self.store.store(data, event_type)
        if rid is not None:
            self.events_stored += 1
            self.host.observed(self.name, rid, event_type)
            resolution = self.state.resolutions.get(rid)
            if resolution is not None and self.name in resolution.voters:
                # Seen again after this node's vote was committed (eth_deposits re-reads its
                # inclusive ``from`` block): the vote is on chain, so it counts as received.
                self.store.mark_received(rid)

    # -- mempool -----------------------------------------------------------------------
    def pending_nonce(self) -> int:
        return self.state.nonce_of(self.name) + len(
            admissible_run(self.state.nonce_of(self.name), self.own_txs))

    def submit(self, tx: Tx) -> None:
        """Check the tx in this node's own mempool, then gossip it."""
        if tx.nonce != self.pending_nonce() + 1:
            self._reject(tx, "nonce")
            return
        self.own_txs.append(tx)
        self.host.submit_tx(tx)

    def _reject(self, tx: Tx, why: str) -> None:
        self.trace("tx.rejected", nonce=tx.nonce, kind=type(tx).__name__, why=why)
        if isinstance(tx, VoteIDs) and why == "nonce":
            self.mark_rebroadcast(list(tx.ids))

    def mark_rebroadcast(self, ids: list[str]) -> None:
        self.store.mark_rebroadcast(ids)
        self.rebroadcasts += 1
        self.trace("votes.rebroadcast", ids=ids)

    def evict(self, nonce: int) -> Tx | None:
        """The ``evict_vote`` fault: this node's tx with ``nonce`` vanishes from its mempool."""
        for tx in self.own_txs:
            if tx.nonce == nonce:
                self.own_txs.remove(tx)
                return tx
        return None

    def _recheck(self) -> None:
        committed = self.state.nonce_of(self.name)
        keep = []
        for tx in sorted(self.own_txs, key=lambda t: t.nonce):
            if tx.nonce <= committed:
                continue  # included, or stale
            keep.append(tx)
        valid = admissible_run(committed, keep)
        for tx in keep:
            if tx not in valid:
                self._reject(tx, "nonce")
        self.own_txs = valid

    # -- proposing ---------------------------------------------------------------------
    def propose(self, height: int, time: float) -> list[Tx]:
        """The txs of this node's proposal for ``height`` (kwil's PrepareProposal)."""
        if not self.is_validator:
            return []  # a removed proposer proposes an empty block
        own = admissible_run(self.state.nonce_of(self.name), self.own_txs)
        bodies = self._vote_bodies(self.state.nonce_of(self.name) + len(own) + 1)
        others = self.host.received_txs(self.name, time)
        if self.settings.byzantine == "withhold":
            others = [tx for tx in others if not isinstance(tx, VoteIDs)]
        return assemble_block(self.name, own, bodies, others, self.settings.max_block_bytes)

    def _vote_bodies(self, nonce: int) -> VoteBodies | None:
        if self.settings.byzantine == "silent":
            return None
        state = self.state
        picked: list[tuple[str, bytes]] = []
        limit = self.settings.max_votes_per_tx if self.settings.protocol == PROTOCOL_08 \
            else MAX_VOTE_BODIES_07
        for event in self.store.get_events():
            if len(picked) >= limit:
                break
            if state.is_processed(event.id) or event.event_type not in self.types:
                continue
            resolution = state.resolutions.get(event.id)
            if self.settings.protocol == PROTOCOL_08:
                if resolution is None:
                    picked.append((event.event_type, event.data))
            elif resolution is None or resolution.body is None:
                picked.append((event.event_type, event.data))
        if not picked:
            return None
        return VoteBodies(self.name, nonce, tuple(picked))

    # -- committing --------------------------------------------------------------------
    def commit(self, block: Block, state: AppState, result: BlockResult) -> None:
        """Adopt the state after ``block`` and apply this node's own effects, atomically."""
        was_validator = self.is_validator
        self.store.apply_block_effects(block.height, result.local.get(self.name, []),
                                       result.delete_everywhere)
        self.state = state
        if self.outstanding:
            executed = result.executed_nonces.get(self.name, set())
            self.outstanding = [o for o in self.outstanding if o.tx.nonce not in executed]
        self._recheck()
        self._repair_lost_votes(block.height)
        if self.is_validator != was_validator:
            self.trace("node.validator", validator=self.is_validator, power=state.power_of(self.name))
        self.update_listeners("validator set")
        if self.settings.byzantine == "fabricate" and self.online and self.is_validator:
            self._fabricate(block.height)
        if self.online and self.synced and self.is_validator and block.proposer != self.name:
            self._send_votes(block.height)

    def _fabricate(self, height: int) -> None:
        """A fabricating validator invents an event no source produced. Fabricators collude:
        they all invent the same one per 20 heights, so their votes add up."""
        if height % 20 != 1:
            return
        names = [t for t in self.types.names() if t not in ("validator_join", "validator_remove")]
        # prefer a scenario's own type; credit_account is built into every world
        types = [t for t in names if t != "credit_account"] or names
        if types:
            self.broadcast_event(types[0], f"fabricated-{height // 20}".encode(), "byzantine")

    def _repair_lost_votes(self, height: int) -> None:
        """A vote-ids tx not committed within ``rebroadcast_after`` blocks is voted again.

        Off under ``lost-vote-stays-broadcasted`` (kwil 0.8's defect: the vote stays lost).
        """
        if "lost-vote-stays-broadcasted" in self.settings.bugs:
            return
        still = []
        for entry in self.outstanding:
            if height - entry.height >= self.settings.rebroadcast_after:
                # withdraw the old tx so the re-vote can never be executed twice
                self.host.withdraw_tx(entry.tx)
                if entry.tx in self.own_txs:
                    self.own_txs.remove(entry.tx)
                pending = [i for i in entry.tx.ids if not self.state.is_processed(i)]
                if pending:
                    self.mark_rebroadcast(pending)
            else:
                still.append(entry)
        self.outstanding = still

    def _send_votes(self, height: int) -> None:
        if self.settings.byzantine == "silent" or not self.store.may_have_unvoted:
            return
        state = self.state
        if self.settings.protocol == PROTOCOL_08:
            votes = []
            for event in self.store.get_events():
                if event.broadcasted:
                    continue
                if state.is_processed(event.id):
                    self.store.delete_event(event.id)
                    continue
                if event.id in state.resolutions:
                    votes.append((event.id, event.event_type))
                    if len(votes) >= self.settings.max_votes_per_tx:
                        break
        else:
            votes = [(e.id, e.event_type) for e in self.store.get_unreceived_events(MAX_VOTE_IDS_07)]
        if not votes:
            self.store.may_have_unvoted = False
            return
        nonce = self.pending_nonce() + (2 if self.skip_nonce else 1)
        self.skip_nonce = False
        tx = VoteIDs(self.name, nonce, tuple(votes))
        if self.settings.gas and state.balance_of(self.name) < tx.fee():
            self.trace("votes.skipped", reason="balance", fee=tx.fee())
            return
        self.store.mark_broadcasted([v[0] for v in votes])
        self.outstanding.append(OutstandingVote(tx, height))
        self.host.votes_sent(self.name, tx.ids)
        self.submit(tx)
