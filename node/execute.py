"""Executing one block against the application state (kwil's votes, resolutions and validator txs), deterministically.

``execute_block`` is a pure function of (state, block, rules): it returns the new state and
a ``BlockResult`` saying what each tx did, which resolutions passed, expired or were
refunded, which validator powers changed, and what each node must do to its own event
store (``local``) — the part of execution that is not replicated.
"""

from __future__ import annotations

import math
from fractions import Fraction

import attrs

from node.app import AppState, Resolution, StateChanges
from node.resolutions import (
    RECURRING_TYPES,
    VALIDATOR_JOIN,
    VALIDATOR_REMOVE,
    ResolutionTypes,
    ResolveContext,
    required_power,
)
from node.txs import (
    BODY_BYTE_FEE,
    VOTE_ID_FEE,
    Approve,
    Block,
    Join,
    Leave,
    Remove,
    Tx,
    VoteBodies,
    VoteIDs,
    event_id,
)

PROTOCOL_07 = "kwil-0.7"
PROTOCOL_08 = "kwil-0.8"


@attrs.frozen
class Rules:
    """What execution depends on besides state and block."""

    protocol: str
    types: ResolutionTypes
    bugs: frozenset[str] = frozenset()
    gas: bool = False
    join_expiry: int = 14400


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
    # sender -> nonces of its txs that executed (a nonce error means the tx did not)
    executed_nonces: dict[str, set[int]] = attrs.Factory(dict)


def join_body(candidate: str, power: int) -> bytes:
    return candidate.encode() + b"\x00" + str(power).encode()


def execute_block(pre: AppState, block: Block, rules: Rules, block_hash: str) -> tuple[AppState, BlockResult]:
    state = pre.clone()
    state.height = block.height
    changes = StateChanges(state)
    result = BlockResult()
    executor = _Executor(state, changes, result, rules, block)
    for validator, power in block.overrides:
        executor._set_power(validator, power)
    for tx in block.txs:
        executor.apply(tx)
    executor.end_block()
    changes.seal(block_hash)
    return state, result


