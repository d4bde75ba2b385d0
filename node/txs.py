"""Transactions and blocks, as immutable values, and the event id that ties votes to events."""

from __future__ import annotations

import functools
import hashlib
import json
import sys
import uuid
from typing import Any

import attrs

EVENT_NAMESPACE = uuid.UUID("cc1cd90f-b4db-47f4-b6df-4bbe5fca88eb")
# Prices with gas on (kwil routes.go).
VOTE_ID_FEE = 16_000  # per id in a ValidatorVoteIDs tx
BODY_BYTE_FEE = 1_000  # per body byte in a ValidatorVoteBodies tx
REMOVE_FEE = 100_000
VALIDATOR_TX_FEE = 10**13  # join, approve and leave
# Sizes: kwil txs are RLP-encoded and signed. Every tx carries its signature, sender key,
# nonce, chain id, fee and payload type; a vote-ids tx grows by one 16-byte id per vote and
# a vote-bodies tx by each event's type and body.
TX_BASE_BYTES = 180
VOTE_ID_BYTES = 17  # a 16-byte UUID and its RLP prefix
BODY_OVERHEAD_BYTES = 6  # the RLP framing of one (type, body) pair
VALIDATOR_PAYLOAD_BYTES = 48


# Every node of a world asks for the id of the same event within moments of the others: a
# cache of the last few thousand ids answers them; a larger one grew all through a long run.
@functools.lru_cache(maxsize=1 << 12)
def event_id(event_type: str, body: bytes) -> str:
    """kwil's event/resolution id: UUIDv5(namespace, type bytes + body), no separator.

    ``uuid.uuid5`` only takes text, so the SHA-1 is computed over the raw bytes here and the
    version and variant bits are set as RFC 4122 says.
    """
    digest = bytearray(hashlib.sha1(EVENT_NAMESPACE.bytes + event_type.encode() + body).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    # Every node computes the id of every event it sees: one shared string, not one per node.
    return sys.intern(str(uuid.UUID(bytes=bytes(digest))))


@attrs.frozen(cache_hash=True)
class VoteIDs:
    """ValidatorVoteIDs: a validator's votes on event ids (each with the type it saw)."""

    sender: str
    nonce: int
    votes: tuple[tuple[str, str], ...]  # (resolution id, event type)
    # the resolution ids, in vote order: read by every node's mempool, execution and checks
    ids: tuple[str, ...] = attrs.field(init=False, eq=False, hash=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "ids", tuple(v[0] for v in self.votes))

    def size(self) -> int:
        return TX_BASE_BYTES + VOTE_ID_BYTES * len(self.votes)

    def fee(self) -> int:
        return VOTE_ID_FEE * len(self.votes)


@attrs.frozen(cache_hash=True)
class VoteBodies:
    """ValidatorVoteBodies: only the proposer may include it; it never enters the mempool."""

    sender: str
    nonce: int
    events: tuple[tuple[str, bytes], ...]  # (event type, body)

    def size(self) -> int:
        return TX_BASE_BYTES + sum(len(t) + len(b) + BODY_OVERHEAD_BYTES for t, b in self.events)

    def fee(self) -> int:
        return BODY_BYTE_FEE * sum(len(b) for _t, b in self.events)


@attrs.frozen(cache_hash=True)
class Join:
    sender: str
    nonce: int
    power: int

    def size(self) -> int:
        return TX_BASE_BYTES + VALIDATOR_PAYLOAD_BYTES

    def fee(self) -> int:
        return VALIDATOR_TX_FEE


@attrs.frozen(cache_hash=True)
class Approve:
    sender: str
    nonce: int
    candidate: str

    def size(self) -> int:
        return TX_BASE_BYTES + VALIDATOR_PAYLOAD_BYTES

    def fee(self) -> int:
        return VALIDATOR_TX_FEE


@attrs.frozen(cache_hash=True)
class Remove:
    sender: str
    nonce: int
    target: str

    def size(self) -> int:
        return TX_BASE_BYTES + VALIDATOR_PAYLOAD_BYTES

    def fee(self) -> int:
        return REMOVE_FEE


@attrs.frozen(cache_hash=True)
class Leave:
    sender: str
    nonce: int

    def size(self) -> int:
        return TX_BASE_BYTES

    def fee(self) -> int:
        return VALIDATOR_TX_FEE


@attrs.frozen(cache_hash=True)
class UserTx:
    """An ordinary account's tx (a transfer, a deploy, an action call): what matters here is
    its nonce, its size and its fee, which it spends competing with votes."""

    sender: str
    nonce: int
    bytes: int  # the whole signed tx
    price: int = 0  # its fee with gas on
    serial: int = 0  # tells two otherwise equal txs apart

    def size(self) -> int:
        return self.bytes

    def fee(self) -> int:
        return self.price


Tx = VoteIDs | VoteBodies | Join | Approve | Remove | Leave | UserTx


def tx_fee(tx: Tx) -> int:
    """What ``tx`` costs its sender with gas on."""
    return tx.fee()


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
    elif isinstance(tx, UserTx):
        record["bytes"] = tx.bytes
        record["serial"] = tx.serial
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
        if not self.txs and not self.overrides:  # most blocks: json.dumps's exact text, made directly
            text = f"[{self.height},{json.dumps(self.proposer)},[],[]]"
            return hashlib.sha256(text.encode()).hexdigest()
        text = json.dumps([self.height, self.proposer, [tx_record(t) for t in self.txs],
                           [list(o) for o in self.overrides]],
                          sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()
