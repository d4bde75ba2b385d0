"""What a fault handler may touch: the ``FaultWorld`` every fault kind's handler is given."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sim.engine.kernel import Kernel
from sim.errors import SimulationError
from sim.faults.links import LinkFaults
from sim.faults.operators import ValidatorSetActions

if TYPE_CHECKING:
    from node.control import NodeControl
    from sim.engine.trace import Trace
    from sim.net.epoch import Epoch
    from sim.net.network import Network
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
        self.link_faults = LinkFaults(network.current, self.change_network, network_changed)

    @property
    def now(self) -> float:
        return self._kernel.now

    def call_at(self, time: float, callback: Callable[..., Any], *args: Any) -> None:
        self._kernel.call_at(time, callback, *args)

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
