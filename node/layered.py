"""Tables of the application state that only grow, kept so that copying a state stays cheap.

Two tables of a state grow with the run: the processed resolution ids (kwil keeps every one
for good, so a later vote for it is dropped) and the key-value store resolve functions write
(the default resolve keeps every resolved body). A state is copied for every block it
executes, and the chain keeps the states of its recent heights: plain dicts made a six-hour
run hold 64 full copies of each and copy them once per block. A ``LayeredTable`` keeps its
bulk in a dict shared, read-only, by every copy made from it; each copy owns only the
entries written since (at most ``COMPACT_AFTER``), and folds them into a new shared dict when
they pass that number.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any, Generic, TypeVar

V = TypeVar("V")

# Entries a copy keeps on its own before it folds them into a new shared dict: small enough
# that copying per block is cheap, large enough that folding (a copy of everything) is rare.
COMPACT_AFTER = 256


class _Deleted:
    def __repr__(self) -> str:
        return "<deleted>"


_DELETED: Any = _Deleted()  # an own entry that hides a shared one
_MISSING: Any = object()


class LayeredTable(MutableMapping[str, V], Generic[V]):
    """A dict whose copies share their bulk. Writes go to the copy's own part only, so a copy
    never changes what another copy sees; deleting a shared key leaves a marker that hides it."""

    __slots__ = ("_shared", "_own")

    def __init__(self, items: Mapping[str, V] | None = None) -> None:
        self._shared: dict[str, V] = {}
        self._own: dict[str, Any] = dict(items or {})

    def copy(self) -> LayeredTable[V]:
        """A copy that shares this table's bulk; folds the own entries first when there are many."""
        if len(self._own) > COMPACT_AFTER:
            folded = {**self._shared, **self._own}
            self._shared = {key: value for key, value in folded.items() if value is not _DELETED}
            self._own = {}
        twin: LayeredTable[V] = LayeredTable.__new__(LayeredTable)
        twin._shared = self._shared
        twin._own = dict(self._own)
        return twin

    def __contains__(self, key: object) -> bool:
        value = self._own.get(key, _MISSING)  # type: ignore[call-overload]
        return key in self._shared if value is _MISSING else value is not _DELETED

    def __getitem__(self, key: str) -> V:
        value = self._own.get(key, _MISSING)
        if value is _MISSING:
            return self._shared[key]
        if value is _DELETED:
            raise KeyError(key)
        return value  # type: ignore[no-any-return]

    def get(self, key: str, default: Any = None) -> Any:
        value = self._own.get(key, _MISSING)
        if value is _MISSING:
            return self._shared.get(key, default)
        return default if value is _DELETED else value

    def __setitem__(self, key: str, value: V) -> None:
        self._own[key] = value

    def __delitem__(self, key: str) -> None:
        if key not in self:
            raise KeyError(key)
        if key in self._shared:
            self._own[key] = _DELETED
        else:
            del self._own[key]

    def __iter__(self) -> Iterator[str]:
        own = self._own
        yield from (key for key in self._shared if key not in own)
        yield from (key for key, value in own.items() if value is not _DELETED)

    def __len__(self) -> int:
        shared, own = self._shared, self._own
        return len(shared) + sum((value is not _DELETED) - (key in shared) for key, value in own.items())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return dict(self.items()) == dict(other.items())
        return NotImplemented

    def __repr__(self) -> str:
        return f"LayeredTable({dict(self.items())!r})"


def as_layered_table(value: Mapping[str, Any]) -> LayeredTable[Any]:
    """A table as given, or one holding a plain mapping's items (an attrs converter)."""
    return value if isinstance(value, LayeredTable) else LayeredTable(value)
