"""The external systems of one world: built from the scenario's ``[sources.*]`` tables.

Each source sees only a ``SourceContext`` (its own seeded streams, the trace, the node
names) and trio time; nodes reach a source by dialing its address.
"""

from __future__ import annotations

import random
from typing import Any

import trio

from sim.engine.rng import RngStreams
from sim.engine.trace import Trace
from sim.errors import SimulationError
from sim.sources.registry import load, source_kind


class SourceContextImpl:
    """What a source gets from the world: named RNG streams, the trace, node names."""

    def __init__(self, rng: RngStreams, trace: Trace, kind: str, node_names: list[str]) -> None:
        self._rng = rng
        self._trace = trace
        self._kind = kind
        self.node_names = list(node_names)

    def rng(self, name: str) -> random.Random:
        return self._rng.stream(f"source/{self._kind}/{name}")

    def trace(self, event: str, **fields: object) -> None:
        self._trace.emit(event, **fields)


class Sources:
    """The running sources of one world, by kind and by address."""

    def __init__(self, scenario: Any, rng: RngStreams, trace: Trace, node_names: list[str]) -> None:
        self.by_kind: dict[str, Any] = {}
        for kind in sorted(scenario.sources):
            cls = load(source_kind(kind).source)
            self.by_kind[kind] = cls(scenario.sources[kind], SourceContextImpl(rng, trace, kind, node_names))
        self._by_address = {source.address: source for source in self.by_kind.values()}

    def get(self, kind: str) -> Any:
        return self.by_kind.get(kind)

    def __contains__(self, kind: object) -> bool:
        return kind in self.by_kind

    def require(self, kind: str) -> Any:
        source = self.by_kind.get(kind)
        if source is None:
            raise SimulationError(f"this needs [sources.{kind}] in the scenario")
        return source

    def endpoint(self, address: str, node: str) -> Any:
        """``node``'s handle on the system at ``address``."""
        source = self._by_address.get(address)
        if source is None:
            raise ConnectionError(f"nothing listens at {address!r} (known: {sorted(self._by_address)})")
        return source.endpoint(node)

    def start(self, nursery: trio.Nursery) -> None:
        for source in self.by_kind.values():
            nursery.start_soon(source.run)

    def summary(self, view: Any) -> dict[str, Any]:
        """Each source's own summary fields, then those its kind adds from the run's records."""
        fields: dict[str, Any] = {}
        for kind in sorted(self.by_kind):
            fields.update(self.by_kind[kind].summary())
            extra = source_kind(kind).summary_fields
            if extra is not None:
                fields.update(load(extra)(view))
        return fields
