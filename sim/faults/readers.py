"""Reading faults from a scenario: what a reader knows of the scenario (``ReadContext``), and
small readers the fault kinds share (node names, durations)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from sim.errors import ScenarioError
from sim.tables import TableReader, describe
from sim.units import parse_duration

_SIGNED = 'a signed duration like "2s" or "-2s"'


@attrs.frozen
class ReadContext:
    """What reading a fault needs to know of the rest of the scenario."""

    node_power: Mapping[str, int]  # every node's name -> its configured power
    duration: float  # the scenario's virtual duration; no fault may be scheduled after it


def node_range_text(count: int) -> str:
    """How an unknown node name is explained: ``(validators.count = 4 names v0..v3)``."""
    names = "v0" if count == 1 else f"v0..v{count - 1}"
    return f"(validators.count = {count} names {names})"


def node(reader: TableReader, key: str, ctx: ReadContext) -> str:
    name = reader.string(key)
    check_node(reader, key, name, ctx)
    return name


def check_node(reader: TableReader, key: str, name: str, ctx: ReadContext) -> None:
    if name not in ctx.node_power:
        raise ScenarioError(reader.file, reader.key_path(key),
                            f"no such node {describe(name)} {node_range_text(len(ctx.node_power))}")


def names(reader: TableReader, key: str, ctx: ReadContext) -> tuple[str, ...]:
    """``reader[key]``: a non-empty array of existing node names."""
    return name_list(reader, key, ctx, reader.raw(key))


def name_list(reader: TableReader, key: str, ctx: ReadContext, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise reader.error(key, "a non-empty array of node names", value)
    for i, name in enumerate(value):
        if not isinstance(name, str):
            raise reader.error(f"{key}[{i}]", "a node name", name)
        check_node(reader, f"{key}[{i}]", name, ctx)
    return tuple(value)


def optional_duration(reader: TableReader, fields: dict[str, Any]) -> None:
    if reader.has("duration"):
        fields["duration"] = reader.duration("duration", positive=True)


def optional_nodes(reader: TableReader, ctx: ReadContext, fields: dict[str, Any]) -> None:
    if reader.has("nodes"):
        fields["nodes"] = names(reader, "nodes", ctx)


def signed_duration(reader: TableReader, key: str) -> float:
    value = reader.raw(key)
    if not isinstance(value, str):
        raise reader.error(key, _SIGNED, value)
    sign, text = (-1.0, value[1:]) if value.startswith("-") else (1.0, value)
    try:
        return sign * parse_duration(text)
    except ValueError:
        raise reader.error(key, _SIGNED, value) from None


def timed(reader: TableReader, ctx: ReadContext, fields: dict[str, Any]) -> None:
    """A required ``duration``."""
    fields["duration"] = reader.duration("duration", positive=True)
