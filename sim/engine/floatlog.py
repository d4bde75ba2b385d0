"""A run-long column of floats kept on disk a chunk at a time, and its exact percentiles.

A long run appends a commit interval per validator per block (a hundred validators: ~270,000
an hour) and reports their p50 and p99. Held in memory they were the largest thing a long run
grew by, and ``np.percentile`` copied them all once more at the end. ``FloatLog`` keeps its
newest values in memory and older chunks in a ``ChunkFile``; ``FloatLog.percentile`` gives
exactly what ``np.percentile`` (its default, linear method) gives over all the values while
reading one chunk at a time: it finds the order statistics it needs by a radix selection over
the values' bits, then interpolates between them as numpy does.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Iterable, Iterator
from typing import Any, overload

import numpy as np

from sim.engine.spill import ChunkFile

# Values kept in memory before they move to the file: 512 KB.
CHUNK_FLOATS = 1 << 16
_DIGIT_BITS = 11  # the radix selection reads a value's 64 bits 11 at a time: six passes
_SLICE = 1 << 14  # values per step of a pass: its temporaries stay ~130 KB
_SIGN = np.uint64(1 << 63)


class FloatLog:
    """Append-only float64 values; reads back by index, slice, iteration or ``np.asarray``."""

    def __init__(self, values: Iterable[float] = (), chunk_floats: int | None = None) -> None:
        chunk_floats = CHUNK_FLOATS if chunk_floats is None else chunk_floats
        if chunk_floats < 1:
            raise ValueError(f"chunk_floats must be at least 1, got {chunk_floats}")
        self._chunk_floats = chunk_floats
        self._file = ChunkFile()
        self._chunk_ids: list[int] = []
        self._spilled = 0
        self._tail = array("d")
        self.extend(values)

    def append(self, value: float) -> None:
        tail = self._tail
        tail.append(value)
        if len(tail) >= self._chunk_floats:
            self._spill()

    def extend(self, values: Iterable[float]) -> None:
        data = values if isinstance(values, array) and values.typecode == "d" else array("d", values)
        start = 0
        while start < len(data):
            room = len(data) if self._file.broken else self._chunk_floats - len(self._tail)
            self._tail.extend(data[start:start + room])
            start += room
            if len(self._tail) >= self._chunk_floats:
                self._spill()

    def _spill(self) -> None:
        if self._file.broken:
            return  # no temporary space: the values stay in memory
        chunk = self._file.add(self._tail.tobytes())
        if chunk is not None:
            self._chunk_ids.append(chunk)
            self._spilled += len(self._tail)
            self._tail = array("d")

    def chunks(self) -> Iterator[np.ndarray]:
        """The values in order, a chunk (a fresh array) at a time."""
        for chunk in self._chunk_ids:
            yield np.frombuffer(self._file.read(chunk), dtype=np.float64)
        if self._tail:
            yield np.array(self._tail, dtype=np.float64)

    @property
    def spilled(self) -> int:
        """How many values live in the file (the rest are in memory)."""
        return self._spilled

    def __len__(self) -> int:
        return self._spilled + len(self._tail)

    def __iter__(self) -> Iterator[float]:
        for chunk in self.chunks():
            yield from chunk.tolist()

    @overload
    def __getitem__(self, index: int) -> float: ...

    @overload
    def __getitem__(self, index: slice) -> list[float]: ...

    def __getitem__(self, index: int | slice) -> float | list[float]:
        if isinstance(index, slice):
            return np.asarray(self)[index].tolist()  # type: ignore[no-any-return]
        position = index + len(self) if index < 0 else index
        if not 0 <= position < len(self):
            raise IndexError(f"value {index} of {len(self)}")
        if position >= self._spilled:
            return self._tail[position - self._spilled]
        chunk, offset = divmod(position, self._chunk_floats)
        return float(np.frombuffer(self._file.read(self._chunk_ids[chunk]), dtype=np.float64)[offset])

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        parts = list(self.chunks())
        values = np.concatenate(parts) if parts else np.empty(0, dtype=np.float64)
        return values if dtype is None else values.astype(dtype)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FloatLog | array | list | tuple):
            return len(self) == len(other) and bool(np.array_equal(np.asarray(self), np.asarray(other)))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        # the temporary file cannot travel: a copy carries the values themselves
        return (FloatLog, (array("d", np.asarray(self).tobytes()) if len(self) else (), self._chunk_floats))

    def __repr__(self) -> str:
        return f"FloatLog({len(self)} values, {self._spilled} on disk)"

    def percentile(self, q: float) -> float:
        """``float(np.percentile(all the values, q))``, to the bit, one chunk in memory at a time
        (nan when there are no values)."""
        if not self._spilled:  # all in memory: a copy of the newest chunk at most
            return values_percentile(np.frombuffer(self._tail, dtype=np.float64), q)
        return exact_percentile(self.chunks, len(self), q)


# Up to this many values, sorting them and reading two is cheaper than ``np.percentile``'s
# setup (~50 us a call, six calls a run); above, numpy's partition is cheaper than a sort.
SORT_AT_MOST = 4096


def values_percentile(values: np.ndarray, q: float) -> float:
    """``float(np.percentile(values, q))`` to the bit (signed zeros aside: numpy orders 0.0
    and -0.0 as equal), nan when there are none."""
    n = len(values)
    if n > SORT_AT_MOST:
        return float(np.percentile(values, q))
    if n == 0:
        return math.nan
    ordered = np.sort(values)  # nan sorts last
    if math.isnan(ordered[n - 1]):
        return math.nan  # numpy's answer when a value is nan
    return _linear(n, q, ordered.item)


def exact_percentile(chunks: Any, n: int, q: float) -> float:
    """numpy's linear percentile of the ``n`` values ``chunks()`` yields (called once per pass).

    numpy: virtual index ``v = (n - 1) * (q / 100)``; ``a, b`` the order statistics at
    ``floor(v)`` and the one after (both the largest value when ``v >= n - 1``); ``t = v -
    floor(v)``; the result is ``a + (b - a) * t``, or ``b - (b - a) * (1 - t)`` when ``t >= 0.5``.
    """
    if n == 0:
        return math.nan
    if any(bool(np.isnan(chunk).any()) for chunk in chunks()):
        return math.nan  # numpy's answer when a value is nan
    return _linear(n, q, lambda rank: _select(chunks, rank))


def _linear(n: int, q: float, value_at: Callable[[int], float]) -> float:
    """numpy's linear interpolation between the order statistics ``value_at(rank)`` of ``n``
    values (``exact_percentile``'s formula)."""
    if not 0 <= q <= 100:
        raise ValueError(f"a percentile must be in [0, 100], not {q}")
    fraction = float(np.true_divide(q, 100))
    virtual = (n - 1) * fraction
    if virtual >= n - 1:
        largest = value_at(n - 1)
        low, high, t = largest, largest, virtual + 1  # numpy's index -1 for both
    else:
        below = math.floor(virtual)
        low, high, t = value_at(below), value_at(below + 1), virtual - below
    diff = high - low
    return high - diff * (1 - t) if t >= 0.5 else low + diff * t


def _sort_keys(values: np.ndarray) -> np.ndarray:
    """Unsigned integers in the order of the floats (negatives reversed below the positives)."""
    bits = values.view(np.uint64)
    return np.where(bits & _SIGN, ~bits, bits | _SIGN)


def _from_key(key: int) -> float:
    bits = key ^ (1 << 63) if key & (1 << 63) else ~key & 0xFFFFFFFFFFFFFFFF
    return float(np.array([bits], dtype=np.uint64).view(np.float64)[0])


def _select(chunks: Any, rank: int) -> float:
    """The value at ``rank`` (0-based) in sorted order: six passes, each counting one digit
    (11 bits, the last 9) of the sort keys that share the digits found so far."""
    prefix, top = 0, 64  # the digits found so far are the key's bits from ``top`` up
    while top > 0:
        shift = max(top - _DIGIT_BITS, 0)
        width = top - shift
        counts = np.zeros(1 << width, dtype=np.int64)
        for chunk in chunks():
            for start in range(0, len(chunk), _SLICE):
                keys = _sort_keys(chunk[start:start + _SLICE])
                if top < 64:
                    keys = keys[(keys >> np.uint64(top)) == np.uint64(prefix)]
                digits = (keys >> np.uint64(shift)) & np.uint64((1 << width) - 1)
                counts += np.bincount(digits.astype(np.intp), minlength=1 << width)
        cumulative = np.cumsum(counts)
        digit = int(np.searchsorted(cumulative, rank, side="right"))
        rank -= int(cumulative[digit - 1]) if digit else 0
        prefix, top = (prefix << width) | digit, shift
    return _from_key(prefix)
