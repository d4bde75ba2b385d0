"""Validator-set faults: join (promote), remove (demote), leave, and operator overrides.

``join`` has the node send its join tx, and honest validators approve it once they see it
on chain; ``remove`` has every validator send a remove tx for the target; ``leave`` is the
node's own leave tx. With ``override = true``, a promote or demote sets the power directly
at the next block instead (an operator override, marked in the trace). Approving and
removing are operator actions, so byzantine validators take part too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hypothesis import strategies as st

from node.app import AppState
from node.resolutions import VALIDATOR_JOIN, VALIDATOR_REMOVE
from sim.faults.catalog import FaultKind, GenContext, register_fault_kind
from sim.tables import TableReader

if TYPE_CHECKING:
    from hypothesis.strategies import DrawFn

    from node.control import NodeControl
    from sim.faults.injector import FaultWorld
    from sim.faults.spec import FaultSpec, ReadContext


class ValidatorSetActions:
    """What operators of validators do about pending joins and removals."""

    def __init__(self, controls: list[NodeControl]) -> None:
        self._controls = controls
        self._approved: set[tuple[str, str]] = set()
        self._removing: set[str] = set()
        self._removed_sent: set[tuple[str, str]] = set()

    def _acting(self) -> list[NodeControl]:
        return [c for c in self._controls if c.online and c.is_validator]

    def remove(self, target: str) -> None:
        self._removing.add(target)
        self._send_removes()

    def _send_removes(self) -> None:
        for target in sorted(self._removing):
            for control in self._acting():
                if control.name != target and (control.name, target) not in self._removed_sent:
                    self._removed_sent.add((control.name, target))
                    control.send_remove(target)

    def on_block(self, state: AppState) -> None:
        """Approve pending joins and vote pending removals seen on chain."""
        for rid in sorted(state.resolutions):
            resolution = state.resolutions[rid]
            if resolution.type == VALIDATOR_JOIN and resolution.body is not None:
                candidate = resolution.body.split(b"\x00")[0].decode()
                for control in self._acting():
                    key = (control.name, rid)
                    if control.name != candidate and control.name not in resolution.voters \
                            and key not in self._approved:
                        self._approved.add(key)
                        control.send_approve(candidate)
            elif resolution.type == VALIDATOR_REMOVE and resolution.body is not None:
                self._removing.add(resolution.body.decode())
        self._removing = {t for t in self._removing if state.power_of(t) > 0}
        self._send_removes()


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
    outside = [n for n in ctx.outside if n in ctx.targets]
    return {"node": draw(st.sampled_from(outside))} if outside else None


def _removable(ctx: GenContext) -> list[str]:
    """Validators that may leave or be removed: never the last one (a chain with no
    validators halts by design, which chain-stalled reports)."""
    inside = [n for n in ctx.nodes if n not in ctx.outside]
    return [n for n in ctx.targets if n in inside] if len(inside) > 1 else []


def gen_demote(draw: DrawFn, ctx: GenContext) -> dict[str, Any] | None:
    removable = _removable(ctx)
    if ctx.demotions >= ctx.options.max_demotions or not removable:
        return None
    return {"node": draw(st.sampled_from(removable))}


def gen_leave(draw: DrawFn, ctx: GenContext) -> dict[str, Any] | None:
    removable = _removable(ctx)
    return {"node": draw(st.sampled_from(removable))} if removable else None


register_fault_kind(FaultKind(
    "promote", "make a node a validator: its join tx, approved by the validators (or override)",
    ("node", "override", "power"), apply_join, read_promote, targets_node=True, generate=gen_promote))
register_fault_kind(FaultKind(
    "demote", "remove a validator: every validator sends a remove tx (or override)",
    ("node", "override"), apply_remove, read_demote, targets_node=True, generate=gen_demote))
register_fault_kind(FaultKind(
    "join", "the node sends its join tx; validators approve it when they see it",
    ("node", "override", "power"), apply_join, read_promote, targets_node=True, generate=gen_promote))
register_fault_kind(FaultKind(
    "leave", "the validator sends its leave tx (power 0 at once)",
    ("node",), apply_leave, targets_node=True, generate=gen_leave))
register_fault_kind(FaultKind(
    "remove", "every validator sends a remove tx for the node",
    ("node", "override"), apply_remove, read_demote, targets_node=True, generate=gen_demote))
