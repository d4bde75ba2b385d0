"""CometBFT's weighted round-robin proposer selection (the proposer-priority algorithm).

Pure integer arithmetic over (address, power, priority), mirroring
``types/validator_set.go``: each step adds power to every priority, picks the highest
(ties: the smaller address) and subtracts the total power from it. Before each batch of
steps priorities are rescaled when their spread exceeds 2 x total power, and re-centred on
their average.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

PRIORITY_WINDOW_SIZE_FACTOR = 2


def address_key(name: str) -> tuple[str, int, str]:
    """Order validator names numerically: v2 < v10 (the spec's address order)."""
    head = name.rstrip("0123456789")
    digits = name[len(head):]
    return (head, int(digits) if digits else -1, name)


def _trunc_div(a: int, b: int) -> int:
    """Go's integer division, which truncates toward zero."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


@attrs.define
class ProposerRotation:
    """Validator powers and proposer priorities; ``advance`` moves to the next height."""

    powers: dict[str, int]
    priorities: dict[str, int] = attrs.field(factory=dict)
    _order: list[str] | None = attrs.field(default=None, init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        for name in self.powers:
            self.priorities.setdefault(name, 0)

    @property
    def total_power(self) -> int:
        return sum(self.powers.values())

    def copy(self) -> ProposerRotation:
        twin = ProposerRotation(dict(self.powers), dict(self.priorities))
        twin._order = self._order  # the same powers: the same address order (never mutated)
        return twin

    def _ordered(self) -> list[str]:
        # powers only change through update(), which clears this cache
        order = self._order
        if order is None or len(order) != len(self.powers):
            order = self._order = sorted(self.powers, key=address_key)
        return order

    def _rescale_and_shift(self) -> None:
        names = self._ordered()
        if not names:
            return
        total = self.total_power
        diff_max = PRIORITY_WINDOW_SIZE_FACTOR * total
        values = [self.priorities[n] for n in names]
        diff = max(values) - min(values)
        if diff_max > 0 and diff > diff_max:
            ratio = (diff + diff_max - 1) // diff_max
            for n in names:
                self.priorities[n] = _trunc_div(self.priorities[n], ratio)
        # big.Int division in Go's computeAvgProposerPriority floors (Euclidean, n > 0).
        avg = sum(self.priorities[n] for n in names) // len(names)
        for n in names:
            self.priorities[n] -= avg

    def _step(self) -> str:
        names = self._ordered()
        priorities = self.priorities
        powers = self.powers
        best = names[0]
        highest = None
        for n in names:
            priority = priorities[n] = priorities[n] + powers[n]
            if highest is None or priority > highest:  # ties: the first (smaller) address
                best, highest = n, priority
        priorities[best] -= self.total_power
        return best

    def increment(self, times: int) -> str:
        """Advance ``times`` steps (CometBFT's IncrementProposerPriority); return the proposer
        ("" when the set is empty)."""
        if not self.powers:
            return ""
        self._rescale_and_shift()
        proposer = ""
        for _ in range(times):
            proposer = self._step()
        return proposer

    def proposer_for_round(self, round_: int) -> str:
        """The proposer of round ``round_`` of the current height (round 0 = ``increment(1)``)."""
        if round_ == 0:
            raise ValueError("round 0's proposer is the one returned by increment(1)")
        return self.copy().increment(round_)

    def update(self, changes: Iterable[tuple[str, int]]) -> None:
        """Apply validator updates (power 0 removes), as CometBFT's updateWithChangeSet."""
        changes = list(changes)
        new_powers = dict(self.powers)
        for name, power in changes:
            if power <= 0:
                new_powers.pop(name, None)
            else:
                new_powers[name] = power
        # A newcomer starts at -1.125 x the total after the updates but *before* the removals
        # (CometBFT's tvpAfterUpdatesBeforeRemovals): removed validators still count here.
        removed = sum(self.powers.get(name, 0) for name, power in changes if power <= 0)
        total = sum(new_powers.values()) + removed
        for name, power in changes:
            if power > 0 and name not in self.powers:
                self.priorities[name] = -(total + (total >> 3))
        for name in list(self.priorities):
            if name not in new_powers:
                del self.priorities[name]
        self.powers = new_powers
        self._order = None
        self._rescale_and_shift()


def proposer_sequence(powers: dict[str, int], count: int) -> list[str]:
    """The proposers of ``count`` successive heights (round 0) from genesis."""
    rotation = ProposerRotation(dict(powers))
    return [rotation.increment(1) for _ in range(count)]
