"""What the world hands every source: named seeded streams, the trace, the node names.

Sources depend on this small interface only; they know nothing of nodes or the world.
"""

from __future__ import annotations

import random
from typing import Protocol


class SourceContext(Protocol):
    node_names: list[str]

    def rng(self, name: str) -> random.Random:
        """An independent seeded stream, e.g. ``ctx.rng("deposits")``."""
        ...

    def trace(self, event: str, **fields: object) -> None:
        """A structured trace record (JSON-able fields; never a field named ``event``)."""
        ...
