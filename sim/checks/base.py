"""The shape of an invariant checker and of the violation it reports."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from sim.consensus.chain import Committed
    from sim.world.views import NodeView, WorldView


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
    """Base class: override the hooks you need and call ``report`` on a violation.

    A checker reads the world only through its ``WorldView`` and reports through ``report``.
    """

    name = ""

    def __init__(self, view: WorldView, report: Callable[[Violation], None]) -> None:
        self.view = view
        self._report = report

    def report(self, nodes: tuple[str, ...] | list[str], explanation: str) -> None:
        self._report(Violation(self.name, self.view.now, tuple(nodes), explanation))

    def on_block(self, committed: Committed) -> None:
        pass

    def on_node_commit(self, node: NodeView, block: Any) -> None:
        pass

    def on_proposal(self, node: NodeView, height: int) -> None:
        """``node`` answered Propose for ``height``."""

    def tick(self) -> None:
        """Called every few seconds of virtual time (for checks that look for an absence)."""

    def at_end(self) -> None:
        pass
