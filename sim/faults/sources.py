"""Faults of the external systems: an RPC outage at one node, a burst of reorgs on the EVM
chain, an outage of the pub/sub hub. Each needs its source in the scenario."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sim.faults import readers
from sim.faults.catalog import FaultKind, register_fault_kind
from sim.tables import TableReader

if TYPE_CHECKING:
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


register_fault_kind(FaultKind(
    "rpc_outage", "a node's EVM RPC endpoint fails every call for a while",
    "node, duration", apply_rpc_outage, readers.timed, targets_node=True, source="evm"))
register_fault_kind(FaultKind(
    "reorg_burst", "the EVM chain reorganizes its last blocks, count times",
    "depth, count", apply_reorg_burst, read_reorg_burst, source="evm"))
register_fault_kind(FaultKind(
    "hub_outage", "the pub/sub hub is unreachable for a while",
    "duration", apply_hub_outage, readers.timed, source="pubsub"))
