"""The ids a chain has marked processed, kept so that copying a state per block stays cheap.

kwil keeps every processed resolution id for good (a later vote for it is dropped), so the
table grows with the run. A state is copied for every block it executes, and the chain keeps
the states of its recent heights: a plain dict per state made a six-hour run hold 64 full
copies and copy one per block. Here the bulk of the table is a dict shared, read-only, by
every copy made from it, and each copy owns only the ids marked since (at most
``COMPACT_AFTER``); a copy folds those into a new shared dict when they pass that number.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

# Ids a copy keeps on its own before it folds them into a new shared dict: small enough that
# copying per block is cheap, large enough that folding (a copy of everything) is rare.
COMPACT_AFTER = 256


class ProcessedTable(MutableMapping[str, int]):
    """Resolution id -> the height it was marked processed at.

    Reads see the shared part and the own part; writes go to the own part only, so a copy
    never changes what another copy sees.
    """

    __slots__ = ("_shared", "_own")

    def __init__(self, items: Mapping[str, int] | None = None) -> None:
        self._shared: dict[str, int] = {}
        self._own: dict[str, int] = dict(items or {})

    def copy(self) -> ProcessedTable:
        """A copy that shares this table's bulk; folds the own ids first when there are many."""
        if len(self._own) > COMPACT_AFTER:
            self._shared = {**self._shared, **self._own}
            self._own = {}
        twin = ProcessedTable.__new__(ProcessedTable)
        twin._shared = self._shared
        twin._own = dict(self._own)
        return twin

    def __contains__(self, key: object) -> bool:
        return key in self._own or key in self._shared

    def __getitem__(self, key: str) -> int:
        if key in self._own:
            return self._own[key]
        return self._shared[key]

    def get(self, key: str, default: Any = None) -> Any:
        value = self._own.get(key, _MISSING)
        return self._shared.get(key, default) if value is _MISSING else value

    def __setitem__(self, key: str, height: int) -> None:
        self._own[key] = height

    def __delitem__(self, key: str) -> None:
        """Undo a mark (a resolve function's rollback): only ids this copy marked can go."""
        if key in self._shared:
            raise KeyError(f"{key} was marked processed before this state was copied")
        del self._own[key]

    def __iter__(self) -> Iterator[str]:
        yield from self._shared
        yield from (key for key in self._own if key not in self._shared)

    def __len__(self) -> int:
        return len(self._shared) + sum(1 for key in self._own if key not in self._shared)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return dict(self.items()) == dict(other.items())
        return NotImplemented

    def __repr__(self) -> str:
        return f"ProcessedTable({dict(self.items())!r})"


_MISSING: Any = object()


def as_processed_table(value: Mapping[str, int]) -> ProcessedTable:
    """A table as given, or one holding a plain mapping's items (an attrs converter)."""
    return value if isinstance(value, ProcessedTable) else ProcessedTable(value)
