"""Transactions and blocks, as immutable values, and the event id that ties votes to events."""

from __future__ import annotations

import functools
import hashlib
import json
import uuid
from typing import Any

import attrs

EVENT_NAMESPACE = uuid.UUID("cc1cd90f-b4db-47f4-b6df-4bbe5fca88eb")
VOTE_ID_FEE = 16_000  # per id in a ValidatorVoteIDs tx (gas on)
BODY_BYTE_FEE = 1_000  # per body byte in a ValidatorVoteBodies tx (gas on)


@functools.lru_cache(maxsize=1 << 16)
def event_id(event_type: str, body: bytes) -> str:
    """kwil's event/resolution id: UUIDv5(namespace, type bytes + body), no separator.

    ``uuid.uuid5`` only takes text, so the SHA-1 is computed over the raw bytes here and the
    version and variant bits are set as RFC 4122 says.
    """
    digest = bytearray(hashlib.sha1(EVENT_NAMESPACE.bytes + event_type.encode() + body).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(digest)))


@attrs.frozen
class VoteIDs:
    """ValidatorVoteIDs: a validator's votes on event ids (each with the type it saw)."""

    sender: str
    nonce: int
    votes: tuple[tuple[str, str], ...]  # (resolution id, event type)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(v[0] for v in self.votes)

    def size(self) -> int:
        return 64 + 52 * len(self.votes)

    def fee(self) -> int:
        return VOTE_ID_FEE * len(self.votes)


@attrs.frozen
class VoteBodies:
    """ValidatorVoteBodies: only the proposer may include it; it never enters the mempool."""

    sender: str
    nonce: int
    events: tuple[tuple[str, bytes], ...]  # (event type, body)

    def size(self) -> int:
        return 64 + sum(len(t) + len(b) + 8 for t, b in self.events)

    def fee(self) -> int:
        return BODY_BYTE_FEE * sum(len(b) for _t, b in self.events)


@attrs.frozen
class Join:
    sender: str
    nonce: int
    power: int

    def size(self) -> int:
        return 80

    def fee(self) -> int:
        return 0


@attrs.frozen
class Approve:
    sender: str
    nonce: int
    candidate: str

    def size(self) -> int:
        return 80

    def fee(self) -> int:
        return 0


@attrs.frozen
class Remove:
    sender: str
    nonce: int
    target: str

    def size(self) -> int:
        return 80

    def fee(self) -> int:
        return 0


@attrs.frozen
class Leave:
    sender: str
    nonce: int

    def size(self) -> int:
        return 64

    def fee(self) -> int:
        return 0


Tx = VoteIDs | VoteBodies | Join | Approve | Remove | Leave


def tx_record(tx: Tx) -> dict[str, Any]:
    """A JSON-able description of a tx (for the trace and block hashes)."""
    record: dict[str, Any] = {"kind": type(tx).__name__, "sender": tx.sender, "nonce": tx.nonce}
    if isinstance(tx, VoteIDs):
        record["ids"] = list(tx.ids)
    elif isinstance(tx, VoteBodies):
        record["ids"] = [event_id(t, b) for t, b in tx.events]
    elif isinstance(tx, Join):
        record["power"] = tx.power
    elif isinstance(tx, Approve):
        record["candidate"] = tx.candidate
    elif isinstance(tx, Remove):
        record["target"] = tx.target
    return record


@attrs.frozen
class Block:
    """A committed block: the proposal of the round that gathered +2/3 precommits."""

    height: int
    round: int
    proposer: str
    time: float
    txs: tuple[Tx, ...]
    # operator overrides of validator power applied at this height (fault ``override = true``)
    overrides: tuple[tuple[str, int], ...] = ()

    @property
    def hash(self) -> str:
        text = json.dumps([self.height, self.proposer, [tx_record(t) for t in self.txs],
                           [list(o) for o in self.overrides]],
                          sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()
