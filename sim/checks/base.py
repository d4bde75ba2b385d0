"""The shape of an invariant checker and of the violation it reports."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from node.node import Node
    from sim.chain import Committed
    from sim.world import World


@attrs.frozen
class Violation:
    """An invariant that did not hold: which, when (virtual seconds), where, and why."""

    invariant: str
    time: float
    nodes: tuple[str, ...]
    explanation: str

    def to_dict(self) -> dict[str, Any]:
        return {"invariant": self.invariant, "time": round(self.time, 6), "nodes": list(self.nodes),
                "explanation": self.explanation}


class Checker:
    """Base class: override the hooks you need and call ``report`` on a violation."""

    name = ""

    def __init__(self, world: World) -> None:
        self.world = world

    def report(self, nodes: tuple[str, ...] | list[str], explanation: str) -> None:
        self.world.violate(Violation(self.name, self.world.clock.now, tuple(nodes), explanation))

    def on_block(self, committed: Committed) -> None:
        pass

    def on_node_commit(self, node: Node, block: Any) -> None:
        pass

    def at_end(self) -> None:
        pass
