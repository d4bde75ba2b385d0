"""Append-only record tables kept column by column, for the records a run grows fastest.

A long run appends a row per node per event it stores and per vote it casts, hundreds of
thousands an hour, and keeps them all for its results. So that a run's memory stays flat in
virtual duration, a ``ColumnLog`` keeps only its newest rows in memory and moves older ones,
a chunk at a time, to a ``ChunkFile`` (sim/engine/spill.py). Reading the rows back streams
them chunk by chunk.
"""

from __future__ import annotations

from array import array
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from typing import Any, overload

from sim.engine.spill import ChunkFile

# Rows kept in memory before they move to the file: ~1 MB for a three-column log.
CHUNK_ROWS = 1 << 16
# Rows kept as the appended tuples until they are encoded, a column at a time
FRESH_ROWS = 1024


class Codebook:
    """The distinct values of an ``o`` column and their codes; logs whose columns hold the same
    values (the event ids of votes, observations and sends) can share one, so that a long run
    keeps each id's entry once instead of once per log."""

    def __init__(self) -> None:
        self.codes: dict[Hashable, int] = {}
        self.values: list[Any] = []


class ColumnLog(Sequence[tuple[Any, ...]]):
    """Rows of one shape, read back as tuples, stored as one typed array per column.

    A number column is a typed array (8 bytes a row); any other column holds a code (4
    bytes a row) into the distinct values it has seen (node names, event ids: few per row).
    """

    def __init__(self, kinds: str, rows: Iterable[Sequence[Any]] = (), chunk_rows: int | None = None,
                 codebooks: Mapping[int, Codebook] | None = None) -> None:
        """``kinds`` has one letter per column: ``d`` float, ``q`` int, ``o`` any hashable;
        ``codebooks``: shared ``Codebook``s for some ``o`` columns, by column index."""
        chunk_rows = CHUNK_ROWS if chunk_rows is None else chunk_rows
        if chunk_rows < 1:
            raise ValueError(f"chunk_rows must be at least 1, got {chunk_rows}")
        self._kinds = kinds
        books = [(codebooks or {}).get(index) or Codebook() if kind == "o" else None
                 for index, kind in enumerate(kinds)]
        self._books = books
        self._codes: list[dict[Hashable, int] | None] = [None if book is None else book.codes for book in books]
        self._values: list[list[Any]] = [[] if book is None else book.values for book in books]
        self._tail: list[array[Any]] = self._empty()
        self._chunk_rows = chunk_rows
        self._file = ChunkFile()
        self._chunk_ids: list[int] = []  # chunks moved to the file, in order
        self._rows: list[int] = []  # and their rows
        self._spilled = 0
        self._fresh: list[Sequence[Any]] = []  # appended, not yet in the column arrays
        for row in rows:
            self.append(row)

    def codebook(self, index: int) -> Codebook:
        """The codebook of ``o`` column ``index``, for another log to share."""
        book = self._books[index]
        if book is None:
            raise ValueError(f"column {index} holds numbers ({self._kinds[index]!r}), not coded values")
        return book

    def _empty(self) -> list[array[Any]]:
        return [array("I" if kind == "o" else kind) for kind in self._kinds]

    def append(self, row: Sequence[Any]) -> None:
        """Add a row. Its values are checked against the column kinds when the row is encoded
        (with the next thousand rows, or at the next read): appending is the hot path of a
        listener-heavy run, one row per node per event and per vote."""
        if len(row) != len(self._kinds):
            raise ValueError(f"a row of {len(row)} values for {len(self._kinds)} columns")
        fresh = self._fresh
        fresh.append(row)
        if len(fresh) >= FRESH_ROWS:
            self._encode()

    def _encode(self) -> None:
        """Move the appended rows into the column arrays, spilling each chunk that fills."""
        rows, start = self._fresh, 0
        try:
            while start < len(rows):
                room = len(rows) if self._file.broken else max(self._chunk_rows - len(self._tail[0]), 1)
                part = rows[start:start + room]
                self._encode_part(part)
                start += len(part)
                if len(self._tail[0]) >= self._chunk_rows and not self._file.broken:
                    self._spill()
        finally:
            self._fresh = rows[start:]  # a part with a bad value stays, and says so at each read

    def _encode_part(self, rows: list[Sequence[Any]]) -> None:
        # Every column is converted before any changes: a bad value leaves the log as it was.
        encoded: list[array[Any]] = []
        for index, (kind, codes, values) in enumerate(zip(self._kinds, self._codes, self._values, strict=True)):
            items = [row[index] for row in rows]
            if codes is None:
                encoded.append(array(kind, items))
                continue
            get = codes.get
            found = [get(value) for value in items]
            if None in found:
                for position, code in enumerate(found):
                    if code is None:
                        value = items[position]
                        code = get(value)
                        if code is None:
                            code = codes[value] = len(values)
                            values.append(value)
                        found[position] = code
            encoded.append(array("I", found))
        for column, part in zip(self._tail, encoded, strict=True):
            column.extend(part)

    def _spill(self) -> None:
        chunk = self._file.add(b"".join(column.tobytes() for column in self._tail))
        if chunk is not None:  # None: no temporary space, the rows stay in memory
            self._chunk_ids.append(chunk)
            self._rows.append(len(self._tail[0]))
            self._spilled += self._rows[-1]
            self._tail = self._empty()

    def _read_chunk(self, index: int) -> list[array[Any]]:
        data, rows = memoryview(self._file.read(self._chunk_ids[index])), self._rows[index]
        columns = self._empty()
        for column in columns:
            size = rows * column.itemsize
            column.frombytes(data[:size])
            data = data[size:]
        return columns

    def _decoded(self, columns: list[array[Any]], start: int, stop: int,
                 indices: Sequence[int] | None) -> list[Sequence[Any]]:
        out: list[Sequence[Any]] = []
        for index in range(len(columns)) if indices is None else indices:
            part = columns[index][start:stop]
            if self._codes[index] is not None:
                values = self._values[index]
                out.append([values[code] for code in part])
            else:
                out.append(part)
        return out

    def _parts(self, start: int, stop: int, indices: Sequence[int] | None = None) -> Iterator[list[Sequence[Any]]]:
        """Decoded columns (all, or those of ``indices``) of rows ``start..stop``, one piece
        per chunk they cross."""
        if self._fresh:
            self._encode()
        base = 0
        for index, rows in enumerate(self._rows):
            if base + rows > start and base < stop:
                yield self._decoded(self._read_chunk(index), max(start - base, 0), min(stop - base, rows), indices)
            base += rows
        if stop > base:
            yield self._decoded(self._tail, max(start - base, 0), stop - base, indices)

    def column(self, index: int) -> Sequence[Any]:
        """Every value of one column, in row order (read back from the file if moved out):
        a typed array for a number column, a list otherwise."""
        kind = self._kinds[index]
        values: list[Any] | array[Any] = [] if kind == "o" else array(kind)
        for part in self._parts(0, len(self), [index]):
            values.extend(part[0])
        return values

    def rows_of(self, *indices: int) -> Iterator[tuple[Any, ...]]:
        """Every row cut down to the columns of ``indices``, in row order: only those columns
        are decoded (reading a long log's ids without its times costs less memory)."""
        for part in self._parts(0, len(self), indices):
            yield from zip(*part, strict=True)

    def __len__(self) -> int:
        return self._spilled + len(self._tail[0]) + len(self._fresh)

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        for part in self._parts(0, len(self)):
            yield from zip(*part, strict=True)

    @overload
    def __getitem__(self, index: int) -> tuple[Any, ...]: ...

    @overload
    def __getitem__(self, index: slice) -> list[tuple[Any, ...]]: ...

    def __getitem__(self, index: int | slice) -> tuple[Any, ...] | list[tuple[Any, ...]]:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            rows = [row for part in self._parts(start, max(stop, start)) for row in zip(*part, strict=True)]
            return rows if step == 1 else rows[::step]
        position = index + len(self) if index < 0 else index
        if not 0 <= position < len(self):
            raise IndexError(f"row {index} of {len(self)}")
        part = next(self._parts(position, position + 1))
        return tuple(column[0] for column in part)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ColumnLog):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        # the temporary file cannot travel: a copy carries the rows themselves
        return (ColumnLog, (self._kinds, list(self), self._chunk_rows))

    def __repr__(self) -> str:
        return f"ColumnLog({len(self)} rows)"
