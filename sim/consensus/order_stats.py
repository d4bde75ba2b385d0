"""The k-th smallest value of every row of a large matrix, faster than ``np.partition``.

A thousand-node world asks, twice a height, for the k-th smallest of a thousand arrival
times for each of a thousand receivers. numpy's partition (introselect, no SIMD) takes
~9 ns an element there. Here a sorted sample of each row brackets the answer between two of
its values; counting what lies below the bracket and sorting only what lies inside it (a
few dozen values a row, in short rows numpy sorts with SIMD) finds the same value sooner
(7.2 instead of 9.4 ms a quorum in a thousand-node run). The bracket only decides the speed:
a row whose answer falls outside it is partitioned as before, so the result is exactly
``np.partition``'s.
"""

from __future__ import annotations

import math

import numpy as np

MIN_COLUMNS = 400  # below this, the bookkeeping costs more than the partition saves
_STRIDE = 4  # the sample is every 4th column
_SPREAD = 2.0  # bracket half-width, in standard deviations of the sample rank
_EXACT = 2**53  # weight sums below this are exact as floats
# Rows are searched a chunk of about this many cells at a time (2 MB of floats): the search
# passes over its rows several times (sample, two comparisons, counts, gather), and a chunk's
# passes stay nearer the core than a whole thousand-node matrix's (8 MB). In a 1,000-validator
# run, old and new searches alternating: 5.6 -> 5.1 ms a quorum.
CHUNK_CELLS = 1 << 18


def kth_smallest_per_row(values: np.ndarray, k: int) -> np.ndarray:
    """Per row of ``values`` (no NaN), its ``k``-th smallest value (``1 <= k <= columns``):
    ``np.partition(values, k - 1, axis=1)[:, k - 1]``, the same floats."""
    rows, columns = values.shape
    if columns < MIN_COLUMNS or rows == 0:
        return np.partition(values, k - 1, axis=1)[:, k - 1]
    if rows > _chunk_rows(columns):  # each row's answer is its own: chunks give the same floats
        return np.concatenate([kth_smallest_per_row(part, k) for part in _chunks(values)])
    low, high = _bracket(values, k / columns)
    under = values < low
    below = _count_per_row(under)
    inside = values <= high
    up_to_high = _count_per_row(inside)
    counts = up_to_high - below
    if int(counts.max()) > columns // 4:  # rows full of ties or of inf: bracketing would not narrow them
        return np.partition(values, k - 1, axis=1)[:, k - 1]
    inside ^= under  # ``under`` lies within ``inside`` (low <= high): ``inside & ~under``, faster
    padded, _at, _row_of, _place = _gather(values, inside, counts)
    padded.sort(axis=1)
    found = (below < k) & (up_to_high >= k)
    result = padded[np.arange(rows), np.where(found, k - 1 - below, 0)]
    if not found.all():
        missed = np.flatnonzero(~found)
        result[missed] = np.partition(values[missed], k - 1, axis=1)[:, k - 1]
    return result


def weighted_crossing_per_row(values: np.ndarray, weights: np.ndarray, total: int) -> np.ndarray:
    """Per row of ``values`` (no NaN; column j weighs ``weights[j]``, integers), the least
    value ``v`` at which ``3 · (weight of the row's values <= v) > 2 · total``; inf where no
    value reaches it. The weighted twin of ``kth_smallest_per_row``, bracketed the same way:
    only the values between two of the sample's are sorted."""
    rows, columns = values.shape
    weight = int(weights.sum())
    if 3 * weight <= 2 * total:
        return np.full(rows, math.inf)  # even every value together does not reach it
    if columns < MIN_COLUMNS or rows == 0 or 3 * weight >= _EXACT or 2 * total >= _EXACT:
        return crossing_by_sorting(values, weights, total)
    if rows > _chunk_rows(columns):
        return np.concatenate([weighted_crossing_per_row(part, weights, total) for part in _chunks(values)])
    # The crossing's rank share is about its weight share when weights and values are
    # unrelated; the bracket widens with how unequal the weights are.
    unevenness = float(weights.var()) / float(weights.mean()) ** 2
    low, high = _bracket(values, 2 * total / (3 * weight), unevenness)
    up_to_high_mask = values <= high
    inside = up_to_high_mask & (values >= low)
    counts = _count_per_row(inside)
    if int(counts.max()) > columns // 4:  # rows full of ties or of inf: bracketing would not narrow them
        return crossing_by_sorting(values, weights, total)
    padded, at, row_of, place = _gather(values, inside, counts)
    column_of = at % columns
    # summed as integers by einsum: a float matmul would call BLAS, whose threads spin on
    # every core (twice the CPU for the same wall time, and in the way of sweep workers)
    up_to_high = np.einsum("ij,j->i", up_to_high_mask, weights.astype(np.int64)).astype(float)
    below = up_to_high - np.bincount(row_of, weights=weights[column_of], minlength=rows)
    padded_weights = np.zeros(padded.shape)
    padded_weights[row_of, place] = weights[column_of]
    order = np.argsort(padded, axis=1)
    cumulative = below[:, None] + np.cumsum(np.take_along_axis(padded_weights, order, axis=1), axis=1)
    result, reached = _first_crossing(np.take_along_axis(padded, order, axis=1), cumulative, total)
    found = (3 * below <= 2 * total) & reached
    if not found.all():
        missed = np.flatnonzero(~found)
        result[missed] = crossing_by_sorting(values[missed], weights, total)
    return result


