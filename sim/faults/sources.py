"""Faults of the external systems: an RPC outage at one node, a burst of reorgs on the EVM
chain, an outage of the pub/sub hub. Each needs its source in the scenario.

Property tests draw ``rpc_outage`` and ``reorg_burst`` only in worlds that have the EVM
source, and ``hub_outage`` only in worlds that have the pub/sub hub (``WorldOptions.fault_menu``).
The watcher source has no fault kind of its own: its worlds (``scenarios(watcher=True)``) draw
the node faults, and a listener a crash or a listener error stopped resumes from its checkpoint.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sim.faults import readers
from sim.faults.catalog import FaultKind, GenContext, register_fault_kind
from sim.sources.evm.config import blocks_mined_before
from sim.tables import TableReader

if TYPE_CHECKING:
    from hypothesis.strategies import DrawFn

    from sim.faults.context import FaultWorld
    from sim.faults.readers import ReadContext
    from sim.faults.spec import FaultSpec


def apply_rpc_outage(world: FaultWorld, spec: FaultSpec) -> None:
    node = world.names[world.index(spec.node)]
    world.sources.require("evm").set_outage(node, world.now + (spec.duration or 0.0))


def read_reorg_burst(reader: TableReader, ctx: ReadContext, fields: dict[str, Any]) -> None:
    fields["depth"] = reader.integer("depth", min=1)
    fields["count"] = reader.integer("count", 1, min=1)


def apply_reorg_burst(world: FaultWorld, spec: FaultSpec) -> None:
    assert spec.depth is not None
    source = world.sources.require("evm")
    for _ in range(spec.count or 1):
        source.reorg_burst(spec.depth)


def apply_hub_outage(world: FaultWorld, spec: FaultSpec) -> None:
    world.sources.require("pubsub").set_outage(world.now + (spec.duration or 0.0))


# -- how property tests draw them ---------------------------------------------------------------
def _windows_over_by_end(ctx: GenContext) -> list[float]:
    """The options' windows that a timed fault starting now would be over within, by the
    schedule's end (if it has one): heal does not end an outage."""
    return [w for w in ctx.options.windows if ctx.end is None or ctx.at + w <= ctx.end]


def gen_rpc_outage(draw: DrawFn, ctx: GenContext) -> dict[str, Any] | None:
    """One target node's RPC down for one of the options' windows, over by the schedule's
    end: ``heal`` does not end an outage, and the restart at the end would otherwise come
    while it lasts (a listener that keeps failing shuts its node down again)."""
    from hypothesis import strategies as st  # only property tests draw faults
    windows = _windows_over_by_end(ctx)
    if not windows:
        return None
    return {"node": draw(st.sampled_from(ctx.targets)), "duration": draw(st.sampled_from(windows))}


def gen_reorg_burst(draw: DrawFn, ctx: GenContext) -> dict[str, Any] | None:
    """A few reorgs (up to the options' ``max_reorg_count``) of a depth among their
    ``burst_depths``: no deeper than the blocks mined before the fault (the chain cannot
    replace more), nor than the listeners' confirmations (deeper, it un-credits deposits
    kwil already credited: the spec's own limit, which ``deposits-exact`` assumes, not a
    finding; the chain's random reorgs still go deeper when ``reorg.max_depth`` does)."""
    from hypothesis import strategies as st  # only property tests draw faults
    depths = list(ctx.options.burst_depths)
    if ctx.evm is not None:
        mined = blocks_mined_before(ctx.at, ctx.evm.block_time)
        depths = [d for d in depths if d <= min(mined, ctx.evm.confirmations)]
    if not depths:
        return None
    return {"depth": draw(st.sampled_from(depths)), "count": draw(st.integers(1, ctx.options.max_reorg_count))}


def gen_hub_outage(draw: DrawFn, ctx: GenContext) -> dict[str, Any] | None:
    """The hub down for one of the options' windows, over by the schedule's end: ``heal``
    does not end an outage (it ends network faults only), and a liveness world's quiet time
    starts there. (During it publishes fail and pushes are lost; the hub resends a lost push
    only 15 minutes later, past a generated world, so an event whose pushes it dropped is
    observed only by a node that restarts and asks for what it missed.)"""
    from hypothesis import strategies as st  # only property tests draw faults
    windows = _windows_over_by_end(ctx)
    if not windows:
        return None
    return {"duration": draw(st.sampled_from(windows))}


register_fault_kind(FaultKind(
    "rpc_outage", "a node's EVM RPC endpoint fails every call for a while",
    "node, duration", apply_rpc_outage, readers.timed, targets_node=True, source="evm",
    generate=gen_rpc_outage))
register_fault_kind(FaultKind(
    "reorg_burst", "the EVM chain reorganizes its last blocks, count times",
    "depth, count", apply_reorg_burst, read_reorg_burst, source="evm", generate=gen_reorg_burst))
register_fault_kind(FaultKind(
    "hub_outage", "the pub/sub hub is unreachable for a while",
    "duration", apply_hub_outage, readers.timed, source="pubsub", generate=gen_hub_outage))
