"""The scripted source: events shown to chosen validators at chosen times.

For tests and notebooks. Events come from explicit ``[[sources.script.events]]`` entries
and from a Poisson generator (``rate``); each is shown to its ``seen_by`` nodes after a
per-node observation delay. A node's feed remembers everything it was shown, so its
``script`` listener can broadcast it all again on every (re)start, the way eth_deposits
backfills from its KV mark.
"""

from __future__ import annotations

import heapq
import itertools
import math
from typing import Any

import trio

from sim.engine.sleep import sleep_until
from sim.engine.spill import ChunkFile, SpillList

ADDRESS = "script://events"
SHOWN_CHUNK = 1024  # events a feed keeps in memory: a feed per node, so kept small


class ScriptFeed:
    """What one node has been shown, in order, and a way to wait for more."""

    def __init__(self, file: ChunkFile | None = None) -> None:
        # (event type, data), the tuples shared between feeds; a restarted node reads it all
        # again, so a long run keeps all of it: older events live in a temporary file
        self.shown: SpillList[tuple[str, bytes]] = SpillList(chunk_items=SHOWN_CHUNK, file=file)
        self._changed = trio.Event()

    def show(self, event: tuple[str, bytes]) -> None:
        self.shown.append(event)
        self._changed.set()

    async def wait_beyond(self, count: int) -> None:
        """Return once more than ``count`` events have been shown."""
        while len(self.shown) <= count:
            self._changed = trio.Event()
            await self._changed.wait()


class ScriptSource:
    """Shows scripted and generated events to nodes; knows nothing of what nodes do."""

    address = ADDRESS

    def __init__(self, config: Any, ctx: Any) -> None:
        self.config = config
        self.ctx = ctx
        self.nodes: list[str] = list(ctx.node_names)
        spill = ChunkFile()  # one file for every feed's older events
        self.feeds = {name: ScriptFeed(spill) for name in self.nodes}
        self.emitted = 0
        self._heap: list[tuple[float, int, str, tuple[str, bytes]]] = []
        self._counter = itertools.count()

    def endpoint(self, node: str) -> ScriptFeed:
        return self.feeds[node]

    def summary(self) -> dict[str, float | int]:
        return {"script_events": self.emitted}

    def _audience(self, seen_by: Any) -> list[str]:
        return list(self.nodes) if seen_by == "all" else [n for n in seen_by if n in self.feeds]

    def _emit(self, time: float, event_type: str, data: bytes, seen_by: Any,
              delays: dict[str, float] | None) -> None:
        self.emitted += 1
        self.ctx.trace("script.event", type=event_type, data=data.decode(errors="replace"))
        event = (event_type, data)  # one object for every feed that shows it
        for node in self._audience(seen_by):
            if delays is not None and node in delays:
                delay = delays[node]
            else:
                delay = self.config.delay.sample(self.ctx.rng(f"delay/{node}")) if self.config.delay else 0.0
            heapq.heappush(self._heap, (time + delay, next(self._counter), node, event))

    async def run(self) -> None:
        cfg = self.config
        pending = sorted(cfg.events, key=lambda e: e.at)
        generator = self.ctx.rng("generator")
        next_generated = math.inf
        if cfg.rate:
            next_generated = generator.expovariate(cfg.rate)
        generated = 0
        while True:
            next_script = pending[0].at if pending else math.inf
            next_show = self._heap[0][0] if self._heap else math.inf
            wake = min(next_script, next_generated, next_show)
            if math.isinf(wake):
                await trio.sleep_forever()
            await sleep_until(wake)
            now = trio.current_time()
            while pending and pending[0].at <= now:
                event = pending.pop(0)
                self._emit(now, event.type, event.data.encode(), event.seen_by,
                           dict(event.delay) if event.delay else None)
            while next_generated <= now:
                generated += 1
                data = f"{cfg.data or cfg.type}-{generated}".encode()
                self._emit(next_generated, cfg.type, data, cfg.seen_by, None)
                next_generated += generator.expovariate(cfg.rate)
            while self._heap and self._heap[0][0] <= now:
                _time, _n, node, event = heapq.heappop(self._heap)
                self.feeds[node].show(event)
