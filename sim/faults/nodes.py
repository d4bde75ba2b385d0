"""Node faults: crash, restart, clock skew, a raising listener, a lost vote, a skipped nonce.

Each acts through the node's control interface (``node.control``) or, for clock skew, on
the node's view of time; none reaches into a node.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sim.faults import readers
from sim.faults.catalog import FaultKind, GenContext, register_fault_kind
from sim.scenario_model import duration_text
from sim.tables import TableReader

if TYPE_CHECKING:
    from hypothesis.strategies import DrawFn

    from sim.faults.context import FaultWorld
    from sim.faults.readers import ReadContext
    from sim.faults.spec import FaultSpec


def apply_crash(world: FaultWorld, spec: FaultSpec) -> None:
    world.controls[world.index(spec.node)].crash("crash")


def apply_restart(world: FaultWorld, spec: FaultSpec) -> None:
    world.controls[world.index(spec.node)].restart()


def read_clock_skew(reader: TableReader, ctx: ReadContext, fields: dict[str, Any]) -> None:
    fields["offset"] = readers.signed_duration(reader, "offset")


def apply_clock_skew(world: FaultWorld, spec: FaultSpec) -> None:
    assert spec.offset is not None
    world.set_skew(world.index(spec.node), spec.offset)


def read_listener_error(reader: TableReader, ctx: ReadContext, fields: dict[str, Any]) -> None:
    if reader.has("listener"):
        fields["listener"] = reader.string("listener")


def apply_listener_error(world: FaultWorld, spec: FaultSpec) -> None:
    world.controls[world.index(spec.node)].fail_listener(spec.listener)


def apply_evict_vote(world: FaultWorld, spec: FaultSpec) -> None:
    world.controls[world.index(spec.node)].drop_pending_vote()


def apply_nonce_gap(world: FaultWorld, spec: FaultSpec) -> None:
    world.controls[world.index(spec.node)].skip_next_nonce()


# -- how property tests draw them ---------------------------------------------------------------
def gen_node(draw: DrawFn, ctx: GenContext) -> dict[str, Any]:
    from hypothesis import strategies as st  # only property tests draw faults
    return {"node": draw(st.sampled_from(ctx.targets))}


def gen_restart(draw: DrawFn, ctx: GenContext) -> dict[str, Any] | None:
    from hypothesis import strategies as st  # only property tests draw faults
    crashed = [n for n in ctx.crashed if n in ctx.targets]
    return {"node": draw(st.sampled_from(crashed))} if crashed else None


def gen_clock_skew(draw: DrawFn, ctx: GenContext) -> dict[str, Any]:
    from hypothesis import strategies as st  # only property tests draw faults
    offset = draw(st.sampled_from(ctx.options.skews))
    text = duration_text(abs(offset))
    return {"node": draw(st.sampled_from(ctx.targets)), "offset": ("-" if offset < 0 else "") + text}


register_fault_kind(FaultKind(
    "crash", "stop a node at once: its actor, mempool and listeners vanish, its storage stays",
    "node", apply_crash, targets_node=True, generate=gen_node))
register_fault_kind(FaultKind(
    "restart", "start a crashed node again: it catches up, then takes part and listens",
    "node", apply_restart, targets_node=True, generate=gen_restart))
register_fault_kind(FaultKind(
    "clock_skew", "offset a node's clock (what it reads as the time), not the world's order",
    "node, offset", apply_clock_skew, read_clock_skew, targets_node=True, generate=gen_clock_skew))
register_fault_kind(FaultKind(
    "listener_error", "make a node's listener raise, which shuts the node down (as kwil does)",
    "node, listener", apply_listener_error, read_listener_error, targets_node=True, generate=gen_node))
register_fault_kind(FaultKind(
    "evict_vote", "a node's newest pending vote-ids tx vanishes from every mempool",
    "node", apply_evict_vote, targets_node=True, generate=gen_node))
register_fault_kind(FaultKind(
    "nonce_gap", "a node's next vote-ids tx skips a nonce",
    "node", apply_nonce_gap, targets_node=True, generate=gen_node))
