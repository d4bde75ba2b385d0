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
    # every node's actor asks these after each commit: built once per block, on first use
    _executed: dict[str, set[Tx]] | None = None
    _included: frozenset[Tx] | None = None
    _senders: frozenset[str] | None = None

    def executed_by(self, sender: str) -> set[Tx]:
        """``sender``'s txs that this block executed (a nonce error did not execute them)."""
        if self._executed is None:
            executed: dict[str, set[Tx]] = {}
            for outcome in self.txs:
                if not (outcome.error or "").startswith("nonce"):
                    executed.setdefault(outcome.tx.sender, set()).add(outcome.tx)
            self._executed = executed
        return self._executed.get(sender, set())

    def included(self) -> frozenset[Tx]:
        """Every tx of the block."""
        if self._included is None:
            self._included = frozenset(outcome.tx for outcome in self.txs)
        return self._included

    def senders(self) -> frozenset[str]:
        """The senders of the block's txs."""
        if self._senders is None:
            self._senders = frozenset(outcome.tx.sender for outcome in self.txs)
        return self._senders


class BlockFailed(Exception):
    """The block cannot be committed (a kwil defect switched on): the chain halts here."""

    def __init__(self, height: int, cause: str) -> None:
        super().__init__(f"block {height} failed: {cause}")
        self.height = height
        self.cause = cause
