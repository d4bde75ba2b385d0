"""What a run remembers for its summary, tables and checks (beyond the trace)."""

from __future__ import annotations

import math

import attrs


@attrs.define
class ResolutionRecord:
    id: str
    type: str | None
    first_seen: float = math.inf
    first_seen_by: str | None = None
    created_height: int | None = None
    created_time: float | None = None
    status: str | None = None  # "passed" | "expired"
    height: int | None = None
    time: float | None = None
    approved: int = 0
    required: int = 0
    refunded: bool = False
    voters: tuple[str, ...] = ()
    error: str | None = None


@attrs.define
class BlockRecord:
    height: int
    round: int
    proposer: str
    time: float
    txs: int
    vote_ids: int
    vote_bodies: int


@attrs.define
class RunRecords:
    """Observations, resolutions, votes and blocks, as the run produces them."""

    resolutions: dict[str, ResolutionRecord] = attrs.Factory(dict)
    blocks: list[BlockRecord] = attrs.Factory(list)
    votes: list[tuple[str, str, int, int]] = attrs.Factory(list)  # (id, voter, power, height)
    observations: list[tuple[str, str, float]] = attrs.Factory(list)  # (node, id, time)
    faults: list[dict[str, object]] = attrs.Factory(list)
    validator_changes: list[tuple[float, int, str, int]] = attrs.Factory(list)  # (t, h, node, power)
    node_shutdowns: list[tuple[str, str]] = attrs.Factory(list)
    bodies: dict[str, bytes] = attrs.Factory(dict)  # resolution id -> body, from vote-bodies txs
    # (node, id) -> when that node first sent a vote-ids tx for the id
    votes_sent: dict[tuple[str, str], float] = attrs.Factory(dict)

    def resolution(self, rid: str, event_type: str | None) -> ResolutionRecord:
        record = self.resolutions.get(rid)
        if record is None:
            record = ResolutionRecord(rid, event_type)
            self.resolutions[rid] = record
        return record
