"""The end of a block (kwil's end-block resolution processing, part of FinalizeBlock).

For each resolution type sorted by name, resolutions whose approved power reached the
confirmation threshold pass, in id order: their resolve function runs (a failure rolls back
that resolution's changes only, unless ``resolve-error-halts``) and voters are refunded. Then
expired ones (``expiration <= height``) leave, refunded when their approved power reached the
refund threshold. Passed and expired resolutions are marked processed (validator joins and
removals excepted, which can recur); in kwil 0.8 every node deletes their events.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Protocol

from node.app import AppState, Resolution, StateChanges
from node.blockresult import PROTOCOL_07, PROTOCOL_08, BlockFailed, BlockResult, Outcome, Rules
from node.resolutions import RECURRING_TYPES, VALIDATOR_JOIN, VALIDATOR_REMOVE, ResolveContext, required_power
from node.txs import BODY_BYTE_FEE, VOTE_ID_FEE


class TxExecutor(Protocol):
    """The block under execution, as the end of the block needs it (``node.execute``)."""

    state: AppState
    changes: StateChanges
    result: BlockResult
    rules: Rules
    height: int

    def set_power(self, validator: str, power: int) -> None: ...


def end_block(ex: TxExecutor) -> None:
    state = ex.state
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
        config = ex.rules.types.get(type_name)
        for resolution in sorted(by_type[type_name], key=lambda r: r.id):
            if resolution.body is None:
                continue
            approved = state.approved_power(resolution)
            if approved >= required_power(total, config.confirmation_threshold):
                passed.append((resolution, approved))
    for resolution, approved in passed:
        _pass(ex, resolution, approved, total)
    # kwil 0.7.6 computes the refund threshold after this block's resolve functions ran, so
    # a join or removal that passed above already counts (txapp.go).
    _expire(ex, state.total_power if ex.rules.protocol == PROTOCOL_07 else total)


def _refund(ex: TxExecutor, resolution: Resolution) -> None:
    """Voters get their vote-ids fee back, the body's proposer its body fee (and, in 0.7, the
    vote-ids fee too when it had voted the id before proposing the body)."""
    if not ex.rules.gas:
        return
    for voter in resolution.voters:
        if voter != resolution.body_proposer:
            ex.changes.credit(voter, VOTE_ID_FEE)
    if resolution.body_proposer is not None and resolution.body is not None:
        extra = VOTE_ID_FEE if resolution.proposer_voted_ids else 0
        ex.changes.credit(resolution.body_proposer, BODY_BYTE_FEE * len(resolution.body) + extra)


def _finish(ex: TxExecutor, resolution: Resolution) -> None:
    ex.changes.drop_resolution(resolution.id)
    if resolution.type not in RECURRING_TYPES:
        ex.changes.mark_processed(resolution.id, ex.height)
    if ex.rules.protocol == PROTOCOL_08:
        ex.result.delete_everywhere.append(resolution.id)


def _pass(ex: TxExecutor, resolution: Resolution, approved: int, total: int) -> None:
    assert resolution.type is not None and resolution.body is not None
    if resolution.expiration <= ex.height and "pass-at-expiry-halts" in ex.rules.bugs:
        # kwil 0.8.4: it is in both the passed and the expired list, and marking it processed
        # twice fails the block (txapp.go, voting/sql.go).
        raise BlockFailed(ex.height, f"resolution {resolution.id} passed in its expiry block and was "
                                     "marked processed twice")
    config = ex.rules.types.get(resolution.type)
    error = None
    ex.changes.savepoint()
    try:
        if resolution.type == VALIDATOR_JOIN:
            name, power = resolution.body.split(b"\x00")
            ex.set_power(name.decode(), int(power))
        elif resolution.type == VALIDATOR_REMOVE:
            ex.set_power(resolution.body.decode(), 0)
        else:
            config.resolve_func(ResolveContext(resolution.id, resolution.type, resolution.body,
                                               ex.height, ex.changes))
        ex.changes.release()
    except Exception as exc:  # a failing resolve_func rolls back only itself
        ex.changes.rollback()
        error = f"{type(exc).__name__}: {exc}"
        if "resolve-error-halts" in ex.rules.bugs:
            # kwil 0.7.6: the error fails the whole block (txapp.go Finalize).
            raise BlockFailed(ex.height, f"resolve function of {resolution.type} {resolution.id} "
                                         f"failed: {error}") from None
    _refund(ex, resolution)
    _finish(ex, resolution)
    ex.result.outcomes.append(Outcome(
        resolution.id, resolution.type, "passed", approved,
        required_power(total, config.confirmation_threshold), ex.rules.gas, resolution.voters, error))


def _expire(ex: TxExecutor, total: int) -> None:
    state = ex.state
    refunded_first: set[str] = set()
    expiring = sorted((r for r in state.resolutions.values() if r.expiration <= ex.height),
                      key=lambda r: (r.type or "", r.id))
    for resolution in expiring:
        approved = state.approved_power(resolution)
        type_name = resolution.type
        refund_threshold = (ex.rules.types.get(type_name).refund_threshold
                            if type_name is not None else Fraction(1))
        refunded = approved >= required_power(total, refund_threshold)
        if "refund-first-expired" in ex.rules.bugs and (type_name or "") not in refunded_first:
            refunded_first.add(type_name or "")
            refunded = True
        if refunded:
            _refund(ex, resolution)
        _finish(ex, resolution)
        confirmation = (ex.rules.types.get(type_name).confirmation_threshold
                        if type_name is not None else Fraction(2, 3))
        ex.result.outcomes.append(Outcome(
            resolution.id, type_name, "expired", approved, required_power(total, confirmation),
            refunded, resolution.voters))
