"""One ``[[faults]]`` entry of a scenario: when, which kind, and that kind's keys.

``sim.faults.kinds.read_fault`` reads one from a scenario table: each kind accepts only its
own keys (any other key is an unknown-key error) and every node a fault names must exist.
Fields a kind does not use are None or empty. The injector (``sim.faults.injector``) applies
them.
"""

from __future__ import annotations

from typing import Any

import attrs

from sim.scenario_model import duration_text


@attrs.frozen(kw_only=True)
class FaultSpec:
    """A scheduled fault. ``at`` is virtual seconds; durations are seconds (None: until healed)."""

    at: float
    kind: str
    node: str | None = None
    nodes: tuple[str, ...] = ()
    link: tuple[str, ...] = ()
    groups: tuple[tuple[str, ...], ...] = ()
    from_: tuple[str, ...] = ()
    to: tuple[str, ...] = ()
    duration: float | None = None
    extra: float | None = None
    probability: float | None = None
    offset: float | None = None
    override: bool | None = None
    power: int | None = None
    listener: str | None = None
    depth: int | None = None
    count: int | None = None

    def to_table(self) -> dict[str, Any]:
        """The ``[[faults]]`` table (JSON-able too: the fault layer traces it)."""
        table: dict[str, Any] = {"at": duration_text(self.at), "kind": self.kind}
        if self.node is not None:
            table["node"] = self.node
        for key, names in (("nodes", self.nodes), ("link", self.link), ("from", self.from_),
                           ("to", self.to)):
            if names:
                table[key] = list(names)
        if self.groups:
            table["groups"] = [list(group) for group in self.groups]
        for key, seconds in (("duration", self.duration), ("extra", self.extra)):
            if seconds is not None:
                table[key] = duration_text(seconds)
        if self.offset is not None:
            table["offset"] = ("-" + duration_text(-self.offset) if self.offset < 0
                               else duration_text(self.offset))
        for key, value in (("probability", self.probability), ("override", self.override),
                           ("power", self.power), ("listener", self.listener),
                           ("depth", self.depth), ("count", self.count)):
            if value is not None:
                table[key] = value
        return table
