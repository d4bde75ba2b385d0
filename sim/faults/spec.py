"""One ``[[faults]]`` entry of a scenario: when, which kind, and that kind's keys.

Each kind accepts only its own keys (see ``sim.faults.catalog``); any other key is an
unknown-key error, and every node a fault names must exist. Fields a kind does not use are
None or empty. The injector (``sim.faults.injector``) applies them; this module only reads
and writes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from sim.faults.catalog import fault_kind, fault_kinds
from sim.faults.readers import node, node_range_text
from sim.scenario_model import duration_text
from sim.tables import TableReader

__all__ = ["FaultSpec", "ReadContext", "node_range_text"]


@attrs.frozen
class ReadContext:
    """What reading a fault needs to know of the rest of the scenario."""

    node_power: Mapping[str, int]  # every node's name -> its configured power
    duration: float  # the scenario's virtual duration; no fault may be scheduled after it


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

    @classmethod
    def from_table(cls, reader: TableReader, ctx: ReadContext) -> FaultSpec:
        at = reader.duration("at")
        if at > ctx.duration:
            raise reader.error("at", f"a duration <= scenario.duration ({duration_text(ctx.duration)})",
                               reader.raw("at"))
        kind = reader.string("kind", choices=tuple(fault_kinds()))
        spec = fault_kind(kind)
        fields: dict[str, Any] = {}
        if spec.targets_node:
            fields["node"] = node(reader, "node", ctx)
        if spec.read is not None:
            spec.read(reader, ctx, fields)
        reader.finish()
        return cls(at=at, kind=kind, **fields)

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
