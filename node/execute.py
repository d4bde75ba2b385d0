"""Executing one block against the application state, deterministically (kwil's FinalizeBlock).

``execute_block`` is a pure function of (state, block, rules): it returns the new state and
a ``BlockResult`` saying what each tx did, which resolutions passed, expired or were
refunded, which validator powers changed, and what each node must do to its own event
store (``local``), the part of execution that is not replicated. The end of the block
(passing, expiring and refunding resolutions) is ``node.endblock``.

Each tx is kwil's route: the nonce must be the sender's next one; the nonce and (with gas)
the fee are charged even when the payload fails; a sender whose balance is below the fee
spends what it has and its payload is skipped; and a payload that fails anywhere fails
whole (kwil runs it in a nested database transaction that is rolled back).
"""

from __future__ import annotations

import attrs

from node.app import AppState, Resolution, StateChanges
from node.blockresult import (
    PROTOCOL_07,
    PROTOCOL_08,
    BlockFailed,
    BlockResult,
    Outcome,
    Rules,
    TxOutcome,
)
from node.endblock import end_block
from node.resolutions import VALIDATOR_JOIN, VALIDATOR_REMOVE
from node.txs import (
    Approve,
    Block,
    Join,
    Leave,
    Remove,
    Tx,
    UserTx,
    VoteBodies,
    VoteIDs,
    event_id,
    tx_fee,
)

__all__ = ["PROTOCOL_07", "PROTOCOL_08", "BlockFailed", "BlockResult", "Outcome", "Rules", "TxExecutor",
           "TxOutcome", "execute_block", "join_body"]


class TxFailed(Exception):
    """A tx's payload failed: everything it did is rolled back (its fee and nonce stay)."""


def join_body(candidate: str, power: int) -> bytes:
    return candidate.encode() + b"\x00" + str(power).encode()


def execute_block(pre: AppState, block: Block, rules: Rules, block_hash: str) -> tuple[AppState, BlockResult]:
    state = pre.clone()
    state.height = block.height
    changes = StateChanges(state)
    result = BlockResult()
    executor = TxExecutor(state, changes, result, rules, block)
    for validator, power in block.overrides:
        executor.set_power(validator, power)
    for tx in block.txs:
        executor.apply(tx)
    end_block(executor)
    changes.seal(block_hash)
    return state, result


