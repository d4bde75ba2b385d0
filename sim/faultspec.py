"""One ``[[faults]]`` entry of a scenario: when, which kind, and that kind's keys.

Each kind accepts only its own keys (``nodesim kinds`` lists them); any other key is an unknown-key
error, and every node a fault names must exist. Fields a kind does not use are None or empty.
The fault layer (``sim.faults``) applies them; this module only reads and writes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from sim.errors import ScenarioError
from sim.scenario_model import duration_text
from sim.tables import TableReader, describe
from sim.units import parse_duration

FAULT_KINDS = ("partition", "heal", "delay", "drop", "duplicate", "reorder", "crash", "restart",
               "clock_skew", "listener_error", "promote", "demote", "join", "leave", "remove",
               "evict_vote", "nonce_gap", "rpc_outage", "reorg_burst", "hub_outage")
# Kinds whose target is one node, named by ``node``.
NODE_KINDS = ("crash", "restart", "clock_skew", "listener_error", "promote", "demote", "join",
              "leave", "remove", "evict_vote", "nonce_gap", "rpc_outage")
_SIGNED = 'a signed duration like "2s" or "-2s"'


def node_range_text(count: int) -> str:
    """How an unknown node name is explained: ``(validators.count = 4 names v0..v3)``."""
    names = "v0" if count == 1 else f"v0..v{count - 1}"
    return f"(validators.count = {count} names {names})"


@attrs.frozen
class FaultContext:
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
    def from_table(cls, reader: TableReader, ctx: FaultContext) -> FaultSpec:
        at = reader.duration("at")
        if at > ctx.duration:
            raise reader.error("at", f"a duration <= scenario.duration ({duration_text(ctx.duration)})",
                               reader.raw("at"))
        kind = reader.string("kind", choices=FAULT_KINDS)
        fields: dict[str, Any] = {}
        if kind in NODE_KINDS:
            fields["node"] = _node(reader, "node", ctx)
        _READERS.get(kind, _nothing)(reader, ctx, fields)
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


# -- reading helpers -----------------------------------------------------------------------
def _node(reader: TableReader, key: str, ctx: FaultContext) -> str:
    name = reader.string(key)
    _check_node(reader, key, name, ctx)
    return name


def _check_node(reader: TableReader, key: str, name: str, ctx: FaultContext) -> None:
    if name not in ctx.node_power:
        raise ScenarioError(reader.file, reader.key_path(key),
                            f"no such node {describe(name)} {node_range_text(len(ctx.node_power))}")


def _names(reader: TableReader, key: str, ctx: FaultContext) -> tuple[str, ...]:
    """``reader[key]``: a non-empty array of existing node names."""
    return _name_list(reader, key, ctx, reader.raw(key))


def _name_list(reader: TableReader, key: str, ctx: FaultContext, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise reader.error(key, "a non-empty array of node names", value)
    for i, name in enumerate(value):
        if not isinstance(name, str):
            raise reader.error(f"{key}[{i}]", "a node name", name)
        _check_node(reader, f"{key}[{i}]", name, ctx)
    return tuple(value)


def _optional_duration(reader: TableReader, fields: dict[str, Any]) -> None:
    if reader.has("duration"):
        fields["duration"] = reader.duration("duration", positive=True)


def _optional_nodes(reader: TableReader, ctx: FaultContext, fields: dict[str, Any]) -> None:
    if reader.has("nodes"):
        fields["nodes"] = _names(reader, "nodes", ctx)


def _signed_duration(reader: TableReader, key: str) -> float:
    value = reader.raw(key)
    if not isinstance(value, str):
        raise reader.error(key, _SIGNED, value)
    sign, text = (-1.0, value[1:]) if value.startswith("-") else (1.0, value)
    try:
        return sign * parse_duration(text)
    except ValueError:
        raise reader.error(key, _SIGNED, value) from None


# -- per kind: the keys each one takes -----------------------------------------------------
def _nothing(reader: TableReader, ctx: FaultContext, fields: dict[str, Any]) -> None:
    """heal and the plain node kinds take no keys beyond at, kind (and node)."""


def _partition(reader: TableReader, ctx: FaultContext, fields: dict[str, Any]) -> None:
    one_way = reader.has("from") or reader.has("to")
    if reader.has("groups") == one_way:
        got = "both" if one_way else "neither"
        raise ScenarioError(reader.file, reader.path,
                            f"expected a partition with groups or with from + to, got {got}")
    if one_way:
        fields["from_"] = _names(reader, "from", ctx)
        fields["to"] = _names(reader, "to", ctx)
    else:
        raw = reader.raw("groups")
        if not isinstance(raw, list) or len(raw) < 2:
            raise reader.error("groups", "an array of at least two arrays of node names", raw)
        groups = tuple(_name_list(reader, f"groups[{i}]", ctx, group) for i, group in enumerate(raw))
        seen: set[str] = set()
        for i, group in enumerate(groups):
            for j, name in enumerate(group):
                if name in seen:
                    raise reader.error(f"groups[{i}][{j}]", "a node in only one group", name)
                seen.add(name)
        fields["groups"] = groups
    _optional_duration(reader, fields)


def _delay(reader: TableReader, ctx: FaultContext, fields: dict[str, Any]) -> None:
    if reader.has("nodes") and reader.has("link"):
        raise ScenarioError(reader.file, reader.path, "expected nodes or link, got both")
    _optional_nodes(reader, ctx, fields)
    if reader.has("link"):
        link = _names(reader, "link", ctx)
        if len(link) != 2 or link[0] == link[1]:
            raise reader.error("link", "an array of two different node names", list(link))
        fields["link"] = link
    fields["extra"] = reader.duration("extra", positive=True)
    _optional_duration(reader, fields)


def _link_chance(reader: TableReader, ctx: FaultContext, fields: dict[str, Any]) -> None:
    fields["probability"] = reader.probability("probability")
    _optional_duration(reader, fields)
    _optional_nodes(reader, ctx, fields)


def _promote(reader: TableReader, ctx: FaultContext, fields: dict[str, Any]) -> None:
    fields["override"] = reader.boolean("override", False)
    fields["power"] = reader.integer("power", ctx.node_power[fields["node"]], min=1)


def _demote(reader: TableReader, ctx: FaultContext, fields: dict[str, Any]) -> None:
    fields["override"] = reader.boolean("override", False)


def _clock_skew(reader: TableReader, ctx: FaultContext, fields: dict[str, Any]) -> None:
    fields["offset"] = _signed_duration(reader, "offset")


def _timed(reader: TableReader, ctx: FaultContext, fields: dict[str, Any]) -> None:
    fields["duration"] = reader.duration("duration", positive=True)


def _reorg_burst(reader: TableReader, ctx: FaultContext, fields: dict[str, Any]) -> None:
    fields["depth"] = reader.integer("depth", min=1)
    fields["count"] = reader.integer("count", 1, min=1)


def _listener_error(reader: TableReader, ctx: FaultContext, fields: dict[str, Any]) -> None:
    if reader.has("listener"):
        fields["listener"] = reader.string("listener")


_READERS = {
    "partition": _partition, "delay": _delay, "drop": _link_chance,
    "duplicate": _link_chance, "reorder": _link_chance, "promote": _promote, "demote": _demote,
    "clock_skew": _clock_skew, "rpc_outage": _timed, "hub_outage": _timed,
    "reorg_burst": _reorg_burst, "listener_error": _listener_error,
}
