"""The ``[sources.script]`` table: scripted and generated events shown to chosen validators.

Config classes only; the runtime is ``sim.sources.script``. Node names and event types are
checked against the rest of the scenario by ``sim.scenario`` (this table cannot see them).
"""

from __future__ import annotations

from typing import Any

import attrs

from sim.network_model import LatencyModel
from sim.tables import TableReader
from sim.units import duration_text, rate_text

SeenBy = str | tuple[str, ...]  # "all" or node names


def read_seen_by(reader: TableReader, key: str) -> SeenBy:
    """``"all"`` or a non-empty array of node names."""
    value = reader.raw(key, "all")
    if value == "all":
        return "all"
    if (not isinstance(value, list) or not value
            or not all(isinstance(name, str) for name in value)):
        raise reader.error(key, '"all" or a non-empty array of node names', value)
    return tuple(value)


def _seen_by_table(seen_by: SeenBy) -> str | list[str]:
    return seen_by if isinstance(seen_by, str) else list(seen_by)


@attrs.frozen(kw_only=True)
class ScriptEvent:
    """One ``[[sources.script.events]]`` entry: an event of ``type`` shown at ``at`` seconds.

    ``delay`` maps a node to its own observation delay (seconds); nodes not in it (or all,
    when None) draw theirs from the source's ``delay`` model.
    """

    at: float
    type: str
    data: str
    seen_by: SeenBy = "all"
    delay: dict[str, float] | None = None

    @classmethod
    def from_table(cls, reader: TableReader) -> ScriptEvent:
        at = reader.duration("at")
        event_type = reader.string("type")
        data = reader.string("data")
        seen_by = read_seen_by(reader, "seen_by")
        delay = None
        if reader.has("delay"):
            table = reader.table("delay")
            present = table.keys()  # (a TableReader, not a dict)
            delay = {node: table.duration(node) for node in present}
            table.finish()
        reader.finish()
        return cls(at=at, type=event_type, data=data, seen_by=seen_by, delay=delay)

    def to_table(self) -> dict[str, Any]:
        table: dict[str, Any] = {"at": duration_text(self.at), "type": self.type,
                                 "data": self.data, "seen_by": _seen_by_table(self.seen_by)}
        if self.delay is not None:
            table["delay"] = {node: duration_text(s) for node, s in self.delay.items()}
        return table


@attrs.frozen(kw_only=True)
class ScriptConfig:
    """``[sources.script]``: a Poisson generator (``rate`` per second, events of ``type``
    whose data starts with ``data``) and/or explicit ``events``; each is shown to ``seen_by``
    after a per-node delay drawn from ``delay``."""

    rate: float | None = None
    type: str | None = None
    seen_by: SeenBy = "all"
    delay: LatencyModel = LatencyModel(value=0.0)
    data: str | None = None
    events: tuple[ScriptEvent, ...] = ()

    @classmethod
    def from_table(cls, reader: TableReader) -> ScriptConfig:
        rate = None
        if reader.has("rate"):
            rate = reader.rate("rate")
            if rate <= 0:
                raise reader.error("rate", 'a rate > 0, like "1/s", "2/min" or "3/h"',
                                   reader.raw("rate"))
        # The generator needs a type; without a generator a type is still allowed (unused).
        event_type = reader.string("type") if rate is not None or reader.has("type") else None
        config = cls(
            rate=rate,
            type=event_type,
            seen_by=read_seen_by(reader, "seen_by"),
            delay=LatencyModel.from_table(reader.table("delay", {}), "0s"),
            data=reader.string("data") if reader.has("data") else None,
            events=tuple(ScriptEvent.from_table(r) for r in reader.tables("events", [])),
        )
        reader.finish()
        return config

    def to_table(self) -> dict[str, Any]:
        table: dict[str, Any] = {}
        if self.rate is not None:
            table["rate"] = rate_text(self.rate)
        if self.type is not None:
            table["type"] = self.type
        table["seen_by"] = _seen_by_table(self.seen_by)
        table["delay"] = self.delay.to_table()
        if self.data is not None:
            table["data"] = self.data
        if self.events:
            table["events"] = [event.to_table() for event in self.events]
        return table
