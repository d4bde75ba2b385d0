"""The heaviest group of validators that all reach each other (the progress checks ask it).

Consensus needs more than 2/3 of the power in validators that exchange messages directly,
both ways (the simulated network does not relay). Under a partition that is a maximum-weight
clique of the "not cut off" graph: found exactly for a handful of validators, greedily for
more. The greedy search works on the cut matrix with numpy: a thousand validators split by a
partition cost milliseconds per question, not the seconds a per-member set scan did.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

EXACT_UP_TO = 12  # validators: every subset is tried up to here (4,096 of them)


def heaviest_clique(names: Sequence[str], cut: np.ndarray, powers: Sequence[int]) -> list[str]:
    """The heaviest subset of ``names`` (kept in their order) in which no two are cut off
    from each other. ``cut`` is a symmetric boolean matrix over ``names`` with a false
    diagonal, ``powers`` their weights. Exact up to ``EXACT_UP_TO`` names (the first heaviest
    subset in counting order); beyond, greedy: drop the member cut off from the most of the
    others left (ties: the lighter, then the later) until no two are cut off."""
    n = len(names)
    if not cut.any():
        return list(names)
    if n <= EXACT_UP_TO:
        cut_from = [sum(1 << int(j) for j in np.flatnonzero(cut[k])) for k in range(n)]
        best, best_power = 0, -1
        for chosen in range(1, 1 << n):
            if any(chosen >> k & 1 and cut_from[k] & chosen for k in range(n)):
                continue
            power = sum(powers[k] for k in range(n) if chosen >> k & 1)
            if power > best_power:
                best, best_power = chosen, power
        return [name for k, name in enumerate(names) if best >> k & 1]
    left = np.ones(n, dtype=bool)
    cut_off_from = cut.sum(axis=1)  # per member: how many of the others left it misses
    weight = np.asarray(powers)
    while cut_off_from[left].any():
        most = np.where(left, cut_off_from, -1)
        candidates = np.flatnonzero(most == most.max())
        lightest = candidates[weight[candidates] == weight[candidates].min()]
        worst = int(lightest.max())
        left[worst] = False
        cut_off_from -= cut[:, worst]
    return [name for k, name in enumerate(names) if left[k]]
