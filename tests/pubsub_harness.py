"""A hub on a hand-moved clock, for the pub/sub tests."""

from __future__ import annotations

import copy

from sim.sources.pubsub.broadcast import CycleReport
from sim.sources.pubsub.hub import Hub
from sim.sources.pubsub.model import Notification

H = 3600.0
MIN = 60.0


class Harness:
    """A hub whose clock is ``self.now`` and that records every notification it sends."""

    def __init__(self, deployer: str = "deployer") -> None:
        self.now = 0.0
        self.sent: list[Notification] = []
        self.hub = Hub(clock=lambda: self.now, deliver=lambda _l, n: self.sent.append(n),
                       deployer=deployer)

    def cycle(self, at: float) -> CycleReport:
        self.now = at
        return self.hub.run_cycle(at)

    def run_until(self, end: float) -> None:
        """Run every cycle the hub asks for up to ``end``, then leave the clock at ``end``."""
        while (due := self.hub.next_cycle_time()) is not None and due <= end:
            self.cycle(max(due, self.now))
        self.now = end

    def sends_to(self, subscriber: str) -> list[Notification]:
        return [n for n in self.sent if n.subscriber_id == subscriber]

    def send_times(self, event_id: int) -> list[float]:
        return [n.sent_at for n in self.sent if n.event_id == event_id]


def snapshot(hub: Hub) -> object:
    """Everything the hub stores, comparable before and after a failed call."""
    return copy.deepcopy(hub.state)


def same_state(a: object, b: object) -> bool:
    return repr(a) == repr(b)
