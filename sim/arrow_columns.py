"""A run's record columns as pyarrow arrays, without pyarrow importing pandas.

``pa.array`` first asks whether its input is a pandas object, and asking imports pandas:
half a second, the first time in a process, that every ``nodesim run`` paid to write its
records although nothing there uses pandas. The arrays here are made from buffers instead
(numpy for numbers, offsets and validity bitmaps; ``pa.Array.from_buffers`` and
``pa.ListArray.from_arrays``): the same arrays ``pa.array`` makes of these columns (type,
values and nulls), which ``tests/test_load_run.py`` checks.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from sim.engine.floatlog import FloatLog

_NUMBERS = {pa.float64(): np.float64, pa.int64(): np.int64}
_MOST_BYTES = (1 << 31) - 1  # string and binary offsets are int32


def column(values: Sequence[Any], type_: pa.DataType) -> pa.Array:
    """``pa.array(values, type=type_)`` for the types a run's records use: float64, int64,
    bool, string, binary and lists of strings; None is null."""
    if isinstance(values, array | FloatLog | np.ndarray):
        typed = np.asarray(values)
        if type_ in _NUMBERS and typed.ndim == 1:
            numbers = np.ascontiguousarray(typed, dtype=_NUMBERS[type_])
            return pa.Array.from_buffers(type_, len(numbers), [None, pa.py_buffer(numbers)])
        values = typed.tolist()
    n = len(values)
    validity, nulls = _validity(values)
    if type_ in _NUMBERS:
        data = np.array([0 if v is None else v for v in values], dtype=_NUMBERS[type_])
        return pa.Array.from_buffers(type_, n, [validity, pa.py_buffer(data)], null_count=nulls)
    if type_ == pa.bool_():
        bits = np.packbits(np.array([bool(v) for v in values], dtype=bool), bitorder="little")
        return pa.Array.from_buffers(type_, n, [validity, pa.py_buffer(bits)], null_count=nulls)
    if type_ in (pa.string(), pa.binary()):
        items = [b"" if v is None else (v.encode() if type_ == pa.string() else bytes(v)) for v in values]
        joined = b"".join(items)
        if len(joined) > _MOST_BYTES:
            raise ValueError(f"a {type_} column of {len(joined)} bytes does not fit int32 offsets")
        return pa.Array.from_buffers(type_, n, [validity, pa.py_buffer(_offsets(items)), pa.py_buffer(joined)],
                                     null_count=nulls)
    if type_ == pa.list_(pa.string()):
        lists = [() if v is None else v for v in values]
        offsets = pa.Array.from_buffers(pa.int32(), n + 1, [None, pa.py_buffer(_offsets(lists))])
        items = column([item for one in lists for item in one], pa.string())
        return pa.ListArray.from_arrays(offsets, items, mask=None if nulls == 0 else column(
            [v is None for v in values], pa.bool_()))
    raise TypeError(f"no column builder for {type_}")


def _validity(values: Sequence[Any]) -> tuple[pa.Buffer | None, int]:
    """Arrow's validity bitmap (a bit per value, least significant first) and the null count;
    no bitmap when nothing is null."""
    valid = np.array([v is not None for v in values], dtype=bool)
    nulls = len(valid) - int(valid.sum())
    if nulls == 0:
        return None, 0
    return pa.py_buffer(np.packbits(valid, bitorder="little")), nulls


def _offsets(items: Sequence[Sequence[Any]]) -> np.ndarray:
    """int32 offsets of consecutive items: 0, then the running total of their lengths."""
    offsets = np.zeros(len(items) + 1, dtype=np.int32)
    np.cumsum(np.fromiter(map(len, items), dtype=np.int64, count=len(items)), out=offsets[1:], dtype=np.int32)
    return offsets
