"""The heaviest mutually connected group: the same answer as the set-based search it replaced."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.world.cliques import heaviest_clique


def by_sets(names: list[str], missing: dict[str, set[str]], powers: dict[str, int]) -> list[str]:
    """The search the progress checks used before (sets of names; a thousand validators under
    a partition cost seconds per question): the reference the matrix search must match."""
    if not any(missing.values()):
        return names
    if len(names) <= 12:
        best: list[str] = []
        best_power = -1
        for bits in range(1, 1 << len(names)):
            chosen = [n for k, n in enumerate(names) if bits >> k & 1]
            if any(missing[a] & set(chosen) for a in chosen):
                continue
            power = sum(powers[n] for n in chosen)
            if power > best_power:
                best, best_power = chosen, power
        return best
    group = list(names)
    while any(missing[a] & set(group) for a in group):
        worst = max(group, key=lambda a: (len(missing[a] & set(group)), -powers[a], names.index(a)))
        group.remove(worst)
    return group


Graph = tuple[list[str], np.ndarray, list[int]]  # names, cut matrix, powers


@st.composite
def cut_graphs(draw: st.DrawFn) -> Graph:
    n = draw(st.integers(1, 24))
    density = draw(st.sampled_from([0.0, 0.05, 0.2, 0.5, 0.9]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    upper = np.triu(rng.random((n, n)) < density, k=1)
    cut = upper | upper.T
    if draw(st.booleans()):  # a partition: two sides cut off from each other, plus noise
        side = rng.random(n) < 0.3
        cut |= side[:, None] != side[None, :]
    np.fill_diagonal(cut, False)
    powers = draw(st.lists(st.integers(1, 5), min_size=n, max_size=n))
    return [f"v{i}" for i in range(n)], cut, powers


@settings(max_examples=300, deadline=None)
@given(cut_graphs())
def test_the_matrix_search_picks_the_group_the_set_search_picked(graph: Graph) -> None:
    """For any cut graph and powers, exact (up to 12 validators) or greedy (beyond), the
    group found is the same, member for member and in the same order, as the set-based
    search gave: the checks' verdicts cannot change with the faster search."""
    names, cut, powers = graph
    missing = {a: {names[j] for j in np.flatnonzero(cut[k])} for k, a in enumerate(names)}
    assert heaviest_clique(names, cut, powers) == by_sets(names, missing, dict(zip(names, powers, strict=True)))


def test_a_thousand_validators_split_in_two_keep_the_bigger_side() -> None:
    names = [f"v{i}" for i in range(1000)]
    minority = np.zeros(1000, dtype=bool)
    minority[700:] = True
    cut = minority[:, None] != minority[None, :]
    assert heaviest_clique(names, cut, [1] * 1000) == names[:700]
