"""What a run remembers for its summary, tables and checks (beyond the trace)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, overload

import attrs

from node.txs import UserTx, VoteBodies, VoteIDs, event_id
from sim.engine.trace import Trace
from sim.world.columns import ColumnLog
from sim.world.resolutions import ResolutionLog, ResolutionRecord

if TYPE_CHECKING:
    from sim.consensus.chain import Committed


@attrs.define
class BlockRecord:
    height: int
    round: int
    proposer: str
    time: float
    txs: int
    vote_ids: int
    vote_bodies: int
    user_txs: int = 0
    bytes: int = 0


class BlockLog(Sequence[BlockRecord]):
    """``RunRecords.blocks``: a ``BlockRecord`` per committed block, kept column by column (a
    ``ColumnLog``: ~70 bytes a block, older ones on disk, instead of ~200 held all run)."""

    def __init__(self, blocks: Iterable[BlockRecord] = ()) -> None:
        self._rows = ColumnLog("qqodqqqqq")
        for block in blocks:
            self.append(block)

    def append(self, block: BlockRecord) -> None:
        self._rows.append((block.height, block.round, block.proposer, block.time, block.txs,
                           block.vote_ids, block.vote_bodies, block.user_txs, block.bytes))

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[BlockRecord]:
        return (BlockRecord(*row) for row in self._rows)

    @overload
    def __getitem__(self, index: int) -> BlockRecord: ...

    @overload
    def __getitem__(self, index: slice) -> list[BlockRecord]: ...

    def __getitem__(self, index: int | slice) -> BlockRecord | list[BlockRecord]:
        if isinstance(index, slice):
            return [BlockRecord(*row) for row in self._rows[index]]
        return BlockRecord(*self._rows[index])

    def __eq__(self, other: object) -> bool:
        if isinstance(other, BlockLog | list):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        return (BlockLog, (list(self),))

    def __repr__(self) -> str:
        return f"BlockLog({len(self)} blocks)"


def _sharing_votes_books(votes: ColumnLog) -> ColumnLog:
    """A (node, id, time) log coded with the codebooks of ``votes`` (id, voter, power, height)."""
    return ColumnLog("ood", codebooks={0: votes.codebook(1), 1: votes.codebook(0)})


@attrs.define
class RunRecords:
    """Observations, resolutions, votes and blocks, as the run produces them."""

    resolutions: ResolutionLog = attrs.Factory(ResolutionLog)
    blocks: BlockLog = attrs.Factory(BlockLog)
    votes: ColumnLog = attrs.Factory(lambda: ColumnLog("ooqq"))  # (id, voter, power, height)
    # (node, id, time); observations and sends share the votes' codebooks of event ids and node
    # names: a long run keeps each id's entry once, not once per log
    observations: ColumnLog = attrs.Factory(lambda self: _sharing_votes_books(self.votes), takes_self=True)
    faults: list[dict[str, object]] = attrs.Factory(list)
    validator_changes: list[tuple[float, int, str, int]] = attrs.Factory(list)  # (t, h, node, power)
    node_shutdowns: list[tuple[str, str]] = attrs.Factory(list)
    node_panics: list[tuple[str, str, float]] = attrs.Factory(list)  # (node, error, time): software failures
    bodies: dict[str, bytes] = attrs.Factory(dict)  # resolution id -> body, from vote-bodies txs
    # every vote-ids tx a node sent, one row per id: (node, id, time); a rebroadcast adds rows
    sends: ColumnLog = attrs.Factory(lambda self: _sharing_votes_books(self.votes), takes_self=True)
    _first_sent: dict[tuple[str, str], float] = attrs.field(factory=dict, init=False, eq=False, repr=False)
    _first_sent_rows: int = attrs.field(default=0, init=False, eq=False, repr=False)

    @property
    def votes_sent(self) -> dict[tuple[str, str], float]:
        """(node, id) -> when that node first sent a vote-ids tx for the id. Built from ``sends``
        when read (after the run): a dict keyed by pairs cost ~100 bytes a vote all run long."""
        sends = self.sends
        if self._first_sent_rows != len(sends):
            first = self._first_sent
            for node, rid, time in sends[self._first_sent_rows:]:
                first.setdefault((node, rid), time)
            self._first_sent_rows = len(sends)
        return self._first_sent

    def resolution(self, rid: str, event_type: str | None) -> ResolutionRecord:
        """The record of ``rid`` to change (``ResolutionLog.open``)."""
        return self.resolutions.open(rid, event_type)


class Recorder:
    """Files what happens during a run into its ``RunRecords`` and trace records."""

    def __init__(self, records: RunRecords, trace: Trace, now: Callable[[], float]) -> None:
        self.records = records
        self._trace = trace
        self._now = now

    def observed(self, node: str, is_validator: bool, resolution_id: str, event_type: str) -> None:
        """A listener on ``node`` stored a new event."""
        now = self._now()
        records = self.records
        records.observations.append((node, resolution_id, now))
        record = records.resolutions.get(resolution_id)
        if record is None or (now < record.first_seen and is_validator):
            record = records.resolution(resolution_id, event_type)  # opened only to be changed
        if now < record.first_seen and is_validator:
            if record.first_seen_by is None:
                # One record per event (its first observation); per-node stores are in
                # records.observations, which the hash covers through what they cause.
                self._trace.emit("event.observed", node=node, id=resolution_id, type=event_type)
            record.first_seen = now
            record.first_seen_by = node

    def votes_sent(self, node: str, ids: tuple[str, ...]) -> None:
        now = self._now()
        sends = self.records.sends
        for rid in ids:
            sends.append((node, rid, now))

    def node_shutdown(self, node: str, reason: str, *, panic: bool = False) -> None:
        self.records.node_shutdowns.append((node, reason))
        if panic:
            self.records.node_panics.append((node, reason, self._now()))

    def block(self, committed: Committed) -> None:
        """A block was committed on the chain (by its first node)."""
        block, result = committed.block, committed.result
        records = self.records
        now = self._now()
        vote_ids = sum(len(tx.votes) for tx in block.txs if isinstance(tx, VoteIDs))
        vote_bodies = sum(len(tx.events) for tx in block.txs if isinstance(tx, VoteBodies))
        user_txs = sum(1 for tx in block.txs if isinstance(tx, UserTx))
        records.blocks.append(BlockRecord(block.height, block.round, block.proposer, now,
                                          len(block.txs), vote_ids, vote_bodies, user_txs,
                                          sum(tx.size() for tx in block.txs)))
        self._trace.emit("block", height=block.height, round=block.round, proposer=block.proposer,
                         txs=len(block.txs), hash=committed.block_hash[:16])
        state = committed.state
        assert state is not None
        for voter, rid in result.votes:
            records.votes.append((rid, voter, state.power_of(voter), block.height))
            seen = records.resolutions.get(rid)
            if seen is None or seen.created_height is None:
                record = records.resolution(rid, None)
                record.created_height = block.height
                record.created_time = now
        for outcome in result.outcomes:
            record = records.resolution(outcome.id, outcome.type)
            record.type = outcome.type
            record.status = outcome.status
            record.height = block.height
            record.time = now
            record.approved = outcome.approved
            record.required = outcome.required
            record.refunded = outcome.refunded and outcome.status == "expired"
            record.voters = outcome.voters
            record.error = outcome.error
            self._trace.emit(f"resolution.{outcome.status}", id=outcome.id, type=outcome.type,
                             approved=outcome.approved, required=outcome.required,
                             refunded=record.refunded)
            if outcome.error is not None:
                self._trace.emit("resolution.error", id=outcome.id, type=outcome.type, error=outcome.error)
            records.resolutions.settle(outcome.id)
        overridden = dict(block.overrides)
        for name, power in result.validator_updates:
            records.validator_changes.append((now, block.height, name, power))
            # an operator override, not a resolution's outcome, says so
            marked = {"override": True} if overridden.get(name) == power else {}
            self._trace.emit("validator.update", validator=name, power=power, height=block.height, **marked)
        for tx_outcome in result.txs:
            if isinstance(tx_outcome.tx, VoteBodies):
                for event_type, body in tx_outcome.tx.events:
                    records.bodies.setdefault(event_id(event_type, body), body)
            if not tx_outcome.ok:
                self._trace.emit("tx.failed", sender=tx_outcome.tx.sender, nonce=tx_outcome.tx.nonce,
                                 error=tx_outcome.error)
