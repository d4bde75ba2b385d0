"""The replicated application state that blocks change: validators, accounts, resolutions.

Every node that commits height h holds the state after h. States are treated as values:
executing a block produces a new state (dicts copied, resolutions replaced, never edited in
place), so a state can be shared between nodes that committed the same height and a node's
copy can never be changed behind its back. ``hash`` chains the previous hash with every
write the block made, which makes the ``same-state`` check cheap.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import MutableMapping
from typing import Any

import attrs

from node.layered import LayeredTable, as_layered_table


@attrs.frozen
class Resolution:
    """A resolution in progress: votes gathered so far, and the body once a proposer gave it."""

    id: str
    type: str | None  # None only for a placeholder under ``placeholder-never-expires``
    body: bytes | None
    expiration: float  # height at which it expires (inf: never)
    voters: tuple[str, ...]
    body_proposer: str | None
    created: int
    # kwil 0.7: the body's proposer had already voted the id (a refund gives that fee back too)
    proposer_voted_ids: bool = False


# Converters run when a state is made, not on every assignment: with them, attrs wraps every
# attribute write in a hook, and executing a block writes ``height`` and ``hash`` (fields
# without a converter): ~0.7% of a small world's run.
@attrs.define(on_setattr=attrs.setters.NO_OP)
class AppState:
    """One node's view of the chain's state after ``height``."""

    height: int = 0
    validators: dict[str, int] = attrs.Factory(dict)
    nonces: dict[str, int] = attrs.Factory(dict)
    balances: dict[str, int] = attrs.Factory(dict)
    resolutions: dict[str, Resolution] = attrs.Factory(dict)
    processed: LayeredTable[int] = attrs.field(factory=LayeredTable, converter=as_layered_table)
    kv: LayeredTable[bytes] = attrs.field(factory=LayeredTable, converter=as_layered_table)
    hash: str = "genesis"

    def clone(self) -> AppState:
        return AppState(self.height, dict(self.validators), dict(self.nonces),
                        dict(self.balances), dict(self.resolutions), self.processed.copy(),
                        self.kv.copy(), self.hash)

    @property
    def total_power(self) -> int:
        return sum(self.validators.values())

    def power_of(self, name: str) -> int:
        return self.validators.get(name, 0)

    def nonce_of(self, account: str) -> int:
        return self.nonces.get(account, 0)

    def balance_of(self, account: str) -> int:
        return self.balances.get(account, 0)

    def is_processed(self, resolution_id: str) -> bool:
        return resolution_id in self.processed

    def approved_power(self, resolution: Resolution) -> int:
        return sum(self.validators.get(v, 0) for v in resolution.voters)


class StateChanges:
    """The writes one block makes, applied to a fresh copy of the state as they happen.

    It is also the ``StateWriter`` resolve functions see; ``savepoint``/``rollback`` undo one
    resolution's writes when its resolve function fails.
    """

    def __init__(self, state: AppState) -> None:
        self.state = state
        self.writes: list[tuple[Any, ...]] = []
        self._undo: list[tuple[MutableMapping[str, Any], str, Any]] | None = None

    def _set(self, table: MutableMapping[str, Any], name: str, key: str, value: Any,
             digest: tuple[Any, ...] | None = None) -> None:
        if self._undo is not None:
            self._undo.append((table, key, table.get(key, _ABSENT)))
        if value is _ABSENT:
            table.pop(key, None)
        else:
            table[key] = value
        self.writes.append((name, key, _digestable(value)) if digest is None else digest)

    # -- StateWriter ----------------------------------------------------------------
    def credit(self, account: str, amount: int) -> None:
        self._set(self.state.balances, "balance", account, self.state.balance_of(account) + amount)

    def put(self, key: str, value: bytes) -> None:
        self._set(self.state.kv, "kv", key, bytes(value))

    def get(self, key: str) -> bytes | None:
        return self.state.kv.get(key)

    def set_power(self, validator: str, power: int) -> None:
        self._set(self.state.validators, "power", validator, power if power > 0 else _ABSENT)

    # -- the executor's writes ----------------------------------------------------------
    def debit(self, account: str, amount: int) -> None:
        self._set(self.state.balances, "balance", account, self.state.balance_of(account) - amount)

    def set_nonce(self, account: str, nonce: int) -> None:
        self._set(self.state.nonces, "nonce", account, nonce)

    def put_resolution(self, resolution: Resolution) -> None:
        self._set(self.state.resolutions, "resolution", resolution.id, resolution)

    def add_voter(self, resolution: Resolution, voter: str) -> None:
        """``resolution`` is the stored one with ``voter`` appended to its voters: written as
        that one vote (a whole digest per vote made a resolution's writes quadratic in its
        voters, most of a block's cost at a thousand validators)."""
        self._set(self.state.resolutions, "resolution", resolution.id, resolution, ("voter", resolution.id, voter))

    def drop_resolution(self, resolution_id: str) -> None:
        self._set(self.state.resolutions, "resolution", resolution_id, _ABSENT)

    def mark_processed(self, resolution_id: str, height: int) -> None:
        self._set(self.state.processed, "processed", resolution_id, height)

    # -- one resolution's sandbox ---------------------------------------------------------
    def savepoint(self) -> None:
        self._undo = []

    def release(self) -> None:
        self._undo = None

    def rollback(self) -> None:
        undo = self._undo or []
        for table, key, old in reversed(undo):
            if old is _ABSENT:
                table.pop(key, None)
            else:
                table[key] = old
        self.writes.append(("rollback", len(undo)))
        self._undo = None

    def seal(self, block_hash: str) -> None:
        # an empty block writes nothing: "[]" is what json.dumps gives, without its encoder
        text = json.dumps(self.writes, sort_keys=True, separators=(",", ":"), default=str) if self.writes else "[]"
        self.state.hash = hashlib.sha256(f"{self.state.hash}|{block_hash}|{text}".encode()).hexdigest()


class _Absent:
    def __repr__(self) -> str:
        return "<absent>"


_ABSENT: Any = _Absent()


def _digestable(value: Any) -> Any:
    if isinstance(value, Resolution):
        digest = [value.id, value.type, value.body.hex() if value.body is not None else None,
                  None if math.isinf(value.expiration) else value.expiration, "|".join(value.voters),
                  value.body_proposer]
        if value.proposer_voted_ids:
            digest.append(True)
        return digest
    if isinstance(value, bytes):
        return value.hex()
    if value is _ABSENT:
        return None
    return value
