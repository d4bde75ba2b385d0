"""Validator-set faults: join (promote), remove (demote), leave, and operator overrides.

``join`` has the node send its join tx, and honest validators approve it once they see it
on chain; ``remove`` has every validator send a remove tx for the target; ``leave`` is the
node's own leave tx. With ``override = true``, a promote or demote sets the power directly
at the next block instead (an operator override, marked in the trace). Approving and
removing are operator actions, so byzantine validators take part too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sim.faults.catalog import FaultKind, GenContext, register_fault_kind
from sim.tables import TableReader

if TYPE_CHECKING:
    from hypothesis.strategies import DrawFn

    from sim.faults.context import FaultWorld
    from sim.faults.readers import ReadContext
    from sim.faults.spec import FaultSpec


def read_promote(reader: TableReader, ctx: ReadContext, fields: dict[str, Any]) -> None:
    fields["override"] = reader.boolean("override", False)
    fields["power"] = reader.integer("power", ctx.node_power[fields["node"]], min=1)


def read_demote(reader: TableReader, ctx: ReadContext, fields: dict[str, Any]) -> None:
    fields["override"] = reader.boolean("override", False)


def _power(world: FaultWorld, spec: FaultSpec, i: int) -> int:
    return int(spec.power) if spec.power else world.configured_power[i]


def apply_join(world: FaultWorld, spec: FaultSpec) -> None:
    i = world.index(spec.node)
    if spec.override:
        world.overrides.append((world.names[i], _power(world, spec, i)))
        return
    world.controls[i].send_join(_power(world, spec, i))


def apply_remove(world: FaultWorld, spec: FaultSpec) -> None:
    target = world.names[world.index(spec.node)]
    if spec.override:
        world.overrides.append((target, 0))
        return
    world.validator_set.remove(target)


def apply_leave(world: FaultWorld, spec: FaultSpec) -> None:
    world.controls[world.index(spec.node)].send_leave()


# -- how property tests draw them ---------------------------------------------------------------
def gen_promote(draw: DrawFn, ctx: GenContext) -> dict[str, Any] | None:
    from hypothesis import strategies as st  # only property tests draw faults
    outside = [n for n in ctx.outside if n in ctx.targets]
    return {"node": draw(st.sampled_from(outside))} if outside else None


def _removable(ctx: GenContext) -> list[str]:
    """Validators that may leave or be removed: never the last sure one (a chain with no
    validators halts by design, which chain-stalled reports; a node a fault brought in may
    not be approved yet)."""
    inside = [n for n in ctx.nodes if n not in ctx.outside]
    sure = [n for n in inside if n not in ctx.added]
    return [n for n in ctx.targets if n in inside and any(s != n for s in sure)] if len(inside) > 1 else []


def gen_demote(draw: DrawFn, ctx: GenContext) -> dict[str, Any] | None:
    from hypothesis import strategies as st  # only property tests draw faults
    removable = _removable(ctx)
    if ctx.demotions >= ctx.options.max_demotions or not removable:
        return None
    return {"node": draw(st.sampled_from(removable))}


def gen_leave(draw: DrawFn, ctx: GenContext) -> dict[str, Any] | None:
    from hypothesis import strategies as st  # only property tests draw faults
    removable = _removable(ctx)
    return {"node": draw(st.sampled_from(removable))} if removable else None


register_fault_kind(FaultKind(
    "promote", "make a node a validator: its join tx, approved by the validators (or override)",
    "node, override, power", apply_join, read_promote, targets_node=True, generate=gen_promote))
register_fault_kind(FaultKind(
    "demote", "remove a validator: every validator sends a remove tx (or override)",
    "node, override", apply_remove, read_demote, targets_node=True, generate=gen_demote))
register_fault_kind(FaultKind(
    "join", "the node sends its join tx; validators approve it when they see it",
    "node, override, power", apply_join, read_promote, targets_node=True, generate=gen_promote))
register_fault_kind(FaultKind(
    "leave", "the validator sends its leave tx (power 0 at once)",
    "node", apply_leave, targets_node=True, generate=gen_leave))
register_fault_kind(FaultKind(
    "remove", "every validator sends a remove tx for the node",
    "node, override", apply_remove, read_demote, targets_node=True, generate=gen_demote))
