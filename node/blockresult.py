"""What executing a block produces, and what it depends on besides state and block."""

from __future__ import annotations

import attrs

from node.resolutions import DEFAULT_EXPIRATION, ResolutionTypes
from node.txs import Tx

PROTOCOL_07 = "kwil-0.7"
PROTOCOL_08 = "kwil-0.8"


@attrs.frozen
class Rules:
    """What execution depends on besides state and block."""

    protocol: str
    types: ResolutionTypes
    bugs: frozenset[str] = frozenset()
    gas: bool = False
    join_expiry: int = DEFAULT_EXPIRATION
    vote_expiry: int = DEFAULT_EXPIRATION  # genesis parameter: a no-body placeholder's lifetime


@attrs.frozen
class TxOutcome:
    tx: Tx
    ok: bool
    error: str | None = None


@attrs.frozen
class Outcome:
    """A resolution that left the chain in this block."""

    id: str
    type: str | None
    status: str  # "passed" | "expired"
    approved: int
    required: int
    refunded: bool
    voters: tuple[str, ...]
    error: str | None = None


@attrs.define
class BlockResult:
    txs: list[TxOutcome] = attrs.Factory(list)
    outcomes: list[Outcome] = attrs.Factory(list)
    validator_updates: list[tuple[str, int]] = attrs.Factory(list)
    # node -> [("delete" | "received", id)]: effects on that node's own event store
    local: dict[str, list[tuple[str, str]]] = attrs.Factory(dict)
    # ids whose events every node deletes (0.8: passed and expired resolutions)
    delete_everywhere: list[str] = attrs.Factory(list)
    # (voter, id) pairs whose vote was counted in this block
    votes: list[tuple[str, str]] = attrs.Factory(list)


class BlockFailed(Exception):
    """The block cannot be committed (a kwil defect switched on): the chain halts here."""

    def __init__(self, height: int, cause: str) -> None:
        super().__init__(f"block {height} failed: {cause}")
        self.height = height
        self.cause = cause
