"""The ``[sources.pubsub]`` scenario table."""

from __future__ import annotations

from typing import Any

import attrs

from sim.sources.pubsub.constants import EVENT_NAME_LENGTH_LIMIT
from sim.tables import TableReader
from sim.units import format_duration, parse_rate

PUBLISHERS_MAX = 1000


@attrs.frozen
class PubSubSourceConfig:
    """A hub with ``publishers`` publishers ("pub0", ...) publishing ``event_name`` events.

    ``rate`` is events per second across all publishers (Poisson arrivals); ``latency`` is the
    one-way delay between the hub and a listener, for deliveries and for calls.
    """

    rate: float = 1 / 60
    publishers: int = 1
    event_name: str = "price"
    address: str = "pubsub://hub"
    latency: float = 0.05

    @classmethod
    def from_table(cls, reader: TableReader) -> PubSubSourceConfig:
        rate = reader.rate("rate", "1/min")
        publishers = reader.integer("publishers", 1, min=1, max=PUBLISHERS_MAX)
        event_name = reader.string("event_name", "price")
        if not event_name or len(event_name) > EVENT_NAME_LENGTH_LIMIT:
            raise reader.error("event_name",
                               f"a name of 1 to {EVENT_NAME_LENGTH_LIMIT} characters", event_name)
        address = reader.string("address", "pubsub://hub")
        if not address:
            raise reader.error("address", 'an address like "pubsub://hub"', address)
        latency = reader.duration("latency", "50ms")
        reader.finish()
        return cls(rate=rate, publishers=publishers, event_name=event_name, address=address,
                   latency=latency)

    def to_table(self) -> dict[str, Any]:
        return {"rate": format_rate(self.rate), "publishers": self.publishers,
                "event_name": self.event_name, "address": self.address,
                "latency": format_duration(self.latency)}


def format_rate(per_second: float) -> str:
    """A rate string that ``parse_rate`` reads back as exactly ``per_second``."""
    candidates = []
    for unit, scale in (("s", 1.0), ("min", 60.0), ("h", 3600.0)):
        value = per_second * scale
        for text in (repr(value), f"{value:.12f}".rstrip("0").rstrip(".")):
            if "e" not in text and not text.startswith("-"):
                candidates.append(f"{text}/{unit}")
    # The shortest number wins; on a tie the smaller unit (candidates are in unit order).
    for text in sorted(candidates, key=lambda t: len(t.split("/")[0])):
        if parse_rate(text) == per_second:
            return text
    raise ValueError(f"rate {per_second!r}/s cannot be written exactly")