class TxExecutor:
    """Applies one block's txs to a fresh copy of the state, recording what they did."""

    def __init__(self, state: AppState, changes: StateChanges, result: BlockResult,
                 rules: Rules, block: Block) -> None:
        self.state = state
        self.changes = changes
        self.result = result
        self.rules = rules
        self.block = block
        self.height = block.height
        self._local: dict[str, list[tuple[str, str]]] = {}
        self._votes: list[tuple[str, str]] = []
        self._voter_sets: dict[str, tuple[Resolution, set[str]]] = {}

    # -- one tx ------------------------------------------------------------------------
    def apply(self, tx: Tx) -> None:
        sender = tx.sender
        expected = self.state.nonce_of(sender) + 1
        if tx.nonce != expected:
            self.result.txs.append(TxOutcome(tx, False, f"nonce {tx.nonce}, expected {expected}"))
            return
        # kwil charges nonce and fee even when the tx fails inside.
        self.changes.set_nonce(sender, tx.nonce)
        if self.rules.gas:
            fee = tx_fee(tx)
            balance = self.state.balance_of(sender)
            if balance < fee:  # spends what it has; the payload is skipped; never negative
                self.changes.debit(sender, balance)
                self.result.txs.append(TxOutcome(tx, False, f"insufficient balance {balance} for fee {fee}"))
                return
            self.changes.debit(sender, fee)
        self._local, self._votes = {}, []
        self.changes.savepoint()
        try:
            self._dispatch(tx)
        except TxFailed as failure:
            self.changes.rollback()
            self.result.txs.append(TxOutcome(tx, False, str(failure)))
            return
        self.changes.release()
        for node, effects in self._local.items():
            self.result.local.setdefault(node, []).extend(effects)
        self.result.votes.extend(self._votes)
        self.result.txs.append(TxOutcome(tx, True))

    def _dispatch(self, tx: Tx) -> None:
        if isinstance(tx, VoteIDs):
            self._vote_ids(tx)
        elif isinstance(tx, VoteBodies):
            self._vote_bodies(tx)
        elif isinstance(tx, Join):
            self._join(tx)
        elif isinstance(tx, Approve):
            self._approve(tx)
        elif isinstance(tx, Remove):
            self._remove(tx)
        elif isinstance(tx, Leave):
            self._leave(tx)
        elif not isinstance(tx, UserTx):  # a user's tx: its fee and nonce are its whole effect here
            raise TxFailed(f"unknown tx {type(tx).__name__}")

    def local(self, node: str, action: str, rid: str) -> None:
        self._local.setdefault(node, []).append((action, rid))

    def vote(self, resolution: Resolution, voter: str) -> Resolution:
        # The voters of the resolution this block last voted on, as a set: with a thousand
        # validators, looking each voter up in the tuple was quadratic per resolution.
        known = self._voter_sets.get(resolution.id)
        if known is None or known[0] is not resolution:
            known = (resolution, set(resolution.voters))
        if voter in known[1]:
            return resolution
        self._votes.append((voter, resolution.id))
        r = resolution  # the hot path of execution: no attrs.evolve here
        voted = Resolution(r.id, r.type, r.body, r.expiration, r.voters + (voter,), r.body_proposer, r.created,
                           r.proposer_voted_ids)
        known[1].add(voter)
        self._voter_sets[r.id] = (voted, known[1])
        return voted

    def _put_vote(self, resolution: Resolution, voter: str) -> None:
        """Store ``resolution`` with ``voter``'s vote counted."""
        voted = self.vote(resolution, voter)
        if voted is not resolution and self.state.resolutions.get(resolution.id) is resolution:
            self.changes.add_voter(voted, voter)
        else:  # a new placeholder, or a vote already counted: written whole, as any other put
            self.changes.put_resolution(voted)

    def _expiration(self, event_type: str) -> int:
        return self.height + self.rules.types.get(event_type).expiration_period

    # -- votes -------------------------------------------------------------------------
    def _vote_ids(self, tx: VoteIDs) -> None:
        voter = tx.sender
        if self.state.power_of(voter) <= 0:
            raise TxFailed("vote ids from a non-validator")
        if self.rules.protocol == PROTOCOL_08:
            self._vote_ids_08(tx)
            return
        for rid, event_type in tx.votes:
            resolution = self.state.resolutions.get(rid)
            if self.state.is_processed(rid):
                self.local(voter, "delete", rid)
                continue
            if resolution is None:
                resolution = self._placeholder(rid, event_type)
            self._put_vote(resolution, voter)
            self.local(voter, "delete" if resolution.body is not None else "received", rid)

    def _placeholder(self, rid: str, event_type: str) -> Resolution:
        """kwil 0.7.6: vote ids before any body create a placeholder that expires after the
        genesis ``vote_expiry`` (``placeholder-never-expires``: it has no type and never does)."""
        if "placeholder-never-expires" in self.rules.bugs:
            return Resolution(rid, None, None, float("inf"), (), None, self.height)
        if event_type not in self.rules.types:
            raise TxFailed(f"unknown resolution type {event_type!r}")
        return Resolution(rid, event_type, None, self.height + self.rules.vote_expiry, (), None, self.height)

    def _vote_ids_08(self, tx: VoteIDs) -> None:
        """kwil 0.8.4 (routes.go validatorVoteIDsRoute): processed ids are dropped; an id
        with no resolution fails the whole tx; the voter's node deletes the events it voted."""
        voter = tx.sender
        for rid, _event_type in tx.votes:
            if self.state.is_processed(rid):
                continue
            resolution = self.state.resolutions.get(rid)
            if resolution is None:
                raise TxFailed(f"resolution {rid} does not exist")
            self._put_vote(resolution, voter)
            self.local(voter, "delete", rid)

    def _vote_bodies(self, tx: VoteBodies) -> None:
        proposer = tx.sender
        if proposer != self.block.proposer:
            raise TxFailed("vote bodies from a node that is not the block's proposer")
        for event_type, body in tx.events:
            if event_type not in self.rules.types:
                raise TxFailed(f"unknown resolution type {event_type!r}")
            rid = event_id(event_type, body)
            if self.rules.protocol == PROTOCOL_08:
                self._vote_body_08(proposer, rid, event_type, body)
            else:
                self._vote_body_07(proposer, rid, event_type, body)

    def _vote_body_08(self, proposer: str, rid: str, event_type: str, body: bytes) -> None:
        """kwil 0.8.4: create the resolution if absent (an existing one is kept) and count the
        body as the proposer's vote; the proposer's node deletes its event."""
        resolution = self.state.resolutions.get(rid)
        if resolution is None and not self.state.is_processed(rid):
            resolution = Resolution(rid, event_type, body, self._expiration(event_type), (), proposer, self.height)
        if resolution is not None:
            if self.state.power_of(proposer) > 0:
                resolution = self.vote(resolution, proposer)
            self.changes.put_resolution(resolution)
        self.local(proposer, "delete", rid)

    def _vote_body_07(self, proposer: str, rid: str, event_type: str, body: bytes) -> None:
        """kwil 0.7.6 (voting.go CreateResolution, routes.go): a body for a processed id or one
        that already has a body fails the whole tx; setting the body resets the expiry to this
        block + the type's period and notes whether the proposer already voted the id; the
        body counts as the proposer's vote; every node whose validator has voted it deletes
        its event."""
        if self.state.is_processed(rid):
            raise TxFailed(f"resolution {rid} is already processed")
        existing = self.state.resolutions.get(rid)
        if existing is not None and existing.body is not None:
            raise TxFailed(f"resolution {rid} already has a body")
        voters = existing.voters if existing is not None else ()
        resolution = Resolution(rid, event_type, body, self._expiration(event_type), voters, proposer,
                                existing.created if existing is not None else self.height,
                                proposer in voters)
        if self.state.power_of(proposer) > 0:
            resolution = self.vote(resolution, proposer)
        self.changes.put_resolution(resolution)
        for voter in dict.fromkeys((*resolution.voters, proposer)):
            self.local(voter, "delete", rid)

    # -- the validator set (routes.go: join, approve, remove, leave) --------------------------
    def _join(self, tx: Join) -> None:
        if self.state.power_of(tx.sender) > 0:
            raise TxFailed("join from a node that is already a validator")
        pending = [r for r in self.state.resolutions.values()
                   if r.type == VALIDATOR_JOIN and r.body is not None
                   and r.body.split(b"\x00")[0] == tx.sender.encode()]
        if pending:  # whatever power it asked for
            raise TxFailed("a join request is already pending")
        body = join_body(tx.sender, tx.power)
        self.changes.put_resolution(Resolution(event_id(VALIDATOR_JOIN, body), VALIDATOR_JOIN, body,
                                               self._expiration(VALIDATOR_JOIN), (), tx.sender, self.height))

    def _approve(self, tx: Approve) -> None:
        if tx.sender == tx.candidate:
            raise TxFailed("a validator cannot approve its own join")
        if self.state.power_of(tx.sender) <= 0:
            raise TxFailed("approve from a non-validator")
        pending = [r for r in self.state.resolutions.values()
                   if r.type == VALIDATOR_JOIN and r.body is not None
                   and r.body.split(b"\x00")[0] == tx.candidate.encode()]
        if not pending:
            raise TxFailed(f"no pending join for {tx.candidate}")
        self.changes.put_resolution(self.vote(pending[0], tx.sender))

    def _remove(self, tx: Remove) -> None:
        """kwil does not check that the target is a validator (routes.go validatorRemoveRoute)."""
        if self.state.power_of(tx.sender) <= 0:
            raise TxFailed("remove from a non-validator")
        body = tx.target.encode()
        rid = event_id(VALIDATOR_REMOVE, body)
        resolution = self.state.resolutions.get(rid) or Resolution(
            rid, VALIDATOR_REMOVE, body, self._expiration(VALIDATOR_REMOVE), (), tx.sender, self.height)
        self.changes.put_resolution(self.vote(resolution, tx.sender))

    def _leave(self, tx: Leave) -> None:
        if self.state.power_of(tx.sender) <= 0:
            raise TxFailed("leave from a non-validator")
        self.set_power(tx.sender, 0)

    def set_power(self, validator: str, power: int) -> None:
        self.changes.set_power(validator, power)
        self.result.validator_updates.append((validator, power))
        if power <= 0:
            # Removing a validator deletes its votes.
            for rid in sorted(self.state.resolutions):
                resolution = self.state.resolutions[rid]
                if validator in resolution.voters:
                    voters = tuple(v for v in resolution.voters if v != validator)
                    self.changes.put_resolution(attrs.evolve(resolution, voters=voters))
