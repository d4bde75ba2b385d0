"""Invariants of the external systems as the validators consume them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sim.checks.base import Checker

if TYPE_CHECKING:
    from sim.consensus.chain import Committed


class WatcherOrder(Checker):
    """Each validator's watcher handles events in strictly increasing seq order within a run
    of its listener (gaps come from the filter or GC; a restart replays from the checkpoint)."""

    name = "watcher-order"

    def __init__(self, view: Any, report: Any) -> None:
        super().__init__(view, report)
        self._cursor = 0
        self._last: dict[str, int] = {}

    def on_block(self, committed: Committed) -> None:
        if "watcher" not in self.view.sources:
            return
        records = self.view.trace_records
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
        chain = self.view.chain
        if chain.height in chain.committed:
            self.on_block(chain.committed[chain.height])


class PubSubStats(Checker):
    """The hub's stats identities hold after every completed broadcast cycle."""

    name = "pubsub-stats"

    def __init__(self, view: Any, report: Any) -> None:
        super().__init__(view, report)
        self._reported: set[str] = set()

    def on_block(self, committed: Committed) -> None:
        source = self.view.sources.get("pubsub")
        if source is None:
            return
        for problem in source.check_stats():
            if problem not in self._reported:
                self._reported.add(problem)
                self.report((), problem)
