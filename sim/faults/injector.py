"""Applies a scenario's faults to one world, at their times or on demand from code.

Nodes contain no fault logic. Each fault kind's handler (``sim.faults.catalog``) gets a
``FaultWorld``: the narrow set of things a fault may do, namely change the network, control
nodes through ``node.control.NodeControl``, shift a node's clock, act on a source, and
override validator power. Every fault is a trace record and a row of the run's records.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sim.engine.kernel import Kernel
from sim.errors import SimulationError
from sim.faults.catalog import fault_kind
from sim.faults.network import LinkFaults
from sim.faults.validators import ValidatorSetActions

if TYPE_CHECKING:
    from node.control import NodeControl
    from sim.consensus.chain import Committed
    from sim.engine.trace import Trace
    from sim.net.network import Epoch, Network
    from sim.world.records import RunRecords
    from sim.world.sources import Sources


class FaultWorld:
    """What a fault handler may touch."""

    def __init__(self, *, kernel: Kernel, network: Network, names: list[str], configured_power: list[int],
                 controls: list[NodeControl], set_skew: Callable[[int, float], None],
                 network_changed: Callable[[], None], sources: Sources, trace: Trace) -> None:
        self._kernel = kernel
        self.network = network
        self.names = names
        self._index = {name: i for i, name in enumerate(names)}
        self.configured_power = configured_power
        self.controls = controls
        self.set_skew = set_skew
        self.network_changed = network_changed
        self.sources = sources
        self.trace = trace
        self.overrides: list[tuple[str, int]] = []
        self.validator_set = ValidatorSetActions(controls)
        self.link_faults = LinkFaults(self)

    @property
    def now(self) -> float:
        return self._kernel.now

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any) -> None:
        self._kernel.call_later(delay, callback, *args)

    def index(self, name: str | None) -> int:
        if name is None or name not in self._index:
            raise SimulationError(f"fault names unknown node {name!r}")
        return self._index[name]

    def indices(self, names: Any) -> list[int]:
        return [self.index(n) for n in (names or [])]

    def change_network(self) -> Epoch:
        """A new network epoch starting now, for the handler to edit (then network_changed)."""
        return self.network.change(self.now)


class FaultInjector:
    """Schedules and applies faults; ``apply(spec)`` is also the code-level entry."""

    def __init__(self, world: FaultWorld, records: RunRecords) -> None:
        self.world = world
        self._records = records

    def schedule(self, specs: Any) -> None:
        for spec in specs:
            self.world._kernel.call_at(spec.at, self.apply, spec)

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
