"""Keeping what a run appends all run long on disk instead of in memory, a chunk at a time.

A long run keeps records for its results (a row per node per event, a trace line per
block, every event a script showed): held in memory they made a run's memory grow with its
virtual duration. ``ChunkFile`` is an anonymous temporary file (unlinked on creation, so
nothing is left behind whatever ends the process) holding byte chunks written once and read
back by index; ``SpillList`` is an append-only list that keeps its newest items in memory
and moves older ones there.
"""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, Any, Generic, TypeVar, overload

T = TypeVar("T")

# Items kept in memory before they move to the file.
CHUNK_ITEMS = 1 << 14


class ChunkFile:
    """Byte chunks in an anonymous temporary file, which many lists may share (one file
    descriptor for all the feeds of a 1,000-node world); ``add`` gives the chunk's number,
    or None when there is no room."""

    def __init__(self) -> None:
        self._file: IO[bytes] | None = None
        self._chunks: list[tuple[int, int]] = []  # (offset, size)
        self.broken = False  # no temporary space: callers keep their items in memory

    def add(self, data: bytes) -> int | None:
        if self.broken:
            return None
        try:
            if self._file is None:
                # lives as long as its owner; closing (at garbage collection) frees its space
                self._file = tempfile.TemporaryFile(prefix="nodesim-")  # noqa: SIM115
            offset = self._file.seek(0, 2)
            self._file.write(data)
        except OSError:
            if self._file is not None:
                self._file.truncate(self._chunks[-1][0] + self._chunks[-1][1] if self._chunks else 0)
            self.broken = True
            return None
        self._chunks.append((offset, len(data)))
        return len(self._chunks) - 1

    def read(self, index: int) -> bytes:
        assert self._file is not None
        offset, size = self._chunks[index]
        self._file.seek(offset)
        return self._file.read(size)

    def __len__(self) -> int:
        return len(self._chunks)


class SpillList(Sequence[T], Generic[T]):
    """An append-only list whose older items live in a ``ChunkFile`` (pickled, a chunk each).

    Reading is by index, slice or iteration, as from a list; the last chunk read is kept, so
    reading in order (a replay, a cursor over new items) costs one file read per chunk.
    """

    def __init__(self, items: Iterable[T] = (), chunk_items: int | None = None,
                 file: ChunkFile | None = None) -> None:
        chunk_items = CHUNK_ITEMS if chunk_items is None else chunk_items
        if chunk_items < 1:
            raise ValueError(f"chunk_items must be at least 1, got {chunk_items}")
        self._chunk_items = chunk_items
        self._file = file if file is not None else ChunkFile()
        self._chunk_ids: list[int] = []  # this list's chunks in the file, in order
        self._tail: list[T] = []
        self._spilled = 0
        self._cached: tuple[int, list[T]] = (-1, [])
        for item in items:
            self.append(item)

    def append(self, item: T) -> None:
        tail = self._tail
        tail.append(item)
        if len(tail) >= self._chunk_items and not self._file.broken:
            chunk = self._file.add(pickle.dumps(tail, pickle.HIGHEST_PROTOCOL))
            if chunk is not None:
                self._chunk_ids.append(chunk)
                self._spilled += len(tail)
                self._tail = []

    def _chunk(self, index: int) -> list[T]:
        if self._cached[0] != index:
            self._cached = (index, self._load(index))
        return self._cached[1]

    def _load(self, index: int) -> list[T]:
        return pickle.loads(self._file.read(self._chunk_ids[index]))  # type: ignore[no-any-return]

    def __len__(self) -> int:
        return self._spilled + len(self._tail)

    def _item(self, position: int) -> T:
        if position >= self._spilled:
            return self._tail[position - self._spilled]
        return self._chunk(position // self._chunk_items)[position % self._chunk_items]

    def _range(self, start: int, stop: int) -> Iterator[T]:
        # Chunks streamed here are not kept (a whole trace hashed at the end of a long run
        # would otherwise leave its last chunk in memory); the one kept for ``_item`` is reused.
        position = start
        while position < min(stop, self._spilled):
            chunk_index, offset = divmod(position, self._chunk_items)
            cached_index, cached = self._cached
            chunk = cached if cached_index == chunk_index else self._load(chunk_index)
            items = chunk[offset:offset + stop - position]
            yield from items
            position += len(items)
        if stop > self._spilled:
            yield from self._tail[max(start - self._spilled, 0):stop - self._spilled]

    def __iter__(self) -> Iterator[T]:
        return self._range(0, len(self))

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> list[T]: ...

    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step != 1:
                return list(self)[index]
            if start >= self._spilled:  # the common read: the newest items
                return self._tail[start - self._spilled:stop - self._spilled]
            return list(self._range(start, max(stop, start)))
        position = index + len(self) if index < 0 else index
        if not 0 <= position < len(self):
            raise IndexError(f"item {index} of {len(self)}")
        return self._item(position)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SpillList | list):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        # the temporary file cannot travel: a copy carries the items themselves
        return (SpillList, (list(self), self._chunk_items))

    def __repr__(self) -> str:
        return f"SpillList({len(self)} items)"
