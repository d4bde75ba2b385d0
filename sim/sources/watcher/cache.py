"""A small least-recently-used cache of events by sequence number."""

from __future__ import annotations

from collections import OrderedDict

from sim.sources.watcher.errors import InvalidArgumentError
from sim.sources.watcher.types import Event


class EventCache:
    """Keeps the ``size`` most recently used events; filled when events are stored."""

    def __init__(self, size: int) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
            raise InvalidArgumentError(f"cache_size must be an integer > 0, got {size!r}")
        self.size = size
        self._events: OrderedDict[int, Event] = OrderedDict()

    def get(self, seq: int) -> Event | None:
        event = self._events.get(seq)
        if event is not None:
            self._events.move_to_end(seq)
        return event

    def add(self, event: Event) -> None:
        self._events[event.seq_num] = event
        self._events.move_to_end(event.seq_num)
        while len(self._events) > self.size:
            self._events.popitem(last=False)

    def __contains__(self, seq: int) -> bool:
        return seq in self._events

    def __len__(self) -> int:
        return len(self._events)

    def clear(self) -> None:
        self._events.clear()