class _Executor:
    def __init__(self, state: AppState, changes: StateChanges, result: BlockResult,
                 rules: Rules, block: Block) -> None:
        self.state = state
        self.changes = changes
        self.result = result
        self.rules = rules
        self.block = block
        self.height = block.height

    # -- txs -------------------------------------------------------------------------
    def apply(self, tx: Tx) -> None:
        sender = tx.sender
        expected = self.state.nonce_of(sender) + 1
        if tx.nonce != expected:
            self.result.txs.append(TxOutcome(tx, False, f"nonce {tx.nonce}, expected {expected}"))
            return
        # kwil charges nonce and fee even when the tx fails inside.
        self.changes.set_nonce(sender, tx.nonce)
        self.result.executed_nonces.setdefault(sender, set()).add(tx.nonce)
        if self.rules.gas:
            self.changes.debit(sender, tx.fee())
        error = self._dispatch(tx)
        self.result.txs.append(TxOutcome(tx, error is None, error))

    def _dispatch(self, tx: Tx) -> str | None:
        if isinstance(tx, VoteIDs):
            return self._vote_ids(tx)
        if isinstance(tx, VoteBodies):
            return self._vote_bodies(tx)
        if isinstance(tx, Join):
            return self._join(tx)
        if isinstance(tx, Approve):
            return self._approve(tx)
        if isinstance(tx, Remove):
            return self._remove(tx)
        if isinstance(tx, Leave):
            return self._leave(tx)
        return f"unknown tx {type(tx).__name__}"

    def _local(self, node: str, action: str, rid: str) -> None:
        self.result.local.setdefault(node, []).append((action, rid))

    def _vote(self, resolution: Resolution, voter: str) -> Resolution:
        if voter in resolution.voters:
            return resolution
        self.result.votes.append((voter, resolution.id))
        r = resolution  # the hot path of execution: no attrs.evolve here
        return Resolution(r.id, r.type, r.body, r.expiration, r.voters + (voter,), r.body_proposer, r.created)

    def _expiration(self, event_type: str | None) -> float:
        if event_type is None:
            return math.inf
        return self.height + self.rules.types.get(event_type).expiration_period

    def _vote_ids(self, tx: VoteIDs) -> str | None:
        voter = tx.sender
        if self.state.power_of(voter) <= 0:
            return "vote ids from a non-validator"
        errors = []
        for rid, event_type in tx.votes:
            if self.state.is_processed(rid):
                self._local(voter, "delete", rid)
                continue
            resolution = self.state.resolutions.get(rid)
            if resolution is None:
                if self.rules.protocol == PROTOCOL_08:
                    errors.append(f"resolution {rid} does not exist")
                    continue
                placeholder_type = None if "placeholder-never-expires" in self.rules.bugs else event_type
                if placeholder_type is not None and placeholder_type not in self.rules.types:
                    errors.append(f"unknown resolution type {event_type!r}")
                    continue
                resolution = Resolution(rid, placeholder_type, None,
                                        self._expiration(placeholder_type), (), None, self.height)
            self.changes.put_resolution(self._vote(resolution, voter))
            if self.rules.protocol == PROTOCOL_08 or resolution.body is not None:
                self._local(voter, "delete", rid)
            else:
                self._local(voter, "received", rid)
        return "; ".join(errors) or None

    def _vote_bodies(self, tx: VoteBodies) -> str | None:
        proposer = tx.sender
        if proposer != self.block.proposer:
            return "vote bodies from a node that is not the block's proposer"
        errors = []
        for event_type, body in tx.events:
            rid = event_id(event_type, body)
            if event_type not in self.rules.types:
                errors.append(f"unknown resolution type {event_type!r}")
                continue
            self._local(proposer, "delete", rid)
            if self.state.is_processed(rid):
                continue
            existing = self.state.resolutions.get(rid)
            if existing is not None and (existing.body is not None or self.rules.protocol == PROTOCOL_08):
                errors.append(f"resolution {rid} already has a body")
                continue
            if existing is None:
                resolution = Resolution(rid, event_type, body, self._expiration(event_type), (),
                                        proposer, self.height)
            else:
                expiration = existing.expiration
                if math.isinf(expiration):
                    expiration = self._expiration(event_type)
                resolution = attrs.evolve(existing, type=event_type, body=body,
                                          expiration=expiration, body_proposer=proposer)
            if self.state.power_of(proposer) > 0:
                resolution = self._vote(resolution, proposer)
            self.changes.put_resolution(resolution)
        return "; ".join(errors) or None

    def _join(self, tx: Join) -> str | None:
        if self.state.power_of(tx.sender) > 0:
            return "join from a node that is already a validator"
        body = join_body(tx.sender, tx.power)
        rid = event_id(VALIDATOR_JOIN, body)
        if rid in self.state.resolutions:
            return "a join request is already pending"
        self.changes.put_resolution(Resolution(rid, VALIDATOR_JOIN, body,
                                               self._expiration(VALIDATOR_JOIN), (), tx.sender,
                                               self.height))
        return None

    def _approve(self, tx: Approve) -> str | None:
        if tx.sender == tx.candidate:
            return "a validator cannot approve its own join"
        if self.state.power_of(tx.sender) <= 0:
            return "approve from a non-validator"
        pending = [r for r in self.state.resolutions.values()
                   if r.type == VALIDATOR_JOIN and r.body is not None
                   and r.body.split(b"\x00")[0] == tx.candidate.encode()]
        if not pending:
            return f"no pending join for {tx.candidate}"
        self.changes.put_resolution(self._vote(pending[0], tx.sender))
        return None

    def _remove(self, tx: Remove) -> str | None:
        if self.state.power_of(tx.sender) <= 0:
            return "remove from a non-validator"
        if self.state.power_of(tx.target) <= 0:
            return f"{tx.target} is not a validator"
        body = tx.target.encode()
        rid = event_id(VALIDATOR_REMOVE, body)
        resolution = self.state.resolutions.get(rid) or Resolution(
            rid, VALIDATOR_REMOVE, body, self._expiration(VALIDATOR_REMOVE), (), tx.sender, self.height)
        self.changes.put_resolution(self._vote(resolution, tx.sender))
        return None

    def _leave(self, tx: Leave) -> str | None:
        if self.state.power_of(tx.sender) <= 0:
            return "leave from a non-validator"
        self._set_power(tx.sender, 0)
        return None

    def _set_power(self, validator: str, power: int) -> None:
        self.changes.set_power(validator, power)
        self.result.validator_updates.append((validator, power))
        if power <= 0:
            # Removing a validator deletes its votes.
            for rid in sorted(self.state.resolutions):
                resolution = self.state.resolutions[rid]
                if validator in resolution.voters:
                    voters = tuple(v for v in resolution.voters if v != validator)
                    self.changes.put_resolution(attrs.evolve(resolution, voters=voters))

    # -- end of block --------------------------------------------------------------------
    def end_block(self) -> None:
        state = self.state
        total = state.total_power
        by_type: dict[str, list[Resolution]] = {}
        for resolution in state.resolutions.values():
            by_type.setdefault(resolution.type or "", []).append(resolution)
        # Decide every pass first, with the powers as the block left them; applying a pass
        # (a removal) must not change whether or with how much power another one passed.
        passed: list[tuple[Resolution, int]] = []
        for type_name in sorted(by_type):
            if not type_name:
                continue
            config = self.rules.types.get(type_name)
            for resolution in sorted(by_type[type_name], key=lambda r: r.id):
                if resolution.body is None:
                    continue
                approved = state.approved_power(resolution)
                if approved >= required_power(total, config.confirmation_threshold):
                    passed.append((resolution, approved))
        for resolution, approved in passed:
            self._pass(resolution, approved, total)
        self._expire(total)

    def _refund(self, resolution: Resolution) -> None:
        if not self.rules.gas:
            return
        for voter in resolution.voters:
            if voter != resolution.body_proposer:
                self.changes.credit(voter, VOTE_ID_FEE)
        if resolution.body_proposer is not None and resolution.body is not None:
            self.changes.credit(resolution.body_proposer, BODY_BYTE_FEE * len(resolution.body))

    def _finish(self, resolution: Resolution) -> None:
        self.changes.drop_resolution(resolution.id)
        if resolution.type not in RECURRING_TYPES:
            self.changes.mark_processed(resolution.id, self.height)
        if self.rules.protocol == PROTOCOL_08:
            self.result.delete_everywhere.append(resolution.id)

    def _pass(self, resolution: Resolution, approved: int, total: int) -> None:
        assert resolution.type is not None and resolution.body is not None
        config = self.rules.types.get(resolution.type)
        error = None
        self.changes.savepoint()
        try:
            if resolution.type == VALIDATOR_JOIN:
                name, power = resolution.body.split(b"\x00")
                self._set_power(name.decode(), int(power))
            elif resolution.type == VALIDATOR_REMOVE:
                self._set_power(resolution.body.decode(), 0)
            else:
                config.resolve_func(ResolveContext(resolution.id, resolution.type, resolution.body,
                                                   self.height, self.changes))
            self.changes.release()
        except Exception as exc:  # a failing resolve_func rolls back only itself
            self.changes.rollback()
            error = f"{type(exc).__name__}: {exc}"
        self._refund(resolution)
        self._finish(resolution)
        self.result.outcomes.append(Outcome(
            resolution.id, resolution.type, "passed", approved,
            required_power(total, config.confirmation_threshold), self.rules.gas, resolution.voters,
            error))

    def _expire(self, total: int) -> None:
        refunded_first: set[str] = set()
        expiring = sorted((r for r in self.state.resolutions.values() if r.expiration <= self.height),
                          key=lambda r: (r.type or "", r.id))
        for resolution in expiring:
            approved = self.state.approved_power(resolution)
            type_name = resolution.type
            refund_threshold = (self.rules.types.get(type_name).refund_threshold
                                if type_name is not None else Fraction(1))
            needed = required_power(total, refund_threshold)
            refunded = approved >= needed
            if "refund-first-expired" in self.rules.bugs and (type_name or "") not in refunded_first:
                refunded_first.add(type_name or "")
                refunded = True
            if refunded:
                self._refund(resolution)
            self._finish(resolution)
            confirmation = (self.rules.types.get(type_name).confirmation_threshold
                            if type_name is not None else Fraction(2, 3))
            self.result.outcomes.append(Outcome(
                resolution.id, type_name, "expired", approved, required_power(total, confirmation),
                refunded, resolution.voters))

