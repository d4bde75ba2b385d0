"""Network faults: partitions (symmetric or one-way), heal, and per-link delay, drop,
duplication and reordering.

Link faults overlap freely (``sim.faults.links``). A fault with a ``duration`` ends by
itself; ``heal`` ends every network fault at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.errors import ScenarioError
from sim.faults import readers
from sim.faults.catalog import FaultKind, GenContext, register_fault_kind
from sim.tables import TableReader

if TYPE_CHECKING:
    from hypothesis.strategies import DrawFn

    from sim.faults.context import FaultWorld
    from sim.faults.readers import ReadContext
    from sim.faults.spec import FaultSpec


def _link_mask(world: FaultWorld, spec: FaultSpec) -> np.ndarray:
    n = len(world.names)
    mask = np.zeros((n, n), dtype=bool)
    if spec.link:
        a, b = world.indices(spec.link)
        mask[a, b] = mask[b, a] = True
    elif spec.nodes:
        for i in world.indices(spec.nodes):
            mask[i, :] = mask[:, i] = True
    else:
        mask[:] = True
    np.fill_diagonal(mask, False)
    return mask


def _timed_link_fault(world: FaultWorld, spec: FaultSpec, table: str, value: float) -> None:
    faults = world.link_faults
    fault_id = faults.add(table, _link_mask(world, spec), value)
    if spec.duration:
        world.call_later(spec.duration, faults.end, fault_id)


# -- partition and heal ----------------------------------------------------------------------
def _partition_links(world: FaultWorld, spec: FaultSpec) -> list[tuple[int, int]]:
    if spec.groups:
        groups = [world.indices(g) for g in spec.groups]
        return [(i, j) for a, group_a in enumerate(groups) for b, group_b in enumerate(groups)
                if a != b for i in group_a for j in group_b]
    return [(i, j) for i in world.indices(spec.from_) for j in world.indices(spec.to)]


def apply_partition(world: FaultWorld, spec: FaultSpec) -> None:
    links = _partition_links(world, spec)
    n = len(world.names)
    mask = np.zeros((n, n), dtype=bool)
    for i, j in links:
        mask[i, j] = True
    fault_id = world.link_faults.add("blocked", mask, 1.0)
    if spec.duration:
        world.call_later(spec.duration, _end_partition, world, fault_id, len(links))


def _end_partition(world: FaultWorld, fault_id: int, links: int) -> None:
    world.trace.emit("fault", kind="heal", links=links)
    world.link_faults.end(fault_id)  # links another partition still cuts stay cut


def apply_heal(world: FaultWorld, spec: FaultSpec) -> None:
    """End every network fault: partitions, and every delay, drop, duplicate and reorder."""
    world.link_faults.end_all()


def read_partition(reader: TableReader, ctx: ReadContext, fields: dict[str, Any]) -> None:
    one_way = reader.has("from") or reader.has("to")
    if reader.has("groups") == one_way:
        got = "both" if one_way else "neither"
        raise ScenarioError(reader.file, reader.path,
                            f"expected a partition with groups or with from + to, got {got}")
    if one_way:
        fields["from_"] = readers.names(reader, "from", ctx)
        fields["to"] = readers.names(reader, "to", ctx)
    else:
        raw = reader.raw("groups")
        if not isinstance(raw, list) or len(raw) < 2:
            raise reader.error("groups", "an array of at least two arrays of node names", raw)
        groups = tuple(readers.name_list(reader, f"groups[{i}]", ctx, group) for i, group in enumerate(raw))
        seen: set[str] = set()
        for i, group in enumerate(groups):
            for j, name in enumerate(group):
                if name in seen:
                    raise reader.error(f"groups[{i}][{j}]", "a node in only one group", name)
                seen.add(name)
        fields["groups"] = groups
    readers.optional_duration(reader, fields)


# -- link faults --------------------------------------------------------------------------------
def read_delay(reader: TableReader, ctx: ReadContext, fields: dict[str, Any]) -> None:
    if reader.has("nodes") and reader.has("link"):
        raise ScenarioError(reader.file, reader.path, "expected nodes or link, got both")
    readers.optional_nodes(reader, ctx, fields)
    if reader.has("link"):
        link = readers.names(reader, "link", ctx)
        if len(link) != 2 or link[0] == link[1]:
            raise reader.error("link", "an array of two different node names", list(link))
        fields["link"] = link
    fields["extra"] = reader.duration("extra", positive=True)
    readers.optional_duration(reader, fields)


def read_link_chance(reader: TableReader, ctx: ReadContext, fields: dict[str, Any]) -> None:
    fields["probability"] = reader.probability("probability")
    readers.optional_duration(reader, fields)
    readers.optional_nodes(reader, ctx, fields)


def apply_delay(world: FaultWorld, spec: FaultSpec) -> None:
    assert spec.extra is not None
    _timed_link_fault(world, spec, "extra", spec.extra)


def _chance_fault(table: str) -> Callable[[FaultWorld, FaultSpec], None]:
    """The handler of a fault that sets a per-link chance (drop, duplicate, reorder)."""

    def apply(world: FaultWorld, spec: FaultSpec) -> None:
        assert spec.probability is not None
        _timed_link_fault(world, spec, table, spec.probability)

    return apply


apply_drop, apply_duplicate, apply_reorder = (_chance_fault(t) for t in ("drop", "duplicate", "reorder"))


# -- how property tests draw them ---------------------------------------------------------------
def _some_nodes(draw: DrawFn, ctx: GenContext) -> list[str]:
    from hypothesis import strategies as st  # only property tests draw faults
    return [draw(st.sampled_from(ctx.targets))]


def _window(draw: DrawFn, ctx: GenContext) -> float:
    from hypothesis import strategies as st  # only property tests draw faults
    return draw(st.sampled_from(ctx.options.windows))


def gen_partition(draw: DrawFn, ctx: GenContext) -> dict[str, Any] | None:
    from hypothesis import strategies as st  # only property tests draw faults
    if len(ctx.nodes) < 2:
        return None
    cut = draw(st.sets(st.sampled_from(ctx.targets), min_size=1, max_size=len(ctx.nodes) - 1))
    inside = [n for n in ctx.nodes if n in cut]
    outside = [n for n in ctx.nodes if n not in cut]
    keys: dict[str, Any] = {}
    if ctx.options.one_way_partitions and draw(st.booleans()):
        keys["from"], keys["to"] = (inside, outside) if draw(st.booleans()) else (outside, inside)
    else:
        keys["groups"] = [outside, inside]
    if not (ctx.options.unhealed_partitions and draw(st.booleans())):
        keys["duration"] = draw(st.sampled_from(ctx.options.partition_lengths))
    return keys


def gen_heal(draw: DrawFn, ctx: GenContext) -> dict[str, Any]:
    return {}


def gen_delay(draw: DrawFn, ctx: GenContext) -> dict[str, Any]:
    from hypothesis import strategies as st  # only property tests draw faults
    return {"nodes": _some_nodes(draw, ctx), "extra": draw(st.sampled_from(ctx.options.extra_delays)),
            "duration": _window(draw, ctx)}


def gen_chance(draw: DrawFn, ctx: GenContext) -> dict[str, Any]:
    from hypothesis import strategies as st  # only property tests draw faults
    return {"nodes": _some_nodes(draw, ctx), "probability": draw(st.sampled_from(ctx.options.drop_probabilities)),
            "duration": _window(draw, ctx)}


register_fault_kind(FaultKind(
    "partition", "cut links between groups of nodes (or one way, from -> to) until healed",
    "groups | from + to, duration", apply_partition, read_partition, generate=gen_partition, until_heal=True))
register_fault_kind(FaultKind(
    "heal", "end every network fault: partitions, delays, drops, duplication, reordering",
    "", apply_heal, generate=gen_heal))
register_fault_kind(FaultKind(
    "delay", "add extra latency on a node's links (nodes) or one link (link)",
    "nodes | link, extra, duration", apply_delay, read_delay, generate=gen_delay, until_heal=True))
register_fault_kind(FaultKind(
    "drop", "lose messages with a probability; a lost message is re-sent 100 ms later",
    "probability, duration, nodes", apply_drop, read_link_chance, generate=gen_chance, until_heal=True))
register_fault_kind(FaultKind(
    "duplicate", "deliver txs twice with a probability (the receiving mempool rejects the copy)",
    "probability, duration, nodes", apply_duplicate, read_link_chance, generate=gen_chance, until_heal=True))
register_fault_kind(FaultKind(
    "reorder", "hold messages back with a probability, so later ones overtake them",
    "probability, duration, nodes", apply_reorder, read_link_chance, generate=gen_chance, until_heal=True))
