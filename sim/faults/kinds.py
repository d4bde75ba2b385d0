"""The table of fault kinds, loaded: every built-in family registered, in a stable order."""

from __future__ import annotations

from typing import Any

from sim.faults import network, nodes, sources, validators  # noqa: F401  (each registers its kinds)
from sim.faults.catalog import BUILTIN_ORDER, REGISTERED, FaultKind
from sim.faults.readers import ReadContext, node
from sim.faults.spec import FaultSpec
from sim.scenario_model import duration_text
from sim.tables import TableReader


def fault_kinds() -> dict[str, FaultKind]:
    """Every registered fault kind, by name: built-ins in their documented order, then others."""
    rank = {name: i for i, name in enumerate(BUILTIN_ORDER)}
    order = list(REGISTERED)
    names = sorted(REGISTERED, key=lambda n: (rank.get(n, len(rank)), order.index(n)))
    return {name: REGISTERED[name] for name in names}


def fault_kind(name: str) -> FaultKind:
    return REGISTERED[name]


def read_fault(reader: TableReader, ctx: ReadContext) -> FaultSpec:
    """One ``[[faults]]`` table: ``at``, ``kind``, and that kind's own keys."""
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
    return FaultSpec(at=at, kind=kind, **fields)
