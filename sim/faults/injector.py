"""Applies a scenario's faults to one world, at their times or on demand from code.

Nodes contain no fault logic. Each fault kind's handler (``sim.faults.catalog``) gets a
``FaultWorld``: the narrow set of things a fault may do, namely change the network, control
nodes through ``node.control.NodeControl``, shift a node's clock, act on a source, and
override validator power. Every fault is a trace record and a row of the run's records.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sim.faults.context import FaultWorld
from sim.faults.kinds import fault_kind

if TYPE_CHECKING:
    from sim.consensus.chain import Committed
    from sim.world.records import RunRecords


class FaultInjector:
    """Schedules and applies faults; ``apply(spec)`` is also the code-level entry."""

    def __init__(self, world: FaultWorld, records: RunRecords) -> None:
        self.world = world
        self._records = records

    def schedule(self, specs: Any) -> None:
        for spec in specs:
            self.world.call_at(spec.at, self.apply, spec)

    def apply(self, spec: Any) -> None:
        fields = {k: v for k, v in spec.to_table().items() if k not in ("at", "kind")}
        # the record keeps seconds; the trace keeps the scenario's own spelling
        self._records.faults.append({**fields, "time": self.world.now, "kind": spec.kind,
                                     "duration": getattr(spec, "duration", None)})
        self.world.trace.emit("fault", kind=spec.kind, **fields)
        kind = fault_kind(spec.kind)
        kind.apply(self.world, spec)

    def on_block(self, committed: Committed) -> None:
        """Operators react to the chain: honest validators approve joins and vote removals."""
        assert committed.state is not None
        self.world.validator_set.on_block(committed.state)

    def take_overrides(self) -> tuple[tuple[str, int], ...]:
        """Operator power overrides to apply in the next block (``override = true``)."""
        taken = tuple(self.world.overrides)
        self.world.overrides.clear()
        return taken
