"""The watcher library as a source in the world: an orchestrator writing job events.

``[sources.watcher]`` builds a ``WatcherSource``: it owns an in-memory ``EventStore`` and,
at Poisson arrival times, stores create/update/delete events for Job and Execution objects.
Every node that dials ``address`` gets the same store (as validators of one network would all
read the same orchestrator); each node's ``watcher_events`` listener watches it under the
node's name. GC runs on the store as it would in the orchestrator.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import trio

from sim.engine.sleep import sleep
from sim.sources.context import SourceContext
from sim.sources.watcher.serializer import JSONSerializer
from sim.sources.watcher.store import EventStore
from sim.sources.watcher.types import Operation
from sim.tables import TableReader
from sim.units import format_duration, parse_rate

WORLD_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
DEFAULT_OBJECT_TYPES = ("Job", "Execution")
# The states an object moves through; an update moves it one step along (staying at the end).
LIFECYCLE = ("pending", "running", "completed")
_OPERATION_WEIGHTS = ((Operation.CREATE, 0.4), (Operation.UPDATE, 0.45), (Operation.DELETE, 0.15))



def virtual_utc() -> datetime:
    """The world's virtual seconds as a UTC datetime (the store's clock in a simulation)."""
    return WORLD_EPOCH + timedelta(seconds=trio.current_time())


def format_rate(per_second: float) -> str:
    """A rate string that ``parse_rate`` reads back exactly, in the most readable unit."""
    for unit, scale in (("min", 60.0), ("s", 1.0), ("h", 3600.0)):
        text = repr(per_second * scale)
        if "e" not in text and "inf" not in text and "nan" not in text:
            candidate = f"{text}/{unit}"
            if parse_rate(candidate) == per_second:
                return candidate
    return f"{per_second:.20f}/s"


@attrs.frozen
class WatcherSourceConfig:
    """``[sources.watcher]``: how fast the orchestrator writes, and how its store is kept."""

    rate: float = 1 / 60  # job events per second
    object_types: tuple[str, ...] = DEFAULT_OBJECT_TYPES
    gc_age_threshold: float = 86400.0  # seconds; 0 disables GC
    gc_cadence: float = 600.0
    address: str = "watcher://jobs"
    long_polling_timeout: float = 10.0

    @classmethod
    def from_table(cls, reader: TableReader) -> WatcherSourceConfig:
        rate = reader.rate("rate", "1/min")
        object_types = reader.string_list("object_types", list(DEFAULT_OBJECT_TYPES))
        if not object_types or any(not t for t in object_types) \
                or len(set(object_types)) != len(object_types):
            raise reader.error("object_types", "a non-empty array of distinct, non-empty names",
                               list(object_types))
        config = cls(
            rate=rate,
            object_types=object_types,
            gc_age_threshold=reader.duration("gc_age_threshold", "24h"),
            gc_cadence=reader.duration("gc_cadence", "10m", positive=True),
            address=reader.string("address", "watcher://jobs"),
            long_polling_timeout=reader.duration("long_polling_timeout", "10s", positive=True),
        )
        if not config.address:
            raise reader.error("address", "a non-empty address", config.address)
        reader.finish()
        return config

    def to_table(self) -> dict[str, Any]:
        return {
            "rate": format_rate(self.rate),
            "object_types": list(self.object_types),
            "gc_age_threshold": format_duration(self.gc_age_threshold),
            "gc_cadence": format_duration(self.gc_cadence),
            "address": self.address,
            "long_polling_timeout": format_duration(self.long_polling_timeout),
        }


class WatcherSource:
    """The orchestrator: stores job events into a shared in-memory event store."""

    def __init__(self, config: WatcherSourceConfig, ctx: SourceContext) -> None:
        self.config = config
        self.address = config.address
        self._ctx = ctx
        self._rng = ctx.rng("jobs")
        self.store = EventStore(
            ":memory:",
            serializer=JSONSerializer({name: dict for name in config.object_types}),
            long_polling_timeout=config.long_polling_timeout,
            gc_age_threshold=config.gc_age_threshold,
            gc_cadence=config.gc_cadence,
            clock=virtual_utc,
        )
        self.stored = 0
        # Live objects per type, in creation order (a list, so choices are reproducible).
        self._live: dict[str, list[dict[str, str]]] = {t: [] for t in config.object_types}
        self._created: dict[str, int] = dict.fromkeys(config.object_types, 0)

    # -- the Source protocol ------------------------------------------------------------
    async def run(self) -> None:
        """Store events at Poisson arrival times and collect garbage, until cancelled."""
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._collect_garbage)
            await self._produce()

    def endpoint(self, node: str) -> EventStore:
        """Every node reads the one orchestrator store (its watcher id is its name)."""
        return self.store

    def summary(self) -> dict[str, float | int]:
        return {"watcher_events_stored": self.stored}

    # -- the orchestrator -----------------------------------------------------------------
    async def _produce(self) -> None:
        if self.config.rate <= 0:
            await trio.sleep_forever()
        while True:
            await sleep(self._rng.expovariate(self.config.rate))
            self.store_next_event()

    def store_next_event(self) -> None:
        """Draw and store one job event (also used by tests to drive the source by hand)."""
        object_type = self._rng.choice(self.config.object_types)
        operation, payload = self._next_change(object_type)
        event = self.store.store_event(operation, object_type, payload)
        self.stored += 1
        self._ctx.trace("watcher.store", seq=event.seq_num, type=object_type, op=operation.value,
                        id=payload["id"])

    def _next_change(self, object_type: str) -> tuple[Operation, dict[str, str]]:
        live = self._live[object_type]
        operations = [op for op, _ in _OPERATION_WEIGHTS]
        weights = [w for _, w in _OPERATION_WEIGHTS]
        operation = self._rng.choices(operations, weights)[0] if live else Operation.CREATE
        if operation is Operation.CREATE:
            self._created[object_type] += 1
            obj = {"id": f"{object_type.lower()}-{self._created[object_type]}",
                   "state": LIFECYCLE[0]}
            live.append(obj)
            return operation, dict(obj)
        index = self._rng.randrange(len(live))
        obj = live[index]
        if operation is Operation.DELETE:
            del live[index]
            return operation, dict(obj)
        step = min(LIFECYCLE.index(obj["state"]) + 1, len(LIFECYCLE) - 1)
        obj["state"] = LIFECYCLE[step]
        return operation, dict(obj)

    async def _collect_garbage(self) -> None:
        if not self.store.gc_policy.enabled:
            return
        while True:
            await sleep(self.config.gc_cadence)
            deleted = self.store.run_gc()
            self._ctx.trace("watcher.gc", deleted=len(deleted),
                            up_to=deleted[-1] if deleted else 0)