def crossing_by_sorting(values: np.ndarray, weights: np.ndarray, total: int) -> np.ndarray:
    """``weighted_crossing_per_row`` by sorting every row whole (small or unusual matrices)."""
    order = np.argsort(values, axis=1, kind="stable")
    result, reached = _first_crossing(np.take_along_axis(values, order, axis=1),
                                      np.cumsum(weights[order], axis=1), total)
    result[~reached] = math.inf
    return result


def _chunk_rows(columns: int) -> int:
    """How many rows of ``columns`` cells make a chunk (``CHUNK_CELLS``)."""
    return max(1, CHUNK_CELLS // columns)


def _chunks(values: np.ndarray) -> list[np.ndarray]:
    """``values`` cut into chunks of ``_chunk_rows`` rows (views, in row order)."""
    step = _chunk_rows(values.shape[1])
    return [values[start:start + step] for start in range(0, len(values), step)]


def _bracket(values: np.ndarray, share: float, unevenness: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Per row, two values of a sorted sample (every ``_STRIDE``-th column) around the one at
    ``share`` of the way up, ``_SPREAD`` standard deviations of the sample rank apart on
    each side (widened by the weights' ``unevenness``), as columns."""
    sample = np.sort(values[:, ::_STRIDE], axis=1)
    size = sample.shape[1]
    spread = _SPREAD * math.sqrt(size * share * (1 - share) * (1 + unevenness)) + 1
    low_at = max(0, int(share * size - spread))
    high_at = min(size - 1, int(share * size + spread))
    return sample[:, low_at, None], sample[:, high_at, None]


def _gather(values: np.ndarray, inside: np.ndarray, counts: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The cells of ``inside`` (``counts`` a row), row by row, left-aligned in rows padded with
    inf; with their flat positions, their rows, and their places in the padded rows."""
    rows, columns = values.shape
    # flat positions, then a take: faster than a boolean index, whose cost is its mispredicted
    # branches (a thousand-node world's bracket holds about one value in eight)
    at = np.flatnonzero(inside)
    row_of = at // columns
    place = np.arange(at.size) - (np.cumsum(counts) - counts)[row_of]
    padded = np.full((rows, int(counts.max())), math.inf)
    padded[row_of, place] = values.ravel().take(at) if values.flags.c_contiguous else values[inside]
    return padded, at, row_of, place


def _first_crossing(sorted_values: np.ndarray, cumulative: np.ndarray, total: int
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the value where the cumulative weight first makes ``3 · weight > 2 · total``
    (the row's first value where none does), and whether it does."""
    reached = 3 * cumulative > 2 * total
    first = reached.argmax(axis=1)
    everyone = np.arange(len(sorted_values))
    return sorted_values[everyone, first], reached[everyone, first]


def _count_per_row(mask: np.ndarray) -> np.ndarray:
    """How many cells of each row of a boolean matrix are set (``np.count_nonzero(mask,
    axis=1)``, summed as bytes: twice as fast)."""
    return mask.view(np.uint8).sum(axis=1, dtype=np.int32)  # (int64 sums are no faster than counting)
