"""Invariants of the external systems as the validators consume them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sim.checks.base import Checker

if TYPE_CHECKING:
    from sim.chain import Committed


class WatcherOrder(Checker):
    """Each validator's watcher handles events in strictly increasing seq order within a run
    of its listener (gaps come from the filter or GC; a restart replays from the checkpoint)."""

    name = "watcher-order"

    def __init__(self, world: Any) -> None:
        super().__init__(world)
        self._cursor = 0
        self._last: dict[str, int] = {}

    def on_block(self, committed: Committed) -> None:
        if "watcher" not in self.world.sources:
            return
        records = self.world.trace.records
        for record in records[self._cursor:]:
            event, node = record.get("event"), str(record.get("node"))
            if event == "watcher_events.start":
                self._last.pop(node, None)
            elif event == "watcher_events.handled":
                seq = int(record["seq"])
                last = self._last.get(node)
                if last is not None and seq <= last:
                    self.report((node,), f"{node}'s watcher handled seq {seq} after {last}")
                self._last[node] = seq
        self._cursor = len(records)

    def at_end(self) -> None:
        if self.world.chain.height in self.world.chain.committed:
            self.on_block(self.world.chain.committed[self.world.chain.height])


class PubSubStats(Checker):
    """The hub's stats identities hold after every completed broadcast cycle."""

    name = "pubsub-stats"

    def __init__(self, world: Any) -> None:
        super().__init__(world)
        self._reported: set[str] = set()

    def on_block(self, committed: Committed) -> None:
        source = self.world.sources.get("pubsub")
        if source is None:
            return
        for problem in source.check_stats():
            if problem not in self._reported:
                self._reported.add(problem)
                self.report((), problem)
