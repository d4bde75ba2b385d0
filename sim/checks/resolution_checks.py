"""Invariants over resolutions as the chain decides them (README, "What the summary says")."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from node.resolutions import RECURRING_TYPES, required_power
from node.txs import VoteBodies, VoteIDs, event_id
from sim.checks.base import Checker

if TYPE_CHECKING:
    from sim.consensus.chain import Committed


class ResolutionOnce(Checker):
    """A resolution id is resolved at most once per chain (validator join/remove may recur)."""

    name = "resolution-once"

    def __init__(self, view: Any, report: Any) -> None:
        super().__init__(view, report)
        self._resolved: dict[str, int] = {}

    def on_block(self, committed: Committed) -> None:
        for outcome in committed.result.outcomes:
            if outcome.status != "passed" or outcome.type in RECURRING_TYPES:
                continue
            if outcome.id in self._resolved:
                self.report((committed.block.proposer,),
                            f"resolution {outcome.id} resolved again at height {committed.block.height} "
                            f"(first at {self._resolved[outcome.id]})")
            self._resolved[outcome.id] = committed.block.height


class ThresholdRespected(Checker):
    """A resolution passed only with approved power >= required at that block."""

    name = "threshold-respected"

    def on_block(self, committed: Committed) -> None:
        state = committed.state
        assert state is not None
        types = self.view.types
        for outcome in committed.result.outcomes:
            if outcome.status != "passed" or outcome.type is None:
                continue
            threshold = types.get(outcome.type).confirmation_threshold
            if committed.result.validator_updates:
                # powers moved inside this block: hold the executor to its own count
                approved, needed = outcome.approved, outcome.required
            else:
                approved = sum(state.power_of(v) for v in outcome.voters)
                needed = required_power(state.total_power, threshold)
            if approved < needed:
                self.report(outcome.voters, f"{outcome.id} passed at height {committed.block.height} with "
                            f"{approved} of {needed} required power")


class ExpiryExact(Checker):
    """An unresolved resolution is removed exactly at its expiration height: a body sets it to
    its block + the type's expiration period (in 0.7 also when a placeholder already existed),
    and a placeholder made by vote ids alone to its block + the genesis ``vote_expiry``."""

    name = "expiry-exact"

    def __init__(self, view: Any, report: Any) -> None:
        super().__init__(view, report)
        self._due: dict[str, float] = {}
        scenario = view.scenario
        self._vote_expiry = scenario.consensus.vote_expiry

    def on_block(self, committed: Committed) -> None:
        height = committed.block.height
        state = committed.state
        assert state is not None
        types = self.view.types
        for tx_outcome in committed.result.txs:
            tx = tx_outcome.tx
            if not tx_outcome.ok:
                continue
            if isinstance(tx, VoteBodies):
                for event_type, body in tx.events:
                    rid = event_id(event_type, body)
                    if rid in state.resolutions and event_type in types:
                        resolution = state.resolutions[rid]
                        if resolution.created == height or self.view.scenario.protocol == "kwil-0.7":
                            self._due[rid] = height + types.get(event_type).expiration_period
            elif isinstance(tx, VoteIDs):
                for rid, _event_type in tx.votes:
                    if rid in state.resolutions and rid not in self._due:
                        self._due[rid] = height + self._vote_expiry
        for rid in [r for r in self._due if r not in state.resolutions]:
            del self._due[rid]
        for rid, due in sorted(self._due.items()):
            if height >= due:
                self.report((), f"resolution {rid} still open at height {height}; it should have "
                            f"expired at {due:g}")
                del self._due[rid]
        for outcome in committed.result.outcomes:
            if outcome.status == "expired" and outcome.id in self._due and self._due[outcome.id] != height:
                self.report((), f"resolution {outcome.id} expired at {height}, due at {self._due[outcome.id]:g}")


class RefundsExact(Checker):
    """An expired resolution is refunded exactly when approved power reached the refund threshold."""

    name = "refunds-exact"

    def on_block(self, committed: Committed) -> None:
        pre = self.view.chain.validators_after(committed.block.height - 1)
        total = sum(pre.values())
        for outcome in committed.result.outcomes:
            if outcome.status != "expired" or outcome.type is None:
                continue
            threshold = self.view.types.get(outcome.type).refund_threshold
            approved = sum(pre.get(v, 0) for v in outcome.voters)
            should = approved >= required_power(total, threshold)
            if outcome.refunded != should and not committed.result.validator_updates:
                self.report(outcome.voters, f"{outcome.id} expired at height {committed.block.height} "
                            f"{'with' if outcome.refunded else 'without'} a refund; approved {approved} of "
                            f"{total} against refund threshold {threshold}")


class OneVotePerValidator(Checker):
    """No validator's vote on the same id is executed twice: two vote-ids txs, or its
    proposer's vote-bodies tx and then a vote-ids tx (ids before the body is kwil 0.7's
    normal order and is not a second vote). A validator's removal deletes its votes, so a
    vote after it rejoins starts afresh."""

    name = "one-vote-per-validator"

    def __init__(self, view: Any, report: Any) -> None:
        super().__init__(view, report)
        # per resolution id in flight, the validators whose vote-ids / vote body on it executed:
        # indexed by id, so a block's resolved ids are dropped without a pass over every vote
        self._seen: dict[str, set[str]] = {}
        self._bodies: dict[str, set[str]] = {}

    def on_block(self, committed: Committed) -> None:
        for outcome in committed.result.txs:
            tx = outcome.tx
            if (outcome.error or "").startswith("nonce"):
                continue
            if isinstance(tx, VoteBodies):
                for t, b in tx.events:
                    self._bodies.setdefault(event_id(t, b), set()).add(tx.sender)
                continue
            if not isinstance(tx, VoteIDs):
                continue
            for rid in tx.ids:
                voters = self._seen.setdefault(rid, set())
                if tx.sender in voters or tx.sender in self._bodies.get(rid, ()):
                    first = "vote-ids" if tx.sender in voters else "vote body"
                    self.report((tx.sender,), f"{tx.sender}'s vote on {rid} executed twice (its "
                                f"{first} first, vote-ids again at height {committed.block.height})")
                voters.add(tx.sender)
        # Removing a validator deletes its votes (kwil): voting again after it rejoins is a
        # first vote, not a second one.
        removed = {validator for validator, power in committed.result.validator_updates if power <= 0}
        if removed:
            for votes in (self._seen, self._bodies):
                for voters in votes.values():
                    voters -= removed
        # A resolution that left the chain takes its votes along: a vote on its id later is
        # dropped (processed) or starts a new resolution (0.7 after an expiry).
        for resolved in committed.result.outcomes:
            self._seen.pop(resolved.id, None)
            self._bodies.pop(resolved.id, None)


class NoFakeResolution(Checker):
    """An event no honest validator observed never passes. When the byzantine validators
    hold the confirmation threshold the fake passes by design; the run still says so."""

    name = "no-fake-resolution"

    def __init__(self, view: Any, report: Any) -> None:
        super().__init__(view, report)
        self._honest = {n.name for n in view.nodes if not n.byzantine}
        self._byzantine = {n.name for n in view.nodes if n.byzantine}
        self._honestly_seen: set[str] = set()
        self._cursor = 0

    def on_block(self, committed: Committed) -> None:
        observed = self.view.records.observations
        if len(observed) > self._cursor:  # (a slice of the column log costs even when empty)
            for node, rid, _time in observed[self._cursor:]:
                if node in self._honest:
                    self._honestly_seen.add(rid)
            self._cursor = len(observed)
        if not committed.result.outcomes:
            return
        # Powers as they were when the block's votes were counted (a join passing in this
        # block does not change the threshold the resolution passed against).
        powers = self.view.chain.validators_after(committed.block.height - 1)
        total = sum(powers.values())
        before = None
        for outcome in committed.result.outcomes:
            if outcome.status != "passed" or outcome.type in RECURRING_TYPES or outcome.type is None:
                continue
            if outcome.id in self._honestly_seen:
                # Passed: processed for good, so it is not kept (the set stays as small as the
                # ids in flight). Passing again is resolution-once's to report, not a fake.
                self._honestly_seen.discard(outcome.id)
                continue
            if before is None:
                before = self.view.chain.state_after(committed.block.height - 1)
            if before.is_processed(outcome.id):
                continue
            byzantine = sum(powers.get(n, 0) for n in self._byzantine)
            threshold = self.view.types.get(outcome.type).confirmation_threshold
            needed = required_power(total, threshold)
            verdict = ("they hold the threshold, so the fake passes by design" if byzantine >= needed
                       else "below the threshold: honest votes were counted for it")
            self.report(outcome.voters, f"{outcome.id} ({outcome.type}) passed at height "
                        f"{committed.block.height} but no honest validator observed it; byzantine "
                        f"power {byzantine} of {total} against {needed} required ({threshold}): {verdict}")
