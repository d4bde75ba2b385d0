"""The ``[limits]`` table: how large a run a scenario may ask for before it is refused.

A scenario over a limit is refused at load time (``nodesim check`` and ``run`` alike) with one
line naming the key that made it large and the limit it passed. ``--allow-large`` (or
``allow_large=True`` from Python) lifts every limit; a ``[limits]`` table raises them for one
scenario on purpose. The node count is checked before anything is built per node, so a count
of 10**9 costs nothing to refuse.
"""

from __future__ import annotations

from typing import Any

import attrs

from sim.errors import ScenarioError
from sim.tables import TableReader

DEFAULT_NODES = 1000
DEFAULT_WORK = 100_000_000
DEFAULT_MEMORY_MB = 4096
HOW_TO_PASS = "pass --allow-large or raise it in [limits] to run it on purpose"


@attrs.frozen
class LimitsConfig:
    """``[limits]``: ``nodes`` (validators.count), ``work`` (estimated steps, ~30 µs each on a
    2-core machine: the default is about 50 minutes) and ``memory_mb`` (estimated peak)."""

    nodes: int = DEFAULT_NODES
    work: int = DEFAULT_WORK
    memory_mb: int = DEFAULT_MEMORY_MB

    @classmethod
    def from_table(cls, reader: TableReader) -> LimitsConfig:
        config = cls(nodes=reader.integer("nodes", DEFAULT_NODES, min=1),
                     work=reader.integer("work", DEFAULT_WORK, min=1),
                     memory_mb=reader.integer("memory_mb", DEFAULT_MEMORY_MB, min=1))
        reader.finish()
        return config

    def to_table(self) -> dict[str, Any]:
        return {"nodes": self.nodes, "work": self.work, "memory_mb": self.memory_mb}

    def check_count(self, validators: TableReader) -> None:
        """Refuse ``validators.count`` over ``nodes`` before any per-node list exists."""
        count = validators.raw("count", 4)
        if isinstance(count, int) and not isinstance(count, bool) and count > self.nodes:
            raise ScenarioError(validators.file, validators.key_path("count"),
                                f"{count} nodes is over the limit of {self.nodes} (limits.nodes); {HOW_TO_PASS}")
