"""The bracketed k-th smallest per row against numpy's partition."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim.consensus.order_stats as order_stats
from sim.consensus.order_stats import (
    MIN_COLUMNS,
    crossing_by_sorting,
    kth_smallest_per_row,
    weighted_crossing_per_row,
)
from sim.consensus.planner import quorum_times


def _partition_kth(values: np.ndarray, k: int) -> np.ndarray:
    return np.partition(values, k - 1, axis=1)[:, k - 1]


@settings(max_examples=60, deadline=None, database=None)
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(1, 40), columns=st.integers(MIN_COLUMNS, 700),
       share=st.floats(0.0, 1.0), infinite=st.sampled_from([0.0, 0.01, 0.3, 0.9]),
       levels=st.sampled_from([0, 3, 50]))
def test_the_kth_smallest_is_numpys_to_the_bit(seed: int, rows: int, columns: int, share: float,
                                                infinite: float, levels: int) -> None:
    """For any matrix without NaN (continuous times, a few repeated values, or many ties;
    none, some or most of them inf, by row and by column) and any k, every row's k-th smallest
    value is the one np.partition finds, whether the sample brackets it or the row falls
    back."""
    rng = np.random.default_rng(seed)
    values = rng.lognormal(-2.5, 0.5, size=(rows, columns)) + rng.random(columns)[None, :]
    if levels:
        values = np.round(values * levels) / levels
    values[rng.random((rows, columns)) < infinite] = math.inf
    values[:, rng.random(columns) < infinite / 3] = math.inf
    k = 1 + min(columns - 1, int(share * columns))
    assert np.array_equal(kth_smallest_per_row(values, k), _partition_kth(values, k))


def test_a_row_outside_its_bracket_and_rows_of_ties_fall_back() -> None:
    """A row whose sample misleads the bracket (its sampled columns are its smallest values)
    and a matrix mostly of one value still give np.partition's answers."""
    columns = 800
    misleading = np.arange(columns, dtype=float)
    misleading[::4] = -1.0 - np.arange(columns // 4)  # every sampled value below the rest
    values = np.vstack([misleading, np.linspace(0, 1, columns)])
    for k in (1, 300, 534, columns):
        assert np.array_equal(kth_smallest_per_row(values, k), _partition_kth(values, k))
    ties = np.full((5, columns), 2.0)
    ties[:, :10] = 1.0
    assert np.array_equal(kth_smallest_per_row(ties, 534), _partition_kth(ties, 534))


def test_rows_are_searched_a_chunk_at_a_time_with_the_same_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    """With chunks of three rows, ten rows (one of them misleading its bracket) are searched
    three rows at most at a time, and every row's k-th smallest and weighted crossing are
    the ones found over the whole matrix."""
    columns = 800
    rng = np.random.default_rng(11)
    values = rng.lognormal(-2.5, 0.5, size=(10, columns))
    values[4] = np.arange(columns, dtype=float)
    values[4, ::4] = -1.0 - np.arange(columns // 4)
    weights = rng.integers(1, 5, size=columns)
    total = int(weights.sum())
    whole_kth = [_partition_kth(values, k) for k in (1, 534, columns)]
    whole_crossing = crossing_by_sorting(values, weights, total)
    seen: list[int] = []
    bracket = order_stats._bracket

    def spying_bracket(part: np.ndarray, *args: float) -> tuple[np.ndarray, np.ndarray]:
        seen.append(len(part))
        return bracket(part, *args)

    monkeypatch.setattr(order_stats, "_bracket", spying_bracket)
    monkeypatch.setattr(order_stats, "CHUNK_CELLS", 3 * columns)
    for k, expected in zip((1, 534, columns), whole_kth, strict=True):
        assert np.array_equal(kth_smallest_per_row(values, k), expected)
    assert np.array_equal(weighted_crossing_per_row(values, weights, total), whole_crossing)
    assert seen and max(seen) == 3 and sum(seen) == 4 * len(values)


def test_quorum_times_of_a_large_receiver_major_matrix_take_the_bracketed_path() -> None:
    """Equal-power quorum times of a thousand senders laid out receiver by receiver (as the
    network builds them) are those of the same matrix laid out sender by sender."""
    rng = np.random.default_rng(7)
    by_receiver = rng.lognormal(-2.5, 0.5, size=(300, 1000))
    arrivals = by_receiver.T  # [sender, receiver], each receiver's column contiguous
    assert arrivals.flags.f_contiguous
    powers = np.ones(1000, dtype=np.int64)
    assert np.array_equal(quorum_times(arrivals, powers, 1000, reorder=True),
                          quorum_times(np.ascontiguousarray(by_receiver.T), powers, 1000))


def _crossing_one_by_one(row: list[float], weights: list[int], total: int) -> float:
    """The definition, value by value: the least value whose row weight at or below it
    exceeds two thirds of ``total``."""
    for value in sorted(row):
        if 3 * sum(w for v, w in zip(row, weights, strict=True) if v <= value) > 2 * total:
            return value
    return math.inf


@settings(max_examples=60, deadline=None, database=None)
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(1, 30), columns=st.integers(1, 700),
       heaviest=st.sampled_from([1, 4, 100]), extra=st.sampled_from([0.0, 0.2, 0.6]),
       infinite=st.sampled_from([0.0, 0.01, 0.3]), levels=st.sampled_from([0, 3, 50]))
def test_the_weighted_crossing_is_the_sorted_one_to_the_bit(
        seed: int, rows: int, columns: int, heaviest: int, extra: float, infinite: float,
        levels: int) -> None:
    """For any matrix without NaN, integer weights and a total at or above their sum (power
    held by nodes that do not vote), the bracketed crossing equals the crossing found by
    sorting every row whole, which equals the definition checked value by value."""
    rng = np.random.default_rng(seed)
    values = rng.lognormal(-2.5, 0.5, size=(rows, columns)) + rng.random(columns)[None, :]
    if levels:
        values = np.round(values * levels) / levels
    values[rng.random((rows, columns)) < infinite] = math.inf
    weights = rng.integers(1, heaviest + 1, size=columns)
    total = int(weights.sum() * (1 + extra))
    sorted_whole = crossing_by_sorting(values, weights, total)
    assert np.array_equal(weighted_crossing_per_row(values, weights, total), sorted_whole)
    for r in range(min(rows, 3)):
        assert sorted_whole[r] == _crossing_one_by_one(values[r].tolist(), weights.tolist(), total)
