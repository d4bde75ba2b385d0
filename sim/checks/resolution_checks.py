"""Invariants over resolutions as the chain decides them (README, "What the summary says")."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from node.resolutions import RECURRING_TYPES, required_power
from node.txs import VoteBodies, VoteIDs, event_id
from sim.checks.base import Checker

if TYPE_CHECKING:
    from sim.chain import Committed


class ResolutionOnce(Checker):
    """A resolution id is resolved at most once per chain (validator join/remove may recur)."""

    name = "resolution-once"

    def __init__(self, world: Any) -> None:
        super().__init__(world)
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
        types = self.world.types
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
    """An unresolved resolution is removed exactly at its expiration height."""

    name = "expiry-exact"

    def __init__(self, world: Any) -> None:
        super().__init__(world)
        self._due: dict[str, int] = {}

    def on_block(self, committed: Committed) -> None:
        height = committed.block.height
        state = committed.state
        assert state is not None
        types = self.world.types
        for tx in committed.block.txs:
            if isinstance(tx, VoteIDs):
                pairs = list(tx.votes)
            elif isinstance(tx, VoteBodies):
                pairs = [(event_id(t, b), t) for t, b in tx.events]
            else:
                continue
            for rid, event_type in pairs:
                if rid in state.resolutions and rid not in self._due and event_type in types:
                    self._due[rid] = height + types.get(event_type).expiration_period
        for rid in [r for r in self._due if r not in state.resolutions]:
            del self._due[rid]
        for rid, due in sorted(self._due.items()):
            if height >= due:
                self.report((), f"resolution {rid} still open at height {height}; it should have "
                            f"expired at {due}")
                del self._due[rid]
        for outcome in committed.result.outcomes:
            if outcome.status == "expired" and outcome.id in self._due and self._due[outcome.id] != height:
                self.report((), f"resolution {outcome.id} expired at {height}, due at {self._due[outcome.id]}")


class RefundsExact(Checker):
    """An expired resolution is refunded exactly when approved power reached the refund threshold."""

    name = "refunds-exact"

    def on_block(self, committed: Committed) -> None:
        pre = self.world.chain.validators_after(committed.block.height - 1)
        total = sum(pre.values())
        for outcome in committed.result.outcomes:
            if outcome.status != "expired" or outcome.type is None:
                continue
            threshold = self.world.types.get(outcome.type).refund_threshold
            approved = sum(pre.get(v, 0) for v in outcome.voters)
            should = approved >= required_power(total, threshold)
            if outcome.refunded != should and not committed.result.validator_updates:
                self.report(outcome.voters, f"{outcome.id} expired at height {committed.block.height} "
                            f"{'with' if outcome.refunded else 'without'} a refund; approved {approved} of "
                            f"{total} against refund threshold {threshold}")


class OneVotePerValidator(Checker):
    """No validator's vote-ids for the same id are executed twice."""

    name = "one-vote-per-validator"

    def __init__(self, world: Any) -> None:
        super().__init__(world)
        self._seen: set[tuple[str, str]] = set()

    def on_block(self, committed: Committed) -> None:
        for outcome in committed.result.txs:
            tx = outcome.tx
            if not isinstance(tx, VoteIDs) or (outcome.error or "").startswith("nonce"):
                continue
            for rid in tx.ids:
                key = (tx.sender, rid)
                if key in self._seen:
                    self.report((tx.sender,), f"{tx.sender}'s vote on {rid} executed twice "
                                f"(again at height {committed.block.height})")
                self._seen.add(key)


class NoFakeResolution(Checker):
    """An event no honest validator observed never passes while byzantine power < threshold."""

    name = "no-fake-resolution"

    def __init__(self, world: Any) -> None:
        super().__init__(world)
        self._honest = {n.name for n in world.nodes if n.settings.byzantine is None}
        self._honestly_seen: set[str] = set()
        self._cursor = 0

    def on_block(self, committed: Committed) -> None:
        state = committed.state
        assert state is not None
        observed = self.world.records.observations
        for node, rid, _time in observed[self._cursor:]:
            if node in self._honest:
                self._honestly_seen.add(rid)
        self._cursor = len(observed)
        for outcome in committed.result.outcomes:
            if outcome.status != "passed" or outcome.type in RECURRING_TYPES or outcome.type is None:
                continue
            if outcome.id in self._honestly_seen:
                continue
            byzantine = sum(state.power_of(n.name) for n in self.world.nodes
                            if n.settings.byzantine is not None)
            threshold = self.world.types.get(outcome.type).confirmation_threshold
            if byzantine < required_power(state.total_power, threshold):
                self.report(outcome.voters, f"{outcome.id} passed at height {committed.block.height} but "
                            f"no honest validator observed it (byzantine power {byzantine})")
