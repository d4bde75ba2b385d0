"""Append-only record tables kept column by column, for the records a run grows fastest."""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, overload


class ColumnLog(Sequence[tuple[Any, ...]]):
    """Rows of one shape, read back as tuples, stored as one column each.

    A run appends a row per node per event it stores and per vote it casts: as a list of
    tuples that costs ~90 bytes a row and was most of a long run's memory. Here a number
    column is a typed array (8 bytes a row) and any other column a list of references to
    values the run shares anyway (node names, interned ids): ~24 bytes a row.
    """

    def __init__(self, kinds: str, rows: Iterable[Sequence[Any]] = ()) -> None:
        """``kinds`` has one letter per column: ``d`` float, ``q`` int, ``o`` any object."""
        self._columns: list[Any] = [[] if kind == "o" else array(kind) for kind in kinds]
        for row in rows:
            self.append(row)

    def append(self, row: Sequence[Any]) -> None:
        if len(row) != len(self._columns):
            raise ValueError(f"a row of {len(row)} values for {len(self._columns)} columns")
        for column, value in zip(self._columns, row, strict=True):
            column.append(value)

    def column(self, index: int) -> Sequence[Any]:
        return self._columns[index]  # type: ignore[no-any-return]

    def __len__(self) -> int:
        return len(self._columns[0])

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return zip(*self._columns, strict=True)

    @overload
    def __getitem__(self, index: int) -> tuple[Any, ...]: ...

    @overload
    def __getitem__(self, index: slice) -> list[tuple[Any, ...]]: ...

    def __getitem__(self, index: int | slice) -> tuple[Any, ...] | list[tuple[Any, ...]]:
        if isinstance(index, slice):
            return list(zip(*(column[index] for column in self._columns), strict=True))
        return tuple(column[index] for column in self._columns)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ColumnLog):
            return self._columns == other._columns
        return NotImplemented

    def __repr__(self) -> str:
        return f"ColumnLog({len(self)} rows)"
